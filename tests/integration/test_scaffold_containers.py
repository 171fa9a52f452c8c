"""Container scaffolds load and run in real Dagster with dagster-docker and dagster-k8s (``make
dagster``), and pass the Pipes clients exactly the image, command, environment and resources of
the Airflow tasks of tests/fixtures/scaffold/containers_dag.py.

No Docker daemon or Kubernetes cluster here: tests/support/record_pipes.py replaces the clients'
``run`` by a recorder that checks each call against the real ``run``'s signature and, for
Kubernetes, builds the pod with dagster-k8s's own ``build_pod_body``, as the cluster would get
it; the generated module is not altered. Each asset is materialized in its own run.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.fake_google import ACCOUNT, FakeGoogle
from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import materialize

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
TASKS = {"render_report": "report", "train_model": "model,model/metrics", "entrypoint_only": "cleanup",
         "transform_csv": "reviews_csv", "permits_csv": "permits_csv", "create_cluster": "gke/pdp_imdb_reviews",
         "reviews_gke": "imdb/reviews", "delete_cluster": "gke/pdp_imdb_reviews_deleted"}
CLUSTER_TASKS = ("create_cluster", "delete_cluster")
"""The tasks that create and delete the GKE cluster `reviews_gke` runs in (no Pipes run)."""
VARIABLES = {"AIRFLOW_VAR_IMDB": json.dumps({"container_registry": {"transform": "gcr.io/acme/transform:7"}}),
             "AIRFLOW_VAR_COMPOSER_BUCKET": "composer-eu", "AIRFLOW_VAR_POD_NAMESPACE": "etl",
             "AIRFLOW_VAR_GCP_PROJECT": "acme-data", "AIRFLOW_VAR_VPC_NETWORK": "etl-vpc"}
"""The Airflow Variables the tasks read in Jinja, as Airflow reads them from the environment."""
CA = "-----BEGIN CERTIFICATE-----\nMIIC+zCCAeOgAwIBAgIJAKfakeGKEca\n-----END CERTIFICATE-----\n"
CLUSTER = "projects/acme-data/locations/us-central1-c/clusters/pdp-imdb-reviews"
MADE = {"endpoint": "34.68.12.7", "status": "RUNNING", "privateClusterConfig": {"privateEndpoint": "10.128.0.2"},
        "masterAuth": {"clusterCaCertificate": base64.b64encode(CA.encode()).decode()}}
"""What the GKE API answers for a cluster it created (tests/support/fake_google.py)."""


@pytest.fixture(scope="module")
def gke(tmp_path_factory):
    fake = FakeGoogle({}, tmp_path_factory.mktemp("gke"), made=MADE).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def calls(tmp_path_factory, gke) -> dict[str, dict]:
    """The recorded client calls by task, each checked to come from a successful run."""
    root = tmp_path_factory.mktemp("containers")
    (root / "definitions.py").write_text(scaffold_every_task(
        FIXTURES / "containers_dag.py", "containers", TASKS, (FIXTURES / "containers_module.py").read_text()))
    output = materialize(root / "definitions.py", {"containers": list(TASKS)}, TASKS.values(), cwd=root,
                         record_pipes=True, env={"AIRFLOW_CONN_GHCR_LOGIN": json.dumps(
                             {"conn_type": "docker", "host": "ghcr.io", "login": "bot", "password": "s3cret"}),
                             "GOOGLE_APPLICATION_CREDENTIALS": str(gke.service_account_file()),
                             "AIRLIFT_FAKE_GOOGLE_APIS": gke.url, **VARIABLES})
    for run in output["runs"]:
        assert run["success"], "\n".join(run["errors"])
        assert run["materialized"] == sorted(run["asset"].split(","))
    recorded = output["pipes_calls"]
    pipes = [t for t in TASKS if t not in CLUSTER_TASKS]
    assert [call["assets"] for call in recorded] == [sorted(TASKS[t].split(",")) for t in pipes]
    return {**dict(zip(pipes, recorded)), "runs": {run["asset"]: run for run in output["runs"]}}


def test_the_docker_task_runs_the_same_image_command_and_environment(calls):
    call = calls["render_report"]
    assert call["client"] == "PipesDockerClient"
    assert call["arguments"] == {
        "image": "ghcr.io/acme/reports:1.4",
        "command": ["python", "-m", "reports.render", "--region", "eu-west-1"],
        "env": {"REGION": "eu-west-1", "LOG_LEVEL": "info"},
        # cpus=0.5 as DockerOperator gives it to Docker: cpu_shares = 0.5 * 1024
        "container_kwargs": {"working_dir": "/app", "mem_limit": "512m", "cpu_shares": 512},
        # docker_conn_id: the login of the Airflow connection, as Airflow reads it from the environment
        "registry": {"url": "ghcr.io", "username": "bot", "password": "s3cret"},
    }


def test_the_pod_has_the_same_image_command_args_env_namespace_and_resources(calls):
    call = calls["train_model"]
    assert call["client"] == "PipesK8sClient"
    assert call["arguments"]["namespace"] == "ml"
    container = call["pod"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/acme/trainer:2.0"
    assert container["command"] == ["python", "train.py"]
    assert container["args"] == ["--epochs", "3"]
    assert container["resources"] == {"requests": {"cpu": "500m", "memory": "1Gi"},
                                      "limits": {"memory": "2Gi"}}
    # the task's variables (the client adds Pipes' own bootstrap ones when it really runs)
    assert container["env"] == [{"name": "MODEL", "value": "churn"},
                                {"name": "REGION", "value": "eu-west-1"}]
    assert call["pod"]["metadata"]["labels"]["team"] == "ml"


def test_a_pod_without_cmds_keeps_the_image_entrypoint(calls):
    container = calls["entrypoint_only"]["pod"]["spec"]["containers"][0]
    assert "command" not in container
    assert container["args"] == ["--dry-run"]
    assert container["env"] == [{"name": "MODE", "value": "fast"}]


def test_a_pod_reading_airflow_variables_gets_their_values(calls):
    """Image, namespace and environment rendered from AIRFLOW_VAR_<KEY>, as Airflow renders them."""
    call = calls["transform_csv"]
    assert call["arguments"]["namespace"] == "etl"
    container = call["pod"]["spec"]["containers"][0]
    assert container["image"] == "gcr.io/acme/transform:7"
    assert container["imagePullPolicy"] == "Always"
    assert container["env"] == [{"name": "SOURCE_BUCKET", "value": "composer-eu"},
                                {"name": "TARGET", "value": "data/composer-eu/out.csv"}]


def provider_pod(task_id: str, tmp_path: Path, dag: Path = FIXTURES / "containers_dag.py") -> dict:
    """The pod and kube config of a task as the cncf.kubernetes provider 3.1.2 makes them (Airflow
    2.2.5, ``make airflow-cncf3``; tests/support/provider_pod.py)."""
    python = os.environ.get("AIRFLOW_CNCF3_PYTHON") or str(REPO / ".cache" / "airflow-cncf3" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"the provider's venv is missing at {python}: run `make airflow-cncf3` (make test does it)")
    result = subprocess.run([python, "-W", "ignore", str(REPO / "tests" / "support" / "provider_pod.py"),
                             str(dag), task_id], capture_output=True, text=True,
                            timeout=300, env={**os.environ, "AIRFLOW_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_a_composer_pod_keeps_its_cluster_resources_and_affinity(calls, tmp_path):
    """cncf.kubernetes before 4.0, as Cloud Composer 1 DAGs use it: the pod Dagster creates has the
    resources and affinity of the pod the provider itself builds from the same call (`resources`
    are the pod's there, unset ones dropped), in the cluster of the same kube config file."""
    airflow = provider_pod("permits_csv", tmp_path)
    call = calls["permits_csv"]
    assert call["cluster"]["kubeconfig_file"] == airflow["config_file"]
    dagster_container, airflow_container = call["pod"]["spec"]["containers"][0], airflow["pod"]["spec"]["containers"][0]
    for field in ("image", "resources", "env"):
        assert dagster_container[field] == airflow_container[field], field
    assert call["pod"]["spec"]["affinity"] == airflow["pod"]["spec"]["affinity"]
    assert call["arguments"]["namespace"] == airflow["pod"]["metadata"]["namespace"]
    assert call["cluster"] == {"load_incluster_config": None, "kubeconfig_file": "/home/airflow/composer_kube_config",
                               "kube_context": None}
    assert calls["train_model"]["cluster"]["kubeconfig_file"] is None  # the module's default client
    spec = call["pod"]["spec"]
    assert spec["containers"][0]["resources"] == {"requests": {"memory": "4G", "cpu": "1"}, "limits": {"memory": "8G"}}
    assert spec["affinity"] == {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [
            {"key": "cloud.google.com/gke-nodepool", "operator": "In", "values": ["pool-e2-standard-4"]}]}]}}}


