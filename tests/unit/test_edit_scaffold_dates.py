"""The run's dates (analysis/edits/scaffold/plan_dates.py): which DAGs' schedules make a
partitioned asset, with what partitions, and the refusals that say why not
(tests/integration/test_scaffold_dates.py runs Airflow 2.11 and Dagster on the same day)."""

from __future__ import annotations

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.plan_dates import Partitions, dag_partitions
from analysis.edits.scaffold.statements import dag_file

HEAD = '''\
import datetime
import pendulum
from airflow import DAG
from airflow.decorators import dag, task
from airflow.operators.python import PythonOperator
from airflow.utils.dates import days_ago

CRON = "30 6 * * 1-5"
ARGS = {"owner": "data", "start_date": datetime.datetime(2023, 5, 1, 6, 30)}


def load(ds):
    return ds


'''


def partitions(creation: str) -> Partitions | str:
    text = HEAD + creation + "\n    PythonOperator(task_id='t', python_callable=load)\n"
    dag = dag_file(text)
    return dag_partitions(dag, dag.unit_at(text.count("\n", 0, text.index(creation)) + 1))


@pytest.mark.parametrize("creation, found", [
    ('with DAG("d", start_date=pendulum.datetime(2024, 1, 1, tz="UTC"), schedule="@daily"):',
     Partitions("0 0 * * *", "2024-01-01", "%Y-%m-%d", "'@daily'")),
    ('with DAG(dag_id="d", schedule_interval=CRON, default_args=ARGS):',
     Partitions("30 6 * * 1-5", "2023-05-01-06:30", "%Y-%m-%d-%H:%M", "CRON")),
    ('with DAG("d", start_date=datetime.datetime(2024, 2, 1), schedule="0 */6 * * *"):',
     Partitions("0 */6 * * *", "2024-02-01-00:00", "%Y-%m-%d-%H:%M", "'0 */6 * * *'")),
])
def test_a_dag_on_a_cron_schedule_from_a_utc_start_has_partitions(creation, found):
    assert partitions(creation) == found


@pytest.mark.parametrize("creation, why", [
    ('with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None):',
     "the DAG has `schedule=None`: its runs are triggered, on no schedule a partition could follow"),
    ('with DAG("d", start_date=pendulum.datetime(2024, 1, 1)):',
     "the DAG gives no schedule (Airflow 2 runs it daily, Airflow 3 never)"),
    ('with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=datetime.timedelta(days=1)):',
     "its schedule `datetime.timedelta(days=1)` is not a cron string or preset"),
    ('with DAG("d", start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Paris"), schedule="@daily"):',
     "its `start_date` (pendulum.datetime(2024, 1, 1, tz='Europe/Paris')) is not a date in UTC written out"),
    ('with DAG("d", start_date=days_ago(2), schedule="@daily"):',
     "its `start_date` (days_ago(2)) is not a `pendulum.datetime(...)` or `datetime(...)`"),
    ('with DAG("d", schedule="@daily"):', "the DAG's `start_date` is not written in it"),
    ('with DAG("d", **{"schedule": "@daily"}):', "the DAG is given arguments by position or `**`"),
])
def test_a_dag_whose_runs_dates_are_not_known_statically_says_why(creation, why):
    assert partitions(creation) == why


MODULE = '''\
import dagster as dg
from dagster_airlift.core import assets_with_task_mappings

d_assets = assets_with_task_mappings(dag_id="d", task_mappings={"t": [dg.AssetSpec(key="out")]})
'''


def test_a_taskflow_dag_is_partitioned_as_its_decorator_schedules_it():
    text = HEAD + '''@dag(schedule="@hourly", start_date=pendulum.datetime(2024, 1, 1))
def d():
    @task
    def t(ts_nodash=None):
        return ts_nodash

    t()


d()
'''
    task = extract_file("d.py", text).dag("d").task("t")
    assert can_scaffold(text, task) is None
    result = scaffold_task(text, "d.py", "d", "t", MODULE)
    assert result.changed, result.reason
    assert 'cron_schedule="0 * * * *",' in result.text and 'fmt="%Y-%m-%d-%H:%M",' in result.text
    assert "def d__t(context: dg.AssetExecutionContext):" in result.text
    assert "    airflow_dates = _airflow_dates(context)\n" in result.text
    assert '    t(ts_nodash=airflow_dates["ts_nodash"])\n' in result.text
    assert "def _airflow_render" not in result.text  # no template to render


def test_a_callable_reading_the_run_of_an_unscheduled_dag_says_why():
    text = HEAD + 'with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None):\n' \
                  "    PythonOperator(task_id='t', python_callable=load)\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == (
        "the callable of task `t` takes `ds` from the Airflow task context, which Dagster does not have (a "
        "Dagster asset partitioned as the DAG is scheduled would give them, but the DAG has `schedule=None`: "
        "its runs are triggered, on no schedule a partition could follow)")


def test_dates_that_are_objects_in_airflow_stay_refused():
    text = HEAD.replace("def load(ds):", "def load(logical_date):") + \
        'with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule="@daily"):\n' \
        "    PythonOperator(task_id='t', python_callable=load)\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == (
        "the callable of task `t` takes `logical_date` from the Airflow task context, which Dagster does not have")
