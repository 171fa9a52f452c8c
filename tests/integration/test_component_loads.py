"""A dagster-airlift component edited by `airlift-lsp map` loads in real Dagster.

The workspace is a minimal `dg` project (``pyproject.toml`` with ``[tool.dg]``, a ``defs/``
folder holding the ``AirflowInstanceComponent``'s ``defs.yaml`` as Dagster's scaffolder writes
it) beside the DAG files. The CLI maps tasks and a whole DAG into that YAML, then the real
``dg`` (dagster-dg-cli 1.13, ``make dagster``) judges it: ``dg check yaml`` validates it against
the component's schema (a broken key shows the check can fail), and against a real Airflow 2.11
(tests/support/airflow2_server.py) ``dg utils refresh-defs-state`` fetches the component's state
and ``dg list defs --json`` lists the mapped assets."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.airflow2_server import Airflow2Server
from tests.support.airflow_server import time_limit

REPO = Path(__file__).resolve().parents[2]
DG = Path(os.environ.get("DAGSTER_VENV") or REPO / ".cache" / "dagster") / "bin" / "dg"
DEFS = Path("src") / "airlift_proj" / "defs" / "airflow" / "defs.yaml"

PYPROJECT = """\
[project]
name = "airlift_proj"
version = "0.0.1"

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "airlift_proj"

[tool.airlift-lsp]
dagFolders = ["airflow_dags"]
"""
DEFINITIONS = """\
from pathlib import Path

from dagster import definitions, load_from_defs_folder


@definitions
def defs():
    return load_from_defs_folder(path_within_project=Path(__file__).parent)
"""
# What `dg scaffold defs dagster_airlift.core.components.AirflowInstanceComponent` writes for
# basic auth (AirflowInstanceScaffolder), with a comment the edits must keep.
COMPONENT = """\
# Peers with the team's Airflow; credentials come from the environment.
type: dagster_airlift.core.components.AirflowInstanceComponent

attributes:
  name: tutorial_airflow
  auth:
    type: basic_auth
    webserver_url: '{{ env("AIRFLOW_WEBSERVER_URL") }}'
    username: '{{ env("AIRFLOW_USERNAME") }}'
    password: '{{ env("AIRFLOW_PASSWORD") }}'
"""
DAGS = {
    "rebuild_customers_list.py": """
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.empty import EmptyOperator

        with DAG("rebuild_customers_list", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
            load = EmptyOperator(task_id="load_raw_customers")
            build = EmptyOperator(task_id="build_dbt_models")
            export = EmptyOperator(task_id="export_customers")
            load >> build >> export
        """,
    "daily_orders.py": """
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.empty import EmptyOperator

        with DAG("daily_orders", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
            EmptyOperator(task_id="extract_orders") >> EmptyOperator(task_id="publish_report")
        """,
}


def dg(project: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    if not DG.exists():
        pytest.fail(f"dg missing at {DG}: remove .cache/dagster/.installed and run `make dagster`")
    environment = {**os.environ, "DAGSTER_HOME": str(project / ".dagster_home"),
                   "PYTHONPATH": str(project / "src"), "VIRTUAL_ENV": str(DG.parent.parent),
                   "PATH": f"{DG.parent}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    (project / ".dagster_home").mkdir(exist_ok=True)
    return subprocess.run([str(DG), *args], cwd=project, capture_output=True, text=True, timeout=300,
                          env=environment)


def make_project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    package = root / "src" / "airlift_proj"
    (package / "defs" / "airflow").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "defs" / "__init__.py").write_text("", encoding="utf-8")
    (package / "definitions.py").write_text(DEFINITIONS, encoding="utf-8")
    (root / DEFS).write_text(COMPONENT, encoding="utf-8")
    dags = root / "airflow_dags"
    dags.mkdir()
    for name, text in DAGS.items():
        (dags / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def map_everything(project: Path) -> str:
    for args in (["map", "rebuild_customers_list", "load_raw_customers"], ["map", "rebuild_customers_list"],
                 ["map", "daily_orders", "--dag-level"]):
        result = run_cli(*args, cwd=project)
        assert result.returncode == 0, result.stderr + result.stdout
        assert "defs.yaml" in result.stderr, result.stderr
    return (project / DEFS).read_text(encoding="utf-8")


def test_mapped_component_passes_dg_check_yaml(tmp_path: Path) -> None:
    project = make_project(tmp_path)
    text = map_everything(project)
    assert text.startswith(COMPONENT), "the edits append; the scaffolded text and comment stay"
    assert "- task_id: export_customers" in text and "key: daily_orders" in text
    again = run_cli("map", "rebuild_customers_list", cwd=project)
    assert again.returncode == 0 and (project / DEFS).read_text(encoding="utf-8") == text
    checked = dg(project, "check", "yaml")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "validated successfully" in checked.stdout + checked.stderr

    # The check can fail: a key written as a list is not the component's schema (a string).
    (project / DEFS).write_text(text.replace("key: daily_orders", "key: [daily, orders]"), encoding="utf-8")
    broken = dg(project, "check", "yaml")
    assert broken.returncode != 0, broken.stdout + broken.stderr


@pytest.mark.airflow
@pytest.mark.slow
def test_mapped_component_loads_against_airflow2(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project")
    map_everything(project)
    server = Airflow2Server(project / "airflow_dags")
    try:
        with time_limit(600, "a component against real Airflow 2"):
            server.start()
            server.wait_for_task_classes("rebuild_customers_list", dict.fromkeys(
                ("load_raw_customers", "build_dbt_models", "export_customers"), "EmptyOperator"), timeout=120)
            server.wait_for_task_classes("daily_orders", dict.fromkeys(
                ("extract_orders", "publish_report"), "EmptyOperator"), timeout=120)
            env = {"AIRFLOW_WEBSERVER_URL": server.url, "AIRFLOW_USERNAME": server.username,
                   "AIRFLOW_PASSWORD": server.password}
            refreshed = dg(project, "utils", "refresh-defs-state", env=env)
            assert refreshed.returncode == 0, refreshed.stdout[-3000:] + refreshed.stderr[-3000:]
            listed = dg(project, "list", "defs", "--json", env=env)
    finally:
        server.stop()
    assert listed.returncode == 0, listed.stdout[-3000:] + listed.stderr[-3000:]
    assets = {a["asset_key"]: a for a in json.loads(listed.stdout)["assets"]}
    expected = {"rebuild_customers_list/load_raw_customers", "rebuild_customers_list/build_dbt_models",
                "rebuild_customers_list/export_customers", "daily_orders"}
    assert expected <= set(assets), sorted(assets)
    assert assets["rebuild_customers_list/export_customers"]["dependency_keys"] == [
        "rebuild_customers_list/build_dbt_models"]
