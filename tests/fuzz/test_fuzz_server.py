"""Fuzz (5): the language server over stdio, as a misbehaving editor would drive it.

One server process (``python -m server serve``) per test session, restarted when it breaks.
Each example is a random sequence of ``didOpen``/``didChange`` (random edits, broken syntax,
odd unicode, lone surrogates), ``didClose``, watched-file and configuration changes, requests
at random positions (hover, codeLens, codeAction and its resolve, documentSymbol, completion,
definition, workspace symbols) and ``executeCommand`` of every airlift command with random
arguments; the client applies the edits it is sent, as an editor does.

Properties: every request is answered (a result or a JSON-RPC error) within a bound, the
process never dies, stderr gets no traceback, every edit the server sends fits the document
version it names, and after each sequence the index still follows the buffers (a canary file
changed in the editor shows its new task in the outline).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lsprotocol import types
from pygls.client import JsonRPCClient
from pygls.exceptions import JsonRpcException
from pygls.workspace import TextDocument
from pytest_lsp import client_capabilities
from pytest_lsp.client import make_test_lsp_client

from tests.fuzz.strategies import (
    DAG_SEEDS,
    ID_TEXT,
    REPO,
    TUTORIAL,
    any_dag_source,
    any_dagster_module,
    any_state_file,
    fuzz_settings,
    lsp_lines,
    mutated,
    odd_text,
)

pytestmark = pytest.mark.slow

REQUEST_SECONDS = 30.0
"""A request unanswered this long counts as lost (handlers never wait on the index)."""
CANARY_SECONDS = 30.0
"""How long the index may take to catch up with the canary's new text."""
COMMANDS = ["airlift.mapTask", "airlift.mapDag", "airlift.proxyTask", "airlift.proxyDag",
            "airlift.rollbackTask", "airlift.rollbackDag", "airlift.rollbackAll",
            "airlift.enableProxying", "airlift.refreshStatus", "airlift.migrationReport",
            "airlift.scaffoldTask"]
DAG_IDS = ["rebuild_customers_list", "daily_orders", "classic_with_dag", "groups", "taskflow_sdk"]
TASK_IDS = ["load_raw_customers", "build_dbt_models", "export_customers", "extract_orders",
            "transform.clean_orders", "notify_team", "start", "outer.a"]
DAG_FILE = "airflow_dags/rebuild_customers_list.py"
STATE_FILE = "airflow_dags/proxied_state/rebuild_customers_list.yaml"
MODULE_FILE = "tutorial_dagster/definitions.py"
CANARY = "airflow_dags/zz_canary.py"
CANARY_TEXT = ('from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\n'
               'with DAG("fuzz_canary") as canary_dag:\n    EmptyOperator(task_id="alive_{n}")\n')
TARGETS = [DAG_FILE, DAG_FILE, "airflow_dags/daily_orders.py", "airflow_dags/fixtures/groups.py",
           "airflow_dags/fixtures/taskflow_sdk.py", "airflow_dags/new_dag.py", STATE_FILE, STATE_FILE,
           "airflow_dags/proxied_state/daily_orders.yaml", "airflow_dags/proxied_state/new.yml",
           MODULE_FILE, MODULE_FILE, "airflow_dags/tutorial_shared/orders.py", "pyproject.toml",
           "untitled:Untitled-1", "file:///nonexistent/dir/x.py", "airflow_dags/%E2%82%AC odd name.py"]


def _answered_with_an_error(block: str) -> bool:
    """pygls logs the traceback of every JSON-RPC error it answers with (an unknown command,
    a handler's deliberate ``JsonRpcInvalidRequest``): an answer, not a failure."""
    last = block.rstrip().splitlines()[-1] if block.strip() else ""
    return last.startswith("pygls.exceptions.JsonRpc")


def _traceback_blocks(lines: list[str]) -> list[str]:
    blocks, current = [], None
    for line in lines:
        if line.startswith("Traceback (most recent call last)"):
            current = [line]
            blocks.append(current)
        elif current is not None:
            if re.match(r"\d{4}-\d\d-\d\d ", line):
                current = None
            else:
                current.append(line)
    return [text for text in ("".join(b) for b in blocks) if not _answered_with_an_error(text)]


