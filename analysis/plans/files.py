"""What a plan reads and what it returns: the files it edits, each read once, with the facts
derived from the very text it edits; the plan and its refusals; the checks every step shares.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from analysis.dags.dagfile import extract_file
from analysis.dagster.module import DagsterModule, parse_dagster_module
from analysis.deployed import deployed_facts
from analysis.facts import FileFacts, TaskFacts
from analysis.files import read_disk
from analysis.project import STATE_SUFFIXES, DagEntry, Project, state_dir_for
from analysis.state.proxied_state import StateFile, parse_state_file

Read = Callable[[str], "str | None"]
Sources = Mapping[str, str]
"""The text each of a project's facts was derived from, by path (the server's snapshot
texts, what the CLI's discovery read). A file whose text is not (or no longer) the one
listed gets its facts derived again; without it, every file a plan reads is."""
_AIRFLOW_KEY = re.compile(r"^[\w.-]+$")
r"""Airflow's ``KEY_REGEX`` (``airflow.utils.helpers``): what a DAG or task id may be made of
(``\w`` is Unicode: ``daily_ü`` is a DAG id). No ``/``: ``<dag_id>.yaml`` stays in its folder."""


class Refused(Exception):
    """The step cannot be done as asked; the message says why, and what to do instead."""


@dataclass(frozen=True, slots=True)
class FileChange:
    path: str
    old_text: str | None
    """None when the file is created."""
    new_text: str | None
    """None when the file is removed (decommission: the DAG file, its state file)."""

    @property
    def removed(self) -> bool:
        return self.new_text is None


@dataclass(frozen=True, slots=True)
class Plan:
    title: str
    changes: tuple[FileChange, ...] = ()
    notes: tuple[str, ...] = field(default=())
    incomplete: tuple[str, ...] = field(default=())
    """What the step could not do although it did the rest (a rollback of everything that meets
    a state file airlift cannot read): the CLI exits 1, the editor warns."""

    @property
    def empty(self) -> bool:
        return not self.changes


class PlanFiles:
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
        self._written: dict[str, str | None] = {}
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

    def remove(self, path: str) -> None:
        """Remove a file the plan read (a file it could not read is never removed)."""
        if self.original(path) is None:
            refuse_if_unreadable(path)
            return
        self._written[path] = None

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
        return known if self._current(path, text, known) else extract_file(path, text, self.project.code)

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


def refuse_unreadable_dagster_module(project: Project) -> None:
    """No Dagster module could be read, but one seems to be there: mapping would create a
    second module beside (or over) it."""
    for path, skipped in sorted(project.unreadable_dagster_modules.items()):
        raise Refused(f"{path} looks like the Dagster module, but it {_unreadable_reason(skipped)}; "
                      f"save it as UTF-8 text first")


MAX_DAG_ID = 250
"""Airflow's own limit (``ID_LEN``); it also keeps ``<dag_id>.yaml`` within a file name's 255 bytes."""


def check_dag_id(dag_id: str) -> None:
    """Airflow's own rule for a DAG id (which also keeps ``<dag_id>.yaml`` inside its folder)."""
    if not _AIRFLOW_KEY.match(dag_id) or dag_id in (".", ".."):
        raise Refused(f"refusing DAG id {dag_id!r}: Airflow accepts only letters, digits, `_`, `.` and `-` "
                      f"in a DAG id, so no DAG has it")
    if len(dag_id) > MAX_DAG_ID:
        raise Refused(f"refusing DAG id {dag_id[:40]!r}...: longer than Airflow's {MAX_DAG_ID} characters")


