"""The run's dates Airflow gives a task (``ds``, ``ts``, ...), given by a scaffolded asset that is
partitioned as the task's DAG is scheduled.

Airflow gives a task the dates of its run: a callable's parameter named ``ds``, a template's
``{{ ds }}``. A Dagster asset has them when it is time-partitioned on the DAG's schedule: each
partition starts at a cron tick, as each scheduled run's logical date is one, and
dagster-airlift's proxy runs the partition whose start is the Airflow run's logical date (its
sensor records Airflow's own runs of the task in that partition too). So the asset is declared
with ``TimeWindowPartitionsDefinition(cron_schedule=<the DAG's cron>, start=<its start_date>,
fmt=..., end_offset=1)`` (``end_offset=1``: Airflow 3 runs a cron DAG at the tick itself, before
the partition's window ends) and its body reads the dates from the partition's start, through
the module's ``_airflow_dates`` (``asset_dates``): ``ds``, ``ds_nodash``, ``ts``, ``ts_nodash``,
``ts_nodash_with_tz``, strings as Airflow gives them.

Only when the DAG is created in the DAG file with a schedule that is a cron string or preset
(not ``None``, ``@once``, a ``timedelta`` counted from the start date, a timetable or datasets)
and a ``start_date`` written as ``pendulum.datetime(...)`` or ``datetime(...)`` in UTC, Airflow's
default time zone (partition keys carry no zone: dagster-airlift reads them as UTC). Otherwise
the task stays refused, with why. The dates that are objects in Airflow (``logical_date``,
``data_interval_start``, pendulum ``DateTime``\\s with their own methods) and those that differ
between Airflow 2 and 3 are not given. A run of the DAG triggered by hand has a logical date off
the schedule, which no partition starts at: dagster-airlift then fails the proxied task.
"""

from __future__ import annotations

import ast
import datetime
import re
from dataclasses import dataclass

from analysis.dags.schedule import PRESETS
from analysis.edits.scaffold.plan_values import NOT_STATIC, single_assignment, static_value
from analysis.edits.scaffold.statements import DagFile, Unit

DATE_KEYS = ("ds", "ds_nodash", "ts", "ts_nodash", "ts_nodash_with_tz")
"""The dates a partitioned asset gives, by the names of Airflow's task context."""
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#LW-]+$")
_DAG_CLASSES = frozenset({"airflow.DAG", "airflow.models.DAG", "airflow.models.dag.DAG", "airflow.sdk.DAG",
                          "airflow.sdk.definitions.dag.DAG"})
_DAG_DECORATORS = frozenset({"airflow.decorators.dag", "airflow.sdk.dag", "airflow.models.dag.dag"})
_DATETIMES = frozenset({"pendulum.datetime", "datetime.datetime"})
_UTC = frozenset({"UTC", "utc", "Etc/UTC"})


@dataclass(frozen=True, slots=True)
class Partitions:
    """The time partitions of a DAG's schedule: Dagster's ``TimeWindowPartitionsDefinition``."""

    cron: str
    start: str
    """The DAG's ``start_date`` in ``fmt``."""
    fmt: str
    """``%Y-%m-%d`` for a schedule at midnight, daily or less often; else ``%Y-%m-%d-%H:%M``."""
    written: str
    """The schedule as the DAG file writes it."""


_RENDERING = ("render_template_as_native_obj", "user_defined_macros", "user_defined_filters",
              "jinja_environment_kwargs", "template_undefined")
"""The DAG options that change what Airflow renders a template to (native objects, a ``var`` of
the DAG's own, another Jinja environment, an undefined value rendered empty)."""


def dag_creation(dag: DagFile, dag_unit: Unit) -> ast.Call | str:
    """The call that creates the DAG of ``dag_unit`` in the DAG file (``DAG(...)``, ``@dag(...)``;
    a bare ``@dag`` as a call of no arguments), or why there is not one that can be read."""
    calls = [node for statement in dag_unit.statements for node in ast.walk(statement)
             if isinstance(node, ast.Call) and dag.qualified(node.func) in _DAG_CLASSES]
    for statement in dag_unit.statements:
        for node in ast.walk(statement):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                calls += [d if isinstance(d, ast.Call) else ast.Call(func=d, args=[], keywords=[])
                          for d in node.decorator_list
                          if dag.qualified(d.func if isinstance(d, ast.Call) else d) in _DAG_DECORATORS]
    if len(calls) != 1:
        return "is not created by one `DAG(...)` or `@dag(...)` call in the DAG file"
    if len(calls[0].args) > 1 or any(k.arg is None for k in calls[0].keywords):  # the id alone may come first
        return "is given arguments by position or `**`"
    return calls[0]