def test_a_gke_pod_runs_in_its_cluster_reached_as_the_provider_reaches_it(calls, gke):
    """GKEStartPodOperator as gcp-public-datasets writes it: the cluster's endpoint and CA read
    from the GKE API when the asset runs, with Application Default Credentials (a service account
    key here), which also sign the requests to the cluster, as the Google provider's
    GKEClusterConnection does with the connection's credentials."""
    call = calls["reviews_gke"]
    cluster = call["cluster"]
    assert cluster["load_incluster_config"] is None and cluster["kube_context"] is None
    assert not Path(cluster["kubeconfig_file"]).exists()  # written for the run, deleted after
    loaded = cluster["loaded"]  # as the Kubernetes client's own loader read it during the run
    assert loaded["host"] == "https://34.68.12.7"
    assert loaded["ca"] == CA
    assert [v.removeprefix("Bearer ") in gke.tokens for v in loaded["api_key"].values()] == [True]
    # the project rendered from AIRFLOW_VAR_GCP_PROJECT; every token minted for the account's JWT
    assert f"/v1/{CLUSTER}" in [r["path"] for r in gke.requests if r["method"] == "GET"]
    grants = [r["claims"] for r in gke.requests if r["path"] == "/token"]
    assert grants and all(c["iss"] == ACCOUNT and "cloud-platform" in c["scope"] for c in grants)
    assert call["arguments"]["namespace"] == "default"
    container = call["pod"]["spec"]["containers"][0]
    assert container["image"] == "gcr.io/acme/transform:7"
    assert container["imagePullPolicy"] == "Always"
    assert container["env"] == [{"name": "SOURCE_GCS_BUCKET", "value": "composer-eu"},
                                {"name": "PIPELINE_NAME", "value": "reviews"}]
    # container_resources not shaped as Kubernetes' (`{"memory": {"request": ...}}`): the API
    # dropped it from the pod Airflow created, so this pod has none either
    assert "resources" not in container


