"""The ``airlift-lsp`` command line: the server's engine, headless, for CI and terminals.

Every command takes the current directory as the workspace root. Errors are one line on
stderr and a non-zero exit; output on stdout is the result only.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Sequence

from server.cli.common import CliError


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
    dags.add_argument("--import-root", action="append", metavar="DIR",
                      help="a folder the deployment puts on sys.path (repeatable; also the importRoots setting)")
    _env_flag(dags)
    dags.set_defaults(run=lambda args: _lazy("dags", "run_dags")(args))

    check = commands.add_parser("check", help="migration diagnostics; exit 1 on any error")
    check.add_argument("path", nargs="?", default=".", metavar="PATH",
                       help="workspace folder (default: current directory) or one file in it")
    check.add_argument("--json", action="store_true", help="machine-readable output")
    check.add_argument("--import-root", action="append", metavar="DIR",
                       help="a folder the deployment puts on sys.path (repeatable; also the importRoots setting)")
    _env_flag(check)
    check.set_defaults(run=lambda args: _lazy("dags", "run_check")(args))

    status = commands.add_parser("status", help="migration progress per DAG, live run state if peered")
    status.add_argument("path", nargs="?", default=".", metavar="PATH", help="workspace folder")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(run=lambda args: _lazy("status", "run_status")(args))

    map_ = _step(commands, "map", "map_step", "map tasks to Dagster assets in the Dagster module "
                 "(no TASK_ID: every unmapped task of the DAG)")
    map_.add_argument("dag_id", metavar="DAG_ID")
    map_.add_argument("task_ids", nargs="*", metavar="TASK_ID")
    map_.add_argument("--asset", metavar="KEY", help="asset key, parts separated by / (default: derived)")
    map_.add_argument("--dag-level", action="store_true",
                      help="map the whole DAG to one asset (assets_with_dag_mappings), for DAG-level proxying")

    proxy = _step(commands, "proxy", "proxy_step", "proxy tasks to Dagster (no TASK_ID: every task of the DAG)")
    proxy.add_argument("dag_id", metavar="DAG_ID")
    proxy.add_argument("task_ids", nargs="*", metavar="TASK_ID")
    proxy.add_argument("--dag-level", action="store_true",
                       help="hand the whole DAG to Dagster as one (state file `proxied: true`)")
    _wait_flag(proxy)

    rollback = _step(commands, "rollback", "rollback_step", "hand tasks back to Airflow")
    rollback.add_argument("dag_id", nargs="?", metavar="DAG_ID")
    rollback.add_argument("task_ids", nargs="*", metavar="TASK_ID")
    rollback.add_argument("--all", action="store_true", help="every DAG of the workspace")
    rollback.add_argument("--dag-level", action="store_true",
                          help="a DAG proxied at DAG level: set its `proxied: false`, keeping the level")
    _wait_flag(rollback)

    enable = _step(commands, "enable-proxying", "enable_step",
                   "add the proxying_to_dagster hook to a DAG file and create its state file")
    enable.add_argument("dag_id", metavar="DAG_ID")

    scaffold = _step(commands, "scaffold", "scaffold_step",
                     "write the Dagster asset that does a task's work, and map the task to it")
    scaffold.add_argument("dag_id", metavar="DAG_ID")
    scaffold.add_argument("task_id", metavar="TASK_ID")

    decommission = _step(commands, "decommission", "decommission_step",
                         "last step, once every task runs in Dagster: the DAG's assets get a Dagster job on its "
                         "schedule, its mappings and state file go, its file is removed (or paused)")
    decommission.add_argument("dag_id", metavar="DAG_ID")
    decommission.add_argument("--pause", action="store_true",
                              help="keep the DAG file, paused (is_paused_upon_creation=True), instead of removing it")

    peer = commands.add_parser("peer", help="create or complete the Dagster module so that it peers with the "
                               "configured Airflow (airflow.url), secrets read from the environment")
    peer.add_argument("--auth", choices=("basic", "token", "mwaa"),
                      help="auth backend (default: the airflow.auth setting, else basic)")
    peer.add_argument("--dry-run", action="store_true", help="print a unified diff, write nothing")
    peer.set_defaults(run=lambda args: _lazy("peer", "run_peer")(args), verify=False)

    verify = commands.add_parser("verify", help="load the project in its own Airflow (and Dagster) and compare "
                                 "with the static model; opt-in: runs the project's code")
    _lazy("verify", "add_arguments")(verify, gate=False)
    verify.add_argument("--json", action="store_true", help="machine-readable output")
    verify.set_defaults(run=lambda args: _lazy("verify", "run_verify")(args))

    serve = commands.add_parser("serve", help="run the language server (stdio by default)")
    serve.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")
    serve.add_argument("--stdio", action="store_true", help="stdio (the default; editors pass it)")
    serve.set_defaults(run=run_serve)
    return parser


def _env_flag(command: argparse.ArgumentParser) -> None:
    from server.cli.common import parse_env

    command.add_argument("--env", action="append", type=parse_env, metavar="NAME=VALUE",
                         help="a variable of the deployment that DAG files read at import (repeatable; "
                              "over the environment setting)")


DEFAULT_WAIT = 300.0
"""Seconds ``--wait`` alone gives a switch to go live."""


def _wait_flag(command: argparse.ArgumentParser) -> None:
    command.add_argument("--wait", nargs="?", const=DEFAULT_WAIT, type=_seconds, metavar="SECONDS",
                         help="then follow the switch on the peered Airflow until it is live (Airflow 3 is "
                              "asked to re-parse the file); exit 1 when it is not after SECONDS "
                              f"({DEFAULT_WAIT:g})")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {value!r}") from None
    if not 0 < seconds <= 86400:
        raise argparse.ArgumentTypeError(f"seconds must be between 0 and 86400, not {value}")
    return seconds


def _step(commands, name: str, runner: str, help_text: str) -> argparse.ArgumentParser:
    """A migration step: planned against the disk, written atomically or shown as a diff."""
    step = commands.add_parser(name, help=help_text)
    step.add_argument("--dry-run", action="store_true", help="print a unified diff, write nothing")
    _lazy("verify", "add_arguments")(step, gate=True)
    step.set_defaults(run=lambda args: _lazy("migrate", runner)(args))
    return step


def _lazy(module: str, name: str):
    """The command's runner, imported when it runs: `dags --json` must stay close to the cost
    of parsing, so the project model (libcst, ruamel.yaml) loads only for commands that need it."""
    import importlib

    return getattr(importlib.import_module(f"server.cli.{module}"), name)


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


