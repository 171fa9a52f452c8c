"""What Airflow loaded, against the static model: one finding per disagreement, placed where the
user fixes it (the model's ranges), worded as what goes wrong in Airflow.

Pure: takes the project model and the probe's report, returns findings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from analysis.facts import Finding, Range, Related, Severity, TaskFacts
from analysis.project import DagEntry, Project
from analysis.verify.records import AirflowDag, AirflowReport, AirflowTask, ImportFailure, StateFolder

IMPORT_ERROR = "verify-import-error"
SERIALIZATION = "verify-serialization"
MODEL_MISMATCH = "verify-model-mismatch"
NOT_PROXIED = "verify-not-proxied"
UNEXPECTED_PROXY = "verify-unexpected-proxy"
PROXIED_STATE = "verify-proxied-state"

_MANGLED = re.compile(r"unusual_prefix_[0-9a-f]+_")
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")
_TASK_NOT_FOUND = re.compile(r"Task with id `([^`]*)` not found in dag `([^`]*)`")


def plain(message: str) -> str:
    """Airflow's text without its module-name mangling (``unusual_prefix_<hash>_dagfile``, a
    hash of the file's path) and object addresses: the same failure reads the same anywhere."""
    return _ADDRESS.sub("", _MANGLED.sub("", message))


def whole_line(line: int) -> Range:
    """A 0-based line, start to the start of the next (no text needed to know its length)."""
    return Range.of(line, 0, line + 1, 0)


def task_range(task: TaskFacts) -> Range:
    return task.id_range or task.range


def dag_range(entry: DagEntry) -> Range:
    return entry.dag.id_range or entry.dag.range


def compare_airflow(project: Project, report: AirflowReport) -> list[Finding]:
    findings: list[Finding] = []
    findings += _import_errors(project, report)
    findings += _state_folders(project, report.state_folders)
    failed_files = {e.file for e in report.import_errors}
    model_ids = {e.dag_id for e in project.entries}
    for entry in project.entries:
        if report.dag(entry.dag_id) is None and not _may_be_absent(entry, failed_files):
            findings.append(Finding(
                MODEL_MISMATCH, Severity.WARNING,
                f"Airflow loads no DAG `{entry.dag_id}`, but the static model reads one here "
                "(a DAG Airflow does not see is never scheduled)", entry.file.path, dag_range(entry)))
    for dag in report.dags:
        entry = _entry_for(project, dag)
        if entry is None:
            if dag.dag_id not in model_ids and not _file_has_dynamic_dag(project, dag.fileloc):
                findings.append(Finding(
                    MODEL_MISMATCH, Severity.WARNING,
                    f"Airflow loads DAG `{dag.dag_id}` from this file, which the static model does not see: "
                    "airlift-lsp can neither check nor migrate it", dag.fileloc or project.layout.root,
                    Range.point(0)))
            continue
        if dag.serialization_error:
            findings.append(_serialization(entry, dag))
        findings += _compare_dag(project, entry, dag, proxying_known=report.airlift_version is not None)
    return findings


def _import_errors(project: Project, report: AirflowReport) -> Iterable[Finding]:
    for failure in report.import_errors:
        where = whole_line(failure.line - 1) if failure.line else Range.point(0)
        yield Finding(IMPORT_ERROR, Severity.ERROR,
                      f"Airflow cannot import this file: {plain(failure.summary)}{_hint(project, failure)}",
                      failure.file, where)


def _hint(project: Project, failure: ImportFailure) -> str:
    """What the model knows about the task dagster-airlift did not find."""
    match = _TASK_NOT_FOUND.search(failure.summary)
    if match is None:
        return ""
    task_id, dag_id = match.groups()
    entry = project.entry(dag_id)
    task = entry.dag.task(task_id) if entry else None
    if task is not None and task.conditional:
        return (f" (the state file lists `{task_id}`, which this file creates only when "
                f"{task.condition or 'a runtime condition'} holds as Airflow imports it)")
    if task is not None and task.dynamic:
        return f" (the state file lists `{task_id}`, whose id Airflow computes differently at import)"
    if entry is not None and task is None:
        return f" (the state file lists `{task_id}`, a task DAG `{dag_id}` does not have)"
    return ""


