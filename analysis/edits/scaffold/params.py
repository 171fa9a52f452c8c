"""The DAG's and the task's ``params``, which a scaffold gives the asset when the task reads them:
``{{ params.region }}`` in its templated arguments, or ``params`` that its callable takes from the
task context (by parameter, or by key through ``**context``).

Airflow 2.11 and 3 give a task the params its DAG is created with (``DAG(params=...)``, then its
``default_args["params"]``), updated with the task's own (``params=`` of its call or of its
``@task(...)``), then with the run's conf (``[core] dag_run_conf_overrides_params``, on unless
changed), each ``Param`` resolved to its value (``process_params``): a plain dict. The run's conf
is validated against the DAG's ``Param`` schemas when Airflow creates the run, so the asset takes
the values written in the DAG file (``task_params``) and updates them with the conf of the Airflow
run that launched it (``run_values``), as Airflow does.

Read statically: a dict literal, ``dict(...)`` or a name bound once to one (and read nowhere else,
where it might be changed through another name), whose values are JSON's kinds (strings, finite
numbers, booleans, None, lists and dicts of them) or, for the DAG's, a ``Param(default, ...)`` of
one; a ``@dag`` function's parameters with their defaults, when the file only calls it bare.
Refused, with why: anything else (a tuple, whose text differs from the list a conf would give; a
value computed when Airflow reads the file), a ``Param`` without a default (only the conf gives
it, and its place among the params), a task's own ``Param`` (Airflow checks the conf against it
only when the task runs), a DAG whose creation cannot be read, a ``@dag`` function taking
``*args``/``**kwargs`` or called with arguments, a task group's ``default_args`` giving params,
params changed after creation (``dag.params[...] = ...``), and a task that a factory makes.
"""

from __future__ import annotations

import ast
import math

from analysis.edits.scaffold.plan_dag import dag_creation, own_default_args, task_groups
from analysis.edits.scaffold.plan_values import NOT_STATIC, single_assignment, static_value
from analysis.edits.scaffold.statements import DagFile, Unit

MARKER = "{{ the DAG's params }}"
"""The key that stands, among a plan's Variables (``Plan.variables``), for ``{{ params.x }}`` read
in Jinja: the asset is then given the task's params (``Plan.params``)."""
CONTEXT_KEY = "params"
"""The task context's key a callable can take the params by."""
_PARAM_CLASSES = frozenset({"airflow.models.param.Param", "airflow.models.Param", "airflow.sdk.Param",
                            "airflow.sdk.definitions.param.Param"})
_NO_DEFAULT = object()
"""A ``Param`` without a default: only the run's conf gives its value."""


