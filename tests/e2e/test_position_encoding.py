"""Columns in the client's encoding: UTF-16 by default, UTF-8 when the client offers it."""

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

LINE = '    pair = ("日本😀", EmptyOperator(task_id="t")), EmptyOperator(task_id="t")'
SOURCE = (
    "from airflow.sdk import DAG\n"
    "from airflow.providers.standard.operators.empty import EmptyOperator\n"
    "with DAG('encodings'):\n" + LINE + "\n"
)
SECOND_ID = LINE.rindex('"t"')


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]),
                    params=[None, ["utf-8", "utf-16"]], ids=["default", "utf-8-offered"])
async def client(lsp_client: LanguageClient, request, tmp_path: Path):
    (tmp_path / "enc_dag.py").write_text(SOURCE, encoding="utf-8")
    lsp_client.root = tmp_path
    lsp_client.offered = request.param
    capabilities = types.ClientCapabilities(general=types.GeneralClientCapabilities(
        position_encodings=request.param))
    lsp_client.result = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=capabilities, root_uri=tmp_path.as_uri()))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_ranges_are_in_the_negotiated_encoding(client: LanguageClient):
    uri = (client.root / "enc_dag.py").as_uri()
    for _ in range(200):
        if uri in client.diagnostics:
            break
        await asyncio.sleep(0.05)
    [duplicate] = [d for d in client.diagnostics[uri] if d.code == "duplicate-task-id"]
    prefix = LINE[:SECOND_ID]
    if client.offered:
        assert client.result.capabilities.position_encoding == "utf-8"
        expected = len(prefix.encode("utf-8"))
    else:
        assert client.result.capabilities.position_encoding in (None, "utf-16")
        expected = len(prefix.encode("utf-16-le")) // 2
    assert duplicate.range.start == types.Position(3, expected)
    assert expected != SECOND_ID  # the line really tells the encodings apart
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, SOURCE)))
    first = LINE[:LINE.index('"t"') + 1]
    column = len(first.encode("utf-8")) if client.offered else len(first.encode("utf-16-le")) // 2
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(3, column)))
    assert hover is not None and "`t`" in hover.contents.value
