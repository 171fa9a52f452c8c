"""Scaffolding container tasks (DockerOperator, KubernetesPodOperator) as Dagster Pipes Docker
and Kubernetes assets: the module every task of tests/fixtures/scaffold/containers_dag.py gives,
idempotency, the read-only parser as the oracle of what the module maps, the registry, and each
refusal with its reason."""

from __future__ import annotations

import ast

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import scaffold_family
from tests.support.scaffold_fixture import FamilyFixture, mapped

FAMILY = FamilyFixture("containers", ("render_report", "train_model", "entrypoint_only", "transform_csv",
                                       "permits_csv", "create_cluster", "reviews_gke", "delete_cluster"))
DAG, MODULE, TASKS = FAMILY.dag, FAMILY.module, FAMILY.tasks
scaffold, scaffold_all = FAMILY.scaffold, FAMILY.scaffold_all


def test_every_container_task_in_turn_gives_the_fixture():
    text = scaffold_all()
    assert text == FAMILY.all_scaffolded
    assert mapped(text) == mapped(MODULE.read_text())
    assert "from dagster_docker import PipesDockerClient\nfrom dagster_k8s import PipesK8sClient\n" in text
    assert text.count("PIPES_K8S_CLIENT = ") == 1  # one client object for both pods


def test_scaffolding_again_changes_nothing():
    FAMILY.assert_scaffolding_again_changes_nothing()


def test_the_container_operators_are_registered_as_scaffolded():
    facts = extract_file(str(DAG), DAG.read_text()).dag("containers")
    assert {scaffold_family(t.operator) for t in facts.tasks} == {"pipes-docker", "pipes-k8s", "gke-cluster"}


HEAD = '''\
import os

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.docker.operators.docker import DockerOperator
from airflow.providers.google.cloud.operators.kubernetes_engine import (
    GKECreateClusterOperator,
    GKEDeleteClusterOperator,
    GKEStartPodOperator,
)
from docker.types import Mount
from kubernetes.client import models as k8s

TAG = "1"
TAG = "2"

with DAG("d", start_date=pendulum.datetime(2024, 1, 1)):
'''