def test_the_dag_creates_and_deletes_the_cluster_as_the_provider_does(calls, gke):
    """GKECreateClusterOperator's body sent as the API's Cluster (what the provider's
    `Cluster.from_json` makes of it: the API's names), the operation waited for; the pod ran in
    that cluster; GKEDeleteClusterOperator deleted it."""
    assert gke.created == [{"cluster": {
        "name": "pdp-imdb-reviews", "initialNodeCount": 1, "network": "etl-vpc",
        "nodeConfig": {"machineType": "e2-standard-16", "oauthScopes": ["https://www.googleapis.com/auth/cloud-platform"]}}}]
    paths = [(r["method"], urlsplit(r["path"]).path) for r in gke.requests if r["path"] != "/token"]
    created = paths.index(("POST", "/v1/projects/acme-data/locations/us-central1-c/clusters"))
    assert paths[created + 1][0] == "GET" and "/operations/operation-" in paths[created + 1][1]  # waited for
    assert paths.index(("GET", f"/v1/{CLUSTER}")) < paths.index(("DELETE", f"/v1/{CLUSTER}"))
    assert gke.clusters == {}  # deleted after the pod ran
    runs = calls["runs"]
    assert runs["gke/pdp_imdb_reviews"]["metadata"]["gke/pdp_imdb_reviews"]["cluster"] == \
        f"https://container.googleapis.com/v1/{CLUSTER}"
    assert runs["gke/pdp_imdb_reviews_deleted"]["metadata"]["gke/pdp_imdb_reviews_deleted"]["deleted"] is True