def task_params(dag: DagFile, dag_unit: Unit, call: ast.Call, task_keywords: list[ast.keyword],
                label: str) -> dict[str, object] | str:
    """The params Airflow gives the task ``call`` makes (``task_keywords``: where its own
    ``params=`` and ``default_args=`` are given: the operator's call, or the ``@task(...)``
    decorator and its ``.override(...)``s, the last one's winning), merged as Airflow merges them
    before the run's conf (the DAG's, its ``default_args``', a ``@dag`` function's parameters, the
    task's own, its ``default_args``'), each ``Param`` resolved to its default; or why they cannot
    be read (``label``: "task `t`")."""
    creation = dag_creation(dag, dag_unit, call)
    if isinstance(creation, str):
        return f"{label} reads the DAG's params, and its DAG {creation}: the scaffold needs their values"
    changed = _changed(dag.tree)
    if changed is not None:
        return f"{label} reads the DAG's params, which the DAG file changes (line {changed}): scaffold it by hand"
    groups = [own_default_args(dag, group) or {} for group in task_groups(dag, dag_unit, call)]
    if any("params" in given or given.get("default_args") is NOT_STATIC for given in groups):
        return f"{label} reads the DAG's params, which a task group's `default_args` may give: scaffold it by hand"
    merged: dict[str, object] = {}
    own = own_default_args(dag, creation) or {}
    if own.get("default_args") is NOT_STATIC:
        return f"{label} reads the DAG's params, and the DAG's `default_args`, which may give some, cannot be read"
    sources = [("the DAG's `params`", _keyword(creation.keywords, "params")),
               ("the `params` of the DAG's `default_args`", own.get("params")),
               (f"the `params` of {label}", _keyword(task_keywords[::-1], "params"))]
    task_defaults = _keyword(task_keywords[::-1], "default_args")  # `.override(...)`'s replace the decorator's
    if task_defaults is not None:
        given = own_default_args(dag, ast.Call(func=ast.Name("dict"), args=[],  # read as a call's
                                               keywords=[ast.keyword("default_args", task_defaults)]))
        if (given or {}).get("default_args") is NOT_STATIC:
            return f"{label} reads the DAG's params, and its `default_args`, which may give some, cannot be read"
        sources.append((f"the `params` of the `default_args` of {label}", (given or {}).get("params")))
    for index, (what, node) in enumerate(sources):
        if index == 2:  # a `@dag` function's parameters are params, after the DAG's
            found = _function_params(dag, dag_unit, creation, label)
            if isinstance(found, str):
                return found
            merged.update(found)
        if node is None or (isinstance(node, ast.Constant) and node.value is None):
            continue
        value = _mapping(dag, node, task_level=index >= 2)
        if isinstance(value, str):
            return (f"{what} {value} (`{_short(node)}`): the scaffold needs the values that {label} reads")
        merged.update(value)
    return merged


def _function_params(dag: DagFile, dag_unit: Unit, creation: ast.Call, label: str) -> dict[str, object] | str:
    """The params a ``@dag`` function's parameters give (``DAG.param``: each default, set on the DAG
    after its ``params``), or why they cannot be read; none for a ``DAG(...)`` call."""
    function = next((n for statement in dag_unit.statements for n in ast.walk(statement)
                     if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                     and any(d is creation or d is creation.func for d in n.decorator_list)), None)
    if function is None:
        return {}
    args = function.args
    named = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    if args.vararg is not None or args.kwarg is not None:
        extra = f"*{args.vararg.arg}" if args.vararg is not None else f"**{args.kwarg.arg}"
        return f"{label} reads the DAG's params, and `{function.name}` takes `{extra}`, which Airflow makes one: " \
               "scaffold it by hand"
    if not named:
        return {}
    calls = {id(n.func) for n in ast.walk(dag.tree) if isinstance(n, ast.Call) and not n.args and not n.keywords}
    if any(isinstance(n, ast.Name) and n.id == function.name and isinstance(n.ctx, ast.Load) and id(n) not in calls
           for n in ast.walk(dag.tree)):
        return (f"{label} reads the DAG's params, which `{function.name}`'s parameters give, and the file calls it "
                "with arguments or by another name: scaffold it by hand")
    defaults = dict(zip([a.arg for a in [*args.posonlyargs, *args.args]][::-1], args.defaults[::-1]))
    defaults |= {a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
    found = {}
    for name in (a.arg for a in named if a.arg in defaults):
        value = _value(dag, defaults[name])
        if value is NOT_STATIC or value is _NO_DEFAULT:
            return (f"the parameter `{name}` of `{function.name}`, a param of its DAG, is not a literal of JSON's "
                    f"kinds: the scaffold needs the values that {label} reads")
        found[name] = value
    return found


def _keyword(keywords: list[ast.keyword], name: str) -> ast.expr | None:
    return next((k.value for k in keywords if k.arg == name), None)


def _short(node: ast.expr) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."


def _mapping(dag: DagFile, node: ast.expr, depth: int = 0, task_level: bool = False) -> dict[str, object] | str:
    """The params a dict literal, ``dict(...)`` or a name bound once to one gives, or why not
    (``task_level``: a task's, whose ``Param``s Airflow checks only when the task runs)."""
    if isinstance(node, ast.Name) and depth < 8:
        assigned = single_assignment(dag, node)
        if assigned is None:
            return "is not bound once to a dict"
        if _shared(dag, node.id, assigned):
            return "names a value the file uses elsewhere too, where it may be changed"
        return _mapping(dag, assigned, depth + 1, task_level)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" and not node.args \
            and all(k.arg is not None for k in node.keywords):
        pairs = [(k.arg, k.value) for k in node.keywords]
    elif isinstance(node, ast.Dict) and all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                            for k in node.keys):
        pairs = [(k.value, v) for k, v in zip(node.keys, node.values)]
    else:
        return "is not a dict written out"
    found = {}
    for key, item in pairs:
        if task_level and _is_param(dag, item):
            return (f"gives `{key}` a `Param`, which Airflow checks against the run's conf only when the task "
                    "runs")
        value = _value(dag, item)
        if value is _NO_DEFAULT:  # the run's conf gives it, in this place among the others
            return f"gives `{key}` a `Param` without a default, which only the run's conf gives"
        if value is NOT_STATIC:
            return f"gives `{key}` a value that is not a literal of JSON's kinds or a `Param` of one"
        found[key] = value
    return found


