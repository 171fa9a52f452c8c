"""The server over stdio, driven by pytest-lsp with real clients' capability profiles."""

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from tests.conftest import TUTORIAL

CLIENTS = ["visual-studio-code", "neovim", "emacs"]
DAG = "airflow_dags/rebuild_customers_list.py"
STATE = "airflow_dags/proxied_state/rebuild_customers_list.yaml"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]),
                    params=CLIENTS)
async def client(lsp_client: LanguageClient, request, workspace: Path):
    params = types.InitializeParams(
        capabilities=client_capabilities(request.param),
        root_uri=workspace.as_uri(),
        workspace_folders=[types.WorkspaceFolder(workspace.as_uri(), "tutorial")],
        initialization_options={"airlift": {"unknownThing": 1}},
    )
    lsp_client.workspace = workspace
    lsp_client.lens_refreshes = 0
    lsp_client.registrations = []

    # pytest-lsp's client answers these with "method not found"; the real editors do not.
    @lsp_client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def code_lens_refresh(params):
        lsp_client.lens_refreshes += 1

    @lsp_client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams):
        lsp_client.registrations.extend(r.method for r in params.registrations)

    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


async def wait_for(predicate, timeout: float = 15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.05)


def uri(client: LanguageClient, relative: str) -> str:
    return (client.workspace / relative).as_uri()


def open_document(client: LanguageClient, relative: str, language: str = "python") -> str:
    path = client.workspace / relative
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        path.as_uri(), language, 1, path.read_text())))
    return path.as_uri()


def position_of(client: LanguageClient, relative: str, needle: str, offset: int = 1) -> types.Position:
    for number, line in enumerate((client.workspace / relative).read_text().splitlines()):
        if needle in line:
            return types.Position(number, line.index(needle) + offset)
    raise AssertionError(needle)


@pytest.mark.asyncio
async def test_diagnostics_arrive_for_the_workspace_and_settings_are_warned_once(client: LanguageClient):
    dag_uri = uri(client, DAG)
    await wait_for(lambda: dag_uri in client.diagnostics)
    codes = sorted(d.code for d in client.diagnostics[dag_uri])
    assert codes == ["missing-proxying-call", "unmapped-task"]
    assert all(d.source == "airlift" for d in client.diagnostics[dag_uri])
    [unmapped] = [d for d in client.diagnostics[dag_uri] if d.code == "unmapped-task"]
    assert "export_customers" in unmapped.message
    warnings = [m.message for m in client.messages if "unknownThing" in m.message]
    assert len(warnings) == 1


@pytest.mark.asyncio
async def test_hover_on_variable_id_and_call(client: LanguageClient):
    dag_uri = open_document(client, DAG)
    await wait_for(lambda: dag_uri in client.diagnostics)
    for needle in (">> run_dbt_model", '"build_dbt_models"', "BashOperator("):
        offset = 4 if needle.startswith(">>") else 2
        hover = await client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(dag_uri), position_of(client, DAG, needle, offset)))
        assert hover is not None, needle
        assert "build_dbt_models" in hover.contents.value and "BashOperator" in hover.contents.value
        assert "customers" in hover.contents.value  # the mapped asset
    wants_markdown = types.MarkupKind.Markdown in (
        getattr(client.capabilities.text_document.hover, "content_format", None) or [types.MarkupKind.Markdown])
    assert hover.contents.kind == (types.MarkupKind.Markdown if wants_markdown else types.MarkupKind.PlainText)


@pytest.mark.asyncio
async def test_lenses_symbols_and_workspace_symbols(client: LanguageClient):
    dag_uri = open_document(client, DAG)
    await wait_for(lambda: dag_uri in client.diagnostics)
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(dag_uri)))
    titles = [lens.command.title for lens in lenses]
    assert "rebuild_customers_list: 2/3 tasks mapped · 0 proxied" in titles
    assert "observed → customers · Proxy to Dagster" in titles
    assert "unmapped · Map to a Dagster asset" in titles
    assert {lens.command.command for lens in lenses} >= {"airlift.mapDag", "airlift.proxyTask", "airlift.mapTask"}
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(dag_uri)))
    assert [(s.name, [c.name for c in s.children]) for s in symbols] == [
        ("rebuild_customers_list", ["load_raw_customers", "build_dbt_models", "export_customers"])]
    found = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="clean"))
    assert [(s.name, s.container_name) for s in found] == [("transform.clean_orders", "daily_orders")]


@pytest.mark.asyncio
async def test_definition_and_completion_in_the_state_file(client: LanguageClient):
    state_uri = open_document(client, STATE, "yaml")
    await wait_for(lambda: uri(client, DAG) in client.diagnostics)
    locations = await client.text_document_definition_async(types.DefinitionParams(
        types.TextDocumentIdentifier(state_uri), position_of(client, STATE, "export_customers")))
    [location] = locations
    assert location.uri == uri(client, DAG)
    line = (client.workspace / DAG).read_text().splitlines()[location.range.start.line]
    assert '"export_customers"' in line
    text = (client.workspace / STATE).read_text() + "  - id: exp"
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=state_uri, version=2),
        [types.TextDocumentContentChangeWholeDocument(text)]))
    last = len(text.splitlines()) - 1
    completion = await client.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(state_uri), types.Position(last, len("  - id: exp"))))
    labels = [item.label for item in completion.items]
    assert labels == ["load_raw_customers", "build_dbt_models", "export_customers"]


