"""No lost edits (issue 7, faults): the Dagster module or a state file changed by someone else
while the server plans an edit of it.

Every edit is checked against an oracle: the CLI (`python -m server map|proxy|rollback`) run on
a scratch copy of the workspace whose files hold exactly what the editor holds (unsaved buffers
included). The same engine on the same text must give the same file, so an edit planned from
the wrong text (the disk instead of the buffer, the old disk instead of the new one) shows as a
difference, not only as a missing marker line.

- An OPEN file with unsaved changes: the edit is planned from the buffer and carries the
  buffer's version (clients without ``documentChanges``, like Neovim 0.7, get an unversioned
  ``changes`` edit: the LSP gives no way to version it).
- A CLOSED file changed on disk by another process: planned from the new content, with and
  without ``workspace/didChangeWatchedFiles``.
- A race: the buffer moves on while the edit is in flight. A conforming client rejects the
  edit (it carries the old version), nothing is lost, running the command again works. For a
  client that applies edits blindly (Neovim 0.7), a ``codeAction/resolve`` listed against a
  version that moved is refused, and a fresh one is planned from the current buffer.
- The CLI: a file changed on disk between the plan and the write.
"""

from __future__ import annotations

import asyncio
import difflib
import gc
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.workspace import TextDocument
from pytest_lsp import ClientServerConfig, LanguageClient

from analysis.dagster.module import parse_dagster_module
from analysis.state.proxied_state import parse_state_file
from tests.conftest import TUTORIAL, run_cli
from tests.e2e.editor import Editor, start_session

DAG = "airflow_dags/rebuild_customers_list.py"
ORDERS = "airflow_dags/daily_orders.py"
STATE = "airflow_dags/proxied_state/rebuild_customers_list.yaml"
MODULE = "tutorial_dagster/definitions.py"
DAG_ID = "rebuild_customers_list"

VSCODE, NEOVIM_07, EMACS = "visual-studio-code", "neovim@v0.7.0", "emacs"
UNVERSIONED = "unversioned (a `changes` map)"


class RacingEditor(Editor):
    """An editor whose user may type while a workspace/applyEdit is in flight: ``before_apply``
    runs when the edit arrives, before the editor checks versions and applies it."""

    def __init__(self, client: LanguageClient) -> None:
        super().__init__(client)
        self.before_apply: list[Callable[[], None]] = []
        self.results: list[types.ApplyWorkspaceEditResult] = []

    def apply(self, edit: types.WorkspaceEdit) -> types.ApplyWorkspaceEditResult:
        while self.before_apply:
            self.before_apply.pop(0)()
        result = super().apply(edit)
        self.results.append(result)
        return result

    def open_at(self, path: Path, version: int, language: str = "python") -> str:
        """Open with a given first version (Neovim starts at 0, VS Code at 1)."""
        uri = path.as_uri()
        text = path.read_text(encoding="utf-8")
        self.documents[uri] = TextDocument(uri, text)
        self.versions[uri] = version
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, language, version, text)))
        return uri


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]),
                    params=[VSCODE])
async def client(lsp_client: LanguageClient, request, tmp_path: Path):
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    without_peering(root)
    lsp_client.root = root
    lsp_client.scratch = tmp_path
    lsp_client.profile = request.param
    lsp_client.editor = RacingEditor(lsp_client)

    await start_session(lsp_client, root, request.param)
    await wait_for(lambda: "unmapped-task" in codes(lsp_client, DAG))  # indexed
    yield
    await lsp_client.shutdown_session()


# -- helpers ------------------------------------------------------------------------------


def without_peering(root: Path) -> None:
    """No Airflow URL: nothing polls in the background (what is tested here is edits)."""
    pyproject = root / "pyproject.toml"
    lines = pyproject.read_text().splitlines(keepends=True)
    pyproject.write_text("".join(line for line in lines if not line.startswith("airflow = ")))


async def wait_for(predicate, timeout: float = 8.0, what: str = "a condition") -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


def codes(client: LanguageClient, relative: str) -> list[str]:
    return sorted(str(d.code) for d in client.diagnostics.get((client.root / relative).as_uri(), []))


