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
    # Airflow 3's Task SDK gives the same class
    ("from airflow.sdk.exceptions import AirflowException", "AirflowException", ["_AirflowException"]),
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
    ("from airflow.sdk.exceptions import AirflowBadRequest", "AirflowBadRequest"),  # not the SDK's
    # bound otherwise too, under a condition: which class it is is only known when it runs
    ("if 1:\n    from airflow.exceptions import AirflowException\nelse:\n    AirflowException = ValueError",
     "AirflowException"),
])
def test_other_exceptions_of_airflow_stay_refused(imported, name):
    text = dag(imported, name)
    reason = can_scaffold(text, extract_file("d.py", text).dag("d").task("t"))
    assert reason is not None and "which comes from Airflow (the import on line" in reason, reason


def test_a_module_name_already_taken_is_refused():
    text = dag("from airflow.exceptions import AirflowException", "AirflowException").replace(
        "def work(n):", "_AirflowException = ValueError\n\n\ndef work(n):").replace(
        'raise AirflowException("too many")', 'raise (AirflowException if n else _AirflowException)("too many")')
    result = scaffold_task(text, "d.py", "d", "t", MODULE)
    assert not result.changed
    assert result.reason == "the DAG file's `_AirflowException` would hide the Dagster module's helper"


def test_its_status_code_is_airflows():
    result = scaffold_task(dag("from airflow.exceptions import AirflowNotFoundException", "AirflowNotFoundException"),
                           "d.py", "d", "t", MODULE)
    namespace: dict = {}
    classes = result.text[result.text.index("class _AirflowException"):result.text.index("@dg.multi_asset")]
    exec(classes, namespace)
    assert namespace["_AirflowException"].status_code == 500
    assert namespace["_AirflowNotFoundException"].status_code == 404
    assert issubclass(namespace["_AirflowNotFoundException"], namespace["_AirflowException"])


def test_catching_it_around_other_modules_code_is_refused():
    """Code of another module (a project's helper, a library) may raise Airflow's own exception,
    which the module's class does not catch: refused. Around the standard library's, caught."""
    body = ('def work(n):\n    try:\n        return LIB.loads("1")\n    except AirflowException:\n        return 0\n\n\n'
            'with DAG')
    for lib, refused in (("json", False), ("yaml", True)):
        text = dag(f"from airflow.exceptions import AirflowException\nimport {lib} as LIB", "AirflowException")
        text = text[:text.index("def work")] + body + text.split("with DAG", 1)[1]
        reason = can_scaffold(text, extract_file("d.py", text).dag("d").task("t"))
        assert (reason == "task `t` catches `AirflowException` (line 11) and imports `yaml`, whose code may raise "
                "Airflow's own `AirflowException`, which the Dagster module's class would not catch: scaffold it by "
                "hand") if refused \
            else reason is None, reason


def test_an_import_from_airflow_inside_copied_code_is_refused():
    """Read only when the function runs: in Dagster it would fail (or skip nothing)."""
    text = dag("", "ValueError").replace("        raise ValueError", "        from airflow.exceptions import "
                                         "AirflowSkipException\n        raise AirflowSkipException")
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == (
        "task `t` imports from Airflow (line 9), which Dagster cannot run: scaffold it by hand")
