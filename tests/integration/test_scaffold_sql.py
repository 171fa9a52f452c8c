"""SQL scaffolds run for real: the SQLExecuteQueryOperator tasks of
tests/fixtures/scaffold/sql_dag.py (a list of statements, parameters, a ``.sql`` template file,
a query whose rows go to XCom), scaffolded into Dagster assets, materialize in real Dagster on
one SQLite file and Airflow 2.11 runs the same tasks (``airflow tasks test``, with the
common-sql and sqlite providers) on another; both are given the connection the same way,
``AIRFLOW_CONN_WAREHOUSE_DB``. The two databases must then hold the same rows, and the query's
``result`` metadata be the rows Airflow pushed to XCom (as its log prints them).
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from analysis.edits.scaffold import scaffold_task
from tests.conftest import airflow2_python
from tests.integration.test_scaffold_runs import MATERIALIZE, dagster_python

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
TASKS = {"create_orders": "orders", "add_order": "orders/apac", "build_totals": "totals",
         "report": "report"}


def connection(database: Path) -> str:
    return json.dumps({"conn_type": "sqlite", "host": str(database)})


def rows(database: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(database) as db:
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
                for table in ("orders", "totals")}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The DAG folder (with sql/totals.sql) and the Dagster module beside it, every task scaffolded."""
    root = tmp_path_factory.mktemp("sql")
    dags = root / "airflow_dags"
    dags.mkdir()
    shutil.copy(FIXTURES / "sql_dag.py", dags / "sql_dag.py")
    shutil.copytree(FIXTURES / "sql", dags / "sql")
    module = root / "dagster_defs" / "definitions.py"
    module.parent.mkdir()
    text = (FIXTURES / "sql_module.py").read_text()
    dag = dags / "sql_dag.py"
    for task_id in TASKS:
        result = scaffold_task(dag.read_text(), str(dag), "sql", task_id, text, module_path=str(module))
        assert result.changed, result.reason
        text = result.text
    module.write_text(text)
    return root


@pytest.fixture(scope="module")
def dagster_runs(project: Path) -> dict[str, dict]:
    result = subprocess.run(
        [dagster_python(), str(MATERIALIZE), str(project / "dagster_defs" / "definitions.py"),
         "--airflow", json.dumps({"sql": list(TASKS)}),
         *(a for key in TASKS.values() for a in ("--asset", key))],
        capture_output=True, text=True, timeout=600, cwd=project, check=False,
        env={**os.environ, "DAGSTER_HOME": str(project),
             "AIRFLOW_CONN_WAREHOUSE_DB": connection(project / "dagster.db")})
    assert result.returncode == 0, result.stderr[-4000:]
    return {run["asset"]: run for run in json.loads(result.stdout)["runs"]}


@pytest.fixture(scope="module")
def airflow_output(project: Path) -> str:
    """Airflow's runs of the four tasks, in DAG order; the last one's log."""
    env = {**os.environ, "AIRFLOW_HOME": str(project / "airflow_home"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(project / "airflow_dags"),
           "AIRFLOW_CONN_WAREHOUSE_DB": connection(project / "airflow.db")}
    airflow = [airflow2_python(), "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], env=env, cwd=project, check=True,
                   capture_output=True, timeout=300)
    for task_id in TASKS:
        result = subprocess.run([*airflow, "tasks", "test", "sql", task_id], env=env, cwd=project,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout + result.stderr


@pytest.mark.parametrize("key", list(TASKS.values()))
def test_a_sql_asset_materializes(key, dagster_runs):
    run = dagster_runs[key]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == [key]


def test_the_databases_hold_the_same_rows(project, dagster_runs, airflow_output):
    expected = {"orders": [(1, "eu", 10.5), (2, "us", 7.0), (3, "eu", 2.0), (4, "apac", 4.25)],
                "totals": [("apac", 4.25, 1), ("eu", 12.5, 2), ("us", 7.0, 1)]}
    assert rows(project / "airflow.db") == expected
    assert rows(project / "dagster.db") == expected


def test_the_query_reports_the_rows_airflow_pushes_to_xcom(dagster_runs, airflow_output):
    logged = re.search(r"Operator output is: (.*)", airflow_output)
    assert logged, airflow_output[-2000:]
    xcom = ast.literal_eval(logged.group(1))[-1]  # the operator returns the last of these
    assert dagster_runs["report"]["metadata"]["report"]["result"] == [list(row) for row in xcom]
    assert dagster_runs["orders"]["metadata"]["orders"]["result"] == [None, None]  # no rows
