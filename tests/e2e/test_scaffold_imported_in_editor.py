"""In the editor, a ``@task`` that the DAG file imports from a shared module of the project
(tests/fixtures/scaffold_imported/) is offered "Generate Dagster implementation", which copies the
function from that module; a call given another task's output is not offered it, and its lens
says why."""

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import FIXTURES
from tests.e2e.editor import Editor, action_titles_at, lens_tooltips, start_session, until_offered
from tests.integration.test_scaffold_imported import MODULE

DAG = "dags/imported_dag.py"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "imported"
    shutil.copytree(FIXTURES / "scaffold_imported" / "dags", root / "dags")
    (root / "definitions.py").write_text(MODULE)
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, root, "visual-studio-code", name="imported")
    yield
    await lsp_client.shutdown_session()


async def titles_at(client: LanguageClient, needle: str) -> list[str]:
    return await action_titles_at(client, client.root / DAG, needle)


@pytest.mark.asyncio
async def test_an_imported_task_is_generated_from_its_module(client: LanguageClient):
    client.editor.open(client.root / DAG)
    await until_offered(client, client.root / DAG, "write_settings(NAMES", "Generate Dagster implementation for `write_settings`")
    assert not any(t.startswith("Generate Dagster implementation")
                   for t in await titles_at(client, 'count_words.override(task_id="count_output")'))
    tooltips = await lens_tooltips(client, client.root / DAG)
    assert "its call passes `write_settings.override(task_id='again')(['x'])`" in tooltips
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="airlift.scaffoldTask", arguments=[{"dag_id": "imported", "task_id": "write_settings"}]))
    assert result is not None
    for _ in range(200):
        module = (client.root / "definitions.py").read_text()
        if "def _write(name: str, payload) -> str:" in module:
            break
        await asyncio.sleep(0.05)
    assert "Scaffolded by airlift-lsp from dags/shared/files.py (@task function)" in module
    assert '"write_settings": [imported__write_settings]' in module
