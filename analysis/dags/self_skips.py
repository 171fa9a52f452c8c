"""Which tasks can skip themselves, and with them the tasks after them (Airflow skips a task whose
upstream was skipped, under the default trigger rule): one whose callable, or whose project
class, raises ``AirflowSkipException`` (the name written anywhere in its code, nested functions
included), and a sensor given ``soft_fail=True`` (a timeout or a failure skips it instead).
dagster-airlift's proxy operator never skips: proxied one by one, such a task's "skip" becomes a
run that succeeds (the tasks after it run) or fails (they fail), so it stays in Airflow like a
branch. Code the callable calls elsewhere is not followed."""

from __future__ import annotations

import ast
from collections.abc import Callable

from analysis.dags.values import Const, Function, Maybe, Value

SKIP = "AirflowSkipException"


def names_skip(node: ast.AST) -> bool:
    """Whether ``AirflowSkipException`` is named in ``node`` (a function's or a class's code)."""
    return any((isinstance(n, ast.Name) and n.id == SKIP) or (isinstance(n, ast.Attribute) and n.attr == SKIP)
               for n in ast.walk(node))


def skip_gate(kwargs: dict[str, Value], function: Value | None, read: dict[int, bool],
              mentioned: Callable[[], bool]) -> str | None:
    """"soft-fail" for a sensor given ``soft_fail=True``, "skips-itself" for a task whose callable
    (``function``: ``python_callable`` or the TaskFlow function) names ``AirflowSkipException``,
    else None. ``read`` caches the bodies walked, by node; ``mentioned()``: the code read so far
    names the exception at all (else no body is walked)."""
    soft = kwargs.get("soft_fail")
    if isinstance(soft, Maybe):
        soft = soft.value
    if isinstance(soft, Const) and soft.value is True:
        return "soft-fail"
    if isinstance(function, Maybe):
        function = function.value
    if not isinstance(function, Function) or not mentioned():
        return None
    found = read.get(id(function.node))
    if found is None:
        found = read[id(function.node)] = names_skip(function.node)
    return "skips-itself" if found else None
