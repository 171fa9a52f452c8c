"""Switches followed until they are live: after a proxy or a rollback, does the running Airflow
run the task through dagster-airlift's proxy operator (or no longer)?

A ``SwitchBoard`` keeps one ``Switch`` per switched task (or per DAG for DAG-level proxying),
recorded when the proxied-state flags move (``analysis.switches``). The ``SwitchWatcher`` runs
on the poller thread (``Poller(companion=...)``), never in a handler:

- once per switched DAG: ``GET .../dags/{dag_id}`` (its ``file_token`` and ``last_parsed_time``)
  and, on Airflow 3, ``PUT /api/v2/parseDagFile/{file_token}`` so the dag-processor parses the
  file at once. Airflow 2 has no such endpoint: it re-parses on its own schedule
  (``[scheduler] min_file_process_interval``, 30 s by default);
- each poll, one ``GET .../dags/{dag_id}/tasks`` per DAG with a switch not live yet: a task is
  live once its operator class is (or is no longer) one of airlift's proxy operators
  (``TASK_PROXY_OPERATORS``; the DAG-level ones replace every task by one override task);
- after ``TIMEOUT`` (5 min) a switch still not live says what is missing (``GET .../dags/{dag_id}``
  each poll, until its ``last_parsed_time`` moves, tells whether Airflow parsed the file since the
  switch); it is still followed
  until ``GIVE_UP`` (1 h), then forgotten. A live switch is shown for ``SHOW_LIVE`` (10 min);
  the next switch of the same task replaces it at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum

from analysis.deployed import DeployedTask
from analysis.switches import Switched
from server.peering.poller import utc_now
from server.peering.transport import PeeringError

log = logging.getLogger("airlift-lsp.peering")

# dagster-airlift's proxy operators (dagster_airlift/in_airflow/task_proxy_operator.py and
# dag_proxy_operator.py), as Airflow's REST API names a task's class.
TASK_PROXY_OPERATORS = frozenset({"BaseProxyTaskToDagsterOperator", "DefaultProxyTaskToDagsterOperator"})
DAG_PROXY_OPERATORS = frozenset({"BaseProxyDAGToDagsterOperator", "DefaultProxyDAGToDagsterOperator"})

TIMEOUT = timedelta(minutes=5)
SHOW_LIVE = timedelta(minutes=10)
GIVE_UP = timedelta(hours=1)


class Phase(Enum):
    PENDING = "pending"
    LIVE = "live"
    LATE = "late"
    """Not live after ``TIMEOUT``: ``Switch.missing`` says why."""


@dataclass(frozen=True, slots=True)
class Switch:
    dag_id: str
    task_id: str | None
    """None: the DAG-level flag."""
    proxied: bool
    since: datetime
    file: str
    """The DAG file's name, for messages."""
    live_since: datetime | None = None
    missing: str | None = None
    reparse: str | None = None
    """What became of the re-parse request (one line), once asked."""

    @property
    def phase(self) -> Phase:
        if self.live_since is not None:
            return Phase.LIVE
        return Phase.LATE if self.missing is not None else Phase.PENDING


def hh_mm(value: datetime) -> str:
    """Local time, as a clock on the user's wall shows it."""
    return value.astimezone().strftime("%H:%M")


def lens_text(switch: Switch) -> str:
    """``proxy pending``, ``proxied: live since 12:04``, ``rollback not live after 5 min: ...``."""
    verb = "proxy" if switch.proxied else "rollback"
    if switch.live_since is not None:
        return ("proxied" if switch.proxied else "back in Airflow") + f": live since {hh_mm(switch.live_since)}"
    if switch.missing is not None:
        return f"{verb} not live after {int(TIMEOUT.total_seconds() // 60)} min: {switch.missing}"
    return f"{verb} pending"


def hover_line(switch: Switch, markdown: bool) -> str:
    """The lens's words, with when the switch was made and what became of the re-parse request."""
    text = f"Switch: {lens_text(switch)} (switched at {hh_mm(switch.since)}"
    text += f"; {switch.reparse})" if switch.reparse else ")"
    return ("\n\n---\n\n" if markdown else "\n\n") + text


