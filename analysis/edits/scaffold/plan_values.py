"""Values read statically from a DAG file's ``ast``: a literal's, a name's that the file binds
once above its use, f-strings and ``+`` of static strings, and Kubernetes models and the
provider's ``Secret`` read as what they stand for (the container, SQL, sensor, dbt and factory
scaffolds read an operator's values so)."""

from __future__ import annotations

import ast

from analysis.dags.k8s_secrets import SECRET_CLASSES, WRITTEN, K8sSecret, make_secret
from analysis.edits.scaffold.statements import DagFile

__all__ = ["NOT_STATIC", "single_assignment", "static_value"]


class _NotStatic:
    pass


NOT_STATIC = _NotStatic()
_K8S_MODELS = {"V1ResourceRequirements": ("requests", "limits"), "V1EnvVar": ("name", "value")}


def static_value(dag: DagFile, node: ast.expr, depth: int = 0) -> object:
    """A literal's value, a constant's (a name the file binds once, by ``name = <static>``
    before the task: at module level or in the DAG's block), an f-string or ``+`` of static
    strings, or a Kubernetes model read as what it stands for; else ``NOT_STATIC``."""
    if depth > 16:
        return NOT_STATIC
    if isinstance(node, ast.Name):
        assigned = single_assignment(dag, node)
        return NOT_STATIC if assigned is None else static_value(dag, assigned, depth + 1)
    if isinstance(node, ast.JoinedStr):  # an f-string of static values
        parts = [str(static_value(dag, v.value, depth + 1))
                 if isinstance(v, ast.FormattedValue) and v.conversion == -1 and v.format_spec is None
                 and isinstance(static_value(dag, v.value, depth + 1), (str, int))
                 else v.value if isinstance(v, ast.Constant) else NOT_STATIC for v in node.values]
        return NOT_STATIC if NOT_STATIC in parts else "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = (static_value(dag, n, depth + 1) for n in (node.left, node.right))
        return left + right if isinstance(left, str) and isinstance(right, str) else NOT_STATIC
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [static_value(dag, e, depth + 1) for e in node.elts]
        return NOT_STATIC if any(i is NOT_STATIC for i in items) else list(items)
    if isinstance(node, ast.Dict):
        if any(k is None for k in node.keys):
            return NOT_STATIC
        pairs = [(static_value(dag, k, depth + 1), static_value(dag, v, depth + 1))
                 for k, v in zip(node.keys, node.values)]
        return NOT_STATIC if any(NOT_STATIC in p for p in pairs) else dict(pairs)
    if isinstance(node, ast.Call) and (dag.qualified(node.func) in SECRET_CLASSES or (
            isinstance(node.func, ast.Name) and node.func.id == WRITTEN)):  # a pod's Secret, as written out
        args = [static_value(dag, a, depth + 1) for a in node.args]
        kwargs = {k.arg: static_value(dag, k.value, depth + 1) for k in node.keywords}
        if None in kwargs or NOT_STATIC in args or NOT_STATIC in kwargs.values():
            return NOT_STATIC
        made = make_secret(args, kwargs)  # type: ignore[arg-type]
        return made if isinstance(made, K8sSecret) else NOT_STATIC
    if isinstance(node, ast.Call) and not node.args:
        model = dag.qualified(node.func).rsplit(".", 1)[-1]
        if model in _K8S_MODELS and dag.qualified(node.func).startswith("kubernetes."):
            fields = {k.arg: static_value(dag, k.value, depth + 1) for k in node.keywords}
            if None in fields or NOT_STATIC in fields.values() or set(fields) - set(_K8S_MODELS[model]):
                return NOT_STATIC
            if model == "V1EnvVar":
                return (fields.get("name"), fields.get("value"))
            return {k: v for k, v in fields.items() if v is not None}
        return NOT_STATIC
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return NOT_STATIC


def single_assignment(dag: DagFile, name: ast.Name) -> ast.expr | None:
    """The value of the file's only binding of ``name``, when it is ``name = value`` above it."""
    found = None
    for node in ast.walk(dag.tree):
        binds = (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id == name.id) \
            or (isinstance(node, ast.arg) and node.arg == name.id) \
            or (isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                and node.name == name.id) \
            or (isinstance(node, ast.alias) and (node.asname or node.name.split(".")[0]) == name.id) \
            or (isinstance(node, (ast.Global, ast.Nonlocal)) and name.id in node.names)
        if binds:
            if found is not None:
                return None
            found = node
    if found is None or not isinstance(found, ast.Name) or _changed_in_place(dag, name.id):
        return None
    assignment = next((n for n in ast.walk(dag.tree) if isinstance(n, ast.Assign)
                       and len(n.targets) == 1 and n.targets[0] is found), None)
    if assignment is None or assignment.lineno >= name.lineno:
        return None
    return assignment.value


_MUTATORS = frozenset({"append", "extend", "insert", "update", "setdefault", "pop", "popitem", "clear",
                       "remove", "discard", "add", "sort", "reverse", "__setitem__", "__delitem__"})
"""Methods that change a list, dict or set in place."""


def _changed_in_place(dag: DagFile, name: str) -> bool:
    """Whether the file changes what ``name`` holds without binding it again: a store into an item
    or an attribute of it (``ENV["B"] = ...``, ``S.key = ...``, ``del L[0]``), or a method that
    changes it (``CMDS.append(...)``): its value as bound is then not what the task is given."""
    if dag.changed_in_place is None:
        found: set[str] = set()
        for node in ast.walk(dag.tree):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else \
                [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
            found.update(_root_name(part) or "" for target in targets for part in ast.walk(target)
                         if isinstance(part, (ast.Subscript, ast.Attribute)))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
                found.add(_root_name(node.func.value) or "")
        dag.changed_in_place = frozenset(found)
    return name in dag.changed_in_place


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None

