"""Issue 16 in the editor (VS Code's capabilities over stdio): the `no-scaffold` note arrives as
an Information diagnostic at the task's call, hover says why a task has nothing to migrate, its
lens offers no step, and the migration report counts it as done."""

import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import FIXTURES
from tests.e2e.editor import Editor, start_session
from tests.support.round_trip import until

NOTE = "no scaffold for `LoadWarehouseOperator`: port by hand (or port the class once: `AIRFLOW_OPERATOR_PORTS`)"

DAG = "airflow_dags/warehouse.py"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "warehouse"
    shutil.copytree(FIXTURES / "nothing_to_migrate", root)
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, root, "visual-studio-code", name="warehouse")
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_note_hover_lens_and_report(client: LanguageClient):
    uri = client.editor.open(client.root / DAG)
    lines = (client.root / DAG).read_text().splitlines()
    load = next(i for i, line in enumerate(lines) if "LoadWarehouseOperator(task_id" in line)
    start = next(i for i, line in enumerate(lines) if 'EmptyOperator(task_id="start")' in line)

    async def notes():
        found = [d for d in client.diagnostics.get(uri, []) if d.code == "no-scaffold"]
        return found or None

    [note] = await until(notes, 20, "the no-scaffold note")
    assert note.severity == types.DiagnosticSeverity.Information and note.source == "airlift"
    assert note.message == NOTE
    assert note.range.start == types.Position(load, 11)

    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(start, lines[start].index("start") + 1)))
    assert "nothing to migrate" in hover.contents.value and "runs nothing" in hover.contents.value
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(load, lines[load].index("load") + 1)))
    assert "no scaffold: port by hand" in hover.contents.value

    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
    [start_lens] = [lens for lens in lenses if lens.range.start.line == start]
    assert start_lens.command.title == "nothing to migrate" and not start_lens.command.command
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(start, 6), types.Position(start, 6)),
        types.CodeActionContext(diagnostics=[])))
    assert not [a for a in actions if "Proxy `start`" in a.title]

    report = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="airlift.migrationReport", arguments=[]))
    [row] = report["dags"]
    assert (row["tasks"], row["mapped"], row["proxied"]) == (7, 4, 4)