async def run(client: LanguageClient, command: str, **arguments) -> dict:
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=command, arguments=[arguments]))


def documents_in(edit: types.WorkspaceEdit) -> dict[str, int | None | str]:
    """The documents an edit touches, with the version each edit was made for."""
    found: dict[str, int | None | str] = {}
    for operation in edit.document_changes or ():
        if isinstance(operation, types.TextDocumentEdit):
            found[operation.text_document.uri] = operation.text_document.version
    for uri in edit.changes or {}:
        found[uri] = UNVERSIONED
    return found


def versions_declared(client: LanguageClient) -> bool:
    """Whether the client takes versioned ``documentChanges`` (Neovim 0.7 does not)."""
    workspace_edit = client.capabilities.workspace.workspace_edit
    return bool(workspace_edit and workspace_edit.document_changes)


def expect_version(client: LanguageClient, edit: types.WorkspaceEdit, uri: str, version: int | None) -> None:
    touched = documents_in(edit)
    assert uri in touched, (uri, touched)
    assert touched[uri] == (version if versions_declared(client) else UNVERSIONED), touched


def oracle(client: LanguageClient, texts: dict[str, str], *cli: str) -> dict[str, str]:
    """What the CLI makes of a copy of the workspace holding ``texts``: the expected files."""
    copy = client.scratch / f"oracle-{len(list(client.scratch.glob('oracle-*')))}"
    shutil.copytree(client.root, copy)
    for relative, text in texts.items():
        (copy / relative).write_text(text, encoding="utf-8")
    result = run_cli(*cli, cwd=copy)
    assert result.returncode == 0, result.stderr
    return {p.relative_to(copy).as_posix(): p.read_text(encoding="utf-8")
            for p in copy.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


def only_insertions(before: str, after: str) -> bool:
    """Every line of ``before`` is still in ``after``, in order, untouched."""
    matcher = difflib.SequenceMatcher(a=before.splitlines(), b=after.splitlines(), autojunk=False)
    return all(tag in ("equal", "insert") for tag, *_ in matcher.get_opcodes())


def flags(relative: str, text: str) -> dict[str, bool]:
    state = parse_state_file(relative, text)
    assert state.error is None, state.error
    return {t.task_id: t.proxied for t in state.tasks}


def disk(client: LanguageClient, relative: str) -> str:
    return (client.root / relative).read_text(encoding="utf-8")


def write_behind_the_editor(client: LanguageClient, relative: str, text: str, *, notify: bool) -> None:
    """Another process (git pull, a teammate's script) rewrites a file that is not open."""
    path = client.root / relative
    path.write_text(text, encoding="utf-8")
    if notify:
        client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
            [types.FileEvent(path.as_uri(), types.FileChangeType.Changed)]))


# -- 1. open files with unsaved changes: planned from the buffer, versioned with it ----------


@pytest.mark.parametrize("client", [VSCODE, NEOVIM_07, EMACS], indirect=True)
@pytest.mark.asyncio
async def test_map_edits_the_open_dagster_module_from_its_unsaved_buffer(client: LanguageClient):
    uri = client.editor.open(client.root / MODULE)
    saved = disk(client, MODULE)
    # Unsaved: lines above and inside the mappings, so an edit planned from the disk lands
    # four lines off.
    unsaved = saved.replace("import os\n", "import os\n# unsaved 1\n# unsaved 2\n# unsaved 3\n", 1)
    unsaved = unsaved.replace("task_mappings={\n", "task_mappings={\n                    # unsaved: inside\n", 1)
    assert unsaved.count("# unsaved") == 4
    client.editor.type(uri, unsaved)
    version = client.editor.versions[uri]
    expected = oracle(client, {MODULE: unsaved}, "map", DAG_ID, "export_customers")[MODULE]

    result = await run(client, "airlift.mapTask", dag_id=DAG_ID, task_id="export_customers")

    assert result["applied"], result
    [request] = client.editor.applied
    expect_version(client, request.edit, uri, version)
    assert client.editor.text(uri) == expected
    assert only_insertions(unsaved, client.editor.text(uri))
    module = parse_dagster_module(MODULE, client.editor.text(uri))
    assert (DAG_ID, "export_customers") in {(m.dag_id, m.task_id) for m in module.mappings}


