"""In the editor, the tasks a team's factories make (tests/fixtures/scaffold/factories/: a DAG file
of factory calls only) are offered "Generate Dagster implementation", judged on the values the
model evaluates for their operators (a closure of a factory too, in the library or in the DAG
file: regions_dag.py); a task whose connection is only known when Airflow runs the file is not,
and its lens says why; the command writes the factory's values out."""

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

FACTORIES = FIXTURES / "factories"
DAG = "dags/factories_dag.py"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    root = tmp_path / "factories"
    (root / "dags").mkdir(parents=True)
    shutil.copy(FACTORIES / "factories_dag.py", root / DAG)
    shutil.copytree(FACTORIES / "dataplat", root / "dags" / "dataplat")
    shutil.copy(FACTORIES / "regions_dag.py", root / "dags" / "regions_dag.py")
    (root / "definitions.py").write_text((FACTORIES / "factories_module.py").read_text())
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, root, "visual-studio-code", name="factories")
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_a_factory_task_is_generated_from_its_evaluated_values(client: LanguageClient):
    dag = client.root / DAG
    client.editor.open(dag)
    await until_offered(client, dag, 'load_table("orders"', "Generate Dagster implementation for `load_orders`")
    for needle, task_id in (('wait_for_rows("orders")', "wait_for_orders"), ('export("totals"', "export_totals"),
                            ('shell("done"', "shell_done"), ('summarize("totals"', "summarize_totals")):
        assert f"Generate Dagster implementation for `{task_id}`" in await action_titles_at(client, dag, needle)
    assert not any(t.startswith("Generate Dagster implementation")
                   for t in await action_titles_at(client, dag, 'load_from_environment("returns")'))
    regions = client.root / "dags" / "regions_dag.py"  # a closure of the DAG file's own factory
    client.editor.open(regions)
    await until_offered(client, regions, 'PythonOperator(task_id="report"', "Generate Dagster implementation for `report`")
    assert ("Dagster implementation cannot be generated: the `conn_id` argument of task `load_returns` is only "
            "known when Airflow runs the file (`os.environ['WAREHOUSE_CONN']`)") in await lens_tooltips(client, dag)
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="airlift.scaffoldTask", arguments=[{"dag_id": "platform", "task_id": "load_orders"}]))
    assert result is not None
    for _ in range(200):
        module = (client.root / "definitions.py").read_text()
        if '"load_orders": [platform__load_orders]' in module:
            break
        await asyncio.sleep(0.05)
    assert "        \"INSERT INTO orders VALUES ('eu', 10.5), ('us', 7), ('eu', 2)\",\n" in module
    assert "Its values are\n    those the operator is given when Airflow reads the DAG file" in module
