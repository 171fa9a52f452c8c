"""Calling the project's functions: parameters bound as Python binds them, the body run, what
it returns (or, for a generator, yields), under the certainty its ``return`` was reached with.

Helpers are followed as deep as Python itself would call them (``MAX_DEPTH``): a project's
task wrappers may pass a DAG down a chain of 200 tasks, one call per link. Each followed call
costs the interpreter about 15 Python frames, so a deep chain would pass Python's recursion
limit long before; rather than raising that limit (process-wide: it would let other threads
recurse deeper than their C stack holds), a call made on a crowded stack runs on a fresh thread
while its caller waits (``on_fresh_stack``): each thread stays within the usual limit, and the
depth is bounded by ``MAX_DEPTH`` alone.
"""

from __future__ import annotations

import ast
import sys
import threading
from collections.abc import Callable, Iterator

from analysis.dags.conditions import Break, Continue, Return
from analysis.dags.scope import Scope
from analysis.dags.values import (
    Const,
    Function,
    Mapping,
    Maybe,
    Seq,
    Unknown,
    Value,
)

MAX_DEPTH = 1000
"""Helper calls followed inside one another: Python's own default recursion limit, which a
DAG file's calls cannot pass either when Airflow imports it."""
CROWDED = 300
"""Python frames on a thread past which a helper's body runs on a fresh thread: the
interpreter's own nesting (expressions, statements) has the rest of the recursion limit."""
CHECK_EVERY = 8
"""Calls nested between two looks at the stack (a look walks ``CROWDED`` frames)."""
MAX_HOPS = 512
"""Fresh threads one file may take. A chain 1,000 calls deep takes about 42; ttd's wrappers
handing a DAG down a 214-link chain that forks 20 times, 124. A helper fanning out without end
at that depth would take one per call, each a hand-over that a loaded machine makes wait
(milliseconds): past this, calls on a crowded stack are not followed."""
HOP_COST = 1000
"""Budget units a fresh thread costs: starting one and handing over to it takes 0.1 ms, and
several times that on a loaded machine (a unit is about a microsecond). A helper fanning out
at the depth where threads change would otherwise start one per call: this bounds them to a
couple of thousand per file, as the budget bounds any other repetition."""


