"""The code ``airlift-lsp peer`` writes: the ``AirflowInstance`` that peers Dagster with the
configured Airflow, for each auth backend dagster-airlift 0.29.27 really has, and the module a
project without one starts from.

Secrets are never written: the generated code reads them from the environment when Dagster
loads the module (``os.environ["AIRFLOW_PASSWORD"]``, a KeyError naming the variable when it
is missing). What is not secret (the URL, the user name, the AWS region) is written as the
default of its environment variable, so the module loads where the settings were made and
follows the environment elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from analysis.edits.layout import string_literal

AIRLIFT_VERSION = "0.29.27"
"""The dagster-airlift whose API the generated code is written against (Dagster 1.13)."""
AUTH_CHOICES = ("basic", "token", "mwaa")
BACKENDS = {"basic": ("dagster_airlift.core", "AirflowBasicAuthBackend"),
            "mwaa": ("dagster_airlift.mwaa", "MwaaSessionAuthBackend")}

TOKEN_REFUSED = (f"token auth: dagster-airlift {AIRLIFT_VERSION} has no bearer-token auth backend, and its "
                 "AirflowInstance only calls /api/v1, which Airflow 3 removed; peer with --auth basic "
                 "(Airflow 2) or --auth mwaa")

AIRFLOW3_REFUSED = ("the Airflow at {url} is Airflow 3 (it serves /api/v2): dagster-airlift " + AIRLIFT_VERSION
                    + "'s AirflowInstance only calls /api/v1, which Airflow 3 removed, so Dagster could not load "
                    "the module; peer with an Airflow 2 (or MWAA)")
AIRFLOW3_PROXY_WARNING = ("the Airflow is Airflow 3 (it serves /api/v2): dagster-airlift " + AIRLIFT_VERSION
                          + "'s AirflowInstance only calls /api/v1, which Airflow 3 removed, so Dagster cannot "
                          "load the peered module and the proxied task's run fails in Airflow with nothing to "
                          "launch; roll it back until dagster-airlift supports Airflow 3, or map the assets in "
                          "a plain Definitions (assets_with_task_mappings, no build_defs_from_airflow_instance)")
"""Said (a warning, the edit is made: the DAG file is fine) when a task is proxied on Airflow 3 and a
Dagster module peers with Airflow (``dagster_peers_with_airflow``). A module that does not (a plain
``Definitions`` with ``assets_with_task_mappings``) loads, and the proxy operator, which only talks to
Dagster's GraphQL, runs the task's assets (tests/integration/test_switches_live_airflow3.py)."""


def dagster_peers_with_airflow(project) -> bool:
    """A Dagster module of the project reads Airflow when it loads (``build_defs_from_airflow_instance``,
    or airlift's Airflow instance component), which dagster-airlift cannot do on Airflow 3."""
    return any(module.calls_build_defs for module in project.dagster_modules.values())

# An MWAA web server: <id>.c<n>.<region>.airflow.amazonaws.com
_MWAA_HOST = re.compile(r"\.([a-z]{2}(?:-[a-z]+)+-\d+)\.airflow\.amazonaws\.com$")


@dataclass(frozen=True, slots=True)
class Peer:
    """What to peer with, from the settings and the command line."""

    url: str
    """The Airflow webserver, as the ``airflow.url`` setting says."""
    auth: str = "basic"
    """``basic`` or ``mwaa`` (``token`` is refused: see ``TOKEN_REFUSED``)."""
    username: str | None = None
    instance_name: str = "airflow"
    """The ``AirflowInstance`` name: the prefix of the DAG assets (``airflow/dag/<dag_id>``)."""

    @property
    def webserver_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def region(self) -> str | None:
        """The AWS region of an MWAA URL, when the host tells it."""
        match = _MWAA_HOST.search(urlsplit(self.url).hostname or "")
        return match.group(1) if match else None


def peer_problem(peer: Peer) -> str | None:
    """Why the request cannot become code, in one sentence; None when it can."""
    if peer.auth == "token":
        return TOKEN_REFUSED
    if peer.auth not in BACKENDS:
        return (f"auth `{peer.auth}`: dagster-airlift {AIRLIFT_VERSION} has no auth backend for it; "
                "peer with --auth basic or --auth mwaa")
    parts = urlsplit(peer.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"airflow.url {peer.url!r} is not an http(s) URL of the Airflow webserver"
    return None


@dataclass(frozen=True, slots=True)
class Names:
    """How the module spells what the instance code uses."""

    os: str = "os"
    boto3: str = "boto3"
    AirflowInstance: str = "AirflowInstance"
    backend: str = ""
    """The auth backend class (``AirflowBasicAuthBackend``, ``MwaaSessionAuthBackend``)."""


def instance_code(peer: Peer, variable: str, names: Names, quote: str = '"', newline: str = "\n",
                  unit: str = "    ") -> str:
    """``variable = AirflowInstance(auth_backend=..., name=...)``, one argument per line."""
    def literal(value: str) -> str:
        return string_literal(value, quote)

    environ = f"{names.os}.environ"
    if peer.auth == "mwaa":
        region = (f"{environ}.get({literal('AWS_REGION')}, {literal(peer.region)})" if peer.region
                  else f"{environ}[{literal('AWS_REGION')}]")
        backend = [f"mwaa_client={names.boto3}.Session(region_name={region}).client({literal('mwaa')}),",
                   f"env_name={environ}[{literal('MWAA_ENV_NAME')}],"]
    else:
        username = (f"{environ}.get({literal('AIRFLOW_USERNAME')}, {literal(peer.username)})" if peer.username
                    else f"{environ}[{literal('AIRFLOW_USERNAME')}]")
        backend = [f"webserver_url={environ}.get({literal('AIRFLOW_URL')}, {literal(peer.webserver_url)}),",
                   f"username={username},",
                   f"password={environ}[{literal('AIRFLOW_PASSWORD')}],"]
    lines = [f"{variable} = {names.AirflowInstance}(",
             f"{unit}auth_backend={names.backend}(",
             *(unit * 2 + line for line in backend),
             f"{unit}),",
             f"{unit}name={literal(peer.instance_name)},",
             ")"]
    return newline.join(lines) + newline


def instance_comment(peer: Peer) -> str:
    """Why the instance is there and where its secrets come from, for a module that had none."""
    if peer.auth == "mwaa":
        return ("# Peers with Airflow on AWS MWAA (airlift-lsp peer; needs dagster-airlift[mwaa]): the environment "
                "is\n# MWAA_ENV_NAME, the AWS credentials boto3's own (AWS_PROFILE, AWS_ACCESS_KEY_ID, a role).\n")
    return ("# Peers with Airflow (airlift-lsp peer): AIRFLOW_URL and AIRFLOW_USERNAME override the defaults,\n"
            "# the password is read from AIRFLOW_PASSWORD when Dagster loads this module, never written here.\n")


def new_peer_module(peer: Peer) -> str:
    """A Dagster module that peers with ``peer`` and maps nothing yet (the mapping steps add
    to its ``Definitions(assets=[])``)."""
    backend_source, backend = BACKENDS[peer.auth]
    if peer.auth == "mwaa":
        connection = ("AWS MWAA: the environment is MWAA_ENV_NAME (region AWS_REGION), the credentials\n"
                      "boto3's own (AWS_PROFILE, AWS_ACCESS_KEY_ID..., an instance role). Needs\n"
                      "dagster-airlift[mwaa].")
        imports = ["import os", "", "import boto3", "from dagster import Definitions",
                   "from dagster_airlift.core import AirflowInstance, build_defs_from_airflow_instance",
                   f"from {backend_source} import {backend}"]
    else:
        connection = ("Basic auth: AIRFLOW_URL and AIRFLOW_USERNAME override the defaults below; the password\n"
                      "is read from AIRFLOW_PASSWORD when Dagster loads this module, never written here.")
        imports = ["import os", "", "from dagster import Definitions", "from dagster_airlift.core import (",
                   f"    {backend},", "    AirflowInstance,", "    build_defs_from_airflow_instance,", ")"]
    url = peer.webserver_url
    shown = url if url.isprintable() and not {'"', "\\"} & set(url) else "airflow.url"
    docstring = ('"""Dagster definitions for the Airflow migration (created by airlift-lsp peer).\n\n'
                 f"Peers with the Airflow at {shown}, so every DAG becomes an asset; the\n"
                 "migration maps Airflow tasks to the assets they produce in Definitions(assets=[...]).\n"
                 f'{connection}\n"""\n')
    instance = instance_code(peer, "airflow_instance", Names(backend=backend))
    defs = ("defs = build_defs_from_airflow_instance(\n"
            "    airflow_instance=airflow_instance,\n"
            "    defs=Definitions(\n"
            "        assets=[],\n"
            "    ),\n"
            ")\n")
    return "\n".join([docstring, *imports, "", instance, defs])