REFUSALS = {
    "DockerOperator(task_id='t', image='app:{{ var.value.tag | lower }}')":
        "the `image` of task `t` uses Jinja ('app:{{ var.value.tag | lower }}'), which only Airflow renders",
    # not one of DockerOperator's template_fields: Airflow passes it as written
    "DockerOperator(task_id='t', image='app', private_environment={'TAG': '{{ var.value.tag }}'})":
        "the `private_environment` of task `t` holds Jinja ('{{ var.value.tag }}'), which Airflow does not render there (not one of "
        "the operator's template fields): scaffold it by hand",
    "KubernetesPodOperator(task_id='t', image='app', image_pull_policy='{{ var.value.policy }}')":
        "the `image_pull_policy` of task `t` holds Jinja ('{{ var.value.policy }}'), which Airflow does not render there (not one of "
        "the operator's template fields): scaffold it by hand",
    "KubernetesPodOperator(task_id='t', image='app', env_vars={'{{ var.value.name }}': 'v'})":
        "the `env_vars` of task `t` uses Jinja ('{{ var.value.name }}'), which only Airflow renders",
    "DockerOperator(task_id='t', image='app', command='run {{ next_ds }}')":
        "the `command` of task `t` uses Jinja ('run {{ next_ds }}'), which only Airflow renders",
    "DockerOperator(task_id='t', image='app', environment={'DAY': '{{ next_ds }}'})":
        "the `environment` of task `t` uses Jinja ('{{ next_ds }}'), which only Airflow renders",
    "DockerOperator(task_id='t', image=os.environ['IMAGE'])":
        "the `image` of task `t` is not a literal or a module-level constant "
        "(`os.environ['IMAGE']`): it cannot be read statically",
    "DockerOperator(task_id='t', image='app:' + TAG)":
        "the `image` of task `t` is not a literal or a module-level constant "
        "(`'app:' + TAG`): it cannot be read statically",
    "DockerOperator(task_id='t', image=TAG)":  # assigned twice: which value is unclear
        "the `image` of task `t` is not a literal or a module-level constant (`TAG`): it cannot "
        "be read statically",
    "DockerOperator(task_id='t', image='app', mounts=[Mount('/data', '/data')])":
        "task `t` uses `mounts`, which the Pipes client does not carry: scaffold it by hand",
    "DockerOperator(task_id='t', image='app', docker_url='tcp://docker:2375')":
        "task `t` runs on the Docker daemon at 'tcp://docker:2375': PipesDockerClient uses the "
        "one DOCKER_HOST names; set it there and scaffold again without `docker_url`",
    "DockerOperator(task_id='t', image='app', command=['bash', '/scripts/entry.sh'])":  # DockerOperator's template_ext
        "the `command` of task `t` names a file ('/scripts/entry.sh') that Airflow reads as a Jinja template",
    "DockerOperator(task_id='t', image='app', cpus='half')":
        "the `cpus` of task `t` is not a number",
    "DockerOperator(task_id='t', command='true')": "task `t` has no `image` written out",
    "DockerOperator(task_id='t', **{'image': 'app'})":
        "task `t` passes arguments by position or `**`: they cannot be read statically",
    "KubernetesPodOperator(task_id='t', image='app', cmds='python run.py')":
        "the `cmds` of task `t` is not a list of strings",
    "KubernetesPodOperator(task_id='t', image='app', volumes=[])":
        "task `t` uses `volumes`, which the Pipes client does not carry: scaffold it by hand",
    "KubernetesPodOperator(task_id='t', image='app', pod_template_file='pod.yaml')":
        "task `t` uses `pod_template_file`, which the Pipes client does not carry: scaffold it by hand",
    "KubernetesPodOperator(task_id='t', image='app', env_vars=[k8s.V1EnvVar(name='A', value_from=x)])":
        "the `env_vars` of task `t` is not a literal or a module-level constant "
        "(`[k8s.V1EnvVar(name='A', value_from=x)]`): it cannot be read statically",
    "KubernetesPodOperator(task_id='t', image='app', arguments=['{{ next_ds }}'])":
        "the `arguments` of task `t` uses Jinja ('{{ next_ds }}'), which only Airflow renders",
    "KubernetesPodOperator(task_id='t', image='app', resources={'request_cpu': '1', 'ram': 2})":
        "the `resources` of task `t` is neither the pod's (the provider's before 4.0: `request_memory`, "
        "`request_cpu`, `request_ephemeral_storage`, `limit_memory`, `limit_cpu`, `limit_gpu`, "
        "`limit_ephemeral_storage`) nor the operator's (`cpus`, `ram`, `disk`, `gpus`): scaffold it by hand",
    "KubernetesPodOperator(task_id='t', image='app', resources={'request_cpu': True})":
        "the `resources` of task `t` is not Kubernetes' resource requirements (`requests` and `limits` of "
        "quantities): Kubernetes would not read it as the pod's resources",
    "KubernetesPodOperator(task_id='t', image='app', resources={'request_cpu': '1'}, "
    "container_resources=k8s.V1ResourceRequirements(limits={'cpu': '2'}))":
        "task `t` gives both `resources` and `container_resources`: scaffold it by hand",
    "KubernetesPodOperator(task_id='t', image='app', container_resources={'requests': '1Gi'})":
        "the `container_resources` of task `t` is not Kubernetes' resource requirements (`requests` and "
        "`limits` of quantities): Kubernetes would not read it as the pod's resources",
    # Python's names: the provider drops them (no constraint), dagster-k8s would apply them
    "KubernetesPodOperator(task_id='t', image='app', affinity={'nodeAffinity': "
    "{'required_during_scheduling_ignored_during_execution': {}}})":
        "the `affinity` of task `t` has `required_during_scheduling_ignored_during_execution`, which is not a "
        "field of Kubernetes' NodeAffinity by the API's names: the provider drops what it does not read as "
        "Kubernetes' affinity, Dagster's client would not",
    "KubernetesPodOperator(task_id='t', image='app', affinity={'nodeAffinity': {'requiredDuringScheduling"
    "IgnoredDuringExecution': {'nodeSelectorTerms': {'matchExpressions': []}}}})":
        "the `affinity` of task `t` has `nodeSelectorTerms` that is not a list: the provider drops what it "
        "does not read as Kubernetes' affinity, Dagster's client would not",
    "KubernetesPodOperator(task_id='t', image='app', in_cluster=True, config_file='/kube/config')":
        "task `t` sets both `in_cluster` and `config_file`: the provider refuses them together (from 4.0) or "
        "reads only the cluster Airflow runs in (before): scaffold it by hand",
    "KubernetesPodOperator(task_id='t', image='app', affinity=k8s.V1Affinity())":
        "the `affinity` of task `t` is not a literal or a module-level constant (`k8s.V1Affinity()`): "
        "it cannot be read statically",
    "KubernetesPodOperator(task_id='t', image='app', config_file=['a'])":
        "the `config_file` of task `t` is not a path",
    "KubernetesPodOperator(task_id='t', image='app', config_file='/kube/{{ var.value.cluster }}')":
        "the `config_file` of task `t` uses Jinja ('/kube/{{ var.value.cluster }}'), which only Airflow renders",
    "KubernetesPodOperator(task_id='t', image='app', cluster_context='prod')":
        "task `t` uses `cluster_context`, which the Pipes client does not carry: scaffold it by hand",
    **{f"GKEStartPodOperator(task_id='t', image='app', {options})": reason for options, reason in {
        "location='us-central1', cluster_name='c'":
            "task `t` has no `project_id`: the provider takes the project of connection `google_cloud_default`, "
            "which the scaffold cannot know: write it in the task",
        "project_id='p', cluster_name='c'": "the `location` of task `t` is not a string",
        "project_id='p', location='l', cluster_name='c', gcp_conn_id=None":
            "the `gcp_conn_id` of task `t` is not the id of a connection: the scaffold names the connection it reaches the "
            "cluster with",
        "project_id='p', location='l', cluster_name='c', impersonation_chain='etl@p.iam.gserviceaccount.com'":
            "task `t` impersonates 'etl@p.iam.gserviceaccount.com': the scaffold reaches the cluster with the "
            "connection's own account: scaffold it by hand",
        "location='us-central1', cluster_name='c', gcp_conn_id='gcp_etl'":
            "task `t` has no `project_id`: the provider takes the project of connection `gcp_etl`, "
            "which the scaffold cannot know: write it in the task",
        "project_id='p', location='l', cluster_name='c', config_file='/kube/config'":
            "task `t` gives a `config_file`, which GKEStartPodOperator refuses: it reaches `cluster_name`'s",
        "project_id='p', location='l', cluster_name='c', in_cluster=True":
            "task `t` sets `in_cluster`: with the Google provider before 10.0, the pod runs in the cluster Airflow "
            "runs in (or the provider refuses it), not in `cluster_name`: scaffold it by hand",
        "project_id='p', location='l', cluster_name='c', use_internal_ip=True, use_dns_endpoint=True":
            "task `t` sets both `use_internal_ip` and `use_dns_endpoint`: scaffold it by hand",
        "project_id='p', location='l', cluster_name='c', use_internal_ip='{{ var.value.internal }}'":
            "the `use_internal_ip` of task `t` is not True or False",
        "project_id='p', location='l', cluster_name='c-{{ next_ds_nodash }}'":
            "the `cluster_name` of task `t` uses Jinja ('c-{{ next_ds_nodash }}'), which only Airflow renders",
        "project_id='p', location='l', cluster_name='c', cluster_context='gke'":
            "task `t` uses `cluster_context`, which the Pipes client does not carry: scaffold it by hand",
    }.items()},
    **{f"GKECreateClusterOperator(task_id='t', {options})": reason for options, reason in {
        "project_id='p', location='l', body={'initial_node_count': 1}":
            "the `body` of task `t` has no `name`: the Google provider 10.x refuses it",
        "project_id='p', location='l', body={'name': 'c'}":
            "the `body` of task `t` gives none of `initial_node_count`, `node_config` and `node_pools`: the "
            "Google provider 10.x refuses it",
        "project_id='p', location='l', body={'name': 'c', 'initial_node_count': 1, 'node_pools': [{'name': 'a'}]}":
            "the `body` of task `t` gives `node_pools` with `initial_node_count` or `node_config`: the Google "
            "provider 10.x refuses it",
        "project_id='p', location='l', body=k8s.V1Pod()":
            "the `body` of task `t` is not a literal or a module-level constant (`k8s.V1Pod()`): it cannot be "
            "read statically",
        "project_id='p', body={'name': 'c', 'initial_node_count': 1}": "the `location` of task `t` is not a string",
        "project_id='p', location='l', body={'name': 'c-{{ next_ds_nodash }}', 'initial_node_count': 1}":
            "the `body` of task `t` uses Jinja ('c-{{ next_ds_nodash }}'), which only Airflow renders",
        "project_id='p', location='l', body={'name': 'c', 'initial_node_count': 1}, name='c'":
            "task `t` uses `name`, which the scaffold does not carry (it reads GKECreateClusterOperator as the "
            "Google provider 10.x to 19.x has it): scaffold it by hand",
    }.items()},
    **{f"GKEDeleteClusterOperator(task_id='t', {options})": reason for options, reason in {
        "project_id='p', location='l'": "the `name` of task `t` is not a string",
        "location='l', name='c'":
            "task `t` has no `project_id`, which the Google provider 10.x asks of it: write it in the task",
        "project_id='p', location='l', name='c', cluster_name='c'":
            "task `t` gives both `name` and `cluster_name` (19.x's): scaffold it by hand",
        "project_id='p', location='l', name='c', gcp_conn_id='{{ var.value.gcp_conn }}'":
            "the `gcp_conn_id` of task `t` reads Airflow Variables ('{{ var.value.gcp_conn }}'): the scaffold names "
            "the connection it creates or deletes the cluster with: write its id in the task",
        "project_id='p', location='l', name='c', impersonation_chain=['a@p.iam.gserviceaccount.com']":
            "task `t` impersonates ['a@p.iam.gserviceaccount.com']: the scaffold creates or deletes the cluster "
            "with the connection's own account: scaffold it by hand",
    }.items()},
}


