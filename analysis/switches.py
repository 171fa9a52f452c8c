"""Which tasks a change of the proxied-state files switched between Airflow and Dagster.

The language server compares the flags of one snapshot with the next: a proxy or a rollback
(by a command, a code action, or a hand edit of the YAML) shows up as flags that moved, and each
move is then followed on the running Airflow until it is live (``server.peering.switches``).
Pure: flags in, switches out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from analysis.plans.files import FileChange
from analysis.project import Project
from analysis.state.proxied_state import StateFile, parse_state_file


@dataclass(frozen=True, slots=True)
class Flags:
    """One DAG's proxied state as its state file says it (a file that cannot be read: no Flags)."""

    dag_level: bool | None
    """The top-level ``proxied:`` key; None when the file has none (task level)."""
    proxied: frozenset[str]
    """The task ids with ``proxied: true``."""


@dataclass(frozen=True, slots=True)
class Switched:
    dag_id: str
    task_ids: tuple[str, ...]
    """Sorted; empty for a DAG-level switch."""
    proxied: bool
    """What the tasks (or the DAG) now should be."""

    @property
    def dag_level(self) -> bool:
        return not self.task_ids


NO_FLAGS = Flags(None, frozenset())


def _flags(state: StateFile) -> Flags:
    return Flags(state.dag_proxied, frozenset(t.task_id for t in state.tasks if t.proxied))


def flags_of(project: Project) -> dict[str, Flags]:
    """Each DAG's flags; DAGs without a state file have none set, unreadable ones are left out
    (a half-typed YAML is not a rollback)."""
    found: dict[str, Flags] = {}
    for entry in project.entries:
        state = entry.state
        if state is None:
            found[entry.dag_id] = NO_FLAGS
        elif not state.error:
            found[entry.dag_id] = _flags(state)
    return found


def switched(before: Mapping[str, Flags], after: Mapping[str, Flags]) -> list[Switched]:
    """The switches from ``before`` to ``after``: per DAG, the tasks now proxied, the tasks now
    rolled back, and the DAG-level flag when it moved. DAGs missing on either side are left
    out (a new or removed DAG, or a state file that cannot be read)."""
    found: list[Switched] = []
    for dag_id in sorted(set(before) & set(after)):
        old, new = before[dag_id], after[dag_id]
        if bool(old.dag_level) != bool(new.dag_level):
            found.append(Switched(dag_id, (), bool(new.dag_level)))
        if new.dag_level or old.dag_level:
            continue  # the DAG runs in Dagster whole, or its DAG-level rollback covers every task
        if new.proxied - old.proxied:
            found.append(Switched(dag_id, tuple(sorted(new.proxied - old.proxied)), True))
        if old.proxied - new.proxied:
            found.append(Switched(dag_id, tuple(sorted(old.proxied - new.proxied)), False))
    return found


def switched_by(changes: Iterable[FileChange]) -> list[Switched]:
    """The switches a plan's edits make: its state files' flags before and after (a created file
    starts from no flags; a removed one, a decommission, switches nothing)."""
    before: dict[str, Flags] = {}
    after: dict[str, Flags] = {}
    for change in changes:
        if not change.path.endswith((".yaml", ".yml")) or change.new_text is None:
            continue
        new = parse_state_file(change.path, change.new_text)
        old = parse_state_file(change.path, change.old_text) if change.old_text is not None else None
        if new.error or (old is not None and old.error):
            continue
        before[new.dag_id] = NO_FLAGS if old is None else _flags(old)
        after[new.dag_id] = _flags(new)
    return switched(before, after)
