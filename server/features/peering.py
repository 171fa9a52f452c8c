"""Live Airflow state in the editor: the poller's life cycle, the ``airlift/status``
notification, run history in hovers and lens prefixes. No handler waits on the network:
everything here reads the poller's last immutable snapshot."""

from __future__ import annotations

import logging

from lsprotocol import types

from server.app import AirliftServer
from server.features import dagster_runs, switches
from server.features.deployed import watcher_for
from server.index import Snapshot
from server.peering import Poller
from server.peering.poller import utc_now
from server.peering.switches import Companions
from server.peering.present import hover_section, lens_prefix, status_json

log = logging.getLogger("airlift-lsp")

STATUS_NOTIFICATION = "airlift/status"
LENS_CLOCK_SECONDS = 60.0
"""Lens prefixes say "3 min ago": refresh them now and then even when nothing changed."""


def register(server: AirliftServer) -> None:
    known_dags: list[frozenset[str]] = [frozenset()]

    def dag_ids() -> list[str]:
        snapshot = server.index.snapshot if server.index else None
        return [e.dag_id for e in snapshot.project.entries] if snapshot else []

    def on_change(history, status) -> None:  # poller thread
        loop = server._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_changed, status)

    def _changed(status) -> None:
        if server.status_notifications:
            server.protocol.notify(STATUS_NOTIFICATION, {**status.to_json(), "reachable": status.reachable})
        server.refresh_lenses()

    clock_started = [False]

    def restart(*_: object) -> None:
        if not clock_started[0]:
            clock_started[0] = True
            server.loop.call_later(LENS_CLOCK_SECONDS, tick)
        if server.poller is not None:
            server.poller.stop(timeout=1.0)
        companion = Companions(watcher_for(server), switches.watcher_for(server))
        server.poller = Poller(server.settings.airflow, dag_ids, on_change, companion=companion,
                               follower=dagster_runs.follower_for(server))
        server.poller.start()
        _changed(server.poller.status)

    def new_snapshot(snapshot: Snapshot) -> None:
        ids = frozenset(e.dag_id for e in snapshot.project.entries)
        if ids != known_dags[0]:
            known_dags[0] = ids
            if server.poller is not None and server.poller.enabled:
                server.poller.poll_now(everything=False)  # new DAGs: fetch their runs without waiting

    def hover_runs(target, markdown: bool) -> str:
        if server.poller is None:
            return ""
        history, status = server.poller.snapshot()
        return hover_section(history, status, target.entry.dag_id,
                             target.task.task_id if target.task else None, markdown, utc_now())

    def prefix(dag_id: str, task_id: str | None) -> str:
        if server.poller is None or not server.poller.enabled:
            return ""
        return lens_prefix(server.poller.history, dag_id, task_id, utc_now())

    def tick() -> None:
        if server.poller is not None and server.poller.enabled:
            server.refresh_lenses(force=True)
        server.loop.call_later(LENS_CLOCK_SECONDS, tick)

    server.index_listeners.append(restart)
    server.snapshot_listeners.append(new_snapshot)
    server.hover_extras.append(hover_runs)
    server.lens_prefix = prefix

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: AirliftServer, params: None) -> None:
        if ls.poller is not None:
            ls.poller.stop(timeout=2.0)


def last_runs(server: AirliftServer):
    """The poller's history and status for reports, or None when peering is off."""
    return server.poller.snapshot() if server.poller is not None else None


__all__ = ["register", "status_json", "last_runs"]