@pytest.mark.parametrize("code", list(REFUSALS), ids=range(len(REFUSALS)))
def test_what_the_pipes_clients_cannot_carry_is_refused_with_its_reason(code):
    text = HEAD + "    " + code + "\n"
    task = extract_file("d.py", text).dag("d").task("t")
    assert can_scaffold(text, task) == REFUSALS[code]


def test_names_bound_once_above_the_task_and_f_strings_of_them_are_read():
    text = HEAD + '''\
    registry = "ghcr.io/acme"
    image = f"{registry}/app:" + "1"
    DockerOperator(task_id="t", image=image, command=f"run --tag {TAG!r}")
'''.replace('TAG!r', 'registry')
    module = MODULE.read_text().replace('"render_report"', '"t"').replace('"containers"', '"d"')
    result = scaffold_task(text, "d.py", "d", "t", module)
    assert result.changed, result.reason
    assert '        image="ghcr.io/acme/app:1",\n        command="run --tag ghcr.io/acme",\n' in result.text
    # bound twice (TAG), or inside a loop as its variable: not a constant
    looped = HEAD + "    for image in ['a', 'b']:\n        DockerOperator(task_id='t', image=image)\n"
    task = extract_file("d.py", looped).dag("d").task("t")
    assert can_scaffold(looped, task) == ("the `image` of task `t` is not a literal or a "
                                          "module-level constant (`image`): it cannot be read statically")


