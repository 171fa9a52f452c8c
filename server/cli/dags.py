"""``airlift-lsp dags`` and ``check``: the static model of DAG files, and the findings."""

from __future__ import annotations

import argparse
import codecs
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from analysis.dags.modules import ProjectCode
from analysis.facts import FileFacts, Finding, Severity
from analysis.files import read_disk, walk_python_files
from analysis.project import Layout
from analysis.wording import plural

if TYPE_CHECKING:
    from analysis.project import DagEntry, Project

from server.cli.common import (
    EXIT_FINDINGS,
    CliError,
    load_project,
    merged_environment,
    print_json,
    relative,
)

# -- dags --------------------------------------------------------------------------------


def dags_code(paths: Sequence[str], extra_roots: Sequence[str] = (),
              environment: Mapping[str, str] | None = None) -> ProjectCode:
    """Where the given DAG files' imports are followed: the folders given (Airflow puts each DAG
    folder on sys.path), the settings' ``importRoots`` and ``--import-root``s, ``plugins/`` and
    the current directory as the workspace root. The configured ``dagFolders`` too: a path given
    may be the project, whose DAG folder Airflow puts on sys.path. The variables DAG files read
    at import: the ``environment`` setting, with ``environment`` (``--env``) over it."""
    from server.settings import load_settings

    settings, _ = load_settings(".")
    folders = [p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)) for p in paths]
    folders += [os.path.abspath(f) for f in settings.dag_folders if os.path.isdir(f)]
    layout = Layout(os.path.abspath("."), tuple(folders), None, (*settings.import_roots, *extra_roots),
                    merged_environment(settings.environment, environment))
    return layout.project_code(read_disk)


def dag_file_jobs(paths: Sequence[str]) -> list[tuple[str, bool]]:
    """(absolute path, named on the command line) of every file ``dags`` reads, once each, in
    order: a folder's Python files are DAG files if they look like one, a named file always."""
    jobs: list[tuple[str, bool]] = []
    seen: set[str] = set()
    for given in paths:
        if not os.path.exists(given):
            raise CliError(f"{given}: no such file or directory")
        if os.path.isdir(given):
            candidates = list(walk_python_files(given))
            explicit = False
        else:
            candidates, explicit = [given], True
        for path in candidates:
            absolute = os.path.abspath(path)
            if absolute not in seen:
                seen.add(absolute)
                jobs.append((absolute, explicit))
    return jobs


def _dag_files(paths: Sequence[str], code: ProjectCode | None, payload: str) -> list[tuple[str, bytes | FileFacts]]:
    """Each DAG file's facts, or its ``dags --json`` view (``payload="view"``; facts where no
    view is kept): from the workspace's cache where it holds, else extracted (by worker
    processes when there are many)."""
    from server.indexing.batch import Batch
    from server.indexing.cache import FactCache

    jobs = dag_file_jobs(paths)
    cache = FactCache.for_workspace(".")
    try:
        batch = Batch(code.roots if code is not None else None, cache, payload, code=code)
        batch.run_workers(jobs)
        answers = [(path, answer) for path, explicit in jobs
                   if (answer := batch.dag_file(path, explicit)) is not None]
        batch.finish()
    finally:
        if cache is not None:
            cache.close()
    return answers


def collect_dag_files(paths: Sequence[str], code: ProjectCode | None = None) -> list[FileFacts]:
    return [facts for _, facts in _dag_files(paths, code, "facts")]  # type: ignore[misc]


def run_dags(args: argparse.Namespace) -> int:
    for path in args.paths:
        if not os.path.exists(path):
            raise CliError(f"{path}: no such file or directory")
    environment = dict(args.env or ())
    code = dags_code(args.paths, args.import_root or (), environment)
    if args.json:
        views = _with_airflow(args.paths, _dag_files(args.paths, code, "view"), code)
        if _migration_files(args.paths):
            views = _with_stages(views, _stage_project(args.paths, args.import_root or (), environment))
        else:
            views = _all_unmapped(views)
        _print_views(views)
        return 0
    files = [facts for _, facts in _with_airflow(args.paths, _dag_files(args.paths, code, "facts"), code)]
    project = _stage_project(args.paths, args.import_root or (), environment)
    by_id = _entries_by_id(project)
    for file in files:
        _print_file(file, project, by_id)
    total_dags = sum(len(f.dags) for f in files)
    total_tasks = sum(len(d.tasks) for f in files for d in f.dags)
    print(f"{plural(total_dags, 'DAG')}, {plural(total_tasks, 'task')} in {plural(len(files), 'file')}",
          file=sys.stderr)
    return 0


