"""The DAGs the peered Airflow deploys, for those its files do not tell: read from the REST API
(nothing is executed), kept current on the poller thread, handed to the index as
``analysis.deployed.DeployedDag`` records.

Cost (requests per DAG-list read, whatever the number of DAGs):

- the DAG list: ``ceil(DAGs / page)`` requests, ``page`` being ``client.DAG_PAGE`` or the
  server's ``[api] maximum_page_limit`` when that is smaller (one request for 500 DAGs with the
  limit at 500, five with Airflow's default of 100). It is read every ``LIST_INTERVAL`` seconds
  (or the poll interval when longer), and at once when the user asks (``airlift.refreshStatus``);
- the tasks, one request per DAG, only for DAGs whose file the static model does not read
  whole: a deployed DAG the model misses, or reads with dynamic ids, in a workspace file that
  ``fileloc`` names. They are cached by ``(dag_id, last_parsed_time)`` and asked for again only
  when that stamp moved; at most ``MAX_TASK_REQUESTS`` a poll (the oldest first; the rest wait
  for the next poll). Airflow stamps ``last_parsed_time`` at every parse of the file
  (``min_file_process_interval``, 30 s by default), changed or not, so in practice those DAGs'
  tasks are read again at each DAG-list read: that is what the slower cadence bounds;
- ``CHECKS_PER_POLL`` tasks requests at most for DAGs the model does read whole, to compare
  them with the local file (``analysis.deployed.differences``): those never compared (at any
  poll), then, at a DAG-list read, those that disagreed last time (so a finding clears soon
  after a deploy), then the longest unchecked. Without them no difference could ever be found;
  with them a deployment of 500 DAGs is first compared in 100 polls. The CLI's one round
  leaves them out (``checks=0``).

Run states are polled every ``pollInterval`` (10 s by default) because runs move by the
second; deployments move when someone deploys, and each read costs the pages of the list
plus the re-parsed DAGs' tasks, so once a minute is soon enough and keeps a large deployment's
load low.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType

from analysis.deployed import DeployedDag, DeployedTask, file_for
from analysis.facts import FileFacts
from server.peering.client import AirflowClient
from server.peering.records import DagListing
from server.peering.transport import PeeringError

log = logging.getLogger("airlift-lsp.peering")

LIST_INTERVAL = 60.0
MAX_TASK_REQUESTS = 100
CHECKS_PER_POLL = 5


class Need(Enum):
    NONE = "none"
    """No workspace file for it: nothing could use its tasks."""
    TASKS = "tasks"
    """The static model misses the DAG or reads it in part: its tasks come from Airflow."""
    CHECK = "check"
    """The static model reads it whole: its tasks only serve to compare with the file."""


Classifier = Callable[[DagListing], "tuple[Need, frozenset[str]]"]
"""A listing -> what its tasks are needed for, and the task ids the static model reads (for CHECK)."""


def classifier(files: Mapping[str, FileFacts], dag_roots: Iterable[str]) -> Classifier:
    """What each deployed DAG's tasks are needed for, given the static model's files."""
    roots = list(dag_roots)

    def classify(listing: DagListing) -> tuple[Need, frozenset[str]]:
        path = file_for(listing.fileloc, files, roots)
        if path is None:
            return Need.NONE, frozenset()
        static = files[path].dag(listing.dag_id)
        if static is None or static.dynamic:
            return Need.TASKS, frozenset()
        return Need.CHECK, frozenset(t.task_id for t in static.tasks if t.certain)

    return classify


@dataclass(frozen=True, slots=True)
class KnownTasks:
    version: str | None
    """The DAG's ``last_parsed_time`` when its tasks were read."""
    tasks: tuple[DeployedTask, ...]
    read_at: float
    """``time.monotonic()`` of the read: the oldest are read again first."""
    found: bool = True
    """False: Airflow answered 404 (listed, but its DAG gone): not asked again for this version."""


@dataclass(frozen=True)
class Deployment:
    """What one Airflow deploys, as far as it was read: immutable, replaced whole by each poll."""

    listings: Mapping[str, DagListing] = field(default_factory=lambda: MappingProxyType({}))
    tasks: Mapping[str, KnownTasks] = field(default_factory=lambda: MappingProxyType({}))
    listed_at: float | None = None
    error: str | None = None
    """Why the last round stopped short (one line, no secrets); None when it did not."""

    def dags(self) -> tuple[DeployedDag, ...]:
        """The deployed DAGs whose tasks are known, by id: what ``Project.deployed`` takes."""
        return tuple(DeployedDag(dag_id, listing.fileloc, self.tasks[dag_id].tasks,
                                 version=self.tasks[dag_id].version)
                     for dag_id, listing in sorted(self.listings.items())
                     if dag_id in self.tasks and self.tasks[dag_id].found)


