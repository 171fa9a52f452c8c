"""Tasks of the team's own operator classes, scaffolded and run for real: the `team` DAG of
tests/fixtures/scaffold/derived uses classes of the team's library (teamops.operators, in the DAGs
folder as a team's library is) and one of the DAG file itself, each only giving Airflow's
SQLExecuteQueryOperator, SqlSensor, PythonOperator or BashOperator the team's defaults. Each task,
scaffolded with the CLI as a user runs it, is planned as the Airflow class it runs, with the
arguments its class hands on; the assets materialize in real Dagster on one SQLite file and
Airflow 2.11 runs the same tasks (`airflow tasks test`) on another: the two must hold the same
rows and write the same files. The arguments handed on are checked against the operators Airflow's
DagBag loads, and a class that runs an `execute` of its own is refused with why.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.scaffold_runs import airflow_tasks_test, materialize, runs_by_asset

REPO = Path(__file__).resolve().parents[2]
DERIVED = REPO / "tests" / "fixtures" / "scaffold" / "derived"
TASKS = {"load_orders": "orders", "wait_for_orders": "orders_ready", "total_totals": "totals",
         "export_totals": "totals_csv", "mark_done": "done_flag"}
DAG_TASKS = {"team": [*TASKS, "audit_totals"]}


def connection(database: Path) -> str:
    return json.dumps({"conn_type": "sqlite", "host": str(database)})


def rows(database: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(database) as db:
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in ("orders", "totals")}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("derived")
    (root / "dags").mkdir()
    shutil.copy(DERIVED / "derived_dag.py", root / "dags" / "derived_dag.py")
    shutil.copytree(DERIVED / "teamops", root / "dags" / "teamops")
    (root / "definitions.py").write_text((DERIVED / "derived_module.py").read_text())
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    for task_id in TASKS:
        result = run_cli("scaffold", "team", task_id, cwd=root)
        assert result.returncode == 0, result.stderr
    return root


@pytest.fixture(scope="module")
def dagster_runs(project: Path) -> dict[str, dict]:
    return runs_by_asset(materialize(project / "definitions.py", DAG_TASKS, list(TASKS.values()), cwd=project,
                                     env={"AIRFLOW_CONN_WAREHOUSE_DB": connection(project / "dagster.db"),
                                          "EXPORT_DIR": str(project / "dagster_exports")}))


@pytest.fixture(scope="module")
def airflow_runs(project: Path) -> dict[str, str]:
    env = {"AIRFLOW_CONN_WAREHOUSE_DB": connection(project / "airflow.db"),
           "EXPORT_DIR": str(project / "airflow_exports")}
    return airflow_tasks_test(project / "dags", "team", TASKS, home=project / "airflow_home", cwd=project, env=env)


def test_the_module_holds_the_values_the_classes_hand_on(project):
    module = (project / "definitions.py").read_text()
    # the team's default connection and the sensor's timing, which no call in the DAG file shows
    assert 'AirflowConnection(conn_id="warehouse_db")' in module
    assert 'sql = "SELECT COUNT(*) FROM orders"' in module and "poke_interval=1," in module and "timeout=30," in module
    assert "`LoadOrders` is the project's `SQLExecuteQueryOperator` with values of its own" in " ".join(module.split())
    assert "env={**os.environ, **{'STAGE': 'test'}}" in module  # StepMarker's env, appended


@pytest.mark.parametrize("key", TASKS.values())
def test_a_task_of_a_team_class_materializes(key, dagster_runs):
    run = dagster_runs[key]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == [key]


def test_the_databases_hold_the_same_rows(project, dagster_runs, airflow_runs):
    expected = {"orders": [("eu", 2.0), ("eu", 10.5), ("us", 7.0)], "totals": [("eu", 12.5), ("us", 7.0)]}
    assert rows(project / "airflow.db") == expected
    assert rows(project / "dagster.db") == expected


def test_the_same_files_are_written(project, dagster_runs, airflow_runs):
    written = (project / "dagster_exports" / "totals.csv").read_bytes()
    assert written == (project / "airflow_exports" / "totals.csv").read_bytes() == b"eu;12.5\nus;7.0\n"
    flag = (project / "dagster_exports" / "done.txt").read_bytes()
    assert flag == (project / "airflow_exports" / "done.txt").read_bytes() == b"done test\n"


def test_a_scaffold_that_runs_otherwise_is_caught(project, airflow_runs, tmp_path):
    """The comparison can fail: the same module with one of the class's values changed."""
    module = tmp_path / "definitions.py"
    module.write_text((project / "definitions.py").read_text().replace("{'STAGE': 'test'}", "{'STAGE': 'prod'}"))
    materialize(module, DAG_TASKS, ["done_flag"], cwd=tmp_path, env={"EXPORT_DIR": str(tmp_path / "exports")})
    assert (tmp_path / "exports" / "done.txt").read_bytes() != (project / "airflow_exports" / "done.txt").read_bytes()


def test_the_arguments_handed_on_are_those_airflow_gives_the_operators(project):
    """The model's arguments of each Airflow constructor, against the operator Airflow 2.11's DagBag
    loads; and the tasks' classes, as Airflow names them."""
    from analysis.dags.dagfile import extract_file
    from analysis.edits.scaffold.plan_evaluated import BASE_OPERATOR
    from analysis.files import read_disk
    from analysis.project import Layout, discover
    from tests.conftest import airflow2_python, dagbag_of

    code = discover(Layout(str(project), ("dags",), "definitions.py"), read_disk).code
    dag_file = project / "dags" / "derived_dag.py"
    [dag] = extract_file(str(dag_file), dag_file.read_text(), code, arguments=True).dags
    loaded = dagbag_of(airflow2_python(), project / "dags")["dags"]["team"]
    for task_id in TASKS:
        task = dag.task(task_id)
        assert loaded["classes"][task_id] == task.operator
        handed = {n: v for n, known, v in task.base_arguments if known and n not in BASE_OPERATOR}
        if "python_callable" in {n for n, _, _ in task.base_arguments}:
            assert task.callable_at is not None and task.callable_at[1] == "export_rows"
        assert handed and {name: loaded["attributes"][task_id][name] for name in handed} == handed, task_id


def test_a_class_with_an_execute_of_its_own_is_refused_with_why(project):
    refused = run_cli("scaffold", "team", "audit_totals", cwd=project)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert ("uses `AuditedQueryOperator`, which has no scaffold (derived from `SQLExecuteQueryOperator`, but "
            "`AuditedQueryOperator` defines `execute`): port it by hand") in refused.stderr
    check = run_cli("check", cwd=project)
    assert ("no-scaffold no scaffold for `AuditedQueryOperator` (derived from `SQLExecuteQueryOperator`, but "
            "`AuditedQueryOperator` defines `execute`)") in check.stdout
    assert check.stdout.count("no-scaffold") == 1  # the five others have their asset
