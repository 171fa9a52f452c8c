'''The asset of a SQL task: the same statements, run through a Dagster resource keyed by the
task's connection id (``conn_id`` -> resource key, characters Dagster rejects made ``_``).

The resource is anything whose ``get_connection()`` is a context manager giving a DB-API
connection (dagster-duckdb's ``DuckDBResource``, dagster-snowflake's ``SnowflakeResource``...).
So that the module loads and runs as it is, the asset declares (``resource_defs``) the
module-level ``AIRFLOW_CONN_<KEY>``: an ``AirflowConnection`` (written once into the module)
that reads the connection as Airflow reads it from the environment, ``AIRFLOW_CONN_<CONN_ID>``
(a URI or JSON), and connects with the standard library's sqlite3 for ``sqlite`` (its host is
the database file, as in Airflow), or psycopg2 for ``postgres``/``postgresql`` when installed.
For any other database bind your own resource under the key (and drop ``resource_defs``).

The statements run as ``SQLExecuteQueryOperator`` runs them: a string as one statement, a list
one by one, each with ``parameters``, then a commit. A ``.sql`` file is read when the asset runs,
from where Airflow found it. What Airflow pushes to XCom (the rows of a string's statement, a
list of each statement's rows for a list) is reported as the ``result`` metadata of each asset.
'''

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.edits.layout import Group
from analysis.edits.scaffold.asset_pipes import literal_doc
from analysis.edits.scaffold.plan import Plan

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit

CONNECTION = "AirflowConnection"
RUN_SQL = "_airflow_run_sql"
SQL_FILE = "_airflow_sql_file"
_PREFIX = "AIRFLOW_CONN_"

DEFINITIONS = {
    CONNECTION: ('''\
class AirflowConnection(dagster.ConfigurableResource):
    """An Airflow connection, read as Airflow reads it from the environment
    (AIRFLOW_CONN_<CONN_ID>: a URI, or JSON with conn_type, host, schema, login, password, port).
    get_connection() gives a DB-API connection, as dagster-duckdb's DuckDBResource does: sqlite3
    for sqlite (the host is the database file), psycopg2 for postgres."""

    conn_id: str

    @contextlib.contextmanager
    def get_connection(self):
        variable = f"AIRFLOW_CONN_{self.conn_id.upper()}"
        value = os.environ.get(variable)
        if not value:
            raise RuntimeError(f"{variable} is not set: give connection {self.conn_id} there")
        if value.lstrip().startswith("{"):
            fields = json.loads(value)
        else:  # Airflow's URI: conn_type://login:password@host:port/schema, each part quoted
            uri = urllib.parse.urlsplit(value)
            host = uri.netloc.rpartition("@")[2]
            fields = {"conn_type": uri.scheme, "port": uri.port,
                      "host": urllib.parse.unquote(host.rpartition(":")[0] if uri.port else host),
                      "schema": urllib.parse.unquote(uri.path[1:]),
                      "login": urllib.parse.unquote(uri.username or ""),
                      "password": urllib.parse.unquote(uri.password or "")}
        kind = fields.get("conn_type", "").replace("-", "_")
        if kind == "sqlite":
            connection = sqlite3.connect(fields.get("host") or fields.get("schema"))
        elif kind in ("postgres", "postgresql"):
            import psycopg2

            connection = psycopg2.connect(host=fields.get("host"), port=fields.get("port"),
                                          dbname=fields.get("schema"), user=fields.get("login"),
                                          password=fields.get("password"))
        else:
            raise RuntimeError(f"connection {self.conn_id} is a {kind!r} connection: bind a resource "
                               "with get_connection() for it in place of this one")
        try:
            yield connection
        finally:
            connection.close()
''', ("dagster", "contextlib", "os", "json", "urllib.parse", "sqlite3")),
    RUN_SQL: ('''\
def _airflow_run_sql(context: dagster.AssetExecutionContext, connection, sql, parameters=None):
    """Run `sql` on a DB-API connection as Airflow's SQLExecuteQueryOperator does (a string as
    one statement, a list one by one, each with `parameters`, then a commit), and materialize
    each asset with what Airflow pushes to XCom (the rows; for a list, each statement's) as its
    `result` metadata."""
    results = []
    cursor = connection.cursor()
    try:
        for statement in [sql] if isinstance(sql, str) else sql:
            if parameters:
                cursor.execute(statement, parameters)
            else:
                cursor.execute(statement)
            results.append([list(row) for row in cursor.fetchall()] if cursor.description else None)
    finally:
        cursor.close()
    connection.commit()
    result = results[-1] if isinstance(sql, str) else results
    value = dagster.MetadataValue.json(json.loads(json.dumps(result, default=str)))
    for key in context.selected_asset_keys:
        yield dagster.MaterializeResult(asset_key=key, metadata={"result": value})
''', ("dagster", "json")),
    SQL_FILE: ('''\
def _airflow_sql_file(path: str) -> str:
    """The text of a .sql file that an Airflow task runs (given relative to this file), read
    when the asset runs, as Airflow reads it."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.normpath(os.path.join(here, path)), encoding="utf-8") as file:
        return file.read()
''', ("os",)),
}