def _state_folders(project: Project, folders: Iterable[StateFolder]) -> Iterable[Finding]:
    for folder in folders:
        if folder.skipped:
            continue
        states = sorted((s for s in project.states.values() if os.path.dirname(s.path) == folder.folder),
                        key=lambda s: s.path)
        if folder.error:
            path = folder.error_file or (states[0].path if states else folder.folder)
            known = project.states.get(path)
            yield Finding(PROXIED_STATE, Severity.ERROR,
                          f"dagster-airlift cannot load the proxied state in this folder: {folder.error}; "
                          "every DAG file that loads the folder fails to import",
                          path, (known.error_range if known and known.error_range else Range.point(0)))
            continue
        for state in states:
            if state.error:
                continue
            loaded = folder.dags.get(state.dag_id)
            mine = {t.task_id: t.proxied for t in state.tasks}
            if loaded is None:
                continue
            if loaded.dag_proxied is not None and state.dag_proxied is not None:
                theirs_dag, mine_dag = bool(loaded.dag_proxied), bool(state.dag_proxied)
            else:
                theirs_dag, mine_dag = loaded.dag_proxied, state.dag_proxied
            if theirs_dag != mine_dag or loaded.tasks != mine:
                yield Finding(MODEL_MISMATCH, Severity.WARNING,
                              "dagster-airlift reads this state file differently from airlift-lsp: it loads "
                              f"{_state_text(loaded.dag_proxied, loaded.tasks)}, airlift-lsp reads "
                              f"{_state_text(state.dag_proxied, mine)}", state.path, Range.point(0))


def _state_text(dag_proxied: bool | None, tasks: dict[str, bool]) -> str:
    if dag_proxied is not None:
        return f"`proxied: {str(bool(dag_proxied)).lower()}` for the whole DAG"
    proxied = sorted(t for t, p in tasks.items() if p)
    return f"{len(tasks)} tasks, proxied: {', '.join(f'`{t}`' for t in proxied) or 'none'}"


def _may_be_absent(entry: DagEntry, failed_files: set[str]) -> bool:
    """Airflow may well lack this DAG without the model being wrong."""
    return (entry.dag.dynamic or entry.dag.conditional or entry.file.path in failed_files
            or entry.file.error is not None or entry.file.skipped is not None)


def _entry_for(project: Project, dag: AirflowDag) -> DagEntry | None:
    candidates = [e for e in project.entries if e.dag_id == dag.dag_id]
    return next((e for e in candidates if e.file.path == dag.fileloc), candidates[0] if candidates else None)


def _file_has_dynamic_dag(project: Project, path: str | None) -> bool:
    file = project.files.get(path) if path else None
    return file is not None and any(d.dynamic or d.conditional for d in file.dags)


def _serialization(entry: DagEntry, dag: AirflowDag) -> Finding:
    renamed = [t for t in dag.tasks if t.registered_as]
    cause = "".join(
        f"; dagster-airlift rebuilt proxied task `{name}` inside its TaskGroup, which named it `{t.task_id}`"
        for t in renamed for name in t.registered_as)
    error = plain(dag.serialization_error or "")
    if dag.serialization_stage == "deserialize":
        what = "Airflow serializes it but cannot read it back"
    else:
        what = "Airflow's DAG processor cannot serialize it"
    return Finding(SERIALIZATION, Severity.ERROR,
                   f"the scheduler and webserver cannot read DAG `{dag.dag_id}`: {what} ({error}){cause}",
                   entry.file.path, dag_range(entry))


def _compare_dag(project: Project, entry: DagEntry, dag: AirflowDag, proxying_known: bool) -> list[Finding]:
    state = entry.state if entry.state is not None and not entry.state.error else None
    dag_level = bool(state and state.dag_proxied)
    overridden = any(t.proxy == "dag" for t in dag.tasks)
    findings: list[Finding] = []
    if proxying_known and (dag_level or overridden):
        findings += _dag_level_proxy(entry, dag, dag_level, overridden)
    if dag_level or overridden:
        return findings  # airlift replaced every task by one: the model's tasks are not there
    findings += _tasks(entry, dag)
    if proxying_known:
        findings += _task_level_proxy(entry, dag)
    return findings


