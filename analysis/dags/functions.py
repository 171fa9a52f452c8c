"""Calling the project's functions: parameters bound as Python binds them, the body run, what
it returns (or, for a generator, yields), under the certainty its ``return`` was reached with."""

from __future__ import annotations

import ast
from collections.abc import Iterator

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

MAX_DEPTH = 24
"""Helper calls followed inside one another."""


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


class Functions:
    """Mixed into the interpreter."""

    def call_function(self, function: Function, args: list[Value], kwargs: dict[str, Value],
                      before: Iterator[None] | None = None) -> Value:
        """Run a function body with its parameters bound, and return what it returns."""
        if self.depth >= MAX_DEPTH:
            return Unknown(function.node.name)
        if self.cheap:
            return Unknown(function.node.name)
        scope = Scope(function.scope)
        self.bind_parameters(function.node, args, kwargs, scope)
        self.depth += 1
        self.frames.append((function, scope))
        entry, floor = self.certainty, self.floor
        self.floor = entry
        result: Value = Const(None)
        generator = is_generator(function.node)
        if generator:
            self.yields.append([])
        try:
            self.exec_block(function.node.body, scope)
            end = self.certainty
        except Return as returned:
            result, end = returned.value, returned.certainty
        except (Break, Continue):
            end = self.certainty
        finally:
            self.depth -= 1
            self.frames.pop()
            self.floor = floor
            if generator:  # a generator function's call gives what it yields (read eagerly)
                result = Seq(self.yields.pop())
        # A return under a condition: what the function returns may be something else.
        self.uncertain, self.reason = entry
        if end[0] > entry[0] and not isinstance(result, Maybe):
            return Maybe(result, *end)
        return result

    def bind_parameters(self, node: ast.FunctionDef | ast.AsyncFunctionDef, args: list[Value],
                        kwargs: dict[str, Value], scope: Scope) -> None:
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
                scope.vars[param.arg] = self.eval(defaults[param.arg], scope.parent or scope)
            else:
                scope.vars[param.arg] = Unknown(param.arg)
        for param in spec.kwonlyargs:
            if param.arg in kwargs:
                scope.vars[param.arg] = kwargs[param.arg]
            elif param.arg in defaults:
                scope.vars[param.arg] = self.eval(defaults[param.arg], scope.parent or scope)
            else:
                scope.vars[param.arg] = Unknown(param.arg)
        if spec.vararg:
            scope.vars[spec.vararg.arg] = Seq(list(args[len(positional):]))
        if spec.kwarg:
            known = {p.arg for p in (*positional, *spec.kwonlyargs)}
            scope.vars[spec.kwarg.arg] = Mapping({k: v for k, v in kwargs.items() if k not in known})
