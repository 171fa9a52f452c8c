"""``airlift-lsp dags`` and ``check``: the static model of DAG files, and the findings."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from analysis.dags.dagfile import extract_file
from analysis.dags.modules import ProjectCode
from analysis.project import Layout
from analysis.facts import FileFacts, Finding, Severity
from analysis.files import read_disk, walk_python_files
from analysis.source import might_contain_dag

if TYPE_CHECKING:
    from analysis.project import Project

from server.cli.common import EXIT_FINDINGS, CliError, load_project, print_json, project_or_none, relative

# -- dags --------------------------------------------------------------------------------


def dags_code(paths: Sequence[str], extra_roots: Sequence[str] = ()) -> ProjectCode:
    """Where the given DAG files' imports are followed: the folders given (Airflow puts each DAG
    folder on sys.path), the settings' ``importRoots`` and ``--import-root``s, ``plugins/`` and
    the current directory as the workspace root."""
    from server.settings import load_settings

    folders = [p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)) for p in paths]
    settings, _ = load_settings(".")
    layout = Layout(os.path.abspath("."), tuple(folders), None, (*settings.import_roots, *extra_roots))
    return layout.project_code(read_disk)


def collect_dag_files(paths: Sequence[str], code: ProjectCode | None = None) -> list[FileFacts]:
    files: list[FileFacts] = []
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
            if absolute in seen:
                continue
            seen.add(absolute)
            decoded = read_disk(path)
            if decoded.text is None:
                files.append(FileFacts(path=absolute, error=decoded.skipped, skipped=decoded.skipped))
            elif explicit or might_contain_dag(decoded.text):
                files.append(extract_file(absolute, decoded.text, code))
    return files


def run_dags(args: argparse.Namespace) -> int:
    for path in args.paths:
        if not os.path.exists(path):
            raise CliError(f"{path}: no such file or directory")
    files = collect_dag_files(args.paths, dags_code(args.paths, args.import_root or ()))
    if args.json:
        print_json({"files": [_file_json(f) for f in files]})
        return 0
    project = project_or_none(".")
    for file in files:
        _print_file(file, project)
    total_dags = sum(len(f.dags) for f in files)
    total_tasks = sum(len(d.tasks) for f in files for d in f.dags)
    print(f"{total_dags} DAGs, {total_tasks} tasks in {len(files)} files", file=sys.stderr)
    return 0


def _file_json(file: FileFacts) -> dict:
    error = file.error
    if error and file.error_range and not file.skipped:
        start = file.error_range.start
        error = f"line {start.line + 1}, column {start.character + 1}: {error}"
    return {
        "path": relative(file.path),
        "error": error,
        "dags": [
            {
                "dag_id": dag.dag_id,
                "range": dag.range.to_json(),
                "tasks": [
                    {
                        "task_id": task.task_id,
                        "operator": task.operator,
                        "range": task.range.to_json(),
                        "upstream": list(task.upstream),
                        "dynamic": task.dynamic,
                        "conditional": task.conditional,
                    }
                    for task in dag.tasks
                ],
                "dynamic": dag.dynamic,
                "source": "static",
            }
            for dag in file.dags
        ],
    }


def _print_file(file: FileFacts, project: Project | None) -> None:
    from analysis.describe import dag_status, task_status

    print(relative(file.path))
    if file.error:
        print(f"  ! {_file_json(file)['error']}")
    for dag in file.dags:
        entry = project.entry(dag.dag_id) if project else None
        in_project = project is not None and entry is not None and entry.file.path == file.path
        note = " (dynamic)" if dag.dynamic else ""
        summary = f"  {dag_status(project, entry).label}" if in_project else ""
        print(f"  {dag.dag_id}  {len(dag.tasks)} tasks{note}{summary}")
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
    project = load_project(root)
    findings = [f for f in check_project(project) if only is None or f.path == only]
    if args.json:
        print_json({"findings": [_finding_json(f) for f in findings], "summary": _summary(findings)})
    else:
        for finding in findings:
            start = finding.range.start
            print(f"{relative(finding.path)}:{start.line + 1}:{start.character + 1}: "
                  f"{finding.code} {finding.message}")
        summary = _summary(findings)
        print(f"{summary['error']} errors, {summary['warning']} warnings, "
              f"{summary['information']} notes in {len(project.files)} DAG files", file=sys.stderr)
    return EXIT_FINDINGS if any(f.severity is Severity.ERROR for f in findings) else 0


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


