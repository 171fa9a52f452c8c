"""Options that ``default_args`` give an operator (Airflow's ``apply_defaults`` passes them to its
constructor) are not in its call: the scaffolds that read the call's own arguments (Bash, Python,
``@task.bash``, virtualenv, SQL) refuse a task when its DAG's, its task groups' or its own
``default_args`` give one of the operator's options, naming it, rather than scaffold an asset that
runs elsewhere, with another environment or on another connection."""

from __future__ import annotations

import textwrap

import pytest

from analysis.edits.scaffold import scaffold_task

MODULE = textwrap.dedent('''\
    import dagster as dg
    from dagster_airlift.core import assets_with_task_mappings

    d_assets = assets_with_task_mappings(dag_id="d", task_mappings={"t": [dg.AssetSpec(key="out")]})
    ''')


def _scaffold(task: str, dag_defaults: str = "None", imports: str = ""):
    text = textwrap.dedent('''\
        import pendulum
        from airflow import DAG
        from airflow.operators.bash import BashOperator
        from airflow.operators.python import PythonOperator
        from airflow.providers.postgres.operators.postgres import PostgresOperator
        from airflow.decorators import task
        ''') + imports + textwrap.dedent(f'''

        def f():
            return 1

        with DAG("d", start_date=pendulum.datetime(2024, 1, 1), schedule=None, default_args={dag_defaults}):
        ''') + textwrap.indent(textwrap.dedent(task), "    ")
    return scaffold_task(text, "/dags/d.py", "d", "t", MODULE)


@pytest.mark.parametrize(("task", "dag_defaults", "option"), [
    ("BashOperator(task_id='t', bash_command='pwd')\n", '{"cwd": "/srv/prod"}', "cwd"),
    ("BashOperator(task_id='t', bash_command='pwd', default_args={'env': {'A': '1'}})\n", "None", "env"),
    ("PythonOperator(task_id='t', python_callable=f)\n", '{"op_kwargs": {"a": 1}}', "op_kwargs"),
    ("PostgresOperator(task_id='t', sql='SELECT 1')\n", '{"runtime_parameters": {"statement_timeout": "5s"}}',
     "runtime_parameters"),
    ("@task.bash(task_id='t')\ndef t():\n    return 'pwd'\nt()\n", '{"cwd": "/srv/prod"}', "cwd"),
])
def test_an_option_default_args_give_is_named(task, dag_defaults, option):
    result = _scaffold(task, dag_defaults)
    assert not result.changed
    assert result.reason.startswith((  # the SQL scaffold reads default_args itself, and says where
        f"the `default_args` of task `t` or of its DAG give it `{option}`, which Airflow passes to the operator "
        "and the scaffold does not read from there",
        f"the `default_args` of the DAG of task `t` give `{option}`, which the scaffold does not carry")), result.reason


@pytest.mark.parametrize("task", [
    "BashOperator(task_id='t', bash_command='pwd', cwd='/given')\n",  # the call's own wins, as in Airflow
    "PostgresOperator(task_id='t', sql='SELECT 1', postgres_conn_id='warehouse')\n",
])
def test_options_the_call_gives_itself_or_airflows_own_are_read(task):
    result = _scaffold(task, '{"cwd": "/srv/prod", "postgres_conn_id": "other", "retries": 3, "owner": "data"}')
    assert result.changed, result.reason


def test_the_connection_default_args_give_is_read():
    """The pattern of the providers' example DAGs: `default_args={"conn_id": ...}` for every SQL task."""
    result = _scaffold("PostgresOperator(task_id='t', sql='SELECT 1')\n", '{"postgres_conn_id": "warehouse"}')
    assert result.changed, result.reason
    assert 'AirflowConnection(conn_id="warehouse")' in result.text


def test_default_args_the_model_reads_beyond_the_file_count():
    """A dict merged from another, changed after, or a task group's: the model's keys, not the syntax."""
    result = _scaffold("BashOperator(task_id='t', bash_command='pwd')\n", "ARGS",
                       imports='BASE = {"owner": "data"}\nARGS = {**BASE}\nARGS["cwd"] = "/srv"\n')
    assert result.reason.startswith("the `default_args` of task `t` or of its DAG give it `cwd`"), result.reason
    unread = _scaffold("BashOperator(task_id='t', bash_command='pwd')\n", "make_defaults()",
                       imports="from team import make_defaults\n")
    assert unread.reason.startswith("the `default_args` of task `t` or of its DAG cannot be read statically")
