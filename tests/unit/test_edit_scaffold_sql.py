"""Scaffolding SQL tasks (SQLExecuteQueryOperator and the provider subclasses) as assets running
the same SQL through a resource keyed by the connection id: the module every task of
tests/fixtures/scaffold/sql_dag.py gives, idempotency, ``.sql`` templates found as Airflow finds
them, the registry, and each refusal with its reason."""

from __future__ import annotations

import pytest

from analysis.dags.dagfile import extract_file
from analysis.dagster.module import parse_dagster_module
from analysis.edits import EditResult
from analysis.edits.scaffold import can_scaffold
from analysis.edits.scaffold.families import scaffold_family
from analysis.edits.scaffold.plan_containers import CONTAINER_OPERATORS
from analysis.edits.scaffold.plan_pipes import PIPES_OPERATORS
from analysis.edits.scaffold.plan_sql import SQL_OPERATORS
from tests.support.scaffold_fixture import FIXTURES, FamilyFixture

FAMILY = FamilyFixture("sql", ("create_orders", "add_order", "build_totals", "report"))
DAG, MODULE, TASKS = FAMILY.dag, FAMILY.module, FAMILY.tasks
scaffold, scaffold_all = FAMILY.scaffold, FAMILY.scaffold_all


def test_every_sql_task_in_turn_gives_the_fixture():
    text = scaffold_all()
    assert text == FAMILY.all_scaffolded
    module = parse_dagster_module("definitions.py", text)
    assert module.error is None and len(module.mappings) == 4
    assert text.count("class AirflowConnection(") == 1
    assert text.count("AIRFLOW_CONN_WAREHOUSE_DB = ") == 1  # one resource for the connection
    assert '    sql = _airflow_sql_file("sql/totals.sql")\n' in text


def test_scaffolding_again_changes_nothing():
    FAMILY.assert_scaffolding_again_changes_nothing()


def test_every_operator_with_a_plan_is_in_the_registry():
    for operator, family in [*((o, "sql") for o in SQL_OPERATORS),
                             *((o, "pipes-subprocess") for o in PIPES_OPERATORS),
                             *((o, f"pipes-{c}") for o, c in CONTAINER_OPERATORS.items())]:
        assert scaffold_family(operator) == family, operator


HEAD = '''\
import pendulum
from airflow import DAG
from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator
from airflow.providers.postgres.operators.postgres import PostgresOperator

QUERY = "SELECT 1"
with DAG("sql", start_date=pendulum.datetime(2024, 1, 1), template_searchpath=SEARCHPATH):
'''.replace("SEARCHPATH", repr([str(FIXTURES / "sql" / "queries")]))

MODULE_T = MODULE.read_text().replace('"create_orders"', '"t"')


def test_a_template_is_found_in_the_template_searchpath_and_a_provider_default_connection_used():
    text = HEAD + "    PostgresOperator(task_id='t', sql='one.sql')\n"
    result = scaffold(MODULE_T, "t", text, FIXTURES / "sql_dag.py")
    assert result.changed, result.reason
    assert '    sql = _airflow_sql_file("sql/queries/one.sql")\n' in result.text
    assert '    with context.resources.postgres_default.get_connection() as connection:\n' in result.text


REFUSALS = {
    "SQLExecuteQueryOperator(task_id='t', conn_id='db', sql='SELECT {{ ds }}')":
        "the `sql` of task `t` uses Jinja ('SELECT {{ ds }}'), which only Airflow renders",
    "SQLExecuteQueryOperator(task_id='t', conn_id='db', sql='templated.sql')":
        "the SQL file of task `t` (templated.sql) uses Jinja, which only Airflow renders",
    "SQLExecuteQueryOperator(task_id='t', conn_id='db', sql='missing.sql')":
        "the SQL file of task `t` (missing.sql) is not in the DAG's folder or template_searchpath",
    "SQLExecuteQueryOperator(task_id='t', conn_id='db', sql='SELECT 1; SELECT 2', split_statements=True)":
        "task `t` splits its SQL into statements (`split_statements=True`) as sqlparse does: give "
        "a list of statements to scaffold it",
    "SQLExecuteQueryOperator(task_id='t', conn_id='db', sql=open('query.sql').read())":
        "the `sql` of task `t` is not a literal or a module-level constant (`open('query.sql').read()`): "
        "it cannot be read statically",
    "SQLExecuteQueryOperator(task_id='t', sql=QUERY)":
        "task `t` has no `conn_id`: which connection it uses is unknown",
    "SQLExecuteQueryOperator(task_id='t', conn_id='db', sql=QUERY, handler=print)":
        "task `t` uses `handler`, which the scaffold does not carry: scaffold it by hand",
    "SQLExecuteQueryOperator(task_id='t', conn_id='db', sql=QUERY, database='other')":
        "task `t` overrides its connection's database or hook parameters: bind a resource for "
        "that database under `db` by hand",
    "SQLExecuteQueryOperator(task_id='t', conn_id='db', sql=[])":
        "task `t` has no SQL written out (a string or a list of strings)",
}


@pytest.mark.parametrize("code", list(REFUSALS), ids=range(len(REFUSALS)))
def test_what_only_airflow_can_run_is_refused_with_its_reason(code):
    text = HEAD.replace(str(FIXTURES / "sql" / "queries"), str(FIXTURES / "sql")) + "    " + code + "\n"
    assert scaffold(MODULE_T, "t", text, FIXTURES / "sql_dag.py") == EditResult.refuse(REFUSALS[code])
    if "missing" not in code and "templated" not in code:  # files are looked for by the edit only
        task = extract_file("d.py", text).dag("sql").task("t")
        assert can_scaffold(text, task) == REFUSALS[code]


def test_a_relative_template_searchpath_is_refused():
    # Airflow reads it from its working directory, which the DAG file does not say
    text = HEAD.replace(repr([str(FIXTURES / "sql" / "queries")]), "['sql/queries']") + \
        "    SQLExecuteQueryOperator(task_id='t', conn_id='db', sql='one.sql')\n"
    assert scaffold(MODULE_T, "t", text) == EditResult.refuse(
        "the `template_searchpath` of the DAG of task `t` has relative folders, which Airflow "
        "reads from its working directory: give absolute ones")