def _tasks(entry: DagEntry, dag: AirflowDag) -> Iterable[Finding]:
    path = entry.file.path
    for task in entry.dag.tasks:
        theirs = dag.task(task.task_id)
        if theirs is None:
            if task.certain:
                yield Finding(MODEL_MISMATCH, Severity.WARNING,
                              f"Airflow's DAG `{dag.dag_id}` has no task `{task.task_id}`, which the static "
                              "model reads here", path, task_range(task))
            continue
        if theirs.task_id != task.task_id:
            yield Finding(MODEL_MISMATCH, Severity.ERROR,
                          f"Airflow names this task `{theirs.task_id}`, not `{task.task_id}`: dagster-airlift "
                          "rebuilt it inside its TaskGroup, which prefixed the group id again",
                          path, task_range(task))
            continue
        if task.certain:
            edge = _edges(entry, task, theirs)
            if edge:
                yield Finding(MODEL_MISMATCH, Severity.WARNING, edge, path, task_range(task))
    if entry.dag.dynamic:
        return
    known = entry.dag.task_ids
    for theirs in dag.tasks:
        if not any(name in known for name in theirs.names):
            yield Finding(MODEL_MISMATCH, Severity.WARNING,
                          f"Airflow's DAG `{dag.dag_id}` has a task `{theirs.task_id}` ({theirs.operator}) that "
                          "the static model does not see", path, dag_range(entry))


def _edges(entry: DagEntry, task: TaskFacts, theirs: AirflowTask) -> str | None:
    certain = {t.task_id for t in entry.dag.tasks if t.certain}
    mine = (set(task.upstream) - set(task.conditional_upstream)) & certain
    airflow = set(theirs.upstream)
    missing = mine - airflow
    extra = set() if entry.dag.dynamic else (airflow - set(task.upstream)) & entry.dag.task_ids
    if not missing and not extra:
        return None
    return (f"Airflow runs `{task.task_id}` after {_names(airflow)}; the static model reads it after "
            f"{_names(set(task.upstream))}")


def _names(ids: set[str]) -> str:
    return ", ".join(f"`{i}`" for i in sorted(ids)) or "no task"


def _why_not_proxied(entry: DagEntry) -> str:
    hook = entry.file.proxying
    if hook is None:
        return "the DAG file never calls `proxying_to_dagster`"
    if hook.enabled is False:
        return "its `proxying_to_dagster` call is switched off"
    if hook.creates_after:
        return "tasks are created after the `proxying_to_dagster` call"
    if entry.dag.global_name is None:
        return ("the DAG is not held by a module-level name once the file has run, so "
                "`proxying_to_dagster(global_vars=globals())` never sees it")
    return "`proxying_to_dagster` did not replace it"


def _task_level_proxy(entry: DagEntry, dag: AirflowDag) -> Iterable[Finding]:
    state = entry.state if entry.state is not None and not entry.state.error else None
    for theirs in dag.tasks:
        listed = next((state.task(name) for name in theirs.names if state and state.task(name)), None)
        expected = bool(listed and listed.proxied)
        actual = theirs.proxy == "task"
        if expected == actual:
            continue
        mine = next((entry.dag.task(name) for name in theirs.names if entry.dag.task(name)), None)
        where = task_range(mine) if mine else dag_range(entry)
        if expected:
            related = (Related(state.path, listed.range, "marked proxied here"),) if state and listed else ()
            yield Finding(NOT_PROXIED, Severity.ERROR,
                          f"the state file proxies `{theirs.task_id}`, but Airflow still runs its "
                          f"{theirs.operator}: {_why_not_proxied(entry)}", entry.file.path, where, related)
        else:
            yield Finding(UNEXPECTED_PROXY, Severity.ERROR,
                          f"Airflow hands `{theirs.task_id}` to Dagster ({theirs.operator}), but the state file "
                          "does not mark it proxied", entry.file.path, where)


def _dag_level_proxy(entry: DagEntry, dag: AirflowDag, expected: bool, overridden: bool) -> Iterable[Finding]:
    if expected and overridden and len(dag.tasks) == 1:
        return
    if expected:
        state = entry.state
        related = (Related(state.path, state.proxied_range or Range.point(0), "proxied here"),) if state else ()
        yield Finding(NOT_PROXIED, Severity.ERROR,
                      f"the state file proxies the whole DAG `{dag.dag_id}`, but Airflow runs "
                      f"{_task_count(dag)} instead of one proxy task: {_why_not_proxied(entry)}",
                      entry.file.path, dag_range(entry), related)
    else:
        yield Finding(UNEXPECTED_PROXY, Severity.ERROR,
                      f"Airflow hands the whole DAG `{dag.dag_id}` to Dagster, but its state file does not "
                      "mark it `proxied: true`", entry.file.path, dag_range(entry))


def _task_count(dag: AirflowDag) -> str:
    return f"{len(dag.tasks)} task" + ("" if len(dag.tasks) == 1 else "s")