def test_a_cluster_already_there_counts_as_created_and_one_gone_as_deleted(tmp_path):
    """As the provider takes them (AlreadyExists, NotFound): the run succeeds."""
    fake = FakeGoogle({CLUSTER: {"name": "pdp-imdb-reviews", "selfLink": f"https://container.googleapis.com/v1/{CLUSTER}"}},
                      tmp_path, made=MADE).start()
    try:
        (tmp_path / "definitions.py").write_text(scaffold_every_task(
            FIXTURES / "containers_dag.py", "containers", CLUSTER_TASKS, (FIXTURES / "containers_module.py").read_text()))
        keys = [TASKS["create_cluster"], TASKS["delete_cluster"], TASKS["delete_cluster"]]
        output = materialize(tmp_path / "definitions.py", {"containers": list(TASKS)}, keys, cwd=tmp_path,
                             record_pipes=True, env={"GOOGLE_APPLICATION_CREDENTIALS": str(fake.service_account_file()),
                                                     "AIRLIFT_FAKE_GOOGLE_APIS": fake.url, **VARIABLES})
    finally:
        fake.stop()
    assert [run["success"] for run in output["runs"]] == [True, True, True], output["runs"]
    assert fake.created == []  # the existing cluster was not created again
    deleted = [run["metadata"][TASKS["delete_cluster"]]["deleted"] for run in output["runs"][1:]]
    assert deleted == [True, False]  # the second found it gone


CONNECTED = "gke-admin@acme-data.iam.gserviceaccount.com"
"""The account of Airflow connection `gke_admin` (another than where Dagster runs)."""


def test_a_dag_on_another_google_connection_reaches_gke_as_that_connections_account(tmp_path):
    """The same cluster, pod and deletion with `gcp_conn_id="gke_admin"`, as mozilla-telemetry's
    pods name `google_cloud_airflow_gke`: the connection given as Airflow reads it from the
    environment (a keyfile_dict, its newlines escaped as connections hold them), while Application
    Default Credentials are another account's. Every call to the GKE API and to the cluster is made
    as the connection's account, none as the other."""
    fake = FakeGoogle({}, tmp_path, made=MADE).start()
    try:
        dag = tmp_path / "containers_dag.py"
        dag.write_text((FIXTURES / "containers_dag.py").read_text().replace(
            '        location="us-central1-c",\n', '        location="us-central1-c",\n        gcp_conn_id="gke_admin",\n'))
        (tmp_path / "definitions.py").write_text(scaffold_every_task(
            dag, "containers", (*CLUSTER_TASKS[:1], "reviews_gke", CLUSTER_TASKS[1]),
            (FIXTURES / "containers_module.py").read_text()))
        key = json.loads(fake.service_account_file(CONNECTED).read_text())
        key["private_key"] = key["private_key"].replace("\n", "\\n")
        keys = [TASKS[t] for t in ("create_cluster", "reviews_gke", "delete_cluster")]
        output = materialize(tmp_path / "definitions.py", {"containers": list(TASKS)}, keys, cwd=tmp_path,
                             record_pipes=True, env={
                                 "GOOGLE_APPLICATION_CREDENTIALS": str(fake.service_account_file()),
                                 "AIRFLOW_CONN_GKE_ADMIN": json.dumps({"conn_type": "google_cloud_platform",
                                                                       "extra": {"keyfile_dict": json.dumps(key)}}),
                                 "AIRLIFT_FAKE_GOOGLE_APIS": fake.url, **VARIABLES})
    finally:
        fake.stop()
    assert [run["success"] for run in output["runs"]] == [True, True, True], output["runs"]
    assert (tmp_path / "definitions.py").read_text().count('with _airflow_google_connection("gke_admin"):') == 3
    calls = [urlsplit(call).path for call, _ in fake.used_by]
    assert "POST /v1/projects/acme-data/locations/us-central1-c/clusters" in calls
    assert f"GET /v1/{CLUSTER}" in calls and f"DELETE /v1/{CLUSTER}" in calls
    assert {account for _, account in fake.used_by} == {CONNECTED}
    loaded = output["pipes_calls"][0]["cluster"]["loaded"]  # the Kubernetes client's token, for the pod
    assert [fake.holders.get(v.removeprefix("Bearer ")) for v in loaded["api_key"].values()] == [CONNECTED]
    assert fake.clusters == {}
