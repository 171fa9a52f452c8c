"""The peering client and poller against a real Airflow 3.3.2 (api-server, scheduler,
dag-processor on 127.0.0.1, SQLite), started once for this module's tests with the stand-in
DAGs of tests/fixtures/airflow_dags/ (the tutorial's DAG and task ids, instant tasks)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from urllib.parse import quote

import pytest
import requests

from server.peering import AirflowClient, PeeringError, Poller, fetch_history
from server.peering.present import (
    dag_runs_markdown,
    hover_section,
    last_run_json,
    lens_prefix,
    status_json,
    task_runs_markdown,
)
from server.settings import AirflowSettings
from tests.integration.conftest import DAG_IDS
from tests.support.airflow_server import time_limit

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

TASKS = {
    "rebuild_customers_list": ["build_dbt_models", "export_customers", "load_raw_customers"],
    "daily_orders": ["extract_orders", "notify_team", "publish_report", "transform.clean_orders",
                     "transform.summarize_orders"],
    "failing_dag": ["after_boom", "boom", "fine"],
}


@pytest.fixture(autouse=True)
def bounded():
    with time_limit(240, "a real-Airflow peering test"):
        yield


def settings_for(server, **overrides) -> AirflowSettings:
    values = {"url": server.url, "username": server.username, "password": server.password,
              "poll_interval": 2.0}
    return AirflowSettings(**{**values, **overrides})


def counting(client: AirflowClient) -> list[str]:
    """Every HTTP exchange the client makes, as ``METHOD /path``, via a requests session hook."""
    seen: list[str] = []
    def hook(response, *args, **kwargs):
        seen.append(f"{response.request.method} {response.request.path_url}")

    client.session.hooks["response"].append(hook)
    return seen


def test_startup_time_is_reported(airflow_server) -> None:
    print(f"\nAirflow 3 started in {airflow_server.startup_seconds:.1f}s")
    assert airflow_server.startup_seconds is not None


def test_detects_airflow_3_without_credentials(airflow_server) -> None:
    client = AirflowClient(airflow_server.url)
    seen = counting(client)
    assert client.detect_version() == "v2"
    assert client.airflow_version == "3.3.2"
    assert seen == ["GET /api/v2/version"]


def test_all_dags_runs_and_task_instances_in_at_most_3_requests(airflow_server, finished_runs) -> None:
    client = AirflowClient.from_settings(settings_for(airflow_server))
    seen = counting(client)
    client.connect()
    assert seen == ["GET /api/v2/version", "POST /auth/token"]

    seen.clear()
    history = fetch_history(client, DAG_IDS)
    assert len(seen) <= 3, seen
    assert seen == ["POST /api/v2/dags/~/dagRuns/list", "POST /api/v2/dags/~/dagRuns/~/taskInstances/list"]
    for dag_id, run_id in finished_runs.items():
        assert run_id in [r.run_id for r in history.runs(dag_id)]
        run_tasks = sorted(ti.task_id for ti in history.task_instances[(dag_id, run_id)])
        assert run_tasks == TASKS[dag_id]
    failing_run = ("failing_dag", finished_runs["failing_dag"])
    states = {ti.task_id: ti.state for ti in history.task_instances[failing_run]}
    assert states == {"boom": "failed", "after_boom": "upstream_failed", "fine": "success"}

    # Many more DAG ids (most unknown to Airflow) cost no more requests.
    seen.clear()
    fetch_history(client, DAG_IDS + [f"not_deployed_{i}" for i in range(200)])
    assert len(seen) == 2, seen
    # Nothing running: the next poll reads the runs only.
    seen.clear()
    again = fetch_history(client, DAG_IDS, previous=history)
    if all(run.finished for runs in again.dag_runs.values() for run in runs):
        assert seen == ["POST /api/v2/dags/~/dagRuns/list"]
    client.close()


def test_a_stale_token_is_replaced(airflow_server) -> None:
    """Airflow 3 answers 403 "Invalid JWT token" to a token it cannot verify (401 only when it
    expired): the client logs in again once."""
    client = AirflowClient.from_settings(settings_for(airflow_server))
    seen = counting(client)
    client.connect()
    client.session.headers["Authorization"] = "Bearer not-a-valid-token"
    runs, _ = client.list_dag_runs(DAG_IDS, limit=5)
    assert runs and seen.count("POST /auth/token") == 2
    runs_list = "POST /api/v2/dags/~/dagRuns/list"
    assert seen[-3:] == [runs_list, "POST /auth/token", runs_list]
    client.close()


def test_wrong_password_is_an_authentication_error(airflow_server) -> None:
    client = AirflowClient.from_settings(settings_for(airflow_server, password="wrong-password-123"))
    with pytest.raises(PeeringError) as caught:
        client.connect()
    assert (caught.value.kind, caught.value.status) == ("authentication", 401)
    assert "wrong-password-123" not in str(caught.value) + (caught.value.body or "")
    assert airflow_server.password not in str(caught.value)


def test_poller_connects_and_reports_task_states(airflow_server, finished_runs) -> None:
    changes: list = []
    poller = Poller(settings_for(airflow_server), lambda: DAG_IDS,
                    lambda history, status: changes.append((threading.current_thread().name, status.state)))
    poller.start()
    try:
        assert poller.wait_for(lambda h, s: s.state == "connected", 30), poller.status
        history, status = poller.snapshot()
        assert status.api_version == "v2" and status.airflow_version == "3.3.2" and status.error is None
        assert changes and all(thread == "airlift-peering" for thread, _ in changes)
        run_id = finished_runs["failing_dag"]
        boom = [t.state for r, t in history.task_runs("failing_dag", "boom") if r.run_id == run_id]
        assert boom == ["failed"]
        for dag_id in ("rebuild_customers_list", "daily_orders"):
            for task_id in TASKS[dag_id]:
                run, ti = history.last_task_run(dag_id, task_id)
                assert (run.run_id, ti.state) == (finished_runs[dag_id], "success"), (dag_id, task_id)
        assert history.last_task_run("failing_dag", "after_boom")[1].state == "upstream_failed"
        assert status.to_json()["state"] == "connected" and status.to_json()["lastPoll"].endswith("Z")
    finally:
        poller.stop()


def test_rendering_real_runs(airflow_server, finished_runs) -> None:
    client = AirflowClient.from_settings(settings_for(airflow_server))
    history = fetch_history(client, DAG_IDS)
    client.close()
    now = datetime.now(timezone.utc)
    run_id = finished_runs["failing_dag"]

    text = task_runs_markdown(history, "failing_dag", "boom", True, now=now)
    link = f"{airflow_server.url}/dags/failing_dag/runs/{quote(run_id, safe='')}/tasks/boom"
    assert f"- ✗ **failed** · [`{run_id}`]({link})" in text
    assert "try 1" in text and "started " in text
    plain = task_runs_markdown(history, "failing_dag", "after_boom", False, now=now)
    assert "✗ upstream_failed" in plain and "**" not in plain and "[" not in plain
    assert f"{airflow_server.url}/dags/failing_dag/runs/" in plain
    assert requests.get(link, timeout=10).status_code == 200  # the UI serves the page

    assert lens_prefix(history, "rebuild_customers_list", "export_customers", now).startswith("✓ success ")
    assert lens_prefix(history, "failing_dag", "boom", now).startswith("✗ failed ")
    assert lens_prefix(history, "failing_dag", None, now).startswith("✗ failed ")
    assert lens_prefix(history, "daily_orders", "no_such_task", now) == ""
    assert finished_runs["daily_orders"] in dag_runs_markdown(history, "daily_orders", True, now=now)

    poller = Poller(settings_for(airflow_server), lambda: DAG_IDS)
    history, status = poller.poll_once()
    assert status_json(status) == {"url": airflow_server.url, "api_version": "v2", "reachable": True,
                                   "error": None}
    last = last_run_json(history, "failing_dag", "boom")
    assert set(last) == {"run_id", "state", "start_date", "end_date"} and last["state"] == "failed"
    assert last_run_json(history, "daily_orders")["run_id"] == history.runs("daily_orders")[0].run_id
    section = hover_section(history, status, "daily_orders", "transform.clean_orders", True, now)
    assert section.startswith("\n\n---\n\n**Airflow** · last runs of `transform.clean_orders`")
    poller.stop()


def test_api_server_killed_mid_poll_then_restarted(airflow_server, finished_runs) -> None:
    """Last in the module: it restarts the api-server."""
    interval = 2.0
    states: list[str] = []
    poller = Poller(settings_for(airflow_server, poll_interval=interval), lambda: DAG_IDS,
                    lambda history, status: states.append(status.state))
    poller.start()
    try:
        assert poller.wait_for(lambda h, s: s.state == "connected", 30), poller.status
        polls = poller.polls
        assert poller.wait_for(lambda h, s: poller.polls > polls, 10)  # a poll has just ended
        time.sleep(interval / 2)  # kill between two polls, the next one is due in about 1 s
        killed = time.monotonic()
        airflow_server.stop_api_server()
        # Within one interval plus the retries of the failing request (0.5 s + 1 s backoff).
        assert poller.wait_for(lambda h, s: s.state == "unreachable", interval + 1.5 + 2.0), poller.status
        elapsed = time.monotonic() - killed
        print(f"\nunreachable reported {elapsed:.1f}s after the api-server was killed")
        status = poller.status
        assert status.error_kind == "connection" and status_json(status)["reachable"] is False
        assert poller.history.runs("failing_dag")  # the last known runs stay
        started = time.monotonic()
        airflow_server.start_api_server(timeout=120)
        print(f"api-server restarted in {time.monotonic() - started:.1f}s")
        poller.poll_now()
        assert poller.wait_for(lambda h, s: s.state == "connected", 20), poller.status
        assert states[-2:] == ["unreachable", "connected"]
    finally:
        started = time.monotonic()
        poller.stop(timeout=5)
        assert time.monotonic() - started < 5.5
