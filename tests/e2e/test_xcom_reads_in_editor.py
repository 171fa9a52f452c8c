"""XCom readers in the editor (VS Code's capabilities over stdio): the lens of a task whose XCom
a task still run by Airflow reads says who reads it and offers no proxy, no code action proxies
it, a command sent anyway is refused in one line with nothing written, and once its reader is
proxied (from the lens), the task's own lens offers the proxy."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import FIXTURES
from tests.e2e.editor import Editor, start_session
from tests.e2e.test_migration_edits import actions_at
from tests.support.round_trip import until

DAG = "airflow_dags/orders.py"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "xcom"
    shutil.copytree(FIXTURES / "xcom_reads", root)
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, root, "visual-studio-code", name="xcom")
    yield
    await lsp_client.shutdown_session()


async def lens_of(client: LanguageClient, uri: str, line: int, wanted: str) -> types.CodeLens:
    async def found():
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
        at = [lens for lens in lenses if lens.range.start.line == line and wanted in lens.command.title]
        return at or None

    return (await until(found, 30, f"a lens with {wanted!r}"))[0]


@pytest.mark.asyncio
async def test_a_task_whose_reader_stays_in_airflow_is_not_offered_for_proxying(client: LanguageClient):
    uri = client.editor.open(client.root / DAG)
    lines = (client.root / DAG).read_text().splitlines()
    call = next(i for i, line in enumerate(lines) if "load(transform(extract()))" in line)
    await lens_of(client, uri, call, "")  # indexed
    mapped = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "airlift.mapDag", arguments=[{"dag_id": "orders"}]))
    assert mapped["applied"], mapped

    lens = await lens_of(client, uri, call, "`transform` reads its XCom")
    assert lens.command.title.endswith("`transform` reads its XCom: proxy it first"), lens.command.title
    assert lens.command.command == ""
    assert not [a for a in await actions_at(client, DAG, "extract()))") if "Proxy `extract`" in a.title]
    state = client.root / "airflow_dags" / "proxied_state"
    before = sorted(p.relative_to(client.root).as_posix() for p in client.root.rglob("*") if p.is_file())
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        "airlift.proxyTask", arguments=[{"dag_id": "orders", "task_id": "extract"}]))
    assert not result["applied"] and result["reason"].startswith(
        "proxying `extract` would hand `transform` None at run time"), result
    assert "\n" not in result["reason"] and not state.exists()
    assert sorted(p.relative_to(client.root).as_posix() for p in client.root.rglob("*") if p.is_file()) == before

    for task_id in ("notify", "audit", "report", "load", "transform"):
        done = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            "airlift.proxyTask", arguments=[{"dag_id": "orders", "task_id": task_id}]))
        assert done["applied"], done
    lines = client.editor.text(uri).splitlines()  # the proxying hook's imports moved the call
    call = next(i for i, line in enumerate(lines) if "load(transform(extract()))" in line)
    lens = await lens_of(client, uri, call, "Proxy")
    assert lens.command.command == "airlift.proxyTask" and "reads its XCom" not in lens.command.title