def is_live(switch: Switch, tasks: tuple[DeployedTask, ...]) -> bool:
    if switch.task_id is None:
        return any(t.operator in DAG_PROXY_OPERATORS for t in tasks) == switch.proxied
    task = next((t for t in tasks if t.task_id == switch.task_id), None)
    if task is None:
        return False  # not (or not yet) in the deployed DAG: a DAG-level proxy hides it too
    return (task.operator in TASK_PROXY_OPERATORS) == switch.proxied


def _missing(switch: Switch, tasks: tuple[DeployedTask, ...] | None, parsed_since: bool | None) -> str:
    if tasks is None:
        return f"Airflow no longer has DAG `{switch.dag_id}`"
    if parsed_since is False:
        return f"Airflow has not re-parsed `{switch.file}` yet: is the file deployed?"
    if switch.task_id is None:
        now = "still runs it" if switch.proxied else "still runs its override task"
        return f"Airflow re-parsed `{switch.file}` but {now}: is its proxied_state file deployed?"
    task = next((t for t in tasks if t.task_id == switch.task_id), None)
    if task is None:
        return f"Airflow's DAG `{switch.dag_id}` has no task `{switch.task_id}`"
    return (f"Airflow re-parsed `{switch.file}` but `{switch.task_id}` still runs `{task.operator}`: "
            "is its proxied_state file deployed?")


class SwitchBoard:
    """The switches being followed; any thread reads, the poller thread updates."""

    def __init__(self, *, clock: Callable[[], datetime] = utc_now, timeout: timedelta = TIMEOUT,
                 show_live: timedelta = SHOW_LIVE, give_up: timedelta = GIVE_UP) -> None:
        self._clock = clock
        self.timeout, self.show_live, self.give_up = timeout, show_live, give_up
        self._lock = threading.Lock()
        self._switches: dict[tuple[str, str | None], Switch] = {}
        self._reparse_due: set[str] = set()
        self._stamps: dict[str, str | None] = {}
        """Each switched DAG's ``last_parsed_time`` when it was switched (asked for with the token)."""
        self._parsed: dict[str, bool] = {}
        """Whether Airflow parsed the DAG's file since its last switch, once a late switch asked."""

    def record(self, switched: Iterable[Switched], files: Mapping[str, str]) -> bool:
        """Follow these switches from now on; a task's new switch replaces its last one."""
        now = self._clock()
        recorded = False
        with self._lock:
            for switch in switched:
                file = files.get(switch.dag_id, f"{switch.dag_id}.py")
                if switch.dag_level:
                    for key in [k for k in self._switches if k[0] == switch.dag_id]:
                        del self._switches[key]
                    self._switches[(switch.dag_id, None)] = Switch(switch.dag_id, None, switch.proxied, now, file)
                for task_id in switch.task_ids:
                    self._switches[(switch.dag_id, task_id)] = Switch(switch.dag_id, task_id, switch.proxied, now, file)
                self._reparse_due.add(switch.dag_id)
                self._stamps.pop(switch.dag_id, None)
                self._parsed.pop(switch.dag_id, None)
                recorded = True
        return recorded

    def get(self, dag_id: str, task_id: str | None) -> Switch | None:
        """The task's switch (or its DAG's DAG-level one) while it is worth showing."""
        with self._lock:
            switch = self._switches.get((dag_id, task_id))
            if switch is None and task_id is not None:
                switch = self._switches.get((dag_id, None))
        if switch is None or (switch.live_since is not None and self._clock() - switch.live_since > self.show_live):
            return None
        return switch

    def take_reparse_due(self) -> list[str]:
        with self._lock:
            due, self._reparse_due = sorted(self._reparse_due), set()
        return due

    def following(self) -> list[str]:
        """The DAGs with a switch not live yet: one tasks request each per poll."""
        with self._lock:
            return sorted({s.dag_id for s in self._switches.values() if s.live_since is None})

    def late_due(self, dag_id: str) -> bool:
        """A switch of the DAG ran out of time and Airflow was not seen parsing the file since the
        switch: its message needs the parse stamp (one more request a poll until it moves)."""
        now = self._clock()
        with self._lock:
            if self._parsed.get(dag_id):
                return False
            return any(s.dag_id == dag_id and s.live_since is None and now - s.since >= self.timeout
                       for s in self._switches.values())

    def note_reparse(self, dag_id: str, outcome: str, *, stamp: str | None = None, stamp_read: bool = False) -> None:
        with self._lock:
            if stamp_read:
                self._stamps[dag_id] = stamp
            for key, switch in self._switches.items():
                if key[0] == dag_id and switch.live_since is None:
                    self._switches[key] = replace(switch, reparse=outcome)

    def observe(self, dag_id: str, tasks: tuple[DeployedTask, ...] | None, *, stamp: str | None = None,
                stamp_read: bool = False) -> bool:
        """The DAG's deployed tasks (None: Airflow has no such DAG) as read now; ``stamp`` its
        ``last_parsed_time`` when read (``stamp_read``). True when a switch changed."""
        now = self._clock()
        changed = False
        with self._lock:
            parsed_since = self._parsed.get(dag_id)
            if stamp_read and dag_id in self._stamps:
                parsed_since = self._parsed[dag_id] = stamp != self._stamps[dag_id]
            for key, switch in list(self._switches.items()):
                if key[0] != dag_id or switch.live_since is not None:
                    continue
                if tasks is not None and is_live(switch, tasks):
                    self._switches[key] = replace(switch, live_since=now, missing=None)
                    changed = True
                elif now - switch.since >= self.give_up:
                    del self._switches[key]
                    changed = True
                elif now - switch.since >= self.timeout:
                    missing = _missing(switch, tasks, parsed_since)
                    if missing != switch.missing:
                        self._switches[key] = replace(switch, missing=missing)
                        changed = True
        return changed

    def expire(self) -> bool:
        """Forget the live switches shown long enough. True when one went."""
        now = self._clock()
        with self._lock:
            old = [k for k, s in self._switches.items() if s.live_since is not None and now - s.live_since > self.show_live]
            for key in old:
                del self._switches[key]
        return bool(old)


