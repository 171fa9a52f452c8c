"""The Dagster side of proxied tasks in the editor: the run dagster-airlift launched for the
task's last Airflow run and the assets it materialized, in the task's hover (with links to both
UIs), and a failing Dagster run in the task's lens. Read by the Airflow poller's thread right
after each poll (``server.peering.dagster_watch``); handlers only read its last view."""

from __future__ import annotations

from server.app import AirliftServer
from server.peering.dagster_present import hover_section, lens_prefix
from server.peering.dagster_watch import DagsterWatcher, interest_of
from server.peering.poller import utc_now


def follower_for(server: AirliftServer) -> DagsterWatcher | None:
    """A new watcher for the current settings (None without ``dagster.url``), kept on the server."""
    settings = server.settings.dagster
    if not settings.url:
        server.dagster = None
        return None

    def interest():  # poller thread: reads an immutable snapshot
        snapshot = server.index.snapshot if server.index else None
        return interest_of(snapshot.project) if snapshot is not None else ()

    server.dagster = DagsterWatcher(settings, interest)
    return server.dagster


def register(server: AirliftServer) -> None:
    def hover(target, markdown: bool) -> str:
        watcher, poller = server.dagster, server.poller
        snapshot = server.index.snapshot if server.index else None
        if watcher is None or poller is None or target.task is None or snapshot is None:
            return ""
        dag_id, task_id = target.entry.dag_id, target.task.task_id
        return hover_section(watcher.view, poller.history, dag_id, task_id,
                             snapshot.project.assets_for(dag_id, task_id), markdown, utc_now())

    airflow_prefix = server.lens_prefix  # the Airflow run's (features/peering registers first)

    def prefix(dag_id: str, task_id: str | None) -> str:
        live = airflow_prefix(dag_id, task_id)
        watcher, poller = server.dagster, server.poller
        if watcher is None or poller is None or task_id is None:
            return live
        failing = lens_prefix(watcher.view, poller.history, dag_id, task_id)
        return " · ".join(part for part in (live, failing) if part)

    server.hover_extras.append(hover)
    server.lens_prefix = prefix
