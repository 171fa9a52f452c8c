"""The language server: one place that wires every feature (``create_server``)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable
from urllib.parse import unquote

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from analysis.files import read_disk
from analysis.project import Layout
from server import __version__
from server.convert import Lines
from server.index import Buffer, Snapshot, WorkspaceIndex, one_line
from server.settings import Settings, load_settings

log = logging.getLogger("airlift-lsp")

DEBOUNCE_SECONDS = 0.02
"""Typing bursts coalesce into one analysis; short enough to keep diagnostics snappy."""


class AirliftServer(LanguageServer):
    def __init__(self) -> None:
        # Each analysis leaves ~10k short-lived objects in reference cycles (ast nodes,
        # records); the default gen-0 threshold (700) runs full collections mid-keystroke.
        gc.set_threshold(50_000, 20, 20)
        super().__init__("airlift-lsp", __version__,
                         text_document_sync_kind=types.TextDocumentSyncKind.Incremental)
        self.settings = Settings()
        self.client_settings: dict[str, Any] = {}
        self.index: WorkspaceIndex | None = None
        self.root: str | None = None
        # One worker: updates are applied in order and handlers never wait for them.
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="airlift-index")
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._published: dict[str, tuple] = {}
        self._warned: set[str] = set()
        self.snapshot_listeners: list[Callable[[Snapshot], None]] = []
        self.hover_extras: list[Callable[[Any, bool], str]] = []
        """Peering appends live run history to hovers through this."""
        self.index_listeners: list[Callable[[], None]] = []
        """Called (on the event loop) each time settings are (re)loaded and the index restarts."""
        self.lens_prefix: Callable[[str, str | None], str] = lambda dag_id, task_id: ""
        self.set_diagnostic_layer: Callable[[str, dict], None] = lambda name, by_path: None
        """Diagnostics of another source (``airlift verify``), published beside the snapshot's."""
        self.poller: Any = None
        self.dagster: Any = None
        """The Dagster side (``server.peering.dagster_watch.DagsterWatcher``) when ``dagster.url`` is set."""
        self.switches: Any = None
        """Proxies and rollbacks followed until live (``server.peering.switches.SwitchBoard``)."""
        self.status_notifications = False
        """The client handles ``airlift/status`` (it said so in initializationOptions)."""
        self._lens_refresh_pending = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.buffers: dict[str, Buffer] = {}
        """Open documents by path: shared with the index, which prefers them to the disk."""

    # -- paths and positions ---------------------------------------------------------------

    @staticmethod
    def path_of(uri: str) -> str | None:
        path = to_fs_path(uri)
        return os.path.normpath(path) if path else None

    @staticmethod
    def uri_of(path: str) -> str:
        return from_fs_path(path) or path

    def lines_for(self, snapshot: Snapshot, path: str) -> Lines:
        """The text a file's facts came from, to convert their positions for the client."""
        text = snapshot.texts.get(path)
        if text is None:
            buffer = self.buffers.get(path)
            text = buffer.text if buffer else ""
        return Lines(text, self.workspace.position_codec)

    def open_text(self, uri: str) -> str | None:
        """An open document's text; None when the client has not opened it. (pygls'
        ``get_text_document`` would read the disk instead, and raise for a file that is gone.)"""
        document = self.workspace.text_documents.get(unquote(uri))
        return document.source if document is not None else None

    def document_text(self, uri: str) -> str | None:
        """The client's current text of a document, to read the positions it sends: its open
        buffer, else the disk, read explicitly; None when it is neither open nor readable."""
        text = self.open_text(uri)
        if text is not None:
            return text
        path = self.path_of(uri)
        return read_disk(path).text if path else None

    def supports(self, *attributes: str) -> bool:
        """Walk the client's capabilities: ``supports("workspace", "code_lens", "refresh_support")``."""
        value: Any = self.client_capabilities
        for attribute in attributes:
            value = getattr(value, attribute, None)
            if value is None:
                return False
        return bool(value)

    # -- index life cycle ------------------------------------------------------------------

    def start_index(self) -> None:
        root = self.root or os.getcwd()
        self.settings, warnings = load_settings(root, self.client_settings)
        for warning in warnings:
            if warning not in self._warned:
                self._warned.add(warning)
                self.window_show_message(types.ShowMessageParams(types.MessageType.Warning,
                                                                 f"airlift-lsp: {warning}"))
        layout = Layout(root, self.settings.dag_folders, self.settings.dagster_module, self.settings.import_roots,
                        self.settings.environment)
        self.index = WorkspaceIndex(layout, on_snapshot=self._snapshot_ready, buffers=self.buffers)
        self.worker.submit(self._rebuild_with_progress)
        for listener in self.index_listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001 - peering failing must not stop the index
                log.exception("index listener failed")

    def refresh_lenses(self, force: bool = False) -> None:
        """Ask the client for lenses again, when it can be asked (Neovim 0.7, eglot cannot)."""
        if self.supports("workspace", "code_lens", "refresh_support"):
            self.workspace_code_lens_refresh(None)

    def _rebuild_with_progress(self) -> None:
        """Index everything; report ``$/progress`` when the client takes it (indexing never
        depends on it)."""
        token = f"airlift-index-{uuid.uuid4().hex[:8]}"
        progress = self.work_done_progress
        reporting = self.supports("window", "work_done_progress")
        if reporting:
            try:
                asyncio.run_coroutine_threadsafe(progress.create_async(token), self.loop).result(10)
                progress.begin(token, types.WorkDoneProgressBegin(title="Airlift: indexing DAGs",
                                                                  percentage=0))
            except Exception:  # noqa: BLE001 - a client refusing progress still gets an index
                log.warning("client refused a progress token", exc_info=True)
                reporting = False
        try:
            snapshot = self.index.rebuild() if self.index else None
            # What start-up built lives as long as the server: keep it out of every future
            # collection, so a collection during typing only walks what typing made.
            gc.collect()
            gc.freeze()
            if reporting and snapshot is not None:
                progress.report(token, types.WorkDoneProgressReport(
                    message=f"{len(snapshot.project.files)} DAG files, {len(snapshot.project.entries)} DAGs",
                    percentage=100))
        except Exception as error:  # noqa: BLE001 - a broken index must not take the server down
            log_failure("indexing the workspace", error)
        finally:
            if reporting:
                progress.end(token, types.WorkDoneProgressEnd(message="done"))

    def schedule_update(self, path: str) -> None:
        """Debounce per file: the last change of a burst triggers the analysis."""
        handle = self._pending.pop(path, None)
        if handle is not None:
            handle.cancel()
        self._pending[path] = self.loop.call_later(DEBOUNCE_SECONDS, self._submit_update, path)

    def _submit_update(self, path: str) -> None:
        self._pending.pop(path, None)
        if self.index is not None:
            self.worker.submit(self._update, [path])

    def update_now(self, paths: list[str]) -> None:
        if self.index is not None:
            self.worker.submit(self._update, paths)

    def _update(self, paths: list[str]) -> None:
        try:
            if self.index is not None:
                self.index.update_files(paths)
        except Exception as error:  # noqa: BLE001 - the next update starts afresh
            log_failure(f"updating {', '.join(paths)}", error)

    def stop_worker(self, timeout: float) -> bool:
        """Drop pending updates and wait for the running one; False when it is still running
        after ``timeout`` (an analysis that never ends must not keep the process alive)."""
        self.worker.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        threads = list(getattr(self.worker, "_threads", ()))
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in threads)

    def _snapshot_ready(self, snapshot: Snapshot) -> None:
        """Runs on the worker thread: hand the snapshot to the event loop."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._publish, snapshot)

    def _publish(self, snapshot: Snapshot) -> None:
        for listener in self.snapshot_listeners:
            try:
                listener(snapshot)
            except Exception:  # noqa: BLE001 - one feature failing leaves the others working
                log.exception("snapshot listener failed")

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The event loop, captured when ``initialize`` runs on it."""
        assert self._loop is not None, "initialize has not run"
        return self._loop


def log_failure(what: str, error: BaseException) -> None:
    """One line for the log; the traceback only at debug level."""
    log.error("%s failed: %s", what, one_line(error))
    log.debug("%s failed", what, exc_info=error)


def create_server() -> AirliftServer:
    """Build the server with every feature registered; capabilities follow from them."""
    from server.features import (
        code_actions,
        code_lens,
        commands,
        completion,
        dagster_reload,
        dagster_runs,
        decommission,
        definition,
        diagnostics,
        documents,
        hover,
        peering,
        report,
        switches,
        symbols,
        verify,
    )

    server = AirliftServer()
    for feature in (documents, diagnostics, hover, code_lens, code_actions, commands, decommission, symbols,
                    definition, completion, peering, dagster_runs, dagster_reload, report, switches, verify):
        feature.register(server)
    return server
