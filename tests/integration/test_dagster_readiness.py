"""Readiness to proxy against a real ``dagster-webserver`` (Dagster 1.13): the poll's asset query
reads whether a loaded code location defines each mapped asset executably; the editor says
"not ready to proxy" in the hover and the lens, and "cannot be reached" once the webserver stops.

The module (tests/fixtures/dagster_peering/definitions.py) has ``raw_data/raw_customers`` as an
``@asset`` (what a scaffold writes: executable) and ``never/materialized`` as an ``AssetSpec``
only. Airflow's side is the stand-in tests/support/fake_airflow.py: the Dagster poll follows each
Airflow poll. The webserver is this module's own (the last test stops it)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from analysis.readiness import not_ready
from server.peering.dagster_client import DagsterClient
from server.peering.dagster_watch import DagInterest, DagsterWatcher
from server.peering.history import RunHistory
from server.peering.transport import RequestPolicy
from server.settings import DagsterSettings
from tests.conftest import run_cli
from tests.e2e.editor import Editor, start_session
from tests.support.dagster_server import dagster_fixture
from tests.support.fake_airflow import FakeAirflow

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

MODULE = Path(__file__).resolve().parents[1] / "fixtures" / "dagster_peering" / "definitions.py"
FAST = RequestPolicy(connect_timeout=2, read_timeout=5, retries=1, backoff=0.01)
NOT_EXECUTABLE = "is not executable in any code location Dagster has loaded: scaffold it or reload the code location"

ORDERS_DAG = """\
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG("orders", start_date=datetime(2024, 1, 1), schedule=None):
    BashOperator(task_id="load", bash_command="echo load") >> BashOperator(task_id="report", bash_command="echo report")

