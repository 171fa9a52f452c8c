"""What a proxy would break only at run time, never at import: a task whose XCom a task left in
Airflow reads (dagster-airlift's proxy operator pushes none: the reader gets None), and a task that
decides which tasks after it run (a branch, a short-circuit, a task that can skip itself: the proxy
operator decides nothing and never skips, so Airflow would run them all). Such tasks stay in Airflow: named, a step is refused in one line;
else they are left out with a note."""

from __future__ import annotations

from analysis.edits.scaffold.families import gate_of
from analysis.facts import TaskFacts
from analysis.plans.files import Refused
from analysis.project import DagEntry
from analysis.xcom_reads import keep_readable, left_out_note, proxy_refusal, reads, rollback_refusal


def proxied_now(entry: DagEntry) -> set[str]:
    """The tasks a task-level state file proxies (none for a DAG-level or invalid one)."""
    state = entry.state
    if state is None or state.error or state.dag_proxied is not None:
        return set()
    return {t.task_id for t in state.tasks if t.proxied}


def readable(entry: DagEntry, tasks: list[TaskFacts], explicit: bool, notes: list[str]) -> list[TaskFacts]:
    """The tasks whose XCom no task left in Airflow reads (a proxied task pushes none). Named
    explicitly, such a task is refused; else left out with a note."""
    chosen, left_out = keep_readable(entry.dag, tasks, proxied_now(entry))
    if explicit and left_out:
        producer, left = next(iter(left_out.items()))
        raise Refused(proxy_refusal(entry.dag, producer, left))
    if left_out:
        notes.append(left_out_note(left_out))
    return chosen


def refuse_starving_rollback(entry: DagEntry, tasks: list[TaskFacts]) -> None:
    """Refuse to roll back, alone, a proxied task that reads the XCom of one that stays proxied."""
    proxied = proxied_now(entry)
    after = proxied - {t.task_id for t in tasks}
    for task in tasks:
        producers = tuple(p for p in reads(task) if p in after)
        if producers and task.task_id in proxied:
            raise Refused(rollback_refusal(entry.dag, task.task_id, producers))


def without_gates(tasks: list[TaskFacts], explicit: bool, notes: list[str]) -> list[TaskFacts]:
    """The tasks that decide nothing about the tasks after them: a branch, a short-circuit or a
    task that can skip itself, named explicitly, is refused; else left in Airflow with a note."""
    gates = [(t, gate) for t in tasks if (gate := gate_of(t))]
    if explicit and gates:
        raise Refused(gate_refusal(*gates[0]))
    if gates:
        notes.append(f"left in Airflow the tasks that decide which tasks after them run "
                     f"({', '.join(t.task_id for t, _ in gates)}): dagster-airlift's proxy operator decides "
                     f"nothing and never skips, so Airflow would run every task after them; the tasks after "
                     f"them are proxied as usual and Airflow still skips those not chosen")
    return [t for t in tasks if all(t is not g for g, _ in gates)]


_GATES = {
    "branch": "is a branch (`{operator}`): proxied, dagster-airlift's operator chooses no branch, so Airflow "
              "would run every task after it",
    "short-circuit": "short-circuits (`{operator}`): proxied, dagster-airlift's operator never skips, so Airflow "
                     "would run the tasks after it even when it should stop",
    "skips-itself": "can skip itself (its code raises `AirflowSkipException`): proxied, dagster-airlift's "
                    "operator never skips, so the tasks after it would run, or fail, where Airflow skips them",
    "soft-fail": "is a sensor with `soft_fail=True`: proxied, dagster-airlift's operator never skips, so the "
                 "tasks after it would run, or fail, where Airflow skips them",
}


def gate_refusal(task: TaskFacts, gate: str) -> str:
    """Why a task that decides which tasks after it run is not proxied one by one."""
    return (f"`{task.task_id}` " + _GATES[gate].format(operator=task.operator)
            + "; it stays in Airflow (the tasks after it can be proxied: Airflow still skips those it "
            "does not choose), or move the whole DAG at DAG level (--dag-level)")
