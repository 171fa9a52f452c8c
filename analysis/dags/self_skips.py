"""Which tasks can skip themselves, and with them the tasks after them (Airflow skips a task whose
upstream was skipped, under the default trigger rule): one whose callable, or whose project
class, raises ``AirflowSkipException`` (the name written anywhere in its code, nested functions
included), and a sensor given ``soft_fail=True`` or ``never_fail=True`` (a timeout or a failure
skips it instead), in its call or, as Airflow applies them, in the ``default_args`` of the call,
of its TaskGroups or of its DAG.
dagster-airlift's proxy operator never skips: proxied one by one, such a task's "skip" becomes a
run that succeeds (the tasks after it run) or fails (they fail), so it stays in Airflow like a
branch. Code the callable calls elsewhere is not followed."""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING

from analysis.dags.values import Const, Function, Mapping, Maybe, Value, unwrap

if TYPE_CHECKING:
    from analysis.dags.builder import DagRecord, GroupRecord

SKIP = "AirflowSkipException"
SOFT = ("soft_fail", "never_fail")
"""A sensor's options that make Airflow skip it where it would fail (Airflow 2.10+ for ``never_fail``)."""


def is_sensor(name: str) -> bool:
    """Whether an operator class named ``name`` (or one of its bases) is a sensor, as Airflow and
    its providers name theirs: ``default_args``' ``soft_fail`` reaches sensors only."""
    short = name.rsplit(".", 1)[-1]
    return short.endswith("Sensor") or short in ("BaseSensorOperator", "DecoratedSensorOperator")


def defaults_of(dag: DagRecord | None, group: GroupRecord | None, kwargs: dict[str, Value]) -> tuple[Value, ...]:
    """The ``default_args`` Airflow merges for an operator, nearest first: its call's, its TaskGroups'
    (innermost first), its DAG's."""
    found = [kwargs.get("default_args")]
    while group is not None:
        found.append(group.default_args)
        group = group.parent
    found.append(dag.default_args if dag is not None else None)
    return tuple(v for v in found if v is not None)


def default_keys(defaults: tuple[Value, ...]) -> tuple[str, ...] | None:
    """The keys of the ``default_args`` Airflow merges for an operator (``defaults_of``), sorted;
    None when one of them is not a dict the model knows every key of."""
    keys: set[str] = set()
    for held in map(unwrap, defaults):
        if isinstance(held, Const) and held.value is None:  # `default_args=None`: none
            continue
        if not isinstance(held, Mapping) or held.default is not None:
            return None
        keys.update(str(k) for k in held.items)
    return tuple(sorted(keys))


def _soft(kwargs: dict[str, Value], defaults: tuple[Value, ...]) -> bool:
    """Whether ``soft_fail`` or ``never_fail`` is True, given or from the nearest ``default_args``
    that holds it (a dict of unknown keys is not guessed at)."""
    for option in SOFT:
        found = [kwargs] + [d.items for d in map(unwrap, defaults) if isinstance(d, Mapping)]
        value = next((unwrap(held[option]) for held in found if option in held), None)
        if isinstance(value, Const) and value.value is True:
            return True
    return False


def names_skip(node: ast.AST) -> bool:
    """Whether ``AirflowSkipException`` is named in ``node`` (a function's or a class's code)."""
    return any((isinstance(n, ast.Name) and n.id == SKIP) or (isinstance(n, ast.Attribute) and n.attr == SKIP)
               for n in ast.walk(node))


def skip_gate(kwargs: dict[str, Value], function: Value | None, read: dict[int, bool],
              mentioned: Callable[[], bool], defaults: tuple[Value, ...] = ()) -> str | None:
    """"soft-fail" for a sensor given ``soft_fail=True`` or ``never_fail=True`` (by its call, or by
    ``defaults``: the ``default_args`` that reach it, for a sensor only), "skips-itself" for a task
    whose callable (``function``: ``python_callable`` or the TaskFlow function) names
    ``AirflowSkipException``, else None. ``read`` caches the bodies walked, by node;
    ``mentioned()``: the code read so far names the exception at all (else no body is walked)."""
    if _soft(kwargs, defaults):
        return "soft-fail"
    if isinstance(function, Maybe):
        function = function.value
    if not isinstance(function, Function) or not mentioned():
        return None
    found = read.get(id(function.node))
    if found is None:
        found = read[id(function.node)] = names_skip(function.node)
    return "skips-itself" if found else None
