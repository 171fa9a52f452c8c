"""The plan of a SQL task: ``SQLExecuteQueryOperator`` and the provider operators that are thin
subclasses of it (``SqliteOperator``, ``PostgresOperator``, ``MySqlOperator``, ...), scaffolded
as the same statements run through a Dagster resource keyed by the task's connection id.

``sql`` must be static: a string, a list of strings (literals or module-level constants), or
the path of a ``.sql`` file, which Airflow reads as a template from the DAG's folder or its
``template_searchpath`` (absolute folders, written out): the file is looked for there (the one read the plan
makes) and refused when it is missing or uses Jinja; the asset reads it when it runs, as
Airflow does. Refused with the reason: Jinja, ``split_statements=True`` (Airflow splits with
sqlparse), a ``handler`` of the user's, options only Airflow honours, and values that cannot be
read statically.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass

from analysis.edits.scaffold.plan_common import Plan, has_jinja, jinja, jinja_in_value, operator_call_problem
from analysis.edits.scaffold.plan_options import operator_options
from analysis.edits.scaffold.plan_values import NOT_STATIC, static_value
from analysis.edits.scaffold.statements import DagFile, Unit
from analysis.facts import TaskFacts

SQL_OPERATORS = {
    "SQLExecuteQueryOperator": ("conn_id", None),
    "SqliteOperator": ("sqlite_conn_id", "sqlite_default"),
    "PostgresOperator": ("postgres_conn_id", "postgres_default"),
    "MySqlOperator": ("mysql_conn_id", "mysql_default"),
    "MsSqlOperator": ("mssql_conn_id", "mssql_default"),
    "OracleOperator": ("oracle_conn_id", "oracle_default"),
    "SnowflakeOperator": ("snowflake_conn_id", "snowflake_default"),
    "TrinoOperator": ("trino_conn_id", "trino_default"),
    "VerticaOperator": ("vertica_conn_id", "vertica_default"),
    "JdbcOperator": ("jdbc_conn_id", "jdbc_default"),
}
"""The SQL operators: the option naming their connection, and its default."""
_SQL_PARAMETERS = frozenset({"conn_id", "database", "hook_params", "retry_on_failure", "sql", "autocommit",
                             "parameters", "handler", "output_processor", "split_statements", "return_last",
                             "show_return_value_in_logs", "requires_result_fetch"})
"""``SQLExecuteQueryOperator``'s own parameters and its ``BaseSQLOperator``'s (common.sql 1.x)."""
_OWN_PARAMETERS = {
    "PostgresOperator": frozenset({"runtime_parameters"}),
    "SnowflakeOperator": frozenset({"warehouse", "role", "schema", "authenticator", "session_parameters"}),
    "JdbcOperator": frozenset({"driver_path", "driver_class"}),
}
"""Parameters of the provider operators' own besides their connection's (which ``default_args``
may give them, as any other)."""
def sql_parameters(operator: str) -> frozenset[str]:
    """What the SQL ``operator`` takes besides every operator's: the common SQL operator's, its
    own, and the option naming its connection."""
    return _SQL_PARAMETERS | _OWN_PARAMETERS.get(operator, frozenset()) | {SQL_OPERATORS[operator][0]}


_CARRIED = {"sql", "parameters", "autocommit", "split_statements", "return_last", "database",
            "show_return_value_in_logs", "hook_params"}


@dataclass(frozen=True, slots=True)
class SqlPlan:
    """The connection's resource key and the statements, or the ``.sql`` file to read."""

    conn_id: str
    resource_key: str
    statements: str | tuple[str, ...] | None
    """The SQL as written; None when it is read from ``file``."""
    file: str | None
    """The ``.sql`` file's path, in the same coordinates as the DAG file's."""
    parameters: object


