"""The Airflow run's values in templates (``run_values``): which expressions are carried, the
generated renderer against Airflow's own definitions of them, and the scaffolds that use it
(a pod's environment, a factory's values refused). tests/integration/test_scaffold_run_values.py
compares the rendering with Airflow 2.11's for real runs."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import pytest

from analysis.edits.scaffold import scaffold_task
from analysis.edits.scaffold.run_values import DS_MACROS, HELPER_DEFINITION, MOVED, RENDER_DEFINITION, RUN
from analysis.edits.scaffold.variables import DEFINITION, RenderedInRun, rendered_value, variables_in

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scaffold" / "run_values"


@pytest.mark.parametrize(("text", "keys"), [
    ("{{ ds }}", (RUN,)),
    ("{{ds_nodash}}/{{ ts }}/{{ ts_nodash }}/{{ run_id }}/{{ dag_run.run_id }}", (RUN,)),
    ("{{ data_interval_start.strftime('%Y-%m-%dT%H:00:00') }}", (RUN,)),
    ('{{ (data_interval_start).strftime("%Y%m%d") }}', (RUN,)),
    ("{{  dag_run.data_interval_end | ts  }} {{ dag_run.data_interval_start | ds }}", (RUN,)),
    ("{{ logical_date.to_datetime_string() }} {{ data_interval_end.to_date_string() }}", (RUN,)),
    ("{{ dag_run.logical_date.strftime('%j') }}", (RUN,)),
    ("{{ var.value.bucket }}/{{ ds }}", (RUN, "bucket")),
    ("{{ data_interval_start }}", None),  # bare: its text differs between pendulum's and datetime's
    ("{{ dag_run.logical_date.to_date_string() }}", None),  # a row's plain datetime has no such method
    ("{{ next_ds }}", None),
    ("{{ ds | upper }}", None),
    ("{{ macros.ds_add(ds, 1) }}", (RUN, DS_MACROS)),
    ("--date={{macros.ds_add( ds , -3 )}}", (RUN, DS_MACROS)),
    ('{{ macros.ds_format(ds, "%Y-%m-%d", "%m%d%Y") }}', (RUN, DS_MACROS)),
    ("{{ macros.ds_add(ds_nodash, 1) }}", None),  # only ds: Airflow's parse of another fails
    ("{{ macros.ds_add(ds, days) }}", None),
    ("{{ macros.ds_add(ds, 01) }}", None),  # a number Jinja refuses
    ('{{ macros.ds_format(ds, "%Y-%m-%d", "%d %B") }}', None),  # the process's locale
    ("{{ macros.ds_format(ds, '%Y-%m-%d') }}", None),  # the task fails: no output format
    ("{{ yesterday_ds }}", None),  # Airflow 2's only: Airflow 3 fails the task
    ("{{ ds if run_id.startswith('scheduled_') else params.day }}", None),
    ("{{ ti.xcom_pull('a') }}", None),
    ("{{ data_interval_start.strftime(fmt) }}", None),
    ("{% if ds %}x{% endif %}", None),
    ("{{ data_interval_end.strftime('%s') }}", None),  # the process's time zone
    ("{{ logical_date.strftime('%A %d %B') }}", None),  # its locale
    ("{{ logical_date.strftime('%Y-%m-%dT%H:%M:%S%z %Z') }}", (RUN,)),
    ("{{ (data_interval_start + macros.timedelta(hours=1)).strftime('%Y-%m-%dT%H') }}", (RUN, MOVED)),
    ("{{(dag_run.logical_date - macros.timedelta(days=-1, minutes=30)) | ts}}", (RUN, MOVED)),
    ("{{ (data_interval_end + macros.timedelta(weeks=1)).to_date_string() }}", (RUN, MOVED)),
    ("{{ data_interval_start + macros.timedelta(hours=1).strftime('%Y') }}", None),  # formats the timedelta
    ("{{ (logical_date + macros.timedelta(months=1)).strftime('%Y') }}", None),  # no such keyword
    ("{{ (logical_date + macros.timedelta(days=1, days=2)).strftime('%Y') }}", None),
    ("{{ (logical_date + macros.timedelta(days=n)).strftime('%Y') }}", None),
    ("{{ (logical_date + macros.timedelta(days=01)).strftime('%Y') }}", None),  # Jinja's syntax error
    ("{{ (logical_date + macros.timedelta(days=\u0661)).strftime('%Y') }}", None),  # a digit Jinja refuses
    ("{{ (data_interval_start ).strftime('%Y') }}", None),  # as an earlier renderer read it: refused
    ("{{ (data_interval_start + macros.timedelta(days=1) ).strftime('%Y') }}", (RUN, MOVED)),
    ("{{ (logical_date + macros.timedelta(days=1)) }}", None),  # bare
    ("{{ (dag_run.logical_date + macros.timedelta(days=1)).to_date_string() }}", None),
])
def test_only_the_runs_values_airflow_gives_alike_are_carried(text, keys):
    assert variables_in(text) == keys


def test_values_holding_them_are_rendered_in_the_run():
    value, keys = rendered_value({"DAY": "{{ ds }}", "BUCKET": "{{ var.value.b }}", "N": 3})
    assert keys == (RUN, "b")
    assert isinstance(value["DAY"], RenderedInRun) and not isinstance(value["BUCKET"], RenderedInRun)


def context_values(logical: datetime.datetime, start: datetime.datetime, end: datetime.datetime) -> dict:
    """Airflow 2.11's definitions (TaskInstance.get_template_context; airflow.templates' filters),
    restated to compare with: ds, ts... from the logical date in UTC."""
    return {"ds": logical.strftime("%Y-%m-%d"), "ds_nodash": logical.strftime("%Y-%m-%d").replace("-", ""),
            "ts": logical.isoformat(), "ts_nodash": logical.strftime("%Y%m%dT%H%M%S"),
            "start_ds": start.strftime("%Y-%m-%d"), "end_ts": end.isoformat()}


class FakeInstance:
    """dagster-airlift's AirflowInstance as the helper uses it: ``get_dag_run(...).metadata``,
    the REST API's answer (Airflow 2's offsets or Airflow 3's ``Z``)."""

    def __init__(self, metadata: dict) -> None:
        self.metadata, self.asked = metadata, []

    def get_dag_run(self, dag_id: str, run_id: str):
        self.asked.append((dag_id, run_id))
        return self


