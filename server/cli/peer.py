"""``airlift-lsp peer``: the Dagster module that peers with the configured Airflow."""

from __future__ import annotations

import argparse

from server.settings import AirflowSettings

PROBE_CONNECT_TIMEOUT = 2.0
PROBE_READ_TIMEOUT = 5.0


def run_peer(args: argparse.Namespace) -> int:
    from analysis.plans.peering import plan_peer
    from server.cli.migrate import _carry_out
    from server.settings import load_settings

    settings, _ = load_settings(".")  # its warnings are printed once, by the project's load
    airflow = settings.airflow
    auth = args.auth or airflow.auth or "basic"
    api, unknown = airflow_api(airflow, auth) if airflow.url else (None, None)
    return _carry_out(args, lambda project, read, sources: plan_peer(
        project, read, airflow.url, args.auth, username=airflow.username, configured_auth=airflow.auth,
        airflow_api=api, api_unknown=unknown, sources=sources))


def airflow_api(airflow: AirflowSettings, auth: str) -> tuple[str | None, str | None]:
    """The Airflow's REST API, ``"v1"`` or ``"v2"``, as configured or as it answers; else None
    and why. Airflow 3 answers ``/api/v2/version`` without credentials, so one request tells
    it apart; an MWAA web server is behind AWS's login and is not asked."""
    if airflow.api_version in ("v1", "v2"):
        return airflow.api_version, None
    if auth != "basic" or not airflow.url:
        return None, None
    from server.peering.client import AirflowClient
    from server.peering.transport import PeeringError, RequestPolicy

    client = AirflowClient(airflow.url, username=airflow.username, password=airflow.password,
                           verify_tls=airflow.verify_tls, policy=RequestPolicy(
                               connect_timeout=PROBE_CONNECT_TIMEOUT, read_timeout=PROBE_READ_TIMEOUT, retries=0))
    try:
        return client.detect_version(), None
    except PeeringError as error:
        # No /api/v2 was found before /api/v1 failed (credentials, say): not an Airflow 3.
        return ("v1", None) if client.api_version == "v1" else (None, str(error))
    finally:
        client.close()
