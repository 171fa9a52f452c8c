'''The asset of a sensor task (FileSensor, PythonSensor, SqlSensor, ExternalTaskSensor): it
waits as the sensor waits.

What keeps the semantics: once the task is proxied, dagster-airlift's proxy operator launches a
Dagster run of the task's assets and waits for it, so the sensor's waiting must happen in that
run. The asset pokes (the file pattern, as FileSensor globs it; or the callable with the task's
arguments) every ``poke_interval`` seconds until it holds, and raises ``dagster.Failure``
(without retries, as Airflow does not retry a sensor's timeout) once ``timeout`` seconds have
passed; an exception from a poke fails the run at once, as it fails the task. ``mode=
"reschedule"`` and ``deferrable=True`` free Airflow's worker slot between pokes; the Dagster run
waits in its process instead, with the same outcome. After decommissioning, the Dagster way is
a ``@sensor`` requesting the downstream assets (scaffold it by hand; the poke helpers serve).

A FileSensor's relative ``filepath`` is joined, as Airflow joins it, to the base path of its
``fs_conn_id`` connection, read as Airflow reads it from ``AIRFLOW_CONN_<CONN_ID>`` (JSON with
``extra.path``, or a URI with ``?path=``); without it, ``fs_default`` is Airflow's default
connection, whose path is ``/``. A SqlSensor's query runs through the resource the SQL
scaffolds key by its ``conn_id`` (``asset_sql``: by default the module's ``AirflowConnection``);
its first row's first cell is the condition (no row: not yet, or a failure with
``fail_on_empty``). An ExternalTaskSensor's asset depends on the external tasks' assets and waits
until each was materialized after it last was (``_airflow_materialized_anew``): Dagster has no
logical date to match runs by, and dagster-airlift records those materializations for tasks
still run by Airflow too.

A TriggerDagRunOperator's asset starts a run of the DAG in Airflow through the module's
``AirflowInstance`` (``trigger_dag``; ``get_run_state`` every ``poke_interval`` with
``wait_for_completion``), because a proxied task no longer runs the operator and nothing else
would start that DAG while it is in Airflow. Launching Dagster runs from an asset is not a
Dagster idiom: once the triggered DAG runs in Dagster, its assets should depend on this one with
an automation condition (or a sensor on it) instead, as the asset's docstring says.
'''

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import libcst as cst

from analysis.dagster.lineage import key_parts
from analysis.edits.layout import Group
from analysis.edits.scaffold import asset_sql
from analysis.edits.scaffold.asset_commands import fresh
from analysis.edits.scaffold.asset_pipes import literal_doc
from analysis.edits.scaffold.plan import Plan

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit

WAIT = "_airflow_wait_for"
FILE_FOUND = "_airflow_file_found"
FS_PATH = "_airflow_fs_path"
MATERIALIZED_SINCE = "_airflow_materialized_anew"
SQL_CONDITION = "_airflow_sql_condition"
TRIGGER = "_airflow_trigger_dag"

