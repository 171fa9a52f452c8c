"""Tasks a project factory makes, scaffolded and run for real: the `platform` DAG of
tests/fixtures/scaffold/factories holds no operator call, only calls of the team's factories
(dataplat.steps, in the DAGs folder as a team's library is), which make Airflow's
SQLExecuteQueryOperator, SqlSensor, a PythonOperator running the library's `export_rows`, one
running a function the factory defines inside itself (a closure), and a BashOperator; and
`report_eu` of regions_dag.py, whose function is a closure of the DAG file's own factory.
Each task, scaffolded with the CLI as a user runs it, is planned from the values the model
evaluates where the factory calls the class, written out (the function copied from the library);
the assets materialize in real Dagster on one SQLite file and Airflow 2.11 runs the same tasks
(`airflow tasks test`) on another: the two must hold the same rows, and write the same files. The values written out are
also checked against the operators Airflow's DagBag loads.
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
FACTORIES = REPO / "tests" / "fixtures" / "scaffold" / "factories"
TASKS = {"load_orders": "orders", "wait_for_orders": "orders_ready", "total_totals": "totals",
         "export_totals": "totals_csv", "shell_done": "done_flag", "summarize_totals": "totals_summary"}
DAG_TASKS = {"platform": [*TASKS, "load_returns"], "report_eu": ["report"], "report_us": ["report"]}
"""And `report_eu.report`, `report_us.report` (regions_dag.py): a closure of a factory the DAG file
defines, one call of it making both."""
ENV = {"WAREHOUSE_CONN": "warehouse_db"}
"""What `load_returns`'s factory reads when Airflow loads the file."""


def connection(database: Path) -> str:
    return json.dumps({"conn_type": "sqlite", "host": str(database)})


def rows(database: Path) -> dict[str, list[tuple]]:
    with sqlite3.connect(database) as db:
        return {table: db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall() for table in ("orders", "totals")}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("factories")
    (root / "dags").mkdir()
    shutil.copy(FACTORIES / "factories_dag.py", root / "dags" / "factories_dag.py")
    shutil.copytree(FACTORIES / "dataplat", root / "dags" / "dataplat")
    shutil.copy(FACTORIES / "regions_dag.py", root / "dags" / "regions_dag.py")
    (root / "definitions.py").write_text((FACTORIES / "factories_module.py").read_text())
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    for task_id in TASKS:
        result = run_cli("scaffold", "platform", task_id, cwd=root)
        assert result.returncode == 0, result.stderr
    for dag_id in ("report_eu", "report_us"):  # one call of the file's factory makes both: each its values
        result = run_cli("scaffold", dag_id, "report", cwd=root)
        assert result.returncode == 0, result.stderr
    refused = run_cli("scaffold", "platform", "load_returns", cwd=root)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "the `conn_id` argument of task `load_returns` is only known when Airflow runs the file" in refused.stderr
    return root


@pytest.fixture(scope="module")
def dagster_runs(project: Path) -> dict[str, dict]:
    return runs_by_asset(materialize(project / "definitions.py", DAG_TASKS, [*TASKS.values(), "eu_report", "us_report"], cwd=project,
                                     env={"AIRFLOW_CONN_WAREHOUSE_DB": connection(project / "dagster.db"),
                                          "EXPORT_DIR": str(project / "dagster_exports")}))


@pytest.fixture(scope="module")
def airflow_runs(project: Path) -> dict[str, str]:
    env = {**ENV, "AIRFLOW_CONN_WAREHOUSE_DB": connection(project / "airflow.db"),
           "EXPORT_DIR": str(project / "airflow_exports")}
    home = project / "airflow_home"
    return {**airflow_tasks_test(project / "dags", "platform", TASKS, home=home, cwd=project, env=env),
            **{f"{dag_id}.report": log for dag_id in ("report_eu", "report_us") for log in
               airflow_tasks_test(project / "dags", dag_id, ["report"], home=home, cwd=project, env=env).values()}}


def test_the_module_holds_the_factorys_values(project):
    module = (project / "definitions.py").read_text()
    assert "\"INSERT INTO orders VALUES ('eu', 10.5), ('us', 7), ('eu', 2)\"" in module
    assert 'sql = "SELECT COUNT(*) FROM orders"' in module and "timeout=30," in module


