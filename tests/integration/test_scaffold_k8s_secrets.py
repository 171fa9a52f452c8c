"""Pods given Kubernetes secrets (the provider's ``Secret``): the scaffolds of
tests/fixtures/scaffold/k8s_secrets_dag.py, run in real Dagster with dagster-k8s through
tests/support/record_pipes.py (the pod built by dagster-k8s's own ``build_pod_body``, as the
cluster would get it), give the pod the same secret references as the pod the cncf.kubernetes
provider builds from the same calls (``make airflow-cncf3``; tests/support/provider_pod.py): the
container's ``env`` (a secret's key, after the task's own variables), ``envFrom`` and secret
volumes mounted read-only, one from the DAG's ``default_args``. Volume names differ on purpose:
the provider draws a random ``secretvol<uuid4>`` each time."""

from __future__ import annotations

import pytest

from tests.integration.test_scaffold_containers import FIXTURES, provider_pod
from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import materialize

TASKS = {"restore_db": "restored_db", "upload_dump": "uploaded_dump"}


@pytest.fixture(scope="module")
def pods(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("k8s_secrets")
    (root / "definitions.py").write_text(scaffold_every_task(
        FIXTURES / "k8s_secrets_dag.py", "k8s_secrets", TASKS, (FIXTURES / "k8s_secrets_module.py").read_text()))
    output = materialize(root / "definitions.py", {"k8s_secrets": list(TASKS)}, TASKS.values(), cwd=root,
                         record_pipes=True)
    for run in output["runs"]:
        assert run["success"], "\n".join(run["errors"])
    return {task: call["pod"] for task, call in zip(TASKS, output["pipes_calls"])}


def _volumes_named_by_order(pod: dict) -> dict:
    """The pod's secret volumes and mounts, their names replaced by their order."""
    names = {v["name"]: f"volume-{i}" for i, v in enumerate(pod["spec"].get("volumes") or [])}
    container = pod["spec"]["containers"][0]
    return {"volumes": [{**v, "name": names[v["name"]]} for v in pod["spec"].get("volumes") or []],
            "mounts": [{**m, "name": names[m["name"]]} for m in container.get("volumeMounts") or []]}


@pytest.mark.parametrize("task", TASKS)
def test_the_pod_gets_the_secrets_the_provider_gives_it(task, pods, tmp_path):
    airflow = provider_pod(task, tmp_path, FIXTURES / "k8s_secrets_dag.py")["pod"]
    dagster = pods[task]
    ours, theirs = dagster["spec"]["containers"][0], airflow["spec"]["containers"][0]
    for field in ("env", "envFrom"):  # the provider sends empty lists, Dagster's client none
        assert (ours.get(field) or []) == (theirs.get(field) or []), field
    assert _volumes_named_by_order(dagster) == _volumes_named_by_order(airflow)


def test_the_references_are_those_of_the_calls(pods):
    container = pods["restore_db"]["spec"]["containers"][0]
    assert container["env"] == [
        {"name": "STAGE", "value": "prod"},
        {"name": "DB_HOST", "valueFrom": {"secretKeyRef": {"key": "DB_HOST", "name": "reporting-db"}}},
        {"name": "DB_NAME", "valueFrom": {"secretKeyRef": {"key": "DB_NAME", "name": "reporting-db"}}}]
    assert container["envFrom"] == [{"secretRef": {"name": "reporting-api"}}]
    assert [m["mountPath"] for m in container["volumeMounts"]] == ["/etc/pgpass"]
    # the task's own secrets replace those of default_args, as Airflow gives them
    upload = pods["upload_dump"]["spec"]
    assert [v["secret"]["secretName"] for v in upload["volumes"]] == ["gcs-writer"]
    assert upload["containers"][0]["volumeMounts"][0] == {"mountPath": "/var/secrets/google", "name": "secretvol0",
                                                          "readOnly": True}