@pytest.mark.parametrize("client", [VSCODE, NEOVIM_07, EMACS], indirect=True)
@pytest.mark.asyncio
async def test_proxy_and_rollback_edit_the_open_state_file_from_its_unsaved_buffer(client: LanguageClient):
    uri = client.editor.open(client.root / STATE, "yaml")
    saved = disk(client, STATE)
    # Unsaved: a header line, and build_dbt_models proxied in the buffer only.
    unsaved = "# unsaved header\n" + saved.replace(
        "- id: build_dbt_models\n    proxied: false", "- id: build_dbt_models\n    proxied: true")
    assert flags(STATE, unsaved)["build_dbt_models"] is True
    client.editor.type(uri, unsaved)
    version = client.editor.versions[uri]
    expected = oracle(client, {STATE: unsaved}, "rollback", DAG_ID, "build_dbt_models")[STATE]

    # On disk build_dbt_models is not proxied: only a plan from the buffer has work to do.
    result = await run(client, "airlift.rollbackTask", dag_id=DAG_ID, task_id="build_dbt_models")

    assert result["applied"] and result["files"], result
    [request] = client.editor.applied
    expect_version(client, request.edit, uri, version)
    assert client.editor.text(uri) == expected
    assert client.editor.text(uri).startswith("# unsaved header\n")
    assert flags(STATE, client.editor.text(uri))["build_dbt_models"] is False

    # Unsaved again (the editor saved the applied edit): proxying plans from the new buffer.
    unsaved = client.editor.text(uri).replace("  - id: export_customers", "  # unsaved note\n  - id: export_customers")
    client.editor.type(uri, unsaved)
    version = client.editor.versions[uri]
    expected = oracle(client, {STATE: unsaved}, "proxy", DAG_ID, "load_raw_customers")
    result = await run(client, "airlift.proxyTask", dag_id=DAG_ID, task_id="load_raw_customers")
    assert result["applied"], result
    expect_version(client, client.editor.applied[-1].edit, uri, version)
    assert client.editor.text(uri) == expected[STATE]
    assert "  # unsaved note\n" in client.editor.text(uri)
    assert flags(STATE, client.editor.text(uri)) == {
        "build_dbt_models": False, "export_customers": False, "load_raw_customers": True}
    assert disk(client, DAG) == expected[DAG]  # the closed DAG file: its hook switched on


# -- 2. closed files changed on disk by another process ---------------------------------------


@pytest.mark.parametrize("notify", [True, False], ids=["watched", "unwatched"])
@pytest.mark.asyncio
async def test_map_plans_from_the_new_disk_content_of_a_closed_dagster_module(client: LanguageClient,
                                                                              notify: bool):
    theirs = disk(client, MODULE).replace("import os\n", "import os\n\n# reformatted elsewhere\n", 1)
    theirs = theirs.replace("task_mappings={\n", 'task_mappings={\n                    "ghost_task": '
                            '[AssetSpec(key="ghost")],\n', 1)
    write_behind_the_editor(client, MODULE, theirs, notify=notify)
    if notify:  # the server re-read it: the ghost mapping is reported
        await wait_for(lambda: "mapping-unknown-task" in codes(client, MODULE), what="the module re-read")
    expected = oracle(client, {}, "map", DAG_ID, "export_customers")[MODULE]

    result = await run(client, "airlift.mapTask", dag_id=DAG_ID, task_id="export_customers")

    assert result["applied"], result
    [request] = client.editor.applied
    expect_version(client, request.edit, (client.root / MODULE).as_uri(), None)  # not open
    assert disk(client, MODULE) == expected
    assert only_insertions(theirs, disk(client, MODULE))
    assert '"ghost_task": [AssetSpec(key="ghost")],' in disk(client, MODULE)


