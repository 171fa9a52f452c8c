"""DAGs known from the peered Airflow: those the static model misses (or reads in part) join the
project, tied to their file by ``fileloc``, and can be mapped, proxied and rolled back through
the state YAML and the Dagster module only."""

from pathlib import Path

import pytest

from analysis.checks import check_project
from analysis.deployed import DeployedDag, DeployedTask, file_for
from analysis.files import read_disk
from analysis.plans import Refused, plan_map, plan_proxy, plan_rollback
from analysis.project import Layout, discover, link

# Built through a package that is not in the workspace: static reading cannot follow it.
OPAQUE = ('"""An Airflow DAG made by a vendor library."""\n'
          "from vendor_factory import build\n\n"
          "dag = build('vendor_orders')\n")
HOOKED = OPAQUE + ("from pathlib import Path\n"
                   "from dagster_airlift.in_airflow import proxying_to_dagster\n"
                   "from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml\n"
                   "proxying_to_dagster(global_vars=globals(),\n"
                   "                    proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / 'proxied_state'))\n")
DEPLOYED = DeployedDag("vendor_orders", "/opt/airflow/dags/vendor/orders.py", (
    DeployedTask("extract", "PythonOperator", ("load",)),
    DeployedTask("load", "PythonOperator", ()),
), version="2026-12-01T00:00:00")


def read(path: str) -> str | None:
    return read_disk(path).text


def project_with(root: Path, text: str, deployed=(DEPLOYED,)):
    (root / "dags" / "vendor").mkdir(parents=True)
    (root / "dags" / "vendor" / "orders.py").write_text(text)
    project = discover(Layout(str(root), ("dags",)))
    project.deployed = tuple(deployed)
    link(project)
    return project


def test_fileloc_finds_the_workspace_file_by_its_longest_tail(tmp_path: Path) -> None:
    files = [str(tmp_path / "dags" / "vendor" / "orders.py"), str(tmp_path / "dags" / "orders.py")]
    assert file_for("/opt/airflow/dags/vendor/orders.py", files, [str(tmp_path / "dags")]) == files[0]
    assert file_for("/elsewhere/x.py", files, [str(tmp_path / "dags")]) is None


def test_a_deployed_dag_the_model_misses_joins_the_project(tmp_path: Path) -> None:
    project = project_with(tmp_path, OPAQUE)
    entry = project.entry("vendor_orders")
    assert entry is not None and entry.dag.source == "airflow"
    assert [(t.task_id, t.upstream) for t in entry.dag.tasks] == [("extract", ()), ("load", ("extract",))]
    assert entry.file.path.endswith("vendor/orders.py")


def test_it_is_mapped_and_proxied_through_yaml_only_once_the_file_has_the_hook(tmp_path: Path) -> None:
    project = project_with(tmp_path, OPAQUE)
    mapped = plan_map(project, read, "vendor_orders")
    assert [c.path.endswith("definitions.py") for c in mapped.changes] == [True]
    Path(mapped.changes[0].path).write_text(mapped.changes[0].new_text)
    project = discover(Layout(str(tmp_path), ("dags",)))
    project.deployed = (DEPLOYED,)
    link(project)
    with pytest.raises(Refused, match="add the proxying_to_dagster hook to orders.py by hand"):
        plan_proxy(project, read, "vendor_orders", ["extract"])


def test_with_the_hook_proxy_and_rollback_write_the_state_file_alone(tmp_path: Path) -> None:
    project = project_with(tmp_path, HOOKED)
    for change in plan_map(project, read, "vendor_orders").changes:
        Path(change.path).write_text(change.new_text)
    project = discover(Layout(str(tmp_path), ("dags",)))
    project.deployed = (DEPLOYED,)
    link(project)
    plan = plan_proxy(project, read, "vendor_orders", ["extract"])
    assert [Path(c.path).name for c in plan.changes] == ["vendor_orders.yaml"]
    assert "- id: extract\n    proxied: true" in plan.changes[0].new_text
    Path(plan.changes[0].path).parent.mkdir(exist_ok=True)
    Path(plan.changes[0].path).write_text(plan.changes[0].new_text)
    project = discover(Layout(str(tmp_path), ("dags",)))
    project.deployed = (DEPLOYED,)
    link(project)
    assert "proxied: false" in plan_rollback(project, read, "vendor_orders").changes[0].new_text


def test_a_local_file_that_differs_from_the_deployed_dag_says_so(tmp_path: Path) -> None:
    text = ("from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
            "with DAG('vendor_orders') as dag:\n    EmptyOperator(task_id='extract')\n    EmptyOperator(task_id='new')\n")
    project = project_with(tmp_path, text)
    [finding] = [f for f in check_project(project) if "differs from the DAG" in f.message]
    assert finding.code == "unrecognized-dag-file" and "`new`" in finding.message and "`load`" in finding.message
    assert project.entry("vendor_orders").dag.source == "static"