def owns(name: str) -> bool:
    return name in DEFINITIONS or name.startswith(_PREFIX)


def _constant_name(plan: Plan) -> str:
    return _PREFIX + plan.sql.resource_key.upper()


def problem(plan: Plan) -> str | None:
    return None


def helpers(plan: Plan) -> list[str]:
    return [CONNECTION, RUN_SQL, *([SQL_FILE] if plan.sql.file else []), _constant_name(plan)]


def about(where: str, plan: Plan) -> str:
    return (f"Scaffolded by airlift-lsp from {where} ({plan.label}): the same SQL, run through the "
            f"resource `{plan.sql.resource_key}` (Airflow connection `{plan.sql.conn_id}`).")


def signature(edit: ModuleEdit, plan: Plan) -> str:
    return f"(context: {edit.dagster_name('AssetExecutionContext')})"


def decorator_options(edit: ModuleEdit, plan: Plan) -> tuple[str, ...]:
    return keyed_resource(edit, plan.sql.resource_key, _constant_name(plan))


def keyed_resource(edit: ModuleEdit, key: str, constant_name: str) -> tuple[str, ...]:
    """The decorator's options of an asset that reads resource ``key`` from its context, bound by
    default to the module-level ``constant_name`` (the user may bind another under the key)."""
    literal = edit.literal(key)
    return (f"required_resource_keys={{{literal}}}", f"resource_defs={{{literal}: {constant_name}}}")


def constant(edit: ModuleEdit, name: str, plan: Plan) -> str:
    connection = f"{CONNECTION}(conn_id={edit.literal(plan.sql.conn_id)})"
    head = f"{name} = {edit.dagster_name('ResourceDefinition')}.hardcoded_resource("
    return edit.render(Group(head, (connection,), ")"), 0) + edit.newline


def tail(edit: ModuleEdit, plan: Plan, places=None) -> list[str] | str:
    sql = plan.sql
    unit, inner = len(edit.unit), 2 * len(edit.unit)
    if sql.file is not None:
        relative = places.relative(sql.file) if places is not None else None
        if relative is None:
            return "the Dagster module's path is needed to read the task's .sql file from it"
        statements = f"{SQL_FILE}({edit.literal(relative)})"
    else:
        statements = sql_literal(edit, sql.statements) if isinstance(sql.statements, str) else \
            edit.render(Group("[", tuple(sql_literal(edit, s) for s in sql.statements), "]"), unit)
    lines = [f"sql = {statements}"]
    arguments = ["context", "connection", "sql"]
    if sql.parameters is not None:
        arguments.append(edit.render(literal_doc(edit, sql.parameters, "parameters="), inner))
    lines.append(f"with context.resources.{sql.resource_key}.get_connection() as connection:")
    lines.append(edit.unit + edit.render(Group(f"yield from {RUN_SQL}(", tuple(arguments), ")"), inner))
    return lines


def sql_literal(edit: ModuleEdit, sql: str) -> str:
    """A SQL string as code: over several lines as a triple-quoted string (its text kept as it
    is), else quoted as the module quotes."""
    if "\n" in sql and '"""' not in sql and "\\" not in sql and not sql.endswith('"'):
        return '"""' + sql.replace("\n", edit.newline) + '"""'
    return edit.literal(sql)