def test_pods_of_another_kube_config_never_share_its_client():
    """Each kube config file has its own client, named by its folder and name; one of that name
    written for another file is not reused, one only commented or reformatted by hand is."""
    text = HEAD + "    KubernetesPodOperator(task_id='t', image='app', config_file='/opt/airflow/composer_kube_config')\n"
    module = FAMILY.all_scaffolded.replace('"permits_csv": [containers__permits_csv]', '"t": [dg.AssetSpec(key="t")]')
    module = module.replace('dag_id="containers"', 'dag_id="d"')
    assert scaffold_task(text, "d.py", "d", "t", module).reason == (
        "the Dagster module's `PIPES_K8S_CLIENT_AIRFLOW_COMPOSER_KUBE_CONFIG` is not the client of the kube config "
        "'/opt/airflow/composer_kube_config' that the task reads: scaffold it by hand")
    same = text.replace("/opt/airflow/", "/home/airflow/")
    edited = module.replace("PIPES_K8S_CLIENT_AIRFLOW_COMPOSER_KUBE_CONFIG = dg.ResourceDefinition.hardcoded_resource(\n"
                            "    PipesK8sClient(kubeconfig_file=\"/home/airflow/composer_kube_config\"),\n)",
                            "# Composer's cluster\nPIPES_K8S_CLIENT_AIRFLOW_COMPOSER_KUBE_CONFIG = dg.ResourceDefinition"
                            ".hardcoded_resource(PipesK8sClient(kubeconfig_file='/home/airflow/composer_kube_config'))")
    assert edited != module
    for given in (module, edited):
        result = scaffold_task(same, "d.py", "d", "t", given)
        assert result.changed, result.reason
        assert result.text.count("PIPES_K8S_CLIENT_AIRFLOW_COMPOSER_KUBE_CONFIG = ") == 1
        assert "(context: dg.AssetExecutionContext, pipes_k8s_client_airflow_composer_kube_config: PipesK8sClient)" \
            in result.text.split("def d__t")[1]


