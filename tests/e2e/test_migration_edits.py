"""Peer → observe → migrate → roll back on the tutorial, through code actions and commands
only, with an editor that applies the workspace edits as VS Code does."""

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from analysis.state.proxied_state import parse_state_file
from tests.conftest import TUTORIAL
from tests.e2e.editor import Editor, start_session

DAG = "airflow_dags/rebuild_customers_list.py"
STATE = "airflow_dags/proxied_state/rebuild_customers_list.yaml"
MODULE = "tutorial_dagster/definitions.py"
ORDERS = "airflow_dags/daily_orders.py"


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]),
                    params=["visual-studio-code", "neovim"])
async def client(lsp_client: LanguageClient, request, tmp_path: Path):
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    lsp_client.root = root
    lsp_client.editor = Editor(lsp_client)

    await start_session(lsp_client, root, request.param)
    yield
    await lsp_client.shutdown_session()


async def settle(client: LanguageClient, predicate, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


def state_flags(client: LanguageClient) -> dict[str, bool]:
    state = parse_state_file(STATE, (client.root / STATE).read_text())
    assert state.error is None, state.error
    return {t.task_id: t.proxied for t in state.tasks}


def diagnostics_of(client: LanguageClient, relative: str) -> list[str]:
    return sorted(str(d.code) for d in client.diagnostics.get((client.root / relative).as_uri(), []))


async def run(client: LanguageClient, command: str, **arguments) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=command, arguments=[arguments]))


async def actions_at(client: LanguageClient, relative: str, needle: str) -> list[types.CodeAction]:
    uri = (client.root / relative).as_uri()
    lines = client.editor.text(uri).splitlines()
    line = next(i for i, text in enumerate(lines) if needle in text)
    position = types.Position(line, lines[line].index(needle) + 1)
    return await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(position, position),
        types.CodeActionContext(diagnostics=list(client.diagnostics.get(uri, [])))))


async def apply_action(client: LanguageClient, action: types.CodeAction) -> None:
    """What an editor does with a chosen action: resolve its edit, or run its command."""
    if action.edit is None and action.command is None:
        action = await client.code_action_resolve_async(action)
    if action.edit is not None:
        assert client.editor.apply(action.edit).applied
    else:
        await client.workspace_execute_command_async(types.ExecuteCommandParams(
            action.command.command, action.command.arguments))


@pytest.mark.asyncio
async def test_observe_migrate_and_roll_back_every_task(client: LanguageClient):
    dag_uri = client.editor.open(client.root / DAG)
    await settle(client, lambda: "unmapped-task" in diagnostics_of(client, DAG))

    # Observe: the unmapped task's quick fix maps it, with deps from the DAG's edges.
    [fix] = [a for a in await actions_at(client, DAG, '"export_customers"') if a.title.startswith("Map `export")]
    await apply_action(client, fix)
    module = (client.root / MODULE).read_text()
    assert '"export_customers": [' in module and 'deps=["customers"]' in module
    await settle(client, lambda: "unmapped-task" not in diagnostics_of(client, DAG))

    # Migrate every task, one by one, from the lenses' commands.
    for task in ("load_raw_customers", "build_dbt_models", "export_customers"):
        result = await run(client, "airlift.proxyTask", dag_id="rebuild_customers_list", task_id=task)
        assert result["applied"], result
        await settle(client, lambda t=task: state_flags(client).get(t) is True)
    assert "PROXYING = True" in client.editor.text(dag_uri)  # the guarded hook switched on
    await settle(client, lambda: diagnostics_of(client, DAG) == [])
    for _ in range(100):  # the index catches up with the files the edit touched
        lenses = await client.text_document_code_lens_async(
            types.CodeLensParams(types.TextDocumentIdentifier(dag_uri)))
        # "proxy pending · proxied → Dagster ...": Airflow (configured, down here) has not confirmed it
        if sum("proxied → Dagster" in lens.command.title for lens in lenses) == 3:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError([lens.command.title for lens in lenses])

    # Idempotent: proxying again changes nothing.
    before = (client.root / STATE).read_text()
    result = await run(client, "airlift.proxyTask", dag_id="rebuild_customers_list", task_id="build_dbt_models")
    assert result["files"] == [] and (client.root / STATE).read_text() == before

    # Roll back one task from its code action, then the whole DAG, then everything.
    [rollback] = [a for a in await actions_at(client, DAG, '"build_dbt_models"') if a.title.startswith("Roll back `build")]
    await apply_action(client, rollback)
    await settle(client, lambda: state_flags(client)["build_dbt_models"] is False)
    assert (await run(client, "airlift.rollbackDag", dag_id="rebuild_customers_list"))["applied"]
    await settle(client, lambda: not any(state_flags(client).values()))
    text = (client.root / STATE).read_text()
    assert text.startswith("#"), "comments survive"
    assert text.count("proxied: false") == 3


@pytest.mark.asyncio
async def test_refusals_are_clear_and_change_nothing(client: LanguageClient):
    await settle(client, lambda: "unmapped-task" in diagnostics_of(client, DAG))
    before = {p: p.read_text() for p in client.root.rglob("*") if p.is_file()}
    result = await run(client, "airlift.proxyTask", dag_id="rebuild_customers_list", task_id="export_customers")
    assert not result["applied"] and "map `export_customers`" in result["reason"]
    result = await run(client, "airlift.proxyTask", dag_id="../../etc", task_id="x")
    assert not result["applied"] and "refusing DAG id" in result["reason"]
    result = await run(client, "airlift.rollbackTask", dag_id="rebuild_customers_list", task_id="nope")
    assert not result["applied"] and "no task `nope`" in result["reason"]
    assert {p: p.read_text() for p in client.root.rglob("*") if p.is_file()} == before
    assert any("map `export_customers`" in m.message for m in client.messages)


