"""The DAG's params in what a scaffold copies (``params``): ``{{ params.x }}`` in templated
arguments and ``params`` taken from the task context, given the values the DAG file writes
(the DAG's, its ``default_args``', the task's own, merged as Airflow merges them) and updated
with the run's conf when the asset runs; what cannot be read is refused in one line.
tests/integration/test_scaffold_run_values.py runs such tasks in Airflow 2.11, one run triggered
with a conf, and compares what Dagster writes."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analysis.edits.scaffold import scaffold_task
from analysis.edits.scaffold.params import MARKER
from analysis.edits.scaffold.run_values import RUN
from analysis.edits.scaffold.variables import variables_in
from tests.unit.test_edit_scaffold_run_values import FakeInstance, FakeRun, helpers  # noqa: F401 - a fixture

MODULE = (Path(__file__).resolve().parents[1] / "fixtures" / "scaffold" / "run_values" /
          "run_values_module.py").read_text()
HEAD = '''import os

import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.models.param import Param
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.utils.task_group import TaskGroup

'''
DAG_PARAMS = ', params={"region": "eu", "limit": Param(5, type="integer")}'


def scaffold(task_call: str, dag_options: str = DAG_PARAMS, before: str = "", task_id: str = "export"):
    dag = (HEAD + before + '\nwith DAG("partitioned", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily"'
           + dag_options + "):\n" + textwrap.indent(task_call, "    ") + "\n")
    module = MODULE.replace('"export": [', f'"{task_id}": [')  # a task group's task is mapped by its id
    return scaffold_task(dag, "/p/dags/partitioned.py", "partitioned", task_id, module)


def body(text: str) -> str:
    return text.split("def partitioned__export", 1)[1].split("\npartitioned_assets", 1)[0]


def header(text: str) -> str:
    """The statement that reads the run, on one line."""
    code = body(text).split('"""', 2)[2]
    start = code.index("_airflow_run_values = ")
    return " ".join(code[start:code.index(")\n", start) + 1].split())


@pytest.mark.parametrize(("text", "keys"), [
    ("{{ params.region }}", (RUN, MARKER)),
    ("{{ params['limit'] }}/{{ params[\"x y\"] }}", (RUN, MARKER)),
    ("{{ ds }} {{ params.a }} {{ var.value.b }}", (RUN, MARKER, "b")),
    ("{{ params.items }}", None),  # Jinja reads the dict's method
    ("{{ params._secret }}", None),
    ("{{ params.a.b }}", None),
    ("{{ params.a | upper }}", None),
    ("{{ params }}", None),
])
def test_only_a_param_put_in_as_jinja_prints_it_is_carried(text, keys):
    assert variables_in(text) == keys


def test_a_command_reading_params_is_given_them_merged_as_airflow_merges_them():
    result = scaffold('BashOperator(task_id="export", bash_command="echo {{ params.region }} {{ params.limit }}",\n'
                      '             params={"limit": 7, "task": True}, default_args={"params": {"task": None}})',
                      DAG_PARAMS + ', default_args={"params": {"region": "us", "team": [1, {"a": -2.5}]}}')
    assert result.changed, result.reason
    # the DAG's, then its default_args', the task's own, then the task's default_args'; a Param's default
    assert header(result.text) == ('_airflow_run_values = _airflow_run( airflow_instance, context, {"region": "us", '
                                   '"limit": 7, "team": [1, {"a": -2.5}], "task": None}, )')
    assert '_airflow_render_run("echo {{ params.region }} {{ params.limit }}", _airflow_run_values)' in result.text
    assert "Its params are the DAG file's, updated with the Airflow run's conf" in " ".join(result.text.split())


@pytest.mark.parametrize("taking", [
    "def f(path, params):\n    return params['region']\n",
    "def f(path, **context):\n    return context['params']['region']\n",
    "def f(path, **context):\n    params = context.get('params', {})\n    return params\n",
])
def test_a_callable_taking_params_from_the_context_is_given_them(taking):
    result = scaffold('PythonOperator(task_id="export", python_callable=f, op_kwargs={"path": "/tmp/x"})',
                      before=taking)
    assert result.changed, result.reason
    assert header(result.text) == \
        '_airflow_run_values = _airflow_run(airflow_instance, context, {"region": "eu", "limit": 5})'
    assert 'f(path="/tmp/x", params=_airflow_run_values["params"])' in result.text


