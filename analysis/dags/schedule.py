"""A DAG's schedule and retries, read from its file: what decommission turns into a Dagster
``ScheduleDefinition`` and ``RetryPolicy``.

Read from the call that creates the DAG (``DAG(...)``, ``with DAG(...)``, ``@dag(...)``) with
CPython's ``ast``: literals, module-level names bound once to literals, ``timedelta(...)`` of
constants, ``default_args`` dicts. What is not known statically is said, never guessed: a
schedule that cannot be read (or has no cron equivalent) is a refusal with the reason, retries
that cannot be read are a note (the job then has no retry policy).
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass

from analysis.facts import DagFacts

PRESETS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 */3 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
"""Airflow's cron presets (``airflow.utils.dates.cron_presets``) as the cron strings they stand for."""

_CRON_FIELD = re.compile(r"^[0-9A-Za-z*/,?#LW-]+$")
_TIMEDELTA_UNITS = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1,
                    "milliseconds": 0.001, "microseconds": 0.000001}
_TIMEDELTA_POSITIONAL = ("days", "seconds", "microseconds", "milliseconds", "minutes", "hours", "weeks")
_CRON_TIMETABLES = {"CronTriggerTimetable", "CronDataIntervalTimetable"}
_DATASET_CLASSES = {"Dataset", "Asset", "DatasetAll", "DatasetAny", "AssetAll", "AssetAny", "AssetAlias"}


@dataclass(frozen=True, slots=True)
class DagTiming:
    cron: str | None
    """The Dagster cron string; None when the DAG has no recurring schedule (a note says why)."""
    written: str
    """The schedule as the DAG file writes it (``"@daily"``, ``timedelta(hours=6)``, ``None``)."""
    refused: str | None = None
    """Why the schedule cannot become a Dagster schedule (then ``cron`` is None)."""
    retries: int | None = None
    retry_delay: float | None = None
    """Seconds between tries (``default_args["retry_delay"]``), when known."""
    notes: tuple[str, ...] = ()
    timezone: str | None = None
    """The time zone the cron runs in (a timetable's ``timezone=``, the ``tz`` of a
    ``pendulum.datetime`` start date); None: UTC, Airflow's default ``default_timezone``."""