from pathlib import Path
from dagster_airlift.in_airflow import proxying_to_dagster
from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml
proxying_to_dagster(global_vars=globals(),
                    proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"))
"""


dagster = dagster_fixture(MODULE)


def empty_history() -> RunHistory:
    return RunHistory("http://airflow.test", "v2", None, {}, {})


def test_the_asset_query_reads_executable_definitions_in_the_same_request(dagster):
    client = DagsterClient(dagster.url, policy=FAST)
    materializations, definitions = client.assets(["raw_data/raw_customers", "never/materialized", "not/defined"])
    assert client.requests == 1
    assert set(materializations) == set(definitions) == {"raw_data/raw_customers", "never/materialized", "not/defined"}
    location = dagster.locations()[0]["name"]
    assert definitions["raw_data/raw_customers"].executable and definitions["raw_data/raw_customers"].location == location
    assert definitions["never/materialized"].executable is False  # an AssetSpec: no job launches it
    assert definitions["not/defined"] is None
    client.close()

    interest = (DagInterest("orders", ("load", "report"), False,
                            (("load", ("raw_data/raw_customers",)), ("report", ("never/materialized",)))),)
    watcher = DagsterWatcher(DagsterSettings(url=dagster.url), lambda: interest,
                             client_factory=lambda s: DagsterClient(s.url, policy=FAST))
    watcher.poll(empty_history())
    view = watcher.view
    assert view.reachable and view.requests == 1  # nothing proxied: the asset query only
    assert not_ready(view.side, ["raw_data/raw_customers"], view.definitions) == ()
    assert not_ready(view.side, ["never/materialized"], view.definitions) == (f"`never/materialized` {NOT_EXECUTABLE}",)
    watcher.close()

    elsewhere = (DagInterest("sales", ("load",), False, (("load", ("sales/orders", "sales/refunds")),)),)
    unloaded = DagsterWatcher(DagsterSettings(url=dagster.url), lambda: elsewhere,
                              client_factory=lambda s: DagsterClient(s.url, policy=FAST))
    unloaded.poll(empty_history())
    view = unloaded.view
    assert not_ready(view.side, ["sales/orders"], view.definitions) == (
        f"the Dagster module is not loaded by the Dagster at {dagster.url}",)
    unloaded.close()


@pytest.fixture
def orders_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "orders"
    (root / "proxied_state").mkdir(parents=True)
    (root / "orders.py").write_text(ORDERS_DAG)
    (root / "proxied_state" / "orders.yaml").write_text(
        "tasks:\n  - id: load\n    proxied: false\n  - id: report\n    proxied: false\n")
    (root / "definitions.py").write_text(
        "from dagster import AssetSpec, Definitions\n"
        "from dagster_airlift.core import assets_with_task_mappings\n\n"
        "defs = Definitions(assets=[*assets_with_task_mappings(dag_id=\"orders\", task_mappings={\n"
        "    \"load\": [AssetSpec([\"raw_data\", \"raw_customers\"])],\n"
        "    \"report\": [AssetSpec([\"never\", \"materialized\"])]})])\n")
    return root


def status_text(workspace: Path, dagster_url: str, airflow: FakeAirflow | None = None) -> str:
    """``airlift-lsp status`` (text) with ``DAGSTER_URL``, and ``AIRFLOW_URL`` when given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSTER"))}
    env.update({"DAGSTER_URL": dagster_url, "AIRLIFT_LSP_CACHE": "off"})
    if airflow is not None:
        env.update({"AIRFLOW_URL": airflow.url, "AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": airflow.password})
    result = run_cli("status", cwd=workspace, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def task_lines(text: str) -> dict[str, str]:
    return {line.split()[0]: line.strip() for line in text.splitlines() if line.startswith("    ")}


def test_status_says_which_mapped_task_is_ready_to_proxy_with_the_editors_words(dagster, orders_workspace):
    with FakeAirflow() as airflow:
        text = status_text(orders_workspace, dagster.url, airflow)
    assert f"Dagster: connected to {dagster.url}" in text, text
    tasks = task_lines(text)
    assert tasks["report"] == f"report  observed → never/materialized  ⚠ not ready to proxy: `never/materialized` {NOT_EXECUTABLE}"
    assert tasks["load"] == "load  observed → raw_data/raw_customers  ready to proxy"  # an @asset: what a scaffold writes

    (orders_workspace / "proxied_state" / "orders.yaml").write_text(
        "tasks:\n  - id: load\n    proxied: false\n  - id: report\n    proxied: true\n")
    tasks = task_lines(status_text(orders_workspace, dagster.url))  # no Airflow: the asset request only
    assert tasks["report"] == "report  proxied → Dagster", tasks  # proxied already: nothing to say
    assert tasks["load"].endswith("  ready to proxy"), tasks


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def editor(lsp_client: LanguageClient, orders_workspace: Path, dagster):
    airflow = FakeAirflow().start()
    lsp_client.root, lsp_client.dagster = orders_workspace, dagster
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, orders_workspace, "visual-studio-code", name="orders", initialization_options={
        "airlift": {"airflow": {"url": airflow.url, "username": "admin", "password": airflow.password,
                                "pollInterval": 1}, "dagster": {"url": dagster.url}}})
    yield
    await lsp_client.shutdown_session()
    airflow.stop()


async def task_lenses(client: LanguageClient, uri: str, wanted: str, seconds: float) -> dict[str, str]:
    """The task lenses' titles by task id (the line's), once one of them contains ``wanted``."""
    lines = ORDERS_DAG.splitlines()
    deadline = time.monotonic() + seconds
    while True:
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
        titles = [(lens.range.start, lens.command.title) for lens in lenses or [] if lens.command]
        by_task = {}
        for start, title in titles:
            for task in ("load", "report"):
                if f'task_id="{task}"' in lines[start.line] and start.character == lines[start.line].index(
                        f'BashOperator(task_id="{task}"'):
                    by_task[task] = title
        if any(wanted in title for title in by_task.values()):
            return by_task
        assert time.monotonic() < deadline, f"no task lens says {wanted!r}: {titles}"
        await asyncio.sleep(0.3)


@pytest.mark.asyncio
async def test_the_editor_says_not_ready_then_cannot_be_reached_when_the_webserver_stops(editor):
    client = editor
    uri = client.editor.open(client.root / "orders.py")
    lenses = await task_lenses(client, uri, "not ready to proxy", 90)
    assert f"⚠ not ready to proxy: never/materialized {NOT_EXECUTABLE}" in lenses["report"], lenses
    assert "not ready" not in lenses["load"], lenses  # executable: nothing to say

    line = ORDERS_DAG.splitlines().index('    BashOperator(task_id="load", bash_command="echo load") >> BashOperator(task_id="report", bash_command="echo report")')
    position = types.Position(line, ORDERS_DAG.splitlines()[line].index("report"))
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), position))
    assert "**Not ready to proxy**" in hover.contents.value, hover.contents.value
    assert f"- ⚠ `never/materialized` {NOT_EXECUTABLE}" in hover.contents.value

    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(position, position), types.CodeActionContext([])))
    titles = [action.title for action in actions or []]
    assert f"Proxy `report` to Dagster (⚠ not ready to proxy: never/materialized {NOT_EXECUTABLE})" in titles, titles

    # Proxying it anyway: the edit is made, with the reason as a warning.
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="airlift.proxyTask", arguments=[{"dag_id": "orders", "task_id": "report"}]))
    assert result["applied"] is True, result
    assert f"not ready to proxy: `never/materialized` {NOT_EXECUTABLE}" in result["notes"], result
    assert any(m.type == types.MessageType.Warning and "not ready to proxy: `never/materialized`" in m.message
               for m in client.messages), client.messages
    assert "- id: report\n    proxied: true" in (client.root / "proxied_state" / "orders.yaml").read_text()

    url = client.dagster.url
    client.dagster.stop()
    stopped = time.monotonic()
    reached = f"Dagster at {url} cannot be reached: a proxied task would fail to launch"
    lenses = await task_lenses(client, uri, reached, 30)
    assert reached in lenses["load"], lenses  # report is proxied now: nothing to get ready for
    print(f"'cannot be reached' in the lens {time.monotonic() - stopped:.1f} s after the webserver stopped")


def test_status_says_dagster_cannot_be_reached_once_the_webserver_stops(dagster, orders_workspace):
    """Last in this module: the webserver stays stopped (the editor test above stops it too)."""
    dagster.stop()
    text = status_text(orders_workspace, dagster.url)
    reached = f"⚠ not ready to proxy: Dagster at {dagster.url} cannot be reached: a proxied task would fail to launch"
    tasks = task_lines(text)
    assert tasks["load"].endswith(reached) and tasks["report"].endswith(reached), text
    assert f"Dagster: unreachable — connection to Dagster at {dagster.url}" in text
