"""``airlift.migrationReport``: one row per DAG (counts, hook, last run) with its tasks, each with
its stage, assets, proxied state, last Airflow run and the Dagster run dagster-airlift launched
for it. The rows are a pure function of the project and the peering records (``report``); the
command only reads the server's last ones: no handler waits on the network."""

from __future__ import annotations

from typing import Any

from analysis.describe import dag_status, task_status
from analysis.project import DagEntry, Project
from server.app import AirliftServer
from server.peering.dagster_present import drun_json
from server.peering.dagster_watch import DagsterView
from server.peering.history import RunHistory
from server.peering.present import last_run_json


def task_rows(project: Project, entry: DagEntry, history: RunHistory | None,
              dagster: DagsterView | None) -> list[dict[str, Any]]:
    """The DAG's tasks in file order: ``dagster_run`` is a ``DRUN`` of ``status --json`` (null
    without Dagster peering, or when the task's last Airflow run launched none) and
    ``dagster_run_url`` its page in the Dagster UI."""
    rows = []
    for task in entry.dag.tasks:
        status = task_status(project, entry, task)
        run = dagster.run_for(history, entry.dag_id, task.task_id) if dagster and history else None
        rows.append({"task_id": task.task_id, "stage": status.stage.value, "assets": list(status.assets),
                     "proxied": status.proxied,
                     "last_run": last_run_json(history, entry.dag_id, task.task_id) if history else None,
                     "dagster_run": drun_json(run),
                     "dagster_run_url": dagster.run_url(run.run_id) if run is not None else None})
    return rows


def dag_rows(project: Project, history: RunHistory | None, dagster: DagsterView | None) -> list[dict[str, Any]]:
    """One row per DAG, by id; the per-DAG fields are read by other tools: they stay as they are."""
    rows = []
    for entry in sorted(project.entries, key=lambda e: e.dag_id):
        status = dag_status(project, entry)
        rows.append({"dag_id": entry.dag_id, "file": entry.file.path, "tasks": status.total,
                     "mapped": status.mapped, "proxied": status.proxied,
                     "dagProxied": bool(status.dag_level_proxied), "hook": status.hook,
                     "source": entry.dag.source,
                     "last_run": last_run_json(history, entry.dag_id) if history else None,
                     "task_rows": task_rows(project, entry, history, dagster)})
    return rows


def dagster_json(view: DagsterView | None) -> dict[str, Any] | None:
    """The Dagster peering's state: null without ``dagster.url``."""
    if view is None or view.state == "disabled":
        return None
    return {"url": view.base_url, "state": view.state, "error": view.error}


def register(server: AirliftServer) -> None:
    @server.command("airlift.migrationReport")
    def migration_report(ls: AirliftServer, *args: Any) -> dict:
        snapshot = ls.index.snapshot if ls.index else None
        if snapshot is None:
            return {"dags": [], "indexing": True}
        from server.peering.present import status_json

        history = ls.poller.history if ls.poller is not None else None
        view = ls.dagster.view if ls.dagster is not None else None
        airflow = status_json(ls.poller.status) if ls.poller is not None else None
        return {"dags": dag_rows(snapshot.project, history, view), "indexing": False, "airflow": airflow,
                "dagster": dagster_json(view)}
