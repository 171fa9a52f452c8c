"""A SubDAG in the editor: its lens says why it cannot be migrated (no command), no code action
is offered on it, and a command sent anyway is refused in one line with nothing written."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.editor import Editor, start_session
from tests.e2e.test_migration_edits import actions_at
from tests.support.round_trip import until
from tests.unit.test_subdags import PARENT, SUBDAG

FILE = "dags/parent.py"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "subdags"
    (root / "dags").mkdir(parents=True)
    (root / FILE).write_text(PARENT, encoding="utf-8")
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, root, "visual-studio-code", name="subdags")
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_a_subdag_offers_no_edit_and_says_why(client: LanguageClient):
    uri = client.editor.open(client.root / FILE)

    async def lenses():
        found = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
        return found if any(lens.command.title.startswith("parent.section") for lens in found) else None

    found = await until(lenses, 30, "the SubDAG's lens")
    [subdag] = [lens for lens in found if lens.command.title.startswith("parent.section")]
    assert subdag.command.title == ("parent.section: SubDAG of `parent` · dagster-airlift proxies only "
                                    "top-level DAGs")
    assert subdag.command.command == ""
    child_lines = range(6, 10)  # def child(...): its DAG and tasks
    assert [lens.range.start.line for lens in found if lens.range.start.line in child_lines] == \
        [subdag.range.start.line]
    assert any(lens.command.command == "airlift.mapDag" for lens in found)  # the parent's, as ever

    assert not await actions_at(client, FILE, "task_id='extract'")
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "airlift.proxyDag", arguments=[{"dag_id": "parent.section"}]))
    assert not result["applied"] and result["reason"] == SUBDAG, result
    assert sorted(p.relative_to(client.root).as_posix() for p in client.root.rglob("*") if p.is_file()) == [FILE]
