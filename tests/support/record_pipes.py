"""Record the container runs of Dagster Pipes clients instead of starting them (no Docker daemon
or Kubernetes cluster here): ``record()`` replaces ``run`` of ``dagster_docker.PipesDockerClient``
and ``dagster_k8s.PipesK8sClient`` by one that checks its arguments against the real ``run``'s
signature, records them, and for Kubernetes builds the pod body with dagster-k8s's own
``build_pod_body`` (what the cluster would be sent), then completes with nothing reported, as a
container that does not speak Pipes and exits with 0. Each call is recorded as
``{"client": cls, "assets": [keys], "arguments": {...}, "cluster": {...}, "pod": {...}}``
(``cluster``: how the Kubernetes client is configured to reach its cluster; with a kube config
file that exists when it runs, also ``loaded``: what the Kubernetes client's own loader reads
from it, its ``host``, the ``ca`` certificate and ``api_key``, authenticating as the file says).

With ``AIRLIFT_FAKE_GOOGLE_APIS`` set, requests to the GKE API
(``https://container.googleapis.com``) and BigQuery's (``https://bigquery.googleapis.com``) go to
that URL instead, where tests/support/fake_google.py answers them: the generated module is not
altered.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import requests

GOOGLE_APIS = ("https://container.googleapis.com", "https://bigquery.googleapis.com")
_SEND = requests.Session.request
"""requests as it is before dagster_load.py keeps the module from the network while it loads."""


class _Completed:
    def get_results(self) -> tuple:
        return ()


def record() -> list[dict]:
    from dagster_docker import PipesDockerClient
    from dagster_k8s import PipesK8sClient
    from dagster_k8s.pipes import build_pod_body
    from kubernetes.client import ApiClient

    calls: list[dict] = []

    def recorder(cls):
        signature = inspect.signature(cls.run)

        def run(self, **kwargs):
            signature.bind(self, **kwargs)  # a TypeError for an argument the client lacks
            context = kwargs.pop("context")
            call = {"client": cls.__name__, "arguments": kwargs,
                    "assets": sorted(k.to_user_string() for k in context.selected_asset_keys)}
            if cls is PipesK8sClient:  # the cluster it would reach, and the pod it would create there
                call["cluster"] = {"load_incluster_config": self.load_incluster_config,
                                   "kubeconfig_file": self.kubeconfig_file, "kube_context": self.kube_context}
                if self.kubeconfig_file and os.path.exists(self.kubeconfig_file):
                    call["cluster"]["loaded"] = _loaded(self.kubeconfig_file, self.kube_context)
                pod = build_pod_body(pod_name="recorded", image=kwargs.get("image"),
                                     command=kwargs.get("command"), env_vars=kwargs.get("env") or {},
                                     base_pod_meta=kwargs.get("base_pod_meta"),
                                     base_pod_spec=kwargs.get("base_pod_spec"))
                call["pod"] = ApiClient().sanitize_for_serialization(pod)  # as sent to the cluster
            calls.append(call)
            return _Completed()

        cls.run = run

    recorder(PipesDockerClient)
    recorder(PipesK8sClient)
    if os.environ.get("AIRLIFT_FAKE_GOOGLE_APIS"):
        _route_google(os.environ["AIRLIFT_FAKE_GOOGLE_APIS"])
    return calls


def _loaded(kubeconfig: str, context: str | None) -> dict:
    """What the Kubernetes client's loader makes of a kube config file (its auth provider run)."""
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration,
                            persist_config=False)
    return {"host": configuration.host, "api_key": dict(configuration.api_key),
            "ca": Path(configuration.ssl_ca_cert).read_text() if configuration.ssl_ca_cert else None}


def _route_google(url: str) -> None:
    """The GKE and BigQuery APIs' requests sent to the fake at ``url``, which also issues the
    tokens: only those reach the network, the rest as dagster_load.py has it."""
    send = requests.Session.request

    def request(self, method, address, *args, **kwargs):
        api = next((a for a in GOOGLE_APIS if isinstance(address, str) and address.startswith(a + "/")), None)
        if api is not None:
            address = url + address[len(api):]
        if isinstance(address, str) and address.startswith(url + "/"):
            return _SEND(self, method, address, *args, **kwargs)
        return send(self, method, address, *args, **kwargs)

    requests.Session.request = request
