"""In the editor, a task of a class the Dagster module ports once (``AIRFLOW_OPERATOR_PORTS``,
tests/fixtures/scaffold/ports/) is offered "Generate Dagster implementation", which writes a call
of the port; so is a task the team's factory makes (the values the model evaluates, written out),
and a task whose value is only known when Airflow runs the file is not, its lens says why
(without the port, tests/unit/test_edit_scaffold_ports.py: none is)."""

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.editor import Editor, action_titles_at, lens_tooltips, start_session, until_offered
from tests.support.scaffold_fixture import FIXTURES

PORTS = FIXTURES / "ports"
DAG = "dags/ports_dag.py"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "ports"
    (root / "dags").mkdir(parents=True)
    shutil.copy(PORTS / "ports_dag.py", root / DAG)
    shutil.copytree(PORTS / "corp_ops", root / "dags" / "corp_ops")
    (root / "definitions.py").write_text((PORTS / "ports_module.py").read_text())
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, root, "visual-studio-code", name="ports")
    yield
    await lsp_client.shutdown_session()


async def titles_at(client: LanguageClient, needle: str) -> list[str]:
    return await action_titles_at(client, client.root / DAG, needle)


@pytest.mark.asyncio
async def test_a_ported_class_is_generated_as_a_call_of_its_port(client: LanguageClient):
    client.editor.open(client.root / DAG)
    await until_offered(client, client.root / DAG, 'task_id="export_orders"', "Generate Dagster implementation for `export_orders`")
    assert not any(t.startswith("Generate Dagster implementation")
                   for t in await titles_at(client, 'export("export_empty"'))
    tooltips = await lens_tooltips(client, client.root / DAG)
    assert ("Dagster implementation cannot be generated: the `out_path` argument of task `export_empty` is only "
            "known when Airflow runs the file") in tooltips
    # the team's factory makes `export_regions`: offered, with the values the model evaluates
    assert "Generate Dagster implementation for `export_regions`" in await titles_at(client, 'export_table("regions"')
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="airlift.scaffoldTask", arguments=[{"dag_id": "ports", "task_id": "export_orders"}]))
    assert result is not None
    for _ in range(200):
        module = (client.root / "definitions.py").read_text()
        if '"export_orders": [ports__export_orders]' in module:
            break
        await asyncio.sleep(0.05)
    assert "    csv_export(\n        context,\n        rows=[[\"eu\", 10.5], [\"us\", 7]],\n" in module
    assert "the port of `CsvExportOperator` in\n    AIRFLOW_OPERATOR_PORTS" in module