def dag_entry(files: PlanFiles, dag_id: str) -> DagEntry:
    """The DAG, its file and its state file, as their texts are now."""
    entries = files.project.entries_for(dag_id)
    if any(e.dag.id_dynamic for e in entries):
        raise Refused(f"the id of DAG `{dag_id}` is dynamic: it is only known when Airflow runs the file")
    check_dag_id(dag_id)
    if not entries:
        raise Refused(f"no DAG `{dag_id}` in the DAG folders")
    files_defining = sorted({os.path.relpath(e.file.path, files.project.layout.root) for e in entries})
    if len(files_defining) > 1:
        raise Refused(f"DAG id `{dag_id}` is defined in {len(files_defining)} files ({', '.join(files_defining)}): "
                      f"Airflow loads only one of them (AirflowDagDuplicatedIdException for the others); "
                      f"rename one, or leave the other out of the DAG folders")
    known = entries[0]
    if known.dag.subdag_of is not None:
        # A SubDagOperator's DAG is never in the module's globals, which proxying_to_dagster reads.
        raise Refused(f"`{dag_id}` is a SubDAG: dagster-airlift proxies only top-level DAGs")
    file = files.dag_file(known.file.path)
    name = os.path.basename(file.path)
    if file.error:
        raise Refused(f"{name} does not parse: fix it first ({file.error})")
    dag = file.dag(dag_id)
    if known.dag.source == "airflow":
        # Known from the deployment: its tasks are Airflow's, its ranges this text's.
        deployed = next((d for d in files.project.deployed if d.dag_id == dag_id), None)
        if deployed is not None:
            dag = deployed_facts(deployed, file, dag)
    if dag is None:
        raise Refused(f"{name} no longer defines DAG `{dag_id}`: save your changes, or wait for the "
                      f"workspace to be read again")
    state_dir = state_dir_for(file)
    return DagEntry(dag, file, state_dir, files.state_for(state_dir, dag_id))


def select_tasks(entry: DagEntry, task_ids: Sequence[str] | None) -> list[TaskFacts]:
    if not task_ids:
        return list(entry.dag.tasks)
    tasks = []
    for task_id in dict.fromkeys(task_ids):  # a task named twice is one task
        task = entry.dag.task(task_id)
        if task is None:
            raise Refused(f"DAG `{entry.dag_id}` has no task `{task_id}`")
        tasks.append(task)
    return tasks


UNCERTAIN_CONSEQUENCES = {
    "map": "a mapping names it in Dagster's Airflow definitions, which then fail to load (dagster-airlift "
           "looks the task up in Airflow)",
    "proxy": "a state-file entry for it makes dagster-airlift fail the DAG's import (\"Task with id ... not "
             "found\")",
}


def uncertainty(task: TaskFacts, step: str) -> str | None:
    """Why an edit must not name this task (its id is not known, or it may not exist), or None."""
    if task.dynamic:
        return f"`{task.task_id}` is dynamic: its id is only known when Airflow runs the file"
    if task.conditional:
        return (f"`{task.task_id}` exists only when {task.condition} holds at import: wherever it does not, "
                f"{UNCERTAIN_CONSEQUENCES[step]}")
    return None


def certain_tasks(tasks: Sequence[TaskFacts], step: str, explicit: bool, notes: list[str]) -> list[TaskFacts]:
    """The tasks an edit may name: asked for by id, an uncertain one is refused with the reason;
    for a whole DAG, uncertain ones are left out and the notes say which."""
    kept, left_out = [], []
    for task in tasks:
        why = uncertainty(task, step)
        if why is None:
            kept.append(task)
        elif explicit:
            raise Refused(why)
        else:
            left_out.append(task)
    dynamic = [t.task_id for t in left_out if t.dynamic]
    conditional = [t.task_id for t in left_out if not t.dynamic]
    if dynamic:
        notes.append(f"left out tasks whose ids are only known when Airflow runs the file: {', '.join(dynamic)}")
    if conditional:
        notes.append(f"left out tasks that exist only under a runtime condition: {', '.join(conditional)}")
    return kept


def no_task_known(entry: DagEntry) -> Refused:
    """Whole-DAG steps on a DAG none of whose tasks the model can name: say why, and the way out."""
    dag_id, unseen = entry.dag_id, entry.dag.unseen
    why = (f"; a call that may add them could not be followed: {unseen[0]}" if unseen else "")
    return Refused(f"no task of `{dag_id}` is known statically{why}; map and proxy the DAG as a whole instead "
                   f"(airlift-lsp map {dag_id} --dag-level, then airlift-lsp proxy {dag_id} --dag-level)")


def state_path(entry: DagEntry) -> str:
    return entry.state.path if entry.state else os.path.join(entry.state_dir, f"{entry.dag_id}.yaml")


def inside(root: str, path: str) -> bool:
    root = os.path.realpath(root)
    return os.path.commonpath([root, os.path.realpath(path)]) == root


