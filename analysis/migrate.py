"""Plans of the migration steps: which files change, and how, for map / proxy / roll back.

Pure: a plan is computed from the project model and the files' current texts (the
caller's ``read`` decides whether an editor buffer or the disk is the truth) and is
applied by the caller — atomically on disk by the CLI, as a ``WorkspaceEdit`` by the
server. A step that would break Airflow or Dagster at runtime is refused with a reason.

The project model says where things are (which file defines a DAG, which files are Dagster
modules); every fact a plan uses about a file it reads (a DAG's line, its tasks, a state
file's level, the mappings) is derived from the very text it reads, never from an older
one: a buffer typed into since the last analysis, or a file changed on disk without a
watcher event, would otherwise get an edit placed by positions of other code.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from analysis.dagfile import extract_file
from analysis.dagster_module import DagsterModule, parse_dagster_module
from analysis.facts import FileFacts, TaskFacts
from analysis.files import read_disk
from analysis.project import STATE_SUFFIXES, DagEntry, Project, state_dir_for
from analysis.state import StateFile, parse_state_file
from analysis.state_edits import new_state_file, set_dag_proxied, set_task_proxied

Read = Callable[[str], "str | None"]
Sources = Mapping[str, str]
"""The text each of a project's facts was derived from, by path (the server's snapshot
texts, what the CLI's discovery read). A file whose text is not (or no longer) the one
listed gets its facts derived again; without it, every file a plan reads is."""
DEFAULT_DAGSTER_MODULE = "definitions.py"
_SAFE_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_KEY_PART = re.compile(r"[^A-Za-z0-9_]")


class Refused(Exception):
    """The step cannot be done as asked; the message says why, and what to do instead."""


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    old_text: str | None
    """None when the file is created."""
    new_text: str


@dataclass(frozen=True, slots=True)
class Plan:
    title: str
    changes: tuple[FileChange, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.changes


class _Files:
    """The files a plan reads and writes, and the facts it uses about each.

    Each file is read once; its facts are the project's when ``sources`` says they came from
    that very text, else derived from it again (``extract_file`` is cached per content, state
    files are small; only the Dagster module is costly, hence ``sources``). Successive edits
    of one file accumulate into one change."""

    def __init__(self, project: Project, read: Read, sources: Sources | None) -> None:
        self.project = project
        self._read = read
        self._sources = sources or {}
        self._originals: dict[str, str | None] = {}
        self._written: dict[str, str] = {}
        self._modules: dict[str, DagsterModule] | None = None

    # -- texts ------------------------------------------------------------------------------

    def original(self, path: str) -> str | None:
        """The file as the plan found it (None when missing or unreadable)."""
        if path not in self._originals:
            self._originals[path] = self._read(path)
        return self._originals[path]

    def text(self, path: str) -> str | None:
        """The file with this plan's edits so far."""
        return self._written[path] if path in self._written else self.original(path)

    def write(self, path: str, new_text: str) -> None:
        if self.original(path) is None:
            refuse_if_unreadable(path)
        self._written[path] = new_text

    def result(self) -> tuple[FileChange, ...]:
        return tuple(FileChange(p, self._originals[p], new) for p, new in self._written.items()
                     if self._originals[p] != new)

    # -- facts, from the original texts ----------------------------------------------------

    def _current(self, path: str, text: str, known: object | None) -> bool:
        return known is not None and self._sources.get(path) == text

    def dag_file(self, path: str) -> FileFacts:
        text = self.original(path)
        if text is None:
            refuse_if_unreadable(path)
            raise Refused(f"cannot read {path}: it is gone from the disk")
        known = self.project.files.get(path)
        return known if self._current(path, text, known) else extract_file(path, text)

    def state(self, path: str) -> StateFile | None:
        text, known = self.original(path), self.project.states.get(path)
        if text is None:
            # Gone, unless the project's facts came from no text either (bytes dagster-airlift
            # cannot read: an error that stands until the file is fixed).
            return known if known is not None and known.error and path not in self._sources else None
        return known if self._current(path, text, known) else parse_state_file(path, text)

    def state_for(self, state_dir: str, dag_id: str) -> StateFile | None:
        """The DAG's state file in a folder (``.yaml`` before ``.yml``, as the project links)."""
        for suffix in STATE_SUFFIXES:
            state = self.state(os.path.join(state_dir, dag_id + suffix))
            if state is not None:
                return state
        return None

    def dagster_module(self, path: str) -> DagsterModule | None:
        """The module at ``path`` (None when missing or unreadable)."""
        if self._modules is None:
            self._modules = {}
            for known in self.project.dagster_modules:
                module = self._module_at(known)
                # A module gone from the disk keeps its place: mapping recreates it there.
                self._modules[known] = module if module is not None else DagsterModule(known)
        if path not in self._modules:
            module = self._module_at(path)
            if module is None:
                return None
            self._modules[path] = module
        return self._modules[path]

    def _module_at(self, path: str) -> DagsterModule | None:
        text = self.original(path)
        if text is None:
            return None
        known = self.project.dagster_modules.get(path)
        return known if self._current(path, text, known) else parse_dagster_module(path, text)

    def dagster(self) -> Project:
        """The project's Dagster modules, as their texts are now (for ``assets_for`` and
        ``primary_dagster_module``)."""
        for path in list(self.project.dagster_modules):
            self.dagster_module(path)
        return Project(self.project.layout, dagster_modules=dict(self._modules or {}),
                       unreadable_dagster_modules=self.project.unreadable_dagster_modules)