DEFINITIONS = {
    WAIT: ('''\
def _airflow_wait_for(poke, *, poke_interval: float, timeout: float, what: str) -> None:
    """Call `poke` until it returns a truthy value, as an Airflow sensor does: every
    `poke_interval` seconds, failing (dagster.Failure, not retried) when `timeout` seconds have
    passed with no success. An exception raised by `poke` fails at once, as in Airflow."""
    log = dagster.get_dagster_logger()
    started = time.monotonic()
    while True:
        if poke():
            log.info(f"{what}: success criteria met")
            return
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            message = (f"{what} has timed out: run duration of {elapsed:.1f} seconds exceeds "
                       f"the specified timeout of {timeout}")
            raise dagster.Failure(message, allow_retries=False)
        log.info(f"{what}: not yet, poking again in {poke_interval} seconds")
        time.sleep(poke_interval)
''', ("dagster", "time")),
    FILE_FOUND: ('''\
def _airflow_file_found(path: str, *, recursive: bool = False) -> bool:
    """Whether `path` (a glob pattern) matches a file, or a folder holding files at any depth,
    as Airflow's FileSensor pokes."""
    for found in glob.glob(path, recursive=recursive):
        if os.path.isfile(found):
            return True
        for _, _, files in os.walk(found):
            if files:
                return True
    return False
''', ("glob", "os")),
    FS_PATH: ('''\
def _airflow_fs_path(conn_id: str) -> str:
    """The base path of Airflow filesystem connection `conn_id`, read as Airflow reads it from
    the environment (AIRFLOW_CONN_<CONN_ID>: JSON with extra.path, or a URI with ?path=);
    fs_default is otherwise Airflow's default connection, whose path is "/"."""
    value = os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}")
    if not value:
        if conn_id == "fs_default":
            return "/"
        message = f"AIRFLOW_CONN_{conn_id.upper()} is not set: give connection {conn_id} there"
        raise dagster.Failure(message)
    if value.lstrip().startswith("{"):
        extra = json.loads(value).get("extra") or {}
        extra = json.loads(extra) if isinstance(extra, str) else extra
    else:
        extra = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(value).query))
    return extra.get("path", "")
''', ("dagster", "os", "json", "urllib.parse")),
    MATERIALIZED_SINCE: ('''\
def _airflow_materialized_anew(context: dagster.AssetExecutionContext, upstream: list) -> bool:
    """Whether every `upstream` asset was materialized after the assets of this run last were
    (at all, if they never were): an ExternalTaskSensor's wait for the external task's run of
    the same period, as assets say it. Materializations of tasks still run by Airflow come from
    dagster-airlift's observations of their runs."""
    instance = context.instance
    own = [instance.get_latest_materialization_event(key) for key in context.selected_asset_keys]
    since = min((event.timestamp for event in own if event is not None), default=None)
    for key in upstream:
        event = instance.get_latest_materialization_event(key)
        if event is None or (since is not None and event.timestamp <= since):
            return False
    return True
''', ("dagster",)),
    SQL_CONDITION: ('''\
def _airflow_sql_condition(resource, sql: str, parameters=None, *, fail_on_empty: bool = False) -> bool:
    """Whether the first cell of the first row `sql` gives is truthy, as Airflow's SqlSensor
    pokes, through `resource` (get_connection(): a DB-API connection, as for the SQL scaffolds).
    No row is "not yet", or a failure with `fail_on_empty`."""
    with resource.get_connection() as connection:
        cursor = connection.cursor()
        try:
            if parameters:
                cursor.execute(sql, parameters)
            else:
                cursor.execute(sql)
            row = cursor.fetchone()
        finally:
            cursor.close()
    if row is None:
        if fail_on_empty:
            raise dagster.Failure("No rows returned, raising as per fail_on_empty flag")
        return False
    return bool(row[0])
''', ("dagster",)),
    TRIGGER: ('''\
def _airflow_trigger_dag(airflow, dag_id: str, *, wait_for: tuple | None = None,
                         poke_interval: float = 60) -> None:
    """Start a run of Airflow DAG `dag_id` through dagster-airlift's AirflowInstance `airflow`,
    as Airflow's TriggerDagRunOperator does. With `wait_for` (the run states that succeed, those
    that fail), check the run's state every `poke_interval` seconds until it is one of them."""
    log = dagster.get_dagster_logger()
    run_id = airflow.trigger_dag(dag_id)
    log.info(f"triggered run {run_id} of Airflow DAG {dag_id}")
    if wait_for is None:
        return
    allowed, failed = wait_for
    while True:
        log.info(f"waiting for {dag_id} run {run_id} to become one of {list(allowed)}")
        time.sleep(poke_interval)
        state = airflow.get_run_state(dag_id, run_id)
        if state in failed:
            raise dagster.Failure(f"{dag_id} failed with failed states {state}")
        if state in allowed:
            log.info(f"{dag_id} finished with allowed state {state}")
            return
''', ("dagster", "time")),
}


def owns(name: str) -> bool:
    return name in DEFINITIONS


def problem(plan: Plan) -> str | None:
    return None