class SwitchWatcher:
    """The poller's companion for switches: ``poll`` never raises; ``on_change()`` runs on the
    poller thread when a switch changed (hand it to the event loop from there)."""

    def __init__(self, board: SwitchBoard, on_change: Callable[[], None]) -> None:
        self.board = board
        self._on_change = on_change

    def poll(self, client, forced: bool = False) -> None:
        changed = False
        try:
            for dag_id in self.board.take_reparse_due():
                self._ask_reparse(client, dag_id)
                changed = True
            for dag_id in self.board.following():
                tasks = client.list_tasks(dag_id)
                stamp, stamp_read = None, False
                if self.board.late_due(dag_id):
                    found = client.dag_file(dag_id)
                    stamp, stamp_read = (found[1] if found else None), True
                changed |= self.board.observe(dag_id, tasks, stamp=stamp, stamp_read=stamp_read)
            changed |= self.board.expire()
        except PeeringError as error:
            log.warning("following switches: %s", error)
        except Exception:  # run states must keep coming
            log.exception("following switches failed")
        if changed:
            try:
                self._on_change()
            except Exception:
                log.exception("switches on_change failed")

    def _ask_reparse(self, client, dag_id: str) -> None:
        try:
            found = client.dag_file(dag_id)
            if found is None:
                self.board.note_reparse(dag_id, f"Airflow does not have DAG `{dag_id}`")
                return
            token, stamp = found
            if client.api_version != "v2" or token is None:
                outcome = "Airflow 2 re-parses the file on its own schedule"
            elif client.reparse(token):
                outcome = "re-parse asked"
            else:
                outcome = "Airflow no longer knows the file"
            self.board.note_reparse(dag_id, outcome, stamp=stamp, stamp_read=True)
        except PeeringError as error:
            self.board.note_reparse(dag_id, f"re-parse not asked: {error}")


class Companions:
    """Several poller companions in turn (each must not raise)."""

    def __init__(self, *companions) -> None:
        self.companions = [c for c in companions if c is not None]

    def poll(self, client, forced: bool) -> None:
        for companion in self.companions:
            companion.poll(client, forced)