def refuse_if_unreadable(path: str) -> None:
    """``read`` gave no text for a file the plan would create: if something is there all the
    same (bytes that are not UTF-8, a NUL, a folder), creating the file would destroy it."""
    if not os.path.lexists(path):
        return
    reason = read_disk(path).skipped or "it cannot be read as text"
    raise Refused(f"refusing to overwrite {path}: it exists but {_unreadable_reason(reason)}; "
                  f"save it as UTF-8 text (or move it away) first")


def _unreadable_reason(skipped: str) -> str:
    """``"skipped: binary file (contains NUL bytes)"`` → ``"is a binary file (contains NUL bytes)"``."""
    reason = skipped.removeprefix("skipped: ")
    if reason.startswith(("not valid", "binary file")):
        return f"is {'a ' if reason.startswith('binary') else ''}{reason}"
    return reason if reason.startswith(("cannot", "is ")) else f"cannot be read ({reason})"


def _refuse_unreadable_dagster_module(project: Project) -> None:
    """No Dagster module could be read, but one seems to be there: mapping would create a
    second module beside (or over) it."""
    for path, skipped in sorted(project.unreadable_dagster_modules.items()):
        raise Refused(f"{path} looks like the Dagster module, but it {_unreadable_reason(skipped)}; "
                      f"save it as UTF-8 text first")


MAX_DAG_ID = 250
"""Airflow's own limit (``ID_LEN``); it also keeps ``<dag_id>.yaml`` within a file name's 255 bytes."""


def check_dag_id(dag_id: str) -> None:
    """A DAG id names a file under proxied_state/: it must not escape that folder."""
    if not _SAFE_ID.match(dag_id) or ".." in dag_id:
        raise Refused(f"refusing DAG id {dag_id!r}: it would not name a file inside proxied_state/")
    if len(dag_id) > MAX_DAG_ID:
        raise Refused(f"refusing DAG id {dag_id[:40]!r}...: longer than Airflow's {MAX_DAG_ID} characters")


def _entry(files: _Files, dag_id: str) -> DagEntry:
    """The DAG, its file and its state file, as their texts are now."""
    check_dag_id(dag_id)
    known = files.project.entry(dag_id)
    if known is None:
        raise Refused(f"no DAG `{dag_id}` in the DAG folders")
    file = files.dag_file(known.file.path)
    name = os.path.basename(file.path)
    if file.error:
        raise Refused(f"{name} does not parse: fix it first ({file.error})")
    dag = file.dag(dag_id)
    if dag is None:
        raise Refused(f"{name} no longer defines DAG `{dag_id}`: save your changes, or wait for the "
                      f"workspace to be read again")
    state_dir = state_dir_for(file)
    return DagEntry(dag, file, state_dir, files.state_for(state_dir, dag_id))


