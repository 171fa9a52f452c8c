"""The migration steps on the command line: plan against the disk, then print the diff
(``--dry-run``) or write every file atomically."""

from __future__ import annotations

import argparse
import sys

from analysis.files import read_disk
from analysis.source import Decoded
from server.cli.common import EXIT_FINDINGS, CliError, load_project, relative


def map_step(args: argparse.Namespace) -> int:
    from analysis.plans import plan_map

    if args.asset is not None and len(args.task_ids) != 1 and not args.dag_level:
        raise CliError("--asset names the asset of one task: give exactly one TASK_ID (or --dag-level)")
    return _carry_out(args, lambda project, read, sources: plan_map(
        project, read, args.dag_id, args.task_ids or None, args.asset, sources=sources, dag_level=args.dag_level))


def proxy_step(args: argparse.Namespace) -> int:
    from analysis.plans import plan_proxy

    return _carry_out(args, lambda project, read, sources: _on_airflow3(project, plan_proxy(
        project, read, args.dag_id, args.task_ids, sources=sources, dag_level=args.dag_level)))


def _on_airflow3(project, plan):
    """A proxy on an Airflow configured as Airflow 3 (``airflow.apiVersion = "v2"``; the CLI does
    not ask the network) is made, with the warning that Dagster cannot peer with it yet when a
    Dagster module of the project peers."""
    from dataclasses import replace

    from analysis.edits.peer_code import AIRFLOW3_PROXY_WARNING, dagster_peers_with_airflow
    from server.settings import load_settings

    if plan.changes and dagster_peers_with_airflow(project) \
            and load_settings(".")[0].airflow.api_version == "v2":
        return replace(plan, notes=(*plan.notes, "warning: " + AIRFLOW3_PROXY_WARNING))
    return plan


def rollback_step(args: argparse.Namespace) -> int:
    from analysis.plans import plan_rollback

    if args.all and args.dag_id:
        raise CliError("give either a DAG_ID (and optionally TASK_IDs) or --all, not both")
    if not args.all and not args.dag_id:
        raise CliError("give a DAG_ID (and optionally TASK_IDs), or --all")
    return _carry_out(args, lambda project, read, sources: plan_rollback(
        project, read, None if args.all else args.dag_id, args.task_ids, sources=sources,
        dag_level=args.dag_level))


def enable_step(args: argparse.Namespace) -> int:
    from analysis.plans import plan_enable_proxying

    return _carry_out(args, lambda project, read, sources: plan_enable_proxying(
        project, read, args.dag_id, sources=sources))


def scaffold_step(args: argparse.Namespace) -> int:
    from analysis.plans import plan_scaffold

    return _carry_out(args, lambda project, read, sources: plan_scaffold(
        project, read, args.dag_id, args.task_id, sources=sources))


def decommission_step(args: argparse.Namespace) -> int:
    from analysis.plans import plan_decommission

    runs, unchecked = _peered_runs(args.dag_id)
    return _carry_out(args, lambda project, read, sources: plan_decommission(
        project, read, args.dag_id, sources=sources, pause=args.pause, runs=runs, unchecked=unchecked))


def _peered_runs(dag_id: str):
    """The DAG's last runs from one poll of the peered Airflow (None: not peered or not reached),
    and why they could not be checked."""
    import logging

    from server.peering import Poller
    from server.peering.last_runs import runs_for
    from server.settings import load_settings

    logging.getLogger("airlift-lsp").addHandler(logging.NullHandler())
    logging.getLogger("airlift-lsp").propagate = False
    settings, _ = load_settings(".")
    poller = Poller(settings.airflow, lambda: [dag_id])
    if not poller.enabled:
        return None, "Airflow is not peered (no airflow.url)"
    try:
        history, status = poller.poll_once()
    finally:
        poller.stop(timeout=1.0)
    return runs_for(history, status, dag_id), None if status.reachable else (status.error or "Airflow not reached")


def _reload_dagster(project, plan) -> None:
    """With ``dagster.url`` set, Dagster reloads the code location of the Dagster modules just
    written (server.peering.dagster_reload): one line each on stderr, never a failure."""
    from analysis.dagster.module import looks_like_dagster_module
    from server.peering.dagster_reload import reload_after_write
    from server.settings import load_settings

    modules = [c.path for c in plan.changes if not c.removed and (
        c.path in project.dagster_modules or looks_like_dagster_module(c.new_text or ""))]
    settings = load_settings(".")[0].dagster if modules else None
    if settings is not None and settings.url and not settings.token:  # Dagster+ serves what is deployed
        for line in reload_after_write(settings, modules):
            print(f"airlift-lsp: {line}", file=sys.stderr)


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

    project = load_project(".", reading, read_only=args.dry_run)

    def read(path: str) -> str | None:
        return read_disk(path).text

    try:
        plan = make_plan(project, read, sources)
    except Refused as refusal:
        raise CliError(str(refusal), EXIT_FINDINGS) from None
    if args.dry_run:
        sys.stdout.write(unified_diff(plan, relative))
    if args.verify:
        from server.cli.verify import gate

        gate(args, project, plan)  # raises, writing nothing, when the edit adds a failure
    if not args.dry_run and plan.changes:
        try:
            write_atomically(plan, read)
        except ChangedOnDisk as changed:
            raise CliError(f"{relative(changed.path)} changed on disk while the edit was planned; nothing "
                           "written, run the command again", 1) from None
        except OSError as error:
            raise CliError(f"cannot write {error.filename or ''}: {error.strerror or error}", 1) from None
    for note in plan.notes:
        print(f"airlift-lsp: {note}", file=sys.stderr)
    changed = ", ".join(relative(c.path) for c in plan.changes) or "nothing to change"
    print(f"{plan.title}: {changed}" + (" (dry run)" if args.dry_run else ""), file=sys.stderr)
    if not args.dry_run:
        _reload_dagster(project, plan)
    for problem in plan.incomplete:
        print(f"airlift-lsp: error: {problem}", file=sys.stderr)
    if getattr(args, "wait", None) is not None and not args.dry_run and not plan.incomplete:
        from server.cli.wait import wait_live

        return wait_live(plan, project, args.wait)
    return EXIT_FINDINGS if plan.incomplete else 0


