"""``airlift-lsp status``: migration progress per DAG, with the live run state when peered."""

from __future__ import annotations

import argparse
import os

from server.cli.common import CliError, load_project, print_json, relative


def run_status(args: argparse.Namespace) -> int:
    from analysis.describe import dag_status, migration_level, task_status
    from server.peering import Poller
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
    poller = Poller(settings.airflow, lambda: [e.dag_id for e in project.entries], companion=watcher)
    history, status = poller.poll_once() if poller.enabled else (poller.history, poller.status)
    poller.stop(timeout=1.0)
    if watcher.deployment.error:
        warn(watcher.deployment.error)
    entries = sorted(project.entries, key=lambda e: e.dag_id)
    if args.json:
        print_json({"airflow": status_json(status), "dags": [
            {"dag_id": entry.dag_id, "file": relative(entry.file.path), "level": migration_level(project, entry),
             "last_run": last_run_json(history, entry.dag_id),
             "tasks": [{"task_id": task.task_id, "assets": list(project.assets_for(entry.dag_id, task.task_id)),
                        "proxied": project.is_proxied(entry, task),
                        "last_run": last_run_json(history, entry.dag_id, task.task_id),
                        "dagster_run": None}  # DRUN once the Dagster side is peered (docs/json.md)
                       for task in entry.dag.tasks]}
            for entry in entries]})
        return 0
    print(status_text(status))
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
            print(f"    {task.task_id}  {task_status(project, entry, task).label}" + (f"  {live}" if live else ""))
    return 0


