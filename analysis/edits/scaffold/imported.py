"""A TaskFlow task whose function another module of the project defines: a shared ``@task`` that
DAG files import and call (austin-atd's ``get_env_vars_task`` of ``utils.onepassword``).

The scaffold copies code from the file that holds it, so the task is planned in that module's
text: ``virtual_task`` appends to it the DAG file's call of the function, with the call's
arguments written out as the literals they are in the DAG file (literals, or names the DAG
file binds once to one above the call), inside a DAG of its own, and reads that text as a DAG
file. What the function needs is then resolved to that module's statements, as for a function
of the DAG file, and ``__file__`` is that module's. Refused with the reason when an argument is
not such a literal (another task's output, a value read at run time): the copy could not be
given the value the DAG file passes.
"""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from collections.abc import Callable
from pprint import pformat

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold.closures import lifted
from analysis.edits.scaffold.plan_values import single_assignment, static_value
from analysis.edits.scaffold.plan_evaluated import BASE_OPERATOR, conditional_problem, literal_arguments
from analysis.edits.scaffold.statements import DagFile, dag_file
from analysis.facts import TaskFacts

ModuleSource = Callable[[str], "tuple[str, str] | None"]
"""A module's dotted name to its file's path and text, or None when the project has no such
module (``ProjectCode.find``, read as the index reads files)."""

VIRTUAL_DAG = "__airlift_imported__"
_NOT_LITERAL = object()


def called_function(call: ast.Call) -> ast.expr:
    """What a TaskFlow call calls: ``t`` of ``t(...)`` and of ``t.override(...)(...)``."""
    target = call.func
    while isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute) and target.func.attr == "override":
        target = target.func.value
    return target


def imported_function(dag: DagFile, task: TaskFacts, call: ast.Call) -> tuple[str, str] | None:
    """(module, name) of the function a TaskFlow task's call names, when the DAG file imports
    it from a module (``t(...)`` or ``t.override(...)(...)``), else None."""
    name = task.callable_name
    qualified = dag.qualified(called_function(call))
    if not name or not task.operator.startswith("@") or "." not in qualified \
            or qualified.rsplit(".", 1)[-1] != name:
        return None
    return qualified.rsplit(".", 1)[0], name


def virtual_task(dag_text: str, task: TaskFacts, source: ModuleSource | None
                 ) -> tuple[str, str, TaskFacts] | str | None:
    """(the module's path, its text with the task's call appended, the task as read there), or
    why the task cannot be planned there, or None when its function is not imported (or no
    ``source`` is given: then the DAG file's own refusal stands)."""
    if source is None or not task.operator.startswith("@"):
        return None
    dag = dag_file(dag_text)
    if isinstance(dag, str):
        return None
    call = dag.call_at(task)
    found = imported_function(dag, task, call) if call is not None else None
    if found is None:
        return None
    module, name = found
    located = source(module)
    if located is None:
        return None  # not the project's: the DAG file's refusal says it is imported
    path, text = located
    arguments = [_literal(dag, node) for node in call.args]
    keywords = {k.arg: _literal(dag, k.value) for k in call.keywords if k.arg is not None}
    unread = next((ast.unparse(n) for n, v in [*zip(call.args, arguments),
                                               *((k.value, keywords.get(k.arg)) for k in call.keywords)]
                   if v is _NOT_LITERAL or isinstance(n, ast.Starred)), None)
    if unread is not None or any(k.arg is None for k in call.keywords):
        shown = unread or "**"
        return (f"the function of task `{task.task_id}` is `{name}` of `{module}`, copied from there, and its "
                f"call passes `{shown}`, which is not a literal or a constant of the DAG file: the copy "
                "cannot be given the same value; port it by hand")
    written = [*(pformat(v, width=80, sort_dicts=False) for v in arguments),
               *(f"{k}={pformat(v, width=80, sort_dicts=False)}" for k, v in keywords.items())]
    one_line = f"{name}({', '.join(written)})"
    if len(one_line) > 84 or "\n" in one_line:  # one argument a line, as a formatter would
        one_line = f"{name}(\n" + "".join(textwrap.indent(w, " " * 8) + ",\n" for w in written) + "    )"
    virtual = (f"{text.rstrip()}\n\n\nfrom airflow import DAG as __airlift_DAG\n\n"
               f"with __airlift_DAG({VIRTUAL_DAG!r}, schedule=None):\n    {one_line}\n")
    facts = extract_file(path, virtual)
    copied = facts.dag(VIRTUAL_DAG) if facts.error is None else None
    tasks = [t for t in copied.tasks if t.callable_name == name] if copied is not None else []
    if len(tasks) != 1:
        return f"the function `{name}` of `{module}` is not read as a `@task` there: port task `{task.task_id}` by hand"
    return path, virtual, dataclasses.replace(tasks[0], task_id=task.task_id, upstream=())


FACTORY_OPERATORS = {"PythonOperator": "airflow.operators.python", "BashOperator": "airflow.operators.bash"}
"""The operators whose task a factory makes that are planned in a text of their own: the class's
module, imported there under the class's name."""


