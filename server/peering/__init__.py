"""Airflow peering (a REST client, a background poller and what the editor shows of runs) and
the Dagster side of proxied tasks, read after each Airflow poll.

    client.py     AirflowClient (version detection, batch endpoints)
    ui_links.py   ui_url: links into the Airflow UI (Airflow 3 and 2 routes)
    auth.py       AuthBackend seam: JwtAuth (Airflow 3), BasicAuth (Airflow 2), NoAuth
    tokens.py     BearerAuth: a static token or a token command's (airflow.auth token/astro/command)
    mwaa.py       MwaaAuth: MWAA web login (Airflow 2), InvokeRestApi (Airflow 3); boto3 extra
    composer.py   ComposerToken: Google access tokens for Cloud Composer; google-auth extra
    transport.py  timeouts, retries, PeeringError, secret redaction
    records.py    DagRun, TaskInstance: typed records over both API versions
    history.py    RunHistory and PeeringStatus snapshots; fetch_history (one poll)
    poller.py     Poller: the background thread with backoff and poll_now()
    present.py    pure rendering: hover text, lens prefixes, status --json parts
    dagster_client.py   DagsterClient: GraphQL, the runs airlift launched (by its run tags), last materializations
    dagster_watch.py    DagsterWatcher: the poller's follower; DagsterView snapshots; which task gets which run
    dagster_present.py  pure rendering of the Dagster side: hover section, failing-run lens, DRUN
    switches.py   SwitchBoard, SwitchWatcher: proxies and rollbacks followed until Airflow runs them
"""

from server.peering.client import AirflowClient
from server.peering.history import EMPTY, PeeringStatus, RunHistory, fetch_history
from server.peering.poller import Poller
from server.peering.records import DagRun, TaskInstance
from server.peering.transport import PeeringError, RequestPolicy
from server.peering.ui_links import ui_url

__all__ = [
           "EMPTY",
           "AirflowClient",
           "DagRun",
           "PeeringError",
           "PeeringStatus",
           "Poller",
           "RequestPolicy",
           "RunHistory",
           "TaskInstance",
           "fetch_history",
           "ui_url",
]
