"""The values a project factory's closure reads from the factory: a ``PythonOperator`` whose
``python_callable`` is a function defined inside the function that made the task
(ethereum-etl's ``build_parse_dag`` defines ``share_dataset_task``, which reads the factory's
``parse_destination_dataset_project_id``).

Python reads a closure's free variables when the function runs, so the values are those the
factory's scope holds once the DAG file has been read (a loop's last value too, as in Python).
Kept only with the task's arguments (``extract_file(..., arguments=True)``), for the scaffold,
which copies the function to module level and passes these values to it.
"""

from __future__ import annotations

import ast
import symtable

from analysis.dags.arguments import evaluated
from analysis.dags.values import Function, Mapping, Seq, Value
from analysis.facts import Closure


def is_closure(value: object) -> bool:
    """A plain function defined inside another function's call (not a method, not a lambda)."""
    return isinstance(value, Function) and value.owner is None and value.kind == "plain" \
        and value.node.name != "<lambda>" and getattr(value.scope, "parent", None) is not None


def dag_parameters(function: Function, frames: list) -> frozenset[tuple[int, str]]:
    """``(id of the scope, name)`` of each parameter of a ``@dag`` function running around the
    closure (``frames``: the interpreter's calls): Airflow gives them as the run's params."""
    chain = set()
    scope = function.scope
    while scope is not None:
        chain.add(id(scope))
        scope = scope.parent
    found = set()
    for running, scope in frames:
        if getattr(running, "kind", "") == "dag" and id(scope) in chain:
            arguments = running.node.args
            found.update((id(scope), a.arg) for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs])
    return frozenset(found)


def closure_of(function: Function, path: str, dag_params: frozenset[tuple[int, str]] = frozenset()) -> Closure:
    """Where the closure is defined and the literal values of what it reads from the functions
    around it (or why they cannot be known)."""
    node = function.node
    where = function.origin or path
    read = free_names(node)
    if read is None:
        return Closure(where, node.name, node.lineno, (), f"`{node.name}` rebinds a name of the function "
                       "that defines it (`nonlocal`)")
    free, at_definition = read
    found = {}
    params = set()
    scope = function.scope
    while scope is not None and scope.parent is not None:  # the module's own names are copied as they are
        for name in sorted((free | at_definition) - found.keys()):
            if name in scope.vars:
                found[name] = scope.vars[name]
                if (id(scope), name) in dag_params:
                    params.add(name)
        scope = scope.parent
    early = sorted(at_definition & found.keys())
    if early:  # evaluated once, by the `def` inside the factory: a parameter would not do
        return Closure(where, node.name, node.lineno, (), f"the default values or annotations of `{node.name}` "
                       f"read `{early[0]}` of the function that defines it")
    bindings = tuple(_typed(found, argument) if argument[0] not in params else
                     (argument[0], False, "a parameter of its `@dag` function, which Airflow gives the run's "
                      "param (a `DagParam`), only known when the DAG runs")
                     for argument in evaluated(found, 0, False))
    return Closure(where, node.name, node.lineno, bindings, None, frozenset((free | at_definition) - found.keys()))


def _typed(found: dict[str, Value], argument: tuple[str, bool, object]) -> tuple[str, bool, object]:
    """The argument with its lists, tuples and sets as Python has them (a closure's code may add
    a tuple to it), or why its type is not known."""
    name, known, literal = argument
    if not known:
        return argument
    try:
        return name, True, _exact(found[name], literal, 0)
    except _Untyped as why:
        return name, False, str(why)


class _Untyped(Exception):
    pass


def _exact(value: Value, literal: object, depth: int) -> object:
    if depth > 32:
        raise _Untyped("nested too deeply to write out")
    if isinstance(value, Seq):
        if value.kind is None:
            raise _Untyped("a sequence the code makes, of which the model does not know whether it is a list, "
                           "a tuple or a set")
        items = [_exact(v, lit, depth + 1) for v, lit in zip(value.items, literal)]  # type: ignore[call-overload]
        if value.kind == "tuple":
            return tuple(items)
        if value.kind == "set":
            try:
                return set(items)
            except TypeError:
                raise _Untyped("a set of unhashable values") from None
        return items
    if isinstance(value, Mapping) and isinstance(literal, dict):
        return {k: _exact(value.items[k], lit, depth + 1) for k, lit in literal.items()}
    return literal


def free_names(node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[set[str], set[str]] | None:
    """The names the function and the functions inside it read without binding them (its free
    variables and the globals it reads), and those its ``def`` reads where it runs (default
    values, annotations, decorators), by CPython's own symbol tables; None when it declares a
    name ``nonlocal``, which only the function around it binds."""
    try:
        table = symtable.symtable(ast.unparse(node), "<closure>", "exec")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    at_definition = {s.get_name() for s in table.get_symbols() if s.is_referenced()} - {node.name}
    names: set[str] = set()
    tables = list(table.get_children())
    while tables:
        inner = tables.pop()
        names.update(s.get_name() for s in inner.get_symbols()
                     if s.is_referenced() and s.is_global() and not s.is_declared_global())
        tables.extend(inner.get_children())
    return names, at_definition
