"""DAGs known from a real Airflow 3.3.2 only: a DAG file built by a vendor module that Airflow
imports (a PYTHONPATH folder of its processes) but the workspace does not have, so static
reading cannot follow it. Through a real LSP client the DAG appears (symbols, report, hover,
lenses), is mapped (the Dagster module changes) and, once the file has the hook, proxied
(the state file alone changes); ``dags --json`` shows it with ``"source": "airflow"``; a local
file that differs from its deployed DAG gets the ``differences`` finding."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import run_cli
from tests.e2e.editor import Editor, start_session
from tests.support.airflow_server import AirflowServer, time_limit

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

VENDOR_DAG = '''"""Orders, built by the vendor's DAG factory: an Airflow DAG file."""

from vendor_factory import build

dag = build("vendor_orders")
'''
VENDOR_FACTORY = '''"""A vendor library on Airflow's sys.path, not in the workspace."""

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG


def build(dag_id):
    with DAG(dag_id, schedule=None) as dag:
        extract = BashOperator(task_id="extract", bash_command="true")
        load = BashOperator(task_id="load", bash_command="true")
        extract >> load
    return dag
'''
PLAIN_DAG = '''from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("plain_orders", schedule=None) as dag:
    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
'''
PLAIN_LOCAL = PLAIN_DAG.replace('EmptyOperator(task_id="b")',
                                'EmptyOperator(task_id="b") >> EmptyOperator(task_id="not_deployed_yet")')
HOOK = '''
from pathlib import Path
from dagster_airlift.in_airflow import proxying_to_dagster
from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml
proxying_to_dagster(global_vars=globals(),
                    proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"))
'''
DAG_IDS = ["vendor_orders", "plain_orders"]


class VendorAirflow(AirflowServer):
    """Airflow whose processes import the vendor package from a folder of their PYTHONPATH."""

    def __init__(self, dags_folder: Path, vendor: Path) -> None:
        super().__init__(dags_folder)
        self.vendor = vendor

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "PYTHONPATH": str(self.vendor)}


@pytest.fixture(scope="module")
def deployed_airflow():
    base = Path(tempfile.mkdtemp(prefix="airlift-deployed-"))
    (base / "deployed_dags").mkdir()
    (base / "vendor").mkdir()
    (base / "deployed_dags" / "vendor_orders.py").write_text(VENDOR_DAG)
    (base / "deployed_dags" / "plain.py").write_text(PLAIN_DAG)
    (base / "vendor" / "vendor_factory.py").write_text(VENDOR_FACTORY)
    server = VendorAirflow(base / "deployed_dags", base / "vendor")
    try:
        try:
            server.start()
            server.wait_for_dags(DAG_IDS, timeout=180)
        except Exception as error:  # noqa: BLE001 - a broken Airflow fails the tests, never skips
            pytest.fail(f"could not run Airflow: {error}\n{server.log_tail('dag-processor')}")
        yield server
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(autouse=True)
def bounded():
    with time_limit(300, "a deployed-DAGs test"):
        yield


@pytest.fixture
def workspace(tmp_path: Path, deployed_airflow) -> Path:
    """The project as its engineer has it: the DAG files, no vendor package; `plain.py` edited
    locally (a task Airflow does not run yet)."""
    root = tmp_path / "project"
    (root / "airflow_dags").mkdir(parents=True)
    (root / "airflow_dags" / "vendor_orders.py").write_text(VENDOR_DAG)
    (root / "airflow_dags" / "plain.py").write_text(PLAIN_LOCAL)
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["airflow_dags"]\n'
                                         f'airflow = {{ url = "{deployed_airflow.url}", username = "admin" }}\n')
    return root


def cli_env(airflow: AirflowServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    return {**env, "AIRFLOW_PASSWORD": airflow.password}


def test_dags_json_shows_the_deployed_dag(workspace: Path, deployed_airflow) -> None:
    result = run_cli("dags", "airflow_dags", "--json", cwd=workspace, env=cli_env(deployed_airflow))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    files = {f["path"]: f["dags"] for f in json.loads(result.stdout)["files"]}
    [vendor] = files["airflow_dags/vendor_orders.py"]
    assert (vendor["dag_id"], vendor["source"]) == ("vendor_orders", "airflow")
    assert [(t["task_id"], t["operator"], t["upstream"]) for t in vendor["tasks"]] == [
        ("extract", "BashOperator", []), ("load", "BashOperator", ["extract"])]
    assert [(d["dag_id"], d["source"]) for d in files["airflow_dags/plain.py"]] == [("plain_orders", "static")]

    status = run_cli("status", "--json", cwd=workspace, env=cli_env(deployed_airflow))
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["airflow"]["reachable"] is True
    vendor_status = next(d for d in data["dags"] if d["dag_id"] == "vendor_orders")
    assert vendor_status["file"] == "airflow_dags/vendor_orders.py"
    assert [t["task_id"] for t in vendor_status["tasks"]] == ["extract", "load"]


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, workspace: Path, deployed_airflow):
    lsp_client.root = workspace
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, workspace, "visual-studio-code", name="project", initialization_options={
        "airlift": {"airflow": {"url": deployed_airflow.url, "username": deployed_airflow.username,
                                "password": deployed_airflow.password, "pollInterval": 2}}})
    yield
    await lsp_client.shutdown_session()


async def until(predicate, timeout: float = 90.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.25)


async def run(client: LanguageClient, command: str, **arguments) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=command, arguments=[arguments]))


@pytest.mark.asyncio
async def test_the_deployed_dag_is_shown_mapped_and_proxied_in_the_editor(client: LanguageClient) -> None:
    root: Path = client.root
    dag_file = root / "airflow_dags" / "vendor_orders.py"

    async def known() -> bool:
        symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="vendor_orders"))
        return any(s.name == "vendor_orders" for s in symbols or [])
    await until(known)

    report = await run(client, "airlift.migrationReport")
    row = next(r for r in report["dags"] if r["dag_id"] == "vendor_orders")
    assert (row["source"], row["tasks"], row["file"]) == ("airflow", 2, str(dag_file))
    symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="extract"))
    assert any(s.container_name == "vendor_orders" and s.location.uri == dag_file.as_uri() for s in symbols)

    uri = client.editor.open(dag_file)
    hover = await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri), types.Position(0, 0)))
    assert "vendor_orders" in hover.contents.value and "from Airflow" in hover.contents.value
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
    assert any(lens.command.title.startswith("vendor_orders: from Airflow") for lens in lenses), \
        [lens.command.title for lens in lenses]

    # The local plain.py has a task Airflow does not run yet: the differences finding.
    plain = (root / "airflow_dags" / "plain.py").as_uri()

    async def differs() -> bool:
        return any("differs from the DAG `plain_orders`" in d.message for d in client.diagnostics.get(plain, []))
    await until(differs, timeout=30)

    # Map: the Dagster module is created with the DAG's tasks.
    mapped = await run(client, "airlift.mapDag", dag_id="vendor_orders")
    assert mapped.get("applied") is not False, mapped
    modules = [p for p in root.rglob("*.py") if "assets_with_task_mappings" in p.read_text()]
    assert len(modules) == 1 and 'dag_id="vendor_orders"' in modules[0].read_text()
    assert '"extract"' in modules[0].read_text() and '"load"' in modules[0].read_text()

    async def indexed_as_mapped() -> bool:
        report = await run(client, "airlift.migrationReport")
        return next(r for r in report["dags"] if r["dag_id"] == "vendor_orders")["mapped"] == 2
    await until(indexed_as_mapped, timeout=20)

    # The hook goes into the file by hand (airlift cannot tell where the vendor's DAG is made).
    refused = await run(client, "airlift.proxyTask", dag_id="vendor_orders", task_id="extract")
    assert refused["applied"] is False and "hook" in refused["reason"]
    client.editor.type(uri, VENDOR_DAG + HOOK)
    dag_file.write_text(VENDOR_DAG + HOOK)
    before = {p: p.read_text() for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts}

    async def proxied() -> bool:
        result = await run(client, "airlift.proxyTask", dag_id="vendor_orders", task_id="extract")
        proxied.result = result
        return result.get("applied") is not False
    await until(proxied, timeout=20)
    state = root / "airflow_dags" / "proxied_state" / "vendor_orders.yaml"
    after = {p: p.read_text() for p in root.rglob("*") if p.is_file() and ".cache" not in p.parts}
    assert {p for p in after if before.get(p) != after[p]} == {state}
    assert "- id: extract\n    proxied: true" in state.read_text() and "- id: load\n    proxied: false" in state.read_text()
