"""The ``airlift-lsp`` command line: the server's engine, headless, for CI and terminals.

Every command takes the current directory as the workspace root. Errors are one line on
stderr and a non-zero exit; output on stdout is the result only.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from analysis.dags.dagfile import extract_file
from analysis.facts import FileFacts, Finding, Severity
from analysis.files import read_disk, walk_python_files
from analysis.source import Decoded, might_contain_dag

if TYPE_CHECKING:
    from analysis.project import Project

# `dags --json` must stay close to the cost of parsing: the project model (libcst,
# ruamel.yaml) is imported only by the commands that need it.

EXIT_FINDINGS = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A one-line message for stderr, with the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> int:
    # A short-lived process building many small frozen objects: the cyclic GC only costs.
    gc.disable()
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except CliError as error:
        print(f"airlift-lsp: {error}", file=sys.stderr)
        return error.code
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as error:  # noqa: BLE001 - one line for users, the traceback on request
        if os.environ.get("AIRLIFT_LSP_DEBUG"):
            raise
        print(f"airlift-lsp: internal error: {type(error).__name__}: {error} "
              "(set AIRLIFT_LSP_DEBUG=1 for the traceback)", file=sys.stderr)
        return 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airlift-lsp",
        description="Migrate Airflow DAGs to Dagster with dagster-airlift, from the editor or CI.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    dags = commands.add_parser("dags", help="static model of DAG files: DAGs, tasks, edges")
    dags.add_argument("paths", nargs="+", metavar="PATH", help="DAG files or folders")
    dags.add_argument("--json", action="store_true", help="machine-readable output")
    dags.set_defaults(run=run_dags)

    check = commands.add_parser("check", help="migration diagnostics; exit 1 on any error")
    check.add_argument("path", nargs="?", default=".", metavar="PATH",
                       help="workspace folder (default: current directory) or one file in it")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.set_defaults(run=run_check)

    status = commands.add_parser("status", help="migration progress per DAG, live run state if peered")
    status.add_argument("path", nargs="?", default=".", metavar="PATH", help="workspace folder")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=run_status)

    map_ = commands.add_parser("map", help="map a task to a Dagster asset in the Dagster module")
    map_.add_argument("dag_id", metavar="DAG_ID")
    map_.add_argument("task_id", metavar="TASK_ID")
    map_.add_argument("--asset", metavar="KEY", help="asset key, parts separated by / (default: derived)")
    map_.add_argument("--dry-run", action="store_true", help="print a unified diff, write nothing")
    map_.set_defaults(run=run_map)

    proxy = commands.add_parser("proxy", help="proxy tasks to Dagster (no TASK_ID: every task of the DAG)")
    proxy.add_argument("dag_id", metavar="DAG_ID")
    proxy.add_argument("task_ids", nargs="*", metavar="TASK_ID")
    proxy.add_argument("--dry-run", action="store_true", help="print a unified diff, write nothing")
    proxy.set_defaults(run=run_proxy)

    rollback = commands.add_parser("rollback", help="hand tasks back to Airflow")
    rollback.add_argument("dag_id", nargs="?", metavar="DAG_ID")
    rollback.add_argument("task_ids", nargs="*", metavar="TASK_ID")
    rollback.add_argument("--all", action="store_true", help="every DAG of the workspace")
    rollback.add_argument("--dry-run", action="store_true", help="print a unified diff, write nothing")
    rollback.set_defaults(run=run_rollback)

    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--stdio", action="store_true", help="stdio (the default; editors pass it)")
    serve.set_defaults(run=run_serve)
    return parser


def run_status(args: argparse.Namespace) -> int:
    from analysis.describe import dag_status, task_status
    from server.peering import Poller
    from server.peering.present import last_run_json, lens_prefix, status_json, status_text
    from server.peering.poller import utc_now
    from server.settings import load_settings

    if not os.path.isdir(args.path):
        raise CliError(f"{args.path}: no such folder")
    import logging

    logging.getLogger("airlift-lsp").addHandler(logging.NullHandler())  # the status says it all
    logging.getLogger("airlift-lsp").propagate = False
    project = _load_project(args.path)
    settings, _ = load_settings(args.path)
    entries = sorted(project.entries, key=lambda e: e.dag_id)
    poller = Poller(settings.airflow, lambda: [e.dag_id for e in entries])
    history, status = poller.poll_once() if poller.enabled else (poller.history, poller.status)
    poller.stop(timeout=1.0)
    if args.json:
        _print_json({"airflow": status_json(status), "dags": [
            {"dag_id": entry.dag_id, "file": _relative(entry.file.path),
             "last_run": last_run_json(history, entry.dag_id),
             "tasks": [{"task_id": task.task_id, "assets": list(project.assets_for(entry.dag_id, task.task_id)),
                        "proxied": project.is_proxied(entry, task),
                        "last_run": last_run_json(history, entry.dag_id, task.task_id)}
                       for task in entry.dag.tasks]}
            for entry in entries]})
        return 0
    print(status_text(status))
    now = utc_now()
    for entry in entries:
        live = lens_prefix(history, entry.dag_id, None, now)
        print(f"{entry.dag_id}  {dag_status(project, entry).label}" + (f"  last run: {live}" if live else ""))
        for task in entry.dag.tasks:
            live = lens_prefix(history, entry.dag_id, task.task_id, now)
            print(f"    {task.task_id}  {task_status(project, entry, task).label}" + (f"  {live}" if live else ""))
    return 0


def run_map(args: argparse.Namespace) -> int:
    from analysis.plans import plan_map

    return _carry_out(args, lambda project, read, sources: plan_map(
        project, read, args.dag_id, [args.task_id], args.asset, sources=sources))


def run_proxy(args: argparse.Namespace) -> int:
    from analysis.plans import plan_proxy

    return _carry_out(args, lambda project, read, sources: plan_proxy(
        project, read, args.dag_id, args.task_ids, sources=sources))


def run_rollback(args: argparse.Namespace) -> int:
    from analysis.plans import plan_rollback

    if args.all == bool(args.dag_id):
        raise CliError("give a DAG_ID (and optionally TASK_IDs), or --all")
    return _carry_out(args, lambda project, read, sources: plan_rollback(
        project, read, None if args.all else args.dag_id, args.task_ids, sources=sources))


def _carry_out(args: argparse.Namespace, make_plan) -> int:
    """Plan against the disk, then print the diff (--dry-run) or write atomically."""
    from analysis.plans import Refused
    from server.apply import ChangedOnDisk, unified_diff, write_atomically

    sources: dict[str, str] = {}

    def reading(path: str) -> Decoded:
        """For discovery: the text each of the project's facts comes from."""
        decoded = read_disk(path)
        if decoded.text is not None:
            sources[path] = decoded.text
        return decoded

    project = _load_project(".", reading)

    def read(path: str) -> str | None:
        return read_disk(path).text

    try:
        plan = make_plan(project, read, sources)
    except Refused as refusal:
        raise CliError(str(refusal), EXIT_FINDINGS) from None
    if args.dry_run:
        sys.stdout.write(unified_diff(plan, _relative))
    elif plan.changes:
        try:
            write_atomically(plan, read)
        except ChangedOnDisk as changed:
            raise CliError(f"{_relative(changed.path)} changed on disk while the edit was planned; nothing "
                           "written, run the command again", 1) from None
        except OSError as error:
            raise CliError(f"cannot write {error.filename or ''}: {error.strerror or error}", 1) from None
    for note in plan.notes:
        print(f"airlift-lsp: {note}", file=sys.stderr)
    changed = ", ".join(_relative(c.path) for c in plan.changes) or "nothing to change"
    print(f"{plan.title}: {changed}" + (" (dry run)" if args.dry_run else ""), file=sys.stderr)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    gc.enable()
    import logging

    from server.app import create_server

    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("pygls").setLevel(logging.WARNING)  # it logs every message at INFO
    server = create_server()
    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        if not port.isdigit():
            raise CliError(f"--tcp expects HOST:PORT, got {args.tcp!r}")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    if not server.stop_worker(timeout=2.0):
        logging.getLogger("airlift-lsp").error("an analysis is still running; exiting without it")
        logging.shutdown()
        sys.stdout.flush()
        os._exit(0)
    return 0


