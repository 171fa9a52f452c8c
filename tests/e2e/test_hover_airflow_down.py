"""Hover with Airflow down (issue 17, item 7): it says Airflow is unreachable and claims nothing
about runs it could not see ("No runs in Airflow yet" would be a guess)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from server.peering import DagRun, PeeringStatus, RunHistory
from server.peering.present import hover_section
from tests.conftest import TUTORIAL
from tests.e2e.editor import start_session

DAG = "airflow_dags/rebuild_customers_list.py"
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


URL = f"http://127.0.0.1:{closed_port()}"


def test_an_unreachable_airflow_claims_no_runs_it_did_not_see() -> None:
    down = PeeringStatus("unreachable", URL, None, NOW, f"connection to Airflow at {URL} failed: "
                         "connection refused", "connection")
    for task_id in ("load_raw_customers", None):
        section = hover_section(RunHistory(), down, "rebuild_customers_list", task_id, True, NOW)
        assert "Airflow: unreachable" in section and "No runs" not in section
    # Runs seen before the connection broke stay, under the note.
    seen = RunHistory(dag_runs={"rebuild_customers_list": (
        DagRun("rebuild_customers_list", "manual__1", "success", None, NOW, NOW, NOW),)})
    section = hover_section(seen, down, "rebuild_customers_list", None, True, NOW)
    assert "Airflow: unreachable" in section and "manual__1" in section


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace("http://127.0.0.1:8080", URL))
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, workspace: Path):
    lsp_client.workspace = workspace

    await start_session(lsp_client, workspace, "visual-studio-code")
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_hover_over_a_task_says_unreachable_and_nothing_about_runs(client: LanguageClient):
    path = client.workspace / DAG
    text = path.read_text()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        path.as_uri(), "python", 1, text)))
    line = next(n for n, row in enumerate(text.splitlines()) if 'task_id="load_raw_customers"' in row)
    column = text.splitlines()[line].index("load_raw_customers") + 2
    value = ""
    deadline = asyncio.get_running_loop().time() + 60
    while "unreachable" not in value:
        assert asyncio.get_running_loop().time() < deadline, value
        hover = await client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(path.as_uri()), types.Position(line, column)))
        value = hover.contents.value if hover is not None else ""
        await asyncio.sleep(0.3)
    assert "load_raw_customers" in value and URL in value
    assert "No runs" not in value
