"""The migration project: DAG files, their proxied-state files and the Dagster module, joined.

Discovery reads the disk (never writes it); building the model takes texts from a
``read`` callback so the server can hand in open editor buffers instead of disk content.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from analysis.dagfile import DEFAULT_STATE_DIR, extract_file
from analysis.dagster_module import DagsterModule, looks_like_dagster_module, parse_dagster_module
from analysis.files import read_disk, walk_python_files
from analysis.facts import DagFacts, FileFacts, Range, TaskFacts
from analysis.source import Decoded, might_contain_dag
from analysis.state import StateFile, parse_state_file

STATE_SUFFIXES = (".yaml", ".yml")

Reader = Callable[[str], Decoded]


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a project's files are: the inputs of discovery."""

    root: str
    dag_folders: tuple[str, ...] = ()
    """Relative to ``root``; empty means the whole workspace."""
    dagster_module: str | None = None

    def dag_roots(self) -> list[str]:
        folders = self.dag_folders or (".",)
        return [os.path.normpath(os.path.join(self.root, f)) for f in folders]


@dataclass(frozen=True, slots=True)
class DagEntry:
    """One DAG with everything the migration needs to know about it."""

    dag: DagFacts
    file: FileFacts
    state_dir: str
    state: StateFile | None

    @property
    def dag_id(self) -> str:
        return self.dag.dag_id


@dataclass(slots=True)
class Project:
    layout: Layout
    files: dict[str, FileFacts] = field(default_factory=dict)
    states: dict[str, StateFile] = field(default_factory=dict)
    dagster_modules: dict[str, DagsterModule] = field(default_factory=dict)
    entries: list[DagEntry] = field(default_factory=list)

    def entry(self, dag_id: str) -> DagEntry | None:
        return next((e for e in self.entries if e.dag_id == dag_id), None)

    @property
    def dag_ids(self) -> set[str]:
        return {e.dag_id for e in self.entries}

    @property
    def primary_dagster_module(self) -> DagsterModule | None:
        if self.layout.dagster_module:
            path = os.path.normpath(os.path.join(self.layout.root, self.layout.dagster_module))
            return self.dagster_modules.get(path)
        with_defs = [m for m in self.dagster_modules.values() if m.calls_build_defs]
        return (with_defs or list(self.dagster_modules.values()) or [None])[0]

    def assets_for(self, dag_id: str, task_id: str | None) -> tuple[str, ...]:
        assets: list[str] = []
        for module in self.dagster_modules.values():
            assets.extend(module.assets_for(dag_id, task_id))
        return tuple(assets)

    def runnable_in_dagster(self, dag_id: str, task_id: str) -> bool:
        """Some asset mapped to the task is an executable definition (not only AssetSpecs)."""
        return any(asset.executable for module in self.dagster_modules.values() for mapping in module.mappings
                   if mapping.dag_id == dag_id and mapping.task_id == task_id for asset in mapping.assets)

    def is_proxied(self, entry: DagEntry, task: TaskFacts) -> bool:
        if entry.state is None or entry.state.error:
            return False
        if entry.state.dag_proxied is not None:
            return bool(entry.state.dag_proxied)
        state = entry.state.task(task.task_id)
        return bool(state and state.proxied)


def state_dir_for(file: FileFacts) -> str:
    """The folder ``load_proxied_state_from_yaml`` reads for this DAG file."""
    folder = os.path.dirname(file.path)
    relative = file.proxying.state_dir if file.proxying and file.proxying.state_dir else DEFAULT_STATE_DIR
    return os.path.normpath(os.path.join(folder, relative))


def discover(layout: Layout, read: Reader = read_disk) -> Project:
    """Find and read every DAG file, state file and Dagster module of a project."""
    project = Project(layout)
    dagster_path = (
        os.path.normpath(os.path.join(layout.root, layout.dagster_module)) if layout.dagster_module else None
    )
    for folder in layout.dag_roots():
        for path in walk_python_files(folder):
            if path == dagster_path or path in project.files:
                continue
            decoded = read(path)
            if decoded.text is None:
                if decoded.skipped:
                    project.files[path] = FileFacts(path=path, skipped=decoded.skipped)
                continue
            if looks_like_dagster_module(decoded.text) and dagster_path is None:
                project.dagster_modules[path] = parse_dagster_module(path, decoded.text)
                continue
            if might_contain_dag(decoded.text):
                project.files[path] = extract_file(path, decoded.text)
    if dagster_path is not None:
        decoded = read(dagster_path)
        if decoded.text is not None:
            project.dagster_modules[dagster_path] = parse_dagster_module(dagster_path, decoded.text)
    elif not project.dagster_modules and layout.dag_folders:
        for path in walk_python_files(layout.root, honour_airflowignore=False):
            if path in project.files:
                continue
            decoded = read(path)
            if decoded.text is not None and looks_like_dagster_module(decoded.text):
                project.dagster_modules[path] = parse_dagster_module(path, decoded.text)
    for state_dir in sorted({state_dir_for(f) for f in project.files.values()}):
        for path in _state_files_in(state_dir):
            decoded = read(path)
            project.states[path] = parse_state_file(path, decoded.text or "") if decoded.text is not None \
                else StateFile(path=path, dag_id=Path(path).stem, dag_proxied=None, tasks=(),
                               error=f"dagster-airlift cannot read this file ({decoded.skipped})",
                               error_range=Range.point(0), breaks_folder=True)
    link(project)
    return project


def link(project: Project) -> None:
    """Join each DAG with its state file (after any file of the project changed)."""
    project.entries = []
    for file in project.files.values():
        state_dir = state_dir_for(file)
        for dag in file.dags:
            state = None
            for suffix in STATE_SUFFIXES:
                state = project.states.get(os.path.join(state_dir, dag.dag_id + suffix))
                if state is not None:
                    break
            project.entries.append(DagEntry(dag, file, state_dir, state))


def _state_files_in(folder: str) -> Iterable[str]:
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names if n.endswith(STATE_SUFFIXES)
            and os.path.isfile(os.path.join(folder, n))]
