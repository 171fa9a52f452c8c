"""The arguments an operator's constructor was given, as the model evaluated them where the task
was made: the values a project factory computed (``make_export("orders")`` building
``CsvExportOperator(out_path=f"exports/{table}.csv")``), which no call in the DAG file shows.

Kept only when asked (``extract_file(..., arguments=True)``: a scaffold of a ported class,
``analysis.edits.scaffold.plan_ports``), never in the index. Each argument is a Python literal
(strings, numbers, booleans, None, lists and dicts of them) or why it is not one, in the words of
a refusal: a value only known when Airflow runs the file is never guessed.
"""

from __future__ import annotations

from typing import Any

from analysis.dags.classes import EnumMember, Instance
from analysis.dags.k8s_secrets import K8sSecret
from analysis.dags.values import Const, Function, Mapping, Maybe, Qualified, Seq, TaskRef, Unknown, Value

Argument = tuple[str, bool, Any]
"""``(name, True, literal)``, or ``(name, False, why it is no literal)``."""

_SCALARS = (str, int, float, bool, type(None))
_DEPTH = 32


class _NotLiteral(Exception):
    pass


def evaluated(kwargs: dict[str, Value], positional: int, unpacked: bool) -> tuple[Argument, ...]:
    """``kwargs`` as literals where they are; ``positional``: how many arguments were given by
    position (their parameters' names are the class's: an argument of its own, not a literal);
    ``unpacked``: ``**`` was given a value not known to be a dict (arguments nobody can name)."""
    found: list[Argument] = [("*", False, f"{positional} argument(s) given by position")] if positional else []
    if unpacked:
        found.append(("**", False, "`**` a value only known when Airflow runs the file"))
    for name, value in kwargs.items():
        try:
            found.append((name, True, _literal(value, 0)))
        except _NotLiteral as error:
            found.append((name, False, str(error)))
    return tuple(found)


def _literal(value: Value, depth: int) -> Any:
    if depth > _DEPTH:
        raise _NotLiteral("nested too deeply to write out")
    if isinstance(value, Const):
        if isinstance(value.value, K8sSecret):  # a record of names, written out as one (plan_evaluated)
            return value.value
        if isinstance(value.value, EnumMember) or not isinstance(value.value, _SCALARS):
            raise _NotLiteral(f"a `{type(value.value).__name__}` object, not a literal")
        return value.value
    if isinstance(value, Seq):
        return [_literal(v, depth + 1) for v in value.items]
    if isinstance(value, Mapping):
        if value.default is not None or not all(isinstance(k, _SCALARS) for k in value.items):
            raise _NotLiteral("a mapping that is no plain dict of literals")
        return {k: _literal(v, depth + 1) for k, v in value.items.items()}
    raise _NotLiteral(_why(value))


def _why(value: Value) -> str:
    if isinstance(value, Maybe):
        return f"set only when {value.reason}"
    if isinstance(value, Unknown):
        return f"only known when Airflow runs the file (`{value.text}`)"
    if isinstance(value, TaskRef):
        return "another task (its output is an XCom value)"
    if isinstance(value, Function):
        return f"a function (`{value.named.name}`), not a literal"
    if isinstance(value, Instance):
        return f"a `{value.cls.name}` object, not a literal"
    if isinstance(value, Qualified):
        return f"`{value.spelled}`, a library's object, not a literal"
    return "not a literal"