def _is_param(dag: DagFile, node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and dag.qualified(node.func) in _PARAM_CLASSES


def _shared(dag: DagFile, name: str, value: ast.expr) -> bool:
    """Whether ``name``, bound to a mutable ``value`` (a dict or list), is read more than once in
    the file: through another name or a function it may be changed where the scaffold does not
    look (``Q = P; Q["r"] = 2``)."""
    if not isinstance(value, (ast.Dict, ast.List, ast.Call)):
        return False
    return sum(isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
               for n in ast.walk(dag.tree)) > 1


def _value(dag: DagFile, node: ast.expr, depth: int = 0) -> object:
    """A param's value as Airflow resolves it (JSON's kinds; a ``Param``'s default), else
    ``NOT_STATIC``."""
    if depth > 16:
        return NOT_STATIC
    if isinstance(node, ast.Name):
        assigned = single_assignment(dag, node)
        return NOT_STATIC if assigned is None or _shared(dag, node.id, assigned) else _value(dag, assigned, depth + 1)
    if _is_param(dag, node):
        if len(node.args) > 1 or any(k.arg is None for k in node.keywords) \
                or any(isinstance(a, ast.Starred) for a in node.args):
            return NOT_STATIC
        default = node.args[0] if node.args else _keyword(node.keywords, "default")
        return _NO_DEFAULT if default is None else _value(dag, default, depth + 1)
    if isinstance(node, ast.List):
        items = [_value(dag, e, depth + 1) for e in node.elts]
        return NOT_STATIC if any(i is NOT_STATIC or i is _NO_DEFAULT for i in items) else items
    if isinstance(node, ast.Dict):
        if not all(isinstance(k, ast.Constant) and isinstance(k.value, str) for k in node.keys):
            return NOT_STATIC
        values = [_value(dag, v, depth + 1) for v in node.values]
        return NOT_STATIC if any(v is NOT_STATIC or v is _NO_DEFAULT for v in values) \
            else dict(zip((k.value for k in node.keys), values))
    if isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.UnaryOp)):
        value = ast.literal_eval(node) if isinstance(node, (ast.Constant, ast.UnaryOp)) and _literal(node) \
            else static_value(dag, node)
        if isinstance(value, float) and not math.isfinite(value):  # `inf` is no literal to write
            return NOT_STATIC
        return value if isinstance(value, (str, int, float, bool, type(None))) else NOT_STATIC
    return NOT_STATIC


def _literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _changed(tree: ast.Module) -> int | None:
    """The line where the file changes params after they are given (``dag.params[k] = v``,
    ``task.params = {...}``, ``dag.params.update(...)``), if any."""
    for node in ast.walk(tree):
        target = node.value if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)) else node
        if isinstance(target, ast.Attribute) and target.attr == "params" and (
                target is not node or isinstance(target.ctx, (ast.Store, ast.Del))):
            return node.lineno
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "params" \
                and node.func.attr in ("update", "pop", "popitem", "clear", "setdefault", "__setitem__"):
            return node.lineno
    return None