# -- dags --------------------------------------------------------------------------------


def collect_dag_files(paths: Sequence[str]) -> list[FileFacts]:
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
                files.append(extract_file(absolute, decoded.text))
    return files


def run_dags(args: argparse.Namespace) -> int:
    files = collect_dag_files(args.paths)
    if args.json:
        _print_json({"files": [_file_json(f) for f in files]})
        return 0
    project = _project_or_none(".")
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
        "path": _relative(file.path),
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
                    }
                    for task in dag.tasks
                ],
                "dynamic": dag.dynamic,
            }
            for dag in file.dags
        ],
    }


def _print_file(file: FileFacts, project: Project | None) -> None:
    from analysis.describe import dag_status, task_status

    print(_relative(file.path))
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
            flags = "".join([" [mapped]" if task.mapped else "", " [dynamic]" if task.dynamic else ""])
            print(f"    {task.task_id}  {task.operator}{flags}{upstream}{stage}")


# -- check -------------------------------------------------------------------------------


def run_check(args: argparse.Namespace) -> int:
    target = args.path
    if not os.path.exists(target):
        raise CliError(f"{target}: no such file or directory")
    from analysis.checks import check_project

    root, only = (target, None) if os.path.isdir(target) else (".", os.path.abspath(target))
    project = _load_project(root)
    findings = [f for f in check_project(project) if only is None or f.path == only]
    if args.json:
        _print_json({"findings": [_finding_json(f) for f in findings], "summary": _summary(findings)})
    else:
        for finding in findings:
            start = finding.range.start
            print(f"{_relative(finding.path)}:{start.line + 1}:{start.character + 1}: "
                  f"{finding.code} {finding.message}")
        summary = _summary(findings)
        print(f"{summary['error']} errors, {summary['warning']} warnings, "
              f"{summary['information']} notes in {len(project.files)} DAG files", file=sys.stderr)
    return EXIT_FINDINGS if any(f.severity is Severity.ERROR for f in findings) else 0


