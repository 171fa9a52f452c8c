"""DAGs known from the peered Airflow, in the editor: the poller's companion reads them in the
background (``server.peering.deployed``) and the index worker re-links the project with them,
so hover, lenses, symbols, code actions, commands and reports show them as ordinary DAGs
(``dag.source == "airflow"``). No handler waits on the network."""

from __future__ import annotations

import logging

from analysis.deployed import DeployedDag
from server.app import AirliftServer, log_failure
from server.peering.deployed import Classifier, Deployment, DeploymentWatcher, Need, classifier

log = logging.getLogger("airlift-lsp")


def _nothing(listing) -> tuple[Need, frozenset[str]]:
    return Need.NONE, frozenset()


def watcher_for(server: AirliftServer) -> DeploymentWatcher:
    """A watcher whose needs follow the index's latest snapshot, and whose changes reach the
    index on its worker thread (which publishes a new snapshot)."""

    def classify() -> Classifier:  # poller thread: reads an immutable snapshot
        snapshot = server.index.snapshot if server.index else None
        if snapshot is None:
            return _nothing  # not indexed yet: the next poll knows what is needed
        project = snapshot.project
        return classifier(project.files, project.layout.dag_roots())

    def on_change(deployment: Deployment) -> None:  # poller thread
        index = server.index
        if index is None:
            return
        dags = deployment.dags()
        log.info("Airflow deploys %d DAGs; %d known by their tasks", len(deployment.listings), len(dags))
        try:
            server.worker.submit(_apply, server, dags)
        except RuntimeError:  # the worker shut down: the server is exiting
            pass

    interval = max(server.settings.airflow.poll_interval, 60.0)
    return DeploymentWatcher(classify, on_change, interval=interval)


def _apply(server: AirliftServer, dags: tuple[DeployedDag, ...]) -> None:  # index worker thread
    try:
        if server.index is not None:
            server.index.set_deployed(dags)
    except Exception as error:  # noqa: BLE001 - the next change starts afresh
        log_failure("linking the deployed DAGs", error)