class Session:
    """A server process and a client on an event loop of its own thread; the test's thread
    calls into it with ``call``. Problems the client sees asynchronously land in ``problems``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-lsp-client", daemon=True)
        self.thread.start()
        self.stderr: list[str] = []
        self.problems: list[str] = []
        self.documents: dict[str, TextDocument] = {}
        self.versions: dict[str, int] = {}
        self.canary_count = 0
        self.broken: str | None = None
        self.configured = False
        self.call(self._start(), 120)

    # -- plumbing

    def call(self, coroutine, timeout: float = REQUEST_SECONDS):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def notify(self, function, *args) -> None:
        async def send():
            function(*args)
        self.call(send())

    async def _start(self) -> None:
        client = make_test_lsp_client()
        self.client = client

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            return self.apply(params.edit)

        @client.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register(params):
            return None

        @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def lens_refresh(params):
            return None

        env = {**os.environ, "PYTHONPATH": str(REPO), "AIRFLOW_URL": "http://127.0.0.1:9"}
        await JsonRPCClient.start_io(client, sys.executable, "-m", "server", "serve", cwd=str(self.root), env=env)
        self.process = client._server
        self.reader = asyncio.ensure_future(self._read_stderr(self.process))
        await asyncio.wait_for(client.initialize_session(types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            root_uri=self.root.as_uri(),
            workspace_folders=[types.WorkspaceFolder(self.root.as_uri(), "fuzz")],
            initialization_options={"airlift": {"airflow": {"url": "http://127.0.0.1:9"}}},
        )), 60)

    async def _read_stderr(self, process) -> None:
        while True:
            line = await process.stderr.readline()
            if not line:
                return
            self.stderr.append(line.decode("utf-8", "replace"))

    def alive(self) -> bool:
        return self.process.returncode is None

    def stop(self) -> None:
        try:
            if self.alive():
                self.call(asyncio.wait_for(self.client.shutdown_session(), 15), 20)
        except Exception:  # noqa: BLE001 - a stuck server is killed below
            pass
        if self.alive():
            self.process.kill()
        try:
            self.call(self.client.stop(), 10)
        except Exception:  # noqa: BLE001
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    # -- the editor side

    def uri(self, target: str) -> str:
        if ":" in target.split("/")[0]:
            return target
        return (self.root / target).as_uri().replace("%25E2%2582%25AC", "%E2%82%AC")

    def text_of(self, uri: str) -> str:
        if uri in self.documents:
            return self.documents[uri].source
        if uri.startswith("file://") and uri.startswith(self.root.as_uri()):
            path = Path(uri[len("file://"):])
            try:
                return path.read_text(encoding="utf-8") if path.exists() else ""
            except (OSError, UnicodeDecodeError):
                return ""
        return ""

    def apply(self, edit: types.WorkspaceEdit) -> types.ApplyWorkspaceEditResult:
        """Apply a workspace edit to the open buffers, as an editor does (versions checked)."""
        operations = list(edit.document_changes or [])
        for uri, edits in (edit.changes or {}).items():
            operations.append(types.TextDocumentEdit(
                types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None), edits))
        for operation in operations:
            if isinstance(operation, types.TextDocumentEdit):
                uri, version = operation.text_document.uri, operation.text_document.version
                if version is not None and uri in self.versions and self.versions[uri] != version:
                    return types.ApplyWorkspaceEditResult(applied=False, failure_reason="version mismatch")
                if version is not None and uri not in self.versions:
                    self.problems.append(f"an edit names version {version} of {uri}, which is not open")
        for operation in operations:
            if not isinstance(operation, types.TextDocumentEdit):
                continue
            uri = operation.text_document.uri
            lines = lsp_lines(self.text_of(uri))
            for text_edit in operation.edits:
                for position in (text_edit.range.start, text_edit.range.end):
                    if position.line > len(lines) or (position.line < len(lines) and position.character > len(
                            lines[position.line].encode("utf-16-le", "surrogatepass")) // 2):
                        self.problems.append(f"an edit of {uri} reaches outside the document: {text_edit.range}")
                if (text_edit.range.start.line, text_edit.range.start.character) > (
                        text_edit.range.end.line, text_edit.range.end.character):
                    self.problems.append(f"an edit of {uri} has its start after its end: {text_edit.range}")
            if uri in self.documents:
                document = self.documents[uri]
                for text_edit in operation.edits:
                    document.apply_change(types.TextDocumentContentChangePartial(
                        range=text_edit.range, text=text_edit.new_text))
                self.versions[uri] += 1
                self.client.text_document_did_change(types.DidChangeTextDocumentParams(
                    types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]),
                    [types.TextDocumentContentChangeWholeDocument(document.source)]))
        return types.ApplyWorkspaceEditResult(applied=True)

    def open(self, uri: str, text: str, language: str) -> None:
        self.documents[uri] = TextDocument(uri, text)
        self.versions[uri] = 1
        self.notify(self.client.text_document_did_open,
                    types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, language, 1, text)))

    def change(self, uri: str, change) -> None:
        document = self.documents[uri]
        if isinstance(change, str):
            document = self.documents[uri] = TextDocument(uri, change)
            content = types.TextDocumentContentChangeWholeDocument(change)
        else:
            document.apply_change(change)
            content = change
        self.versions[uri] += 1
        self.notify(self.client.text_document_did_change, types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]), [content]))

    def close(self, uri: str) -> None:
        self.documents.pop(uri, None)
        self.versions.pop(uri, None)
        self.notify(self.client.text_document_did_close,
                    types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri)))

    def request(self, what: str, coroutine) -> Any:
        """A request's result; None for a JSON-RPC error (an answer too). Lost answers fail."""
        async def ask():
            return await asyncio.wait_for(coroutine, REQUEST_SECONDS)
        try:
            return self.call(ask(), REQUEST_SECONDS + 5)
        except JsonRpcException:
            return None
        except (asyncio.TimeoutError, TimeoutError):
            self.broken = f"{what}: no answer within {REQUEST_SECONDS:g}s"
            raise AssertionError(self.broken) from None
        except RuntimeError as error:  # the client cancels pending requests when the server exits
            self.broken = f"{what}: {error}"
            raise AssertionError(self.broken) from None

    # -- health

    def canary(self, timeout: float = CANARY_SECONDS) -> None:
        """The index still follows the buffers: the canary's new task shows in its outline."""
        uri = self.uri(CANARY)
        self.canary_count += 1
        task_id = f"alive_{self.canary_count}"
        text = CANARY_TEXT.format(n=self.canary_count)
        if uri in self.documents:
            self.change(uri, text)
        else:
            self.open(uri, text, "python")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            symbols = self.request("documentSymbol(canary)", self.client.text_document_document_symbol_async(
                types.DocumentSymbolParams(types.TextDocumentIdentifier(uri)))) or []
            names = {getattr(c, "name", None) for s in symbols for c in (getattr(s, "children", None) or [])}
            if task_id in names:
                return
            time.sleep(0.03)
        self.broken = f"the index stopped following the buffers: {task_id} never showed ({timeout:g}s)"
        raise AssertionError(self.broken)

    def check(self, since: int) -> None:
        if not self.alive():
            self.broken = f"the server exited with code {self.process.returncode}"
            raise AssertionError(self.broken + "\n" + "".join(self.stderr[-40:]))
        problems, self.problems[:] = list(self.problems), []
        assert not problems, problems
        tracebacks = _traceback_blocks(self.stderr[since:])
        context = [line for line in self.stderr[since:] if not line.startswith(("Traceback", " "))][-5:]
        assert not tracebacks, "the server logged a traceback:\n" + "\n".join(t[-2500:] for t in tracebacks[:3]) \
            + "\nlog lines around it:\n" + "".join(context)