def _tasks(entry: DagEntry, task_ids: Sequence[str] | None) -> list[TaskFacts]:
    if not task_ids:
        return list(entry.dag.tasks)
    tasks = []
    for task_id in dict.fromkeys(task_ids):  # a task named twice is one task
        task = entry.dag.task(task_id)
        if task is None:
            raise Refused(f"DAG `{entry.dag_id}` has no task `{task_id}`")
        tasks.append(task)
    return tasks


def state_path(entry: DagEntry) -> str:
    return entry.state.path if entry.state else os.path.join(entry.state_dir, f"{entry.dag_id}.yaml")


def _inside(root: str, path: str) -> bool:
    root = os.path.realpath(root)
    return os.path.commonpath([root, os.path.realpath(path)]) == root


def _ensure_state(changes: _Files, entry: DagEntry, root: str) -> str:
    """The state file's path, created (every task ``proxied: false``) when missing."""
    if entry.state is not None and entry.state.error:
        raise Refused(f"{os.path.basename(entry.state.path)} is invalid: fix it first ({entry.state.error})")
    path = state_path(entry)
    if not _inside(root, path):
        raise Refused(f"refusing to write {path}: the DAG file's proxied-state folder is outside the workspace")
    if changes.text(path) is None:
        changes.write(path, new_state_file(sorted(t.task_id for t in entry.dag.tasks if not t.mapped)))
    return path


def _ensure_hook(changes: _Files, entry: DagEntry, notes: list[str]) -> None:
    from analysis.edits.dag_globals import bind_dags, global_name_for
    from analysis.edits.proxying_hook import add_proxying_hook

    # The DAGs' lines are facts of the text as read: this must be the file's first edit.
    text = changes.original(entry.file.path)
    assert text is not None and changes.text(entry.file.path) == text
    unbound = {d.creation_line: global_name_for(d.dag_id, text) for d in entry.file.dags
               if d.global_name is None and d.creation_line is not None}
    if unbound:
        # proxying_to_dagster only sees DAGs bound in the module's globals.
        bound = bind_dags(text, unbound)
        if bound.changed and bound.text is not None:
            text = bound.text
            changes.write(entry.file.path, text)
            notes.append("bound the DAG to a module-level name so proxying_to_dagster sees it")
    hook = entry.file.proxying
    if hook is not None and hook.enabled is not False:
        return
    result = add_proxying_hook(text)
    if result.text is None:
        raise Refused(result.reason or "cannot add the proxying hook")
    if result.changed:
        changes.write(entry.file.path, result.text)
        notes.append("switched proxying on" if hook is not None else "added the proxying_to_dagster hook")


def plan_enable_proxying(project: Project, read: Read, dag_id: str, *, sources: Sources | None = None) -> Plan:
    changes, notes = _Files(project, read, sources), []
    entry = _entry(changes, dag_id)
    _ensure_hook(changes, entry, notes)
    _ensure_state(changes, entry, project.layout.root)
    return Plan(f"Enable proxying for {dag_id}", changes.result(), tuple(notes))