def test_params_the_call_gives_are_not_taken_from_the_context():
    result = scaffold('PythonOperator(task_id="export", python_callable=f, op_kwargs={"params": {"a": 1}})',
                      before="def f(params):\n    return params\n")
    assert result.changed, result.reason
    assert "_airflow_run" not in body(result.text)


@pytest.mark.parametrize(("called", "given"), [
    ('f.override(task_id="export", params={"y": 2})', '"y": 2'),
    ('f.override(task_id="export", params={"y": 3}).override(retries=1)', '"y": 3'),  # the last one's win
    ('f.override(params={"y": 3}).override(task_id="export", params={"z": 4})', '"z": 4'),
])
def test_an_override_replaces_the_decorators_params(called, given):
    result = scaffold(called + '("{{ params.x }} {{ params.y }}")',
                      before="@task(task_id='f', params={'x': 1})\ndef f(text):\n    print(text)\n")
    assert result.changed, result.reason
    assert '{"region": "eu", "limit": 5, ' + given + '}' in header(result.text)


@pytest.mark.parametrize(("task_call", "dag_options", "before", "reason"), [
    ('BashOperator(task_id="export", bash_command="echo {{ params.r }}")', ', params={"r": (1, 2)}', "",
     "the DAG's `params` gives `r` a value that is not a literal of JSON's kinds or a `Param` of one"),
    ('BashOperator(task_id="export", bash_command="echo {{ params.r }}")', ", params=make()", "",
     "the DAG's `params` is not a dict written out (`make()`)"),
    ('BashOperator(task_id="export", bash_command="echo {{ params.r }}")', ', params={"r": Param(type="string")}',
     "", "the DAG's `params` gives `r` a `Param` without a default, which only the run's conf gives"),
    ('BashOperator(task_id="export", bash_command="echo {{ params.r }}", params={"r": Param("x", type="string")})',
     "", "", "the `params` of task `export` gives `r` a `Param`, which Airflow checks against the run's conf only"),
    ('BashOperator(task_id="export", bash_command="echo {{ params.r }}")', ", params=P",
     'P = {"r": 1}\nQ = P\nQ["r"] = 2\n', "the DAG's `params` names a value the file uses elsewhere too"),
    ('BashOperator(task_id="export", bash_command="echo {{ params.r }}")', ', params={"r": 1e999}', "",
     "the DAG's `params` gives `r` a value that is not a literal of JSON's kinds"),
    ('BashOperator(task_id="export", bash_command="echo {{ params.r }}", params={"r": os.getcwd()})', "", "",
     "the `params` of task `export` gives `r` a value that is not a literal"),
    ('BashOperator(task_id="export", bash_command="echo {{ params.r }}")', ", default_args=ARGS()", "",
     "the `default_args` of task `export` or of its DAG cannot be read statically"),
    ('BashOperator(task_id="export", bash_command="echo {{ params.r }}")\nPARAMS["r"] = 2', "", "",
     "reads the DAG's params, which the DAG file changes (line"),
    ('with TaskGroup("g", default_args={"params": {"r": 1}}):\n'
     '    BashOperator(task_id="export", bash_command="echo {{ params.r }}")', "", "",
     "reads the DAG's params, which a task group's `default_args` may give"),
])
def test_params_that_cannot_be_read_are_refused_with_why(task_call, dag_options, before, reason):
    task_id = "g.export" if "TaskGroup" in task_call else "export"
    result = scaffold(task_call.replace("PARAMS", "dag.params"), dag_options, before, task_id)
    assert not result.changed
    assert reason in result.reason and "\n" not in result.reason, result.reason


def test_a_dag_made_elsewhere_refuses_its_params():
    result = scaffold('BashOperator(task_id="export", bash_command="echo {{ params.r }}")', ", **OPTIONS",
                      "OPTIONS = {'params': {'r': 1}}\n")
    assert not result.changed
    assert result.reason == ("the command, environment or folder of task `export` use the Airflow run's values in "
                             "Jinja, and the DAG is given arguments by position or `**`, which may change how Airflow "
                             "renders them: scaffold it by hand"), result.reason


