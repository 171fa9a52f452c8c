"""``airlift.verify`` through a real LSP client: the project's Airflow 2.11 runs in the
background (the server keeps answering), its findings arrive as diagnostics with source
``airlift-verify`` beside the ``airlift`` ones, and the next run replaces them."""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import TUTORIAL, airflow2_python
from tests.e2e.editor import start_session

STATE = "airflow_dags/proxied_state/rebuild_customers_list.yaml"
DAG = "airflow_dags/rebuild_customers_list.py"

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    state = root / STATE  # proxied by hand, while the tutorial's PROXYING = False keeps the hook off
    state.write_text(state.read_text().replace("id: load_raw_customers\n    proxied: false",
                                               "id: load_raw_customers\n    proxied: true"))
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, workspace: Path):
    lsp_client.workspace = workspace

    await start_session(lsp_client, workspace, "visual-studio-code",
                        initialization_options={"airlift": {"airflow": {"python": airflow2_python()}}})
    yield
    await lsp_client.shutdown_session()


def diagnostics(client: LanguageClient, relative: str, source: str) -> list[types.Diagnostic]:
    found = client.diagnostics.get((client.workspace / relative).as_uri(), [])
    return [d for d in found if d.source == source]


async def wait_for(predicate, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_verify_publishes_its_findings_beside_the_airlift_diagnostics(client: LanguageClient) -> None:
    await wait_for(lambda: diagnostics(client, STATE, "airlift"))  # the index is up
    airlift_before = diagnostics(client, STATE, "airlift")

    started = time.monotonic()
    running = asyncio.ensure_future(client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="airlift.verify")))
    symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="rebuild"))
    assert symbols and not running.done()  # answered while Airflow is still loading the DAGs
    assert time.monotonic() - started < 2
    result = await running
    assert result["ok"] and result["findings"] == 1, result
    assert result["summary"]["proxying_checked"] and result["airflowVersion"] == "2.11.2"
    [reports] = [r for token, r in client.progress_reports.items() if str(token).startswith("airlift-verify-")]
    assert [type(r).__name__ for r in reports] == ["WorkDoneProgressBegin", "WorkDoneProgressEnd"]

    [finding] = diagnostics(client, DAG, "airlift-verify")
    assert finding.code == "verify-not-proxied"
    assert "its `proxying_to_dagster` call is switched off" in finding.message
    assert finding.range.start.line == 32  # the load_raw_customers task
    assert diagnostics(client, STATE, "airlift") == airlift_before  # untouched by the other source

    state = client.workspace / STATE
    state.write_text(state.read_text().replace("id: load_raw_customers\n    proxied: true",
                                               "id: load_raw_customers\n    proxied: false"))
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="airlift.verify"))
    assert result["ok"] and result["findings"] == 0, result
    await wait_for(lambda: not diagnostics(client, DAG, "airlift-verify"))


@pytest.mark.asyncio
async def test_verify_without_an_interpreter_says_how_to_set_one(client: LanguageClient, workspace: Path) -> None:
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(settings={"airlift": {}}))
    await asyncio.sleep(0.3)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(command="airlift.verify"))
    assert result["ok"] is False and "no Airflow interpreter to verify with" in result["error"]
    await wait_for(lambda: any("Airlift verify: no Airflow interpreter" in m.message
                               for m in client.messages))
