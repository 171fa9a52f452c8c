"""``airlift.decommissionDag`` through a real LSP client: offered (lens, code action) only when
every task runs in Dagster, asked before anything is edited (the question says there is no
one-line rollback), then applied with the editor's own edit, files removed by ``DeleteFile``."""

import asyncio
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.editor import Editor, start_session
from tests.unit.test_decommission import MODULE, STATE, orders_dag

COMMAND = "airlift.decommissionDag"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]),
                    params=["visual-studio-code", "neovim"])
async def client(lsp_client: LanguageClient, request, tmp_path: Path):
    root = tmp_path / "project"
    for relative, text in {"dags/orders.py": orders_dag(), "dags/proxied_state/orders.yaml": STATE,
                           "definitions.py": MODULE}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n'
                                         'dagsterModule = "definitions.py"\n', encoding="utf-8")
    lsp_client.root = root
    lsp_client.profile = request.param
    lsp_client.editor = Editor(lsp_client)
    lsp_client.questions = []
    lsp_client.answer = "Cancel"

    @lsp_client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def ask(params: types.ShowMessageRequestParams):
        lsp_client.questions.append(params)
        return next((a for a in params.actions or [] if a.title == lsp_client.answer), None)

    # Nothing listens on port 9: Airflow is unreachable, the runs are not checked (a note says so).
    await start_session(lsp_client, root, request.param, name="project",
                        initialization_options={"airflow": {"url": "http://127.0.0.1:9"}})
    yield
    await lsp_client.shutdown_session()


async def decommission(client: LanguageClient) -> dict:
    for _ in range(300):
        result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=COMMAND, arguments=[{"dag_id": "orders"}]))
        if "still being indexed" not in (result.get("reason") or ""):
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("the workspace was never indexed")


@pytest.mark.asyncio
async def test_offered_asked_then_applied_or_refused_where_files_cannot_be_removed(client: LanguageClient):
    root = client.root
    before = {p: p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file()}
    cancelled = await decommission(client)
    if client.profile == "neovim":  # no documentChanges: a DeleteFile cannot be sent
        assert not cancelled["applied"] and "cannot remove files" in cancelled["reason"]
        assert client.questions == []
        return
    assert cancelled == {"applied": False, "reason": "cancelled", "files": []}
    assert {p: p.read_text(encoding="utf-8") for p in root.rglob("*") if p.is_file()} == before
    question = client.questions[-1].message
    assert "remove dags/orders.py" in question and "no one-line rollback" in question

    uri = client.editor.open(root / "dags" / "orders.py")
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
    assert [lens.command.command for lens in lenses].count(COMMAND) == 1
    line = orders_dag().splitlines().index('with DAG(dag_id="orders", schedule="@hourly") as dag:')
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(types.Position(line, 6), types.Position(line, 6)),
        types.CodeActionContext(diagnostics=[])))
    offered = [a for a in actions if isinstance(a, types.CodeAction) and a.title.startswith("Decommission")]
    assert len(offered) == 1 and offered[0].edit is None
    resolved = await client.code_action_resolve_async(offered[0])
    assert resolved.command.command == COMMAND and list(resolved.command.arguments) == [{"dag_id": "orders"}]
    assert resolved.edit is None

    client.answer = "Decommission"
    applied = await decommission(client)
    assert applied["applied"], applied
    assert not (root / "dags" / "orders.py").exists() and not (root / "dags/proxied_state/orders.yaml").exists()
    module = (root / "definitions.py").read_text(encoding="utf-8")
    assert 'cron_schedule="0 * * * *"' in module and 'dag_id="orders"' not in module
    assert any("not checked" in note for note in applied["notes"])


@pytest.mark.asyncio
async def test_not_offered_while_a_task_runs_in_airflow(client: LanguageClient):
    state = client.root / "dags" / "proxied_state" / "orders.yaml"
    uri = client.editor.open(state, "yaml")
    client.editor.type(uri, STATE.replace("load\n    proxied: true", "load\n    proxied: false"))
    await asyncio.sleep(0.5)
    result = await decommission(client)
    assert not result["applied"] and "`load` of `orders` still runs in Airflow" in result["reason"]
    assert client.questions == []
    dag_uri = client.editor.open(client.root / "dags" / "orders.py")
    for _ in range(100):
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(dag_uri)))
        if lenses:
            break
        await asyncio.sleep(0.05)
    assert lenses and COMMAND not in [lens.command.command for lens in lenses]