def read_timing(text: str, dag: DagFacts) -> DagTiming:
    """The schedule and retries of ``dag`` as its file (``text``) writes them."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError) as error:
        return DagTiming(None, "?", refused=f"the DAG file cannot be parsed ({error})")
    call = dag_call(tree, text, dag)
    if call is None:
        return DagTiming(None, "?", refused=f"the call that creates `{dag.dag_id}` was not found in its file")
    names = _module_constants(tree)
    keywords = {k.arg: k.value for k in (call.keywords if isinstance(call, ast.Call) else []) if k.arg}
    if isinstance(call, ast.Call) and any(k.arg is None for k in call.keywords):
        return DagTiming(None, ast.unparse(call)[:60],
                         refused=f"`{dag.dag_id}` gets its arguments from `**...`, whose schedule is only known "
                                 f"when Airflow runs the file")
    notes: list[str] = []
    retries, delay = _retries(keywords.get("default_args"), names, notes)
    schedule = next((keywords[k] for k in ("schedule", "schedule_interval", "timetable") if k in keywords), None)
    if schedule is None:
        return DagTiming(None, "(none)", retries=retries, retry_delay=delay, notes=tuple(notes), refused=(
            f"`{dag.dag_id}` gives no schedule: Airflow 2 runs it daily, Airflow 3 never; write the schedule "
            f"it runs on (schedule=\"@daily\", or schedule=None) in the DAG, then decommission it"))
    cron, written, refused = _cron(schedule, names, notes, ast.get_source_segment(text, schedule))
    zone = _timetable_zone(schedule, names) or _start_zone(keywords.get("start_date"), names)
    return DagTiming(cron, written, refused, retries, delay, tuple(notes), zone if cron else None)


def own_retries(text: str, dag: DagFacts) -> list[str]:
    """Tasks that set ``retries=`` themselves (an operator's argument, ``@task(retries=...)``):
    one job-wide RetryPolicy cannot say that."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return []
    lines = text.splitlines(keepends=True)
    calls = {(node.lineno - 1, _character(lines, node.lineno, node.col_offset)): node
             for node in ast.walk(tree) if isinstance(node, ast.Call)}
    functions = {node.lineno - 1: node for node in ast.walk(tree)
                 if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found = []
    for task in dag.tasks:
        call = calls.get((task.range.start.line, task.range.start.character))
        keywords = list(call.keywords) if call is not None else []
        function = functions.get(task.definition_range.start.line) if task.definition_range else None
        for decorator in function.decorator_list if function is not None else []:
            keywords += decorator.keywords if isinstance(decorator, ast.Call) else []
        if any(k.arg == "retries" for k in keywords):
            found.append(task.task_id)
    return found


def dag_call(tree: ast.Module, text: str, dag: DagFacts) -> ast.Call | ast.Name | ast.Attribute | None:
    """The call that creates the DAG (at the start of its range), or the ``@dag`` decorator of
    the function that builds it (its range starts at the ``def``; a bare ``@dag`` is a Name:
    no arguments)."""
    lines = text.splitlines(keepends=True)
    start = dag.range.start
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.lineno - 1 == start.line \
                and _character(lines, node.lineno, node.col_offset) == start.character:
            return node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.lineno - 1 == start.line:
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.id if isinstance(target, ast.Name) else getattr(target, "attr", None)
                if name is not None and name.lower() == "dag":
                    return decorator
    return None


def _character(lines: list[str], lineno: int, byte_offset: int) -> int:
    """``ast`` counts UTF-8 bytes; the facts count characters."""
    if lineno - 1 >= len(lines):
        return byte_offset
    return len(lines[lineno - 1].encode("utf-8")[:byte_offset].decode("utf-8", errors="ignore"))


def _module_constants(tree: ast.Module) -> dict[str, ast.expr]:
    """Module-level names assigned exactly once (``SCHEDULE = "@daily"``, ``default_args = {...}``)."""
    values: dict[str, ast.expr] = {}
    counts: dict[str, int] = {}
    for statement in tree.body:
        targets: list[ast.expr] = []
        if isinstance(statement, ast.Assign):
            targets = statement.targets
        elif isinstance(statement, (ast.AnnAssign, ast.AugAssign)):
            targets = [statement.target]
        for target in targets:
            if isinstance(target, ast.Name):
                counts[target.id] = counts.get(target.id, 0) + 1
                value = getattr(statement, "value", None)
                if value is not None and not isinstance(statement, ast.AugAssign):
                    values[target.id] = value
    return {name: value for name, value in values.items() if counts[name] == 1}


def _deref(node: ast.expr | None, names: dict[str, ast.expr]) -> ast.expr | None:
    for _ in range(16):
        if not isinstance(node, ast.Name) or node.id not in names:
            return node
        node = names[node.id]
    return node


def _called(node: ast.expr) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return None


def _seconds(node: ast.expr | None, names: dict[str, ast.expr]) -> float | None:
    """``timedelta(hours=6)`` (``datetime.timedelta``, ``pendulum.duration``) in seconds."""
    node = _deref(node, names)
    if not isinstance(node, ast.Call) or _called(node) not in ("timedelta", "duration"):
        return None
    total = 0.0
    arguments = [(unit, value) for unit, value in zip(_TIMEDELTA_POSITIONAL, node.args)]
    arguments += [(k.arg, k.value) for k in node.keywords]
    for unit, value in arguments:
        value = _deref(value, names)
        if unit not in _TIMEDELTA_UNITS or not isinstance(value, ast.Constant) \
                or not isinstance(value.value, (int, float)) or isinstance(value.value, bool):
            return None
        total += value.value * _TIMEDELTA_UNITS[unit]
    return total


def _cron(node: ast.expr, names: dict[str, ast.expr], notes: list[str],
          source: str | None) -> tuple[str | None, str, str | None]:
    """(cron, as written, refusal)."""
    written = " ".join((source or ast.unparse(node)).split())
    value = _deref(node, names)
    if isinstance(value, ast.Constant) and value.value is None:
        notes.append("the DAG has schedule=None: no Dagster schedule is written (launch the job by hand, "
                     "or add a schedule)")
        return None, written, None
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        text = value.value.strip()
        if text in PRESETS:
            return PRESETS[text], written, None
        if text == "@once":
            notes.append("the DAG runs once (@once): no Dagster schedule is written")
            return None, written, None
        if text == "@continuous":
            return None, written, ("`@continuous` has no Dagster schedule: a sensor does that, "
                                   "write one by hand and remove the DAG yourself")
        fields = text.split()
        if len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields):
            return " ".join(fields), written, None
        return None, written, f"schedule {written} is neither a cron expression nor one of Airflow's presets"
    seconds = _seconds(value, names)
    if seconds is not None:
        cron = _interval_cron(seconds)
        if cron is None:
            return None, written, (f"schedule {written} has no cron equivalent (Dagster schedules are cron); "
                                   f"write a cron schedule in the DAG (e.g. \"0 */6 * * *\"), then decommission it")
        notes.append(f"schedule {written} became `{cron}`: Airflow counted the interval from start_date, "
                     f"the cron runs at fixed clock times (UTC)")
        return cron, written, None
    if isinstance(value, ast.Call) and _called(value) in _CRON_TIMETABLES and value.args:
        expression = _constant_string(value.args[0], names)
        fields = (expression or "").split()
        if len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields):
            return " ".join(fields), written, None
    if _is_datasets(value, names):
        notes.append(f"the DAG runs when datasets update ({written}): no Dagster schedule is written; "
                     f"Dagster expresses that with automation conditions or sensors")
        return None, written, None
    return None, written, (f"schedule {written} cannot be read statically (a timetable, or a value computed "
                           f"at run time): only cron strings, presets, timedelta, None and datasets are "
                           f"turned into Dagster schedules")