@pytest.mark.asyncio
async def test_a_mapping_added_on_disk_behind_the_servers_back_is_not_added_twice(client: LanguageClient):
    theirs = disk(client, MODULE).replace(
        "task_mappings={\n", 'task_mappings={\n                    "export_customers": '
        '[AssetSpec(key="customers_export", deps=["customers"])],\n', 1)
    write_behind_the_editor(client, MODULE, theirs, notify=False)
    # The index still says export_customers is unmapped (its lens still offers to map it).
    assert "unmapped-task" in codes(client, DAG)

    result = await run(client, "airlift.mapTask", dag_id=DAG_ID, task_id="export_customers")

    assert result == {"applied": True, "reason": result["reason"], "files": []}, result
    assert client.editor.applied == []
    assert disk(client, MODULE) == theirs


@pytest.mark.parametrize("notify", [True, False], ids=["watched", "unwatched"])
@pytest.mark.asyncio
async def test_proxy_plans_from_the_new_disk_content_of_a_closed_state_file(client: LanguageClient,
                                                                            notify: bool):
    theirs = "# flipped by a teammate\n" + disk(client, STATE).replace(
        "- id: build_dbt_models\n    proxied: false", "- id: build_dbt_models\n    proxied: true"
    ) + "  - id: ghost_task\n    proxied: false\n"
    write_behind_the_editor(client, STATE, theirs, notify=notify)
    if notify:
        await wait_for(lambda: "unknown-task-in-state" in codes(client, STATE), what="the state re-read")
    expected = oracle(client, {}, "proxy", DAG_ID, "load_raw_customers")

    result = await run(client, "airlift.proxyTask", dag_id=DAG_ID, task_id="load_raw_customers")

    assert result["applied"], result
    edit = client.editor.applied[-1].edit
    expect_version(client, edit, (client.root / STATE).as_uri(), None)
    assert disk(client, STATE) == expected[STATE]
    assert disk(client, DAG) == expected[DAG]
    assert flags(STATE, disk(client, STATE)) == {
        "build_dbt_models": True, "export_customers": False, "load_raw_customers": True, "ghost_task": False}
    assert disk(client, STATE).startswith("# flipped by a teammate\n")


def _orders_moved_on_disk(text: str) -> str:
    """A teammate's change: a line at the top, and a module-level call just above the
    ``daily_orders()`` call, on the very line where that call used to be."""
    moved = "# reformatted by a teammate\n" + text.replace(
        "    report >> notification\n\n\ndaily_orders()\n",
        "    report >> notification\n\nprint('daily_orders loaded')\ndaily_orders()\n")
    assert moved.count("print('daily_orders loaded')") == 1
    old_line = text.splitlines().index("daily_orders()")
    assert moved.splitlines()[old_line] == "print('daily_orders loaded')"
    return moved


async def _dag_symbol_line(client: LanguageClient, relative: str) -> int:
    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(
        types.TextDocumentIdentifier((client.root / relative).as_uri())))
    return symbols[0].range.start.line if symbols else -1


def _assert_orders_bound_right(text: str) -> None:
    lines = text.splitlines()
    assert "print('daily_orders loaded')" in lines, "the teammate's line was rewritten"
    assert any(line.endswith(" = daily_orders()") for line in lines), "the DAG is not bound"
    assert text.count("proxying_to_dagster(") == 1


@pytest.mark.asyncio
async def test_enable_proxying_after_a_watched_change_binds_the_dag_call(client: LanguageClient):
    before = await _dag_symbol_line(client, ORDERS)
    write_behind_the_editor(client, ORDERS, _orders_moved_on_disk(disk(client, ORDERS)), notify=True)
    # Re-read: the DAG moved down one line.
    for _ in range(200):
        if await _dag_symbol_line(client, ORDERS) == before + 1:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the server never re-read daily_orders.py")

    result = await run(client, "airlift.enableProxying", dag_id="daily_orders")

    assert result["applied"], result
    _assert_orders_bound_right(disk(client, ORDERS))


@pytest.mark.asyncio
async def test_enable_proxying_after_an_unwatched_change_binds_the_dag_call(client: LanguageClient):
    # No watcher event: the plan must take its facts from the text it edits, not the index's.
    write_behind_the_editor(client, ORDERS, _orders_moved_on_disk(disk(client, ORDERS)), notify=False)

    result = await run(client, "airlift.enableProxying", dag_id="daily_orders")

    assert result["applied"], result
    _assert_orders_bound_right(disk(client, ORDERS))