@pytest.mark.asyncio
async def test_edits_update_diagnostics_and_broken_files_keep_navigation(client: LanguageClient):
    dag_uri = open_document(client, DAG)
    await wait_for(lambda: dag_uri in client.diagnostics)
    source = (client.workspace / DAG).read_text()
    duplicated = source.replace("    load_raw_customers >> run_dbt_model",
                                '    EmptyCopy = BashOperator(task_id="export_customers", bash_command="x")\n'
                                "    load_raw_customers >> run_dbt_model")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=dag_uri, version=2), [types.TextDocumentContentChangeWholeDocument(duplicated)]))
    await wait_for(lambda: any(d.code == "duplicate-task-id" for d in client.diagnostics.get(dag_uri, [])))
    broken = source.replace("catchup=False,", "catchup=False,,")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=dag_uri, version=3), [types.TextDocumentContentChangeWholeDocument(broken)]))
    await wait_for(lambda: [d.code for d in client.diagnostics.get(dag_uri, [])] == ["syntax-error"])
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(types.TextDocumentIdentifier(dag_uri)))
    assert [s.name for s in symbols] == ["rebuild_customers_list"]  # last good facts


@pytest.mark.asyncio
async def test_progress_is_reported_when_the_client_supports_it(client: LanguageClient):
    await wait_for(lambda: uri(client, DAG) in client.diagnostics)
    supported = bool(getattr(client.capabilities.window, "work_done_progress", False))
    reports = [r for values in client.progress_reports.values() for r in values]
    if supported:
        await wait_for(lambda: any(isinstance(r, types.WorkDoneProgressEnd)
                                   for values in client.progress_reports.values() for r in values))
        kinds = [type(r).__name__ for values in client.progress_reports.values() for r in values]
        assert kinds[0] == "WorkDoneProgressBegin" and kinds[-1] == "WorkDoneProgressEnd"
    else:
        assert reports == []


@pytest.mark.asyncio
async def test_refresh_and_watchers_only_when_the_client_has_them(client: LanguageClient):
    await wait_for(lambda: uri(client, DAG) in client.diagnostics)
    await asyncio.sleep(0.2)
    workspace_caps = client.capabilities.workspace
    refresh = bool(workspace_caps and workspace_caps.code_lens and workspace_caps.code_lens.refresh_support)
    assert (client.lens_refreshes > 0) == refresh
    dynamic = bool(workspace_caps and workspace_caps.did_change_watched_files
                   and workspace_caps.did_change_watched_files.dynamic_registration)
    assert (types.WORKSPACE_DID_CHANGE_WATCHED_FILES in client.registrations) == dynamic


@pytest.mark.asyncio
async def test_files_changed_on_disk_are_reread_unless_open(client: LanguageClient):
    state = client.workspace / STATE
    await wait_for(lambda: uri(client, DAG) in client.diagnostics)
    state.write_text(state.read_text() + "  - id: ghost_task\n    proxied: false\n")
    client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
        [types.FileEvent(state.as_uri(), types.FileChangeType.Changed)]))
    await wait_for(lambda: any(d.code == "unknown-task-in-state" for d in client.diagnostics.get(state.as_uri(), [])))


@pytest.mark.asyncio
async def test_completion_of_dag_and_task_ids_in_the_dagster_module(client: LanguageClient):
    await wait_for(lambda: uri(client, DAG) in client.diagnostics)
    relative = "tutorial_dagster/definitions.py"
    module_uri = open_document(client, relative)
    source = (client.workspace / relative).read_text()
    anchor = '"build_dbt_models": ['
    typed = source.replace(anchor, '"exp": [],\n            ' + anchor, 1)
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        types.VersionedTextDocumentIdentifier(uri=module_uri, version=2),
        [types.TextDocumentContentChangeWholeDocument(typed)]))
    line = next(n for n, text in enumerate(typed.splitlines()) if '"exp": [],' in text)
    column = typed.splitlines()[line].index('"exp"') + 4
    completion = await client.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(module_uri), types.Position(line, column)))
    assert [item.label for item in completion.items] == [
        "load_raw_customers", "build_dbt_models", "export_customers"]
    assert completion.items[2].detail.endswith("unmapped")
    line_of_dag_id = next(n for n, text in enumerate(typed.splitlines()) if 'dag_id="rebuild' in text)
    column = typed.splitlines()[line_of_dag_id].index('dag_id="') + len('dag_id="')
    completion = await client.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(module_uri), types.Position(line_of_dag_id, column)))
    assert sorted(item.label for item in completion.items) == ["daily_orders", "rebuild_customers_list"]


@pytest.mark.asyncio
async def test_a_failing_request_is_answered_with_an_error_and_the_server_stays_up(client: LanguageClient):
    await wait_for(lambda: uri(client, DAG) in client.diagnostics)
    missing = (client.workspace / "airflow_dags" / "gone.py").as_uri()
    # A document neither open nor on disk has nothing to hover: an answer, not an error.
    assert await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(missing), types.Position(0, 0))) is None
    with pytest.raises(JsonRpcException, match="data is not an object"):
        await client.code_action_resolve_async(types.CodeAction(title="tampered", data="not an object"))
    dag_uri = open_document(client, DAG)
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(dag_uri), position_of(client, DAG, '"build_dbt_models"', 2)))
    assert hover is not None


@pytest.mark.asyncio
async def test_settings_changes_reindex_the_workspace(client: LanguageClient):
    dag_uri = uri(client, DAG)
    await wait_for(lambda: dag_uri in client.diagnostics)
    client.workspace_did_change_configuration(types.DidChangeConfigurationParams(
        settings={"airlift": {"dagFolders": ["tutorial_dagster"]}}))
    await wait_for(lambda: len(client.diagnostics[dag_uri]) == 0)
    symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="rebuild"))
    assert symbols == []
