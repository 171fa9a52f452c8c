"""Scaffolding container tasks (DockerOperator, KubernetesPodOperator) as Dagster Pipes Docker
and Kubernetes assets: the module every task of tests/fixtures/scaffold/containers_dag.py gives,
idempotency, the read-only parser as the oracle of what the module maps, the registry, and each
refusal with its reason."""

from __future__ import annotations

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import scaffold_family
from tests.support.scaffold_fixture import FamilyFixture, mapped

FAMILY = FamilyFixture("containers", ("render_report", "train_model", "entrypoint_only", "transform_csv",
                                       "permits_csv"))
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
    assert {scaffold_family(t.operator) for t in facts.tasks} == {"pipes-docker", "pipes-k8s"}


HEAD = '''\
import os

import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
from airflow.providers.docker.operators.docker import DockerOperator
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
        "the `private_environment` of task `t` uses Jinja ('{{ var.value.tag }}'), which only Airflow renders",
    "KubernetesPodOperator(task_id='t', image='app', image_pull_policy='{{ var.value.policy }}')":
        "the `image_pull_policy` of task `t` uses Jinja ('{{ var.value.policy }}'), which only Airflow renders",
    "KubernetesPodOperator(task_id='t', image='app', env_vars={'{{ var.value.name }}': 'v'})":
        "the `env_vars` of task `t` uses Jinja ('{{ var.value.name }}'), which only Airflow renders",
    "DockerOperator(task_id='t', image='app', command='run {{ ds }}')":
        "the `command` of task `t` uses Jinja ('run {{ ds }}'), which only Airflow renders",
    "DockerOperator(task_id='t', image='app', environment={'DAY': '{{ ds }}'})":
        "the `environment` of task `t` uses Jinja ('{{ ds }}'), which only Airflow renders",
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
    "KubernetesPodOperator(task_id='t', image='app', arguments=['{{ ds }}'])":
        "the `arguments` of task `t` uses Jinja ('{{ ds }}'), which only Airflow renders",
    # the operator's own resources (cncf.kubernetes 4.0 on), which no pod is given
    "KubernetesPodOperator(task_id='t', image='app', resources={'cpus': 2})":
        "the `resources` of task `t` is not a dict of the pod's `request_memory`, `request_cpu`, "
        "`request_ephemeral_storage`, `limit_memory`, `limit_cpu`, `limit_gpu`, `limit_ephemeral_storage` "
        "(the provider's before 4.0): scaffold it by hand",
    "KubernetesPodOperator(task_id='t', image='app', resources={'request_cpu': '1'}, "
    "container_resources=k8s.V1ResourceRequirements(limits={'cpu': '2'}))":
        "task `t` gives both `resources` and `container_resources`: scaffold it by hand",
    # not Kubernetes' shape: its API drops the fields Airflow sends; dagster-k8s would raise
    "KubernetesPodOperator(task_id='t', image='app', container_resources={'memory': {'request': '16Gi'}})":
        "the `container_resources` of task `t` is not Kubernetes' resource requirements (`requests` and "
        "`limits` of quantities): Kubernetes would not read it as the pod's resources",
    "KubernetesPodOperator(task_id='t', image='app', affinity={'node_affinity': {}})":
        "the `affinity` of task `t` is not a dict of Kubernetes' `nodeAffinity`, `podAffinity`, `podAntiAffinity`",
    "KubernetesPodOperator(task_id='t', image='app', affinity=k8s.V1Affinity())":
        "the `affinity` of task `t` is not a literal or a module-level constant (`k8s.V1Affinity()`): "
        "it cannot be read statically",
    "KubernetesPodOperator(task_id='t', image='app', config_file=['a'])":
        "the `config_file` of task `t` is not a path",
    "KubernetesPodOperator(task_id='t', image='app', config_file='/kube/{{ var.value.cluster }}')":
        "the `config_file` of task `t` uses Jinja ('/kube/{{ var.value.cluster }}'), which only Airflow renders",
    "KubernetesPodOperator(task_id='t', image='app', cluster_context='prod')":
        "task `t` uses `cluster_context`, which the Pipes client does not carry: scaffold it by hand",
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
    """Each kube config file has its own client; one written for another path of the same name
    (or changed by hand) is not reused."""
    text = HEAD + "    KubernetesPodOperator(task_id='t', image='app', config_file='/etc/kube/composer_kube_config')\n"
    module = FAMILY.all_scaffolded.replace('"permits_csv": [containers__permits_csv]', '"t": [dg.AssetSpec(key="t")]')
    module = module.replace('dag_id="containers"', 'dag_id="d"')
    assert scaffold_task(text, "d.py", "d", "t", module).reason == (
        "the Dagster module's `PIPES_K8S_CLIENT_COMPOSER_KUBE_CONFIG` is not the client of the kube config "
        "'/etc/kube/composer_kube_config' that the task reads: scaffold it by hand")
    same = text.replace("/etc/kube/", "/home/airflow/")
    result = scaffold_task(same, "d.py", "d", "t", module)
    assert result.changed, result.reason
    assert result.text.count("PIPES_K8S_CLIENT_COMPOSER_KUBE_CONFIG = ") == 1
    assert 'resource_defs={"pipes_k8s_client_composer_kube_config": PIPES_K8S_CLIENT_COMPOSER_KUBE_CONFIG}' \
        in result.text[result.text.index("def d__t") - 200:]
