"""What the cursor is on, in any of the three kinds of files: a DAG or a task."""

from __future__ import annotations

import re
from dataclasses import dataclass

from analysis.facts import Position, Range, TaskFacts
from analysis.project import DagEntry
from analysis.source import split_lines
from server.index import Snapshot, dag_for_state_file

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True, slots=True)
class Target:
    entry: DagEntry
    task: TaskFacts | None
    range: Range
    """What the cursor is on, in the file it is in."""


def word_at(text: str, position: Position) -> str | None:
    """The identifier at (or just after) a position, lines ending as LSP ends them."""
    lines = split_lines(text)
    if not 0 <= position.line < len(lines):
        return None
    for match in _WORD.finditer(lines[position.line]):
        if match.start() <= position.character <= match.end():
            return match.group()
    return None


def text_at(text: str, where: Range) -> str:
    """The text of a range; of a range over several lines, its first line only."""
    lines = split_lines(text)
    if not 0 <= where.start.line < len(lines):
        return ""
    if where.start.line == where.end.line:
        return lines[where.start.line][where.start.character:where.end.character]
    return lines[where.start.line][where.start.character:]


def target_at(snapshot: Snapshot, path: str, position: Position, text: str) -> Target | None:
    if path.endswith((".yaml", ".yml")) and path not in snapshot.project.dagster_modules:
        return _in_state_file(snapshot, path, position)
    module = snapshot.project.dagster_modules.get(path)
    if module is not None:
        for mapping in module.mappings:
            if mapping.key_range.contains(position) or any(a.range.contains(position) for a in mapping.assets):
                entry = snapshot.project.entry(mapping.dag_id)
                if entry is None:
                    return None
                task = entry.dag.task(mapping.task_id) if mapping.task_id else None
                return Target(entry, task, mapping.key_range)
        return None
    found = snapshot.task_at(path, position, word_at(text, position))
    if found is None:
        return None
    entry, task = found
    if task is None:
        return Target(entry, None, entry.dag.id_range or entry.dag.range)
    return Target(entry, task, task.id_range or task.range)


def _in_state_file(snapshot: Snapshot, path: str, position: Position) -> Target | None:
    entry = dag_for_state_file(snapshot, path)
    state = snapshot.project.states.get(path)
    if entry is None or state is None:
        return None
    for task_state in state.tasks:
        if task_state.id_range.contains(position):
            task = entry.dag.task(task_state.task_id)
            return Target(entry, task, task_state.id_range) if task else None
    return None
