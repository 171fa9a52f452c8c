"""A callable's parameters named like the task context (``ds``, ``ti``, ...): Airflow fills them
unless the call does, and refuses them by position. Both are refused with why (found in review:
a parameter with a default got None in Dagster where Airflow gave the run's date)."""

from __future__ import annotations

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold

HEAD = '''\
import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.operators.python import PythonOperator

KWARGS = {"table": "orders"}
ARGS = ["orders"]


def export(table, ds=None):
    return table, ds


@task
def tagged(table, ds=None):
    return table, ds


with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
    '''


@pytest.mark.parametrize("task, reason", [
    ("PythonOperator(task_id='t', python_callable=export, op_kwargs=KWARGS)",
     "the callable of task `t` takes `ds`, which Airflow fills from the task context unless the arguments "
     "unpacked into it give it: which they do is only known when it runs"),
    ("tagged.override(task_id='t')(*ARGS)",
     "the function of task `t` takes `ds`, which Airflow fills from the task context unless the arguments "
     "unpacked into it give it: which they do is only known when it runs"),
    ("PythonOperator(task_id='t', python_callable=export, op_args=['orders', '2020-01-01'])",
     "the callable of task `t` is given `ds` by position, which Airflow refuses (a name of the task context): "
     "the task fails in Airflow"),
])
def test_a_context_parameter_airflow_would_fill_or_refuse_is_refused(task, reason):
    text = HEAD + task + "\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == reason


def test_a_context_parameter_given_by_keyword_is_the_callers():
    text = HEAD + "PythonOperator(task_id='t', python_callable=export, op_kwargs={'table': 'a', 'ds': 'x'})\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) is None
