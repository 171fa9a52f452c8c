"""What the third review found of ``default_args``, values changed in place and defaults, each
against what Airflow 2.11's DagBag builds (the reviewer's reproductions): the model follows a
DAG's ``default_args`` changed through ``dag.default_args``, not the caller's dict that
``DAG()``/``TaskGroup()`` deep-copy; a lambda's defaults are bound where it is made; the
scaffolds read no constant the file changes in place, and check every family's options against
the ``default_args`` keys the model sees (a ``@task_group``'s, a group passed as ``task_group=``)."""

from __future__ import annotations

import textwrap

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import scaffold_task

HEAD = ("import pendulum\nfrom airflow import DAG\nfrom airflow.decorators import task_group\n"
        "from airflow.utils.task_group import TaskGroup\nfrom airflow.operators.bash import BashOperator\n"
        "from airflow.kubernetes.secret import Secret\n"
        "from airflow.providers.cncf.kubernetes.operators.kubernetes_pod import KubernetesPodOperator\n")
START = 'start_date=pendulum.datetime(2024, 1, 1), schedule=None'


def facts(body: str):
    found = extract_file("/dags/d.py", HEAD + textwrap.dedent(body))
    assert found.error is None, found.error
    return {t.task_id: t for d in found.dags for t in d.tasks}


def test_default_args_as_the_dag_holds_them():
    found = facts(f"""
        DA = {{"owner": "x"}}
        with DAG("a", {START}, default_args=DA) as dag:
            BashOperator(task_id="before", bash_command="pwd")
            dag.default_args["cwd"] = "/tmp"
            BashOperator(task_id="after", bash_command="pwd")
        with DAG("b", {START}, default_args=DA):
            BashOperator(task_id="early", bash_command="pwd")
            DA["env"] = {{"A": "1"}}  # DAG() deep-copied them: no effect
            BashOperator(task_id="late", bash_command="pwd")
        with DAG("c", {START}) as c:
            c.default_args["cwd"] = "/srv"  # none given: Airflow's {{}} is changed
            BashOperator(task_id="none_given", bash_command="pwd")
        """)
    assert found["before"].default_keys == ("owner",)
    assert found["after"].default_keys == ("cwd", "owner")
    assert found["early"].default_keys == found["late"].default_keys == ("owner",)
    assert found["none_given"].default_keys == ("cwd",)


def test_a_lambdas_defaults_are_bound_where_it_is_made():
    found = facts(f"""
        with DAG("d", {START}):
            makers = [lambda n=name: BashOperator(task_id=n, bash_command="pwd") for name in ["la", "lb"]]
            for make in makers:
                make()
        """)
    assert {"la", "lb"} <= set(found)


MODULE = textwrap.dedent('''\
    import dagster as dg
    from dagster_airlift.core import assets_with_task_mappings

    d_assets = assets_with_task_mappings(dag_id="d", task_mappings={"t": [dg.AssetSpec(key="out")]})
    ''')


def scaffold(body: str):
    text = HEAD + textwrap.dedent(body)
    return scaffold_task(text, "/dags/d.py", "d", text.split('task_id="')[1].split('"')[0], MODULE)


def test_a_pod_refuses_default_args_the_file_does_not_show():
    # the group prefixes the id: map it as Airflow names it
    text = HEAD + textwrap.dedent(f"""
        with DAG("d", {START}):
            @task_group(default_args={{"secrets": [Secret("env", "TG", "s", "k")]}})
            def grp():
                KubernetesPodOperator(task_id="t", name="a", image="img:1")
            grp()
        """)
    result = scaffold_task(text, "/dags/d.py", "d", "grp.t", MODULE.replace('"t":', '"grp.t":'))
    assert result.reason.startswith("the `default_args` of task `grp.t` or of its DAG give it `secrets`"), result.reason


def test_a_constant_changed_in_place_is_not_read_as_bound():
    result = scaffold(f"""
        CMDS = ["echo"]
        CMDS.append("hi")
        with DAG("d", {START}):
            KubernetesPodOperator(task_id="t", name="a", image="img:1", cmds=CMDS)
        """)
    assert result.changed, result.reason
    assert 'command=["echo", "hi"]' in result.text  # the model's value, as Airflow gives it
    secret = scaffold(f"""
        S = Secret("env", "A", "s", "k")
        S.deploy_target = "B"
        with DAG("d", {START}):
            KubernetesPodOperator(task_id="t", name="a", image="img:1", secrets=[S])
        """)
    assert secret.reason == "the `secrets` of task `t` is not a literal or a module-level constant (`[S]`): " \
                            "it cannot be read statically"
