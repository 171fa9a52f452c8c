"""The deployed DAGs for the command line: ``dags`` and ``status`` add the DAGs the peered
Airflow deploys that the static model misses or reads in part (``"source": "airflow"``), from
one peering round. Nothing here fails a command: an Airflow that cannot be read leaves the
static model as it is, and says why in one line on stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING

from analysis.deployed import file_for, merge
from analysis.facts import DagFacts, FileFacts

if TYPE_CHECKING:
    from analysis.project import Project
    from server.peering.deployed import DeploymentWatcher
    from server.settings import AirflowSettings

CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 5.0
"""``dags`` is a quick look: an Airflow that does not answer soon is left out (no retries)."""


def warn(error: str) -> None:
    print(f"airlift-lsp: Airflow DAGs left out: {error}", file=sys.stderr)


def dags_from_airflow(settings: AirflowSettings, paths: Sequence[str], roots: Sequence[str],
                      load: Callable[[list[str]], dict[str, FileFacts]]) -> dict[str, list[DagFacts]]:
    """Per DAG file among ``paths``, the DAGs Airflow adds to (or completes in) its static model:
    one round (the DAG list, then the tasks of those DAGs only), short timeouts. ``load``
    gives the facts of the files the deployment names (the others are not read again)."""
    from server.peering.client import AirflowClient
    from server.peering.deployed import Deployment, classifier, read_deployment
    from server.peering.transport import PeeringError, RequestPolicy

    policy = RequestPolicy(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT, retries=0)
    client = AirflowClient.from_settings(settings, policy=policy)
    try:
        client.connect()
        listed = client.list_dags()
        known = set(paths)
        named = {file_for(dag.fileloc, known, roots) for dag in listed.dags} - {None}
        files = load(sorted(named))  # type: ignore[arg-type]
        previous = Deployment(MappingProxyType({dag.dag_id: dag for dag in listed.dags}), listed_at=0.0)
        deployment = read_deployment(client, classifier(files, roots), previous=previous, relist=False, checks=0)
        if deployment.error:
            warn(deployment.error)
        return merge(files, list(roots), deployment.dags())
    except PeeringError as error:
        warn(str(error))
        return {}
    except Exception as error:  # noqa: BLE001 - the static part is printed whatever happens here
        warn(f"internal error: {type(error).__name__}")
        return {}
    finally:
        client.close()


def with_deployed(file: FileFacts, added: Iterable[DagFacts]) -> FileFacts:
    """The file's DAGs as ``link`` has them: the static ones Airflow does not replace, then Airflow's."""
    added = list(added)
    replaced = {dag.dag_id for dag in added}
    return replace(file, dags=(*(d for d in file.dags if d.dag_id not in replaced), *added))


def dag_roots(paths: Sequence[str]) -> list[str]:
    """Where ``fileloc`` tails are looked for: the workspace's DAG folders, then the folders given."""
    from analysis.project import Layout
    from server.settings import load_settings

    settings, _ = load_settings(".")
    roots = Layout(os.path.abspath("."), settings.dag_folders).dag_roots()
    given = [os.path.abspath(p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p))) for p in paths]
    return list(dict.fromkeys([*roots, *(os.path.normpath(g) for g in given)]))


def airflow_settings() -> AirflowSettings | None:
    """The Airflow to peer with, when one is configured (settings, pyproject, environment)."""
    from server.settings import load_settings

    settings, _ = load_settings(".")
    return settings.airflow if settings.airflow.url else None


def linking_watcher(project: Project) -> DeploymentWatcher:
    """For ``status``: a poller companion that links the deployed DAGs into ``project`` (one
    round; no comparison checks, which only serve the editor's findings)."""
    from analysis.project import link
    from server.peering.deployed import DeploymentWatcher, classifier

    def relink(deployment) -> None:
        project.deployed = deployment.dags()
        link(project)

    return DeploymentWatcher(lambda: classifier(project.files, project.layout.dag_roots()), relink, checks=0)
