"""Dagster reloads its code location when a Dagster module changes on disk (with ``dagster.url``
set): after "Map task to asset" or "Generate Dagster implementation" wrote it, or the user saved
it. The reload itself runs on the poller thread (``server.peering.dagster_reload``), which stats
the modules at every poll; here a save, or a new snapshot whose module changed on disk, asks for
that poll ``NUDGE_DELAY`` seconds after the last one of a burst instead of at the next interval.
A reload that failed, or whose new code did not load (the user's syntax error), is one line in
the Output and on the lens and hover of the tasks mapped in the module."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import MappingProxyType
from typing import Any, TypeVar

from lsprotocol import types

from server.app import AirliftServer
from server.index import Snapshot
from server.peering.dagster_reload import CodeReloader, ModuleMap, signature

T = TypeVar("T")

NUDGE_DELAY = 1.0
"""Seconds without another change before the poll that reloads."""


def module_maps(project) -> MappingProxyType:
    """Each Dagster module of the project (path) → the asset keys it maps, and to which tasks."""
    return MappingProxyType({path: ModuleMap(frozenset(ref.key for m in module.mappings for ref in m.assets),
                                             frozenset((m.dag_id, m.task_id) for m in module.mappings))
                             for path, module in project.dagster_modules.items()})


def of_project(server: AirliftServer, derive: Callable[[Any], T], empty: T) -> Callable[[], T]:
    """``derive(project)`` of the current snapshot's project, derived again only when a snapshot
    holds a new Project (each published snapshot does), so the polls between two updates do not
    read the project again; ``empty`` before the first snapshot. For the poller thread: it reads
    an immutable snapshot."""
    last: list = [None, empty]

    def current() -> T:
        snapshot = server.index.snapshot if server.index else None
        if snapshot is not None and last[0] is not snapshot.project:
            last[:] = [snapshot.project, derive(snapshot.project)]
        return last[1]

    return current


def reloader_for(server: AirliftServer) -> CodeReloader | None:
    """None with an API token: Dagster+ serves the code deployed to it, not this disk's."""
    if server.settings.dagster.token:
        return None
    return CodeReloader(of_project(server, module_maps, MappingProxyType({})))


def register(server: AirliftServer) -> None:
    seen: dict[str, tuple | None] = {}
    started = [False]
    timer: list[asyncio.TimerHandle | None] = [None]

    def nudge(paths) -> None:  # event loop: a few stats, then one delayed poll for a burst
        moved = False
        for path in paths:
            current = signature(path)
            moved |= (seen[path] != current) if path in seen else started[0]  # changed, or created
            seen[path] = current
        started[0] = True
        watcher = server.dagster
        if not moved or watcher is None or watcher.reloader is None or server.poller is None \
                or not server.poller.enabled:
            return
        if timer[0] is not None:
            timer[0].cancel()
        timer[0] = server.loop.call_later(NUDGE_DELAY, _poll)

    def _poll() -> None:
        timer[0] = None
        if server.poller is not None and server.poller.enabled:
            server.poller.poll_now(everything=False)

    def new_snapshot(snapshot: Snapshot) -> None:
        nudge(snapshot.project.dagster_modules)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: AirliftServer, params: types.DidSaveTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        snapshot = ls.index.snapshot if ls.index else None
        if path and snapshot is not None and path in snapshot.project.dagster_modules:
            nudge([path])

    def notes_for(dag_id: str, task_id: str | None) -> list[str]:
        watcher, snapshot = server.dagster, server.index.snapshot if server.index else None
        if watcher is None or snapshot is None or task_id is None or not watcher.view.reloads:
            return []
        assets = set(snapshot.project.assets_for(dag_id, task_id))
        return [note.message for note in watcher.view.reloads
                if note.keys & assets or {(dag_id, task_id), (dag_id, None)} & note.tasks]

    def hover(target, markdown: bool) -> str:
        notes = notes_for(target.entry.dag_id, target.task.task_id if target.task else None)
        if not notes:
            return ""
        if markdown:
            return "\n\n" + "\n".join(f"- ⚠ {note}" for note in notes)
        return "\n\n" + "\n".join(note.replace("`", "") for note in notes)

    inner = server.lens_prefix

    def prefix(dag_id: str, task_id: str | None) -> str:
        notes = notes_for(dag_id, task_id)
        first = f"⚠ {notes[0].replace('`', '')}" if notes else ""
        return " · ".join(part for part in (first, inner(dag_id, task_id)) if part)

    server.snapshot_listeners.append(new_snapshot)
    server.hover_extras.append(hover)
    server.lens_prefix = prefix
