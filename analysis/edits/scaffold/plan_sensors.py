"""Sensors: a ``FileSensor``, ``PythonSensor``, ``SqlSensor`` or ``ExternalTaskSensor`` task
waits, poking every ``poke_interval`` seconds until its condition holds, and fails once
``timeout`` seconds have passed. Once such a task is proxied, dagster-airlift's proxy operator
runs its assets in Dagster and waits for that run, so the asset must do the waiting: its plan
carries the poke (the file pattern; the python callable, planned as a ``PythonOperator``'s; the
query and its connection, as the SQL scaffolds key it; the external tasks, whose mapped assets
``with_upstream`` finds) and the interval and timeout, read statically from the task's arguments
or the ``default_args`` of its DAG, its task groups and its own, as Airflow merges them. A ``TriggerDagRunOperator`` is planned
here too: its asset starts the run in Airflow and may wait for it (``trigger_plan``).

Refused, with why: ``soft_fail``/``never_fail`` (Airflow then skips the task, which a Dagster run
cannot tell the proxy), ``silent_fail``, ``exponential_backoff``, Jinja (only Airflow renders
it), values that cannot be read statically, and what an asset cannot wait for the same way.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
from dataclasses import dataclass

from analysis.edits.scaffold.plan_common import Plan, has_jinja, jinja_in_value, operator_call_problem
from analysis.edits.scaffold.plan_options import BASE_OPERATOR, defaults_problem
from analysis.edits.scaffold.plan_dag import default_args, own_default_args
from analysis.edits.scaffold.plan_values import NOT_STATIC, static_value
from analysis.edits.scaffold.plan_sql import SqlPlan, resource_key
from analysis.edits.scaffold.statements import DagFile, Unit
from analysis.facts import TaskFacts

FILE_SENSOR = "FileSensor"
PYTHON_SENSOR = "PythonSensor"
EXTERNAL_TASK_SENSOR = "ExternalTaskSensor"
SQL_SENSOR = "SqlSensor"
TRIGGER_DAG_RUN = "TriggerDagRunOperator"
DEFAULT_POKE_INTERVAL = 60.0
DEFAULT_TIMEOUT = 7 * 24 * 3600.0
"""Airflow's defaults: ``poke_interval=60`` and ``[sensors] default_timeout`` (a week)."""
_WAITING = {"poke_interval", "timeout", "mode", "soft_fail", "never_fail", "silent_fail",
            "exponential_backoff", "max_wait", "deferrable"}
"""BaseSensorOperator's options (and FileSensor's ``deferrable``), which ``default_args`` may give."""
_PYTHON = {"python_callable", "op_args", "op_kwargs", "templates_dict"}
_FILE = {"filepath", "fs_conn_id", "recursive"}
_EXTERNAL = {"external_dag_id", "external_task_id", "external_task_ids", "allowed_states",
             "failed_states", "skipped_states", "execution_delta", "check_existence", "poll_interval"}
"""What an ExternalTaskSensor's asset carries or does not need (``asset_sensors`` says why)."""
_SQL = {"conn_id", "sql", "parameters", "fail_on_empty"}
_TRIGGER = {"trigger_dag_id", "wait_for_completion", "poke_interval", "allowed_states",
            "failed_states", "deferrable"}


@dataclass(frozen=True, slots=True)
class SensorPlan:
    """How the asset waits: what it pokes, every ``poke_interval`` seconds, for ``timeout``."""

    operator: str
    poke_interval: float
    timeout: float
    filepath: str | None = None
    """For a FileSensor: the path or glob pattern, joined to the connection's base path."""
    conn_id: str = "fs_default"
    recursive: bool = False
    external: tuple[str, tuple[str, ...]] | None = None
    """For an ExternalTaskSensor: the DAG and the tasks it waits for (none: the DAG's run)."""
    upstream: tuple[str, ...] = ()
    """The assets those tasks are mapped to (user strings, ``a/b``), found by the edit."""
    fail_on_empty: bool = False
    """For a SqlSensor: no row fails at once rather than counting as not yet."""
    trigger: str | None = None
    """For a TriggerDagRunOperator: the DAG whose run it starts in Airflow."""
    states: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    """With ``wait_for_completion``: the run states that succeed and those that fail."""


def poked(plan: Plan | str, dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit) -> Plan | str:
    """A PythonSensor's ``plan`` (its callable's, as a PythonOperator's) with how it waits."""
    if isinstance(plan, str) or task.operator != PYTHON_SENSOR:
        return plan
    waiting = _waiting(dag, task, call, dag_unit, _PYTHON)
    if isinstance(waiting, str):
        return waiting
    return dataclasses.replace(plan, sensor=SensorPlan(PYTHON_SENSOR, *waiting))


