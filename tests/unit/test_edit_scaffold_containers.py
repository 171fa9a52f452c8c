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

FAMILY = FamilyFixture("containers", ("render_report", "train_model", "entrypoint_only", "transform_csv"))
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
