"""Operator ports run for real: the tasks of tests/fixtures/scaffold/ports/ports_dag.py use the
project's own `CsvExportOperator` (corp_ops, in the DAGs folder, as a team's operator library
is), one of them made by the team's factory (`export_table`); the Dagster module ports the class
once (`AIRFLOW_OPERATOR_PORTS`). Each task, scaffolded with the CLI as a user runs it, becomes a
call of the port (the factory's task with the values the model evaluates, written out) that
materializes in real Dagster, and Airflow 2.11 runs the same tasks (`airflow tasks test`) with
the class itself: the CSV files they write must be the same bytes. The port takes only the
operator's own arguments, keyword-only: a `retries` or `pool` passed on would fail the run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.scaffold_runs import airflow_tasks_test, materialize, runs_by_asset

REPO = Path(__file__).resolve().parents[2]
PORTS = REPO / "tests" / "fixtures" / "scaffold" / "ports"
TASKS = {"export_orders": "orders_csv", "export_totals": "totals_csv", "export_regions": "regions_csv"}
DAG_TASKS = {"ports": [*TASKS, "export_empty"]}
"""What the fake Airflow of the Dagster runs answers: every task the module maps."""
FILES = ("orders.csv", "totals.csv", "regions.csv")
"""What each side writes in `<side>/exports/`: its `EXPORT_DIR`, and where the factory's relative
`exports/regions.csv` lands, the run's folder being `<side>/`."""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The DAGs folder (with the corp_ops library) and the Dagster module, each task scaffolded by the CLI."""
    root = tmp_path_factory.mktemp("ports")
    (root / "dags").mkdir()
    shutil.copy(PORTS / "ports_dag.py", root / "dags" / "ports_dag.py")
    shutil.copytree(PORTS / "corp_ops", root / "dags" / "corp_ops")
    (root / "definitions.py").write_text((PORTS / "ports_module.py").read_text())
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    for task_id in TASKS:
        result = run_cli("scaffold", "ports", task_id, cwd=root)
        assert result.returncode == 0, result.stderr
    refused = run_cli("scaffold", "ports", "export_empty", cwd=root)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "`out_path` argument of task `export_empty` is only known when Airflow runs the file" in refused.stderr
    for side in ("airflow", "dagster"):
        (root / side).mkdir()
    return root


@pytest.fixture(scope="module")
def dagster_runs(project: Path) -> dict[str, dict]:
    return runs_by_asset(materialize(project / "definitions.py", DAG_TASKS, TASKS.values(), cwd=project / "dagster",
                                     env={"EXPORT_DIR": str(project / "dagster" / "exports")}))


@pytest.fixture(scope="module")
def airflow_runs(project: Path) -> dict[str, str]:
    return airflow_tasks_test(project / "dags", "ports", TASKS, home=project / "airflow_home", cwd=project / "airflow",
                              env={"EXPORT_DIR": str(project / "airflow" / "exports")})


def test_the_factory_task_is_given_the_values_written_out(project):
    module = (project / "definitions.py").read_text()
    assert 'out_path="exports/regions.csv",\n        delimiter="|",\n' in module
    assert "retries" not in module and "pool" not in module


@pytest.mark.parametrize("key", list(TASKS.values()))
def test_a_ported_task_materializes(key, dagster_runs):
    run = dagster_runs[key]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == [key]


@pytest.mark.parametrize("name", FILES)
def test_the_port_writes_what_the_operator_wrote(name, project, dagster_runs, airflow_runs):
    airflow_file, dagster_file = project / "airflow" / "exports" / name, project / "dagster" / "exports" / name
    assert airflow_file.read_bytes() == dagster_file.read_bytes()
    assert airflow_file.read_text().splitlines()[0] in ("region,amount", "region;amount", "region")


def test_a_port_that_writes_otherwise_is_caught(project, airflow_runs, tmp_path):
    """The comparison can fail: the same module with a port that drops the header row."""
    module = tmp_path / "definitions.py"
    module.write_text((project / "definitions.py").read_text().replace("        writer.writerow(columns)\n", ""))
    materialize(module, DAG_TASKS, ["orders_csv"], cwd=tmp_path, env={"EXPORT_DIR": str(tmp_path / "exports")})
    assert (tmp_path / "exports" / "orders.csv").read_bytes() != (project / "airflow" / "exports" / "orders.csv").read_bytes()


def test_the_values_written_out_are_those_airflow_gives_the_operator(project):
    """The model's values for the factory's task, against the operator Airflow 2.11's DagBag loads."""
    from analysis.dags.dagfile import extract_file
    from analysis.edits.scaffold.plan_evaluated import BASE_OPERATOR
    from analysis.files import read_disk
    from analysis.project import Layout, discover
    from tests.conftest import airflow2_python, dagbag_of

    code = discover(Layout(str(project), ("dags",), "definitions.py"), read_disk).code
    dag_file = project / "dags" / "ports_dag.py"
    [dag] = extract_file(str(dag_file), dag_file.read_text(), code, arguments=True).dags
    written = {n: v for n, known, v in dag.task("export_regions").arguments if known and n not in BASE_OPERATOR}
    held = dagbag_of(airflow2_python(), project / "dags")["dags"]["ports"]["attributes"]["export_regions"]
    assert written == {"rows": [["eu"], ["us"]], "columns": ["region"], "out_path": "exports/regions.csv",
                       "delimiter": "|"}
    assert {name: held[name] for name in written} == written