@pytest.mark.parametrize("path, constant", [
    ("~/.kube/config", "PIPES_K8S_CLIENT_KUBE_CONFIG"),
    ("/kube/prod/config", "PIPES_K8S_CLIENT_PROD_CONFIG"),
    ("kubeconfig.prod.yaml", "PIPES_K8S_CLIENT_KUBECONFIG_PROD_YAML"),
    ('C:\\kube\\"""\\config', "PIPES_K8S_CLIENT_CONFIG"),  # a Windows path with quotes: escaped in the docstring
])
def test_a_kube_config_path_names_its_client_and_shows_in_the_docstring(path, constant):
    text = HEAD + f"    KubernetesPodOperator(task_id='t', image='app', config_file={path!r})\n"
    module = MODULE.read_text().replace('"render_report"', '"t"').replace('"containers"', '"d"')
    result = scaffold_task(text, "d.py", "d", "t", module)
    assert result.changed, result.reason
    assert f"{constant} = " in result.text
    docstring = ast.get_docstring(next(n for n in ast.parse(result.text).body if isinstance(n, ast.FunctionDef)))
    assert path in docstring.replace("\n", " ")


def _scaffolded(text: str) -> str:
    module = MODULE.read_text().replace('"render_report"', '"t"').replace('"containers"', '"d"')
    result = scaffold_task(text, "d.py", "d", "t", module)
    assert result.changed, result.reason
    return result.text.split("def d__t")[1]


def test_the_dags_default_args_give_the_pod_what_airflow_gives_it():
    """Airflow gives an operator what the DAG's `default_args` hold for its arguments: a kube config
    there is the pod's cluster, resources there its resources; the call's own arguments win."""
    text = HEAD.replace('with DAG("d", ', 'with DAG("d", default_args={"owner": "data", "config_file": "/srv/kube/config", '
                        '"resources": {"request_memory": "4G"}}, ') + \
        "    KubernetesPodOperator(task_id='t', image='app', resources={'limit_cpu': '2'})\n"
    body = _scaffolded(text)
    assert "pipes_k8s_client_kube_config: PipesK8sClient" in body
    assert '"resources": {"limits": {"cpu": "2"}}' in body


@pytest.mark.parametrize("resources, expected", [
    # V1ResourceRequirements given to `resources`: the provider before 4.0 took it as the pod's
    ("k8s.V1ResourceRequirements(limits={'memory': '1Gi'})", '"resources": {"limits": {"memory": "1Gi"}}'),
    # the operator's own resources (4.0 on), beside the pod's: only the pod's reach the pod
    ("{'cpus': 1}, container_resources=k8s.V1ResourceRequirements(requests={'cpu': '1'})",
     '"resources": {"requests": {"cpu": "1"}}'),
    ("{'cpus': 1}", None),
])
def test_resources_are_the_pods_as_the_provider_version_they_need_reads_them(resources, expected):
    body = _scaffolded(HEAD + f"    KubernetesPodOperator(task_id='t', image='app', resources={resources})\n")
    assert (expected in body) if expected else '"resources"' not in body


def test_the_provider_before_4_renders_no_annotations():
    """A pod given `resources={"request_...": ...}` runs on the provider before 4.0, whose template
    fields leave annotations and node selectors as written: Variables there are not rendered."""
    code = ("KubernetesPodOperator(task_id='t', image='app', resources={'request_cpu': '1'}, "
            "annotations={'team': '{{ var.value.team }}'})")
    text = HEAD + "    " + code + "\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == (
        "the `annotations` of task `t` holds Jinja ('{{ var.value.team }}'), which Airflow does not render there "
        "(not one of the operator's template fields): scaffold it by hand")
    assert "_airflow_render" in _scaffolded(text.replace("resources={'request_cpu': '1'}, ", ""))


