"""The project as handlers see it: one immutable ``Snapshot`` per index update.

``WorkspaceIndex`` (server/index.py) publishes a new ``Snapshot`` after every update; handlers
read it without locks. Here too, what every handler asks of one: the DAG or task at a position,
the DAG a state file is for, a task's proxied state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from analysis.facts import FileFacts, Finding, Position, TaskFacts
from analysis.project import DagEntry, Project
from analysis.state.proxied_state import StateFile


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One consistent view of the project; never mutated after it is published."""

    project: Project
    findings: dict[str, tuple[Finding, ...]]
    texts: dict[str, str]
    """The text each file's facts were computed from (to convert positions exactly, and for
    plans to tell which facts still hold for the text they edit)."""
    versions: dict[str, int | None] = field(default_factory=dict)
    """The buffer version each open file's facts were computed from."""
    generation: int = 0

    def file_facts(self, path: str) -> FileFacts | None:
        return self.project.files.get(path)

    def entries_in(self, path: str) -> list[DagEntry]:
        return [e for e in self.project.entries if e.file.path == path]

    def task_at(self, path: str, position: Position, word: str | None = None
                ) -> tuple[DagEntry, TaskFacts | None] | None:
        """The DAG or task of a DAG file at a position: on its id, its call, or its variable."""
        entries = self.entries_in(path)
        for entry in entries:
            for task in entry.dag.tasks:
                for candidate in (task.id_range, task.definition_range):
                    if candidate is not None and candidate.contains(position):
                        return entry, task
        for entry in entries:
            if (entry.dag.id_range and entry.dag.id_range.contains(position)) \
                    or entry.dag.range.start.line == position.line:
                return entry, None
        best: tuple[DagEntry, TaskFacts] | None = None
        for entry in entries:
            for task in entry.dag.tasks:
                if task.range.contains(position) and (best is None or best[1].range.start <= task.range.start):
                    best = (entry, task)
        if best is not None:
            return best
        if word:
            for entry in entries:
                if entry.dag.variable == word and entry.dag.extent and entry.dag.extent.contains(position):
                    return entry, None
                for task in entry.dag.tasks:
                    if task.variable == word:
                        return entry, task
        return None


def dag_for_state_file(snapshot: Snapshot, path: str) -> DagEntry | None:
    for entry in snapshot.project.entries:
        if entry.state is not None and entry.state.path == path:
            return entry
    stem = Path(path).stem
    folder = os.path.dirname(path)
    return next((e for e in snapshot.project.entries if e.dag_id == stem and e.state_dir == folder), None)


def state_of(entry: DagEntry, task_id: str) -> bool | None:
    state: StateFile | None = entry.state
    if state is None or state.error:
        return None
    if state.dag_proxied is not None:
        return state.dag_proxied
    task_state = state.task(task_id)
    return task_state.proxied if task_state else None
