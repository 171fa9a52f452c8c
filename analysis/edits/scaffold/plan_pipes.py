"""The plan of a task that Airflow runs as a copy of a function's source in another Python:
``PythonVirtualenvOperator`` / ``@task.virtualenv`` (a new virtualenv with ``requirements``) and
``ExternalPythonOperator`` / ``@task.external_python`` (the ``python=`` interpreter).

Airflow copies only the function's source (its decorators removed) into a script, with the
arguments pickled beside it: module-level names of the DAG file are not there, so nothing else
is copied here either. The arguments must be literals (the script gets them written out), the
venv options too; the function must be a ``def`` of the DAG file (its source is what runs).
Refused, with the reason: Jinja (``op_args``, ``op_kwargs`` and ``requirements`` are templated),
the task context (``**kwargs``, ``ti``...), options only Airflow honours (``templates_dict``,
``string_args``, ``skip_on_exit_code``, ``env_vars``, ``inherit_env``), a ``requirements``
string (Airflow reads it as a templated requirements file), lambdas, async and decorated
functions.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from analysis.edits.scaffold.plan_common import (
    Plan,
    given_options,
    jinja,
    operator_call_problem,
    signature_problem,
)
from analysis.edits.scaffold.statements import DagFile, is_airflow
from analysis.facts import TaskFacts

PIPES_OPERATORS = {
    "PythonVirtualenvOperator": "virtualenv",
    "@task.virtualenv": "virtualenv",
    "ExternalPythonOperator": "external",
    "@task.external_python": "external",
}
"""The operators whose tasks run through ``PipesSubprocessClient``, to where they run."""

_REFUSED_OPTIONS = {
    "templates_dict": "only Airflow renders it",
    "templates_exts": "only Airflow renders templates",
    "string_args": "Airflow passes them through its own `virtualenv_string_args` global",
    "skip_on_exit_code": "a skipped run is Airflow's",
    "env_vars": "Airflow merges them with its own environment",
    "inherit_env": "Airflow decides which of its own variables are inherited",
}
_VENV_LISTS = ("requirements", "pip_install_options", "index_urls")


@dataclass(frozen=True, slots=True)
class PipesPlan:
    """Where the function's source runs and with what, as code for the asset's body."""

    args: tuple[object, ...]
    """The values of the positional arguments (literals)."""
    kwargs: tuple[tuple[str, object], ...]
    """(name, value) of the keyword arguments (literals)."""
    python: str | None
    """ExternalPython's interpreter; None for a virtualenv."""
    virtualenv: tuple[tuple[str, object], ...]
    """(keyword, value) of how the virtualenv is made: ``requirements`` and the options given."""


def pipes_plan(dag: DagFile, task: TaskFacts, call: ast.Call, function: ast.FunctionDef | None,
               decorator: ast.Call | None) -> Plan | str:
    """The plan of a ``PIPES_OPERATORS`` task: ``call`` creates it; for a TaskFlow task,
    ``function`` is the decorated function and ``decorator`` the ``@task.virtualenv(...)`` call
    (None when it is used bare)."""
    name = f"task `{task.task_id}`"
    where = PIPES_OPERATORS[task.operator]
    if function is None:  # the operator: python_callable=, op_args=, op_kwargs=
        problem = operator_call_problem(dag, task, call)
        if problem:
            return problem
        options = given_options(call.keywords)
        function = _callable(dag, options.get("python_callable"), name)
        if isinstance(function, str):
            return function
        if function.decorator_list:
            return (f"the callable of {name} is decorated: Airflow runs its source with the "
                    "decorators, which the other Python must define; scaffold it by hand")
        positional, keywords = _operator_arguments(options, name)
        if isinstance(positional, str):
            return positional
    else:
        options = given_options(decorator.keywords if decorator is not None else [])
        if decorator is not None and decorator.args:
            return f"the decorator of {name} passes arguments by position: they cannot be read"
        kept = [d for d in function.decorator_list
                if not is_airflow(dag.qualified(d.func if isinstance(d, ast.Call) else d))]
        if kept:
            return (f"the function of {name} has decorators besides Airflow's: the other Python "
                    "would run them too; scaffold it by hand")
        positional, keywords = list(call.args), list(call.keywords)
    if isinstance(function, ast.AsyncFunctionDef):
        return f"{name} is an `async` function: scaffold it by hand"
    for option, why in _REFUSED_OPTIONS.items():
        if option in options:
            return f"{name} uses `{option}`: {why}; scaffold it by hand"
    problem = (_literals(name, positional, keywords)
               or signature_problem(name, function.args, positional, keywords, "function", function))
    if problem:
        return problem
    setup = _external(options, name) if where == "external" else _virtualenv(options, name)
    if isinstance(setup, str):
        return setup
    python, virtualenv = setup
    pipes = PipesPlan(tuple(ast.literal_eval(a) for a in positional),
                      tuple((k.arg, ast.literal_eval(k.value)) for k in keywords), python, virtualenv)
    mentioned = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)} | {function.name}
    mentioned |= {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    return Plan("Pipes", task.operator, (), function,
                frozenset(range(len(function.decorator_list))), False, frozenset(),
                {function.name: frozenset({""})}, frozenset(mentioned), pipes=pipes)


def _callable(dag: DagFile, node: ast.expr | None, name: str) -> ast.FunctionDef | str:
    """The DAG file's ``def`` that ``python_callable`` names: Airflow runs its source."""
    if node is None:
        return f"{name} has no `python_callable`"
    if not isinstance(node, ast.Name):
        return (f"the callable of {name} is not a function defined by name in the DAG file: "
                "its source, which Airflow runs in the other Python, cannot be copied")
    found = [n for n in ast.walk(dag.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
             and n.name == node.id]
    if not found:
        return (f"the callable of {name} (`{node.id}`) is not defined in the DAG file: its "
                "source, which Airflow runs in the other Python, cannot be copied from here")
    if len(found) > 1:
        return f"the DAG file defines `{node.id}` {len(found)} times: which one {name} runs is unclear"
    return found[0]


def _operator_arguments(options: dict[str, ast.expr], name: str):
    op_args, op_kwargs = options.get("op_args"), options.get("op_kwargs")
    positional: list[ast.expr] = []
    if isinstance(op_args, (ast.List, ast.Tuple)):
        positional = list(op_args.elts)
    elif op_args is not None:
        return _not_literal(name, op_args), []
    keywords: list[ast.keyword] = []
    if isinstance(op_kwargs, ast.Dict):
        for key, value in zip(op_kwargs.keys, op_kwargs.values):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)
                    and key.value.isidentifier()):
                return _not_literal(name, op_kwargs), []
            keywords.append(ast.keyword(arg=key.value, value=value))
    elif op_kwargs is not None:
        return _not_literal(name, op_kwargs), []
    return positional, keywords


