"""The code location reloaded when the Dagster module changes on disk, against a real
``dagster-webserver`` (Dagster 1.13) started on the workspace's own module: "Generate Dagster
implementation" rewrites an ``AssetSpec`` into a ``@multi_asset`` and, with no reload by hand, the
webserver serves it (its GraphQL says executable) and the task's lens stops saying "not ready to
proxy"; a hand edit saved with a syntax error makes the lens say Dagster could not load the
location, with the Python error's line. Airflow's side is the stand-in tests/support/fake_airflow.py
(the Dagster poll follows each Airflow poll)."""

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

from server.peering.dagster_client import DagsterClient
from server.peering.dagster_reload import CodeReloader, ModuleMap, reload_location
from server.peering.dagster_watch import DagInterest, DagsterWatcher
from server.peering.transport import RequestPolicy
from server.settings import DagsterSettings
from tests.conftest import run_cli
from tests.e2e.editor import Editor, start_session
from tests.integration.test_dagster_readiness import NOT_EXECUTABLE, ORDERS_DAG, empty_history, task_lenses
from tests.support.dagster_server import DagsterServer, dagster_python
from tests.support.fake_airflow import FakeAirflow

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

FAST = RequestPolicy(connect_timeout=2, read_timeout=5, retries=1, backoff=0.01)
MODULE = (
    "from dagster import AssetSpec, Definitions\n"
    "from dagster_airlift.core import assets_with_task_mappings\n\n"
    "defs = Definitions(assets=[*assets_with_task_mappings(dag_id=\"orders\", task_mappings={\n"
    "    \"load\": [AssetSpec([\"raw_data\", \"raw_customers\"])],\n"
    "    \"report\": [AssetSpec([\"never\", \"materialized\"])]})])\n")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("reload") / "orders"
    (root / "proxied_state").mkdir(parents=True)
    (root / "orders.py").write_text(ORDERS_DAG)
    (root / "proxied_state" / "orders.yaml").write_text(
        "tasks:\n  - id: load\n    proxied: false\n  - id: report\n    proxied: false\n")
    (root / "definitions.py").write_text(MODULE)
    return root


@pytest.fixture(scope="module")
def dagster(workspace: Path):
    """The webserver loads the workspace's module itself (``dagster dev -f definitions.py``)."""
    dagster_python()
    server = DagsterServer(workspace / "definitions.py", cwd=workspace)
    try:
        try:
            server.start()
        except Exception as error:  # noqa: BLE001 - a broken Dagster fails the test, never skips
            pytest.fail(f"could not run the Dagster webserver: {error}\n{server.log_tail()}")
        yield server
    finally:
        server.stop()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def editor(lsp_client: LanguageClient, workspace: Path, dagster):
    airflow = FakeAirflow().start()
    lsp_client.root, lsp_client.dagster = workspace, dagster
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, workspace, "visual-studio-code", name="orders", initialization_options={
        "airlift": {"airflow": {"url": airflow.url, "username": "admin", "password": airflow.password,
                                "pollInterval": 1}, "dagster": {"url": dagster.url}}})
    yield
    await lsp_client.shutdown_session()
    airflow.stop()


def executable(dagster: DagsterServer, key: str) -> bool | None:
    client = DagsterClient(dagster.url, policy=FAST)
    try:
        definition = client.assets([key])[1][key]
    finally:
        client.close()
    return None if definition is None else definition.executable


