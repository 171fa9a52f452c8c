"""Record the container runs of Dagster Pipes clients instead of starting them (no Docker daemon
or Kubernetes cluster here): ``record()`` replaces ``run`` of ``dagster_docker.PipesDockerClient``
and ``dagster_k8s.PipesK8sClient`` by one that checks its arguments against the real ``run``'s
signature, records them, and for Kubernetes builds the pod body with dagster-k8s's own
``build_pod_body`` (what the cluster would be sent), then completes with nothing reported, as a
container that does not speak Pipes and exits with 0. Each call is recorded as
``{"client": cls, "assets": [keys], "arguments": {...}, "cluster": {...}, "pod": {...}}``
(``cluster``: how the Kubernetes client is configured to reach its cluster).
"""

from __future__ import annotations

import inspect


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
    return calls