def _with_airflow(paths: Sequence[str], answers: list[tuple[str, bytes | FileFacts]],
                  code: ProjectCode | None) -> list[tuple[str, bytes | FileFacts]]:
    """The answers, with the DAGs the peered Airflow adds when one is configured (one round;
    an Airflow that cannot be read leaves them as they are, with a line on stderr)."""
    from server.cli.deployed import airflow_settings

    settings = airflow_settings()
    if settings is None:
        return answers
    from server.cli.deployed import dag_roots, dags_from_airflow, with_deployed

    given = dict(answers)
    loaded = {path: answer for path, answer in answers if isinstance(answer, FileFacts)}

    def load(named: list[str]) -> dict[str, FileFacts]:
        """Facts of the files the deployment names (a view is all a warm ``--json`` had)."""
        missing = [path for path in named if path not in loaded]
        if missing:
            loaded.update(zip(missing, collect_dag_files(missing, code)))
        return {path: loaded[path] for path in named}

    added = dags_from_airflow(settings, list(given), dag_roots(paths), load)
    return [(path, with_deployed(loaded[path], added[path]) if path in added else answer)
            for path, answer in answers]


def _stage_project(paths: Sequence[str], extra_roots: Sequence[str],
                   environment: Mapping[str, str] | None) -> Project | None:
    """The project the stages of ``dags --json`` are read against: the folders ``dags_code``
    reads (those given, the configured ``dagFolders``), their state files and the configured
    Dagster module (else those found among them). Not the whole current directory: ``dags
    some/folder --json`` run from a big repository stays close to the cost of reading the
    folder given (the facts come from the cache the first pass filled)."""
    from server.indexing.batch import discover_cached
    from server.settings import load_settings

    settings, _ = load_settings(".")
    folders = [p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)) for p in paths]
    folders += [os.path.abspath(f) for f in settings.dag_folders if os.path.isdir(f)]
    layout = Layout(os.path.abspath("."), tuple(dict.fromkeys(os.path.abspath(f) for f in folders)),
                    settings.dagster_module, (*settings.import_roots, *extra_roots),
                    merged_environment(settings.environment, environment), dagster_anywhere=False)
    try:
        return discover_cached(layout, read_disk)
    except (OSError, ValueError):
        return None


_MAPPING_MARKERS = (b"assets_with_task_mappings", b"assets_with_dag_mappings", b"build_defs_from_airflow_instance")
_NOT_WALKED = frozenset({"__pycache__", "node_modules", "site-packages"})


def _migration_files(paths: Sequence[str]) -> bool:
    """Whether anything could give a task a stage beyond ``unmapped``: a configured Dagster
    module, or under the folders read a YAML file (a proxied-state file) or a Python file that
    names airlift's mapping calls. When none does, every stage is ``unmapped`` and the project
    need not be discovered (a warm ``dags --json`` of 10,000 files stays under a second). A
    false alarm only costs the discovery."""
    from server.settings import load_settings

    settings, _ = load_settings(".")
    if settings.dagster_module:
        return True
    folders = [p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)) for p in paths]
    folders += [os.path.abspath(f) for f in settings.dag_folders if os.path.isdir(f)]
    for folder in dict.fromkeys(folders):
        for where, subfolders, names in os.walk(folder):
            subfolders[:] = [d for d in subfolders if not d.startswith(".") and d not in _NOT_WALKED]
            for name in names:
                if name.endswith((".yaml", ".yml")):
                    return True
                if name.endswith(".py"):
                    try:
                        with open(os.path.join(where, name), "rb") as handle:
                            data = handle.read()
                    except OSError:
                        continue
                    if any(marker in data for marker in _MAPPING_MARKERS):
                        return True
    return False


_DAG_ID = re.compile(rb'"dag_id": ("(?:[^"\\]|\\.)*")')