def is_generator(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The function yields (in its own body, not in a nested function or lambda)."""
    cached = getattr(node, "_airlift_generator", None)
    if cached is None:
        stack: list[ast.AST] = list(node.body)
        cached = False
        while stack and not cached:
            current = stack.pop()
            if isinstance(current, (ast.Yield, ast.YieldFrom)):
                cached = True
            elif not isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
                stack.extend(ast.iter_child_nodes(current))
        node._airlift_generator = cached  # type: ignore[attr-defined]
    return cached


def crowded() -> bool:
    """This thread holds more than ``CROWDED`` Python frames."""
    try:
        sys._getframe(CROWDED)
    except ValueError:
        return False
    return True


def on_fresh_stack(run: Callable[[], None]) -> None:
    """``run()`` on a new thread, this one waiting: the same work, with a recursion count (and
    a C stack) of its own. What it raises is raised here."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as error:  # noqa: BLE001 - handed to the waiting caller as it is
            raised.append(error)

    thread = threading.Thread(target=target, name="airlift-deep-helper", daemon=True)
    try:
        thread.start()
    except RuntimeError:  # no thread to be had: the interpreter's own limits apply
        run()
        return
    thread.join()
    if raised:
        raise raised[0]


class Functions:
    """Mixed into the interpreter."""

    hops = 0
    """Helper bodies this file ran on a fresh thread (at most ``MAX_HOPS``)."""

    def call_function(self, function: Function, args: list[Value], kwargs: dict[str, Value],
                      before: Iterator[None] | None = None) -> Value:
        """Run a function body with its parameters bound, and return what it returns."""
        if self.cheap:
            return Unknown(function.node.name)
        if self.depth >= MAX_DEPTH:
            self.give_up("depth", self.statement, f"helper calls nest more than {MAX_DEPTH:,} deep here "
                         "(deeper than Python itself calls): the deeper ones are not followed")
            return Unknown(function.node.name)
        hop = (self.depth + 1) % CHECK_EVERY == 0 and crowded()
        if hop:
            if self.hops >= MAX_HOPS:
                self.give_up("depth", self.statement, "helper calls nest too deeply here, too many times, "
                             "to read statically: the deeper ones are not followed")
                return Unknown(function.node.name)
            self.hops += 1
            self.spend(HOP_COST)
        scope = Scope(function.scope)
        self.bind_parameters(function.node, args, kwargs, scope, function.defaults)
        self.depth += 1
        nesting, self.nesting = self.nesting, 0  # the callee's expressions nest from its own body
        self.frames.append((function, scope))
        entry, floor = self.certainty, self.floor
        self.floor = entry
        result: Value = Const(None)
        generator = is_generator(function.node)
        if generator:
            self.yields.append([])
        try:
            if hop:
                on_fresh_stack(lambda: self.exec_block(function.node.body, scope))
            else:
                self.exec_block(function.node.body, scope)
            end = self.certainty
        except Return as returned:
            result, end = returned.value, returned.certainty
        except (Break, Continue):
            end = self.certainty
        finally:
            self.depth -= 1
            self.nesting = nesting
            self.frames.pop()
            self.floor = floor
            if generator:  # a generator function's call gives what it yields (read eagerly)
                result = Seq(self.yields.pop())
        # A return under a condition: what the function returns may be something else.
        self.uncertain, self.reason = entry
        if end[0] > entry[0] and not isinstance(result, Maybe):
            return Maybe(result, *end)
        return result

    def default_values(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> dict[str, Value]:
        """The values of ``node``'s parameter defaults, evaluated in ``scope`` (when its ``def`` runs)."""
        spec = node.args
        positional = [*spec.posonlyargs, *spec.args]
        pairs = [*zip(positional[len(positional) - len(spec.defaults):], spec.defaults),
                 *((p, d) for p, d in zip(spec.kwonlyargs, spec.kw_defaults) if d is not None)]
        return {param.arg: self.eval(default, scope) for param, default in pairs}

    def bind_parameters(self, node: ast.FunctionDef | ast.AsyncFunctionDef, args: list[Value],
                        kwargs: dict[str, Value], scope: Scope, bound: dict[str, Value] | None = None) -> None:
        """``bound``: the defaults' values when the ``def`` ran; without them, evaluated now."""
        spec = node.args
        positional = [*spec.posonlyargs, *spec.args]
        defaults: dict[str, ast.expr] = {}
        for param, default in zip(positional[len(positional) - len(spec.defaults):], spec.defaults):
            defaults[param.arg] = default
        for param, default in zip(spec.kwonlyargs, spec.kw_defaults):
            if default is not None:
                defaults[param.arg] = default
        for index, param in enumerate(positional):
            if index < len(args):
                scope.vars[param.arg] = args[index]
            elif param.arg in kwargs:
                scope.vars[param.arg] = kwargs[param.arg]
            elif param.arg in defaults:
                scope.vars[param.arg] = bound[param.arg] if bound is not None and param.arg in bound \
                    else self.eval(defaults[param.arg], scope.parent or scope)
            else:
                scope.vars[param.arg] = Unknown(param.arg)
        for param in spec.kwonlyargs:
            if param.arg in kwargs:
                scope.vars[param.arg] = kwargs[param.arg]
            elif param.arg in defaults:
                scope.vars[param.arg] = bound[param.arg] if bound is not None and param.arg in bound \
                    else self.eval(defaults[param.arg], scope.parent or scope)
            else:
                scope.vars[param.arg] = Unknown(param.arg)
        if spec.vararg:
            scope.vars[spec.vararg.arg] = Seq(list(args[len(positional):]))
        if spec.kwarg:
            known = {p.arg for p in (*positional, *spec.kwonlyargs)}
            scope.vars[spec.kwarg.arg] = Mapping({k: v for k, v in kwargs.items() if k not in known})