@pytest.mark.parametrize("dag_call, reason", [
    # keys the operator does not take: Airflow ignores them, and so does the scaffold
    ('DAG("d", default_args={"description": "x", "project_id": "p", "environment": {"A": "1"}}, ', None),
    ('DAG("d", default_args={"volumes": []}, ',
     "the `default_args` of the DAG of task `t` give `volumes`, which the Pipes client does not carry: scaffold it by hand"),
    ('DAG("d", **COMMON, ',  # the DAG's options given unpacked: its default_args cannot be read
     "the `default_args` of the DAG of task `t` cannot be read statically, and may give the operator's options: "
     "scaffold it by hand"),
])
def test_only_what_the_operator_takes_from_default_args_counts(dag_call, reason):
    text = HEAD.replace("TAG = \"1\"", "COMMON = {}\nTAG = \"1\"").replace('with DAG("d", ', f"with {dag_call}") + \
        "    KubernetesPodOperator(task_id='t', image='app')\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == reason


def test_a_task_groups_default_args_come_after_the_dags():
    """Airflow merges the DAG's `default_args`, the task groups' around the task, then the task's own."""
    text = HEAD.replace("from kubernetes.client import models as k8s\n", "from kubernetes.client import models as k8s\n"
                        "from airflow.utils.task_group import TaskGroup\n").replace(
        'with DAG("d", ', 'with DAG("d", default_args={"config_file": "/a/dag/config", "namespace": "outer"}, ') + \
        "    with TaskGroup('g', default_args={'config_file': '/b/group/config'}):\n" + \
        "        KubernetesPodOperator(task_id='t', image='app', default_args={'namespace': 'own'})\n"
    task = extract_file("d.py", text).dag("d").task("g.t")
    module = MODULE.read_text().replace('"render_report"', '"g.t"').replace('"containers"', '"d"')
    result = scaffold_task(text, "d.py", "d", "g.t", module)
    assert result.changed, result.reason
    assert can_scaffold(text, task) is None
    assert "pipes_k8s_client_group_config.run(" in result.text and 'namespace="own"' in result.text


def test_a_gke_pod_reaches_the_endpoint_its_task_names_with_its_dags_default_args():
    """GKE options given by the DAG's default_args count, as Airflow gives them; the internal IP
    is asked of the helper, and the public endpoint is its default."""
    text = HEAD.replace('with DAG("d", start_date=pendulum.datetime(2024, 1, 1)):', (
        'with DAG("d", start_date=pendulum.datetime(2024, 1, 1), default_args={"project_id": "acme-data", '
        '"location": "europe-west1", "retries": 1, "description": "not an argument of the operator"}):')) + (
        "    GKEStartPodOperator(task_id='t', image='app', cluster_name='etl', use_internal_ip=True)\n")
    module = MODULE.read_text().replace('"render_report"', '"t"').replace('"containers"', '"d"')
    result = scaffold_task(text, "d.py", "d", "t", module)
    assert result.changed, result.reason
    body = result.text.split("def d__t")[1]
    assert '    with _airflow_gke_kubeconfig("acme-data", "europe-west1", "etl", "internal") as kubeconfig:\n' \
           '        yield from PipesK8sClient(kubeconfig_file=kubeconfig).run(\n' \
           '            context=context,\n            image="app",\n        ).get_results()\n' in body
    assert "reached at its internal IP" in body
    public = scaffold_task(text.replace(", use_internal_ip=True", ""), "d.py", "d", "t", module)
    assert '_airflow_gke_kubeconfig("acme-data", "europe-west1", "etl") as kubeconfig' in public.text


def test_resources_kubernetes_does_not_read_are_left_out_and_said_so():
    """What the Kubernetes API drops of a container_resources dict (not a field of its resource
    requirements) is left out of the pod, as the pod ran without it; the rest is kept."""
    text = HEAD + ("    KubernetesPodOperator(task_id='t', image='app', container_resources="
                   "{'limits': {'memory': '2Gi'}, 'cpu': {'request': '1'}})\n")
    module = MODULE.read_text().replace('"render_report"', '"t"').replace('"containers"', '"d"')
    result = scaffold_task(text, "d.py", "d", "t", module)
    assert result.changed, result.reason
    body = result.text.split("def d__t")[1]
    assert 'base_pod_spec={"containers": [{"resources": {"limits": {"memory": "2Gi"}}}]}' in body
    assert "Its `container_resources` {'cpu': {'request': '1'}} are not fields of Kubernetes'" in " ".join(
        line.strip() for line in body.splitlines())


