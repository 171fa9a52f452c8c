"""Plan of the peer step: the Dagster module that sees the configured Airflow."""

from __future__ import annotations

import os

from analysis.dagster.module import is_component_path
from analysis.plans.files import Plan, PlanFiles, Read, Refused, Sources, refuse_unreadable_dagster_module
from analysis.plans.mapping import DEFAULT_DAGSTER_MODULE
from analysis.project import Project

PEER_AUTHS = ("basic", "token", "mwaa")


def plan_peer(project: Project, read: Read, airflow_url: str | None, auth: str | None = None, *,
              username: str | None = None, configured_auth: str | None = None,
              airflow_api: str | None = None, api_unknown: str | None = None,
              sources: Sources | None = None) -> Plan:
    """Create (or complete) the Dagster module so that it peers with ``airflow_url``.

    ``auth`` is the backend asked for; without it, the ``airflow.auth`` setting
    (``configured_auth``) decides, and basic auth when that is unset. ``airflow_api`` is the
    Airflow's REST API as configured or as it answered (``"v2"``: Airflow 3, refused: the
    installed dagster-airlift cannot peer with it); ``api_unknown`` says why it could not be
    told (a note). The module is the one
    mapping writes to: the project's (the ``dagsterModule`` setting, else the discovered one),
    else ``definitions.py`` at the workspace root.
    """
    from analysis.edits.peer_code import AIRFLOW3_REFUSED, Peer
    from analysis.edits.peering import peer_module

    if not airflow_url:
        raise Refused("no Airflow to peer with: set airflow.url (the editor setting, [tool.airlift-lsp.airflow] "
                      "in pyproject.toml, or AIRFLOW_URL) first")
    if auth is None:
        auth = configured_auth or "basic"
        if auth not in PEER_AUTHS:
            raise Refused(f"airflow.auth is `{auth}`, which dagster-airlift has no auth backend for; "
                          "peer with --auth basic or --auth mwaa")
    if airflow_api == "v2" and auth != "token":  # token auth has its own refusal
        raise Refused(AIRFLOW3_REFUSED.format(url=airflow_url))
    changes = PlanFiles(project, read, sources)
    module = changes.dagster().primary_dagster_module
    path = module.path if module else os.path.normpath(os.path.join(
        project.layout.root, project.layout.dagster_module or DEFAULT_DAGSTER_MODULE))
    if module is not None and is_component_path(module.path) and module.error is None:
        return Plan("Peer with Airflow", (), (f"already peered: the component {os.path.basename(module.path)} "
                                              "configures the Airflow instance (its auth)",))
    if not path.endswith(".py"):
        raise Refused(f"the dagsterModule setting names {os.path.basename(path)}, not a Python module: peer "
                      "writes build_defs_from_airflow_instance into a .py file")
    if module is None:
        refuse_unreadable_dagster_module(project)
    result = peer_module(changes.text(path), Peer(airflow_url, auth, username))
    if result.text is None:
        raise Refused(result.reason or f"cannot peer {path}")
    if not result.changed:
        return Plan("Peer with Airflow", (), (result.reason or "already peered",))
    changes.write(path, result.text)
    notes = tuple(n for n in (result.reason, api_unknown and f"could not tell the Airflow version ({api_unknown}): "
                                "the module is written for Airflow 2's /api/v1") if n)
    return Plan(f"Peer the Dagster module with the Airflow at {airflow_url} ({auth} auth)", changes.result(), notes)
