"""What the editor knows about Airflow: immutable snapshots of the runs (``RunHistory``) and of
the connection (``PeeringStatus``), and how one poll builds the next ``RunHistory`` from the
previous one with a constant number of requests.

Requests per poll, whatever the number of DAGs:
- runs: one ``dagRuns/list`` for all DAGs (a second or third only when one busy DAG crowds the
  others out of the first answer, see ``latest_runs``);
- task instances: none when every kept run is finished and already known, else one
  ``taskInstances/list`` for the runs that are new or still moving, its page sized from what
  the last poll saw (a second request fetches the rest when a run grew; see
  ``AirflowClient.list_task_instances``). Task instances that did not all come (a server that
  clamps pages and never ends) are not stored, so those runs are asked for again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import MappingProxyType
from typing import Any

from server.peering.client import TASKS_PER_RUN, AirflowClient
from server.peering.records import DagRun, TaskInstance, format_time
from server.peering.ui_links import ui_url

RUNS_PER_DAG = 5
STATES = ("disabled", "connecting", "connected", "unreachable", "unauthorized")
MAX_RUN_ROUNDS = 3


def _frozen(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


@dataclass(frozen=True)
class RunHistory:
    """The last runs per DAG (newest first) and the task instances of those runs.

    Immutable: the poller replaces the whole snapshot, readers on any thread keep theirs."""

    base_url: str | None = None
    api_version: str | None = None
    fetched_at: datetime | None = None
    dag_runs: Mapping[str, tuple[DagRun, ...]] = field(default_factory=lambda: _frozen({}))
    task_instances: Mapping[tuple[str, str], tuple[TaskInstance, ...]] = field(
        default_factory=lambda: _frozen({}))
    """By run, ``(dag_id, run_id)``."""

    def __post_init__(self) -> None:
        for name in ("dag_runs", "task_instances"):
            value = getattr(self, name)
            if not isinstance(value, MappingProxyType):
                object.__setattr__(self, name, _frozen(value))

    def runs(self, dag_id: str) -> tuple[DagRun, ...]:
        return self.dag_runs.get(dag_id, ())

    def last_run(self, dag_id: str) -> DagRun | None:
        runs = self.runs(dag_id)
        return runs[0] if runs else None

    def task_runs(self, dag_id: str, task_id: str) -> tuple[tuple[DagRun, TaskInstance], ...]:
        """The task's instances in the kept runs, newest run first (map indexes ascending)."""
        found = []
        for run in self.runs(dag_id):
            for ti in self.task_instances.get(run.key, ()):
                if ti.task_id == task_id:
                    found.append((run, ti))
        return tuple(found)

    def last_task_run(self, dag_id: str, task_id: str) -> tuple[DagRun, TaskInstance] | None:
        runs = self.task_runs(dag_id, task_id)
        return runs[0] if runs else None

    def ui_url(self, dag_id: str, task_id: str | None = None, run_id: str | None = None,
               map_index: int = -1) -> str | None:
        if not self.base_url:
            return None
        return ui_url(self.base_url, self.api_version, dag_id, task_id, run_id, map_index)

    def same_data(self, other: RunHistory) -> bool:
        """Equal runs and task instances (``fetched_at`` aside): nothing to tell the editor."""
        return (self.base_url == other.base_url and self.api_version == other.api_version
                and dict(self.dag_runs) == dict(other.dag_runs)
                and dict(self.task_instances) == dict(other.task_instances))


EMPTY = RunHistory()


@dataclass(frozen=True, slots=True)
class PeeringStatus:
    state: str
    """disabled (no URL) | connecting (before the first answer) | connected | unreachable |
    unauthorized (wrong credentials, or not allowed to read runs)."""
    url: str | None = None
    api_version: str | None = None
    last_poll: datetime | None = None
    error: str | None = None
    """One line, no secrets; None when connected or disabled."""
    error_kind: str | None = None
    airflow_version: str | None = None

    @property
    def reachable(self) -> bool:
        return self.state == "connected"

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "url": self.url, "apiVersion": self.api_version,
                "lastPoll": format_time(self.last_poll), "error": self.error}

    def same_as(self, other: PeeringStatus) -> bool:
        """Equal apart from the time of the poll: nothing new to show."""
        return replace(self, last_poll=None) == replace(other, last_poll=None)