DAG_LEVEL = "# the whole DAG handed to Dagster by a teammate\nproxied: true\n"


@pytest.mark.asyncio
async def test_rolling_back_a_task_of_a_dag_level_file_is_refused_after_a_watched_change(client: LanguageClient):
    write_behind_the_editor(client, STATE, DAG_LEVEL, notify=True)
    # Re-read: the whole DAG proxied, and no asset mapped to the DAG as a whole.
    await wait_for(lambda: "proxied-without-asset" in codes(client, STATE), what="the state re-read")

    result = await run(client, "airlift.rollbackTask", dag_id=DAG_ID, task_id="build_dbt_models")

    assert not result["applied"] and "proxies the whole DAG" in result["reason"], result
    assert disk(client, STATE) == DAG_LEVEL


@pytest.mark.asyncio
async def test_rolling_back_a_task_of_a_dag_level_file_is_refused_after_an_unwatched_change(
        client: LanguageClient):
    write_behind_the_editor(client, STATE, DAG_LEVEL, notify=False)

    result = await run(client, "airlift.rollbackTask", dag_id=DAG_ID, task_id="build_dbt_models")

    assert disk(client, STATE) == DAG_LEVEL  # nothing overwritten, either way
    assert not result["applied"] and "proxies the whole DAG" in result["reason"], result


# -- 3. races: the buffer moves on while the edit is in flight ----------------------------------


@pytest.mark.parametrize("client", [VSCODE, EMACS], indirect=True)
@pytest.mark.asyncio
async def test_an_edit_overtaken_by_typing_is_rejected_and_nothing_is_lost(client: LanguageClient):
    uri = client.editor.open(client.root / MODULE)
    saved = disk(client, MODULE)
    version = client.editor.versions[uri]
    typed = saved.replace("import os\n", "import os\n# typed while the edit was in flight\n", 1)
    client.editor.before_apply.append(lambda: client.editor.type(uri, typed))

    result = await run(client, "airlift.mapTask", dag_id=DAG_ID, task_id="export_customers")

    [request] = client.editor.applied
    expect_version(client, request.edit, uri, version)  # planned for the version before typing
    assert client.editor.versions[uri] == version + 1
    assert not client.editor.results[0].applied
    assert not result["applied"] and result["reason"], result
    assert client.editor.text(uri) == typed, "the typing is kept, the stale edit not applied"
    assert disk(client, MODULE) == saved
    await wait_for(lambda: any("not applied" in m.message for m in client.messages), what="the error message")

    # Running the command again plans from what the user typed.
    expected = oracle(client, {MODULE: typed}, "map", DAG_ID, "export_customers")[MODULE]
    result = await run(client, "airlift.mapTask", dag_id=DAG_ID, task_id="export_customers")
    assert result["applied"], result
    expect_version(client, client.editor.applied[-1].edit, uri, version + 1)
    assert client.editor.text(uri) == expected