def helpers(plan: Plan) -> list[str]:
    if plan.sensor.trigger is not None:
        return [TRIGGER]
    if plan.sensor.external is not None:
        return [WAIT, MATERIALIZED_SINCE]
    if plan.sql is not None:  # the SQL scaffolds' connection resource, not their runner
        return [WAIT, SQL_CONDITION, *(h for h in asset_sql.helpers(plan)
                                       if h not in (asset_sql.RUN_SQL, asset_sql.SQL_FILE))]
    if plan.sensor.filepath is None:
        return [WAIT]
    return [WAIT, FILE_FOUND, *([] if _absolute(plan.sensor.filepath) else [FS_PATH])]


def about(where: str, plan: Plan) -> str:
    sensor = plan.sensor
    what = f"the file `{sensor.filepath}`" if sensor.filepath is not None else "its callable"
    if plan.sql is not None:
        what = (f"its query to be truthy, run through the resource `{plan.sql.resource_key}` "
                f"(Airflow connection `{plan.sql.conn_id}`),")
    if sensor.trigger is not None:
        waits = (f", and waits for it to finish (every {_number(sensor.poke_interval)} s)"
                 if sensor.states else "")
        return (f"Scaffolded by airlift-lsp from {where} (TriggerDagRunOperator): starts a run of "
                f"Airflow DAG `{sensor.trigger}` through this module's AirflowInstance, as the task "
                f"did{waits}, so that the proxied task still starts it. Once `{sensor.trigger}` runs "
                "in Dagster, have its assets depend on this one with an automation condition "
                "instead.")
    if sensor.external is not None:
        dag_id, task_ids = sensor.external
        tasks = ", ".join(f"`{dag_id}.{t}`" for t in task_ids)
        on = f"on {tasks}): depends on their assets" if tasks else \
            f"on DAG `{dag_id}`): depends on the asset of its successful runs"
        return (f"Scaffolded by airlift-lsp from {where} (ExternalTaskSensor {on} and waits until each is materialized anew (since this asset last "
                f"was), poking every {_number(sensor.poke_interval)} s and failing after "
                f"{_number(sensor.timeout)} s, so that the proxied task waits in this run.")
    return (f"Scaffolded by airlift-lsp from {where} ({sensor.operator}): waits for {what} as the "
            f"sensor does, poking every {_number(sensor.poke_interval)} s and failing after "
            f"{_number(sensor.timeout)} s, so that the proxied task waits in this run.")


def signature(edit: ModuleEdit, plan: Plan) -> str:
    if plan.sensor.external is not None or plan.sql is not None:
        return f"(context: {edit.dagster_name('AssetExecutionContext')}) -> None"
    return "() -> None"


def decorator_options(edit: ModuleEdit, plan: Plan) -> tuple[str, ...]:
    return asset_sql.decorator_options(edit, plan) if plan.sql is not None else ()


def tail(edit: ModuleEdit, plan: Plan, places=None) -> list[str]:
    """A FileSensor's, SqlSensor's or ExternalTaskSensor's wait, or a TriggerDagRunOperator's run."""
    sensor = plan.sensor
    if sensor.trigger is not None:
        return _trigger(edit, plan)
    if sensor.external is not None:
        keys = edit.render(Group("[", tuple(_asset_key(edit, k) for k in sensor.upstream), "]"), 2 * len(edit.unit))
        return wait(edit, plan, f"{MATERIALIZED_SINCE}(context, {keys})")
    if plan.sql is not None:
        sql = plan.sql
        arguments = [f"context.resources.{sql.resource_key}", "sql"]
        if sql.parameters is not None:
            doc = literal_doc(edit, sql.parameters)
            arguments.append(doc if isinstance(doc, str) else edit.render(doc, 2 * len(edit.unit)))
        if sensor.fail_on_empty:
            arguments.append("fail_on_empty=True")
        name = fresh("sql", plan.mentioned)
        return [f"{name} = {asset_sql.sql_literal(edit, sql.statements)}",
                *wait(edit, plan, f"{SQL_CONDITION}({', '.join(arguments)})")]
    lines = []
    path = edit.literal(sensor.filepath)
    if not _absolute(sensor.filepath):  # os.path.join drops the base path of an absolute one
        name = fresh("path", plan.mentioned)
        join = f"{edit.module_reference('os', plan)}.path.join"
        lines.append(f"{name} = {join}({FS_PATH}({edit.literal(sensor.conn_id)}), {path})")
        path = name
    recursive = ", recursive=True" if sensor.recursive else ""
    return lines + wait(edit, plan, f"{FILE_FOUND}({path}{recursive})")


