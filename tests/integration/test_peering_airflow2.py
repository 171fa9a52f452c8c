"""The peering client, poller and CLI against a real Airflow 2.11 (``/api/v1``, basic auth):
webserver and scheduler on 127.0.0.1 with SQLite (tests/support/airflow2_server.py).

The DAGs are written for Airflow 2 here: the tutorial's `rebuild_customers_list` ids with
`EmptyOperator`s (the scheduler marks them success without running a task), and `failing_dag`,
whose `boom` runs `exit 1` (failed), so `after_boom` is upstream_failed and `fine` succeeds."""

from __future__ import annotations

import json
import os
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from server.peering import AirflowClient, PeeringError, Poller, fetch_history
from server.peering.present import lens_prefix, task_runs_markdown
from server.settings import AirflowSettings
from tests.conftest import run_cli
from tests.support.airflow2_server import Airflow2Server
from tests.support.airflow_server import time_limit

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
DAG_IDS = ["failing_dag", "rebuild_customers_list"]
DAGS = {
    "rebuild_customers_list.py": """
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.empty import EmptyOperator

        with DAG("rebuild_customers_list", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
            load = EmptyOperator(task_id="load_raw_customers")
            build = EmptyOperator(task_id="build_dbt_models")
            export = EmptyOperator(task_id="export_customers")
            load >> build >> export
        """,
    "failing_dag.py": """
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.bash import BashOperator
        from airflow.operators.empty import EmptyOperator

        with DAG("failing_dag", schedule=None, start_date=datetime(2024, 1, 1), catchup=False,
                 default_args={"retries": 0}):
            BashOperator(task_id="boom", bash_command="exit 1") >> EmptyOperator(task_id="after_boom")
            EmptyOperator(task_id="fine")
        """,
}


@pytest.fixture(scope="module")
def airflow2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("airflow2_dags")
    for name, text in DAGS.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    server = Airflow2Server(folder)
    try:
        with time_limit(300, "starting Airflow 2"):
            server.start()
        print(f"\nAirflow 2 started in {server.startup_seconds:.1f}s")
        server.wait_for_task_classes("failing_dag", {"boom": "BashOperator", "after_boom": "EmptyOperator",
                                                     "fine": "EmptyOperator"}, timeout=120)
        server.wait_for_task_classes("rebuild_customers_list", dict.fromkeys(
            ("load_raw_customers", "build_dbt_models", "export_customers"), "EmptyOperator"), timeout=120)
        runs = {}
        for dag_id in DAG_IDS:
            server.unpause(dag_id)
            runs[dag_id] = server.trigger(dag_id, f"peering_{dag_id}")
        states = {dag_id: server.wait_for_run(dag_id, run_id, timeout=240) for dag_id, run_id in runs.items()}
        assert states == {"failing_dag": "failed", "rebuild_customers_list": "success"}
        yield server, runs
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def bounded():
    with time_limit(600, "a real-Airflow-2 peering test"):
        yield


def settings_for(server: Airflow2Server, **overrides) -> AirflowSettings:
    values = {"url": server.url, "username": server.username, "password": server.password,
              "poll_interval": 2.0}
    return AirflowSettings(**{**values, **overrides})