def _constant_string(node: ast.expr | None, names: dict[str, ast.expr]) -> str | None:
    node = _deref(node, names)
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _timetable_zone(node: ast.expr, names: dict[str, ast.expr]) -> str | None:
    """``CronTriggerTimetable("0 3 * * *", timezone="Europe/Paris")``'s zone."""
    node = _deref(node, names)
    if isinstance(node, ast.Call) and _called(node) in _CRON_TIMETABLES:
        return _constant_string(next((k.value for k in node.keywords if k.arg == "timezone"), None), names)
    return None


def _start_zone(node: ast.expr | None, names: dict[str, ast.expr]) -> str | None:
    """Airflow runs a cron in the start date's zone: ``pendulum.datetime(2024, 1, 1, tz="Europe/Paris")``."""
    node = _deref(node, names)
    if isinstance(node, ast.Call) and _called(node) == "datetime" \
            and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name) \
            and node.func.value.id == "pendulum":
        zone = _constant_string(next((k.value for k in node.keywords if k.arg in ("tz", "tzinfo")), None), names)
        return None if zone in (None, "UTC", "utc") else zone
    return None


def _interval_cron(seconds: float) -> str | None:
    if seconds <= 0 or seconds != int(seconds):
        return None
    seconds = int(seconds)
    if seconds == 604800:
        return "0 0 * * 0"
    if seconds % 86400 == 0:
        return "0 0 * * *" if seconds == 86400 else None
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return None if 24 % hours else ("0 * * * *" if hours == 1 else f"0 */{hours} * * *")
    if seconds % 60 == 0:
        minutes = seconds // 60
        return None if 60 % minutes else ("* * * * *" if minutes == 1 else f"*/{minutes} * * * *")
    return None


def _is_datasets(node: ast.expr | None, names: dict[str, ast.expr]) -> bool:
    node = _deref(node, names)
    if isinstance(node, (ast.List, ast.Tuple)):
        return bool(node.elts) and all(_is_datasets(e, names) for e in node.elts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
        return _is_datasets(node.left, names) and _is_datasets(node.right, names)
    return isinstance(node, ast.Call) and _called(node) in _DATASET_CLASSES


def _retries(node: ast.expr | None, names: dict[str, ast.expr], notes: list[str]) -> tuple[int | None, float | None]:
    """``default_args["retries"]`` and ``["retry_delay"]`` (seconds), when a literal dict says them."""
    if node is None:
        return None, None
    value = _deref(node, names)
    entries: dict[str, ast.expr] | None = None
    if isinstance(value, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                           for k in value.keys):
        entries = {k.value: v for k, v in zip(value.keys, value.values)}  # type: ignore[union-attr]
    elif isinstance(value, ast.Call) and _called(value) == "dict" and not value.args \
            and all(k.arg for k in value.keywords):
        entries = {k.arg: k.value for k in value.keywords}  # type: ignore[misc]
    if entries is None:
        notes.append("default_args cannot be read statically: no RetryPolicy is written; add one to the job "
                     "if the tasks retried in Airflow")
        return None, None
    retries_node = _deref(entries.get("retries"), names)
    retries = None
    if retries_node is not None:
        if isinstance(retries_node, ast.Constant) and isinstance(retries_node.value, int) \
                and not isinstance(retries_node.value, bool) and retries_node.value >= 0:
            retries = retries_node.value
        else:
            notes.append(f"default_args retries={ast.unparse(retries_node)} cannot be read statically: "
                         f"no RetryPolicy is written")
    delay = _seconds(entries.get("retry_delay"), names) if "retry_delay" in entries else None
    if "retry_delay" in entries and delay is None and retries:
        notes.append(f"retry_delay={ast.unparse(entries['retry_delay'])} cannot be read statically: "
                     f"the RetryPolicy has no delay")
    return retries, delay
