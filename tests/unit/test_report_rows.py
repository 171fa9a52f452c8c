"""The migration report's rows (``airlift.migrationReport``, server/features/report.py): per DAG
the fields other tools read, unchanged, and per task its stage, assets, proxied state, last
Airflow run and the Dagster run dagster-airlift launched for it, with and without Dagster
peering records."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from types import MappingProxyType

import pytest

from server.cli.common import load_project
from server.features.report import dag_rows, dagster_json
from server.peering.dagster_client import DagsterRun
from server.peering.dagster_watch import DagsterView
from server.peering.history import RunHistory
from server.peering.records import DagRun, TaskInstance

DAG = """\
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("orders", start_date=datetime(2024, 1, 1), schedule=None):
    load = BashOperator(task_id="load", bash_command="echo load")
    report = BashOperator(task_id="report", bash_command="echo report")
    publish = BashOperator(task_id="publish", bash_command="echo publish")
    load >> report >> publish

from pathlib import Path
from dagster_airlift.in_airflow import proxying_to_dagster
from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml
proxying_to_dagster(global_vars=globals(),
                    proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"))
"""

MODULE = """\
from dagster import AssetSpec, Definitions
from dagster_airlift.core import assets_with_task_mappings

defs = Definitions(assets=[*assets_with_task_mappings(dag_id="orders", task_mappings={
    "load": [AssetSpec(["raw_data", "raw_customers"])], "report": [AssetSpec("report")]})])
"""

PER_DAG = ["dag_id", "file", "tasks", "mapped", "proxied", "dagProxied", "hook", "source", "last_run", "task_rows"]


def at(minute: int) -> datetime:
    return datetime(2026, 12, 1, 6, minute, tzinfo=timezone.utc)


@pytest.fixture
def project(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("AIRLIFT_LSP_CACHE", "off")
    (tmp_path / "proxied_state").mkdir()
    (tmp_path / "orders.py").write_text(DAG)
    (tmp_path / "proxied_state" / "orders.yaml").write_text(
        "tasks:\n  - id: load\n    proxied: true\n  - id: publish\n    proxied: false\n  - id: report\n    proxied: false\n")
    (tmp_path / "definitions.py").write_text(MODULE)
    return load_project(str(tmp_path))


def history() -> RunHistory:
    run = DagRun("orders", "manual__1", "failed", at(1), at(1), at(9))
    instances = (TaskInstance("orders", "manual__1", "load", "success", at(1), at(2), 1),
                 TaskInstance("orders", "manual__1", "report", "failed", at(2), at(3), 2))
    return RunHistory("http://airflow:8080", "v2", at(10), {"orders": (run,)}, {("orders", "manual__1"): instances})


def test_without_peering_each_task_has_its_stage_and_assets_and_no_runs(project):
    [row] = dag_rows(project, None, None)
    assert list(row) == PER_DAG
    assert (row["tasks"], row["mapped"], row["proxied"], row["dagProxied"], row["last_run"]) == (3, 2, 1, False, None)
    assert row["task_rows"] == [
        {"task_id": "load", "stage": "proxied", "assets": ["raw_data/raw_customers"], "proxied": True,
         "last_run": None, "dagster_run": None, "dagster_run_url": None},
        {"task_id": "report", "stage": "observed", "assets": ["report"], "proxied": False,
         "last_run": None, "dagster_run": None, "dagster_run_url": None},
        {"task_id": "publish", "stage": "unmapped", "assets": [], "proxied": False,
         "last_run": None, "dagster_run": None, "dagster_run_url": None}]
    assert dagster_json(None) is None and dagster_json(DagsterView()) is None


def test_with_dagster_records_the_proxied_task_gets_the_run_launched_for_its_last_airflow_run(project):
    launched = DagsterRun("ab12cd34-5678-90ef", "SUCCESS", at(1), at(1), at(2), "orders", "manual__1", "load")
    older = DagsterRun("ffff0000-older", "FAILURE", at(0), at(0), at(1), "orders", "manual__0", "load")
    view = DagsterView("http://dagster:3000", "connected", None,
                       MappingProxyType({("orders", "manual__1"): (launched,), ("orders", "manual__0"): (older,)}))
    [row] = dag_rows(project, history(), view)
    assert row["last_run"] == {"run_id": "manual__1", "state": "failed", "start_date": "2026-12-01T06:01:00Z",
                               "end_date": "2026-12-01T06:09:00Z"}
    load, report, publish = row["task_rows"]
    assert load["dagster_run"] == {"run_id": "ab12cd34-5678-90ef", "status": "SUCCESS",
                                   "start_time": "2026-12-01T06:01:00Z", "end_time": "2026-12-01T06:02:00Z"}
    assert load["dagster_run_url"] == "http://dagster:3000/runs/ab12cd34-5678-90ef"
    assert load["last_run"]["state"] == "success"
    assert report["last_run"] == {"run_id": "manual__1", "state": "failed", "start_date": "2026-12-01T06:02:00Z",
                                  "end_date": "2026-12-01T06:03:00Z"}
    assert (report["dagster_run"], report["dagster_run_url"]) == (None, None)  # ran in Airflow
    assert (publish["last_run"], publish["dagster_run"]) == (None, None)
    assert dagster_json(view) == {"url": "http://dagster:3000", "state": "connected", "error": None}


def test_an_unreachable_dagster_leaves_the_runs_null_and_says_why(project):
    view = DagsterView("http://dagster:3000", "unreachable", "connection to Dagster at http://dagster:3000 refused")
    [row] = dag_rows(project, history(), view)
    assert [t["dagster_run"] for t in row["task_rows"]] == [None, None, None]
    assert row["task_rows"][0]["last_run"]["state"] == "success"
    assert dagster_json(view)["error"] == "connection to Dagster at http://dagster:3000 refused"


def test_the_run_page_link_quotes_the_run_id():
    from server.peering.ui_links import dagster_run_url

    assert dagster_run_url("https://acme.dagster.cloud/prod/", "a b/c") == "https://acme.dagster.cloud/prod/runs/a%20b%2Fc"
