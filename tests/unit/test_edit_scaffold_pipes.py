"""Scaffolding tasks that Airflow runs as a copy of a function's source in another Python
(virtualenv, external Python) as Dagster Pipes subprocess assets: the module every task of
tests/fixtures/scaffold/pipes_dag.py gives, one asset's body line by line, idempotency, the
read-only parser as the oracle of what the module maps, and each refusal with its reason."""

from __future__ import annotations

import textwrap

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits import EditResult
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import scaffold_family
from tests.support.scaffold_fixture import FamilyFixture, mapped

FAMILY = FamilyFixture("pipes", ("summarize", "interpreter", "greet"))
DAG, MODULE, TASKS = FAMILY.dag, FAMILY.module, FAMILY.tasks
scaffold, scaffold_all = FAMILY.scaffold, FAMILY.scaffold_all


def test_every_pipes_task_in_turn_gives_the_fixture():
    text = scaffold_all()
    assert text == FAMILY.all_scaffolded
    assert mapped(text) == mapped(MODULE.read_text())


def test_an_external_python_task_runs_its_function_with_that_python():
    result = scaffold(MODULE.read_text(), "interpreter")
    start = result.text.index("def pipes__interpreter(")
    body = result.text[start:result.text.index("\n\n\n", start)]
    assert body.endswith(textwrap.dedent('''\
            def interpreter(tag: str) -> str:
                import sys

                return f"{tag}: {sys.executable} {sys.version_info[0]}.{sys.version_info[1]}"

            with tempfile.TemporaryDirectory(prefix="airflowtmp") as folder:
                python = "/usr/bin/python3"
                script = _airflow_python_script(folder, interpreter, ("external",), {})
                yield from pipes_subprocess_client.run(
                    context=context,
                    command=[python, script],
                ).get_results()''').replace("\n", "\n    ").replace("\n    \n", "\n\n"))
    assert '    resource_defs={"pipes_subprocess_client": PIPES_SUBPROCESS_CLIENT},\n' in result.text
    assert "_airflow_virtualenv" not in result.text  # no venv for an external Python


def test_scaffolding_again_changes_nothing():
    FAMILY.assert_scaffolding_again_changes_nothing()


def test_the_pipes_operators_are_registered_as_scaffolded():
    facts = extract_file(str(DAG), DAG.read_text()).dag("pipes")
    for task in facts.tasks:
        assert scaffold_family(task.operator) == "pipes-subprocess"
        assert can_scaffold(DAG.read_text(), task) is None


HEAD = '''\
import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.operators.python import ExternalPythonOperator, PythonVirtualenvOperator
from helpers import imported


def f(x, y=1):
    return x


with DAG("d", start_date=pendulum.datetime(2024, 1, 1)):
'''

REFUSALS = {
    "PythonVirtualenvOperator(task_id='t', python_callable=f, op_args=['{{ ds }}'])":
        "the arguments of task `t` use Jinja ('{{ ds }}'), which only Airflow renders",
    "PythonVirtualenvOperator(task_id='t', python_callable=f, op_args=[pendulum.now()])":
        "the arguments of task `t` are not all literals (`pendulum.now()`): the script run in "
        "the other Python gets them written out",
    "PythonVirtualenvOperator(task_id='t', python_callable=f, op_kwargs=KWARGS)":
        "the arguments of task `t` are not all literals (`KWARGS`): the script run in the "
        "other Python gets them written out",
    "PythonVirtualenvOperator(task_id='t', python_callable=f, op_args=[1], requirements='requirements.txt')":
        "the `requirements` of task `t` is a string, which Airflow reads as a templated "
        "requirements file: give a list to scaffold it",
    "PythonVirtualenvOperator(task_id='t', python_callable=f, op_args=[1], requirements=REQUIREMENTS)":
        "the `requirements` of task `t` is not a list of strings written out",
    "PythonVirtualenvOperator(task_id='t', python_callable=lambda: 1)":
        "the callable of task `t` is not a function defined by name in the DAG file: its "
        "source, which Airflow runs in the other Python, cannot be copied",
    "PythonVirtualenvOperator(task_id='t', python_callable=imported)":
        "the callable of task `t` (`imported`) is not defined in the DAG file: its source, "
        "which Airflow runs in the other Python, cannot be copied from here",
    "PythonVirtualenvOperator(task_id='t', python_callable=f, op_args=[1], templates_dict={})":
        "task `t` uses `templates_dict`: only Airflow renders it; scaffold it by hand",
    "PythonVirtualenvOperator(task_id='t', python_callable=f)":
        "the function of task `t` gets no value for parameter `x`",
    "ExternalPythonOperator(task_id='t', python=PYTHON, python_callable=f, op_args=[1])":
        "the `python` of task `t` is not a string written out: which interpreter runs it is unknown",
    "@task.virtualenv\n    def t(**context):\n        print(context)\n    t()":
        "the function of task `t` takes `**context`, through which Airflow passes the task "
        "context (ti, ds, ...): Dagster has none",
    "@task.virtualenv\n    def t(ti):\n        pass\n    t()":
        "the function of task `t` takes `ti` from the Airflow task context, which Dagster does "
        "not have",
    "@task.virtualenv(requirements=['{{ var.value.pkg }}'])\n    def t():\n        pass\n    t()":
        "the `requirements` of task `t` uses Jinja ('{{ var.value.pkg }}'), which only Airflow renders",
    "@task.external_python(python='/usr/bin/python3')\n    def t(n):\n        pass\n    t(f(1))":
        "the arguments of task `t` are not all literals (`f(1)`): the script run in the other "
        "Python gets them written out",
    "@task.virtualenv\n    @imported\n    def t():\n        pass\n    t()":
        "the function of task `t` has decorators besides Airflow's: the other Python would run "
        "them too; scaffold it by hand",
}


@pytest.mark.parametrize("code", list(REFUSALS), ids=range(len(REFUSALS)))
def test_what_cannot_be_run_outside_airflow_is_refused_with_its_reason(code):
    text = HEAD + "    " + code + "\n"
    task = extract_file("d.py", text).dag("d").task("t")
    assert can_scaffold(text, task) == REFUSALS[code]


MODULE_OF_D = '''\
import dagster as dg
from dagster_airlift.core import assets_with_task_mappings

d_assets = assets_with_task_mappings(dag_id="d", task_mappings={"t": [dg.AssetSpec(key="t")]})
'''


@pytest.mark.parametrize("function, reason", [
    ("def t(n=DEFAULT):", ("a default value of `t` is not a literal (`DEFAULT`): it would be "
                           "evaluated in Dagster's process")),
    ("def t(n: pd.DataFrame = 1):", ("`t` is annotated with `pd.DataFrame`, which would be "
                                     "evaluated in Dagster's process: use builtins or remove it")),
    ("def context():", "the function `context` would hide the asset's parameter of that name"),
])
def test_a_function_that_dagster_could_not_define_is_refused_by_the_edit(function, reason):
    name = function[4:function.index("(")]
    text = f"{HEAD}    @task.virtualenv\n    {function}\n        pass\n    {name}()\n"
    assert scaffold_task(text, "d.py", "d", name, MODULE_OF_D.replace('"t"', f'"{name}"', 1)) == \
        EditResult.refuse(reason)