def file_sensor_plan(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit) -> Plan | str:
    name = f"task `{task.task_id}`"
    read = _static_options(dag, task, call, dag_unit, _FILE)
    if isinstance(read, str):
        return read
    waiting, values = read
    filepath = values.get("filepath")
    if not isinstance(filepath, str) or not filepath:
        return f"{name} has no `filepath` written out (a string)"
    if has_jinja(filepath):
        return f"the `filepath` of {name} uses Jinja ({filepath!r}), which only Airflow renders"
    conn_id = values.get("fs_conn_id", "fs_default")
    if not isinstance(conn_id, str) or not conn_id:
        return f"the `fs_conn_id` of {name} is not a connection id"
    sensor = SensorPlan(FILE_SENSOR, *waiting, filepath=filepath, conn_id=conn_id,
                        recursive=bool(values.get("recursive", False)))
    return Plan("Sensor", FILE_SENSOR, (), None, frozenset(), False, frozenset(), {}, frozenset(),
                sensor=sensor)


def external_sensor_plan(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit) -> Plan | str:
    """An ExternalTaskSensor: the external DAG and tasks, whose mapped assets the edit finds."""
    name = f"task `{task.task_id}`"
    problem = operator_call_problem(dag, task, call)
    if problem:
        return problem
    options = {k.arg: k.value for k in call.keywords}
    if "execution_date_fn" in options or "external_task_group_id" in options:
        return (f"{name} waits for a run chosen by `execution_date_fn` or for a task group: "
                "scaffold it by hand")
    waiting = _waiting(dag, task, call, dag_unit, _EXTERNAL)
    if isinstance(waiting, str):
        return waiting
    values = {o: static_value(dag, options[o]) for o in ("external_dag_id", "external_task_id",
                                                         "external_task_ids") if o in options}
    external_dag = values.get("external_dag_id")
    if not isinstance(external_dag, str) or not external_dag or has_jinja(external_dag):
        return f"the `external_dag_id` of {name} is not a DAG id written out"
    tasks = values.get("external_task_ids") or values.get("external_task_id")
    tasks = [tasks] if isinstance(tasks, str) else tasks
    if tasks is None:  # no task named: the whole run of the DAG
        tasks = []
    elif not isinstance(tasks, list) or not tasks or not all(isinstance(t, str) and t for t in tasks) \
            or any(has_jinja(t) for t in tasks):
        return f"the external task ids of {name} are not written out"
    if "allowed_states" in options and isinstance(options["allowed_states"], ast.Name) \
            and static_value(dag, options["allowed_states"]) is NOT_STATIC:
        return (f"the `allowed_states` of {name} cannot be read statically (`{options['allowed_states'].id}` "
                "is not a constant of the DAG file): write them out to scaffold it")
    if "allowed_states" in options and not _only_success(dag, options["allowed_states"]):
        return (f"{name} waits for other states than success (`allowed_states`), which Dagster "
                "does not record for an asset: scaffold it by hand")
    sensor = SensorPlan(EXTERNAL_TASK_SENSOR, *waiting, external=(external_dag, tuple(tasks)))
    return Plan("Sensor", EXTERNAL_TASK_SENSOR, (), None, frozenset(), False, frozenset(), {},
                frozenset(), sensor=sensor)


def with_upstream(plan: Plan, mapped, dag_asset) -> Plan | str:
    """An ExternalTaskSensor's plan with the assets the tasks it waits for are mapped to
    (``mapped(dag_id, task_id)``: the ``AssetRef`` tuple of each), or which task must be mapped first, or
    which is mapped only to assets whose keys Dagster knows at load (dagster-dbt's); for a whole
    DAG, the asset dagster-airlift materializes when a run of it succeeds (``dag_asset(dag_id)``,
    None when it cannot be named)."""
    dag_id, task_ids = plan.sensor.external
    refs = {task_id: mapped(dag_id, task_id) for task_id in task_ids}
    named = {task_id: [r.key for r in found if not r.at_load] for task_id, found in refs.items()}
    at_load = next((task_id for task_id in task_ids if refs[task_id] and not named[task_id]), None)
    if at_load is not None:
        return (f"ExternalTaskSensor waits for `{dag_id}.{at_load}`, mapped to dagster-dbt's assets, whose "
                "keys Dagster knows only when it loads the manifest: write its deps by hand")
    upstream: dict[str, None] = {}
    if not task_ids:
        key = dag_asset(dag_id)
        if key is None:
            return (f"ExternalTaskSensor waits for a run of DAG `{dag_id}`, whose asset dagster-airlift "
                    "names after the module's AirflowInstance: give it a `name` written out")
        upstream[key] = None
    for task_id in task_ids:
        if not named[task_id]:
            return f"map `{dag_id}.{task_id}` first: ExternalTaskSensor waits for it"
        upstream.update(dict.fromkeys(named[task_id]))
    return dataclasses.replace(plan, sensor=dataclasses.replace(plan.sensor, upstream=tuple(upstream)))