def _finding_json(finding: Finding) -> dict:
    data = finding.to_json()
    data["path"] = _relative(finding.path)
    for related in data["related"]:
        related["path"] = _relative(related["path"])
    return data


def _summary(findings: list[Finding]) -> dict[str, int]:
    counts = {severity.value: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts


# -- shared ------------------------------------------------------------------------------


def _load_project(root: str, read: Callable[[str], Decoded] = read_disk) -> Project:
    from analysis.project import Layout, discover
    from server.settings import load_settings

    settings, warnings = load_settings(root)
    for warning in warnings:
        print(f"airlift-lsp: warning: {warning}", file=sys.stderr)
    layout = Layout(os.path.abspath(root), settings.dag_folders, settings.dagster_module)
    for folder in layout.dag_roots():
        if not os.path.isdir(folder):
            raise CliError(f"dag folder {_relative(folder)} does not exist (dagFolders setting)")
    return discover(layout, read)


def _project_or_none(root: str) -> Project | None:
    try:
        return _load_project(root)
    except CliError:
        return None


def _relative(path: str) -> str:
    relative = os.path.relpath(path)
    return (path if relative.startswith("..") else relative).replace(os.sep, "/")


def _print_json(data: dict) -> None:
    # Compact, so the C encoder does the work (indenting falls back to pure Python).
    sys.stdout.write(json.dumps(data, ensure_ascii=False))
    sys.stdout.write("\n")