def _all_unmapped(files: list[tuple[str, bytes | FileFacts]]) -> list[tuple[str, bytes | FileFacts]]:
    """``_with_stages`` where nothing is mapped or proxied: every task and DAG ``unmapped``,
    spliced into the views' bytes (``conditional`` ends a task's object, ``source`` a DAG's,
    and a quote inside a string is escaped), except in files holding an id defined twice or a
    DAG known from Airflow, which take the general path (their stage is null)."""
    from server.indexing.views import view_bytes

    views = [(path, answer if isinstance(answer, bytes) else view_bytes(answer)) for path, answer in files]
    files_of: dict[bytes, set[str]] = {}
    for path, view in views:
        for dag_id in _DAG_ID.findall(view or b""):
            files_of.setdefault(dag_id, set()).add(path)
    answers: list[tuple[str, bytes | FileFacts]] = []
    for (path, view), (_, answer) in zip(views, files):
        if view is None or b'"source": "airflow"' in view or any(
                len(files_of[dag_id]) > 1 for dag_id in _DAG_ID.findall(view)):
            twice = {json.loads(dag_id) for dag_id, where in files_of.items() if len(where) > 1}
            answers.extend(_with_stages([(path, answer)], None, unmapped_but=twice))
            continue
        answers.append((path, view.replace(b'"conditional": true}', b'"conditional": true, "stage": "unmapped"}')
                        .replace(b'"conditional": false}', b'"conditional": false, "stage": "unmapped"}')
                        .replace(b'"source": "static"}', b'"source": "static", "stage": "unmapped"}')))
    return answers


def _staged_entry(project: Project | None, path: str, dag_id: str,
                  by_id: dict[str, list[DagEntry]]) -> DagEntry | None:
    """The project's entry of the DAG ``dag_id`` of the file ``path``: None when the project
    does not hold it, or holds that id in several files (every step refuses it)."""
    entries = by_id.get(dag_id, [])
    if project is None or len({e.file.path for e in entries}) != 1 or entries[0].file.path != path:
        return None
    return entries[0]


def _entries_by_id(project: Project | None) -> dict[str, list[DagEntry]]:
    by_id: dict[str, list[DagEntry]] = {}
    for entry in project.entries if project is not None else ():
        by_id.setdefault(entry.dag_id, []).append(entry)
    return by_id


def _with_stages(files: list[tuple[str, bytes | FileFacts]], project: Project | None, *,
                 unmapped_but: set[str] | None = None) -> list[tuple[str, bytes | FileFacts]]:
    """Each view with the migration stage the text output prints: per task ``"stage"``
    (``unmapped``, ``observed`` or ``proxied``), per DAG the stage of its least advanced task
    (``proxied`` when the DAG is proxied as a whole); null where no stage holds: a DAG the
    project does not hold, or an id defined in several files (every step refuses it).
    ``unmapped_but``: nothing is mapped or proxied (no project was read): every stage is
    ``unmapped`` but those of these ids (defined twice) and of DAGs known from Airflow."""
    from analysis.describe import Stage, dag_status, task_status
    from server.indexing.views import view_text

    by_id = _entries_by_id(project)
    staged: list[tuple[str, bytes | FileFacts]] = []
    for path, answer in files:
        view = json.loads(answer) if isinstance(answer, bytes) else json.loads(view_text(answer))
        for dag in view["dags"]:
            if unmapped_but is not None:
                stage = None if dag["source"] == "airflow" or dag["dag_id"] in unmapped_but else "unmapped"
                dag["stage"] = stage
                for task in dag["tasks"]:
                    task["stage"] = stage
                continue
            entry = _staged_entry(project, path, dag["dag_id"], by_id)
            if project is None or entry is None:
                dag["stage"] = None
                for task in dag["tasks"]:
                    task["stage"] = None
                continue
            tasks = {t.task_id: t for t in entry.dag.tasks}
            stages, working = [], []
            for task in dag["tasks"]:
                known = tasks.get(task["task_id"])
                status = task_status(project, entry, known) if known is not None else None
                stage = status.stage if status is not None else None
                task["stage"] = stage.value if stage is not None else None
                stages.append(stage or Stage.UNMAPPED)
                if status is None or status.nothing is None:  # nothing to migrate: holds no DAG back
                    working.append(stages[-1])
            order = list(Stage)
            least = min(working or stages, key=order.index, default=Stage.UNMAPPED)
            dag["stage"] = (Stage.PROXIED if dag_status(project, entry).dag_level_proxied else least).value
        staged.append((path, json.dumps(view, ensure_ascii=False).encode("utf-8")))
    return staged


