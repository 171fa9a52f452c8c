"""A timed LSP client for the latency benchmark: pygls's ``LanguageClient`` over stdio.

It answers what a real editor answers (``workspace/configuration``, ``client/registerCapability``,
``window/workDoneProgress/create``, ``workspace/codeLens/refresh``), keeps the latest
``publishDiagnostics`` per URI, and notes when each message's body was fully read off the pipe,
before pygls decodes it: ``wire`` times say what the server costs, ``end`` times add the
client's own decoding. The server runs in its own process group, killed by ``close()``.
Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.protocol import LanguageServerProtocol


class LspTimeout(Exception):
    """The server did not answer (or notify) in time."""


@dataclass
class Published:
    uri: str
    version: int | None
    diagnostics: list[types.Diagnostic]
    arrived: float
    """``time.perf_counter()`` when the notification's body was read off the pipe."""


@dataclass
class Timed:
    result: Any
    wire_ms: float
    """Send to the response's body read off the pipe (before the client decodes it)."""
    end_ms: float
    """Send to the decoded result in hand."""


class _TimedProtocol(LanguageServerProtocol):
    """Records, for each incoming message, when its body finished arriving."""

    def handle_message(self, message):
        client = self._server
        arrived = getattr(client, "last_body_at", None) or time.perf_counter()
        client.current_arrival = arrived
        client.last_message_at = arrived
        msg_id = getattr(message, "id", None)
        if msg_id is not None and not hasattr(message, "method"):
            client.arrivals[msg_id] = arrived
        return super().handle_message(message)


class TimedClient(LanguageClient):
    def __init__(self) -> None:
        super().__init__("airlift-latency-bench", "1", protocol_cls=_TimedProtocol)
        self.arrivals: dict[Any, float] = {}
        self.last_body_at: float | None = None
        self.current_arrival: float = 0.0
        self.last_message_at: float = time.perf_counter()
        self.published: dict[str, Published] = {}
        self.publish_log: list[Published] = []
        self.lens_refreshes = 0
        self.progress_creates = 0
        self.registrations: list[str] = []
        self.messages: list[str] = []
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=400)
        self.stderr_lines = 0
        self.server_errors: list[str] = []
        self.capabilities: types.ServerCapabilities | None = None
        self._waiters: list[tuple[Callable[[Published], bool], asyncio.Future]] = []
        self._ids = itertools.count(1)
        self._stderr_task: asyncio.Task | None = None
        self.pid: int | None = None
        self.spawned_at = 0.0
        self._register_handlers()

    # -- what an editor answers ----------------------------------------------------------

    def _register_handlers(self) -> None:
        @self.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: types.PublishDiagnosticsParams) -> None:
            item = Published(params.uri, params.version, list(params.diagnostics), self.current_arrival)
            self.published[params.uri] = item
            self.publish_log.append(item)
            for waiter in list(self._waiters):
                predicate, future = waiter
                if not future.done() and predicate(item):
                    future.set_result(item)
                    self._waiters.remove(waiter)

        @self.feature(types.WORKSPACE_CONFIGURATION)
        def configuration(params: types.ConfigurationParams) -> list[Any]:
            return [{} for _ in params.items]

        @self.feature(types.CLIENT_REGISTER_CAPABILITY)
        def register_capability(params: types.RegistrationParams) -> None:
            self.registrations.extend(r.method for r in params.registrations)

        @self.feature(types.WINDOW_WORK_DONE_PROGRESS_CREATE)
        def create_progress(params: types.WorkDoneProgressCreateParams) -> None:
            self.progress_creates += 1

        @self.feature(types.WORKSPACE_CODE_LENS_REFRESH)
        def code_lens_refresh(params: None) -> None:
            self.lens_refreshes += 1

        @self.feature(types.PROGRESS)
        def progress(params: types.ProgressParams) -> None:
            pass

        @self.feature(types.WINDOW_SHOW_MESSAGE)
        def show_message(params: types.ShowMessageParams) -> None:
            self.messages.append(params.message)

        @self.feature(types.WINDOW_LOG_MESSAGE)
        def log_message(params: types.LogMessageParams) -> None:
            self.messages.append(params.message)

    def report_server_error(self, error, source) -> None:  # called by pygls
        self.server_errors.append(f"{source.__name__}: {error}")

    # -- process -------------------------------------------------------------------------

    async def spawn(self, argv: list[str], cwd: str, env: dict[str, str] | None = None) -> None:
        self.spawned_at = time.perf_counter()
        await self.start_io(argv[0], *argv[1:], cwd=cwd, env=env, start_new_session=True)
        process = self._server
        assert process is not None and process.stdout is not None
        self.pid = process.pid
        original = process.stdout.readexactly

        async def timed_readexactly(n: int) -> bytes:
            data = await original(n)
            self.last_body_at = time.perf_counter()
            return data

        process.stdout.readexactly = timed_readexactly  # type: ignore[method-assign]
        self._stderr_task = asyncio.create_task(self._drain_stderr(process.stderr))

    async def _drain_stderr(self, stream: asyncio.StreamReader | None) -> None:
        if stream is None:
            return
        while True:
            line = await stream.readline()
            if not line:
                return
            self.stderr_lines += 1
            self.stderr_tail.append(line.decode("utf-8", "replace").rstrip())

    def rss_mb(self) -> float | None:
        """The server process's resident memory (Linux), or None."""
        try:
            with open(f"/proc/{self.pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) / 1024
        except (OSError, ValueError, TypeError):
            return None
        return None

    async def close(self, timeout: float = 5.0) -> None:
        """Polite shutdown/exit, then SIGKILL to the whole process group whatever happened."""
        process = self._server
        try:
            # Any failure here is fine: the kill below is the guarantee.
            with contextlib.suppress(Exception):
                if process is not None and process.returncode is None and not self.stopped:
                    await asyncio.wait_for(self.shutdown_async(None), timeout)
                    self.exit(None)
                    await asyncio.wait_for(process.wait(), timeout)
        finally:
            if self.pid is not None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.stop(), timeout)
            if self._stderr_task is not None:
                self._stderr_task.cancel()

    # -- session -------------------------------------------------------------------------

    async def initialize_timed(self, params: types.InitializeParams, timeout: float) -> Timed:
        timed = await self.request(types.INITIALIZE, params, timeout)
        self.capabilities = timed.result.capabilities
        self.initialized(types.InitializedParams())
        return timed

    # -- requests and notifications --------------------------------------------------------

    async def request(self, method: str, params: Any, timeout: float) -> Timed:
        msg_id = f"bench-{next(self._ids)}"
        start = time.perf_counter()
        future = self.protocol.send_request(method, params, msg_id=msg_id)
        try:
            result = await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except asyncio.TimeoutError:
            self.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))
            raise LspTimeout(f"{method}: no answer within {timeout:.1f} s") from None
        end = time.perf_counter()
        arrived = self.arrivals.pop(msg_id, end)
        return Timed(result, 1000 * (arrived - start), 1000 * (end - start))

    def notify(self, method: str, params: Any) -> float:
        start = time.perf_counter()
        self.protocol.notify(method, params)
        return start

    async def wait_published(self, predicate: Callable[[Published], bool], timeout: float,
                             what: str = "publishDiagnostics") -> Published:
        future = asyncio.get_running_loop().create_future()
        waiter = (predicate, future)
        self._waiters.append(waiter)
        try:
            return await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise LspTimeout(f"no {what} within {timeout:.1f} s") from None
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    async def settle(self, quiet: float = 0.25, timeout: float = 10.0) -> bool:
        """Wait until the server has sent nothing for ``quiet`` seconds; False on timeout."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            idle = time.perf_counter() - self.last_message_at
            if idle >= quiet:
                return True
            await asyncio.sleep(quiet - idle + 0.005)
        return False


@dataclass
class Document:
    """The client's copy of an open document, to build one-line incremental edits."""

    uri: str
    text: str
    version: int = 1
    lines: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.lines = self.text.split("\n")

    def replace_in_line(self, line: int, old: str, new: str) -> types.DidChangeTextDocumentParams:
        """Replace the first ``old`` on ``line`` (ASCII) with ``new``; the next version's change."""
        current = self.lines[line]
        if not current.isascii():
            raise ValueError(f"line {line + 1} is not ASCII: columns would need UTF-16 care")
        column = current.index(old)
        self.lines[line] = current[:column] + new + current[column + len(old):]
        self.version += 1
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(line, column), types.Position(line, column + len(old))),
            text=new,
        )
        return types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=self.uri, version=self.version),
            content_changes=[change],
        )

    def current_text(self) -> str:
        return "\n".join(self.lines)
