"""Switches confirmed live: after a proxy or a rollback (a command, a code action or a hand edit
of the proxied-state YAML), the lens over each switched task says "proxy pending", then
"proxied: live since 12:04" once the peered Airflow runs airlift's proxy operator for it (or,
after a rollback, no longer does); the hover says the same in one line. The flags are compared
snapshot to snapshot on the event loop (cheap); Airflow is asked on the poller thread only
(``server.peering.switches``)."""

from __future__ import annotations

import os

from analysis.switches import Flags, flags_of, switched
from server.app import AirliftServer
from server.index import Snapshot
from server.peering.switches import SwitchBoard, SwitchWatcher, hover_line, lens_text


def watcher_for(server: AirliftServer) -> SwitchWatcher:
    """The poller's companion that follows the server's switches (one board for the server's
    life: a settings reload keeps what is being followed)."""

    def changed() -> None:  # poller thread
        loop = server._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(server.refresh_lenses)

    return SwitchWatcher(server.switches, changed)


def register(server: AirliftServer) -> None:
    server.switches = SwitchBoard()
    last: list[dict[str, Flags] | None] = [None]
    last_states: list[dict] = [{}]

    def new_snapshot(snapshot: Snapshot) -> None:
        states = {e.dag_id: e.state for e in snapshot.project.entries}
        if states.keys() == last_states[0].keys() and all(states[k] is last_states[0][k] for k in states):
            return  # no state file changed (typing in a DAG file): nothing to compare
        last_states[0] = states
        flags = flags_of(snapshot.project)
        before, last[0] = last[0], flags
        poller = server.poller
        if before is None or poller is None or not poller.enabled:
            return  # nothing to confirm the switches on
        moved = switched(before, flags)
        files = {e.dag_id: os.path.basename(e.file.path) for e in snapshot.project.entries}
        if moved and server.switches.record(moved, files):
            poller.poll_now(everything=False)  # ask for the re-parse now, not at the next poll
            server.refresh_lenses()

    def hover(target, markdown: bool) -> str:
        switch = server.switches.get(target.entry.dag_id, target.task.task_id if target.task else None)
        return hover_line(switch, markdown) if switch is not None else ""

    inner = server.lens_prefix  # Airflow's and Dagster's runs (registered before)

    def prefix(dag_id: str, task_id: str | None) -> str:
        switch = server.switches.get(dag_id, task_id)
        others = inner(dag_id, task_id)
        if switch is None:
            return others
        return " · ".join(part for part in (lens_text(switch), others) if part)

    server.snapshot_listeners.append(new_snapshot)
    server.hover_extras.append(hover)
    server.lens_prefix = prefix