@pytest.mark.asyncio
async def test_enable_proxying_on_a_dag_without_hook_creates_the_state_file(client: LanguageClient):
    await settle(client, lambda: "unmapped-task" in diagnostics_of(client, DAG))
    result = await run(client, "airlift.enableProxying", dag_id="daily_orders")
    assert result["applied"], result
    state = client.root / "airflow_dags/proxied_state/daily_orders.yaml"
    await settle(client, state.exists)
    parsed = parse_state_file(str(state), state.read_text())
    assert [t.task_id for t in parsed.tasks] == sorted(t.task_id for t in parsed.tasks)
    assert len(parsed.tasks) == 5 and not any(t.proxied for t in parsed.tasks)
    source = (client.root / ORDERS).read_text()
    assert source.rstrip().splitlines()[-1].strip().endswith(")")
    assert source.count("proxying_to_dagster(") == 1
    again = await run(client, "airlift.enableProxying", dag_id="daily_orders")
    assert again["files"] == []


@pytest.mark.asyncio
async def test_a_stale_action_is_refused(client: LanguageClient):
    dag_uri = client.editor.open(client.root / DAG)
    await settle(client, lambda: "unmapped-task" in diagnostics_of(client, DAG))
    actions = await actions_at(client, DAG, '"export_customers"')
    [fix] = [a for a in actions if a.title.startswith("Map `export")]
    client.editor.type(dag_uri, client.editor.text(dag_uri) + "\n# typing\n")
    if fix.command is not None:
        # Clients without codeAction/resolve run the command, which plans against the
        # buffer as it is when it runs: nothing can be stale.
        await apply_action(client, fix)
        assert '"export_customers": [' in (client.root / MODULE).read_text()
        return
    await asyncio.sleep(0.1)
    with pytest.raises(Exception, match="changed since"):
        await client.code_action_resolve_async(fix)


@pytest.mark.asyncio
async def test_generate_the_dagster_implementation_of_a_task(client: LanguageClient):
    dag_uri = client.editor.open(client.root / DAG)
    await settle(client, lambda: "unmapped-task" in diagnostics_of(client, DAG))
    actions = await actions_at(client, DAG, '"load_raw_customers"')
    [generate] = [a for a in actions if a.title == "Generate Dagster implementation for `load_raw_customers`"]
    await apply_action(client, generate)
    module = (client.root / MODULE).read_text()
    assert "@multi_asset(" in module
    assert '"load_raw_customers": [rebuild_customers_list__load_raw_customers]' in module
    assert "customers.load_raw_customers(" in module
    # Once generated, the action is no longer offered; other operators never get it.
    for _ in range(100):
        titles = [a.title for a in await actions_at(client, DAG, '"load_raw_customers"')]
        if not any(t.startswith("Generate Dagster implementation") for t in titles):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(titles)
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(dag_uri)))
    tooltips = [lens.command.tooltip for lens in lenses if lens.command.tooltip]
    assert any("can be generated" in t for t in tooltips)


@pytest.mark.asyncio
async def test_generate_the_acceptance_test_of_a_scaffolded_task(client: LanguageClient):
    client.editor.open(client.root / DAG)
    await settle(client, lambda: "unmapped-task" in diagnostics_of(client, DAG))
    title = "Generate acceptance test for `load_raw_customers`"
    # mapped to an AssetSpec only: nothing to test yet, not offered, and refused in one line
    assert title not in [a.title for a in await actions_at(client, DAG, '"load_raw_customers"')]
    stale = types.CodeAction(title=title, data={
        "action": "airlift.acceptanceTest", "uri": (client.root / DAG).as_uri(), "version": 1,
        "arguments": {"dag_id": "rebuild_customers_list", "task_id": "load_raw_customers"}})
    with pytest.raises(Exception, match=r"AssetSpecs only, which Dagster cannot run: scaffold it first"):
        await client.code_action_resolve_async(stale)
    assert (await run(client, "airlift.scaffoldTask", dag_id="rebuild_customers_list",
                      task_id="load_raw_customers"))["applied"]
    for _ in range(100):
        actions = [a for a in await actions_at(client, DAG, '"load_raw_customers"') if a.title == title]
        if actions:
            break
        await asyncio.sleep(0.05)
    [generate] = actions
    assert generate.command is None  # no command id: the edit itself
    await apply_action(client, generate)
    test = client.root / "tests" / "test_acceptance_rebuild_customers_list__load_raw_customers.py"
    assert "def run_airflow_task():" in test.read_text()
    assert 'FOLDER_VARIABLES = ["TUTORIAL_DATA_DIR"]' in test.read_text()
    # created once: no longer offered, and resolving the old action again changes nothing
    assert title not in [a.title for a in await actions_at(client, DAG, '"load_raw_customers"')]
    again = await client.code_action_resolve_async(generate)
    assert not again.edit.document_changes and not again.edit.changes
