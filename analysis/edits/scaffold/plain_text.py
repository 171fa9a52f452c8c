"""What a copied call's templated arguments hold of strings without Jinja, which Airflow renders
all the same (``PlanBuilder.templates``): whether Jinja changes one (line ends, a final newline:
the asset then renders them through ``_airflow_render``), and whether a DAG rendering native
objects would read one as a Python literal. Read where the scaffold sees them: an argument's
value read statically, else where its structure is written (a list's items, a dict's values, an
f-string's text); a string computed when the task runs is not seen."""

from __future__ import annotations

import ast

from analysis.edits.scaffold.plan_dag import changed_by_jinja, holds_string, native_changes
from analysis.edits.scaffold.plan_values import NOT_STATIC, static_value
from analysis.edits.scaffold.statements import DagFile, bindings

CHANGED, KEPT = "changed", "kept"
"""What a templated argument's strings become when Airflow renders them (``plain_text``)."""


def plain_text(dag: DagFile, node: ast.AST) -> str | None:
    """Whether a templated argument holds strings, which Airflow renders even without Jinja:
    ``CHANGED`` when Jinja changes one (``plan_dag.changed_by_jinja``) where the scaffold sees
    it (its value read statically, else where its structure is written: a list's items, a
    dict's values, an f-string's text), ``KEPT`` when it leaves them as they are or may hold
    some (a value computed when the task runs: its text is not seen), None when it holds none."""
    value = static_value(dag, node)
    if value is not NOT_STATIC:
        return CHANGED if changed_by_jinja(value) else KEPT if holds_string(value) else None
    if isinstance(node, _COLLECTIONS):
        found = {plain_text(dag, item) for item in _items(node)}
        return CHANGED if CHANGED in found else KEPT if KEPT in found else None
    if isinstance(node, ast.JoinedStr):
        parts = [p.value for p in node.values if isinstance(p, ast.Constant)]
        ends = isinstance(node.values[-1], ast.Constant) and parts[-1].endswith("\n") if node.values else False
        return CHANGED if ends or any("\r" in p for p in parts) else KEPT
    if isinstance(node, ast.Lambda) or (isinstance(node, ast.Name) and _defines(dag, node.id)):
        return None  # a function or a class: no string
    return KEPT


def native_kept(dag: DagFile, node: ast.AST) -> bool:
    """Whether a DAG rendering native objects leaves a templated argument's strings text
    (``plan_dag.native_changes``): its value read statically, or where its structure is
    written; a value computed when the task runs is not known."""
    value = static_value(dag, node)
    if value is not NOT_STATIC:
        return not native_changes(value)
    if isinstance(node, _COLLECTIONS):
        return all(native_kept(dag, item) for item in _items(node))
    return isinstance(node, ast.Lambda) or (isinstance(node, ast.Name) and _defines(dag, node.id))


_COLLECTIONS = (ast.List, ast.Tuple, ast.Set, ast.Dict)


def _items(node: ast.List | ast.Tuple | ast.Set | ast.Dict) -> list[ast.expr]:
    """What Airflow renders in a collection written out: its items (unpacked ones' values), a
    dict's values."""
    if isinstance(node, ast.Dict):
        return list(node.values)
    return [e.value if isinstance(e, ast.Starred) else e for e in node.elts]


def _defines(dag: DagFile, name: str) -> bool:
    """Whether the DAG file binds ``name`` only by ``def`` or ``class`` at its top."""
    bound = [s for u in dag.units for s in u.statements if name in bindings(s)]
    return bool(bound) and all(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                               for s in bound)
