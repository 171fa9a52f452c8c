"""The task ids a task names in ``xcom_pull``: in the Jinja of its arguments
(``"{{ ti.xcom_pull(task_ids='extract') }}"``) and in the body of its callable
(``ti.xcom_pull(task_ids=["a", "b"])``). Only ids written out as strings count: a pull whose
ids are computed is not attributed. A pull that names a DAG (``dag_id=...``) is attributed all
the same: most name their own DAG, and one that names another only costs a refusal of a task of
the same id here (the safe side). A pull whose ids are computed (``task_ids=f"collect_{i}"``,
``task_ids=self.submit_id``) or not given (Airflow 2 then reads any task's) adds ``ANY``: the
task may read the XCom of any task upstream of it (``TaskFacts.xcom_upstream``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from analysis.dags.builder import ANY
from analysis.dags.values import Const, Function, Mapping, Maybe, Seq, Value

_CALL = re.compile(r"xcom_pull\(([^()]*(?:\([^()]*\)[^()]*)*)\)")
"""An ``xcom_pull(...)`` call in text and its arguments (one level of nested parentheses)."""
_NAMED = re.compile(r"""\btask_ids\s*=\s*(\[[^\]]*\]|\([^)]*\)|'[^']*'|"[^"]*")""")
_FIRST = re.compile(r"""^\s*(\[[^\]]*\]|\([^)]*\)|'[^']*'|"[^"]*")""")
_QUOTED = re.compile(r"""'([^']*)'|"([^"]*)\"""")


def add_pulls(value: Value, functions: dict[int, frozenset[str]], into: set[str],
              may_pull: Callable[[], bool], depth: int = 0) -> None:
    """Add to ``into`` the ids ``value`` pulls: a string's Jinja, a container's strings, a
    function's body (``functions`` caches bodies already read, by node; ``may_pull()``: the code
    read so far mentions ``xcom_pull`` at all, else no body is walked)."""
    if depth > 8:
        return
    if isinstance(value, Const):
        if isinstance(value.value, str) and "xcom_pull" in value.value:
            into.update(_text_pulls(value.value))
    elif isinstance(value, Maybe):
        add_pulls(value.value, functions, into, may_pull, depth + 1)
    elif isinstance(value, Seq):
        for item in value.items:
            add_pulls(item, functions, into, may_pull, depth + 1)
    elif isinstance(value, Mapping):
        for item in value.items.values():
            add_pulls(item, functions, into, may_pull, depth + 1)
    elif isinstance(value, Function):
        found = functions.get(id(value.node))
        if found is None:
            found = functions[id(value.node)] = (function_pulls(value.node) if may_pull()
                                                 else frozenset())
        into.update(found)


def _text_pulls(text: str) -> frozenset[str]:
    if "xcom_pull" not in text:
        return frozenset()
    ids: set[str] = set()
    for call in _CALL.finditer(text):
        arguments = call.group(1)
        named = _NAMED.search(arguments) or _FIRST.match(arguments)
        if named is not None:
            ids.update(single or double for single, double in _QUOTED.findall(named.group(1)))
        else:
            ids.add(ANY)
    return frozenset(ids)


def function_pulls(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef) -> frozenset[str]:
    """Ids written out in the ``xcom_pull`` calls of a function's body or a class's (nested code
    included), and ``ANY`` for a pull whose ids are not written out."""
    ids: set[str] = set()
    for call in ast.walk(node):
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and call.func.attr == "xcom_pull"):
            continue
        keywords = {k.arg: k.value for k in call.keywords if k.arg is not None}
        named = keywords.get("task_ids", call.args[0] if call.args else None)
        items = named.elts if isinstance(named, (ast.List, ast.Tuple)) else [named]
        for item in items:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                ids.add(item.value)
            else:  # computed, or no ids: only run time knows which tasks it reads
                ids.add(ANY)
    return frozenset(ids)
