"""Athena scaffolds run for real: the AthenaOperator tasks of tests/fixtures/scaffold/athena_dag.py
(a repair, an insert reading Airflow Variables, a query with its own workgroup, catalog, request
token and result configuration), scaffolded into Dagster assets with dagster-aws's
AthenaClientResource, materialize in real Dagster; Airflow 2.11 with the Amazon provider runs
the same tasks (``airflow tasks test``). Each side talks to its own Athena: moto's server behind
a recording proxy (tests/support/athena.py; no AWS here), whose queries take two polls to end.

Both must start the same queries (``StartQueryExecution`` as sent, but the idempotency token
boto3 makes up when a task gives none), in the same order, and wait for them; a query Athena
fails must fail the asset with the message it fails the Airflow task with.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.support.athena import FakeAthena
from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import airflow_tasks_test, dagster_python, materialize, runs_by_asset

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
TASKS = {"repair_events": "analytics/events", "build_exclusions": "analytics/adgroup_exclusion_list",
         "weekly_report": "sales/weekly_report"}
VARIABLES = {"AIRFLOW_VAR_ATHENA_DB": "audauto_shared"}
WORKGROUPS = ("reporting",)
GIVEN_TOKEN = "weekly-report-2024-01-01-abcdefghijklmnop"


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("athena")
    (root / "dags").mkdir()
    shutil.copy(FIXTURES / "athena_dag.py", root / "dags" / "athena_dag.py")
    (root / "definitions.py").write_text(scaffold_every_task(
        root / "dags" / "athena_dag.py", "athena", TASKS, (FIXTURES / "athena_module.py").read_text()))
    return root


def _athena(root: Path, name: str, failing: dict[str, str] | None = None) -> FakeAthena:
    return FakeAthena(dagster_python(), root / f"moto-{name}.log", failing=failing or {}).start(WORKGROUPS)


@pytest.fixture(scope="module")
def airflow_athena(project: Path):
    athena = _athena(project, "airflow")
    try:
        airflow_tasks_test(project / "dags", "athena", TASKS, home=project / "airflow_home", cwd=project,
                           env={**athena.env(), **VARIABLES})
        yield athena
    finally:
        athena.stop()


@pytest.fixture(scope="module")
def dagster_athena(project: Path):
    athena = _athena(project, "dagster")
    try:
        runs = runs_by_asset(materialize(project / "definitions.py", {"athena": list(TASKS)}, TASKS.values(),
                                         cwd=project, env={**athena.env(), **VARIABLES}))
        yield athena, runs
    finally:
        athena.stop()


def _as_compared(request: dict) -> dict:
    """A request as sent, without the idempotency token boto3 makes up when none is given."""
    if request.get("ClientRequestToken") == GIVEN_TOKEN:
        return request
    return {k: v for k, v in request.items() if k != "ClientRequestToken"}


def test_each_asset_materializes_with_its_query_execution_id(dagster_athena):
    athena, runs = dagster_athena
    for (task, key), execution_id in zip(TASKS.items(), athena.ids):
        assert runs[key]["success"], "\n".join(runs[key]["errors"])
        assert runs[key]["materialized"] == [key]
        assert runs[key]["metadata"][key]["query_execution_id"] == execution_id


def test_the_assets_start_the_queries_airflow_starts(airflow_athena, dagster_athena):
    athena, _ = dagster_athena
    assert len(athena.started) == len(airflow_athena.started) == len(TASKS)
    assert [_as_compared(r) for r in athena.started] == [_as_compared(r) for r in airflow_athena.started]
    first, second, third = athena.started
    assert first == {"QueryString": "MSCK REPAIR TABLE events;", "WorkGroup": "primary",
                     "QueryExecutionContext": {"Database": "analytics", "Catalog": "AwsDataCatalog"},
                     "ResultConfiguration": {"OutputLocation": "s3://acme-athena-results/airflow"},
                     "ClientRequestToken": first["ClientRequestToken"]}
    assert second["QueryExecutionContext"]["Database"] == "audauto_shared"  # the Variable, rendered
    assert second["QueryString"].startswith("insert into audauto_shared.adgroup_exclusion_list\n")
    assert third["ClientRequestToken"] == GIVEN_TOKEN and third["WorkGroup"] == "reporting"
    assert third["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}


def test_both_wait_for_each_query_to_end(airflow_athena, dagster_athena):
    athena, _ = dagster_athena
    for side in (airflow_athena, athena):  # moto's queries answer RUNNING first: each was polled again
        polled = [side.answered[i] for i in side.ids]  # Airflow asks once more once its waiter is done
        assert [(states[0], states[-1]) for states in polled] == [("RUNNING", "SUCCEEDED")] * len(TASKS)


def test_a_query_athena_fails_fails_the_asset_as_it_fails_the_task(project, tmp_path):
    failing = {"GROUP BY region": "SYNTAX_ERROR: line 1:8: Column 'region' cannot be resolved"}
    athena = FakeAthena(dagster_python(), tmp_path / "moto.log", failing=failing).start(WORKGROUPS)
    try:
        runs = runs_by_asset(materialize(project / "definitions.py", {"athena": list(TASKS)},
                                         ["sales/weekly_report"], cwd=tmp_path, env={**athena.env(), **VARIABLES}))
    finally:
        athena.stop()
    run = runs["sales/weekly_report"]
    assert not run["success"] and run["materialized"] == []
    expected = (f"Final state of Athena job is FAILED, query_execution_id is {athena.ids[0]}. "
                f"Error: {failing['GROUP BY region']}")
    assert expected in "\n".join(run["errors"])
    airflow = FakeAthena(dagster_python(), tmp_path / "moto-airflow.log", failing=failing).start(WORKGROUPS)
    try:
        with pytest.raises(AssertionError) as failed:  # the task fails: airflow_tasks_test asserts success
            airflow_tasks_test(project / "dags", "athena", ["weekly_report"], home=tmp_path / "airflow_home",
                               cwd=tmp_path, env={**airflow.env(), **VARIABLES})
    finally:
        airflow.stop()
    said = re.sub(r"query_execution_id is [0-9a-f-]+", "query_execution_id is X", str(failed.value))
    assert re.sub(r"query_execution_id is [0-9a-f-]+", "query_execution_id is X", expected) in said
