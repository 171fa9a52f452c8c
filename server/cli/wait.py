"""``proxy ... --wait`` / ``rollback ... --wait``: after writing, follow the switch on the peered
Airflow until it is live (the language server's lenses, on the command line): the same
``SwitchWatcher`` asks Airflow 3 to re-parse the file, then reads the DAG's tasks until each
switched task runs (or no longer runs) airlift's proxy operator. One line per change of state on
stderr; exit 0 when every switch is live, 1 when one is not after the given seconds (the line
says what is missing)."""

from __future__ import annotations

import os
import sys
import time
from datetime import timedelta

from analysis.plans import Plan
from analysis.project import Project
from server.cli.common import EXIT_USAGE, CliError


def wait_live(plan: Plan, project: Project, seconds: float) -> int:
    from analysis.switches import switched_by
    from server.peering.client import AirflowClient
    from server.peering.switches import Phase, SwitchBoard, SwitchWatcher, lens_text
    from server.peering.transport import PeeringError
    from server.settings import load_settings

    moved = switched_by(plan.changes)
    if not moved:
        print("airlift-lsp: nothing switched: nothing to wait for", file=sys.stderr)
        return 0
    settings, _ = load_settings(".")
    if not settings.airflow.url:
        raise CliError("--wait follows the switch on Airflow: set airflow.url (or AIRFLOW_URL)", EXIT_USAGE)
    files = {e.dag_id: os.path.basename(e.file.path) for e in project.entries}
    board = SwitchBoard(timeout=timedelta(seconds=seconds), give_up=timedelta(seconds=seconds) * 2)
    board.record(moved, files)
    keys = [(s.dag_id, task_id) for s in moved for task_id in (s.task_ids or (None,))]
    client = AirflowClient.from_settings(settings.airflow)
    pause = min(max(1.0, float(settings.airflow.poll_interval)), 5.0)
    shown: dict[tuple, str] = {}
    deadline = time.monotonic() + seconds + 3 * pause  # Airflow failing mid-way: the board never times out
    try:
        client.connect()
        watcher = SwitchWatcher(board, lambda: None)
        while True:
            watcher.poll(client)
            switches = {key: board.get(*key) for key in keys}
            for (dag_id, task_id), switch in switches.items():
                text = lens_text(switch) if switch is not None else "no longer followed"
                if shown.get((dag_id, task_id)) != text:
                    shown[(dag_id, task_id)] = text
                    print(f"{dag_id}{'/' + task_id if task_id else ''}: {text}", file=sys.stderr)
            if all(s is not None and s.phase is not Phase.PENDING for s in switches.values()):
                return 0 if all(s.phase is Phase.LIVE for s in switches.values()) else 1
            if time.monotonic() > deadline:
                print(f"airlift-lsp: not live after {seconds:.0f} s: Airflow did not answer", file=sys.stderr)
                return 1
            time.sleep(pause)
    except PeeringError as error:
        raise CliError(f"cannot follow the switch on Airflow: {error}", 1) from None
    finally:
        client.close()