@pytest.mark.parametrize("client", [NEOVIM_07, VSCODE], indirect=True)
@pytest.mark.asyncio
async def test_a_resolve_listed_against_a_version_that_moved_is_refused_even_version_0(
        client: LanguageClient):
    """Neovim 0.7 opens buffers at version 0 and applies edits without checking versions
    (it declares no documentChanges): the server checks, at resolve, the version the action
    was listed for, 0 included, and plans from the buffers as they are then."""
    editor = client.editor
    dag_uri = editor.open_at(client.root / DAG, version=0)
    module_uri = editor.open_at(client.root / MODULE, version=0)
    module_unsaved = disk(client, MODULE).replace("import os\n", "import os\n# unsaved 1\n# unsaved 2\n", 1)
    editor.type(module_uri, module_unsaved)

    async def map_action() -> types.CodeAction:
        lines = editor.text(dag_uri).splitlines()
        line = next(n for n, text in enumerate(lines) if '"export_customers"' in text)
        position = types.Position(line, lines[line].index('"export_customers"') + 1)
        actions = await client.text_document_code_action_async(types.CodeActionParams(
            types.TextDocumentIdentifier(dag_uri), types.Range(position, position),
            types.CodeActionContext(diagnostics=list(client.diagnostics.get(dag_uri, [])))))
        [action] = [a for a in actions if a.title == "Map `export_customers` to a Dagster asset"]
        return action

    stale = await map_action()
    assert stale.edit is None and stale.command is None, "this client resolves edits"
    assert stale.data["version"] == 0
    editor.type(dag_uri, editor.text(dag_uri) + "# typed after listing\n")  # version 1
    with pytest.raises(JsonRpcException, match="changed since this action was listed"):
        await client.code_action_resolve_async(stale)

    fresh = await map_action()
    assert fresh.data["version"] == 1
    expected = oracle(client, {MODULE: module_unsaved}, "map", DAG_ID, "export_customers")[MODULE]
    resolved = await client.code_action_resolve_async(fresh)
    expect_version(client, resolved.edit, module_uri, editor.versions[module_uri])
    assert editor.apply(resolved.edit).applied  # blindly, when unversioned
    assert editor.text(module_uri) == expected
    assert editor.text(dag_uri).endswith("# typed after listing\n")


# -- 4. the CLI: a file changed on disk between the plan and the write ---------------------------


CONCURRENT = "# written by another process while airlift-lsp was planning\n"


def _cli_in_process(monkeypatch, capsys, root: Path, planner: str, argv: list[str],
                    concurrent: Callable[[object], None]) -> tuple[int, str]:
    """``server.cli.main(argv)`` in ``root``; right after ``planner`` returns its plan,
    ``concurrent(plan)`` changes a file the plan writes, as another process would."""
    from analysis import plans as migrate
    from server.cli import main

    original = getattr(migrate, planner)

    def planned_then_raced(*args, **kwargs):
        plan = original(*args, **kwargs)
        assert plan.changes, "the plan must write something for the race to matter"
        concurrent(plan)
        return plan

    monkeypatch.setattr(migrate, planner, planned_then_raced)
    monkeypatch.chdir(root)
    try:
        code = main(argv)
    finally:
        gc.enable()  # main() disables the cyclic GC for its short-lived process
    return code, capsys.readouterr().err


def _prepend(plan) -> None:
    """Another process edits the first file the plan changes."""
    path = Path(plan.changes[0].path)
    path.write_text(CONCURRENT + path.read_text(encoding="utf-8"), encoding="utf-8")


def _create(plan) -> None:
    """Another process creates the file the plan creates."""
    [path] = [Path(c.path) for c in plan.changes if c.old_text is None]
    assert not path.exists()
    path.write_text(CONCURRENT + "proxied: false\n", encoding="utf-8")


CLI_CASES = {
    "map": ("plan_map", ["map", DAG_ID, "export_customers"], _prepend),
    "proxy": ("plan_proxy", ["proxy", DAG_ID, "load_raw_customers"], _prepend),
    "rollback": ("plan_rollback", ["rollback", DAG_ID], _prepend),
    "proxy-creating-the-state-file": ("plan_proxy", ["proxy", DAG_ID, "load_raw_customers"], _create),
}


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_the_cli_never_overwrites_a_change_made_between_plan_and_write(tmp_path, monkeypatch, capsys, case):
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    planner, argv, concurrent = CLI_CASES[case]
    state = root / STATE
    if case == "rollback":
        state.write_text(state.read_text().replace("proxied: false", "proxied: true"))
    if concurrent is _create:
        state.unlink()

    code, stderr = _cli_in_process(monkeypatch, capsys, root, planner, argv, concurrent)

    raced = [p for p in root.rglob("*") if p.is_file() and p.read_text(errors="replace").startswith(CONCURRENT)]
    assert raced, f"the concurrent change was overwritten (exit {code}): {stderr}"
    # Refusing is what docs/cli.md's "an error is one line on stderr" promises.
    assert code != 0 and stderr.strip(), (code, stderr)
    assert "changed on disk while the edit was planned; nothing written" in stderr