def factory_task(task: TaskFacts, read: Callable[[str], str | None],
                 dag_path: str) -> tuple[str, str, TaskFacts] | str | None:
    """For a ``PythonOperator`` or ``BashOperator`` a project factory makes, with the arguments the
    model evaluated (``TaskFacts.arguments``): as ``virtual_task``, a text with the operator's call
    appended, its arguments written out as literals, where the scaffold copies the task's code
    from. A ``PythonOperator``'s is the module that defines its callable, a module-level function
    of the project (``callable_at``); a ``BashOperator``'s is the call alone, in the DAG file's
    place (its literals need no other code). None when the task is not such a task (the DAG
    file's refusal stands); why not, when an argument is no literal. ``read(path)``: a file's
    text, as the index reads it."""
    module = FACTORY_OPERATORS.get(task.operator)
    if module is None or task.arguments is None or not (task.operator_class or "").startswith("airflow."):
        return None
    if task.conditional:
        return conditional_problem(task)
    closure_values: dict[str, object] = {}
    if task.operator == "PythonOperator":
        if task.callable_at is not None:
            path, name = task.callable_at
            text = read(path)
        elif task.closure is not None:  # defined inside the factory: written at its module's top level
            found = lifted(task, task.closure, read)
            if found is None or isinstance(found, str):
                return found
            path, text, closure_values = found
            name = task.closure.name
        else:
            return None
        needs = f"`{name}`, which the scaffold copies from its module, needs its value"
        given = [f"python_callable={name}"]
    else:  # its values written out need no code of the file: the call alone, read as the DAG file
        path, text, needs, given = dag_path, "", "the scaffold needs its value", []
    if text is None:
        return None
    arguments = literal_arguments(task, BASE_OPERATOR - {"task_id"} | {"python_callable"}, needs)
    if isinstance(arguments, str):
        return arguments
    if closure_values:  # what the closure read from its factory, passed to it
        given_kwargs = dict(arguments).get("op_kwargs") or {}
        if not isinstance(given_kwargs, dict):
            return f"the `op_kwargs` of task `{task.task_id}` is no dict: port it by hand"
        arguments = [(k, v) for k, v in arguments if k != "op_kwargs"] + [("op_kwargs", {**given_kwargs, **closure_values})]
    written = [*given, *(f"{k}={pformat(v, width=80, sort_dicts=False)}" for k, v in arguments if k != "task_id")]
    call = (f"{task.operator}(\n        task_id={task.task_id!r},\n"
            + "".join(textwrap.indent(w, " " * 8) + ",\n" for w in written) + "    )")
    head = f"{text.rstrip()}\n\n\n" if text.strip() else ""
    virtual = (f"{head}from airflow import DAG as __airlift_DAG\nfrom {module} import {task.operator}\n\n"
               f"with __airlift_DAG({VIRTUAL_DAG!r}, schedule=None):\n    {call}\n")
    facts = extract_file(path, virtual)
    copied = facts.dag(VIRTUAL_DAG) if facts.error is None else None
    found = copied.task(task.task_id) if copied is not None else None
    if found is None or found.operator != task.operator:
        return f"task `{task.task_id}` cannot be read as written out in {path}: port it by hand"
    return path, virtual, dataclasses.replace(found, upstream=())


def _literal(dag: DagFile, node: ast.expr, depth: int = 0) -> object:
    """The exact value of a literal, a container of them (tuples stay tuples), an f-string or
    ``+`` of static strings, or a name the DAG file binds once, above, to one; else
    ``_NOT_LITERAL``."""
    if depth > 32:
        return _NOT_LITERAL
    if isinstance(node, ast.Name):
        assigned = single_assignment(dag, node)
        return _NOT_LITERAL if assigned is None else _literal(dag, assigned, depth + 1)
    if isinstance(node, (ast.JoinedStr, ast.BinOp)):
        text = static_value(dag, node)
        return text if isinstance(text, str) else _NOT_LITERAL
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(dag, item, depth + 1) for item in node.elts]
        if any(item is _NOT_LITERAL for item in items) or any(isinstance(e, ast.Starred) for e in node.elts):
            return _NOT_LITERAL
        return list(items) if isinstance(node, ast.List) else tuple(items) if isinstance(node, ast.Tuple) \
            else _hashable_set(items)
    if isinstance(node, ast.Dict):
        if any(key is None for key in node.keys):
            return _NOT_LITERAL
        pairs = [(_literal(dag, k, depth + 1), _literal(dag, v, depth + 1)) for k, v in zip(node.keys, node.values)]
        if any(_NOT_LITERAL in pair for pair in pairs):
            return _NOT_LITERAL
        try:
            return dict(pairs)
        except TypeError:  # an unhashable key
            return _NOT_LITERAL
    try:
        value = ast.literal_eval(node)
        return value if ast.literal_eval(repr(value)) == value else _NOT_LITERAL
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _NOT_LITERAL


def _hashable_set(items: list) -> object:
    try:
        return set(items)
    except TypeError:
        return _NOT_LITERAL


def project_modules(code) -> ModuleSource | None:
    """The ``ModuleSource`` of a project's importable code (``ProjectCode``), or None without it."""
    if code is None:
        return None

    def source(dotted: str) -> tuple[str, str] | None:
        path, _ = code.find(dotted)
        text = code.text(path) if path is not None else None
        return (path, text) if text is not None else None

    return source
