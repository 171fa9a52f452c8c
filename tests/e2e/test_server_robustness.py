"""The server when the editor asks about what is not there, or sends back data it tampered with."""

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import TUTORIAL
from tests.e2e.editor import start_session

NEW_DAG = ('from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\n'
           'with DAG(dag_id="brand_new") as dag:\n    EmptyOperator(task_id="fresh_task")\n')


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    lsp_client.root = root

    await start_session(lsp_client, root, "visual-studio-code")
    # Indexed once the tutorial's diagnostics arrive.
    dag = (root / "airflow_dags" / "rebuild_customers_list.py").as_uri()
    await wait_for(lambda: dag in lsp_client.diagnostics)
    yield
    await lsp_client.shutdown_session()


async def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_requests_on_a_document_neither_open_nor_on_disk_answer_empty(client: LanguageClient):
    missing = types.TextDocumentIdentifier((client.root / "airflow_dags" / "missing.py").as_uri())
    missing_state = types.TextDocumentIdentifier(
        (client.root / "airflow_dags" / "proxied_state" / "missing.yaml").as_uri())
    origin = types.Position(0, 0)
    assert await client.text_document_hover_async(types.HoverParams(missing, origin)) is None
    assert await client.text_document_completion_async(types.CompletionParams(missing_state, origin)) is None
    assert await client.text_document_definition_async(types.DefinitionParams(missing_state, origin)) == []
    assert not await client.text_document_code_action_async(types.CodeActionParams(
        missing, types.Range(origin, origin), types.CodeActionContext(diagnostics=[])))


@pytest.mark.asyncio
async def test_resolve_explains_what_is_wrong_with_tampered_data(client: LanguageClient):
    uri = (client.root / "airflow_dags" / "daily_orders.py").as_uri()
    cases = [({"command": "airlift.mapTask", "arguments": "rebuild_customers_list"}, "`arguments` is not an object"),
             ({"command": "airlift.nope", "arguments": {}}, "'airlift.nope' is not an Airlift command"),
             ({"command": "airlift.mapTask", "arguments": {"dag_id": 3}}, "`dag_id` must be a string"),
             ("just a string", "data is not an object")]
    for data, explanation in cases:
        if isinstance(data, dict):
            data = {"uri": uri, "version": None, **data}
        with pytest.raises(JsonRpcException) as error:
            await client.code_action_resolve_async(types.CodeAction(title="tampered", data=data))
        assert explanation in str(error.value), (data, str(error.value))


@pytest.mark.asyncio
async def test_a_dag_file_that_exists_only_as_a_buffer_is_analysed(client: LanguageClient):
    uri = (client.root / "airflow_dags" / "brand_new_dag.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(
        types.TextDocumentItem(uri, "python", 1, NEW_DAG)))
    names: list[str] = []

    async def symbols() -> list[str]:
        found = await client.text_document_document_symbol_async(
            types.DocumentSymbolParams(types.TextDocumentIdentifier(uri))) or []
        return [child.name for symbol in found for child in symbol.children or []]

    deadline = asyncio.get_running_loop().time() + 15
    while "fresh_task" not in names:
        assert asyncio.get_running_loop().time() < deadline, "the new buffer's task never shows"
        await asyncio.sleep(0.05)
        names = await symbols()
