"""The task ids a task names in ``xcom_pull``: in the Jinja of its arguments
(``"{{ ti.xcom_pull(task_ids='extract') }}"``) and in the body of its callable
(``ti.xcom_pull(task_ids=["a", "b"])``). Only ids written out as strings count: a pull whose
ids are computed is not attributed. A pull that names a DAG (``dag_id=...``) is attributed all
the same: most name their own DAG, and one that names another only costs a refusal of a task of
the same id here (the safe side)."""

from __future__ import annotations

import ast
import re

from analysis.dags.values import Const, Function, Mapping, Maybe, Seq, Value

_CALL = re.compile(r"xcom_pull\(([^()]*(?:\([^()]*\)[^()]*)*)\)")
"""An ``xcom_pull(...)`` call in text and its arguments (one level of nested parentheses)."""
_NAMED = re.compile(r"""\btask_ids\s*=\s*(\[[^\]]*\]|\([^)]*\)|'[^']*'|"[^"]*")""")
_FIRST = re.compile(r"""^\s*(\[[^\]]*\]|\([^)]*\)|'[^']*'|"[^"]*")""")
_QUOTED = re.compile(r"""'([^']*)'|"([^"]*)\"""")


def pulled_ids(value: Value, functions: dict[int, frozenset[str]], depth: int = 0) -> frozenset[str]:
    """The ids ``value`` pulls: a string's Jinja, a container's strings, a function's body
    (``functions`` caches bodies already read, by node)."""
    if depth > 8:
        return frozenset()
    if isinstance(value, Const):
        return _text_pulls(value.value) if isinstance(value.value, str) else frozenset()
    if isinstance(value, Maybe):
        return pulled_ids(value.value, functions, depth + 1)
    if isinstance(value, Seq):
        return frozenset().union(*(pulled_ids(v, functions, depth + 1) for v in value.items))
    if isinstance(value, Mapping):
        return frozenset().union(*(pulled_ids(v, functions, depth + 1) for v in value.items.values()))
    if isinstance(value, Function):
        key = id(value.node)
        if key not in functions:
            functions[key] = function_pulls(value.node)
        return functions[key]
    return frozenset()


def _text_pulls(text: str) -> frozenset[str]:
    if "xcom_pull" not in text:
        return frozenset()
    ids: set[str] = set()
    for call in _CALL.finditer(text):
        arguments = call.group(1)
        named = _NAMED.search(arguments) or _FIRST.match(arguments)
        if named is not None:
            ids.update(single or double for single, double in _QUOTED.findall(named.group(1)))
    return frozenset(ids)


def function_pulls(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> frozenset[str]:
    """Ids written out in the ``xcom_pull`` calls of a function's body (nested code included)."""
    ids: set[str] = set()
    for call in ast.walk(node):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "xcom_pull"):
            continue
        keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
        named = keywords.get("task_ids", call.args[0] if call.args else None)
        items = named.elts if isinstance(named, (ast.List, ast.Tuple)) else [named]
        ids.update(item.value for item in items
                   if isinstance(item, ast.Constant) and isinstance(item.value, str))
    return frozenset(ids)