def test_api_v1_with_basic_auth_in_at_most_3_requests(airflow2) -> None:
    server, runs = airflow2
    client = AirflowClient.from_settings(settings_for(server))
    seen: list[str] = []
    client.session.hooks["response"].append(
        lambda response, *args, **kwargs: seen.append(f"{response.request.method} {response.request.path_url}"))
    assert client.connect() == "v1" and client.airflow_version.startswith("2.11")
    assert seen == ["GET /api/v2/version", "GET /api/v1/version"]
    seen.clear()
    history = fetch_history(client, DAG_IDS)
    assert seen == ["POST /api/v1/dags/~/dagRuns/list", "POST /api/v1/dags/~/dagRuns/~/taskInstances/list"]
    states = {ti.task_id: ti.state for ti in history.task_instances[("failing_dag", runs["failing_dag"])]}
    assert states == {"boom": "failed", "after_boom": "upstream_failed", "fine": "success"}
    rebuild = history.task_instances[("rebuild_customers_list", runs["rebuild_customers_list"])]
    assert {ti.task_id: ti.state for ti in rebuild} == {
        "load_raw_customers": "success", "build_dbt_models": "success", "export_customers": "success"}
    run = history.last_run("failing_dag")
    assert run.logical_date is not None and run.state == "failed"  # execution_date read as logical_date
    seen.clear()
    fetch_history(client, DAG_IDS, previous=history)
    assert seen == ["POST /api/v1/dags/~/dagRuns/list"]  # every run finished and known
    client.close()

    now = datetime.now(timezone.utc)
    assert lens_prefix(history, "failing_dag", "boom", now).startswith("✗ failed ")
    assert lens_prefix(history, "rebuild_customers_list", "export_customers", now).startswith("✓ success ")
    text = task_runs_markdown(history, "failing_dag", "boom", True, now=now)
    assert f"{server.url}/dags/failing_dag/grid?dag_run_id={runs['failing_dag']}&task_id=boom" in text


def test_wrong_password_says_so(airflow2) -> None:
    """Airflow 2 answers ``/api/v1/version`` without credentials: the wrong password shows on
    the first read of runs, as HTTP 403 (its ``session`` auth backend treats the request as
    anonymous), which could also mean missing permissions: the message names both."""
    server, _ = airflow2
    client = AirflowClient.from_settings(settings_for(server, password="wrong-password-456"))
    assert client.connect() == "v1"
    with pytest.raises(PeeringError) as caught:
        fetch_history(client, DAG_IDS)
    assert caught.value.kind == "authorization" and caught.value.status == 403
    assert "the password is wrong" in str(caught.value) and "'admin'" in str(caught.value)
    assert "wrong-password-456" not in str(caught.value) + (caught.value.body or "")
    client.close()


def test_poller_connects(airflow2) -> None:
    server, runs = airflow2
    poller = Poller(settings_for(server), lambda: DAG_IDS).start()
    try:
        assert poller.wait_for(lambda h, s: s.state == "connected", 30), poller.status
        history, status = poller.snapshot()
        assert status.api_version == "v1" and status.error is None
        assert history.last_task_run("failing_dag", "after_boom")[1].state == "upstream_failed"
    finally:
        poller.stop()
    poller = Poller(settings_for(server, password="wrong-password-456"), lambda: DAG_IDS).start()
    try:
        assert poller.wait_for(lambda h, s: s.state != "connecting", 30), poller.status
        status = poller.status
        assert (status.state, status.error_kind) == ("unauthorized", "authorization"), status
        assert "password is wrong" in status.error
        assert "wrong-password-456" not in status.error
    finally:
        poller.stop()


def test_cli_status_json(airflow2, tmp_path: Path) -> None:
    """`airlift-lsp status --json` on a workspace with the tutorial's DAG, settings from the
    environment: the last run comes from Airflow 2."""
    server, runs = airflow2
    workspace = tmp_path / "ws"
    (workspace / "airflow_dags").mkdir(parents=True)
    (workspace / "airflow_dags" / "rebuild_customers_list.py").write_text(
        textwrap.dedent(DAGS["rebuild_customers_list.py"]), encoding="utf-8")
    env = {**os.environ, "AIRFLOW_URL": server.url, "AIRFLOW_USERNAME": server.username,
           "AIRFLOW_PASSWORD": server.password}
    done = run_cli("status", "--json", str(workspace), cwd=REPO, env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["airflow"] == {"url": server.url, "api_version": "v1", "reachable": True, "error": None}
    (dag,) = [d for d in report["dags"] if d["dag_id"] == "rebuild_customers_list"]
    assert dag["last_run"]["run_id"] == runs["rebuild_customers_list"]
    assert dag["last_run"]["state"] == "success"
    assert server.password not in done.stdout + done.stderr
