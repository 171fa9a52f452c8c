"""Operator ports run for real: the tasks of tests/fixtures/scaffold/ports/ports_dag.py use the
project's own `CsvExportOperator` (corp_ops, in the DAGs folder, as a team's operator library
is); the Dagster module ports the class once (`AIRFLOW_OPERATOR_PORTS`). Each task scaffolded as a
call of the port materializes in real Dagster, and Airflow 2.11 runs the same tasks
(`airflow tasks test`) with the class itself: the CSV files they write must be the same bytes.
The port takes only the operator's own arguments, keyword-only: a `retries` or `pool` passed on
would fail the Dagster run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import airflow_tasks_test, materialize, runs_by_asset

REPO = Path(__file__).resolve().parents[2]
PORTS = REPO / "tests" / "fixtures" / "scaffold" / "ports"
TASKS = {"export_orders": "orders_csv", "export_totals": "totals_csv"}
FILES = ("orders.csv", "totals.csv")
DAG_TASKS = {"ports": [*TASKS, "export_empty"]}
"""What the fake Airflow of the Dagster runs answers: every task the module maps."""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The DAGs folder (with the corp_ops library) and the Dagster module beside it, both tasks scaffolded."""
    root = tmp_path_factory.mktemp("ports")
    dags = root / "airflow_dags"
    dags.mkdir()
    shutil.copy(PORTS / "ports_dag.py", dags / "ports_dag.py")
    shutil.copytree(PORTS / "corp_ops", dags / "corp_ops")
    module = root / "dagster_defs" / "definitions.py"
    module.parent.mkdir()
    module.write_text(scaffold_every_task(dags / "ports_dag.py", "ports", TASKS,
                                          (PORTS / "ports_module.py").read_text(), module))
    return root


@pytest.fixture(scope="module")
def dagster_runs(project: Path) -> dict[str, dict]:
    return runs_by_asset(materialize(project / "dagster_defs" / "definitions.py", DAG_TASKS,
                                     TASKS.values(), cwd=project,
                                     env={"EXPORT_DIR": str(project / "dagster_exports")}))


@pytest.fixture(scope="module")
def airflow_runs(project: Path) -> dict[str, str]:
    return airflow_tasks_test(project / "airflow_dags", "ports", TASKS, home=project / "airflow_home", cwd=project,
                              env={"EXPORT_DIR": str(project / "airflow_exports")})


@pytest.mark.parametrize("key", list(TASKS.values()))
def test_a_ported_task_materializes(key, dagster_runs):
    run = dagster_runs[key]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == [key]


@pytest.mark.parametrize("name", FILES)
def test_the_port_writes_what_the_operator_wrote(name, project, dagster_runs, airflow_runs):
    airflow_file, dagster_file = project / "airflow_exports" / name, project / "dagster_exports" / name
    assert airflow_file.read_bytes() == dagster_file.read_bytes()
    assert airflow_file.read_text().splitlines()[0] in ("region,amount", "region;amount")


def test_a_port_that_writes_otherwise_is_caught(project, airflow_runs, tmp_path):
    """The comparison can fail: the same module with a port that drops the header row."""
    module = tmp_path / "definitions.py"
    module.write_text((project / "dagster_defs" / "definitions.py").read_text().replace(
        "        writer.writerow(columns)\n", ""))
    materialize(module, DAG_TASKS, ["orders_csv"], cwd=tmp_path,
                env={"EXPORT_DIR": str(tmp_path / "exports")})
    assert (tmp_path / "exports" / "orders.csv").read_bytes() != \
        (project / "airflow_exports" / "orders.csv").read_bytes()
