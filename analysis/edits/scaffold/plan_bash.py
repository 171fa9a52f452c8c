"""What the bash scaffolds read besides the command: the BashOperator options that change how a
command runs (``env``, ``append_env``, ``cwd``, ``skip_on_exit_code``), checked the same way for
``BashOperator`` and ``@task.bash``, and, for ``@task.bash``, where those options are written
and what the function returns.

A ``@task.bash`` function returns the command that Airflow then runs as a BashOperator would.
Its options are the decorator's arguments (``@task.bash(env=..., cwd=...)``), overridden by
those of ``.override(...)`` on the call (the outermost last); its arguments are the call's.
"""

from __future__ import annotations

import ast

from analysis.dags.names import task_decorator_label
from analysis.edits.scaffold.plan_common import jinja, last_text
from analysis.edits.scaffold.statements import DagFile

BASH_TASK = "@task.bash"
SKIPPING = ("skip_on_exit_code", "skip_exit_code")
_SCRIPT = (".sh", ".bash")


def options_problem(name: str, options: dict[str, ast.expr]) -> str | None:
    """Why options a BashOperator scaffold cannot carry are refused (``name``: "task `t`")."""
    for option in SKIPPING:
        if option in options:
            return f"{name} uses `{option}`: a skipped run is Airflow's, scaffold it by hand"
    append_env = options.get("append_env")
    if append_env is not None and not (isinstance(append_env, ast.Constant)
                                       and isinstance(append_env.value, bool)):
        return f"the `append_env` of {name} is not a constant True or False"
    return None


def script(command: ast.expr) -> str | None:
    """The script a command ending in ``.sh``/``.bash`` names: Airflow reads that file as a
    Jinja template, and runs what it renders."""
    tail = last_text(command)
    return tail.split()[-1] if tail is not None and tail.endswith(_SCRIPT) else None


def bash_decorator(dag: DagFile, function: ast.FunctionDef) -> int | None:
    """The index of the function's ``@task.bash`` among its decorators."""
    for index, decorator in enumerate(function.decorator_list):
        callee = decorator.func if isinstance(decorator, ast.Call) else decorator
        if task_decorator_label(dag.qualified(callee)) == BASH_TASK:
            return index
    return None


def task_options(name: str, decorator: ast.expr, call: ast.Call
                 ) -> tuple[dict[str, ast.expr], dict[str, ast.expr]] | str:
    """The options of a ``@task.bash`` task: those of its decorator, then those that
    ``.override(...)`` on ``call`` sets (None values dropped, as Airflow's defaults); or why they
    cannot be read."""
    overrides: list[ast.Call] = []
    callee = call.func
    while isinstance(callee, ast.Call) and isinstance(callee.func, ast.Attribute) and \
            callee.func.attr == "override":
        overrides.insert(0, callee)
        callee = callee.func.value
    given: list[tuple[str, list[ast.keyword]]] = []
    if isinstance(decorator, ast.Call):
        if decorator.args:
            return f"the `@task.bash` of {name} is given arguments by position: pass them by name"
        given.append(("decorator", decorator.keywords))
    given += [("override", o.keywords) for o in overrides]
    found: tuple[dict[str, ast.expr], dict[str, ast.expr]] = ({}, {})
    for where, keywords in given:
        if any(k.arg is None for k in keywords):
            return f"the options of {name} are unpacked with `**`: they cannot be read statically"
        for keyword in keywords:
            for options in found:
                options.pop(keyword.arg, None)
            if not (isinstance(keyword.value, ast.Constant) and keyword.value.value is None):
                found[where == "override"][keyword.arg] = keyword.value
    return found


def bash_task_options(dag: DagFile, name: str, function: ast.FunctionDef, call: ast.Call
                      ) -> tuple[dict[str, ast.expr], list[tuple[ast.expr, str]]] | str:
    """A ``@task.bash`` task's options (``env``, ``append_env``, ``cwd``) and the values whose
    names the asset's body needs, each with where it is read: "function" for the decorator's
    (where the function is defined), "argument" for ``.override(...)``'s (where the task is
    created); or why the task cannot be scaffolded."""
    decorator = bash_decorator(dag, function)
    if decorator is None:
        return f"the `@task.bash` decorator of {name} was not found"
    found = task_options(name, function.decorator_list[decorator], call)
    if isinstance(found, str):
        return found
    given, overridden = found
    options = {**given, **overridden}
    problem = options_problem(name, options) or returned_problem(name, function)
    if problem:
        return problem
    values = [(options[k], "argument" if k in overridden else "function")
              for k in ("env", "cwd") if k in options]
    return {k: options[k] for k in ("env", "append_env", "cwd") if k in options}, values


def append_env(options: dict[str, ast.expr]) -> bool:
    """Whether the command gets the process's environment as well as ``env``."""
    value = options.get("append_env")
    return isinstance(value, ast.Constant) and value.value is True


def returned_problem(name: str, function: ast.FunctionDef) -> str | None:
    """What the function's code shows of a command Airflow alone can run: Jinja in its strings
    (Airflow 2.11 and 3 render the returned command: the asset renders it through
    ``_airflow_render``, which refuses Jinja when it runs), a returned script name; None when the
    command is only known when it runs."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
            isinstance(body[0].value.value, str):
        body = body[1:]  # the docstring is no part of the command
    for statement in body:
        text = jinja(statement)
        if text is not None:
            return (f"the bash command that {name} returns uses Jinja ({text!r}), which only "
                    "Airflow renders")
    pending: list[ast.AST] = list(body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # its own returns
        named = script(node.value) if isinstance(node, ast.Return) and node.value else None
        if named is not None:
            return (f"the bash command that {name} returns names a script ({named!r}) that "
                    "Airflow reads as a Jinja template")
        pending.extend(ast.iter_child_nodes(node))
    return None
