"""``airlift-lsp verify`` and the ``--verify`` gate of the migration steps: the project's own
Airflow (and Dagster) load the project in a subprocess; their view is compared with the static
model. Opt-in: it runs the project's code, with the project's interpreter."""

from __future__ import annotations

import argparse
import os
import sys

from analysis.facts import Finding
from server.cli.common import EXIT_FINDINGS, EXIT_USAGE, CliError, load_project, print_json, relative


def add_arguments(parser: argparse.ArgumentParser, *, gate: bool) -> None:
    """The flags of ``verify``, and of the steps that take ``--verify``."""
    if gate:
        parser.add_argument("--verify", action="store_true",
                            help="load the edited project in the project's own Airflow (and Dagster) first; "
                                 "write nothing when the edit adds a failure")
    parser.add_argument("--airflow-python", metavar="PY",
                        help="the project's Airflow interpreter (default: the airflow.python setting)")
    parser.add_argument("--dagster-python", metavar="PY",
                        help="the project's Dagster interpreter, to load the Dagster module too "
                             "(default: the dagster.python setting; none: Airflow only)")
    parser.add_argument("--timeout", metavar="SECONDS", type=_seconds, default=None,
                        help="give up on a probe after this long (default: 300)")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {value!r}") from None
    if not seconds > 0:
        raise argparse.ArgumentTypeError("expected a positive number of seconds")
    return seconds


def run_verify(args: argparse.Namespace) -> int:
    from server.verify.engine import verify_project

    project = load_project(".")
    outcome = _or_usage_error(lambda: verify_project(project, _pythons(args), _timeout(args)))
    if args.json:
        print_json(outcome.to_json(relative))
    else:
        for finding in outcome.findings:
            print(_line(finding))
        for note in outcome.notes:
            print(f"airlift-lsp: note: {note}", file=sys.stderr)
        dagster = f", Dagster {outcome.dagster.dagster_version}" if outcome.dagster else ""
        count = len(outcome.findings)
        print(f"{count} finding{'s' if count != 1 else ''}: Airflow {outcome.airflow.airflow_version or '?'}{dagster} "
              f"loaded {len(outcome.airflow.dags)} DAGs "
              f"({len(outcome.airflow.import_errors)} files failed to import)", file=sys.stderr)
    return EXIT_FINDINGS if outcome.findings else 0


def gate(args: argparse.Namespace, project, plan) -> None:
    """Verify the plan on a copy of the workspace; raise (exit 1, nothing written) when the edit
    adds a finding the workspace did not already have. With --dry-run, only say so."""
    from server.verify.trial import verify_plan

    if plan.empty:
        return
    verdict = _or_usage_error(lambda: verify_plan(project, plan, _pythons(args), _timeout(args)))
    for note in verdict.after.notes:
        print(f"airlift-lsp: note: {note}", file=sys.stderr)
    kept = len(verdict.before.findings)
    if verdict.accepted:
        already = f" ({kept} findings the workspace already had remain)" if kept else ""
        print(f"airlift-lsp: verify: the edited project loads in Airflow {verdict.after.airflow.airflow_version}"
              f" with no new failure{already}", file=sys.stderr)
        return
    for finding in verdict.added:
        print(_line(finding), file=sys.stderr)
    count = len(verdict.added)
    what = "would be written" if args.dry_run else "written"
    raise CliError(f"verify: the edit adds {count} failure{'s' if count != 1 else ''} in Airflow"
                   f"{' or Dagster' if verdict.after.dagster else ''} (above); nothing {what}", EXIT_FINDINGS)


def _line(finding: Finding) -> str:
    start = finding.range.start
    return f"{relative(finding.path)}:{start.line + 1}:{start.character + 1}: {finding.code} {finding.message}"


def _pythons(args: argparse.Namespace):
    from server.settings import load_settings
    from server.verify.engine import pythons_for

    settings, _ = load_settings(".")  # load_project has printed its warnings
    return pythons_for(os.path.abspath("."), settings, args.airflow_python, args.dagster_python)


def _timeout(args: argparse.Namespace) -> float:
    from server.verify.probes import DEFAULT_TIMEOUT

    return args.timeout or DEFAULT_TIMEOUT


def _or_usage_error(run):
    from server.verify.probes import VerifyError

    try:
        return run()
    except VerifyError as error:
        raise CliError(f"verify: {error}", EXIT_USAGE) from None