class FakeRun:
    def __init__(self, tags: dict) -> None:
        self.run = type("Run", (), {"tags": tags})()


@pytest.fixture()
def helpers():
    import types

    # `datetime` bound to the class, as a Dagster module's `from datetime import datetime` binds it
    namespace = {"re": re, "datetime": datetime.datetime, "os": __import__("os"), "json": __import__("json"),
                 "dagster": types.SimpleNamespace(Failure=type("Failure", (Exception,), {}))}
    for definition in (DEFINITION, HELPER_DEFINITION, RENDER_DEFINITION):
        exec(definition[0], namespace)  # noqa: S102 - our own generated code, run as the module runs it
    return namespace


@pytest.mark.parametrize("metadata", [
    {"logical_date": "2024-03-07T13:45:30.123456+00:00", "data_interval_start": "2024-03-06T00:00:00+00:00",
     "data_interval_end": "2024-03-07T00:00:00+00:00"},
    {"logical_date": "2024-03-07T13:45:30.123456Z", "data_interval_start": "2024-03-06T00:00:00Z",
     "data_interval_end": "2024-03-07T00:00:00Z", "run_after": "2024-03-07T13:45:30.123456Z"},
])
def test_the_helpers_render_what_airflows_context_gives(helpers, metadata):
    instance = FakeInstance(metadata)
    run = helpers["_airflow_run"](instance, FakeRun({"dagster-airlift/airflow-dag-id": "d",
                                                     "dagster-airlift/airflow-dag-run-id": "manual__x"}))
    assert instance.asked == [("d", "manual__x")]
    utc = datetime.timezone.utc
    expected = context_values(datetime.datetime(2024, 3, 7, 13, 45, 30, 123456, tzinfo=utc),
                              datetime.datetime(2024, 3, 6, tzinfo=utc), datetime.datetime(2024, 3, 7, tzinfo=utc))
    render = helpers["_airflow_render_run"]
    assert render("{{ ds }} {{ds_nodash}} {{ ts }} {{ ts_nodash }}", run) == \
        f"{expected['ds']} {expected['ds_nodash']} {expected['ts']} {expected['ts_nodash']}"
    assert render(["{{ dag_run.data_interval_start | ds }}", ("{{ data_interval_end|ts }}",), 3], run) == \
        [expected["start_ds"], (expected["end_ts"],), 3]
    assert render({"k": "{{ run_id }}\r\n"}, run) == {"k": "manual__x"}
    assert render("{{ logical_date.to_datetime_string() }}|{{ (data_interval_start).strftime('%H') }}", run) == \
        "2024-03-07 13:45:30|00"
    assert render("{{ (data_interval_start - macros.timedelta(days=1, hours=2)).strftime('%Y%m%d%H') }}|"
                  "{{(logical_date + macros.timedelta(minutes=-45)) | ts}}|"
                  "{{ (data_interval_end + macros.timedelta(weeks=1)).to_date_string() }}", run) == \
        "2024030422|2024-03-07T13:00:30.123456+00:00|2024-03-14"
    assert render("{{ macros.ds_add(ds, -3) }}|{{macros.ds_add(ds,0)}}|{{ macros.ds_add(ds, 25) }}|"
                  "{{ macros.ds_format(ds, '%Y-%m-%d', '%m%d%Y') }}", run) == "2024-03-04|2024-03-07|2024-04-01|03072024"