def rendering_problem(dag: DagFile, dag_unit: Unit) -> str | None:
    """How the task's DAG may render templates otherwise than Airflow's defaults ("sets
    `render_template_as_native_obj`"), or why that cannot be known; None when it renders them so."""
    call = dag_creation(dag, dag_unit)
    if isinstance(call, str):
        return call
    option = next((k.arg for k in call.keywords if k.arg in _RENDERING), None)
    if option is None:  # set on the DAG object afterwards: `dag.user_defined_macros = {...}`
        option = next((n.attr for n in ast.walk(dag.tree) if isinstance(n, ast.Attribute)
                       and isinstance(n.ctx, ast.Store) and n.attr in _RENDERING), None)
    return None if option is None else f"sets `{option}`"


def dag_partitions(dag: DagFile, dag_unit: Unit) -> Partitions | str:
    """The partitions of the DAG that ``dag_unit`` creates, or why its runs' dates cannot be
    known statically (a clause: "its schedule `None` runs it only when triggered")."""
    call = dag_creation(dag, dag_unit)
    if isinstance(call, str):
        return f"the DAG {call}"
    keywords = {k.arg: k.value for k in call.keywords}
    schedule = next((keywords[k] for k in ("schedule", "schedule_interval", "timetable") if k in keywords), None)
    if schedule is None:
        return "the DAG gives no schedule (Airflow 2 runs it daily, Airflow 3 never)"
    written = ast.unparse(schedule)
    value = static_value(dag, schedule)
    if value is None or value == "@once":
        return f"the DAG has `schedule={written}`: its runs are triggered, on no schedule a partition could follow"
    cron = PRESETS.get(value.strip()) if isinstance(value, str) else None
    if cron is None and isinstance(value, str) and len(value.split()) == 5 \
            and all(_CRON_FIELD.match(f) for f in value.split()):
        cron = " ".join(value.split())
    if cron is None:
        return f"its schedule `{written}` is not a cron string or preset"
    start = _start_date(dag, keywords)
    if isinstance(start, str):
        return start
    minute, hour = cron.split()[:2]
    fmt = "%Y-%m-%d" if minute == "0" and hour == "0" else "%Y-%m-%d-%H:%M"
    return Partitions(cron, start.strftime(fmt), fmt, written)


def _start_date(dag: DagFile, keywords: dict[str, ast.expr]) -> datetime.datetime | str:
    """The DAG's ``start_date`` (its own, else ``default_args``'), a naive datetime in UTC, or why not."""
    node = keywords.get("start_date")
    if node is None:
        default_args = _deref(dag, keywords.get("default_args"))
        if isinstance(default_args, ast.Dict) and None not in default_args.keys:
            node = next((v for k, v in zip(default_args.keys, default_args.values)
                         if isinstance(k, ast.Constant) and k.value == "start_date"), None)
    node = _deref(dag, node)
    if node is None:
        return "the DAG's `start_date` is not written in it"
    if not (isinstance(node, ast.Call) and dag.qualified(node.func) in _DATETIMES):
        return f"its `start_date` ({ast.unparse(node)[:60]}) is not a `pendulum.datetime(...)` or `datetime(...)`"
    parts = [static_value(dag, a) for a in node.args]
    zone = {k.arg: static_value(dag, k.value) for k in node.keywords}
    if any(not isinstance(p, int) or isinstance(p, bool) for p in parts) or not 3 <= len(parts) <= 6 \
            or set(zone) - {"tz", "tzinfo"} or any(z is NOT_STATIC or z not in _UTC for z in zone.values()):
        return f"its `start_date` ({ast.unparse(node)[:60]}) is not a date in UTC written out"
    try:
        return datetime.datetime(*parts)
    except ValueError as error:
        return f"its `start_date` is no date ({error})"


def _deref(dag: DagFile, node: ast.expr | None) -> ast.expr | None:
    for _ in range(16):
        if not isinstance(node, ast.Name):
            return node
        node = single_assignment(dag, node)
    return node