def test_a_cluster_is_created_and_deleted_with_its_dags_default_args():
    """Of the DAG's default_args, each operator takes its own (a create's `body` is not given to a
    delete); 19.x's `cluster_name` names the cluster to delete; the endpoint options change nothing."""
    text = HEAD.replace('with DAG("d", start_date=pendulum.datetime(2024, 1, 1)):', (
        'with DAG("d", start_date=pendulum.datetime(2024, 1, 1), default_args={"project_id": "acme-data", '
        '"location": "europe-west1", "deferrable": True, "body": {"name": "only-the-create-takes-it", "initial_node_count": 1}}):')) + (
        "    GKECreateClusterOperator(task_id='t', body={'name': 'etl', 'node_pools': [{'name': 'p', "
        "'initial_node_count': 2}]}, use_internal_ip=True)\n"
        "    GKEDeleteClusterOperator(task_id='u', cluster_name='etl')\n")  # 19.x's name
    module = MODULE.read_text().replace('"render_report"', '"t"').replace('"train_model"', '"u"')
    module = module.replace('"containers"', '"d"')
    created = scaffold_task(text, "d.py", "d", "t", module)
    assert created.changed, created.reason
    assert ('    cluster = _airflow_gke_create_cluster(\n        "acme-data",\n        "europe-west1",\n'
            '        {"name": "etl", "node_pools": [{"name": "p", "initial_node_count": 2}]},\n    )\n') in created.text
    deleted = scaffold_task(text, "d.py", "d", "u", created.text)
    assert deleted.changed, deleted.reason
    assert '    deleted = _airflow_gke_delete_cluster("acme-data", "europe-west1", "etl")\n' in deleted.text
    assert deleted.text.count("def _airflow_gke_wait(") == 1


def test_a_task_on_another_google_connection_reaches_google_with_its_credentials():
    """`gcp_conn_id` other than google_cloud_default: the pod, and a cluster's creation and deletion,
    run inside `_airflow_google_connection` (written once), which gives that connection's
    credentials to what reads Application Default Credentials; the docstring names it."""
    text = HEAD + (
        "    GKECreateClusterOperator(task_id='t', project_id='p', location='l', gcp_conn_id='gke_admin', "
        "body={'name': 'etl', 'initial_node_count': 1})\n"
        "    GKEStartPodOperator(task_id='u', image='app', project_id='p', location='l', cluster_name='etl', "
        "gcp_conn_id='gke_admin')\n"
        "    GKEDeleteClusterOperator(task_id='v', project_id='p', location='l', name='etl', gcp_conn_id='gke_admin')\n")
    module = MODULE.read_text().replace('"render_report"', '"t"').replace('"train_model"', '"u"')
    module = module.replace('"entrypoint_only"', '"v"').replace('"containers"', '"d"')
    for task in "tuv":
        result = scaffold_task(text, "d.py", "d", task, module)
        assert result.changed, result.reason
        module = result.text
    assert module.count("def _airflow_google_connection(conn_id: str):") == 1
    assert ('    with _airflow_google_connection("gke_admin"):\n'
            '        cluster = _airflow_gke_create_cluster("p", "l", {"name": "etl", "initial_node_count": 1})\n'
            '    for key in context.selected_asset_keys:\n') in module
    assert ('    with _airflow_google_connection("gke_admin"):\n'
            '        with _airflow_gke_kubeconfig("p", "l", "etl") as kubeconfig:\n'
            '            yield from PipesK8sClient(kubeconfig_file=kubeconfig).run(\n'
            '                context=context,\n                image="app",\n            ).get_results()\n') in module
    assert ('    with _airflow_google_connection("gke_admin"):\n'
            '        deleted = _airflow_gke_delete_cluster("p", "l", "etl")\n') in module
    docstrings = " ".join(" ".join(line.strip() for line in ast.get_docstring(n).splitlines())
                          for n in ast.parse(module).body if isinstance(n, ast.FunctionDef) and n.name.startswith("d__"))
    assert docstrings.count("the credentials of Airflow connection `gke_admin` (AIRFLOW_CONN_GKE_ADMIN where "
                            "Dagster runs, read as Airflow reads it") == 3
    assert scaffold_task(text, "d.py", "d", "u", module).changed is False  # the second time: nothing to do
