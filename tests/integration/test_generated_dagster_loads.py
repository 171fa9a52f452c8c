"""Every Dagster module the edits write loads in real Dagster + dagster-airlift.

Each module is written to a temporary folder and imported by tests/support/dagster_load.py in
the Dagster venv (``make dagster``). No Airflow runs: the ``AirflowInstance`` the module builds
answers from dagster-airlift's own test fake, listing the tutorial's DAGs and tasks as our
static model reads them from examples/tutorial/airflow_dags. What is checked is what Dagster
built: each asset's key, its deps, and the ``dagster-airlift/task-mapping`` metadata that
ties it to an Airflow task.
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits import NewMapping, add_task_mappings

REPO = Path(__file__).resolve().parents[2]
LOADER = REPO / "tests" / "support" / "dagster_load.py"
TUTORIAL = REPO / "examples" / "tutorial"
FIXTURES = REPO / "tests" / "fixtures" / "edits" / "dagster"
TASK_MAPPING = "dagster-airlift/task-mapping"


def dagster_python() -> str:
    python = os.environ.get("DAGSTER_PYTHON") or str(REPO / ".cache" / "dagster" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"Dagster venv missing at {python}: run `make dagster` (make test does it)")
    return os.path.abspath(python)  # the Makefile passes a relative path; the loader runs elsewhere


@cache
def tutorial_airflow() -> dict[str, list[str]]:
    """The DAGs and tasks Airflow would list for the tutorial, from the static model."""
    structure = {}
    for path in sorted((TUTORIAL / "airflow_dags").glob("*.py")):
        for dag in extract_file(str(path), path.read_text(encoding="utf-8")).dags:
            structure[dag.dag_id] = [task.task_id for task in dag.tasks]
    assert {"rebuild_customers_list", "daily_orders"} <= structure.keys()
    return structure


def run_loader(tmp_path: Path, text: str, airflow: dict[str, list[str]],
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    module = tmp_path / "definitions.py"
    module.write_text(text, encoding="utf-8")
    return subprocess.run(
        [dagster_python(), str(LOADER), str(module), "--airflow", json.dumps(airflow)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, check=False,
        env={**os.environ, "DAGSTER_HOME": str(tmp_path), **(env or {})},
    )


def load(tmp_path: Path, text: str, airflow: dict[str, list[str]] | None = None, **kwargs) -> dict:
    result = run_loader(tmp_path, text, airflow or tutorial_airflow(), **kwargs)
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


def task_assets(loaded: dict) -> dict[str, tuple[list[dict], list[str]]]:
    """Task-mapped assets by key string: their task handles and their deps."""
    return {"/".join(a["key"]): (a["airlift"][TASK_MAPPING], ["/".join(d) for d in a["deps"]])
            for a in loaded["assets"] if TASK_MAPPING in a["airlift"]}


def handle(dag_id: str, task_id: str) -> list[dict]:
    return [{"dag_id": dag_id, "task_id": task_id}]


def test_the_template_with_a_dags_mappings_loads(tmp_path):
    result = add_task_mappings(None, "daily_orders", [
        NewMapping("extract_orders", ("raw_data", "orders")),
        NewMapping("transform.clean_orders", ("clean_orders",), (("raw_data", "orders"),)),
        NewMapping("publish_report", ("orders_report",), (("clean_orders",),)),
    ])
    loaded = load(tmp_path, result.text, env={"AIRFLOW_URL": "http://airflow.test:9090"})
    assert loaded["instances"] == [{"name": "airflow", "webserver_url": "http://airflow.test:9090"}]
    assert task_assets(loaded) == {
        "raw_data/orders": (handle("daily_orders", "extract_orders"), []),
        "clean_orders": (handle("daily_orders", "transform.clean_orders"), ["raw_data/orders"]),
        "orders_report": (handle("daily_orders", "publish_report"), ["clean_orders"]),
    }
    # Peering: every DAG Airflow lists is an asset too, downstream of its mapped assets.
    dag_assets = {"/".join(a["key"]): a["deps"] for a in loaded["assets"]
                  if "dagster-airlift/peered-dag-mapping" in a["airlift"]}
    assert set(dag_assets) == {f"airflow/dag/{dag_id}" for dag_id in tutorial_airflow()}
    assert ["orders_report"] in dag_assets["airflow/dag/daily_orders"]


def test_the_tutorial_module_with_export_customers_added_loads(tmp_path):
    text = (TUTORIAL / "tutorial_dagster" / "definitions.py").read_text(encoding="utf-8")
    result = add_task_mappings(text, "rebuild_customers_list", [
        NewMapping("export_customers", ("customers_export",), (("customers",),))])
    assert result.changed
    loaded = load(tmp_path, result.text)
    assert loaded["instances"] == [{"name": "tutorial", "webserver_url": "http://localhost:8080"}]
    assert task_assets(loaded) == {
        "raw_data/raw_customers": (handle("rebuild_customers_list", "load_raw_customers"), []),
        "customers": (handle("rebuild_customers_list", "build_dbt_models"),
                      ["raw_data/raw_customers"]),
        "customers_export": (handle("rebuild_customers_list", "export_customers"), ["customers"]),
    }


def test_a_new_dags_call_added_to_the_tutorial_module_loads(tmp_path):
    text = (TUTORIAL / "tutorial_dagster" / "definitions.py").read_text(encoding="utf-8")
    result = add_task_mappings(text, "daily_orders", [
        NewMapping("extract_orders", ("raw_data", "orders")),
        NewMapping("transform.summarize_orders", ("orders_summary",), (("raw_data", "orders"),))])
    loaded = load(tmp_path, result.text)
    assets = task_assets(loaded)
    assert set(assets) == {"raw_data/raw_customers", "customers", "raw_data/orders", "orders_summary"}
    assert assets["raw_data/orders"] == (handle("daily_orders", "extract_orders"), [])
    assert assets["orders_summary"] == (handle("daily_orders", "transform.summarize_orders"),
                                        ["raw_data/orders"])
    assert assets["customers"][0] == handle("rebuild_customers_list", "build_dbt_models")


def test_aliased_spellings_load(tmp_path):
    text = (FIXTURES / "aliased+load+billing.py").read_text(encoding="utf-8")
    loaded = load(tmp_path, text, {"orders_dag": ["extract", "load"], "billing": ["charge"]})
    assert loaded["instances"][0]["name"] == "prod"
    assert task_assets(loaded) == {
        "raw_orders": (handle("orders_dag", "extract"), []),
        "orders": (handle("orders_dag", "load"), ["raw_orders"]),
        "billing/charges": (handle("billing", "charge"), []),
    }


def test_a_mapping_to_a_task_airflow_does_not_list_breaks_the_whole_load(tmp_path):
    """Why `mapping-unknown-task` matters: dagster-airlift fails the code location (KeyError)."""
    result = add_task_mappings(None, "daily_orders", [NewMapping("no_such_task", ("x",))])
    failed = run_loader(tmp_path, result.text, tutorial_airflow())
    assert failed.returncode != 0 and "KeyError: 'no_such_task'" in failed.stderr
