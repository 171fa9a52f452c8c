"""``airlift-lsp peer``: the Dagster module that peers with the configured Airflow."""

from __future__ import annotations

import argparse


def run_peer(args: argparse.Namespace) -> int:
    from analysis.plans.peering import plan_peer
    from server.cli.migrate import _carry_out
    from server.settings import load_settings

    settings, _ = load_settings(".")  # its warnings are printed once, by the project's load
    airflow = settings.airflow
    return _carry_out(args, lambda project, read, sources: plan_peer(
        project, read, airflow.url, args.auth, username=airflow.username, configured_auth=airflow.auth,
        sources=sources))
