"""The server never executes workspace code (issue 7, security).

The tutorial is armed: each DAG file, the Dagster module, the packages they import and the
modules the scaffold reads start with a line that writes a sentinel file when executed, and a
state file carries a YAML tag that runs a shell command when loaded unsafely. Every payload is
first proven live (run as Python, or loaded with PyYAML's unsafe loader, it does leave its
sentinel), then the server indexes the workspace, answers hover / symbols / lenses /
completion / definition, lists and resolves every code action at every DAG and task, and runs
every command (map, map DAG, enable proxying, proxy, proxy DAG, roll back task / DAG / all,
generate the Dagster implementation, refresh status, report), and the CLI runs `check`,
`dags`, `status` and dry runs: no sentinel may appear, ever.

tests/test_security.py already runs the CLI's dags/check/map/proxy/rollback on two payloads;
this adds the server, `status`, the imported packages and the YAML state file.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_lsp
import yaml
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import TUTORIAL, run_cli
from tests.e2e.editor import Editor, start_session

DAG = "airflow_dags/rebuild_customers_list.py"
ORDERS = "airflow_dags/daily_orders.py"
STATE = "airflow_dags/proxied_state/rebuild_customers_list.yaml"
MODULE = "tutorial_dagster/definitions.py"

ARMED_PYTHON = {
    # file in the workspace -> the sentinel its payload writes
    DAG: "dag_rebuild_customers_list",
    ORDERS: "dag_daily_orders",
    MODULE: "dagster_module",
    "tutorial_dagster/__init__.py": "dagster_package",
    "airflow_dags/tutorial_shared/__init__.py": "shared_package",
    "airflow_dags/tutorial_shared/customers.py": "shared_customers",  # the scaffold reads it
    "airflow_dags/tutorial_shared/export.py": "shared_export",
}
ARMED_YAML = "airflow_dags/proxied_state/armed_yaml.yaml"


@dataclass
class Armed:
    root: Path
    sentinels: Path

    def left_behind(self) -> list[str]:
        """Sentinels, and any file a payload could have dropped in the workspace."""
        return sorted([p.name for p in self.sentinels.iterdir()]
                      + [str(p) for p in self.root.rglob("*executed*")])


def payload(sentinel: Path) -> str:
    return (f"import pathlib as _airlift_probe; _airlift_probe.Path({str(sentinel)!r})"
            f".write_text('executed')  # must never run\n")


def with_payload(source: str, line: str) -> str:
    """The payload as the first statement that may run (after ``from __future__`` imports)."""
    future = "from __future__ import annotations\n"
    if future in source:
        return source.replace(future, future + line, 1)
    return line + source


def arm(tmp_path: Path) -> Armed:
    root, sentinels = tmp_path / "project", tmp_path / "sentinels"
    shutil.copytree(TUTORIAL, root)
    sentinels.mkdir()
    pyproject = root / "pyproject.toml"  # no Airflow URL: no background peering
    pyproject.write_text("".join(line for line in pyproject.read_text().splitlines(keepends=True)
                                 if not line.startswith("airflow = ")))
    for relative, name in ARMED_PYTHON.items():
        path = root / relative
        path.write_text(with_payload(path.read_text(), payload(sentinels / name)))
    command = "touch " + shlex.quote(str(sentinels / "yaml_state"))
    (root / ARMED_YAML).write_text("# loaded unsafely, this runs a shell command\n"
                                   f"tasks: !!python/object/apply:os.system [{json.dumps(command)}]\n")
    armed = Armed(root, sentinels)
    prove_live(armed)
    return armed


def prove_live(armed: Armed) -> None:
    """Each payload does run when its file is executed (else the test would prove nothing)."""
    for relative, name in ARMED_PYTHON.items():
        path = armed.root / relative
        subprocess.run([sys.executable, str(path)], cwd=path.parent, capture_output=True, timeout=30, check=False)
        assert (armed.sentinels / name).exists(), f"the payload of {relative} is not live"
    yaml.unsafe_load((armed.root / ARMED_YAML).read_text())
    assert (armed.sentinels / "yaml_state").exists(), "the YAML payload is not live"
    for sentinel in armed.sentinels.iterdir():
        sentinel.unlink()
    for cache in armed.root.rglob("__pycache__"):
        shutil.rmtree(cache)


@pytest.fixture
def armed(tmp_path: Path) -> Armed:
    return arm(tmp_path)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]),
                    params=["visual-studio-code", "emacs"])
async def client(lsp_client: LanguageClient, request, armed: Armed):
    lsp_client.armed = armed
    lsp_client.root = armed.root
    lsp_client.editor = Editor(lsp_client)

    await start_session(lsp_client, armed.root, request.param, name="project")
    yield
    await lsp_client.shutdown_session()


async def wait_for(predicate, timeout: float = 8.0, what: str = "a condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def uri(client: LanguageClient, relative: str) -> str:
    return (client.root / relative).as_uri()


async def indexed(client: LanguageClient) -> None:
    await wait_for(lambda: any(d.code == "unmapped-task" for d in client.diagnostics.get(uri(client, DAG), [])),
                   what="the index")


async def report(client: LanguageClient) -> dict[str, dict]:
    answer = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command="airlift.migrationReport", arguments=[]))
    return {row["dag_id"]: row for row in answer["dags"]}


async def until_reported(client: LanguageClient, dag_id: str, **expected) -> None:
    """Wait until the index has caught up with an applied edit (its report says so)."""
    for _ in range(400):
        row = (await report(client)).get(dag_id, {})
        if all(row.get(key) == value for key, value in expected.items()):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{dag_id}: never {expected}; last {row}")


async def sweep_code_actions(client: LanguageClient) -> set[str]:
    """List the code actions at every DAG and task the server knows, and resolve each (or run
    its command, for clients that do not resolve edits); return the titles that produced an
    edit. The same action offered at several places is resolved once."""
    done: set[str] = set()
    seen: set[str] = set()
    symbols = await client.workspace_symbol_async(types.WorkspaceSymbolParams(query=""))
    assert symbols, "the server knows no DAG"
    for symbol in symbols:
        where = symbol.location
        position = types.Position(where.range.start.line, where.range.start.character + 1)
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            types.TextDocumentIdentifier(where.uri), types.Range(position, position),
            types.CodeActionContext(diagnostics=list(client.diagnostics.get(where.uri, [])))))
        for action in actions or []:
            if action.command is not None:
                continue  # this client runs commands: covered by the commands below
            key = json.dumps([action.data.get("command"), action.data.get("arguments")], sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            try:
                resolved = await client.code_action_resolve_async(action)
            except JsonRpcException:
                continue  # refused (e.g. proxying an unmapped task): planned, nothing to run
            assert resolved.edit is not None, action.title
            done.add(action.title)
    return done


@pytest.mark.asyncio
async def test_indexing_and_every_read_feature_execute_nothing(client: LanguageClient):
    armed: Armed = client.armed
    await indexed(client)
    assert armed.left_behind() == [], "indexing"

    for relative in (*ARMED_PYTHON, STATE, ARMED_YAML):
        client.editor.open(client.root / relative, "yaml" if relative.endswith(".yaml") else "python")
    await wait_for(lambda: uri(client, ARMED_YAML) in client.diagnostics, what="the armed state file's diagnostics")
    for relative in (DAG, ORDERS, MODULE):
        document = types.TextDocumentIdentifier(uri(client, relative))
        await client.text_document_document_symbol_async(types.DocumentSymbolParams(document))
        await client.text_document_code_lens_async(types.CodeLensParams(document))
    hovered = 0
    for symbol in await client.workspace_symbol_async(types.WorkspaceSymbolParams(query="")):
        start = symbol.location.range.start
        hover = await client.text_document_hover_async(types.HoverParams(
            types.TextDocumentIdentifier(symbol.location.uri), types.Position(start.line, start.character + 1)))
        hovered += hover is not None
    assert hovered >= 9  # two DAGs, eight tasks
    module_text = (client.root / MODULE).read_text().splitlines()
    line = next(n for n, text in enumerate(module_text) if '"load_raw_customers"' in text)
    at_key = types.Position(line, module_text[line].index('"load_raw_customers"') + 2)
    assert await client.text_document_hover_async(types.HoverParams(
        types.TextDocumentIdentifier(uri(client, MODULE)), at_key)) is not None
    await client.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(uri(client, MODULE)), at_key))
    state_text = (client.root / STATE).read_text().splitlines()
    line = next(n for n, text in enumerate(state_text) if "export_customers" in text)
    at_id = types.Position(line, state_text[line].index("export_customers") + 1)
    assert await client.text_document_definition_async(types.DefinitionParams(
        types.TextDocumentIdentifier(uri(client, STATE)), at_id))
    await client.text_document_completion_async(types.CompletionParams(
        types.TextDocumentIdentifier(uri(client, STATE)), at_id))
    # Typing in the armed files makes the server analyse them again, from the buffers.
    for relative in (DAG, MODULE):
        document_uri = uri(client, relative)
        client.editor.type(document_uri, client.editor.text(document_uri) + "\n# typed\n")
    await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri(client, DAG))))
    assert armed.left_behind() == []


@pytest.mark.asyncio
async def test_every_command_and_code_action_executes_nothing(client: LanguageClient):
    armed: Armed = client.armed
    await indexed(client)
    client.editor.open(client.root / DAG)
    client.editor.open(client.root / MODULE)
    resolves_edits = bool(getattr(client.capabilities.text_document.code_action, "resolve_support", None))
    resolved = await sweep_code_actions(client)
    assert armed.left_behind() == [], "listing and resolving code actions"

    async def run(command: str, **arguments) -> dict:
        result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
            command=command, arguments=[arguments] if arguments else []))
        assert armed.left_behind() == [], command
        return result

    rebuild, orders = {"dag_id": "rebuild_customers_list"}, {"dag_id": "daily_orders"}
    generated = await run("airlift.scaffoldTask", **rebuild, task_id="load_raw_customers")
    assert generated["applied"] and generated["files"], generated
    assert (await run("airlift.mapTask", **rebuild, task_id="export_customers"))["applied"]
    await until_reported(client, "rebuild_customers_list", mapped=3)
    assert (await run("airlift.mapDag", **orders))["applied"]
    await until_reported(client, "daily_orders", mapped=5)
    assert (await run("airlift.enableProxying", **orders))["applied"]
    await until_reported(client, "daily_orders", hook="present")
    assert (await run("airlift.proxyTask", **rebuild, task_id="build_dbt_models"))["applied"]
    await until_reported(client, "rebuild_customers_list", proxied=1)
    assert (await run("airlift.proxyDag", **orders))["applied"]
    # its TaskGroup's two are left out, and so is `extract_orders`, whose output one of them reads
    await until_reported(client, "daily_orders", proxied=2)
    resolved |= await sweep_code_actions(client)  # the rollback actions, now offered
    assert armed.left_behind() == [], "code actions once proxied"
    assert (await run("airlift.rollbackTask", **rebuild, task_id="build_dbt_models"))["applied"]
    await until_reported(client, "rebuild_customers_list", proxied=0)
    assert (await run("airlift.rollbackDag", **orders))["applied"]
    await until_reported(client, "daily_orders", proxied=0)
    assert (await run("airlift.proxyDag", **rebuild))["applied"]
    await until_reported(client, "rebuild_customers_list", proxied=3)
    assert (await run("airlift.rollbackAll"))["applied"]
    await until_reported(client, "rebuild_customers_list", proxied=0)
    await run("airlift.refreshStatus")
    await run("airlift.migrationReport")

    if resolves_edits:
        assert {"Map `export_customers` to a Dagster asset", "Enable proxying for `daily_orders`",
                "Map all unmapped tasks of `daily_orders`", "Proxy `build_dbt_models` to Dagster",
                "Generate Dagster implementation for `build_dbt_models`",
                "Roll back `build_dbt_models` to Airflow", "Roll back `daily_orders` to Airflow",
                "Generate acceptance test for `load_raw_customers`",  # reads tutorial_shared
                } <= resolved, resolved
    for relative in ARMED_PYTHON:  # the payloads are still there, and never ran
        assert "_airlift_probe" in (client.root / relative).read_text(), relative
    assert armed.left_behind() == []


CLI_RUNS = {
    "check": ["check"],
    "check --json": ["check", "--json"],
    "dags": ["dags", "airflow_dags", "tutorial_dagster"],
    "dags --json": ["dags", "airflow_dags", "tutorial_dagster", "--json"],
    "dags FILE": ["dags", DAG, MODULE, "airflow_dags/tutorial_shared/customers.py"],
    "status": ["status"],
    "status --json": ["status", "--json"],
    "map --dry-run": ["map", "rebuild_customers_list", "export_customers", "--dry-run"],
    "proxy --dry-run": ["proxy", "rebuild_customers_list", "load_raw_customers", "--dry-run"],
    "rollback --dry-run": ["rollback", "--all", "--dry-run"],
}


@pytest.mark.parametrize("name", list(CLI_RUNS))
def test_cli_reading_commands_execute_nothing(armed: Armed, name: str):
    if name.startswith("rollback"):  # something to roll back
        state = armed.root / STATE
        state.write_text(state.read_text().replace("proxied: false", "proxied: true"))
    result = run_cli(*CLI_RUNS[name], cwd=armed.root)
    assert result.returncode in (0, 1), result.stderr  # 1: `check` found errors (the armed state file)
    assert result.stdout.strip(), result.stderr  # it did its work (a listing, a report, a diff)
    assert armed.left_behind() == []


SHADOWS = {
    # A workspace's own top-level package or module named like one the CLI imports.
    "analysis/__init__.py": "a package named `analysis` (airlift-lsp's own analysis package)",
    "libcst.py": "a module named like a dependency (libcst)",
}


@pytest.mark.parametrize("shadow", list(SHADOWS))
def test_python_dash_m_server_run_from_the_workspace_executes_nothing(armed: Armed, shadow: str):
    path = armed.root / shadow
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(payload(armed.sentinels / "shadow"))
    run_cli("check", cwd=armed.root)
    assert armed.left_behind() == [], SHADOWS[shadow]


@pytest.mark.parametrize("shadow", list(SHADOWS))
def test_the_console_script_run_from_the_workspace_executes_nothing(armed: Armed, shadow: str):
    script = Path(sys.executable).parent / "airlift-lsp"
    if not script.exists():
        pytest.fail(f"no airlift-lsp console script beside {sys.executable}: pip install -e .")
    path = armed.root / shadow
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(payload(armed.sentinels / "shadow"))
    result = subprocess.run([str(script), "check"], cwd=armed.root, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode in (0, 1), result.stderr
    assert armed.left_behind() == []
