"""Polls Airflow in a background thread and keeps the latest ``RunHistory`` and status.

The language server never waits on it: handlers read ``poller.history`` / ``poller.status``
(immutable snapshots, swapped under a lock), and ``on_change`` tells the server, from the
poller thread, when something worth redrawing changed. While Airflow is unreachable or refuses
the credentials the poller backs off exponentially (capped at ``max_backoff``) and recovers on
the first good poll; ``poll_now()`` (the ``airlift.refreshStatus`` command) polls at once.
A ``companion`` (``server.peering.deployed.DeploymentWatcher``) reads more with the same client
and thread before each poll of the runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Protocol

from server.peering.client import AirflowClient
from server.peering.history import RUNS_PER_DAG, PeeringStatus, RunHistory, fetch_history
from server.peering.transport import PeeringError
from server.settings import AirflowSettings

log = logging.getLogger("airlift-lsp.peering")

MAX_BACKOFF = 300.0


class Companion(Protocol):
    def poll(self, client: AirflowClient, forced: bool) -> None:
        """Read what it keeps, on the poller thread; ``forced``: the user asked (poll_now).
        Must not raise (its failures are its own, never the run states')."""


class Follower(Protocol):
    def poll(self, history: RunHistory, forced: bool) -> bool:
        """After each good poll of the runs, on the poller thread: read what depends on them
        (``server.peering.dagster_watch.DagsterWatcher``); True when what it keeps changed.
        Must not raise."""

    def close(self) -> None: ...


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _state_for(error: PeeringError) -> str:
    return "unauthorized" if error.kind in ("authentication", "authorization") else "unreachable"


class Poller:
    """``Poller(settings, dag_ids_provider, on_change, clock).start()``; ``stop()`` when done.
    One poller per settings: when the settings change, stop it and start a new one.

    ``dag_ids_provider()`` runs on the poller thread before each poll and must be cheap and
    thread-safe (read an immutable snapshot). ``on_change(history, status)`` runs on the poller
    thread; hand work to the event loop from there (``loop.call_soon_threadsafe``)."""

    def __init__(self, settings: AirflowSettings, dag_ids_provider: Callable[[], Iterable[str]],
                 on_change: Callable[[RunHistory, PeeringStatus], None] | None = None,
                 clock: Callable[[], datetime] = utc_now, *, runs_per_dag: int = RUNS_PER_DAG,
                 max_backoff: float = MAX_BACKOFF,
                 client_factory: Callable[[AirflowSettings], AirflowClient] = AirflowClient.from_settings,
                 companion: Companion | None = None, follower: Follower | None = None):
        self.settings = settings
        self._dag_ids_provider = dag_ids_provider
        self._on_change = on_change
        self._clock = clock
        self._runs_per_dag = runs_per_dag
        self._max_backoff = max_backoff
        self._client_factory = client_factory
        self._companion = companion
        self._follower = follower
        self._follow_forced = False
        self._forced = False
        self._client: AirflowClient | None = None
        self._lock = threading.RLock()  # wait_for predicates may read the properties
        self._polled = threading.Condition(self._lock)
        self._poll_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._polls = 0
        configured = settings.api_version if settings.api_version != "auto" else None
        self._history = RunHistory(base_url=settings.url.rstrip("/") if settings.url else None,
                                   api_version=configured)
        self._status = PeeringStatus(
            "connecting" if settings.url else "disabled", url=settings.url,
            api_version=self._history.api_version)

    # -- reading (any thread) ----------------------------------------------------------------------

    @property
    def enabled(self) -> bool:
        return bool(self.settings.url)

    @property
    def history(self) -> RunHistory:
        with self._lock:
            return self._history

    @property
    def status(self) -> PeeringStatus:
        with self._lock:
            return self._status

    def snapshot(self) -> tuple[RunHistory, PeeringStatus]:
        """History and status from the same poll."""
        with self._lock:
            return self._history, self._status

    @property
    def polls(self) -> int:
        """How many polls have completed (ok or not)."""
        with self._lock:
            return self._polls

    def wait_for(self, predicate: Callable[[RunHistory, PeeringStatus], bool], timeout: float) -> bool:
        """Block until ``predicate(history, status)`` holds after a poll, or ``timeout`` seconds.
        For tests and the CLI, never for a language-server handler."""
        deadline = time.monotonic() + timeout
        with self._polled:
            while not predicate(self._history, self._status):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._polled.wait(remaining)
            return True

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Poller:
        """Start polling in a daemon thread; does nothing when no URL is configured."""
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="airlift-peering", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop polling. A request in flight is bounded by its timeouts; the thread is a daemon
        either way, so stopping never hangs longer than ``timeout``."""
        self._stopping.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        if thread is None or not thread.is_alive():  # else the thread closes them when it ends
            self._close_clients()

    def poll_now(self, everything: bool = True) -> None:
        """Poll as soon as possible, forgetting any backoff (``airlift.refreshStatus``);
        ``everything``: the companion reads all it keeps again too (False: new DAG ids only)."""
        with self._lock:
            self._failures = 0
            self._forced = self._forced or everything
            self._follow_forced = self._follow_forced or everything
        self._wake.set()

    def poll_once(self) -> tuple[RunHistory, PeeringStatus]:
        """One poll on the calling thread (the CLI's ``status``); not for a running poller."""
        if not self.enabled:
            return self.snapshot()
        self._poll()
        return self.snapshot()

    def next_delay(self) -> float:
        """Seconds until the next poll: the interval, or the backoff after failures."""
        with self._lock:
            failures = self._failures
        interval = max(0.05, float(self.settings.poll_interval))
        if failures == 0:
            return interval
        return min(interval * 2 ** (failures - 1), max(self._max_backoff, interval))

    # -- the thread --------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._poll()
            if self._stopping.is_set():
                break
            self._wake.wait(self.next_delay())
            self._wake.clear()
        self._close_clients()

    def _close_clients(self) -> None:
        """The Airflow client's and the follower's connections."""
        client, self._client = self._client, None
        if client is not None:
            client.close()
        if self._follower is not None:
            self._follower.close()

    def _poll(self) -> None:
        with self._poll_lock:
            previous, old_status = self.snapshot()
            history, status, failed = self._fetch(previous)
            followed = False
            if not failed and self._follower is not None:
                with self._lock:
                    forced, self._follow_forced = self._follow_forced, False
                followed = self._follower.poll(history, forced)
            with self._lock:
                self._history, self._status = history, status
                self._failures = self._failures + 1 if failed else 0
                self._polls += 1
                self._polled.notify_all()
            if status.state != old_status.state or status.error_kind != old_status.error_kind:
                if failed:
                    log.warning("Airflow peering %s: %s", status.state, status.error)
                else:
                    log.info("Airflow peering connected to %s (API %s)", status.url, status.api_version)
            if self._stopping.is_set() or (history.same_data(previous) and status.same_as(old_status)
                                           and not followed):
                return
            if self._on_change is not None:
                try:
                    self._on_change(history, status)
                except Exception:
                    log.exception("peering on_change failed")

    def _dag_ids(self, previous: RunHistory) -> list[str]:
        try:
            return sorted(set(self._dag_ids_provider()))
        except Exception:
            log.exception("the DAG ids for peering could not be read")
            return sorted(previous.dag_runs)

    def _fetch(self, previous: RunHistory) -> tuple[RunHistory, PeeringStatus, bool]:
        url = self.settings.url
        try:
            if self._client is None:
                self._client = self._client_factory(self.settings)
            client = self._client
            if self._companion is not None:
                client.connect()  # a connection failure is the poll's, not the companion's
                with self._lock:
                    forced, self._forced = self._forced, False
                self._companion.poll(client, forced)
            dag_ids = self._dag_ids(previous)  # after the companion: DAGs it made known count
            history = fetch_history(client, dag_ids, previous=previous, per_dag=self._runs_per_dag,
                                    now=self._clock())
            return history, PeeringStatus("connected", url, client.api_version, self._clock(),
                                          airflow_version=client.airflow_version), False
        except PeeringError as error:
            version = self._client.api_version if self._client else None
            if error.status == 404 and self.settings.api_version == "auto":
                self._client = None  # detect again next time: Airflow may have been upgraded
            return previous, PeeringStatus(_state_for(error), url, version, self._clock(), str(error),
                                           error.kind), True
        except Exception as error:
            log.exception("peering poll failed")
            version = self._client.api_version if self._client else None
            return previous, PeeringStatus("unreachable", url, version, self._clock(),
                                           f"internal error while polling Airflow: {type(error).__name__}",
                                           "bad_response"), True