def _workspace(root: Path) -> Path:
    shutil.copytree(TUTORIAL, root, ignore=shutil.ignore_patterns("__pycache__"))
    fixtures = root / "airflow_dags" / "fixtures"
    fixtures.mkdir()
    for name in ("groups.py", "taskflow_sdk.py", "classic_with_dag.py", "mapped_operators.py"):
        shutil.copy(REPO / "tests" / "fixtures" / "dags" / name, fixtures / name)
    # On disk from the start: a DAG file that exists only as a buffer is not indexed (a bug
    # of its own, replayed in test_fuzz_regressions.py), and the canary must not depend on it.
    (root / CANARY).write_text(CANARY_TEXT.format(n=0), encoding="utf-8")
    return root


class _Sessions:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.count = 0
        self.current: Session | None = None

    def get(self) -> Session:
        if self.current is not None and self.current.broken is None and self.current.alive():
            return self.current
        if self.current is not None:
            self.current.stop()
        self.count += 1
        self.current = Session(_workspace(self.base / f"ws{self.count}"))
        return self.current

    def close(self) -> None:
        if self.current is not None:
            self.current.stop()


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    pool = _Sessions(tmp_path_factory.mktemp("fuzz-server"))
    yield pool
    pool.close()


# -- the random editor -------------------------------------------------------------------------

def _language(target: str) -> str:
    return "yaml" if target.endswith((".yaml", ".yml")) else "toml" if target.endswith(".toml") else "python"