def latest_runs(client: AirflowClient, dag_ids: Iterable[str], per_dag: int = RUNS_PER_DAG
                ) -> dict[str, tuple[DagRun, ...]]:
    """The newest ``per_dag`` runs of each DAG.

    One request asks for ``per_dag × len(dag_ids)`` runs, newest first, across all DAGs. That
    is enough unless some DAG runs much more often than the others; then another round asks
    only for the DAGs still short of runs, at most ``MAX_RUN_ROUNDS`` rounds. A DAG that
    Airflow does not know simply has no runs."""
    pending = sorted(set(dag_ids))
    found: dict[str, dict[str, DagRun]] = {dag_id: {} for dag_id in pending}
    for _ in range(MAX_RUN_ROUNDS):
        if not pending:
            break
        limit = per_dag * len(pending)
        runs, total = client.list_dag_runs(pending, limit=limit)
        for run in runs:
            if run.dag_id in found:
                found[run.dag_id].setdefault(run.run_id, run)
        if total is None or total <= len(runs):
            break  # every run of these DAGs is in hand
        pending = [dag_id for dag_id in pending if len(found[dag_id]) < per_dag]
    return {dag_id: tuple(sorted(runs.values(), key=lambda r: r.sort_time, reverse=True)[:per_dag])
            for dag_id, runs in found.items() if runs}


def fetch_history(client: AirflowClient, dag_ids: Iterable[str], *, previous: RunHistory = EMPTY,
                  per_dag: int = RUNS_PER_DAG, now: datetime | None = None) -> RunHistory:
    """Poll once: the runs, then the task instances of the runs that are new or still moving.

    A finished run's task instances are taken from ``previous`` when the run is unchanged
    (clearing a task sets its run back to queued, so a change always shows on the run)."""
    dag_ids = list(dag_ids)
    client.connect()
    dag_runs = latest_runs(client, dag_ids, per_dag) if dag_ids else {}
    task_instances: dict[tuple[str, str], tuple[TaskInstance, ...]] = {}
    stale: list[tuple[str, str]] = []
    for runs in dag_runs.values():
        for run in runs:
            known = previous.task_instances.get(run.key)
            if run.finished and known is not None and _same_run(previous, run):
                task_instances[run.key] = known
            else:
                stale.append(run.key)
    if stale:
        answer = client.list_task_instances(stale, expected=_expected_instances(previous, stale))
        grouped: dict[tuple[str, str], list[TaskInstance]] = {key: [] for key in stale}
        for ti in answer.instances:
            grouped[(ti.dag_id, ti.run_id)].append(ti)
        for key, instances in grouped.items():
            if answer.complete:
                task_instances[key] = tuple(sorted(instances, key=lambda t: (t.task_id, t.map_index)))
            elif key in previous.task_instances:  # keep what was known; ask again next poll
                task_instances[key] = previous.task_instances[key]
    return RunHistory(base_url=client.base_url, api_version=client.api_version, fetched_at=now,
                      dag_runs=_frozen(dag_runs), task_instances=_frozen(task_instances))


def _expected_instances(previous: RunHistory, stale: list[tuple[str, str]]) -> int:
    """How many task instances the stale runs should have: as many as the run had at the last
    poll, or as the DAG's newest known run, or ``TASKS_PER_RUN``; sizes the first page so that a
    poll usually takes one request for them."""
    per_dag: dict[str, int] = {}
    for (dag_id, _), instances in previous.task_instances.items():
        per_dag[dag_id] = max(per_dag.get(dag_id, 0), len(instances))
    expected = 0
    for key in stale:
        known = previous.task_instances.get(key)
        expected += len(known) if known else per_dag.get(key[0]) or TASKS_PER_RUN
    return expected + 10  # room for a task or two that appear between polls


def _same_run(previous: RunHistory, run: DagRun) -> bool:
    return any(old == run for old in previous.runs(run.dag_id))