def sql_sensor_plan(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit) -> Plan | str:
    """A SqlSensor: its query through the SQL scaffolds' resource for ``conn_id``."""
    name = f"task `{task.task_id}`"
    read = _static_options(dag, task, call, dag_unit, _SQL)
    if isinstance(read, str):
        return read
    waiting, values = read
    conn_id, sql = values.get("conn_id"), values.get("sql")
    if not isinstance(conn_id, str) or not conn_id:
        return f"{name} has no `conn_id`: which connection it uses is unknown"
    if not isinstance(sql, str) or not sql.strip() or sql.strip().endswith((".sql", ".hql")):
        return f"{name} has no SQL written out (a string; a template file is not read)"
    text = jinja_in_value(sql) or jinja_in_value(values.get("parameters"))
    if text is not None:
        return f"{name} uses Jinja ({text!r}), which only Airflow renders"
    sensor = SensorPlan(SQL_SENSOR, *waiting, fail_on_empty=bool(values.get("fail_on_empty")))
    sql_plan = SqlPlan(conn_id, resource_key(conn_id), sql, None, values.get("parameters"))
    return Plan("Sensor", SQL_SENSOR, (), None, frozenset(), False, frozenset(), {}, frozenset(),
                sql=sql_plan, sensor=sensor)


def trigger_plan(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit) -> Plan | str:
    """A TriggerDagRunOperator: the DAG it triggers, and whether and how it waits for the run."""
    name = f"task `{task.task_id}`"
    problem = operator_call_problem(dag, task, call)
    if problem:
        return problem
    for keyword in call.keywords:
        if keyword.arg not in BASE_OPERATOR and keyword.arg not in _TRIGGER:
            return (f"{name} uses `{keyword.arg}`, which dagster-airlift's AirflowInstance.trigger_dag "
                    "does not pass: scaffold it by hand")
    options = {k.arg: k.value for k in call.keywords}
    values = {o: static_value(dag, options[o]) for o in ("trigger_dag_id", "wait_for_completion")
              if o in options}
    target = values.get("trigger_dag_id")
    if not isinstance(target, str) or not target or has_jinja(target):
        return f"the `trigger_dag_id` of {name} is not a DAG id written out"
    interval = _seconds(dag, options["poke_interval"]) if "poke_interval" in options else DEFAULT_POKE_INTERVAL
    if values.get("wait_for_completion") is NOT_STATIC or interval is NOT_STATIC:
        return f"how {name} waits for the run (`wait_for_completion`, `poke_interval`) cannot be read statically"
    states = None
    if values.get("wait_for_completion"):
        allowed = _states(options.get("allowed_states"), ("success",))
        allowed = allowed or ("success",) if allowed is not None else None  # [] is the default too
        failed = _states(options.get("failed_states"), ("failed",))  # [] fails on no state
        if allowed is None or failed is None:
            return f"the `allowed_states` or `failed_states` of {name} cannot be read statically"
        states = (allowed, failed)
    sensor = SensorPlan(TRIGGER_DAG_RUN, float(interval), DEFAULT_TIMEOUT, trigger=target, states=states)
    return Plan("Sensor", TRIGGER_DAG_RUN, (), None, frozenset(), False, frozenset(), {}, frozenset(),
                sensor=sensor)


def _states(node: ast.expr | None, default: tuple[str, ...]) -> tuple[str, ...] | None:
    """Run states as Airflow spells them: strings, or ``DagRunState.SUCCESS``-like members."""
    if node is None or (isinstance(node, ast.Constant) and node.value is None):
        return default
    items = node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else None
    if items is None:
        return None
    states = [i.value if isinstance(i, ast.Constant) and isinstance(i.value, str)
              else i.attr.lower() if isinstance(i, ast.Attribute) else None for i in items]
    return None if None in states else tuple(states)


IGNORED = {EXTERNAL_TASK_SENSOR: frozenset({"execution_delta"})}
"""Per sensor, the options its plan does not read, whose values (a ``timedelta`` made by a factory)
need not be known: an ExternalTaskSensor's asset waits for the external tasks' assets to be
materialized anew, whichever run ``execution_delta`` pointed Airflow at."""
REFUSED = {EXTERNAL_TASK_SENSOR: frozenset({"execution_date_fn"})}
"""Per sensor, the options its plan refuses whatever their values (a function choosing the run)."""

SENSOR_PLANS = {FILE_SENSOR: file_sensor_plan, EXTERNAL_TASK_SENSOR: external_sensor_plan,
                SQL_SENSOR: sql_sensor_plan, TRIGGER_DAG_RUN: trigger_plan}
