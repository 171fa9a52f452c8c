"""Scaffolding FileSensor and PythonSensor tasks as assets that poke until what they wait for is
there and fail after the timeout: the module every task of
tests/fixtures/scaffold/sensors/sensors_dag.py gives, idempotency, how the interval and timeout
are read (the task, the DAG's ``default_args``, timedeltas), and each refusal with its reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.dagster.module import AssetRef
from analysis.edits import EditResult
from analysis.edits.acceptance_test import acceptance_test
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import scaffold_family
from analysis.facts import Range
from analysis.files import read_disk
from analysis.plans import plan_scaffold
from analysis.project import Layout, discover
from tests.support.scaffold_fixture import FIXTURES, scaffold_every_task

SENSORS = FIXTURES / "sensors"
DAG, MODULE = SENSORS / "sensors_dag.py", SENSORS / "sensors_module.py"
TASKS = ("wait_for_orders", "wait_for_flag", "wait_for_rows")
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
    assert scaffold_family("SqlSensor") == "sensor-sql"


HEAD = '''\
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.sensors.filesystem import FileSensor
from airflow.sensors.python import PythonSensor
from airflow.providers.common.sql.sensors.sql import SqlSensor

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


def test_a_sql_sensor_shares_the_sql_scaffolds_connection_resource():
    result = scaffold(MODULE_T, "t", dag("SqlSensor(task_id='t', conn_id='my-db', sql='SELECT 0', "
                                          "fail_on_empty=True)"))
    assert "    resource_defs={\"my_db\": AIRFLOW_CONN_MY_DB},\n" in result.text
    assert "_airflow_sql_condition(context.resources.my_db, sql, fail_on_empty=True)" in result.text
    assert "class AirflowConnection(" in result.text and "_airflow_run_sql" not in result.text


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
    "FileSensor(task_id='t', filepath=open('path.txt').read())":
        "the `filepath` of task `t` cannot be read statically",
    "FileSensor(task_id='t', filepath=PATTERN, soft_fail=True)":
        "task `t` sets `soft_fail`: Airflow then skips it on failure, which a Dagster run cannot "
        "tell the proxy: scaffold it by hand",
    "FileSensor(task_id='t', filepath=PATTERN, exponential_backoff=True)":
        "task `t` waits with `exponential_backoff`, which the scaffold does not carry",
    "FileSensor(task_id='t', filepath=PATTERN, silent_fail=True)":
        "task `t` sets `silent_fail` (a failing poke counts as not yet): scaffold it by hand",
    "FileSensor(task_id='t', filepath=PATTERN, timeout=pendulum.now().hour)":
        "the `timeout` of task `t` cannot be read statically",
    "FileSensor(task_id='t', filepath=PATTERN, start_from_trigger=True)":
        "task `t` uses `start_from_trigger`, which the scaffold does not carry: scaffold it by hand",
    "FileSensor(task_id='t')": "task `t` has no `filepath` written out (a string)",
    "SqlSensor(task_id='t', conn_id='db', sql='SELECT 1', success=bool)":
        "task `t` uses `success`, which the scaffold does not carry: scaffold it by hand",
    "SqlSensor(task_id='t', conn_id='db', sql='check.sql')":
        "task `t` has no SQL written out (a string; a template file is not read)",
    "SqlSensor(task_id='t', sql='SELECT 1')": "task `t` has no `conn_id`: which connection it uses is unknown",
    "SqlSensor(task_id='t', conn_id='db', sql='SELECT {{ ds }}')":
        "task `t` uses Jinja ('SELECT {{ ds }}'), which only Airflow renders",
    "PythonSensor(task_id='t', python_callable=lambda **context: len(context) > 0)":
        "the callable of task `t` takes `**context`, through which Airflow passes the task "
        "context (ti, ds, ...): Dagster has none",
}


@pytest.mark.parametrize("code", list(REFUSALS), ids=range(len(REFUSALS)))
def test_what_would_not_wait_the_same_is_refused_with_its_reason(code):
    text = dag(code)
    assert scaffold(MODULE_T, "t", text) == EditResult.refuse(REFUSALS[code])
    assert can_scaffold(text, extract_file("d.py", text).dag("sensors").task("t")) == REFUSALS[code]


def test_default_args_that_cannot_be_read_are_refused():
    text = dag("FileSensor(task_id='t', filepath=PATTERN)", "ARGS | {'owner': 'me'}")
    assert scaffold(MODULE_T, "t", text) == EditResult.refuse(
        "the `default_args` of the DAG of task `t` cannot be read statically, and may set how "
        "the sensor waits")
    assert scaffold(MODULE_T, "t", dag("FileSensor(task_id='t', filepath=PATTERN)",
                                       "{'owner': 'me', 'start_date': pendulum.now()}")).changed


EXTERNAL_DAG, EXTERNAL_MODULE = SENSORS / "external_dag.py", SENSORS / "external_module.py"


def scaffold_external(code: str | None = None, mapped_assets=None) -> EditResult:
    text = EXTERNAL_DAG.read_text()
    if code is not None:
        start = text.index("    ExternalTaskSensor(")
        text = text[:start] + "    " + code + "\n"
    return scaffold_task(text, str(EXTERNAL_DAG), "reports", "wait_for_load", EXTERNAL_MODULE.read_text(),
                         module_path=str(EXTERNAL_MODULE), mapped_assets=mapped_assets)


def test_an_external_task_sensor_depends_on_the_assets_of_the_task_it_waits_for():
    result = scaffold_external()
    assert result.text == (SENSORS / "external_module+wait_for_load.py").read_text()
    assert scaffold_family("ExternalTaskSensor") == "sensor-external"


def test_allowed_states_of_success_only_are_read_through_a_constant():
    text = EXTERNAL_DAG.read_text().replace('allowed_states=["success"]', "allowed_states=ALLOWED")
    text = text.replace("\n\ndef load():", '\nALLOWED = ["success"]\n\n\ndef load():')
    result = scaffold_task(text, str(EXTERNAL_DAG), "reports", "wait_for_load", EXTERNAL_MODULE.read_text(),
                           module_path=str(EXTERNAL_MODULE))
    assert result.changed, result.reason


def test_a_wait_for_a_whole_dag_depends_on_the_asset_of_its_successful_runs():
    # dagster-airlift's key for a DAG's runs: <AirflowInstance name>/dag/<dag_id>
    result = scaffold_external("ExternalTaskSensor(task_id='wait_for_load', external_dag_id='loads')")
    assert 'merge_attributes(deps=[dg.AssetKey(["external", "dag", "loads"])])' in result.text
    assert "(ExternalTaskSensor on DAG `loads`): depends on the asset of its successful runs" in \
        " ".join(result.text.split())
    unnamed = EXTERNAL_MODULE.read_text().replace('    name="external",\n', "")
    text = EXTERNAL_DAG.read_text()
    text = text[:text.index("    ExternalTaskSensor(")] + \
        "    ExternalTaskSensor(task_id='wait_for_load', external_dag_id='loads', external_task_id=None)\n"
    assert scaffold_task(text, str(EXTERNAL_DAG), "reports", "wait_for_load", unnamed) == EditResult.refuse(
        "ExternalTaskSensor waits for a run of DAG `loads`, whose asset dagster-airlift names after the "
        "module's AirflowInstance: give it a `name` written out")


def test_the_projects_mappings_are_asked_when_given():
    code = ("ExternalTaskSensor(task_id='wait_for_load', external_dag_id='other', "
            "external_task_ids=['a', 'b'])")
    asked = []

    def mapped_assets(dag_id, task_id):
        asked.append((dag_id, task_id))
        return tuple(AssetRef(key, Range.of(0, 0, 0, 0)) for key in {"a": ("x/y", "z"), "b": ("z",)}[task_id])

    result = scaffold_external(code, mapped_assets)
    assert asked == [("other", "a"), ("other", "b")]
    assert ('dg.AssetSpec(key="orders_ready").merge_attributes(deps=[dg.AssetKey(["x", "y"]), '
            'dg.AssetKey(["z"])])') in result.text


EXTERNAL_REFUSALS = {
    "ExternalTaskSensor(task_id='wait_for_load', external_dag_id='loads', external_task_id='other')":
        "map `loads.other` first: ExternalTaskSensor waits for it",
    "ExternalTaskSensor(task_id='wait_for_load', external_dag_id='loads', external_task_id='load_orders', "
    "execution_date_fn=lambda d: d)":
        "task `wait_for_load` waits for a run chosen by `execution_date_fn` or for a task group: "
        "scaffold it by hand",
    "ExternalTaskSensor(task_id='wait_for_load', external_dag_id='loads', external_task_id='load_orders', "
    "allowed_states=['success', 'skipped'])":
        "task `wait_for_load` waits for other states than success (`allowed_states`), which Dagster "
        "does not record for an asset: scaffold it by hand",
    "ExternalTaskSensor(task_id='wait_for_load', external_dag_id='loads', external_task_id='load_orders', "
    "allowed_states=ALLOWED_STATES)":
        "the `allowed_states` of task `wait_for_load` cannot be read statically (`ALLOWED_STATES` is not a "
        "constant of the DAG file): write them out to scaffold it",
    "ExternalTaskSensor(task_id='wait_for_load', external_dag_id='{{ params.dag }}', external_task_id='x')":
        "the `external_dag_id` of task `wait_for_load` is not a DAG id written out",
}


@pytest.mark.parametrize("code", list(EXTERNAL_REFUSALS), ids=range(len(EXTERNAL_REFUSALS)))
def test_an_external_task_sensor_that_cannot_be_an_asset_dependency_is_refused(code):
    assert scaffold_external(code) == EditResult.refuse(EXTERNAL_REFUSALS[code])


def test_the_scaffold_plan_finds_the_external_task_mapped_in_another_module(tmp_path):
    # the project's mapping index: `loads` is mapped in loads_defs.py, the sensor's DAG in definitions.py
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "external_dag.py").write_text(EXTERNAL_DAG.read_text())
    module = EXTERNAL_MODULE.read_text()
    start, end = module.index("load_assets = "), module.index("report_assets = ")
    (tmp_path / "definitions.py").write_text(
        module[:start] + module[end:].replace("[*load_assets, *report_assets]", "report_assets"))
    (tmp_path / "loads_defs.py").write_text(
        module[:module.index("airflow_instance = ")] + module[start:end])
    project = discover(Layout(str(tmp_path), ("dags",)))  # no module configured: both are read
    plan = plan_scaffold(project, read_text, "reports", "wait_for_load")
    assert [Path(c.path).name for c in plan.changes] == ["definitions.py"]
    assert 'merge_attributes(deps=[dg.AssetKey(["raw", "orders"])])' in plan.changes[0].new_text


def read_text(path: str) -> str | None:
    return read_disk(path).text if Path(path).exists() else None


def test_the_acceptance_test_of_a_sensor_is_refused_it_writes_nothing():
    text = scaffold_every_task(DAG, "sensors", TASKS, MODULE.read_text(), MODULE)
    for task_id, label in (("wait_for_flag", "PythonSensor"), ("wait_for_orders", "FileSensor")):
        result = acceptance_test(DAG.read_text(), str(DAG), "sensors", task_id, text, str(MODULE),
                                 str(SENSORS / "tests" / f"test_acceptance_sensors__{task_id}.py"))
        assert result.refused and "\n" not in result.reason
        assert f"a `{label}` task waits for something and writes nothing" in result.reason


def test_default_args_written_as_a_dict_call_are_read():
    result = scaffold(MODULE_T, "t", dag("FileSensor(task_id='t', filepath=PATTERN)",
                                          "dict(owner='me', timeout=timedelta(hours=1), poke_interval=10)"))
    assert "        poke_interval=10,\n        timeout=3600,\n" in result.text


TRIGGER_DAG, TRIGGER_MODULE = SENSORS / "trigger_dag.py", SENSORS / "trigger_module.py"


def scaffold_trigger(code: str | None = None, module: str | None = None) -> EditResult:
    text = TRIGGER_DAG.read_text()
    if code is not None:
        start = text.index("    TriggerDagRunOperator(task_id=\"kick\"")
        text = text[:start] + "    " + code + "\n" + text[text.index("with DAG(\"target\""):]
    return scaffold_task(text, str(TRIGGER_DAG), "triggering", "kick", module or TRIGGER_MODULE.read_text(),
                         module_path=str(TRIGGER_MODULE))


def test_a_trigger_starts_the_dag_through_the_modules_airflow_instance():
    result = scaffold_trigger()
    assert ('    _airflow_trigger_dag(\n        airflow_instance,\n        "target",\n'
            '        wait_for=(("success",), ("failed",)),\n        poke_interval=1,\n    )\n') in result.text
    result = scaffold_trigger("TriggerDagRunOperator(task_id='kick', trigger_dag_id='target')")
    assert '    _airflow_trigger_dag(airflow_instance, "target")\n' in result.text  # no waiting
    result = scaffold_trigger("TriggerDagRunOperator(task_id='kick', trigger_dag_id='target', "
                              "wait_for_completion=True, allowed_states=[DagRunState.SUCCESS, 'failed'], "
                              "failed_states=[])")
    assert 'wait_for=(("success", "failed",), ()),\n        poke_interval=60,\n' in result.text
    assert scaffold_family("TriggerDagRunOperator") == "trigger-dag-run"


TRIGGER_REFUSALS = {
    "TriggerDagRunOperator(task_id='kick', trigger_dag_id='target', conf={'a': 1})":
        "task `kick` uses `conf`, which dagster-airlift's AirflowInstance.trigger_dag does not pass: "
        "scaffold it by hand",
    "TriggerDagRunOperator(task_id='kick', trigger_dag_id='{{ params.target }}')":
        "the `trigger_dag_id` of task `kick` is not a DAG id written out",
    "TriggerDagRunOperator(task_id='kick', trigger_dag_id='target', wait_for_completion=True, "
    "allowed_states=STATES)":
        "the `allowed_states` or `failed_states` of task `kick` cannot be read statically",
}


@pytest.mark.parametrize("code", list(TRIGGER_REFUSALS), ids=range(len(TRIGGER_REFUSALS)))
def test_a_trigger_that_would_not_start_the_same_run_is_refused(code):
    assert scaffold_trigger(code) == EditResult.refuse(TRIGGER_REFUSALS[code])


def test_a_trigger_needs_the_modules_airflow_instance_by_name():
    module = TRIGGER_MODULE.read_text().replace("airflow_instance = AirflowInstance(", "INSTANCES = [AirflowInstance(")
    module = module.replace('    name="airflow",\n)\n', '    name="airflow",\n)]\n').replace(
        "airflow_instance=airflow_instance", "airflow_instance=INSTANCES[0]")
    result = scaffold_trigger(module=module)
    assert result.refused and "does not bind one AirflowInstance to a name" in result.reason


@pytest.mark.parametrize("code, defaults", [
    ("FileSensor(task_id='t', filepath=PATTERN, default_args={'soft_fail': True})", "ARGS"),  # the sensor's own
    ("FileSensor(task_id='t', filepath=PATTERN)", "{'soft_fail': True}"),  # the DAG's
])
def test_default_args_that_make_a_sensor_skip_are_read_wherever_given(code, defaults):
    text = dag(code, defaults)
    assert can_scaffold(text, extract_file("d.py", text).dag("sensors").task("t")) == (
        "task `t` sets `soft_fail`: Airflow then skips it on failure, which a Dagster run cannot "
        "tell the proxy: scaffold it by hand")


def test_a_dag_given_its_options_unpacked_may_set_how_the_sensor_waits():
    text = dag("FileSensor(task_id='t', filepath=PATTERN)").replace("default_args=ARGS", "**{'default_args': ARGS}")
    assert can_scaffold(text, extract_file("d.py", text).dag("sensors").task("t")) == (
        "the `default_args` of the DAG of task `t` cannot be read statically, and may set how the sensor waits")