def sql_plan(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit,
             dag_path: str | None = None, read=None) -> Plan | str:
    """``read(path) -> str | None`` reads a ``.sql`` file (None when missing); without it (or
    ``dag_path``) a task whose SQL is a file is refused."""
    name = f"task `{task.task_id}`"
    option, default = SQL_OPERATORS[task.operator]
    problem = operator_call_problem(dag, task, call)
    if problem:
        return problem
    parameters = _SQL_PARAMETERS | _OWN_PARAMETERS.get(task.operator, frozenset()) | {option}
    given = operator_options(dag, dag_unit, call, name, parameters, task)  # the call's, and default_args'
    if isinstance(given, str):
        return given
    values: dict[str, object] = {}
    for argument, (node, where) in given.items():
        if argument not in _CARRIED and argument != option:
            return f"{where} `{argument}`, which the scaffold does not carry: scaffold it by hand"
        value = static_value(dag, node)
        if value is NOT_STATIC:
            return (f"the `{argument}` of {name} is not a literal or a module-level constant "
                    f"(`{ast.unparse(node)}`): it cannot be read statically")
        text = jinja(node) or jinja_in_value(value)
        if text is not None:
            return f"the `{argument}` of {name} uses Jinja ({text!r}), which only Airflow renders"
        values[argument] = value
    conn_id = values.get(option, default)
    if not isinstance(conn_id, str) or not conn_id:
        return f"{name} has no `{option}`: which connection it uses is unknown"
    if values.get("split_statements"):
        return (f"{name} splits its SQL into statements (`split_statements=True`) as sqlparse "
                "does: give a list of statements to scaffold it")
    if values.get("database") is not None or values.get("hook_params"):
        return (f"{name} overrides its connection's database or hook parameters: bind a resource "
                f"for that database under `{resource_key(conn_id)}` by hand")
    sql = values.get("sql")
    file = None
    if isinstance(sql, str) and sql.strip().endswith(".sql"):
        found = _template(dag, dag_unit, sql.strip(), dag_path, read)
        if found.startswith("!"):
            return found[1:].format(name=name)
        sql, file = None, found
    elif isinstance(sql, list) and sql and all(isinstance(s, str) for s in sql):
        if any(s.strip().endswith(".sql") for s in sql):
            return f"{name} lists `.sql` files: scaffold it by hand"
        sql = tuple(sql)
    elif not (isinstance(sql, str) and sql.strip()):
        return f"{name} has no SQL written out (a string or a list of strings)"
    parameters = values.get("parameters")
    return Plan("SQL", task.operator, (), None, frozenset(), False, frozenset(), {},
                frozenset(), sql=SqlPlan(conn_id, resource_key(conn_id), sql, file, parameters))


def resource_key(conn_id: str) -> str:
    """The Dagster resource key of a connection id: what Dagster rejects in names made ``_``."""
    key = re.sub(r"[^A-Za-z0-9_]", "_", conn_id)
    return "_" + key if key[0].isdigit() else key


def _template(dag: DagFile, dag_unit: Unit, path: str, dag_path: str | None, read) -> str:
    """The ``.sql`` file's path as Airflow finds it, or ``!`` and why not."""
    searchpath = _dag_option(dag, dag_unit, "template_searchpath")
    if searchpath is NOT_STATIC:
        return "!the `template_searchpath` of the DAG of {name} cannot be read statically"
    if isinstance(searchpath, str):
        searchpath = [searchpath]
    if dag_path is None or read is None:  # not looked for: the edit will
        return path
    folders = [os.path.dirname(dag_path)]
    if isinstance(searchpath, list):
        if not all(isinstance(p, str) and os.path.isabs(p) for p in searchpath):
            return ("!the `template_searchpath` of the DAG of {name} has relative folders, which "
                    "Airflow reads from its working directory: give absolute ones")
        folders += searchpath
    elif searchpath is not None:
        return "!the `template_searchpath` of the DAG of {name} is not a list of folders"
    for folder in folders:
        candidate = os.path.normpath(os.path.join(folder, path))
        text = read(candidate)
        if text is None:
            continue
        if has_jinja(text):
            return f"!the SQL file of {{name}} ({path}) uses Jinja, which only Airflow renders"
        return candidate
    return f"!the SQL file of {{name}} ({path}) is not in the DAG's folder or template_searchpath"


def _dag_option(dag: DagFile, dag_unit: Unit, option: str) -> object:
    """A static option of the DAG the task is in (its ``DAG(...)``/``@dag(...)`` call)."""
    for statement in dag_unit.statements:
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and dag.qualified(node.func).rsplit(".", 1)[-1] in ("DAG", "dag"):
                for keyword in node.keywords:
                    if keyword.arg == option:
                        return static_value(dag, keyword.value)
    return None

