"""What the editor shows of Airflow runs: the pure functions of server/peering/present.py and
the records under them, on hand-made histories (no network)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from urllib.parse import quote_plus

import pytest

from server.peering import DagRun, PeeringStatus, RunHistory, TaskInstance, ui_url
from server.peering.present import (
    ago,
    dag_runs_markdown,
    duration_text,
    hover_section,
    last_run_json,
    lens_prefix,
    run_json,
    status_json,
    status_text,
    task_runs_markdown,
)
from server.peering.records import RecordError, dag_run_from_json, parse_time, task_instance_from_json

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)
URL = "http://airflow.example:8080"
NEW_RUN = "manual__2026-01-05T11:50:00+00:00"
OLD_RUN = "scheduled__2026-01-04T00:00:00+00:00"


def at(minutes_ago: float) -> datetime:
    return NOW - timedelta(minutes=minutes_ago)


def history(api_version: str = "v2") -> RunHistory:
    new = DagRun("daily_orders", NEW_RUN, "running", None, at(10), None, at(10))
    old = DagRun("daily_orders", OLD_RUN, "success", at(1440), at(600), at(597), at(600))
    tis = {
        new.key: (TaskInstance("daily_orders", NEW_RUN, "extract_orders", "success", at(10), at(9.5), 1),
                  TaskInstance("daily_orders", NEW_RUN, "publish_report", "running", at(2), None, 2),
                  TaskInstance("daily_orders", NEW_RUN, "fan_out", "success", at(9), at(8), 1, 0),
                  TaskInstance("daily_orders", NEW_RUN, "fan_out", "failed", at(9), at(7), 1, 1)),
        old.key: (TaskInstance("daily_orders", OLD_RUN, "extract_orders", "failed", at(600), at(599), 3),
                  TaskInstance("daily_orders", OLD_RUN, "publish_report", "upstream_failed", None, at(598),
                               0)),
    }
    return RunHistory(URL, api_version, NOW, {"daily_orders": (new, old)}, tis)


CONNECTED = PeeringStatus("connected", URL, "v2", NOW, airflow_version="3.3.2")
UNREACHABLE = PeeringStatus("unreachable", URL, "v2", NOW,
                            f"connection to Airflow at {URL} failed: connection refused", "connection")


def test_lens_prefix() -> None:
    h = history()
    assert lens_prefix(h, "daily_orders", "extract_orders", NOW) == "✓ success 9 min ago"
    assert lens_prefix(h, "daily_orders", "publish_report", NOW) == "⏳ running since 2 min"
    assert lens_prefix(h, "daily_orders", "fan_out", NOW) == "✗ failed 7 min ago"  # worst mapped instance
    assert lens_prefix(h, "daily_orders", None, NOW) == "⏳ running since 10 min"
    assert lens_prefix(h, "daily_orders", "unknown_task", NOW) == ""
    assert lens_prefix(h, "unknown_dag", None, NOW) == ""
    assert lens_prefix(RunHistory(), "daily_orders", "extract_orders", NOW) == ""


def test_task_runs_markdown_links_each_run_to_the_task_in_the_ui() -> None:
    text = task_runs_markdown(history(), "daily_orders", "extract_orders", True, now=NOW)
    runs = f"{URL}/dags/daily_orders/runs"
    new_link = f"{runs}/manual__2026-01-05T11%3A50%3A00%2B00%3A00/tasks/extract_orders"
    old_link = f"{runs}/scheduled__2026-01-04T00%3A00%3A00%2B00%3A00/tasks/extract_orders"
    new_line = f"- ✓ **success** · [`{NEW_RUN}`]({new_link}) · started 2026-01-05 11:50:00 UTC (10 min ago)"
    old_line = f"- ✗ **failed** · [`{OLD_RUN}`]({old_link}) · started 2026-01-05 02:00:00 UTC (10 h ago)"
    assert text.splitlines() == ["**Airflow** · last runs of `extract_orders`", "",
                                 new_line + " · 30 s · try 1", old_line + " · 1 min · try 3"]


def test_task_runs_plain_text_has_no_markdown_and_shows_the_urls() -> None:
    text = task_runs_markdown(history("v1"), "daily_orders", "publish_report", False, now=NOW)
    assert "**" not in text and "[" not in text and "`" not in text
    assert text.splitlines()[:3] == [
        "Airflow: last runs of publish_report",
        f"⏳ running · {NEW_RUN} · started 2026-01-05 11:58:00 UTC (2 min ago) · try 2",
        f"    {URL}/dags/daily_orders/grid?dag_run_id={quote_plus(NEW_RUN)}&task_id=publish_report",
    ]
    assert f"✗ upstream_failed · {OLD_RUN} · not started" in text


def test_mapped_task_shows_one_line_per_run() -> None:
    text = task_runs_markdown(history(), "daily_orders", "fan_out", True, now=NOW)
    assert text.count("\n- ") == 1 and "✗ **failed**" in text and "2 mapped instances" in text


def test_dag_runs_markdown_and_no_runs() -> None:
    text = dag_runs_markdown(history(), "daily_orders", True, now=NOW)
    assert text.count("\n- ") == 2 and f"({URL}/dags/daily_orders/runs/manual__" in text and "3 min" in text
    assert task_runs_markdown(RunHistory(), "x", "t", True).endswith("No runs in Airflow yet.")
    assert dag_runs_markdown(RunHistory(), "x", False) == "Airflow: last runs of x\nNo runs in Airflow yet."


def test_hover_section() -> None:
    h = history()
    assert hover_section(h, PeeringStatus("disabled"), "daily_orders", "extract_orders", True, NOW) == ""
    connected = hover_section(h, CONNECTED, "daily_orders", "extract_orders", True, NOW)
    assert connected.startswith("\n\n---\n\n**Airflow** · last runs of `extract_orders`")
    stale = hover_section(h, UNREACHABLE, "daily_orders", "extract_orders", True, NOW)
    assert f"*Airflow: unreachable — connection to Airflow at {URL} failed: connection refused*" in stale
    assert "✓ **success**" in stale  # the last known runs stay visible
    connecting = hover_section(RunHistory(), PeeringStatus("connecting", URL), "daily_orders", None, False,
                               NOW)
    assert connecting == f"\n\nAirflow: connecting to {URL}"


def test_status_json_follows_the_contract() -> None:
    assert status_json(CONNECTED) == {"url": URL, "api_version": "v2", "reachable": True, "error": None}
    assert status_json(UNREACHABLE) == {"url": URL, "api_version": "v2", "reachable": False,
                                        "error": f"connection to Airflow at {URL} failed: connection refused"}
    assert status_json(PeeringStatus("disabled")) == {"url": None, "api_version": None, "reachable": False,
                                                      "error": None}
    assert status_text(CONNECTED) == f"Airflow: connected to {URL} (Airflow 3.3.2)"
    assert CONNECTED.to_json() == {"state": "connected", "url": URL, "apiVersion": "v2",
                                   "lastPoll": "2026-01-05T12:00:00Z", "error": None}


def test_run_json() -> None:
    h = history()
    assert last_run_json(h, "daily_orders") == {"run_id": NEW_RUN, "state": "running",
                                                "start_date": "2026-01-05T11:50:00Z", "end_date": None}
    assert last_run_json(h, "daily_orders", "extract_orders") == {
        "run_id": NEW_RUN, "state": "success", "start_date": "2026-01-05T11:50:00Z",
        "end_date": "2026-01-05T11:50:30Z"}
    assert last_run_json(h, "daily_orders", "nope") is None and last_run_json(h, "nope") is None
    assert run_json(None) is None


@pytest.mark.parametrize(("seconds", "text"), [(0.42, "0.4 s"), (12.5, "12 s"), (185, "3 min 5 s"),
                                               (120, "2 min"), (3720, "1 h 2 min"), (None, "")])
def test_duration_text(seconds, text) -> None:
    assert duration_text(seconds) == text


def test_ago() -> None:
    assert [ago(NOW - timedelta(seconds=s), NOW) for s in (-5, 3, 42, 180, 7300, 200000)] == [
        "just now", "just now", "42 s ago", "3 min ago", "2 h ago", "2 d ago"]


def test_ui_urls_quote_run_ids() -> None:
    assert ui_url(URL + "/", "v2", "a b", "g.t", "manual__x+y:z", 3) == \
        f"{URL}/dags/a%20b/runs/manual__x%2By%3Az/tasks/g.t/mapped/3"
    assert ui_url(URL, "v2", "d") == f"{URL}/dags/d"
    grid = f"{URL}/dags/d/grid"
    assert ui_url(URL, "v1", "d", "t", "r+1", 2) == f"{grid}?dag_run_id=r%2B1&task_id=t&map_index=2"
    assert ui_url(URL, "v1", "d") == f"{URL}/dags/d/grid"


def test_records_hide_version_drift() -> None:
    v1 = dag_run_from_json({"dag_id": "d", "dag_run_id": "r", "execution_date": "2026-01-05T10:00:00+00:00",
                            "logical_date": None, "state": "success", "start_date": "2026-01-05T10:00:01.5Z",
                            "end_date": None}, "v1")
    assert v1.logical_date == v1.run_after == datetime(2026, 1, 5, 10, tzinfo=timezone.utc)
    assert v1.start_date == datetime(2026, 1, 5, 10, 0, 1, 500000, tzinfo=timezone.utc)
    v2 = dag_run_from_json({"dag_id": "d", "dag_run_id": "r", "logical_date": None, "state": "queued",
                            "run_after": "2026-01-05T10:00:00Z", "start_date": None, "end_date": None}, "v2")
    assert v2.logical_date is None and v2.run_after.hour == 10 and not v2.finished
    ti = task_instance_from_json({"dag_id": "d", "dag_run_id": "r", "task_id": "t", "state": "none",
                                  "try_number": 2, "map_index": -1, "start_date": None, "end_date": None})
    assert ti.state is None and ti.try_number == 2 and ti.duration is None
    assert parse_time("2026-01-05T10:00:00").tzinfo is timezone.utc
    assert parse_time("2026-01-05T10:00:00.28508Z").microsecond == 285080
    assert parse_time("2026-01-05T10:00:00.1234567+02:00").microsecond == 123456
    for bad in ({"dag_id": "d"}, {"dag_id": 1, "dag_run_id": "r"}, "text",
                {"dag_id": "d", "dag_run_id": "r", "start_date": "yesterday"}):
        with pytest.raises(RecordError):
            dag_run_from_json(bad, "v2")


def test_history_is_immutable_and_compares_by_data() -> None:
    h = history()
    with pytest.raises(TypeError):
        h.dag_runs["other"] = ()  # type: ignore[index]
    with pytest.raises(AttributeError):
        h.base_url = "x"  # type: ignore[misc]
    assert h.same_data(RunHistory(URL, "v2", None, dict(h.dag_runs), dict(h.task_instances)))
    assert not h.same_data(RunHistory(URL, "v2"))