def test_the_helpers_fail_where_airflow_fails_or_nothing_launched_the_run(helpers, monkeypatch):
    failure = helpers["dagster"].Failure
    with pytest.raises(failure, match="no Airflow run launched this one"):
        helpers["_airflow_run"](FakeInstance({}), FakeRun({}))
    run = helpers["_airflow_run"](FakeInstance({"logical_date": None, "data_interval_start": None}),
                                  FakeRun({"dagster-airlift/airflow-dag-id": "d",
                                           "dagster-airlift/airflow-dag-run-id": "asset_triggered"}))
    with pytest.raises(failure, match="the Airflow run asset_triggered has no ds"):  # Airflow 3: no logical date
        helpers["_airflow_render_run"]("{{ ds }}", run)
    assert helpers["_airflow_render_run"]("{{ run_id }}", run) == "asset_triggered"
    with pytest.raises(failure, match="the Airflow run asset_triggered has no ds"):
        helpers["_airflow_render_run"]("{{ macros.ds_add(ds, 1) }}", run)
    with pytest.raises(ValueError, match="only Airflow renders this Jinja"):
        helpers["_airflow_render_run"]("{{ macros.ds_format(ds, '%Y-%m-%d', '%A') }}", run)
    with pytest.raises(ValueError, match="only Airflow renders this Jinja"):
        helpers["_airflow_render_run"]("{{ data_interval_start }}", run)
    monkeypatch.setenv("AIRFLOW_VAR_B", "bucket")
    assert helpers["_airflow_render_run"]("{{ var.value.b }}/{{ run_id }}", run) == "bucket/asset_triggered"


POD_DAG = '''\
import pendulum
from airflow import DAG
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG("partitioned", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily"):
    KubernetesPodOperator(task_id="export", name="export", image="exporter:1.2", cmds=["export"],
                          arguments=["--day", "{{ ds }}"], env_vars={"RUN": "{{ run_id }}", "N": "3"})
'''


def test_a_pods_templated_values_are_rendered_in_the_run():
    module = (FIXTURES / "run_values_module.py").read_text()
    result = scaffold_task(POD_DAG, "/p/dags/pod.py", "partitioned", "export", module)
    assert result.changed, result.reason
    text = result.text
    assert "def partitioned__export(context: dg.AssetExecutionContext, " in text
    assert "    _airflow_run_values = _airflow_run(airflow_instance, context)\n" in text
    assert '_airflow_render_run("{{ ds }}", _airflow_run_values)' in text
    assert '"RUN": _airflow_render_run("{{ run_id }}", _airflow_run_values)' in text
    assert text.count("def _airflow_run(") == 1 and text.count("def _airflow_render(") == 1


def test_a_renderer_of_an_earlier_airlift_lsp_is_not_given_airflows_date_macros():
    """A module whose `_airflow_render_run` predates `macros.ds_add`/`ds_format` would refuse
    them when the asset runs: the scaffold says so instead, and what to do."""
    module = (FIXTURES / "run_values_module.py").read_text()
    written = scaffold_task(POD_DAG, "/p/dags/pod.py", "partitioned", "export", module)
    assert written.changed, written.reason
    earlier = written.text.replace('match["days"]', 'match["gone"]')
    dag = POD_DAG + ('    KubernetesPodOperator(task_id="window", name="w", image="exporter:1.2", '
                     'arguments=["--day", "{{ macros.ds_add(ds, -3) }}"])\n')
    result = scaffold_task(dag, "/p/dags/pod.py", "partitioned", "window", earlier)
    assert not result.changed
    assert result.reason.startswith("the Dagster module's `_airflow_render_run` was written by an earlier airlift-lsp "
                                    "and does not read `macros.ds_add` or `macros.ds_format`"), result.reason
    result = scaffold_task(dag, "/p/dags/pod.py", "partitioned", "window", written.text)
    assert result.changed, result.reason
    assert '_airflow_render_run("{{ macros.ds_add(ds, -3) }}", _airflow_run_values)' in result.text


def test_values_written_out_from_a_factory_are_refused(tmp_path):
    """A factory's values are written out where no call of the DAG file holds them: the scaffold
    cannot see whether Airflow renders them (a closure's cell is not), so the run's values there
    stay refused, as Variables do."""
    from tests.unit.test_edit_scaffold_evaluated import DAG, scaffold

    dag = DAG.read_text().replace('echo "$STAGE" > "$EXPORT_DIR/done.txt"',
                                  'echo "{{ ds }}" > "$EXPORT_DIR/done.txt"')
    result = scaffold(tmp_path, "shell_done", dag=dag)
    assert not result.changed
    assert "use the Airflow run's values in Jinja, which the scaffold renders only in a call written in the DAG " \
        "file" in result.reason, result.reason