@pytest.mark.asyncio
async def test_the_code_location_reloads_when_the_module_changes_on_disk(editor):
    client = editor
    uri = client.editor.open(client.root / "orders.py")
    lenses = await task_lenses(client, uri, f"raw_data/raw_customers {NOT_EXECUTABLE}", 90)
    assert "not ready to proxy" in lenses["report"], lenses
    assert executable(client.dagster, "raw_data/raw_customers") is False

    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="airlift.scaffoldTask", arguments=[{"dag_id": "orders", "task_id": "load"}]))
    assert result["applied"] is True, result
    assert "@multi_asset" in (client.root / "definitions.py").read_text()
    written = time.monotonic()

    deadline = written + 60
    while True:  # the lens redraws once the webserver reloaded and the next poll read it
        lenses = await task_lenses(client, uri, "not ready to proxy", 10)
        if "not ready" not in lenses.get("load", "not ready"):
            break
        assert time.monotonic() < deadline, f"`load` still not ready 60 s after the scaffold: {lenses}"
        await asyncio.sleep(0.5)
    print(f"ready in the lens {time.monotonic() - written:.1f} s after the scaffold was written")
    assert "not ready to proxy" in lenses["report"], lenses  # still an AssetSpec: nothing to say otherwise
    assert executable(client.dagster, "raw_data/raw_customers") is True  # the webserver really reloaded
    assert executable(client.dagster, "never/materialized") is False

    # A hand edit with a syntax error, saved: the location's new code does not load.
    module_uri = client.editor.open(client.root / "definitions.py")
    broken = client.editor.text(module_uri).replace("defs = Definitions(", "defs = Definitions((", 1)
    client.editor.type(module_uri, broken)
    (client.root / "definitions.py").write_text(broken)
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(module_uri)))
    saved = time.monotonic()
    lenses = await task_lenses(client, uri, "Dagster could not load", 60)
    print(f"load error in the lens {time.monotonic() - saved:.1f} s after the save: {lenses['load']}")
    location = client.dagster.locations()[0]["name"]
    assert f"⚠ Dagster could not load {location}: SyntaxError: " in lenses["load"], lenses
    assert "(definitions.py, line " in lenses["load"], lenses
    line = ORDERS_DAG.splitlines().index(next(text for text in ORDERS_DAG.splitlines() if 'task_id="load"' in text))
    position = types.Position(line, ORDERS_DAG.splitlines()[line].index('"load"') + 1)
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), position))
    assert f"- ⚠ Dagster could not load `{location}`: SyntaxError: " in hover.contents.value, hover.contents.value


def test_a_fixed_module_reloads_where_its_file_is_loaded_outside_the_poll_budget(dagster, workspace: Path):
    """After the test above, the location's code does not load: no definition tells where the
    module is loaded, so the reloader asks the webserver's locations and picks the one started on
    the file. The reload is not one of the poll's requests."""
    module = workspace / "definitions.py"
    interest = (DagInterest("orders", ("load", "report"), False,
                            (("load", ("raw_data/raw_customers",)), ("report", ("never/materialized",)))),)
    maps = {str(module): ModuleMap(frozenset({"raw_data/raw_customers", "never/materialized"}),
                                   frozenset({("orders", "load"), ("orders", "report")}))}
    reloader = CodeReloader(lambda: maps)
    watcher = DagsterWatcher(DagsterSettings(url=dagster.url), lambda: interest,
                             client_factory=lambda s: DagsterClient(s.url, policy=FAST), reloader=reloader)
    watcher.poll(empty_history())  # first sight of the module: remembered, nothing reloaded
    assert reloader.reloads == 0 and watcher.view.definitions["never/materialized"] is None  # not loaded

    module.write_text(MODULE)
    os.utime(module, (time.time() - 5, time.time() - 5))  # saved a while ago: settled
    watcher.poll(empty_history())
    view = watcher.view
    assert reloader.reloads == 1 and view.reloads == (), view.reloads
    assert view.requests == 1  # the asset query only: the listing and the reload are not the poll's
    assert view.definitions["raw_data/raw_customers"].executable is False  # an AssetSpec again
    watcher.close()

    client = DagsterClient(dagster.url, policy=FAST)
    assert reload_location(client, "gone") == (
        "RepositoryLocationNotFound", "Dagster could not reload `gone`: Location gone does not exist.")
    client.close()


def test_the_cli_reloads_the_location_after_writing_the_module(dagster, workspace: Path):
    """``scaffold`` with ``DAGSTER_URL`` set: the module written, then its location reloaded (the
    webserver serves the new asset at once)."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSTER"))},
           "DAGSTER_URL": dagster.url, "AIRLIFT_LSP_CACHE": "off"}
    assert executable(dagster, "never/materialized") is False
    result = run_cli("scaffold", "orders", "report", cwd=workspace, env=env)
    assert result.returncode == 0, result.stderr
    location = dagster.locations()[0]["name"]
    assert f"airlift-lsp: Dagster reloaded `{location}`\n" in result.stderr, result.stderr
    assert executable(dagster, "never/materialized") is True
