"""The Dagster side of proxied tasks in the editor: the run dagster-airlift launched for the
task's last Airflow run and the assets it materialized, in the task's hover (with links to both
UIs), and a failing Dagster run in the task's lens. Read by the Airflow poller's thread right
after each poll (``server.peering.dagster_watch``); handlers only read its last view.

Readiness to proxy (``analysis.readiness``): on a mapped task not yet proxied, the hover, the lens
("not ready to proxy: …") and the proxy edit's notes say when Dagster cannot be reached, the
task's assets are not executable in any loaded code location, or the Dagster module is not
loaded. No diagnostic code says it (the codes are a contract): a warning, never a block."""

from __future__ import annotations

from analysis.readiness import not_ready, proxy_assets
from server.app import AirliftServer
from server.features.dagster_reload import of_project, reloader_for
from server.peering.dagster_present import hover_section, lens_prefix
from server.peering.dagster_watch import DagsterWatcher, interest_of
from server.peering.poller import utc_now


def follower_for(server: AirliftServer) -> DagsterWatcher | None:
    """A new watcher for the current settings (None without ``dagster.url``), kept on the server."""
    settings = server.settings.dagster
    if not settings.url:
        server.dagster = None
        return None

    server.dagster = DagsterWatcher(settings, of_project(server, interest_of, ()), reloader=reloader_for(server))
    return server.dagster


def readiness(server: AirliftServer, dag_id: str, task_id: str | None) -> tuple[str, ...]:
    """Why proxying the task (every not yet proxied task of the DAG for ``task_id=None``) would
    fail now; ``()`` without Dagster peering or when it is ready or proxied already."""
    watcher = server.dagster
    snapshot = server.index.snapshot if server.index else None
    if watcher is None or snapshot is None:
        return ()
    entry = snapshot.project.entry(dag_id)
    if entry is None:
        return ()
    view = watcher.view
    return not_ready(view.side, proxy_assets(snapshot.project, entry, task_id), view.definitions)


def _ready_hover(reasons: tuple[str, ...], markdown: bool) -> str:
    if not reasons:
        return ""
    if markdown:
        return "\n\n**Not ready to proxy**\n\n" + "\n".join(f"- ⚠ {reason}" for reason in reasons)
    return "\n\nNot ready to proxy:\n" + "\n".join(reason.replace("`", "") for reason in reasons)


def register(server: AirliftServer) -> None:
    def hover(target, markdown: bool) -> str:
        watcher, poller = server.dagster, server.poller
        snapshot = server.index.snapshot if server.index else None
        if watcher is None or poller is None or target.task is None or snapshot is None:
            return ""
        dag_id, task_id = target.entry.dag_id, target.task.task_id
        return hover_section(watcher.view, poller.history, dag_id, task_id,
                             snapshot.project.assets_for(dag_id, task_id), markdown, utc_now()) + \
            _ready_hover(readiness(server, dag_id, task_id), markdown)

    airflow_prefix = server.lens_prefix  # the Airflow run's (features/peering registers first)

    def prefix(dag_id: str, task_id: str | None) -> str:
        live = airflow_prefix(dag_id, task_id)
        watcher, poller = server.dagster, server.poller
        if watcher is None or poller is None or task_id is None:
            return live
        failing = lens_prefix(watcher.view, poller.history, dag_id, task_id)
        reasons = readiness(server, dag_id, task_id)
        ready = f"⚠ not ready to proxy: {reasons[0].replace('`', '')}" if reasons else ""
        return " · ".join(part for part in (live, failing, ready) if part)

    server.hover_extras.append(hover)
    server.lens_prefix = prefix
