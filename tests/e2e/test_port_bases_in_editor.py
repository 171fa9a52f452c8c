"""In the editor, a task of the team's own pod class (tests/fixtures/scaffold/port_bases/, a class
that changes how its base runs) has no scaffold, and is offered "Run `TeamPod` as
`KubernetesPodOperator` in Dagster": the action writes the team's choice into the Dagster module's
``AIRFLOW_OPERATOR_PORTS``, after which "Generate Dagster implementation" is offered and writes
the pod. Applied again, the action is gone: the choice is made. With and without
``codeAction/resolve`` (VS Code resolves the edit; Neovim gets it while listing)."""

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.editor import Editor, action_titles_at, start_session, until_offered
from tests.support.scaffold_fixture import FIXTURES

PORT_BASES = FIXTURES / "port_bases"
DAG = "dags/pods_dag.py"
CHOOSE = "Run `TeamPod` as `KubernetesPodOperator` in Dagster (its own code stays in Airflow)"
GENERATE = "Generate Dagster implementation for `transform`"


@pytest_lsp.fixture(params=["visual-studio-code", "neovim"],
                    config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(request, lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "team"
    (root / "dags").mkdir(parents=True)
    shutil.copy(PORT_BASES / "pods_dag.py", root / DAG)
    shutil.copytree(PORT_BASES / "team_ops", root / "dags" / "team_ops")
    module = (PORT_BASES / "port_bases_module.py").read_text()
    (root / "definitions.py").write_text(module.replace(
        'AIRFLOW_OPERATOR_PORTS = {"MeteredBashOperator": "BashOperator", "TeamPod": "KubernetesPodOperator"}\n\n', ""))
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, root, request.param, name="team")
    yield
    await lsp_client.shutdown_session()


async def action_at(client: LanguageClient, needle: str, title: str) -> types.CodeAction:
    uri = (client.root / DAG).as_uri()
    lines = client.editor.text(uri).splitlines()
    line = next(i for i, text in enumerate(lines) if needle in text)
    position = types.Position(line, lines[line].index(needle) + 1)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(position, position), types.CodeActionContext(diagnostics=[])))
    [action] = [a for a in actions if a.title == title]
    return action


@pytest.mark.asyncio
async def test_the_choice_is_written_then_the_pod_is_generated(client: LanguageClient):
    client.editor.open(client.root / DAG)
    await until_offered(client, client.root / DAG, 'task_id="transform"', CHOOSE)
    assert GENERATE not in await action_titles_at(client, client.root / DAG, 'task_id="transform"')
    action = await action_at(client, 'task_id="transform"', CHOOSE)
    if action.edit is None:  # VS Code resolves it; Neovim got it while listing
        action = await client.code_action_resolve_async(action)
    assert client.editor.apply(action.edit).applied
    module = (client.root / "definitions.py").read_text()
    assert '\nAIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator"}\n' in module
    await until_offered(client, client.root / DAG, 'task_id="transform"', GENERATE)
    assert CHOOSE not in await action_titles_at(client, client.root / DAG, 'task_id="transform"')
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="airlift.scaffoldTask", arguments=[{"dag_id": "team_pods", "task_id": "transform"}]))
    assert result is not None
    for _ in range(200):
        module = (client.root / "definitions.py").read_text()
        if '"transform": [team_pods__transform]' in module:
            break
        await asyncio.sleep(0.05)
    assert 'image="ghcr.io/acme/transform:3"' in module
    assert "`TeamPod` hands `callbacks` on." in " ".join(module.split())