def _literals(name: str, positional: list[ast.expr], keywords: list[ast.keyword]) -> str | None:
    for node in [*positional, *(k.value for k in keywords)]:
        if isinstance(node, ast.Starred) or not _is_literal(node):
            return _not_literal(name, node)
        text = jinja(node)
        if text is not None:
            return f"the arguments of {name} use Jinja ({text!r}), which only Airflow renders"
    return None


def _not_literal(name: str, node: ast.expr) -> str:
    return (f"the arguments of {name} are not all literals (`{ast.unparse(node)}`): the script "
            "run in the other Python gets them written out")


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _external(options: dict[str, ast.expr], name: str) -> tuple[str, tuple] | str:
    python = options.get("python")
    if not (isinstance(python, ast.Constant) and isinstance(python.value, str)):
        return f"the `python` of {name} is not a string written out: which interpreter runs it is unknown"
    if jinja(python) is not None:
        return f"the `python` of {name} uses Jinja ({python.value!r}), which only Airflow renders"
    return python.value, ()


def _virtualenv(options: dict[str, ast.expr], name: str) -> tuple[None, tuple] | str:
    made: list[tuple[str, object]] = []
    requirements = options.get("requirements")
    if isinstance(requirements, ast.Constant) and isinstance(requirements.value, str):
        return (f"the `requirements` of {name} is a string, which Airflow reads as a templated "
                "requirements file: give a list to scaffold it")
    lists = {}
    for option in _VENV_LISTS:
        node = options.get(option)
        if node is None:
            continue
        if not (isinstance(node, (ast.List, ast.Tuple)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)):
            return f"the `{option}` of {name} is not a list of strings written out"
        if jinja(node) is not None:
            return f"the `{option}` of {name} uses Jinja ({jinja(node)!r}), which only Airflow renders"
        lists[option] = [e.value for e in node.elts]
    made.append(("requirements", lists.get("requirements", [])))
    version = options.get("python_version")
    if version is not None:
        if not (isinstance(version, ast.Constant) and isinstance(version.value, (str, int, float))
                and not isinstance(version.value, bool)):
            return f"the `python_version` of {name} is not a constant"
        made.append(("python_version", str(version.value)))
    system = options.get("system_site_packages")
    if system is not None:
        if not (isinstance(system, ast.Constant) and isinstance(system.value, bool)):
            return f"the `system_site_packages` of {name} is not a constant True or False"
        made.append(("system_site_packages", system.value))
    pip = list(lists.get("pip_install_options", []))
    urls = lists.get("index_urls", [])
    if urls:  # Airflow writes them to the venv's pip.conf: the same as pip's options
        pip = ["--index-url", urls[0], *(o for url in urls[1:] for o in ("--extra-index-url", url)), *pip]
    if pip:
        made.append(("pip_install_options", pip))
    return None, tuple(made)