def test_a_pod_a_factory_makes_gets_its_templated_values_rendered_in_the_run(tmp_path):
    """A factory's values are the operator's arguments, which Airflow renders: a pod's arguments
    and environment read from the run, as the call's would be (dea's reporting pods)."""
    from tests.unit.test_edit_scaffold_evaluated import DAG, MODULE, POD_FACTORY, STEPS, scaffold

    dag = DAG.read_text().replace("from dataplat.steps import", "from dataplat.steps import run_job,", 1).replace(
        "    orders >> ready >> totals >> exported >> done\n",
        '    job = run_job("rebuild", "1.4.2", "--day", "{{ ds }}")\n    orders >> ready >> totals >> job\n', 1)
    module = MODULE.read_text().replace('        "load_returns":', '        "job_rebuild": [dg.AssetSpec(key="rebuilt")],\n'
                                                                 '        "load_returns":', 1)
    factory = POD_FACTORY.replace('"STAGE": "prod"', '"STAGE": "prod", "RUN": "{{ run_id }}"')
    result = scaffold(tmp_path, "job_rebuild", module, steps=STEPS.read_text() + factory, dag=dag)
    assert result.changed, result.reason
    assert "    _airflow_run_values = _airflow_run(airflow_instance, context)\n" in result.text
    assert '"RUN": _airflow_render_run("{{ run_id }}", _airflow_run_values)' in result.text
    assert '"args": ["--day", _airflow_render_run("{{ ds }}", _airflow_run_values)]' in result.text


def test_a_load_from_files_named_by_the_run_reads_them_in_the_run():
    dag = POD_DAG.replace("from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator",
                          "from airflow.providers.google.cloud.transfers.gcs_to_bigquery import GCSToBigQueryOperator")
    dag = dag[:dag.index("    KubernetesPodOperator(")] + (
        "    GCSToBigQueryOperator(task_id='export', bucket='b-{{ ds_nodash }}', source_objects=['{{ ds }}/a.csv'],\n"
        "                          destination_project_dataset_table='ds.t${{ ds_nodash }}', autodetect=True)\n")
    result = scaffold_task(dag, "/p/dags/load.py", "partitioned", "export", (FIXTURES / "run_values_module.py").read_text())
    assert result.changed, result.reason
    assert '_airflow_render_run("gs://b-{{ ds_nodash }}/{{ ds }}/a.csv", _airflow_run_values)' in result.text
    assert '_airflow_render_run("ds.t${{ ds_nodash }}", _airflow_run_values)' in result.text
    assert "_airflow_render(" not in result.text.split("def partitioned__export")[1]


@pytest.mark.parametrize("change", ["export.template_fields = ()", "setattr(export, 'template_fields', ())",
                                    "export.template_ext = ('.sh',)"])
def test_a_task_whose_file_changes_what_airflow_renders_is_refused(change):
    dag = POD_DAG.replace("    KubernetesPodOperator(", "    export = KubernetesPodOperator(") + f"    {change}\n"
    result = scaffold_task(dag, "/p/dags/pod.py", "partitioned", "export", (FIXTURES / "run_values_module.py").read_text())
    assert not result.changed
    assert "the DAG sets `template_" in result.reason and "may change how Airflow renders them" in result.reason, result.reason


def test_a_factory_that_changes_what_airflow_renders_is_refused(tmp_path):
    from tests.unit.test_edit_scaffold_evaluated import DAG, MODULE, POD_FACTORY, STEPS, scaffold

    dag = DAG.read_text().replace("from dataplat.steps import", "from dataplat.steps import run_job,", 1).replace(
        "    orders >> ready >> totals >> exported >> done\n",
        '    job = run_job("rebuild", "1.4.2", "--day", "{{ ds }}")\n    orders >> ready >> totals >> job\n', 1)
    module = MODULE.read_text().replace('        "load_returns":', '        "job_rebuild": [dg.AssetSpec(key="rebuilt")],\n'
                                                                 '        "load_returns":', 1)
    factory = POD_FACTORY.replace("    return KubernetesPodOperator(", "    op = KubernetesPodOperator(") + \
        '    op.template_fields = ("image",)\n    return op\n'
    result = scaffold(tmp_path, "job_rebuild", module, steps=STEPS.read_text() + factory, dag=dag)
    assert not result.changed
    assert result.reason == ("the Jinja in the arguments of task `job_rebuild` is rendered by Airflow only in the "
                             "arguments it chooses, and steps.py sets `template_fields` on a task: scaffold it by hand")