def _text_for(data, target: str) -> str:
    """New content for a document: what its kind of file may hold (draws depend on ``target``
    only, never on the session's state, so that Hypothesis can replay them)."""
    if target.endswith((".yaml", ".yml")):
        return data.draw(any_state_file())
    if target == MODULE_FILE:
        return data.draw(any_dagster_module())
    if target.endswith(".toml"):
        return data.draw(st.sampled_from(['[tool.airlift-lsp]\ndagFolders = ["airflow_dags"]\n',
                                          "[tool.airlift-lsp\n", '[tool.airlift-lsp]\ndagFolders = 3\n']))
    return data.draw(st.one_of(any_dag_source(), mutated(DAG_SEEDS)))


def _width(line: str) -> int:
    return len(line.encode("utf-16-le", "surrogatepass")) // 2


def _position(raw: tuple[int, int], text: str, *, valid: bool) -> types.Position:
    """A position from two random numbers: inside the text, or (``valid=False``) up to a couple
    of lines and characters past its end."""
    lines = lsp_lines(text)
    line = raw[0] % (len(lines) if valid else len(lines) + 2)
    width = _width(lines[line]) if line < len(lines) else 0
    return types.Position(line, raw[1] % (width + 1 if valid else width + 4))


RAW = st.tuples(st.integers(0, 10**6), st.integers(0, 10**6))


def _arguments(data) -> list:
    dag = st.one_of(st.sampled_from(DAG_IDS), ID_TEXT, st.sampled_from(["../x", "", "a/b"]),
                    st.integers(), st.none())
    task = st.one_of(st.sampled_from(TASK_IDS), ID_TEXT, st.none(), st.lists(st.text(max_size=3), max_size=2))
    form = data.draw(st.sampled_from(["dict", "dict", "dict", "positional", "empty", "junk"]))
    if form == "dict":
        value = {"dag_id": data.draw(dag), "task_id": data.draw(task)}
        if data.draw(st.integers(0, 4)) == 0:
            value["asset"] = data.draw(st.one_of(ID_TEXT, st.sampled_from(["a/b", "/", ""]), st.integers()))
        if data.draw(st.integers(0, 5)) == 0:
            value.pop(data.draw(st.sampled_from(["dag_id", "task_id"])))
        return [value]
    if form == "positional":
        return [data.draw(dag), data.draw(task)]
    if form == "empty":
        return []
    return data.draw(st.sampled_from([[None], [[1, 2]], [{"dag_id": {"x": 1}}], ["rebuild_customers_list", None],
                                      [{"dag_id": "rebuild_customers_list", "task_id": ["a"]}]]))


KINDS = ["open", "open", "change", "change", "change", "close", "hover", "hover", "lens", "action", "action",
         "symbols", "completion", "definition", "command", "command", "workspace_symbol", "watched", "config",
         "sleep"]


