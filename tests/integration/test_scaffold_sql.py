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
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import airflow_tasks_test, materialize, runs_by_asset

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
    module.write_text(scaffold_every_task(dags / "sql_dag.py", "sql", TASKS, (FIXTURES / "sql_module.py").read_text(),
                                          module))
    return root


@pytest.fixture(scope="module")
def dagster_runs(project: Path) -> dict[str, dict]:
    return runs_by_asset(materialize(project / "dagster_defs" / "definitions.py", {"sql": list(TASKS)},
                                     TASKS.values(), cwd=project,
                                     env={"AIRFLOW_CONN_WAREHOUSE_DB": connection(project / "dagster.db")}))


@pytest.fixture(scope="module")
def airflow_output(project: Path) -> str:
    """Airflow's runs of the four tasks, in DAG order; the last one's log."""
    logs = airflow_tasks_test(project / "airflow_dags", "sql", TASKS, home=project / "airflow_home", cwd=project,
                              env={"AIRFLOW_CONN_WAREHOUSE_DB": connection(project / "airflow.db")})
    return logs[list(TASKS)[-1]]


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