def test_a_module_with_an_earlier_run_helper_is_refused_with_what_to_do():
    earlier = scaffold('BashOperator(task_id="export", bash_command="echo {{ ds }}")')
    assert earlier.changed, earlier.reason
    old = earlier.text.replace("def _airflow_run(airflow, context, params=None):", "def _airflow_run(airflow, context):")
    start = old.index("    if params is not None:  # Airflow's")
    old = old[:start] + old[old.index("    return run", start):]
    old = old.replace('"export": [partitioned__export]', '"export": [dg.AssetSpec(key="export")]')
    dag = (HEAD + '\nwith DAG("partitioned", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily"'
           + DAG_PARAMS + '):\n    BashOperator(task_id="window", bash_command="echo {{ params.region }}")\n')
    result = scaffold_task(dag, "/p/dags/partitioned.py", "partitioned", "window", old)
    assert not result.changed
    assert result.reason == ("the Dagster module's `_airflow_run` was written by an earlier airlift-lsp and does not "
                             "read the DAG's params, which task `window` of DAG `partitioned` reads: delete it, and scaffold again to "
                             "write the current one")


def test_the_helpers_update_the_params_with_the_runs_conf(helpers):  # noqa: F811 - the fixture
    tags = FakeRun({"dagster-airlift/airflow-dag-id": "d", "dagster-airlift/airflow-dag-run-id": "manual__x"})
    metadata = {"logical_date": "2024-03-07T00:00:00+00:00", "conf": {"region": "us", "added": [1, None]}}
    run = helpers["_airflow_run"](FakeInstance(metadata), tags, {"region": "eu", "limit": 5, "on": True})
    assert run["params"] == {"region": "us", "limit": 5, "on": True, "added": [1, None]}
    render = helpers["_airflow_render_run"]
    assert render("{{ params.region }}/{{ params['limit'] }}/{{ params.on }}/{{ params.added }}", run) == \
        "us/5/True/[1, None]"
    with pytest.raises(helpers["dagster"].Failure, match="gives no param 'missing'"):
        render("{{ params.missing }}", run)
    with pytest.raises(ValueError, match="only Airflow renders this Jinja"):
        render("{{ params.items }}", run)
    plain = helpers["_airflow_run"](FakeInstance({"logical_date": None, "conf": {"a": 1}}), tags)
    assert "params" not in plain  # a task that reads none is given none
    assert helpers["_airflow_run"](FakeInstance({"logical_date": None, "conf": None}), tags, {"a": 1})["params"] == \
        {"a": 1}


def test_a_dag_functions_parameters_are_params_after_the_dags():
    dag = HEAD + ('from airflow.decorators import dag\n\n\n'
                  '@dag(start_date=pendulum.datetime(2024, 1, 1), schedule=None, params={"region": "eu", "n": 1})\n'
                  'def partitioned(region="us", *, flag=True):\n'
                  '    BashOperator(task_id="export", bash_command="echo {{ params.region }} {{ params.flag }}")\n\n\n'
                  'partitioned()\n')
    result = scaffold_task(dag, "/p/dags/partitioned.py", "partitioned", "export", MODULE)
    assert result.changed, result.reason
    assert '{"region": "us", "n": 1, "flag": True}' in header(result.text)
    for other in ('partitioned("it")\n', 'build = partitioned\nbuild("it")\n'):
        called = scaffold_task(dag.replace("partitioned()\n", other), "/p/dags/partitioned.py", "partitioned",
                               "export", MODULE)
        assert called.reason == ("task `export` reads the DAG's params, which `partitioned`'s parameters give, and "
                                 "the file calls it with arguments or by another name: scaffold it by hand")
    rest = scaffold_task(dag.replace("*, flag=True", "*rest, flag=True"), "/p/dags/partitioned.py", "partitioned",
                         "export", MODULE)
    assert rest.reason == ("task `export` reads the DAG's params, and `partitioned` takes `*rest`, which Airflow "
                           "makes one: scaffold it by hand")