def wait(edit: ModuleEdit, plan: Plan, poke: str) -> list[str]:
    """``_airflow_wait_for`` on ``poke`` (an expression: the sensor's condition)."""
    sensor = plan.sensor
    what = f"{sensor.operator} `{edit.task_id}`"
    options = (f"lambda: {poke}", f"poke_interval={_number(sensor.poke_interval)}",
               f"timeout={_number(sensor.timeout)}", f"what={edit.literal(what)}")
    return [edit.render(Group(f"{WAIT}(", options, ")"), len(edit.unit))]


def airflow_instances(module: cst.Module) -> list[tuple[str, str | None]]:
    """The module's top-level ``name = AirflowInstance(...)``: each name and its ``name=`` text."""
    found = []
    for statement in module.body:
        for small in statement.body if isinstance(statement, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Assign) and isinstance(small.value, cst.Call) \
                    and _called(small.value.func) == "AirflowInstance":
                given = next((a.value for a in small.value.args if a.keyword and a.keyword.value == "name"), None)
                text = given.evaluated_value if isinstance(given, cst.SimpleString) else None
                found += [(t.target.value, text) for t in small.targets if isinstance(t.target, cst.Name)]
    return found


def dag_asset_key(module: cst.Module, dag_id: str) -> str | None:
    """The key dagster-airlift gives the asset of DAG ``dag_id``'s successful runs,
    ``<instance name>/dag/<dag_id>``, when the module names one AirflowInstance; else None."""
    instances = airflow_instances(module)
    if len(instances) != 1 or not isinstance(instances[0][1], str):
        return None
    return f"{instances[0][1]}/dag/{re.sub(r'[^A-Za-z0-9_]', lambda m: '__' if m[0] == '/' else '_', dag_id)}"


def _trigger(edit: ModuleEdit, plan: Plan) -> list[str] | str:
    sensor = plan.sensor
    instances = [name for name, _ in airflow_instances(edit.module)]
    if len(instances) != 1:
        return ("the Dagster module does not bind one AirflowInstance to a name at its top (`airflow_instance "
                f"= AirflowInstance(...)`), through which the asset would trigger `{sensor.trigger}`")
    options = [instances[0], edit.literal(sensor.trigger)]
    if sensor.states is not None:
        allowed, failed = (f"({''.join(edit.literal(s) + ', ' for s in states).rstrip(' ')})"
                           for states in sensor.states)
        options += [f"wait_for=({allowed}, {failed})", f"poke_interval={_number(sensor.poke_interval)}"]
    return [edit.render(Group(f"{TRIGGER}(", tuple(options), ")"), len(edit.unit))]


def _called(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    return func.attr.value if isinstance(func, cst.Attribute) else None


def upstream_specs(edit: ModuleEdit, plan: Plan, specs: tuple) -> tuple:
    """The task's specs (their code) with the upstream assets as deps."""
    deps = f"deps=[{', '.join(_asset_key(edit, k) for k in plan.sensor.upstream)}]"
    return tuple(f"*[spec.merge_attributes({deps}) for spec in {s[1:]}]" if s.startswith("*")
                 else f"{s}.merge_attributes({deps})" for s in specs)


def _asset_key(edit: ModuleEdit, key: str) -> str:
    """``AssetKey([...])`` of a user string (``a/b``; ``\\/`` is a slash inside a part)."""
    return f"{edit.dagster_name('AssetKey')}([{', '.join(edit.literal(p) for p in key_parts(key))}])"


def _absolute(path: str) -> bool:
    return path.startswith("/")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