def _print_views(files: list[tuple[str, bytes | FileFacts]]) -> None:
    """``{"files": [...]}`` byte for byte as ``print_json`` writes it, from the views the cache
    keeps (UTF-8 JSON without the path) where stdout is UTF-8: no facts object is rebuilt."""
    from server.indexing.views import file_json, view_text

    encoding, errors = sys.stdout.encoding or "utf-8", sys.stdout.errors or "strict"
    utf8 = codecs.lookup(encoding).name == "utf-8"
    here = os.path.join(os.getcwd(), "")
    parts: list[bytes] = []
    for path, answer in files:
        # relative(path), without its os.path.relpath (a third of a warm run at 10,000 files):
        # the path below the current folder, else (relpath would start with "..") the path.
        below = path.startswith(here) and not path.startswith("..", len(here))
        shown = (path[len(here):] if below else path).replace(os.sep, "/")
        if isinstance(answer, bytes) and utf8:
            name = json.dumps(shown, ensure_ascii=False).encode(encoding, errors)
            parts.append(b'{"path": ' + name + b", " + answer[1:])
        else:
            view = answer.decode("utf-8") if isinstance(answer, bytes) else view_text(answer)
            parts.append(file_json(shown, view).encode(encoding, errors))
    sys.stdout.flush()
    sys.stdout.buffer.write(b'{"files": [' + b", ".join(parts) + b"]}")
    sys.stdout.buffer.flush()
    sys.stdout.write("\n")


def _file_json(file: FileFacts) -> dict:
    from server.indexing.views import dags_view

    return {"path": relative(file.path), **dags_view(file)}


def _print_file(file: FileFacts, project: Project | None, by_id: dict[str, list[DagEntry]]) -> None:
    from analysis.describe import dag_status, task_status

    print(relative(file.path))
    if file.error:
        print(f"  ! {_file_json(file)['error']}")
    for dag in file.dags:
        entry = _staged_entry(project, file.path, dag.dag_id, by_id)
        in_project = project is not None and entry is not None
        note = (" (dynamic)" if dag.dynamic else "") + (" (from Airflow)" if dag.source == "airflow" else "")
        summary = f"  {dag_status(project, entry).label}" if in_project else ""
        print(f"  {dag.dag_id}  {plural(len(dag.tasks), 'task')}{note}{summary}")
        for task in dag.tasks:
            stage = f"  {task_status(project, entry, task).label}" if in_project else ""
            upstream = f"  ← {', '.join(task.upstream)}" if task.upstream else ""
            flags = "".join([" [mapped]" if task.mapped else "", " [dynamic]" if task.dynamic else "",
                             f" [only if {task.condition}]" if task.conditional and not task.dynamic else ""])
            print(f"    {task.task_id}  {task.operator}{flags}{upstream}{stage}")


# -- check -------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    target = args.path
    if not os.path.exists(target):
        raise CliError(f"{target}: no such file or directory")
    from analysis.checks import check_project

    root, only = (target, None) if os.path.isdir(target) else (".", os.path.abspath(target))
    project = load_project(root, import_roots=tuple(args.import_root or ()), environment=dict(args.env or ()))
    findings = [f for f in check_project(project) if only is None or f.path == only]
    if args.json:
        print_json({"findings": [_finding_json(f) for f in findings], "summary": _summary(findings)})
    else:
        for finding in findings:
            start = finding.range.start
            print(f"{relative(finding.path)}:{start.line + 1}:{start.character + 1}: "
                  f"{SEVERITY_WORDS[finding.severity]} {finding.code} {finding.message}")
        summary = _summary(findings)
        print(f"{plural(summary['error'], 'error')}, {plural(summary['warning'], 'warning')}, "
              f"{plural(summary['information'] + summary['hint'], 'note')} in "
              f"{plural(len(project.files), 'DAG file')}", file=sys.stderr)
    return EXIT_FINDINGS if any(f.severity is Severity.ERROR for f in findings) else 0


SEVERITY_WORDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFORMATION: "info",
                  Severity.HINT: "hint"}
"""The word each ``check`` line carries after its position, as compilers print it."""


def _finding_json(finding: Finding) -> dict:
    data = finding.to_json()
    data["path"] = relative(finding.path)
    for related in data["related"]:
        related["path"] = relative(related["path"])
    return data


def _summary(findings: list[Finding]) -> dict[str, int]:
    counts = {severity.value: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts


