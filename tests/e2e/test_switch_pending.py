"""A switch made by a code action (the editor applies the resolved edit itself: the server only
sees the state file change) is followed like a command's: the task's lens and hover say
"proxy pending", and the next switch (a rollback) replaces it. Airflow is configured but down
here, so nothing goes live; tests/integration/test_switches_live_airflow3.py has the real one."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import TUTORIAL
from tests.e2e.editor import Editor, start_session
from tests.e2e.test_migration_edits import actions_at, apply_action
from tests.support.airflow_server import free_port
from tests.support.round_trip import DAG, DAG_ID, hover_of_task, index_shows, until

TASK = "load_raw_customers"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root, ignore=shutil.ignore_patterns("__pycache__", ".data"))
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, root, "visual-studio-code", initialization_options={"airlift": {"airflow": {
        "url": f"http://127.0.0.1:{free_port()}", "apiVersion": "v2", "pollInterval": 1}}})
    yield
    await lsp_client.shutdown_session()


async def task_lens(client: LanguageClient) -> str:
    uri = (client.root / DAG).as_uri()
    lines = client.editor.text(uri).splitlines()
    line = next(i for i, text in enumerate(lines) if f'task_id="{TASK}"' in text)
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
    titles = [lens.command.title for lens in lenses if abs(lens.range.start.line - line) <= 1
              and f"{DAG_ID}/" not in lens.command.title]
    assert len(titles) == 1, [(lens.range.start.line, lens.command.title) for lens in lenses]
    return titles[0]


@pytest.mark.asyncio
async def test_code_action_switches_are_pending(client: LanguageClient):
    client.editor.open(client.root / DAG)
    await index_shows(client, "indexing", mapped=2, proxied=0)
    assert "pending" not in await task_lens(client)

    [proxy] = [a for a in await actions_at(client, DAG, f'"{TASK}"') if a.title.startswith(f"Proxy `{TASK}`")]
    await apply_action(client, proxy)
    await index_shows(client, "the proxy code action", proxied=1)
    lens = await until(lambda: _with(client, "proxy pending"), 15, "the lens to say proxy pending")
    assert lens.startswith("proxy pending · "), lens
    [line] = [line for line in (await hover_of_task(client, TASK)).splitlines() if line.startswith("Switch: ")]
    assert line.startswith("Switch: proxy pending (switched at "), line

    # Typing in the DAG file switches nothing; a rollback replaces the pending proxy.
    uri = (client.root / DAG).as_uri()
    client.editor.type(uri, client.editor.text(uri) + "\n# a comment\n")
    [rollback] = [a for a in await actions_at(client, DAG, f'"{TASK}"') if a.title.startswith(f"Roll back `{TASK}`")]
    await apply_action(client, rollback)
    await index_shows(client, "the rollback code action", proxied=0)
    lens = await until(lambda: _with(client, "rollback pending"), 15, "the lens to say rollback pending")
    assert "proxy pending" not in lens


async def _with(client: LanguageClient, text: str) -> str | None:
    lens = await task_lens(client)
    return lens if text in lens else None
