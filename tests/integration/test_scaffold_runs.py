"""Scaffolded assets run for real in Dagster and write what the Airflow tasks write.

The tutorial is laid out in a temporary folder as in examples/tutorial (the DAGs folder beside
tutorial_dagster/), every task of it that can be scaffolded is scaffolded into the Dagster
module, and tests/support/dagster_materialize.py materializes the assets one after the other in
the Dagster venv (``make dagster``), with TUTORIAL_DATA_DIR pointing at an empty folder. No
Airflow runs: the module peers with dagster-airlift's own fake (tests/support/dagster_load.py).

What each asset must write is what its Airflow task writes: the same tutorial_shared functions,
called as the DAG files call them, are run directly into another folder, and the files are
compared byte for byte.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import ImportRoot, scaffold_task
from tests.support.scaffold_runs import MATERIALIZE, dagster_python

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "examples" / "tutorial"
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"

# (dag_id, task_id, asset key, files its Airflow task writes in the data folder), in DAG order
TASKS = [
    ("rebuild_customers_list", "load_raw_customers", "raw_data/raw_customers", ["raw_customers.csv"]),
    ("rebuild_customers_list", "build_dbt_models", "customers", ["customers.csv"]),
    ("rebuild_customers_list", "export_customers", "customers_export", ["customers_export.csv"]),
    ("daily_orders", "extract_orders", "raw_data/orders", ["orders_raw.csv"]),
    ("daily_orders", "notify_team", "team_notification", []),
]

# What the Airflow tasks run, called as the DAG files call it (argv: DAGs folder, data folder).
AIRFLOW_TASKS = """
import sys
from pathlib import Path

sys.path.insert(0, sys.argv[1])
from tutorial_shared import build_models, customers, export, orders

data = Path(sys.argv[2])
customers.load_raw_customers(customers.RAW_CUSTOMERS_CSV, data / "raw_customers.csv")
build_models.build_customers(data / "raw_customers.csv", data / "customers.csv")
export.export_customers(data / "customers.csv", data / "customers_export.csv")
orders.extract_orders(orders.RAW_ORDERS_CSV, data / "orders_raw.csv")
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The tutorial's layout in a temporary folder, every scaffoldable task scaffolded."""
    root = tmp_path_factory.mktemp("tutorial")
    shutil.copytree(TUTORIAL / "airflow_dags", root / "airflow_dags",
                    ignore=shutil.ignore_patterns("__pycache__"))
    module = root / "tutorial_dagster" / "definitions.py"
    module.parent.mkdir()
    text = (FIXTURES / "tutorial_all_mapped.py").read_text(encoding="utf-8")
    roots = [ImportRoot.from_disk(str(root / "airflow_dags"))]
    for dag_id, task_id, _, _ in TASKS:
        dag = root / "airflow_dags" / f"{dag_id}.py"
        result = scaffold_task(dag.read_text(encoding="utf-8"), str(dag), dag_id, task_id, text,
                               module_path=str(module), import_roots=roots)
        assert result.changed, result.reason
        text = result.text
    module.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def materialized(project: Path) -> tuple[dict[str, dict], Path, str]:
    """Each asset materialized in turn: its run by key, the data folder, the runs' stderr."""
    data = project / "data"
    airflow = {}
    for dag_file in sorted((project / "airflow_dags").glob("*.py")):
        for dag in extract_file(str(dag_file), dag_file.read_text(encoding="utf-8")).dags:
            airflow[dag.dag_id] = [task.task_id for task in dag.tasks]
    command = [dagster_python(), str(MATERIALIZE), str(project / "tutorial_dagster" / "definitions.py"),
               "--airflow", json.dumps(airflow)]
    for _, _, key, _ in TASKS:
        command += ["--asset", key]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=600, cwd=project, check=False,
        env={**os.environ, "DAGSTER_HOME": str(project), "TUTORIAL_DATA_DIR": str(data)},
    )
    assert result.returncode == 0, result.stderr[-4000:]
    runs = {run["asset"]: run for run in json.loads(result.stdout)["runs"]}
    return runs, data, result.stderr


@pytest.fixture(scope="module")
def airflow_outputs(project: Path, tmp_path_factory) -> Path:
    """What the Airflow tasks write, from the same functions run directly."""
    data = tmp_path_factory.mktemp("airflow_data")
    subprocess.run([sys.executable, "-c", AIRFLOW_TASKS, str(project / "airflow_dags"), str(data)],
                   check=True, capture_output=True, timeout=120)
    return data


def test_the_scaffolded_module_is_the_unit_tests_fixture(project):
    # same layout as examples/tutorial, so the same relative paths: what runs here is what
    # tests/unit/test_edit_scaffold.py checks line by line
    text = (project / "tutorial_dagster" / "definitions.py").read_text(encoding="utf-8")
    assert text == (FIXTURES / "all_mapped+all.py").read_text(encoding="utf-8")


@pytest.mark.parametrize("dag_id, task_id, key, files", TASKS, ids=[t[1] for t in TASKS])
def test_a_scaffolded_asset_materializes_and_writes_what_its_task_writes(
        dag_id, task_id, key, files, materialized, airflow_outputs):
    runs, data, _ = materialized
    run = runs[key]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == [key]
    for name in files:
        assert (data / name).is_file(), f"{task_id} did not write {name}"
        assert (data / name).read_bytes() == (airflow_outputs / name).read_bytes()


def test_the_bash_command_ran_with_the_dagster_interpreter_from_the_dags_folder(materialized):
    _, data, stderr = materialized
    # tutorial_shared.build_models prints its summary; `python -m` found it through cwd
    assert f"built customers: 19 rows -> {data / 'customers.csv'}" in stderr


def test_the_taskflow_function_ran(materialized):
    _, _, stderr = materialized
    assert "The daily orders report is published." in stderr


def test_only_the_scaffolded_assets_wrote_files(materialized):
    _, data, _ = materialized
    assert sorted(p.name for p in data.iterdir()) == sorted(f for t in TASKS for f in t[3])
