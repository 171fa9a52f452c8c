"""Airflow's exceptions in copied code (analysis/edits/scaffold/exceptions.py): `AirflowException`
and the subclasses Airflow gives no other meaning are bound to the Dagster module's classes; the
ones that change what Airflow does with the task stay refused, as any import from Airflow is."""

from __future__ import annotations

import textwrap

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold, scaffold_task
from tests.support.scaffold_fixture import FIXTURES

DAG = textwrap.dedent('''\
    import pendulum
    from airflow import DAG
    from airflow.operators.python import PythonOperator
    IMPORT


    def work(n):
        if n > 1:
            raise NAME("too many")
        return n


    with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
        PythonOperator(task_id="t", python_callable=work, op_args=[1])
    ''')
MODULE = (FIXTURES / "containers_module.py").read_text().replace('"render_report"', '"t"').replace('"containers"', '"d"')


def dag(imported: str, name: str) -> str:
    return DAG.replace("IMPORT", imported).replace("NAME", name)


@pytest.mark.parametrize("imported, name, classes", [
    ("from airflow.exceptions import AirflowException", "AirflowException", ["_AirflowException"]),
    ("from airflow.exceptions import AirflowNotFoundException as Missing", "Missing",
     ["_AirflowException", "_AirflowNotFoundException"]),
    ("from airflow.exceptions import AirflowBadRequest", "AirflowBadRequest", ["_AirflowException", "_AirflowBadRequest"]),
])
def test_airflows_exception_is_the_modules_class(imported, name, classes):
    result = scaffold_task(dag(imported, name), "d.py", "d", "t", MODULE)
    assert result.changed, result.reason
    assert [line.split("(")[0][6:] for line in result.text.splitlines() if line.startswith("class _Airflow")] == classes
    assert f"    {name} = {classes[-1]}\n" in result.text
    assert "from airflow" not in result.text
    again = scaffold_task(dag(imported, name).replace('"t"', '"u"'), "d.py", "d", "u",
                          result.text.replace('"t": [d__t],', '"t": [d__t], "u": [dg.AssetSpec(key="u")],'))
    assert again.changed, again.reason
    assert again.text.count(f"class {classes[0]}(") == 1  # once in the module


@pytest.mark.parametrize("imported, name", [
    ("from airflow.exceptions import AirflowSkipException", "AirflowSkipException"),  # Airflow skips the task
    ("from airflow.exceptions import AirflowFailException", "AirflowFailException"),  # no retries in Airflow
    ("from airflow.sdk.exceptions import AirflowRuntimeError", "AirflowRuntimeError"),
    ("import airflow.exceptions as AirflowException", "AirflowException.AirflowException"),
])
def test_other_exceptions_of_airflow_stay_refused(imported, name):
    text = dag(imported, name)
    reason = can_scaffold(text, extract_file("d.py", text).dag("d").task("t"))
    assert reason is not None and "which comes from Airflow (the import on line 4)" in reason, reason


def test_a_module_name_already_taken_is_refused():
    text = dag("from airflow.exceptions import AirflowException", "AirflowException").replace(
        "def work(n):", "_AirflowException = ValueError\n\n\ndef work(n):").replace(
        'raise AirflowException("too many")', 'raise (AirflowException if n else _AirflowException)("too many")')
    result = scaffold_task(text, "d.py", "d", "t", MODULE)
    assert not result.changed
    assert result.reason == "the DAG file's `_AirflowException` would hide the Dagster module's helper"
