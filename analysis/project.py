"""The migration project: DAG files, their proxied-state files and the Dagster module, joined.

Discovery reads the disk (never writes it); building the model takes texts from a
``read`` callback so the server can hand in open editor buffers instead of disk content,
and ``open_paths`` so that files that exist only as buffers (new, unsaved) count too.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from analysis.dags.dagfile import DEFAULT_STATE_DIR, extract_file
from analysis.dagster.mapping_index import MappingIndex
from analysis.dags.modules import ProjectCode
from analysis.deployed import DeployedDag, merge
from analysis.facts import DagFacts, FileFacts, Range, TaskFacts
from analysis.files import SKIPPED_DIRS, read_disk, walk_component_files, walk_python_files
from analysis.ignore import IgnoreRules
from analysis.source import MAX_SOURCE_BYTES, Decoded, might_contain_dag

if TYPE_CHECKING:  # libcst and ruamel.yaml load when discovery needs them: `dags` (Layout) does not
    from analysis.dagster.module import AssetRef, DagsterModule
    from analysis.state.proxied_state import StateFile

STATE_SUFFIXES = (".yaml", ".yml")

Reader = Callable[[str], Decoded]
KnownFacts = Callable[[str, str, "ProjectCode | None"], "FileFacts | None"]
"""(path, text, the project's code) -> the facts of that text if already known, else None."""
_Facts = TypeVar("_Facts")


@dataclass(frozen=True, slots=True)
class Layout:
    """Where a project's files are: the inputs of discovery."""

    root: str
    dag_folders: tuple[str, ...] = ()
    """Relative to ``root``; empty means the whole workspace."""
    dagster_module: str | None = None
    import_roots: tuple[str, ...] = ()
    """Further ``sys.path`` folders of the deployment, relative to ``root``."""
    environment: tuple[tuple[str, str], ...] = ()
    """Environment variables of the deployment that DAG files read at import."""
    dagster_anywhere: bool = True
    """No Dagster module configured nor found in the DAG folders: look through the whole
    workspace (False: only the DAG folders, for ``dags PATH`` run from a big repository)."""

    def dag_roots(self) -> list[str]:
        folders = self.dag_folders or (".",)
        return [os.path.normpath(os.path.join(self.root, f)) for f in folders]

    def code_roots(self) -> list[str]:
        """Where the DAG files' imports are looked for, in ``sys.path`` order: as Airflow runs
        them, the DAG folders and ``plugins/``; then the configured roots and the workspace root
        (projects import their packages from it)."""
        plugins = os.path.join(self.root, "plugins")
        extra = [os.path.normpath(os.path.join(self.root, r)) for r in self.import_roots]
        return [*self.dag_roots(), *([plugins] if os.path.isdir(plugins) else []), *extra,
                os.path.normpath(self.root)]

    def project_code(self, read: Reader) -> ProjectCode:
        return ProjectCode(self.code_roots(), lambda path: read(path).text, environment=dict(self.environment))

    @property
    def dagster_module_path(self) -> str | None:
        """The configured Dagster module, if one is configured."""
        return os.path.normpath(os.path.join(self.root, self.dagster_module)) if self.dagster_module else None

    def walks_to(self, path: str) -> bool:
        """``walk_python_files`` over the DAG folders would yield this ``.py`` path (hidden,
        virtualenv and build folders and ``.airflowignore`` honoured): for files that exist
        only as editor buffers, which no walk of the disk finds."""
        if not path.endswith(".py"):
            return False
        for root in self.dag_roots():
            if not path.startswith(root + os.sep):
                continue
            rules = IgnoreRules()
            folder = root
            for part in os.path.relpath(os.path.dirname(path), root).split(os.sep):
                rules.add_file(folder)
                if part in ("", "."):
                    break
                if part.startswith(".") or part in SKIPPED_DIRS or os.path.exists(
                        os.path.join(folder, part, "pyvenv.cfg")):
                    return False
                folder = os.path.join(folder, part)
                if rules.ignored(folder):
                    return False
            else:
                rules.add_file(folder)
            if not rules.ignored(path):
                return True
        return False


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
    unreadable_dagster_modules: dict[str, str] = field(default_factory=dict)
    """Files that look like (or are configured as) the Dagster module but cannot be decoded,
    with the reason: plans refuse rather than create a module over or beside them."""
    code: ProjectCode | None = None
    """The workspace's importable code, which DAG files' imports are followed into."""
    deployed: tuple[DeployedDag, ...] = ()
    """The peered Airflow's DAGs (empty when peering is off): ``link`` adds those the static
    model misses."""
    _mapped: MappingIndex | None = field(default=None, repr=False, compare=False)

    def entry(self, dag_id: str) -> DagEntry | None:
        return next((e for e in self.entries if e.dag_id == dag_id), None)

    def entries_for(self, dag_id: str) -> list[DagEntry]:
        """Every DAG with this id: more than one in different files is an Airflow error."""
        return [e for e in self.entries if e.dag_id == dag_id]

    @property
    def dag_ids(self) -> set[str]:
        return {e.dag_id for e in self.entries}

    @property
    def primary_dagster_module(self) -> DagsterModule | None:
        if self.layout.dagster_module_path:
            return self.dagster_modules.get(self.layout.dagster_module_path)
        with_defs = [m for m in self.dagster_modules.values() if m.calls_build_defs]
        return (with_defs or list(self.dagster_modules.values()) or [None])[0]

    def assets_for(self, dag_id: str, task_id: str | None) -> tuple[str, ...]:
        """The asset keys mapped to a task, each module's without repeats, module after module."""
        return self._mapping_index().keys.get((dag_id, task_id), ())

    def named_keys(self, dag_id: str, task_id: str | None) -> tuple[str, ...]:
        """``assets_for`` without the asset sets whose keys Dagster knows only at load (dbt's):
        the keys an edit may write as deps, or ask Dagster about."""
        at_load = {a.key for a in self.asset_refs(dag_id, task_id) if a.at_load}
        return tuple(k for k in self.assets_for(dag_id, task_id) if k not in at_load)

    def asset_refs(self, dag_id: str, task_id: str | None) -> tuple[AssetRef, ...]:
        """The assets mapped to a task, as the modules write them (keys, deps, executable)."""
        return self._mapping_index().refs.get((dag_id, task_id), ())

    def _mapping_index(self) -> MappingIndex:
        modules = tuple(self.dagster_modules.values())
        if self._mapped is None or self._mapped.modules != modules:
            self._mapped = MappingIndex.of(modules)
        return self._mapped

    @property
    def ports(self) -> dict[str, str]:
        """Operator classes ported once (``AIRFLOW_OPERATOR_PORTS``), to their function as written,
        over every Dagster module (the first module's declaration of a class wins)."""
        return self._mapping_index().ports

    @property
    def port_bases(self) -> dict[str, str]:
        """Operator classes the team chose to run as the Airflow class they derive from
        (``AIRFLOW_OPERATOR_PORTS`` given a string, ``analysis.dagster.ports.read_bases``), to that
        class's name."""
        return self._mapping_index().bases

    def runnable_in_dagster(self, dag_id: str, task_id: str) -> bool:
        """Some asset mapped to the task is an executable definition (not only AssetSpecs)."""
        return any(asset.executable for asset in self.asset_refs(dag_id, task_id))

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


def discover(layout: Layout, read: Reader = read_disk, *, open_paths: Iterable[str] = (),
             on_error: Callable[[str, Exception], None] | None = None,
             known: KnownFacts | None = None) -> Project:
    """Find and read every DAG file, state file and Dagster module of a project.

    ``open_paths``: files that exist as editor buffers (``read`` gives their text), found even
    when they are not on disk yet. ``on_error``: when given, a file whose analysis raises is
    reported to it and left out, instead of the exception ending the discovery (a server
    keeps that file's last good facts; the CLI and tests want the exception). ``known``: the
    facts of a DAG file's text when they are known already (a cache, an index's last
    snapshot), else None; only the others are extracted."""
    from analysis.dagster.module import looks_like_dagster_module, parse_dagster_module
    from analysis.state.proxied_state import parse_state_file

    project = Project(layout, code=layout.project_code(read))

    def extract(path: str, text: str) -> FileFacts:
        facts = known(path, text, project.code) if known is not None else None
        return facts if facts is not None else extract_file(path, text, project.code)

    dagster_path = layout.dagster_module_path
    buffers = sorted(set(open_paths))

    def analyse(parse: Callable[[str, str], _Facts], path: str, text: str) -> _Facts | None:
        if on_error is None:
            return parse(path, text)
        try:
            return parse(path, text)
        except Exception as error:  # noqa: BLE001 - reported; the other files still count
            on_error(path, error)
            return None

    def unreadable(path: str, decoded: Decoded) -> None:
        if is_unreadable_dagster_module(layout, path, decoded):
            project.unreadable_dagster_modules[path] = decoded.skipped or "cannot be read"

    walked = [path for folder in layout.dag_roots() for path in walk_python_files(folder)]
    seen = set(walked)
    for path in [*walked, *(p for p in buffers if p not in seen and layout.walks_to(p))]:
        if path == dagster_path or path in project.files or path in project.dagster_modules:
            continue
        decoded = read(path)
        if decoded.text is None:
            unreadable(path, decoded)
            if decoded.skipped:
                project.files[path] = FileFacts(path=path, skipped=decoded.skipped)
            continue
        if looks_like_dagster_module(decoded.text) and dagster_path is None:
            module = analyse(parse_dagster_module, path, decoded.text)
            if module is not None:
                project.dagster_modules[path] = module
            continue
        if might_contain_dag(decoded.text):
            facts = analyse(extract, path, decoded.text)
            if facts is not None:
                project.files[path] = facts
    if dagster_path is not None:
        decoded = read(dagster_path)
        if decoded.text is not None:
            module = analyse(parse_dagster_module, dagster_path, decoded.text)
            if module is not None:
                project.dagster_modules[dagster_path] = module
        else:
            unreadable(dagster_path, decoded)
    elif not project.dagster_modules and layout.dag_folders and layout.dagster_anywhere:
        everywhere = list(walk_python_files(layout.root, honour_airflowignore=False))
        seen = set(everywhere)
        for path in [*everywhere, *(p for p in buffers if p.endswith(".py") and p not in seen
                                    and p.startswith(layout.root + os.sep))]:
            if path in project.files:
                continue
            decoded = read(path)
            if decoded.text is None:
                unreadable(path, decoded)
                continue
            if looks_like_dagster_module(decoded.text):
                module = analyse(parse_dagster_module, path, decoded.text)
                if module is not None:
                    project.dagster_modules[path] = module
    if dagster_path is None:
        _discover_components(project, read, buffers, analyse)
    for state_dir in sorted({state_dir_for(f) for f in project.files.values()}):
        on_disk = _state_files_in(state_dir)
        for path in [*on_disk, *(p for p in buffers if os.path.dirname(p) == state_dir
                                 and p.endswith(STATE_SUFFIXES) and p not in on_disk)]:
            decoded = read(path)
            if decoded.text is None:
                project.states[path] = unreadable_state_file(path, decoded.skipped)
                continue
            state = analyse(parse_state_file, path, decoded.text)
            if state is not None:
                project.states[path] = state
    link(project)
    return project


def _discover_components(project: Project, read: Reader, buffers: list[str],
                         analyse: Callable[..., DagsterModule | None]) -> None:
    """dagster-airlift components (``defs.yaml`` of type ``AirflowInstanceComponent``) anywhere
    in the workspace (only in the DAG folders when ``dagster_anywhere`` is off): a project
    peered that way has no mapping call in Python."""
    from analysis.dagster.component import COMPONENT_FILE_NAMES, looks_like_component, parse_component

    layout = project.layout
    roots = [os.path.normpath(layout.root)] if layout.dagster_anywhere else layout.dag_roots()
    on_disk = list(dict.fromkeys(p for root in roots for p in walk_component_files(root, COMPONENT_FILE_NAMES)))
    for path in [*on_disk, *(p for p in buffers if os.path.basename(p) in COMPONENT_FILE_NAMES
                             and p not in on_disk and any(p.startswith(r + os.sep) for r in roots))]:
        decoded = read(path)
        if decoded.text is None or not looks_like_component(decoded.text):
            continue
        module = analyse(parse_component, path, decoded.text)
        if module is not None and module.error is None:
            project.dagster_modules[path] = module


def unreadable_state_file(path: str, skipped: str | None) -> StateFile:
    from analysis.state.proxied_state import StateFile

    return StateFile(path=path, dag_id=Path(path).stem, dag_proxied=None, tasks=(),
                     error=f"dagster-airlift cannot read this file ({skipped})",
                     error_range=Range.point(0), breaks_folder=True)


def is_unreadable_dagster_module(layout: Layout, path: str, decoded: Decoded) -> bool:
    """A file that cannot be decoded, yet is the configured Dagster module or (none configured)
    names in its bytes what a Dagster module calls: plans must not create a module over it."""
    if decoded.text is not None or not os.path.lexists(path):
        return False
    if layout.dagster_module_path is not None:
        return path == layout.dagster_module_path
    from analysis.dagster.module import looks_like_dagster_module

    try:
        with open(path, "rb") as handle:
            return looks_like_dagster_module(handle.read(MAX_SOURCE_BYTES))
    except OSError:
        return False


def link(project: Project) -> None:
    """Join each DAG with its state file (after any file of the project changed)."""
    project.entries = []
    added = merge(project.files, project.layout.dag_roots(), project.deployed) if project.deployed else {}
    for file in project.files.values():
        state_dir = state_dir_for(file)
        extra = added.get(file.path, [])
        replaced = {d.dag_id for d in extra}
        for dag in [*(d for d in file.dags if d.dag_id not in replaced), *extra]:
            state = None
            for suffix in STATE_SUFFIXES:
                state = project.states.get(os.path.join(state_dir, dag.dag_id + suffix))
                if state is not None:
                    break
            project.entries.append(DagEntry(dag, file, state_dir, state))


def _state_files_in(folder: str) -> Iterable[str]:
    try:
        names = sorted(os.listdir(folder))
    except (OSError, ValueError):  # ValueError: a path no file system can name (a lone surrogate)
        return []
    return [os.path.join(folder, n) for n in names if n.endswith(STATE_SUFFIXES)
            and os.path.isfile(os.path.join(folder, n))]
