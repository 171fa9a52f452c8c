"""Scaffolding FileSensor and PythonSensor tasks as assets that poke until what they wait for is
there and fail after the timeout: the module every task of
tests/fixtures/scaffold/sensors/sensors_dag.py gives, idempotency, how the interval and timeout
are read (the task, the DAG's ``default_args``, timedeltas), and each refusal with its reason."""

from __future__ import annotations

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits import EditResult
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import scaffold_family
from tests.support.scaffold_fixture import FIXTURES, scaffold_every_task

SENSORS = FIXTURES / "sensors"
DAG, MODULE = SENSORS / "sensors_dag.py", SENSORS / "sensors_module.py"
TASKS = ("wait_for_orders", "wait_for_flag")
MODULE_T = MODULE.read_text().replace('"wait_for_orders"', '"t"')


def scaffold(text: str, task_id: str, dag_text: str | None = None) -> EditResult:
    return scaffold_task(dag_text or DAG.read_text(), str(DAG), "sensors", task_id, text,
                         module_path=str(MODULE))


def test_every_sensor_in_turn_gives_the_fixture():
    text = scaffold_every_task(DAG, "sensors", TASKS, MODULE.read_text(), MODULE)
    assert text == (SENSORS / "sensors_module+all.py").read_text()
    assert text.count("def _airflow_wait_for(") == 1
    # the default_args' poke_interval for the FileSensor, the task's own timedeltas for the other
    assert "        poke_interval=0.5,\n        timeout=3,\n" in text
    assert "        lambda: flag_says(os.path.join(LANDING, \"flag\"), word=\"go\"),\n" \
           "        poke_interval=1,\n" in text


def test_scaffolding_again_changes_nothing():
    text = scaffold_every_task(DAG, "sensors", TASKS, MODULE.read_text(), MODULE)
    for task_id in TASKS:
        again = scaffold(text, task_id)
        assert not again.changed and "already has a Dagster definition" in again.reason


def test_the_sensors_are_in_the_registry():
    assert scaffold_family("FileSensor") == "sensor-file"
    assert scaffold_family("PythonSensor") == "sensor-python"


HEAD = '''\
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.sensors.filesystem import FileSensor
from airflow.sensors.python import PythonSensor

PATTERN = "/data/in/*.csv"
ARGS = {"poke_interval": 30, "timeout": 600}
with DAG("sensors", start_date=pendulum.datetime(2024, 1, 1), default_args=DEFAULTS):
'''


def dag(code: str, defaults: str = "ARGS") -> str:
    return HEAD.replace("DEFAULTS", defaults) + "    " + code + "\n"


def test_an_absolute_path_needs_no_connection_and_default_args_give_the_interval():
    result = scaffold(MODULE_T, "t", dag("FileSensor(task_id='t', filepath=PATTERN, mode='reschedule')"))
    assert result.changed, result.reason
    assert "_airflow_fs_path" not in result.text
    assert ('    _airflow_wait_for(\n        lambda: _airflow_file_found("/data/in/*.csv"),\n'
            '        poke_interval=30,\n        timeout=600,\n') in result.text


def test_airflow_defaults_and_timedeltas():
    result = scaffold(MODULE_T, "t", dag("FileSensor(task_id='t', filepath='x', fs_conn_id='fs_default')",
                                          "None"))
    assert "poke_interval=60,\n        timeout=604800,\n" in result.text  # a minute, a week
    assert 'path = os.path.join(_airflow_fs_path("fs_default"), "x")\n' in result.text
    result = scaffold(MODULE_T, "t", dag("FileSensor(task_id='t', filepath='x', "
                                          "timeout=timedelta(minutes=2), poke_interval=timedelta(0, 5))"))
    assert "poke_interval=5,\n        timeout=120,\n" in result.text


REFUSALS = {
    "FileSensor(task_id='t', filepath='in/{{ ds }}.csv')":
        "the `filepath` of task `t` uses Jinja ('in/{{ ds }}.csv'), which only Airflow renders",
    "FileSensor(task_id='t', filepath=PATTERN.lower())":
        "the `filepath` of task `t` cannot be read statically",
    "FileSensor(task_id='t', filepath=PATTERN, soft_fail=True)":
        "task `t` sets `soft_fail`: Airflow then skips it on failure, which a Dagster run cannot "
        "tell the proxy: scaffold it by hand",
    "FileSensor(task_id='t', filepath=PATTERN, exponential_backoff=True)":
        "task `t` waits with `exponential_backoff`, which the scaffold does not carry",
    "FileSensor(task_id='t', filepath=PATTERN, silent_fail=True)":
        "task `t` sets `silent_fail` (a failing poke counts as not yet): scaffold it by hand",
    "FileSensor(task_id='t', filepath=PATTERN, timeout=len(PATTERN))":
        "the `timeout` of task `t` cannot be read statically",
    "FileSensor(task_id='t', filepath=PATTERN, start_from_trigger=True)":
        "task `t` uses `start_from_trigger`, which the scaffold does not carry: scaffold it by hand",
    "FileSensor(task_id='t')": "task `t` has no `filepath` written out (a string)",
    "PythonSensor(task_id='t', python_callable=lambda **context: True)":
        "the callable of task `t` takes `**context`, through which Airflow passes the task "
        "context (ti, ds, ...): Dagster has none",
}


@pytest.mark.parametrize("code", list(REFUSALS), ids=range(len(REFUSALS)))
def test_what_would_not_wait_the_same_is_refused_with_its_reason(code):
    text = dag(code)
    assert scaffold(MODULE_T, "t", text) == EditResult.refuse(REFUSALS[code])
    assert can_scaffold(text, extract_file("d.py", text).dag("sensors").task("t")) == REFUSALS[code]


def test_default_args_that_cannot_be_read_are_refused():
    text = dag("FileSensor(task_id='t', filepath=PATTERN)", "dict(ARGS)")
    assert scaffold(MODULE_T, "t", text) == EditResult.refuse(
        "the `default_args` of the DAG of task `t` cannot be read statically, and may set how "
        "the sensor waits")
    assert scaffold(MODULE_T, "t", dag("FileSensor(task_id='t', filepath=PATTERN)",
                                       "{'owner': 'me', 'start_date': pendulum.now()}")).changed