def plan_proxy(project: Project, read: Read, dag_id: str, task_ids: Sequence[str] | None = None, *,
               sources: Sources | None = None) -> Plan:
    changes = _Files(project, read, sources)
    entry = _entry(changes, dag_id)
    tasks = _tasks(entry, task_ids)
    notes: list[str] = []
    if task_ids:
        mapped = [t.task_id for t in tasks if t.mapped]
        if mapped:
            raise Refused(f"`{mapped[0]}` is a mapped task (.expand): dagster-airlift cannot proxy mapped "
                          f"tasks, and listing one in the state file breaks the DAG's import")
    else:
        skipped = [t.task_id for t in tasks if t.mapped]
        if skipped:
            notes.append(f"left out mapped tasks airlift cannot proxy: {', '.join(skipped)}")
        tasks = [t for t in tasks if not t.mapped]
    dagster = changes.dagster()
    unmapped = [t.task_id for t in tasks if not dagster.assets_for(dag_id, t.task_id)]
    if unmapped:
        raise Refused(f"map {', '.join(f'`{t}`' for t in unmapped)} to a Dagster asset first: a proxied "
                      f"task with no asset has nothing to materialize in Dagster")
    _ensure_hook(changes, entry, notes)
    path = _ensure_state(changes, entry, project.layout.root)
    text = changes.text(path) or ""
    if entry.state is not None and entry.state.dag_proxied is not None:
        if task_ids:
            raise Refused(f"{os.path.basename(path)} proxies the whole DAG (top-level `proxied:`); "
                          f"proxy or roll back the DAG instead")
        changes.write(path, set_dag_proxied(text, True))
    else:
        changes.write(path, set_task_proxied(text, [t.task_id for t in tasks], True))
    what = tasks[0].task_id if task_ids and len(tasks) == 1 else f"{len(tasks)} tasks of {dag_id}"
    return Plan(f"Proxy {what} to Dagster", changes.result(), tuple(notes))


def plan_rollback(project: Project, read: Read, dag_id: str | None,
                  task_ids: Sequence[str] | None = None, *, sources: Sources | None = None) -> Plan:
    """Roll tasks back to Airflow: some tasks, a DAG, or (``dag_id=None``) everything."""
    changes = _Files(project, read, sources)
    if dag_id is None:
        for path in project.states:
            state, text = changes.state(path), changes.text(path)
            if state is None or state.error or text is None:
                continue
            changes.write(state.path, set_dag_proxied(text, False) if state.dag_proxied is not None
                          else set_task_proxied(text, [t.task_id for t in state.tasks], False))
        return Plan("Roll back every DAG to Airflow", changes.result())
    entry = _entry(changes, dag_id)
    tasks = _tasks(entry, task_ids)
    if entry.state is None:
        return Plan(f"Roll back {dag_id}", (), ("nothing to roll back: no proxied-state file",))
    if entry.state.error:
        raise Refused(f"{os.path.basename(entry.state.path)} is invalid: fix it first ({entry.state.error})")
    text = changes.text(entry.state.path) or ""
    if entry.state.dag_proxied is not None:
        if task_ids:
            raise Refused(f"{os.path.basename(entry.state.path)} proxies the whole DAG; roll back the DAG")
        changes.write(entry.state.path, set_dag_proxied(text, False))
    else:
        listed = [t.task_id for t in tasks if entry.state.task(t.task_id) is not None]
        changes.write(entry.state.path, set_task_proxied(text, listed, False))
    what = tasks[0].task_id if task_ids and len(tasks) == 1 else dag_id
    return Plan(f"Roll back {what} to Airflow", changes.result())


def derived_asset_key(dag_id: str, task_id: str) -> tuple[str, ...]:
    return (_KEY_PART.sub("_", dag_id), _KEY_PART.sub("_", task_id))