def act(session: Session, data) -> None:
    """One random editor action. What is drawn depends only on earlier draws; the session's
    state (open documents, published diagnostics, lenses) is indexed by drawn numbers."""
    client = session.client
    kind = data.draw(st.sampled_from(KINDS))
    target = data.draw(st.sampled_from(TARGETS))
    pick = data.draw(st.integers(0, 10**6))
    first, second = data.draw(RAW), data.draw(RAW)
    uri = session.uri(target)
    open_uris = sorted(session.documents)
    if kind == "open":
        text = _text_for(data, target)
        if uri in session.documents:
            session.change(uri, text)
        else:
            session.open(uri, text, _language(target))
    elif kind == "change":
        whole = data.draw(st.integers(0, 4)) == 0
        replacement = data.draw(st.one_of(any_dag_source(), any_state_file(), odd_text)) if whole else data.draw(
            st.one_of(odd_text, st.sampled_from(["", "(", ")", ":", "\n", "\r\n", "    ", "task_id=", '"x"', ">>",
                                                 "\t", "é😀", "\ud800", "#"])))
        if not open_uris:
            return
        uri = open_uris[pick % len(open_uris)]
        if whole:
            session.change(uri, replacement)
            return
        text = session.documents[uri].source
        start, end = _position(first, text, valid=True), _position(second, text, valid=True)
        if (start.line, start.character) > (end.line, end.character):
            start, end = end, start
        session.change(uri, types.TextDocumentContentChangePartial(range=types.Range(start, end), text=replacement))
    elif kind == "close":
        if open_uris:
            session.close(open_uris[pick % len(open_uris)])
    elif kind in ("hover", "definition", "completion"):
        position = _position(first, session.text_of(uri), valid=False)
        identifier = types.TextDocumentIdentifier(uri)
        if kind == "hover":
            session.request("hover", client.text_document_hover_async(types.HoverParams(identifier, position)))
        elif kind == "definition":
            session.request("definition", client.text_document_definition_async(
                types.DefinitionParams(identifier, position)))
        else:
            session.request("completion", client.text_document_completion_async(
                types.CompletionParams(identifier, position)))
    elif kind == "symbols":
        session.request("documentSymbol", client.text_document_document_symbol_async(
            types.DocumentSymbolParams(types.TextDocumentIdentifier(uri))))
    elif kind == "workspace_symbol":
        query = data.draw(st.one_of(st.sampled_from(["", "load", "."]), ID_TEXT))
        session.request("workspace/symbol", client.workspace_symbol_async(types.WorkspaceSymbolParams(query=query)))
    elif kind == "lens":
        run = data.draw(st.booleans())
        lenses = session.request("codeLens", client.text_document_code_lens_async(
            types.CodeLensParams(types.TextDocumentIdentifier(uri)))) or []
        commands = [lens.command for lens in lenses if lens.command and lens.command.command]
        if commands and run:
            command = commands[pick % len(commands)]
            session.request(f"executeCommand {command.command}", client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=command.command, arguments=command.arguments)))
    elif kind == "action":
        chosen = data.draw(st.lists(st.integers(0, 10**6), max_size=3))
        invented = data.draw(st.sampled_from([None, None, None, "unmapped-task", "missing-proxying-call",
                                              "proxied-without-asset", "syntax-error", "nope"]))
        tamper = [(data.draw(st.integers(0, 3)), data.draw(st.sampled_from(["command", "arguments", "version", "uri"])),
                   data.draw(st.one_of(st.none(), st.integers(), ID_TEXT, st.sampled_from(COMMANDS))))
                  for _ in range(2)]
        text = session.text_of(uri)
        start, end = _position(first, text, valid=False), _position(second, text, valid=False)
        published = list(client.diagnostics.get(uri, []))
        diagnostics = [published[i % len(published)] for i in chosen] if published else []
        if invented:
            diagnostics.append(types.Diagnostic(range=types.Range(start, end), message="fuzz", source="airlift",
                                                code=invented))
        actions = session.request("codeAction", client.text_document_code_action_async(types.CodeActionParams(
            types.TextDocumentIdentifier(uri), types.Range(start, end),
            types.CodeActionContext(diagnostics=diagnostics)))) or []
        for action, (dice, field, value) in zip(actions, tamper):
            if not isinstance(action, types.CodeAction):
                continue
            if dice == 0 and isinstance(action.data, dict):
                action.data = {**action.data, field: value}
            session.request("codeAction/resolve", client.code_action_resolve_async(action))
    elif kind == "command":
        command = data.draw(st.one_of(st.sampled_from(COMMANDS), st.sampled_from(["airlift.nope", ""])))
        session.request(f"executeCommand {command}", client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=command, arguments=_arguments(data))))
    elif kind == "watched":
        change = data.draw(st.sampled_from(list(types.FileChangeType)))
        session.notify(client.workspace_did_change_watched_files,
                       types.DidChangeWatchedFilesParams([types.FileEvent(uri, change)]))
    elif kind == "config":
        settings = data.draw(st.sampled_from([
            {"airlift": {"dagFolders": ["airflow_dags"]}}, {"airlift": {"dagFolders": [".."]}},
            {"airlift": {"dagFolders": "airflow_dags"}}, {"airlift": {"dagsterModule": "nope.py"}},
            {"airlift": {"airflow": {"url": "not a url", "pollInterval": -1}}}, {"airlift": None}, None, [],
        ]))
        session.notify(client.workspace_did_change_configuration, types.DidChangeConfigurationParams(settings=settings))
        session.configured = True
    else:
        time.sleep(data.draw(st.sampled_from([0.0, 0.02, 0.1, 0.3])))


@fuzz_settings(200)
@given(data=st.data())
def test_random_editor_sessions(sessions, data) -> None:
    session = sessions.get()
    since = len(session.stderr)
    session.configured = False
    try:
        for _ in range(data.draw(st.integers(1, 8), label="actions")):
            act(session, data)
        if session.configured:  # back to the workspace's own settings
            session.notify(session.client.workspace_did_change_configuration,
                           types.DidChangeConfigurationParams(settings={"airlift": {}}))
        session.canary()
        time.sleep(0.05)  # let a late traceback reach stderr
        session.check(since)
    finally:
        if session.broken is None and session.alive():
            for uri in [u for u in session.documents if not u.endswith("zz_canary.py")]:
                session.close(uri)
