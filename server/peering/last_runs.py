"""The DAG's last finished run, as decommission weighs it: from the run history the poller keeps
(the editor) or one poll (the CLI), into the plan's ``Runs``."""

from __future__ import annotations

from analysis.plans import LastRun, Runs
from server.peering.history import PeeringStatus, RunHistory

GOOD_TASK_STATES = frozenset({"success", "skipped"})


def runs_for(history: RunHistory, status: PeeringStatus, dag_id: str) -> Runs | None:
    """None when Airflow is not peered or not reached (the runs are then not checked)."""
    if not status.reachable:
        return None
    finished = [run for run in history.runs(dag_id) if run.finished]
    if not finished:
        return Runs(None)
    run = finished[0]
    unsuccessful = tuple(f"`{ti.task_id}` ({ti.state or 'no state'})"
                         for ti in history.task_instances.get(run.key, ()) if ti.state not in GOOD_TASK_STATES)
    return Runs(LastRun(run.run_id, run.state, unsuccessful))
