"""``airlift.peer`` through a real LSP client: the Dagster module that peers with the Airflow of
the client's settings, created with the editor's own edit (a ``CreateFile`` where supported)."""

import asyncio
import sys
import textwrap
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from analysis.edits.peer_code import TOKEN_REFUSED
from tests.e2e.editor import Editor, start_session

DAG = """\
from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("orders", start_date=datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="load")
"""


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]),
                    params=["visual-studio-code", "neovim"])
async def client(lsp_client: LanguageClient, request, tmp_path: Path):
    root = tmp_path / "project"
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "orders.py").write_text(DAG, encoding="utf-8")
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)
    # Nothing listens on port 9: the poller's failures stay in the background.
    await start_session(lsp_client, root, request.param, name="project", initialization_options={
        "airflow": {"url": "http://127.0.0.1:9", "username": "ops", "password": "never-written"}})
    yield
    await lsp_client.shutdown_session()


async def peer(client: LanguageClient, **arguments) -> dict:
    """Run ``airlift.peer`` once the workspace is indexed."""
    for _ in range(300):
        result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command="airlift.peer", arguments=[arguments]))
        if "still being indexed" not in (result.get("reason") or ""):
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("the workspace was never indexed")


@pytest.mark.asyncio
async def test_peer_creates_the_module_once_and_refuses_token_auth(client: LanguageClient):
    module = client.root / "definitions.py"
    refused = await peer(client, auth="token")
    assert refused == {"applied": False, "reason": TOKEN_REFUSED, "files": []}
    assert not module.exists()

    result = await peer(client)
    assert result["applied"] and result["files"] == [str(module)], result
    text = module.read_text(encoding="utf-8")
    assert 'webserver_url=os.environ.get("AIRFLOW_URL", "http://127.0.0.1:9"),' in text
    assert 'username=os.environ.get("AIRFLOW_USERNAME", "ops"),' in text
    assert "never-written" not in text and 'password=os.environ["AIRFLOW_PASSWORD"],' in text

    again = await peer(client)
    assert again["applied"] and again["files"] == [] and "already peers with Airflow" in again["reason"]
    assert module.read_text(encoding="utf-8") == text


@pytest.mark.asyncio
async def test_peer_completes_an_open_module_from_its_buffer(client: LanguageClient):
    module = client.root / "definitions.py"
    module.write_text(textwrap.dedent('''\
        from dagster import Definitions

        defs = Definitions(assets=[])
        '''), encoding="utf-8")
    uri = client.editor.open(module)
    result = await peer(client, auth="basic")
    assert result["applied"], result
    text = client.editor.text(uri)
    assert "defs = build_defs_from_airflow_instance(\n    airflow_instance=airflow_instance,\n" in text
    assert text.count("Definitions(") == 1
