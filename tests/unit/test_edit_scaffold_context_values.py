"""Callables that take the run's strings from Airflow's task context (``Plan.context_values``):
by parameter (``def f(ds)``) or by literal key through ``**context`` (``context["run_id"]``,
``context.get("ts")``), given by name from the Airflow run that launched the Dagster run; what
else the context holds stays refused, in one line. tests/integration/test_scaffold_run_values.py
runs such tasks in Airflow 2.11 and their assets in Dagster and compares what they wrote."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analysis.edits.scaffold import scaffold_task
from analysis.edits.scaffold.plan_common import context_reads

MODULE = (Path(__file__).resolve().parents[1] / "fixtures" / "scaffold" / "run_values" /
          "run_values_module.py").read_text()
HEAD = '''import os

import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.operators.python import PythonOperator, ShortCircuitOperator
from airflow.sensors.python import PythonSensor

KW = {"table": "orders", "ds": "2020-01-01"}

'''


def scaffold(functions: str, task_call: str, module: str = MODULE):
    dag = (HEAD + functions + '\nwith DAG("partitioned", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily"):\n'
           + textwrap.indent(task_call, "    ") + "\n")
    return scaffold_task(dag, "/p/dags/partitioned.py", "partitioned", "export", module)


def body(text: str) -> str:
    return text.split("def partitioned__export", 1)[1].split("\npartitioned_assets", 1)[0]


def test_parameters_and_keys_read_through_kwargs_are_given_from_the_run():
    result = scaffold('def stamp(path, ds, **context):\n    return path, ds, context["run_id"], context.get("ts"), '
                      'context.get("label", "none")\n',
                      'PythonOperator(task_id="export", python_callable=stamp, op_kwargs={"path": "/tmp/x"})')
    assert result.changed, result.reason
    text = body(result.text)
    assert "(context: dg.AssetExecutionContext) -> None:" in text
    assert "    _airflow_run_values = _airflow_run(airflow_instance, context)\n" in text
    assert ('        path="/tmp/x",\n        ds=_airflow_run_values["ds"],\n'
            '        run_id=_airflow_run_values["run_id"],\n        ts=_airflow_run_values["ts"],\n    )') in text
    assert "Its code takes `ds`, `run_id`, `ts` from Airflow's task context" in " ".join(text.split())
    assert result.text.count("def _airflow_run(") == 1
    assert "def _airflow_render_run(" not in result.text  # no Jinja to render


def test_a_value_the_call_gives_is_not_taken_from_the_run():
    result = scaffold("def stamp(ds, table):\n    return ds, table\n",
                      'PythonOperator(task_id="export", python_callable=stamp, op_kwargs={"ds": "2020", "table": "t"})')
    assert result.changed, result.reason
    assert "_airflow_run" not in result.text


def test_keys_no_context_has_read_through_unpacked_arguments_need_no_run():
    result = scaffold('def stamp(**context):\n    return context.get("table"), context["ds_"]\n',
                      'PythonOperator(task_id="export", python_callable=stamp, op_kwargs=KW)')
    assert result.changed, result.reason
    assert "stamp(**KW)" in body(result.text) and "_airflow_run" not in result.text


@pytest.mark.parametrize(("functions", "task_call", "given"), [
    ("", 'ShortCircuitOperator(task_id="export", python_callable=lambda **c: c["ds_nodash"].endswith("1"))',
     'ds_nodash=_airflow_run_values["ds_nodash"]'),
    ("def ready(ds):\n    return os.path.exists(f'/data/{ds}')\n",
     'PythonSensor(task_id="export", python_callable=ready, poke_interval=5, timeout=60)',
     'ds=_airflow_run_values["ds"]'),
    ("", '@task(task_id="export")\ndef f(n, run_id=None):\n    return n, run_id\nf(3)',
     'f(3, run_id=_airflow_run_values["run_id"])'),
])
def test_short_circuits_sensors_and_task_functions_take_them_too(functions, task_call, given):
    result = scaffold(functions, task_call)
    assert result.changed, result.reason
    assert given in body(result.text)


@pytest.mark.parametrize(("function", "reason"), [
    ('def f(**c):\n    key = "ds"\n    return c[key]\n', "takes `**c`, through which Airflow passes the task context"),
    ("def f(**c):\n    return g(**c)\n\ndef g(**c):\n    return c\n", "takes `**c`, through which Airflow passes"),
    ('def f(**c):\n    return c["ti"].xcom_pull(task_ids="a")\n',
     "reads `ti` of the Airflow task context (through `**c`), which Dagster does not have"),
    ('def f(**c):\n    return str(c["logical_date"])\n',  # a pendulum DateTime in Airflow, shown otherwise
     "reads `logical_date` of the Airflow task context (through `**c`)"),
    ('def f(**c):\n    c["x"] = 1\n', "takes `**c`, through which"),
    ('def f(**c):\n    del c["ds"]\n', "takes `**c`, through which"),
    ('def f(**c):\n    def g(**c):\n        return c["ds"]\n    return g(ds=1)\n', "takes `**c`, through which"),
    ("def f(**c):\n    return locals()\n", "takes `**c`, through which"),
    ("def f(ds, /):\n    return ds\n", "takes `ds` from the Airflow task context, which Dagster does not have"),
    ("def f(next_ds):\n    return next_ds\n", "takes `next_ds` from the Airflow task context"),
])
def test_what_else_the_context_holds_is_refused_in_one_line(function, reason):
    result = scaffold(function, 'PythonOperator(task_id="export", python_callable=f)')
    assert not result.changed
    assert reason in result.reason and "\n" not in result.reason, result.reason


def test_a_key_the_unpacked_arguments_may_give_is_refused():
    result = scaffold('def f(**c):\n    return c.get("ds")\n',
                      'PythonOperator(task_id="export", python_callable=f, op_kwargs=KW)')
    assert not result.changed
    assert ("reads `ds` through `**c`, which Airflow fills from the task context unless the arguments unpacked "
            "into it give it") in result.reason, result.reason


def test_a_virtualenv_function_still_refuses_them():
    result = scaffold("", '@task.virtualenv(task_id="export", requirements=[])\ndef f(ds=None):\n    return ds\n'
                      'f()')
    assert not result.changed
    assert "takes `ds` from the Airflow task context, which Dagster does not have" in result.reason, result.reason


def test_a_module_without_an_airflow_instance_is_refused_with_why():
    start = MODULE.index("airflow_instance = AirflowInstance(")
    module = MODULE[:start] + "airflow_instance = None\n" + MODULE[MODULE.index("\n)\n", start) + 3:]
    result = scaffold("def f(ds):\n    return ds\n", 'PythonOperator(task_id="export", python_callable=f)', module)
    assert not result.changed
    assert "would read the Airflow run's values its templates or its code use" in result.reason, result.reason


@pytest.mark.parametrize(("source", "keys"), [
    ('def f(**c):\n    return c["ds"], c.get("ts"), c.get("x", 1), c["ds"]\n', ["ds", "ts", "x"]),
    ("def f(**c):\n    return 1\n", []),
    ('def f(**c):\n    return [c["ds"] for _ in range(2)]\n', ["ds"]),
    ('def f(**c):\n    return c.get("ds", default=1)\n', None),
    ('def f(**c):\n    return c.keys()\n', None),
    ('def f(**c):\n    return "ds" in c\n', None),
    ("def f(**c):\n    c = {}\n    return c\n", None),
    ('def f(**c):\n    return (lambda c: c["ds"])({})\n', None),
])
def test_context_reads(source, keys):
    import ast

    function = ast.parse(source).body[0]
    assert context_reads(function, "c") == keys


def test_its_acceptance_test_gives_both_sides_one_airflow_run():
    from analysis.edits.acceptance_test import acceptance_test

    functions = "def f(ds):\n    print(ds)\n"
    task_call = 'PythonOperator(task_id="export", python_callable=f)'
    scaffolded = scaffold(functions, task_call)
    assert scaffolded.changed, scaffolded.reason
    dag = (HEAD + functions + '\nwith DAG("partitioned", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily"):\n'
           f"    {task_call}\n")
    result = acceptance_test(dag, "/p/dags/partitioned.py", "partitioned", "export", scaffolded.text,
                             "/p/definitions.py", "/p/tests/test_partitioned__export.py")
    assert result.changed, result.reason
    text = result.text
    assert '        "logical_date": "2024-01-05T13:45:30.123456+00:00",\n' in text
    assert '@pytest.mark.parametrize("run", list(AIRFLOW_RUNS))\ndef test_partitioned__export_' in text
    assert "def run_airflow_task(context):\n" in text  # the run's tags, without Dagster's annotation
    assert "lambda: run_airflow_task(AIRFLOW_CONTEXT))" in text
    assert 'monkeypatch.setattr(dagster_airlift.core.AirflowInstance, "get_dag_run", answer_run)' in text
    assert "lambda: materialize(definitions, run_tags(run)))" in text
    assert "\nimport dagster\nimport dagster as dg\n" in text  # the helpers fail with `dagster.Failure`
    assert text.count("def _airflow_run(") == 1
    compile(text, "test.py", "exec")


def test_a_context_name_the_positional_arguments_reach_past_star_args_is_refused_as_airflow_refuses_it():
    """Airflow checks the first names of the whole signature, ``*args`` and keyword-only ones
    included, as many as the positional arguments: ``ds`` is reserved there, and the task fails."""
    result = scaffold("def f(*paths, ds):\n    return paths, ds\n",
                      'PythonOperator(task_id="export", python_callable=f, op_args=["a", "b"])')
    assert not result.changed
    assert "is given `ds` by position, which Airflow refuses" in result.reason, result.reason


def test_a_dag_file_binding_the_modules_airflow_instance_name_is_refused():
    result = scaffold("airflow_instance = 'prod'\n\ndef f(ds):\n    return airflow_instance, ds\n",
                      'PythonOperator(task_id="export", python_callable=f)')
    assert not result.changed
    assert "the DAG file's `airflow_instance` would hide" in result.reason, result.reason


def test_a_decorated_callable_taking_them_is_refused():
    """Airflow reads the decorated function's signature (a wrapper's `*args, **kwargs` get the
    whole context), which the scaffold does not read."""
    result = scaffold("def logged(function):\n    return function\n\n@logged\ndef f(ds):\n    return ds\n",
                      'PythonOperator(task_id="export", python_callable=f)')
    assert not result.changed
    assert "takes `ds` from the task context and is decorated" in result.reason, result.reason
