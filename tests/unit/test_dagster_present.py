"""What the editor and the CLI make of the Dagster side, from records (pure functions): which
Dagster run belongs to a task, the hover and lens texts, asset keys both ways."""

from __future__ import annotations

from datetime import datetime, timezone
from types import MappingProxyType

from server.peering.dagster_client import DagsterRun, Materialization, key_path, user_string
from server.peering.dagster_present import drun_json, hover_section, lens_prefix
from server.peering.dagster_watch import DagsterView
from server.peering.history import RunHistory
from server.peering.records import DagRun, TaskInstance


def at(minute: int) -> datetime:
    return datetime(2026, 12, 1, 6, minute, tzinfo=timezone.utc)


def airflow(*runs: tuple[str, dict[str, str]]) -> RunHistory:
    """DAG `orders`: runs newest first, each with its task states."""
    dag_runs = tuple(DagRun("orders", run_id, "success", at(10 - i), at(10 - i), at(11 - i))
                     for i, (run_id, _) in enumerate(runs))
    instances = {("orders", run_id): tuple(TaskInstance("orders", run_id, t, s, at(1), at(2), 1)
                                           for t, s in tasks.items()) for run_id, tasks in runs}
    return RunHistory("http://airflow:8080", "v2", at(12), {"orders": dag_runs}, instances)


def drun(run_id: str, airflow_run: str, task_id: str, status: str = "SUCCESS") -> DagsterRun:
    return DagsterRun(run_id, status, at(3), at(3), at(4), "orders", airflow_run, task_id)


def view(runs: dict, materializations: dict | None = None, state: str = "connected",
         error: str | None = None) -> DagsterView:
    return DagsterView("http://dagster:3000", state, error, MappingProxyType(runs),
                       MappingProxyType(materializations or {}))


def test_a_task_gets_the_newest_run_launched_for_its_last_airflow_run():
    history = airflow(("run_2", {"load": "success", "report": "failed"}), ("run_1", {"load": "success"}))
    seen = view({("orders", "run_2"): (drun("retry", "run_2", "report", "FAILURE"),
                                       drun("first", "run_2", "report", "FAILURE"),
                                       drun("load-2", "run_2", "load")),
                 ("orders", "run_1"): (drun("load-1", "run_1", "load"),)})
    assert seen.run_for(history, "orders", "load").run_id == "load-2"
    assert seen.run_for(history, "orders", "report").run_id == "retry"
    assert seen.run_for(history, "orders", "unknown") is None
    assert drun_json(seen.run_for(history, "orders", "load")) == {
        "run_id": "load-2", "status": "SUCCESS", "start_time": "2026-12-01T06:03:00Z", "end_time": "2026-12-01T06:04:00Z"}
    assert lens_prefix(seen, history, "orders", "report") == "✗ Dagster run retry FAILURE"
    assert lens_prefix(seen, history, "orders", "load") == ""


def test_a_dag_proxied_as_a_whole_gives_every_task_its_override_run():
    history = airflow(("run_3", {"DAGSTER_OVERRIDE_DAG_orders": "success"}), ("run_1", {"load": "success"}))
    seen = view({("orders", "run_3"): (drun("whole", "run_3", "DAGSTER_OVERRIDE_DAG_orders"),),
                 ("orders", "run_1"): (drun("load-1", "run_1", "load"),)})
    assert seen.run_for(history, "orders", "load").run_id == "whole"
    assert seen.run_for(history, "orders", "report").run_id == "whole"


def test_the_hover_links_both_sides_and_says_what_was_materialized_and_when():
    history = airflow(("run_2", {"load": "success"}))
    run = drun("ab12cd34-0000", "run_2", "load")
    seen = view({("orders", "run_2"): (run,)},
                {"raw/customers": Materialization("raw/customers", "ab12cd34-0000", at(9)),
                 "raw/orders": Materialization("raw/orders", "ff00ee11-9999", at(0)),
                 "never": None})
    text = hover_section(seen, history, "orders", "load", ("raw/customers", "raw/orders", "never"), True, at(12))
    assert text.startswith("\n\n---\n\n**Dagster**\n\n- ")
    first, second = text.split("\n\n")[-1].splitlines()
    assert first == ("- [Airflow run 2026-12-01 `run_2` ✓](http://airflow:8080/dags/orders/runs/run_2/tasks/load) → "
                     "[Dagster run `ab12cd34` ✓ SUCCESS](http://dagster:3000/runs/ab12cd34-0000) "
                     "materialized `raw/customers` 3 min ago")
    assert second == "- Last materialized `raw/orders` 12 min ago by run `ff00ee11`"
    plain = hover_section(seen, history, "orders", "load", ("raw/customers",), False, at(12))
    assert "Dagster run ab12cd34 ✓ SUCCESS materialized raw/customers 3 min ago" in plain and "](" not in plain


def test_an_unreachable_dagster_says_so_in_one_line_and_nothing_when_not_configured():
    history = airflow(("run_2", {"load": "success"}))
    down = view({}, state="unreachable", error="connection to Dagster at http://dagster:3000 failed: connection refused")
    text = hover_section(down, history, "orders", "load", ("raw/customers",), True, at(12))
    assert text.endswith("- *Dagster: unreachable — connection to Dagster at http://dagster:3000 failed: "
                         "connection refused*")
    assert hover_section(DagsterView(), history, "orders", "load", ("raw/customers",), True, at(12)) == ""
    nothing_yet = view({}, {"raw/customers": None})
    assert "No materialization in Dagster yet of `raw/customers`" in hover_section(
        nothing_yet, history, "orders", "load", ("raw/customers",), True, at(12))


def test_asset_keys_go_to_graphql_paths_and_back():
    assert key_path("raw_data/raw_customers") == ["raw_data", "raw_customers"]
    assert key_path("a\\/b/c") == ["a/b", "c"]
    assert user_string(["a/b", "c"]) == "a\\/b/c" and user_string(["single"]) == "single"
