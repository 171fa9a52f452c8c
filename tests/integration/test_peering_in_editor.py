"""Pointed at a real Airflow 3, the editor shows live state: the status notification, run
history in hovers, state in lenses, the migration report; and the CLI's `status --json`."""

import asyncio
import json
import os
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import TUTORIAL, run_cli
from tests.e2e.editor import start_session
from tests.support.airflow_server import time_limit

pytestmark = [pytest.mark.airflow, pytest.mark.slow]
DAG = "airflow_dags/rebuild_customers_list.py"


@pytest.fixture(autouse=True)
def bounded():
    with time_limit(240, "a real-Airflow editor test"):
        yield


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, workspace: Path, airflow_server, finished_runs):
    lsp_client.statuses = []

    @lsp_client.feature("airlift/status")
    def status(params):
        lsp_client.statuses.append(params)

    lsp_client.root = workspace
    lsp_client.airflow = airflow_server
    await start_session(lsp_client, workspace, "visual-studio-code",
                        initialization_options={"statusNotifications": True, "airlift": {"airflow": {
                            "url": airflow_server.url, "username": airflow_server.username,
                            "password": airflow_server.password, "pollInterval": 2}}})
    yield
    await lsp_client.shutdown_session()


async def until(predicate, timeout: float = 60.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.2)


def point_at(workspace: Path, url: str) -> None:
    """The workspace's pyproject names the Airflow (it wins over AIRFLOW_URL, as settings do)."""
    pyproject = workspace / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("http://127.0.0.1:8080", url))


def field(params, name):
    return params[name] if isinstance(params, dict) else getattr(params, name)


@pytest.mark.asyncio
async def test_live_state_in_status_hover_lenses_and_report(client: LanguageClient):
    async def connected():
        return any(field(s, "state") == "connected" for s in client.statuses)
    await until(connected)
    uri = (client.root / DAG).as_uri()
    text = (client.root / DAG).read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    line = next(i for i, l in enumerate(text.splitlines()) if 'task_id="build_dbt_models"' in l)
    position = types.Position(line, text.splitlines()[line].index("build_dbt_models"))

    hover_text = {}

    async def hover_has_runs():
        hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), position))
        hover_text["value"] = hover.contents.value if hover else ""
        return "success" in hover_text["value"]
    await until(hover_has_runs)
    assert client.airflow.url in hover_text["value"]  # a link to the task in the Airflow UI
    assert client.airflow.password not in hover_text["value"]

    async def lens_has_state():
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
        return any(lens.command.title.startswith("✓ success") for lens in lenses)
    await until(lens_has_state)

    report = await client.workspace_execute_command_async(types.ExecuteCommandParams("airlift.migrationReport"))
    row = next(r for r in report["dags"] if r["dag_id"] == "rebuild_customers_list")
    assert row["last_run"]["state"] == "success" and report["airflow"]["reachable"] is True


@pytest.mark.asyncio
async def test_wrong_password_is_one_clear_status(workspace: Path, airflow_server, finished_runs):
    point_at(workspace, airflow_server.url)
    env = {**os.environ, "AIRFLOW_USERNAME": airflow_server.username, "AIRFLOW_PASSWORD": "not-the-password"}
    result = run_cli("status", "--json", cwd=workspace, env=env)
    assert result.returncode == 0, result.stderr
    airflow = json.loads(result.stdout)["airflow"]
    assert airflow["reachable"] is False and "authentication" in airflow["error"].lower()
    assert "not-the-password" not in result.stdout + result.stderr


def test_status_json_with_live_runs(workspace: Path, airflow_server, finished_runs):
    point_at(workspace, airflow_server.url)
    env = {**os.environ, "AIRFLOW_PASSWORD": airflow_server.password}
    result = run_cli("status", "--json", cwd=workspace, env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["airflow"] == {"url": airflow_server.url, "api_version": "v2", "reachable": True, "error": None}
    dag = next(d for d in data["dags"] if d["dag_id"] == "rebuild_customers_list")
    assert dag["file"] == "airflow_dags/rebuild_customers_list.py"
    assert set(dag["last_run"]) == {"run_id", "state", "start_date", "end_date"}
    assert dag["last_run"]["state"] == "success"
    tasks = {t["task_id"]: t for t in dag["tasks"]}
    assert tasks["build_dbt_models"]["assets"] == ["customers"]
    assert tasks["build_dbt_models"]["proxied"] is False
    assert tasks["build_dbt_models"]["last_run"]["state"] == "success"