@pytest.mark.parametrize("key", [*TASKS.values(), "eu_report", "us_report"])
def test_a_factory_task_materializes(key, dagster_runs):
    run = dagster_runs[key]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == [key]


def test_the_databases_hold_the_same_rows(project, dagster_runs, airflow_runs):
    expected = {"orders": [("eu", 2.0), ("eu", 10.5), ("us", 7.0)], "totals": [("eu", 12.5), ("us", 7.0)]}
    assert rows(project / "airflow.db") == expected
    assert rows(project / "dagster.db") == expected


def test_the_librarys_function_writes_the_same_file(project, dagster_runs, airflow_runs):
    written = (project / "dagster_exports" / "totals.csv").read_bytes()
    assert written == (project / "airflow_exports" / "totals.csv").read_bytes()
    assert written.decode().splitlines() == ["eu;12.5", "us;7.0"]
    flag = (project / "dagster_exports" / "done.txt").read_bytes()
    assert flag == (project / "airflow_exports" / "done.txt").read_bytes() == b"test\n"
    # the closure, lifted, given what it read from its factory (`heading` computed there)
    summary = (project / "dagster_exports" / "totals.txt").read_bytes()
    assert summary == (project / "airflow_exports" / "totals.txt").read_bytes() == b"TOTALS BY REGION: 2 rows\n"
    # the DAG file's own factory's closure, lifted from it (`label` computed there, `region` its parameter)
    for region in ("eu", "us"):  # each DAG the loop makes with its own values
        report = (project / "dagster_exports" / f"daily_{region}.txt").read_bytes()
        assert report == (project / "airflow_exports" / f"daily_{region}.txt").read_bytes() \
            == f"daily report for {region.upper()}\n".encode()


def test_a_scaffold_that_runs_otherwise_is_caught(project, airflow_runs, tmp_path):
    """The comparison can fail: the same module with one of the factory's values changed."""
    module = tmp_path / "definitions.py"
    module.write_text((project / "definitions.py").read_text().replace("('us', 7)", "('us', 8)"))
    materialize(module, DAG_TASKS, ["orders"], cwd=tmp_path,
                env={"AIRFLOW_CONN_WAREHOUSE_DB": connection(tmp_path / "other.db")})
    with sqlite3.connect(tmp_path / "other.db") as db:
        changed = db.execute("SELECT * FROM orders ORDER BY 1, 2").fetchall()
    assert changed != rows(project / "airflow.db")["orders"]


def test_the_values_written_out_are_those_airflow_gives_the_operators(project):
    """The model's values for each factory task, against the operator Airflow 2.11's DagBag loads."""
    from analysis.dags.dagfile import extract_file
    from analysis.edits.scaffold.plan_evaluated import BASE_OPERATOR
    from analysis.files import read_disk
    from analysis.project import Layout, discover
    from tests.conftest import airflow2_python, dagbag_of

    code = discover(Layout(str(project), ("dags",), "definitions.py"), read_disk).code
    dag_file = project / "dags" / "factories_dag.py"
    [dag] = extract_file(str(dag_file), dag_file.read_text(), code, arguments=True).dags
    dags = dagbag_of(airflow2_python(), project / "dags", ENV)["dags"]
    held = dags["platform"]["attributes"]
    for task_id in TASKS:
        task = dag.task(task_id)
        written = {n: v for n, known, v in task.arguments if known and n not in BASE_OPERATOR}
        if task.closure is not None:  # what the closure reads, against its cells in Airflow's function
            written = {f"closure:{name}": value for name, _, value in task.closure.bindings}
        assert written and {name: held[task_id][name] for name in written} == written, task_id
    regions = project / "dags" / "regions_dag.py"
    for region in extract_file(str(regions), regions.read_text(), code, arguments=True).dags:
        report = region.task("report")
        read = {f"closure:{name}": value for name, _, value in report.closure.bindings}
        assert read == {"closure:label": region.dag_id[-2:].upper(), "closure:region": region.dag_id[-2:]}
        assert {name: dags[region.dag_id]["attributes"]["report"][name] for name in read} == read
