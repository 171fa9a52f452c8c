"""Proxying on Airflow 3: the edit is made (the DAG file parses there, see
tests/integration/test_round_trip_airflow3.py) with a warning that dagster-airlift's Dagster side
cannot peer with Airflow 3 yet, so the proxied task's run would have nothing to launch — when the
Dagster module peers. A plain ``Definitions`` with airlift's task mappings runs the proxied task
on Airflow 3 (tests/integration/test_switches_live_airflow3.py): no warning then."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from analysis.edits.peer_code import AIRFLOW3_PROXY_WARNING
from analysis.project import Layout
from server.features.commands import plan_command
from server.index import WorkspaceIndex
from server.settings import AirflowSettings, Settings
from tests.conftest import TUTORIAL, run_cli

DAG, TASK = "rebuild_customers_list", "load_raw_customers"


@pytest.fixture
def tutorial(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    return root


def configure(root: Path, api_version: str) -> None:
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8").replace(
        'airflow = { url = "http://127.0.0.1:8080", username = "admin" }',
        f'airflow = {{ url = "http://127.0.0.1:9", username = "admin", apiVersion = "{api_version}" }}')
    assert text != pyproject.read_text(encoding="utf-8")
    pyproject.write_text(text, encoding="utf-8")


def env() -> dict:
    return {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "DAGSTER_"))}


@pytest.mark.parametrize("api_version, warned", [("v2", True), ("v1", False), ("auto", False)])
def test_the_cli_proxies_and_warns_on_an_airflow_configured_as_airflow_3(tutorial, api_version, warned):
    configure(tutorial, api_version)
    result = run_cli("proxy", DAG, TASK, cwd=tutorial, env=env())
    assert result.returncode == 0, result.stderr
    state = (tutorial / "airflow_dags" / "proxied_state" / f"{DAG}.yaml").read_text(encoding="utf-8")
    assert f"id: {TASK}\n    proxied: true" in state
    assert ("warning: " + AIRFLOW3_PROXY_WARNING in result.stderr) is warned, result.stderr


def test_the_cli_says_nothing_of_airflow_3_when_nothing_is_proxied(tutorial):
    configure(tutorial, "v2")
    assert run_cli("proxy", DAG, TASK, cwd=tutorial, env=env()).returncode == 0
    again = run_cli("proxy", DAG, TASK, cwd=tutorial, env=env())
    assert again.returncode == 0 and "Airflow 3" not in again.stderr, again.stderr


@pytest.mark.parametrize("configured, polled, warned", [
    ("auto", "v2", True), ("v2", None, True), ("auto", "v1", False), ("auto", None, False)])
def test_the_editor_commands_warn_from_the_setting_or_what_the_poller_met(tutorial, configured, polled, warned):
    """The handler never asks the network: the setting, else the poller's last answer."""
    index = WorkspaceIndex(Layout(str(tutorial), ("airflow_dags",), "tutorial_dagster/definitions.py"))
    index.rebuild()
    ls = SimpleNamespace(index=index, buffers={}, dagster=None,
                         settings=Settings(airflow=AirflowSettings(url="http://airflow.test", api_version=configured)),
                         poller=SimpleNamespace(status=SimpleNamespace(api_version=polled)))
    plan = plan_command(ls, "airlift.proxyTask", {"dag_id": DAG, "task_id": TASK}).plan
    assert plan.changes
    assert (AIRFLOW3_PROXY_WARNING in plan.notes) is warned, plan.notes


PLAIN_MODULE = """from dagster import AssetSpec, Definitions
from dagster_airlift.core import assets_with_task_mappings

defs = Definitions(assets=[*assets_with_task_mappings(dag_id="rebuild_customers_list", task_mappings={
    "load_raw_customers": [AssetSpec(key=["raw_data", "raw_customers"])]})])
"""


def test_no_airflow_3_warning_when_the_dagster_module_does_not_peer(tutorial):
    """The proxy operator only talks to Dagster's GraphQL: without build_defs_from_airflow_instance
    the module loads beside an Airflow 3, and the proxied task runs."""
    configure(tutorial, "v2")
    (tutorial / "tutorial_dagster" / "definitions.py").write_text(PLAIN_MODULE, encoding="utf-8")
    index = WorkspaceIndex(Layout(str(tutorial), ("airflow_dags",), "tutorial_dagster/definitions.py"))
    index.rebuild()
    ls = SimpleNamespace(index=index, buffers={}, dagster=None,
                         settings=Settings(airflow=AirflowSettings(url="http://airflow.test", api_version="v2")),
                         poller=SimpleNamespace(status=SimpleNamespace(api_version="v2")))
    plan = plan_command(ls, "airlift.proxyTask", {"dag_id": DAG, "task_id": TASK}).plan
    assert plan.changes and AIRFLOW3_PROXY_WARNING not in plan.notes, plan.notes
    result = run_cli("proxy", DAG, TASK, cwd=tutorial, env=env())
    assert result.returncode == 0, result.stderr
    assert f"id: {TASK}\n    proxied: true" in (tutorial / "airflow_dags" / "proxied_state" / f"{DAG}.yaml").read_text()
    assert "Airflow 3" not in result.stderr, result.stderr
