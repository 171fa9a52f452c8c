"""``airlift-lsp status``: migration progress per DAG, with the live run state when peered."""

from __future__ import annotations

import argparse
import os
import sys

from server.cli.common import CliError, load_project, print_json, relative


def run_status(args: argparse.Namespace) -> int:
    from analysis.describe import (
        Stage,
        blocked_in,
        dag_status,
        migration_level,
        starved_label,
        starved_readers,
        task_status,
    )
    from server.peering import Poller
    from server.peering.dagster_present import drun_json, run_text
    from server.peering.dagster_present import status_text as dagster_status_text
    from server.peering.poller import utc_now
    from server.peering.present import last_run_json, lens_prefix, status_json, status_text
    from server.settings import load_settings

    if not os.path.isdir(args.path):
        raise CliError(f"{args.path}: no such folder")
    import logging

    logging.getLogger("airlift-lsp").addHandler(logging.NullHandler())  # the status says it all
    logging.getLogger("airlift-lsp").propagate = False
    from server.cli.deployed import linking_watcher, warn

    project = load_project(args.path)
    settings, _ = load_settings(args.path)
    # The DAGs Airflow deploys that the files do not tell join the project before the runs are read.
    watcher = linking_watcher(project)
    dagster = dagster_watcher(settings, project)
    poller = Poller(settings.airflow, lambda: [e.dag_id for e in project.entries], companion=watcher,
                    follower=dagster if settings.airflow.url else None)
    history, status = poller.poll_once() if poller.enabled else (poller.history, poller.status)
    poller.stop(timeout=1.0)
    if watcher.deployment.error:
        warn(watcher.deployment.error)
    if dagster is not None and dagster.view.state == "connecting" and not args.json:
        dagster.poll(history)  # Airflow not read: the readiness to proxy needs only the asset request
        dagster.close()
    view = dagster.view if dagster is not None else None
    if settings.dagster.url and not settings.airflow.url:
        print("airlift-lsp: Dagster runs left out: no Airflow to match them with (set airflow.url)", file=sys.stderr)
    elif view is not None and status.reachable and not view.reachable:
        print(f"airlift-lsp: Dagster runs left out: {view.error}", file=sys.stderr)

    def dagster_run(dag_id: str, task_id: str):
        return view.run_for(history, dag_id, task_id) if view is not None else None
    entries = sorted(project.entries, key=lambda e: e.dag_id)
    if args.json:
        print_json({"airflow": status_json(status), "dags": [
            {"dag_id": entry.dag_id, "file": relative(entry.file.path), "level": migration_level(project, entry),
             "last_run": last_run_json(history, entry.dag_id),
             "tasks": [{"task_id": task.task_id, "assets": list(project.assets_for(entry.dag_id, task.task_id)),
                        "proxied": project.is_proxied(entry, task),
                        "last_run": last_run_json(history, entry.dag_id, task.task_id),
                        "dagster_run": drun_json(dagster_run(entry.dag_id, task.task_id))}
                       for task in entry.dag.tasks]}
            for entry in entries]})
        return 0
    print(status_text(status))
    if view is not None:
        print(dagster_status_text(view))
    now = utc_now()
    files_of: dict[str, list[str]] = {}
    for entry in entries:
        files_of.setdefault(entry.dag_id, []).append(relative(entry.file.path))
    for entry in entries:
        live = lens_prefix(history, entry.dag_id, None, now)
        where = files_of[entry.dag_id]
        twice = (f"  [{relative(entry.file.path)}; also defined in "
                 f"{', '.join(f for f in where if f != relative(entry.file.path))}: Airflow imports one only, "
                 f"steps refuse this id]" if len(set(where)) > 1 else "")
        print(f"{entry.dag_id}  {dag_status(project, entry).label}" + (f"  last run: {live}" if live else "")
              + twice)
        for task in entry.dag.tasks:
            live = lens_prefix(history, entry.dag_id, task.task_id, now)
            run = dagster_run(entry.dag_id, task.task_id)
            if run is not None:
                live += f" → Dagster {run_text(run)}"
            ready = readiness_text(view, project, entry, task.task_id) if view is not None else ""
            status = task_status(project, entry, task)
            why = blocked_in(project, entry, task, status.stage) if status.nothing is None else None
            starved = starved_readers(project, entry, task)
            stays = (f"cannot go further: {why}" if why and status.stage is not Stage.PROXIED else
                     starved_label(starved) if starved else "")
            print(f"    {task.task_id}  {status.label}"
                  + "".join(f"  {part}" for part in (stays, live, ready) if part))
    return 0


def readiness_text(view, project, entry, task_id: str) -> str:
    """``ready to proxy`` or ``not ready to proxy: <why>`` (the editor's words) for a mapped task
    not yet proxied; ``""`` for any other task, or when Dagster's answer says nothing either way
    (refused credentials: the Dagster line says so)."""
    from analysis.readiness import not_ready, proxy_assets

    assets = proxy_assets(project, entry, task_id)
    if not assets:
        return ""
    reasons = not_ready(view.side, assets, view.definitions)
    if reasons:
        return "⚠ not ready to proxy: " + "; ".join(reasons)
    return "ready to proxy" if view.reachable else ""


def dagster_watcher(settings, project):
    """The Dagster side; None without ``dagster.url``. Read after the Airflow poll (a Dagster run
    is matched to the task's last Airflow run); without Airflow, only its assets are read (the
    readiness to proxy)."""
    if not settings.dagster.url:
        return None
    from server.peering.dagster_watch import DagsterWatcher, interest_of

    return DagsterWatcher(settings.dagster, lambda: interest_of(project))
