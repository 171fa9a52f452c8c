"""The Dagster side of proxied tasks, read right after each Airflow poll (``Poller(follower=...)``)
with the Airflow runs in hand, into an immutable ``DagsterView`` that handlers read.

Requests per poll, whatever the number of DAGs: at most one for runs (one aliased
``runsOrError`` per Airflow run worth asking: the last run of a DAG that has a proxied task, or
that had a Dagster run at the last poll; none when every such run is finished and already
known) and at most one for the last materialization of every mapped asset and its definition in
the loaded code locations (what the readiness to proxy reads, ``analysis.readiness``). A
``CodeReloader`` (``server.peering.dagster_reload``) first reloads the code locations of the
Dagster modules changed on disk: an event, outside that budget.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from analysis.readiness import AssetDefinition, DagsterSide
from server.peering.dagster_client import (
    DAG_OVERRIDE_TASK_PREFIX,
    DagsterClient,
    DagsterRun,
    Materialization,
)
from server.peering.dagster_reload import CodeReloader, ReloadNote
from server.peering.history import RunHistory
from server.peering.transport import PeeringError
from server.peering.ui_links import dagster_run_url
from server.settings import DagsterSettings

log = logging.getLogger("airlift-lsp.peering")

RUNS_PER_TASK = 3
"""Dagster runs kept per task and Airflow run (a run retried by Dagster makes more than one)."""
FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
"""Dagster run statuses that do not change any more (an Airflow task killed while its Dagster
run went on leaves a finished Airflow run with a moving Dagster run)."""
MAX_SKIPPED = 30
"""At most this many Airflow polls without asking an unreachable Dagster again."""
MAX_ASKED = 40
"""Airflow runs asked about per poll. Each is a tag query in Dagster's run storage (about 20-60
ms each on a busy machine, bench/dagster_poll.py), so a first poll over hundreds of proxied DAGs
is spread over several polls, the moving and newest runs first, instead of one answer that
outlasts the read timeout at every poll."""


@dataclass(frozen=True, slots=True)
class DagInterest:
    """What the project says about one DAG: its tasks, whether any is proxied now, their assets."""

    dag_id: str
    tasks: tuple[str, ...]
    proxied: bool
    assets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """``(task_id, asset keys)`` for the mapped tasks."""


@dataclass(frozen=True)
class DagsterView:
    """What the editor knows of Dagster. ``state``: disabled | connecting | connected |
    unreachable | unauthorized; ``error`` one line without secrets."""

    base_url: str | None = None
    state: str = "disabled"
    error: str | None = None
    runs: Mapping[tuple[str, str], tuple[DagsterRun, ...]] = field(default_factory=lambda: MappingProxyType({}))
    """By Airflow run ``(dag_id, run_id)``: the Dagster runs launched for it, newest first."""
    materializations: Mapping[str, Materialization | None] = field(
        default_factory=lambda: MappingProxyType({}))
    definitions: Mapping[str, AssetDefinition | None] = field(default_factory=lambda: MappingProxyType({}))
    """By mapped asset key: its definition in the loaded code locations, None for none."""
    requests: int = 0
    """What the last poll cost."""
    reloads: tuple[ReloadNote, ...] = ()
    """Code locations whose last reload failed (or whose new code did not load)."""

    @property
    def side(self) -> DagsterSide:
        """The record ``analysis.readiness`` reads."""
        return DagsterSide(self.base_url, self.state, self.definitions)

    @property
    def reachable(self) -> bool:
        return self.state == "connected"

    def run_url(self, run_id: str) -> str | None:
        return dagster_run_url(self.base_url, run_id) if self.base_url else None

    def run_for(self, history: RunHistory, dag_id: str, task_id: str) -> DagsterRun | None:
        """The Dagster run dagster-airlift launched for the task's last Airflow run (the newest
        attempt); for a DAG proxied as a whole, the one its override task launched in the DAG's
        last run."""
        last = history.last_run(dag_id)
        if last is not None:
            override = DAG_OVERRIDE_TASK_PREFIX + dag_id
            for run in self.runs.get(last.key, ()):
                if run.task_id == override:
                    return run
        found = history.task_runs(dag_id, task_id)
        if not found:
            return None
        return next((run for run in self.runs.get(found[0][0].key, ()) if run.task_id == task_id), None)

    def same_data(self, other: DagsterView) -> bool:
        return (self.base_url, self.state, self.error, dict(self.runs), dict(self.materializations),
                dict(self.definitions), self.reloads) == (other.base_url, other.state, other.error, dict(other.runs),
                                                          dict(other.materializations), dict(other.definitions),
                                                          other.reloads)


def _state_for(error: PeeringError) -> str:
    return "unauthorized" if error.kind in ("authentication", "authorization") else "unreachable"


class DagsterWatcher:
    """Follows Airflow polls (``poll`` on the poller thread); ``view`` from any thread.

    ``interest()`` runs on the poller thread and must be cheap and thread-safe."""

    def __init__(self, settings: DagsterSettings, interest: Callable[[], tuple[DagInterest, ...]], *,
                 client_factory: Callable[[DagsterSettings], DagsterClient] = DagsterClient.from_settings,
                 reloader: CodeReloader | None = None):
        self.settings = settings
        self.reloader = reloader
        self._interest = interest
        self._client_factory = client_factory
        self._client: DagsterClient | None = None
        self._lock = threading.Lock()
        self._failures = 0
        self._skip = 0
        """Polls to sit out after failures (1, 2, 4, ... up to ``MAX_SKIPPED``): a Dagster that
        times out must not slow every Airflow poll down by its timeouts."""
        base = settings.url.rstrip("/") if settings.url else None
        self._view = DagsterView(base, "connecting" if base else "disabled")

    @property
    def enabled(self) -> bool:
        return bool(self.settings.url)

    @property
    def view(self) -> DagsterView:
        with self._lock:
            return self._view

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def poll(self, history: RunHistory, forced: bool = False) -> bool:
        """Read the Dagster side of ``history``; True when the view changed. Never raises."""
        previous = self.view
        if not self.enabled:
            return False
        if self._skip > 0 and not forced:
            self._skip -= 1
            return False
        try:
            if self.reloader is not None:
                if self._client is None:
                    self._client = self._client_factory(self.settings)
                self.reloader.reload(self._client, previous.definitions)  # then read the new code at once
            view = self._fetch(history, previous, forced)
        except PeeringError as error:
            view = replace(previous, state=_state_for(error), error=str(error), requests=0)
        except Exception as error:  # one failing feature leaves the others working
            log.exception("Dagster poll failed")
            view = replace(previous, state="unreachable", error=f"internal error while reading Dagster: "
                                                                 f"{type(error).__name__}", requests=0)
        if self.reloader is not None:
            view = replace(view, reloads=self.reloader.notes)
        self._failures = 0 if view.reachable else self._failures + 1
        self._skip = 0 if view.reachable else min(2 ** (self._failures - 1), MAX_SKIPPED)
        if (view.state, view.error) != (previous.state, previous.error):
            if view.reachable:
                log.info("Dagster peering connected to %s", view.base_url)
            else:
                log.warning("Dagster peering %s: %s", view.state, view.error)
        with self._lock:
            self._view = view
        return not view.same_data(previous)

    def _fetch(self, history: RunHistory, previous: DagsterView, forced: bool) -> DagsterView:
        if self._client is None:
            self._client = self._client_factory(self.settings)
        client = self._client
        before = client.requests
        interest = self._interest()
        kept: dict[tuple[str, str], tuple[DagsterRun, ...]] = {}
        candidates = []
        asked_dags = {dag_id for (dag_id, _), runs in previous.runs.items() if runs}
        for dag in interest:
            if not (dag.proxied or dag.dag_id in asked_dags):
                continue
            for run in _airflow_runs(history, dag):
                known = previous.runs.get(run.key)
                if (not forced and previous.reachable and run.finished and known is not None
                        and all(r.status in FINISHED for r in known)):
                    kept[run.key] = known  # nothing more will happen to them
                else:
                    candidates.append((run, RUNS_PER_TASK * max(1, len(dag.tasks))))
        candidates.sort(key=lambda c: (c[0].finished, -c[0].sort_time.timestamp()))
        for run, _ in candidates[MAX_ASKED:]:  # asked at the next polls; what was known stays
            if run.key in previous.runs:
                kept[run.key] = previous.runs[run.key]
        ask = [(run.dag_id, run.run_id, limit) for run, limit in candidates[:MAX_ASKED]]
        runs = {**kept, **client.airlift_runs(ask)}
        keys = [key for dag in interest for _, assets in dag.assets for key in assets]
        materializations, definitions = client.assets(keys)
        if client.requests == before and not previous.reachable:
            client.version()  # nothing to read yet: say "connected" only once Dagster answered
        return DagsterView(client.base_url, "connected", None, MappingProxyType(runs),
                           MappingProxyType(materializations), MappingProxyType(definitions),
                           client.requests - before)


def _airflow_runs(history: RunHistory, dag: DagInterest):
    """The DAG's last run and each task's last run (usually the same one)."""
    found = {}
    last = history.last_run(dag.dag_id)
    if last is not None:
        found[last.key] = last
    for task_id in dag.tasks:
        runs = history.task_runs(dag.dag_id, task_id)
        if runs:
            found.setdefault(runs[0][0].key, runs[0][0])
    return list(found.values())


def interest_of(project) -> tuple[DagInterest, ...]:
    """The ``DagInterest`` of every DAG of an ``analysis.project.Project``."""
    found = []
    for entry in project.entries:
        tasks = tuple(task.task_id for task in entry.dag.tasks)
        proxied = bool(entry.state is not None and not entry.state.error and entry.state.dag_proxied) or any(
            project.is_proxied(entry, task) for task in entry.dag.tasks)
        assets = tuple((task_id, keys) for task_id in tasks if (keys := project.named_keys(entry.dag_id, task_id)))
        dag_assets = project.named_keys(entry.dag_id, None)
        if dag_assets:
            assets += ((DAG_OVERRIDE_TASK_PREFIX + entry.dag_id, dag_assets),)
        found.append(DagInterest(entry.dag_id, tasks, proxied, assets))
    return tuple(found)