EMPTY = Deployment()


def read_deployment(client: AirflowClient, classify: Classifier, *, previous: Deployment = EMPTY,
                    relist: bool = True, checks: int = CHECKS_PER_POLL,
                    clock: Callable[[], float] = time.monotonic) -> Deployment:
    """One round: the DAG list (when ``relist``, else the previous one), then the tasks that are
    needed and not known for the current ``last_parsed_time`` (see the module's docstring).
    A ``PeeringError`` ends the round: what was read so far is kept, with the error."""
    now = clock()
    listings = dict(previous.listings)
    listed_at = previous.listed_at
    tasks = dict(previous.tasks)
    try:
        if relist:
            answer = client.list_dags()
            fresh = {listing.dag_id: listing for listing in answer.dags}
            # An incomplete list (DAGs came or went while paging) keeps the DAGs it missed.
            listings = fresh if answer.complete else {**listings, **fresh}
            listed_at = now
        tasks = {dag_id: known for dag_id, known in tasks.items() if dag_id in listings}
        wanted, checked = _stale(listings, tasks, classify, relist)
        order = sorted(wanted, key=lambda d: _age(tasks, d))[:MAX_TASK_REQUESTS]
        order += sorted(checked, key=lambda d: (_age(tasks, d)[0], not checked[d], _age(tasks, d)[1]))[:checks]
        for dag_id in order:
            found = client.list_tasks(dag_id)
            tasks[dag_id] = KnownTasks(listings[dag_id].last_parsed, found or (), now, found is not None)
    except PeeringError as error:
        return Deployment(MappingProxyType(listings), MappingProxyType(tasks), listed_at, str(error))
    return Deployment(MappingProxyType(listings), MappingProxyType(tasks), listed_at)


def _stale(listings: Mapping[str, DagListing], tasks: Mapping[str, KnownTasks], classify: Classifier,
           relist: bool) -> tuple[list[str], dict[str, bool]]:
    """The DAGs whose tasks are needed and not current: for the model (TASKS), and for
    comparison (CHECK: never compared, or at a list read; the value says whether they disagreed
    last time)."""
    wanted: list[str] = []
    checked: dict[str, bool] = {}
    for dag_id, listing in listings.items():
        known = tasks.get(dag_id)
        if known is not None and known.version == listing.last_parsed:
            continue
        need, static_ids = classify(listing)
        if need is Need.TASKS:
            wanted.append(dag_id)
        elif need is Need.CHECK and (relist or known is None):
            checked[dag_id] = known is not None and {t.task_id for t in known.tasks} != static_ids
    return wanted, checked


def _age(tasks: Mapping[str, KnownTasks], dag_id: str) -> tuple[bool, float]:
    """Never read first, then the longest unread."""
    known = tasks.get(dag_id)
    return (known is not None, known.read_at if known is not None else 0.0)


def _shape(deployment: Deployment) -> tuple:
    return tuple((dag.dag_id, dag.fileloc, dag.tasks) for dag in deployment.dags())


class DeploymentWatcher:
    """Keeps a ``Deployment`` current from the poller thread (``Poller(companion=...)``).

    ``classify()`` runs on the poller thread before each round and must read an immutable
    snapshot; ``on_change(deployment)`` runs there too when the deployed DAGs (ids, files or
    tasks) changed. Failures never stop the run-state poll: they are logged once and kept in
    ``deployment.error``."""

    def __init__(self, classify: Callable[[], Classifier], on_change: Callable[[Deployment], None],
                 *, interval: float = LIST_INTERVAL, checks: int = CHECKS_PER_POLL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._classify = classify
        self._on_change = on_change
        self.interval = interval
        self._checks = checks
        self._clock = clock
        self._lock = threading.Lock()
        self._deployment = EMPTY

    @property
    def deployment(self) -> Deployment:
        with self._lock:
            return self._deployment

    def poll(self, client: AirflowClient, forced: bool = False) -> None:
        previous = self.deployment
        due = previous.listed_at is None or self._clock() - previous.listed_at >= self.interval
        try:
            classify = self._classify()
            deployment = read_deployment(client, classify, previous=previous, relist=forced or due,
                                         checks=self._checks, clock=self._clock)
        except Exception:  # noqa: BLE001 - run states must keep coming
            log.exception("reading the deployed DAGs failed")
            return
        if deployment.error and deployment.error != previous.error:
            log.warning("deployed DAGs: %s", deployment.error)
        with self._lock:
            self._deployment = deployment
        if _shape(deployment) != _shape(previous):  # not the stamps: Airflow re-parses every 30 s
            try:
                self._on_change(deployment)
            except Exception:  # noqa: BLE001
                log.exception("deployed DAGs on_change failed")