def plan_map(project: Project, read: Read, dag_id: str, task_ids: Sequence[str] | None = None,
             asset: str | None = None, *, sources: Sources | None = None) -> Plan:
    """Map tasks (default: every unmapped one) to assets, with deps from the DAG's edges."""
    from analysis.edits import NewMapping, add_task_mappings

    changes = _Files(project, read, sources)
    entry = _entry(changes, dag_id)
    tasks = _tasks(entry, task_ids)
    module = changes.dagster().primary_dagster_module
    path = module.path if module else os.path.normpath(os.path.join(
        project.layout.root, project.layout.dagster_module or DEFAULT_DAGSTER_MODULE))
    # None known: the mapping goes where the settings say, into the module someone made
    # there since the project was read if there is one (its mappings count too).
    module = module or changes.dagster_module(path)
    dagster = changes.dagster()
    if not task_ids:
        tasks = [t for t in tasks if not dagster.assets_for(dag_id, t.task_id)]
    if not tasks:
        # Before the --asset check: mapping the last task, then asking again, is done.
        return Plan(f"Map {dag_id}", (), ("every task is already mapped",))
    asset_key = tuple(p for p in asset.split("/") if p) if asset else None
    if asset and len(tasks) != 1:
        raise Refused("--asset names one asset: give exactly one task")
    if asset and not asset_key:
        raise Refused(f"--asset {asset!r} names no asset key: give its parts separated by /, like raw/customers")
    keys: dict[str, tuple[tuple[str, ...], ...]] = {}
    for task in entry.dag.tasks:
        existing = dagster.assets_for(dag_id, task.task_id)
        keys[task.task_id] = tuple(tuple(k.split("/")) for k in existing)
    new: list[NewMapping] = []
    for task in tasks:
        if keys[task.task_id] and task_ids:
            continue  # already mapped: idempotent
        key = asset_key or derived_asset_key(dag_id, task.task_id)
        keys[task.task_id] = (key,)
    for task in tasks:
        if dagster.assets_for(dag_id, task.task_id):
            continue
        deps = tuple(dict.fromkeys(k for upstream in task.upstream for k in keys.get(upstream, ())))
        new.append(NewMapping(task.task_id, keys[task.task_id][0], deps))
    if not new:
        return Plan(f"Map {dag_id}", (), ("already mapped",))
    if module is None:
        _refuse_unreadable_dagster_module(project)
    else:
        _refuse_listed_without_assets(module, dag_id, [m.task_id for m in new], several=not task_ids)
    result = add_task_mappings(changes.text(path), dag_id, new)
    if result.text is None:
        raise Refused(result.reason or f"cannot add the mapping to {path}")
    changes.write(path, result.text)
    what = new[0].task_id if len(new) == 1 else f"{len(new)} tasks of {dag_id}"
    return Plan(f"Map {what} to Dagster assets", changes.result())


def _refuse_listed_without_assets(module: DagsterModule, dag_id: str, task_ids: list[str],
                                  several: bool) -> None:
    """A task the module's ``task_mappings`` already names, with no asset read from it: the
    codemod leaves an existing entry alone, so "mapping" it would change nothing."""
    wanted = set(task_ids)
    for mapping in module.mappings:
        if mapping.dag_id != dag_id or mapping.task_id not in wanted:
            continue
        where = f"{os.path.basename(module.path)}, line {mapping.key_range.start.line + 1}"
        what = ("to assets that cannot be read statically: map it there by hand" if mapping.dynamic
                else "with no asset: put its asset in that list")
        others = "; map the other tasks one by one" if several and len(wanted) > 1 else ""
        raise Refused(f"`{mapping.task_id}` is already in the task_mappings of `{dag_id}` ({where}) "
                      f"{what}{others}")


def plan_scaffold(project: Project, read: Read, dag_id: str, task_id: str, *,
                  sources: Sources | None = None) -> Plan:
    """Write the Dagster asset that does the task's work, and map the task to it."""
    from analysis.edits.scaffold import ImportRoot, scaffold_task

    changes = _Files(project, read, sources)
    entry = _entry(changes, dag_id)
    _tasks(entry, [task_id])
    module = changes.dagster().primary_dagster_module
    if module is None:
        _refuse_unreadable_dagster_module(project)
        raise Refused(f"map `{task_id}` to a Dagster asset first: there is no Dagster module yet")
    dag_text, module_text = changes.original(entry.file.path), changes.original(module.path)
    if dag_text is None or module_text is None:
        unreadable = entry.file.path if dag_text is None else module.path
        refuse_if_unreadable(unreadable)
        raise Refused(f"cannot read {unreadable}: it is gone from the disk")
    # Airflow puts each DAGs folder on sys.path: the generated asset imports what the task did.
    roots = [ImportRoot.from_disk(folder) for folder in project.layout.dag_roots() if os.path.isdir(folder)]
    result = scaffold_task(dag_text, entry.file.path, dag_id, task_id, module_text,
                           module_path=module.path, import_roots=roots)
    if result.text is None:
        raise Refused(result.reason or f"cannot generate a Dagster implementation for `{task_id}`")
    changes.write(module.path, result.text)
    notes = () if result.changed else (result.reason or "already implemented in Dagster",)
    return Plan(f"Generate the Dagster implementation of {task_id}", changes.result(), notes)