"""The sensors planned on their own (a PythonSensor is planned as a PythonOperator, then ``poked``)."""


def _only_success(dag: DagFile, node: ast.expr) -> bool:
    """``["success"]`` (or a constant bound to it), ``[State.SUCCESS]`` or
    ``[TaskInstanceState.SUCCESS]``."""
    value = static_value(dag, node)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return set(value) == {"success"}
    items = node.elts if isinstance(node, (ast.List, ast.Tuple, ast.Set)) else []
    return bool(items) and all(
        (isinstance(i, ast.Constant) and i.value == "success")
        or (isinstance(i, ast.Attribute) and i.attr == "SUCCESS") for i in items)


def _static_options(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit,
                    own: set[str]) -> tuple[tuple[float, float], dict] | str:
    """A sensor written as an operator call whose own options are all static: its
    ``(poke_interval, timeout)`` and those options' values, or why it cannot be scaffolded."""
    problem = operator_call_problem(dag, task, call)
    if problem:
        return problem
    waiting = _waiting(dag, task, call, dag_unit, own)
    if isinstance(waiting, str):
        return waiting
    values = {k.arg: static_value(dag, k.value) for k in call.keywords if k.arg in own}
    for option, value in values.items():
        if value is NOT_STATIC:
            return f"the `{option}` of task `{task.task_id}` cannot be read statically"
    return waiting, values


def _waiting(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit,
             own: set[str]) -> tuple[float, float] | str:
    """The sensor's ``(poke_interval, timeout)`` in seconds, or why the task cannot wait the same."""
    name = f"task `{task.task_id}`"
    of_call = own_default_args(dag, call)
    given = {k: v for k, v in {**(default_args(dag, dag_unit, call) or {}), **(of_call or {})}.items()
             if k in _WAITING or k == "default_args"}
    if given.get("default_args") is NOT_STATIC:
        whose = name if (of_call or {}).get("default_args") is NOT_STATIC else f"the DAG of {name}"
        return f"the `default_args` of {whose} cannot be read statically, and may set how the sensor waits"
    for keyword in call.keywords:
        if keyword.arg in BASE_OPERATOR or keyword.arg in own:
            continue
        if keyword.arg not in _WAITING:
            return f"{name} uses `{keyword.arg}`, which the scaffold does not carry: scaffold it by hand"
        given[keyword.arg] = keyword.value
    # the sensor's own options are read from its call only, and how it waits from what the file shows:
    # default_args the model sees giving either otherwise are refused
    problem = defaults_problem(task, call, name, own) or defaults_problem(
        task, call, name, _WAITING, given={*given, *(k.arg for k in call.keywords)})
    if problem:
        return problem
    values = {}
    for option, node in given.items():
        value = _seconds(dag, node) if option in ("poke_interval", "timeout", "max_wait") else \
            static_value(dag, node)
        if value is NOT_STATIC:
            return f"the `{option}` of {name} cannot be read statically"
        values[option] = value
    for option in ("soft_fail", "never_fail"):
        if values.get(option):
            return (f"{name} sets `{option}`: Airflow then skips it on failure, which a Dagster "
                    "run cannot tell the proxy: scaffold it by hand")
    if values.get("silent_fail"):
        return f"{name} sets `silent_fail` (a failing poke counts as not yet): scaffold it by hand"
    if values.get("exponential_backoff"):
        return f"{name} waits with `exponential_backoff`, which the scaffold does not carry"
    if values.get("mode", "poke") not in ("poke", "reschedule"):
        return f"the `mode` of {name} is neither 'poke' nor 'reschedule'"
    interval = values.get("poke_interval", DEFAULT_POKE_INTERVAL)
    timeout = values.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(interval, (int, float)) or interval < 0 or not isinstance(timeout, (int, float)):
        return f"the `poke_interval` or `timeout` of {name} is not a number of seconds"
    return float(interval), float(timeout)


def _seconds(dag: DagFile, node: ast.expr) -> object:
    """Seconds, from a number or a ``timedelta(...)`` of literal values; else ``NOT_STATIC``."""
    if isinstance(node, ast.Call) and dag.qualified(node.func) in ("datetime.timedelta", "timedelta"):
        values = [static_value(dag, a) for a in node.args]
        keywords = {k.arg: static_value(dag, k.value) for k in node.keywords}
        if None in keywords or NOT_STATIC in values or NOT_STATIC in keywords.values():
            return NOT_STATIC
        try:
            return datetime.timedelta(*values, **keywords).total_seconds()
        except (TypeError, ValueError, OverflowError):
            return NOT_STATIC
    value = static_value(dag, node)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else NOT_STATIC
