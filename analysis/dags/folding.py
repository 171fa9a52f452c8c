"""Constant folding: Python's operators, builtins and path helpers applied to values the
interpreter knows, refusing any result too large to build (``"x" * 10**9``, huge format widths,
``x * x`` squared in a loop). Pure functions over ``analysis.dags.values``."""

from __future__ import annotations

import ast
import operator
import os
import re
from pathlib import PurePosixPath
from typing import Any

from analysis.dags.values import Const, Mapping, Maybe, Seq, Unknown, Value, is_known, to_python

BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Mod: operator.mod,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,  # numbers, and `Path(__file__).parent / "configs"`
}
COMPARES = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
MAX_STRING = 10_000
MAX_ITEMS = 10_000
MAX_INT_BITS = 100_000
STRING_METHODS = frozenset({"format", "join", "upper", "lower", "replace", "strip", "title",
                             "capitalize", "lstrip", "rstrip", "split"})


def unary(node: ast.UnaryOp, operand: Value) -> Value:
    if isinstance(operand, Const):
        try:
            if isinstance(node.op, ast.Not):
                return Const(not operand.value)
            if isinstance(node.op, ast.USub):
                return Const(-operand.value)
        except TypeError:
            pass
    return Unknown(node)


def builtin(name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value:
    if kwargs and name not in ("dict", "enumerate"):
        return Unknown(node)  # `sorted(x, reverse=True)`, `min(x, default=0)`: not folded as if plain
    known = all(is_known(a) for a in args)
    if name == "len" and len(args) == 1 and isinstance(args[0], (Seq, Mapping)) and not (
            isinstance(args[0], Seq) and any(isinstance(i, Maybe) for i in args[0].items)):
        return Const(len(args[0].items))  # what the items are does not matter
    if name == "range" and known:
        try:
            values = range(*(to_python(a) for a in args))
        except TypeError:
            return Unknown(node)
        if len(values) <= 10_000:
            return Seq([Const(v) for v in values])
    if name in ("str", "int", "len", "sorted", "list", "tuple", "reversed") and known and len(args) == 1:
        try:
            result = {"str": str, "int": int, "len": len, "sorted": sorted, "list": list,
                      "tuple": tuple, "reversed": lambda v: list(reversed(v))}[name](to_python(args[0]))
        except (TypeError, ValueError):
            return Unknown(node)
        if isinstance(result, (list, tuple)):
            return Seq([Const(v) for v in result])
        return Const(result)
    if name in ("list", "tuple", "sorted", "reversed") and len(args) == 1 and isinstance(args[0], Seq):
        items = list(args[0].items)
        return Seq(items[::-1] if name == "reversed" else items)
    if name in ("set", "frozenset", "list", "tuple") and not args and not kwargs:
        return Seq([])
    if name in ("int", "str", "float", "bool") and not args and not kwargs:
        return Const({"int": 0, "str": "", "float": 0.0, "bool": False}[name])
    if name in ("set", "frozenset") and len(args) == 1 and isinstance(args[0], Seq):
        return Seq(_unique(args[0].items))
    if name == "dict" and not args:
        return Mapping(dict(kwargs))
    if name == "dict" and len(args) == 1 and isinstance(args[0], Mapping):
        return Mapping({**args[0].items, **kwargs})
    if name in ("min", "max", "sum", "any", "all") and known and len(args) == 1:
        try:
            return Const({"min": min, "max": max, "sum": sum, "any": any, "all": all}[name](to_python(args[0])))
        except (TypeError, ValueError):
            return Unknown(node)
    if name == "enumerate" and 1 <= len(args) <= 2 and isinstance(args[0], Seq):
        start = args[1] if len(args) == 2 else kwargs.get("start", Const(0))
        if not (isinstance(start, Const) and isinstance(start.value, int)) or set(kwargs) - {"start"}:
            return Unknown(node)  # `enumerate(items, start=n)`: numbered from n, never from 0 by mistake
        return Seq(_shifted([[Const(i), v] for i, v in enumerate(args[0].items, start.value)], args[0].items))
    if name == "zip" and args and all(isinstance(a, Seq) for a in args):
        rows = [list(group) for group in zip(*(a.items for a in args))]  # type: ignore[union-attr]
        return Seq(_shifted(rows, [next((v for v in row if isinstance(v, Maybe)), row[0]) for row in rows]))
    return Unknown(node)


def _unique(items: list[Value]) -> list[Value]:
    """A set's items in first-seen order: constants once each, other values (tasks, objects)
    once per object."""
    seen: set[object] = set()
    out: list[Value] = []
    for item in items:
        key: object = ("const", item.value) if isinstance(item, Const) and hashable(item.value) else ("id", id(item))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _shifted(rows: list[list[Value]], items: list[Value]) -> list[Value]:
    """``enumerate``/``zip`` over a list holding an item appended under a runtime condition
    (``Maybe``): that row exists only under the condition, and from it on every row's position
    (its index, its partner) depends on the condition too."""
    out: list[Value] = []
    first: Maybe | None = None
    for row, item in zip(rows, items):
        if first is None and isinstance(item, Maybe):
            first = item
        if first is None:
            out.append(Seq(row))
            continue
        values = [v.value if isinstance(v, Maybe) else v for v in row]
        values[0] = Maybe(values[0], first.level, first.reason)
        out.append(Maybe(Seq(values), item.level, item.reason) if isinstance(item, Maybe) else Seq(values))
    return out


PATH_PARTS = frozenset({"stem", "name", "suffix", "parent", "parents", "parts", "suffixes"})
PATH_CALLS = {
    "pathlib.Path": PurePosixPath,
    "pathlib.PurePath": PurePosixPath,
    "os.path.basename": os.path.basename,
    "os.path.dirname": os.path.dirname,
    "os.path.splitext": lambda p: tuple(os.path.splitext(p)),
    "os.path.normpath": os.path.normpath,
}
BUILTINS = frozenset({"range", "str", "int", "len", "sorted", "list", "tuple", "enumerate", "zip", "reversed",
                      "property", "staticmethod", "classmethod", "super", "isinstance", "object", "dict", "set",
                      "frozenset", "bool", "float", "getattr", "hasattr", "min", "max", "sum", "any", "all",
                      "type", "repr", "abs", "print", "open", "globals", "map", "filter"})
OP_TEXT = {ast.Add: "", ast.Mod: "%", ast.Mult: "*", ast.Sub: "-", ast.FloorDiv: "//"}


def too_big(op: ast.operator, left: Const, right: Const) -> bool:
    """``"x" * 10**9`` must not be built to find out it is too long."""
    if not isinstance(op, (ast.Mult, ast.Mod)):
        return False
    sizes = [len(v.value) for v in (left, right) if isinstance(v.value, (str, bytes, tuple, list))]
    counts = [v.value for v in (left, right) if isinstance(v.value, int) and not isinstance(v.value, bool)]
    if isinstance(op, ast.Mult) and sizes and counts:
        return sizes[0] * max(counts[0], 0) > MAX_STRING
    if isinstance(op, ast.Mult) and len(counts) == 2:  # `x = x * x` in a loop squares its size
        return counts[0].bit_length() + counts[1].bit_length() > MAX_INT_BITS
    if isinstance(op, ast.Mod) and isinstance(left.value, str):
        return len(left.value) > MAX_STRING or "*" in left.value or bool(HUGE_WIDTH.search(left.value))
    return False


HUGE_WIDTH = re.compile(r"[<>=^0-9,_. %#+-]*\d{5,}")
"""A format width or precision of 10,000 or more (``%099999d``, ``{:099999}``): refused."""


def render(value: Value) -> str:
    if isinstance(value, Const):
        return str(value.value)
    if isinstance(value, Unknown):
        return value.text if value.text.startswith("{") else "{" + value.text + "}"
    return "{?}"


def hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True
