"""Airflow's decorators on the functions a DAG file defines: ``@task`` (and its flavours),
``@dag``, ``@task_group``, ``@asset``; a project's own decorators run as Python would."""

from __future__ import annotations

import ast
from dataclasses import replace

from analysis.dags.classes import BoundMethod, ClassValue
from analysis.dags.names import Kind, classify, task_decorator_label
from analysis.dags.scope import Scope
from analysis.dags.values import (
    Const,
    Function,
    Method,
    Qualified,
    Value,
)


class Decorators:
    """Mixed into the interpreter: what a ``def`` binds, and what calling it makes."""

    def make_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope,
                      where: Scope | None = None) -> Value:
        """The function a ``def`` binds, through its decorators from the bottom up: Airflow's
        (``@task``, ``@dag``, ``@task_group``, ``@asset``) give it its Airflow meaning; a
        project's own decorator runs on it, as Python would. Its parameters' defaults are
        evaluated now, in ``where`` (the ``def``'s own scope: a class body's for a method)."""
        frames = self.frames  # type: ignore[attr-defined]
        # a `def` run inside a function is in that function's file (a closure a helper of another file makes)
        value: Value = Function(node, scope, origin=frames[-1][0].origin or self.path if frames else self.path,
                                defaults=self.default_values(node, where or scope))  # type: ignore[attr-defined]
        for decorator in reversed(node.decorator_list):
            value = self.decorate(value, node, decorator, scope)
        return value

    def decorate(self, value: Value, node: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.expr,
                 scope: Scope) -> Value:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        resolved = self.eval(target, scope)
        if isinstance(resolved, Qualified):
            kinds = {"builtins.property": "property", "builtins.staticmethod": "static",
                     "builtins.classmethod": "class", "functools.cached_property": "property"}
            if resolved.name in kinds and isinstance(value, Function):
                return replace(value, method_kind=kinds[resolved.name])
            if resolved.name == "functools.wraps" and isinstance(decorator, ast.Call) and decorator.args \
                    and isinstance(value, Function):
                wrapped = self.eval(decorator.args[0], scope)
                if isinstance(wrapped, Function):
                    return replace(value, wraps=wrapped.named)
            if isinstance(value, Function):
                self.airflow_decorator(value, node, decorator, resolved.name, scope)
            return value
        if isinstance(resolved, (Function, Method, BoundMethod, ClassValue)) and not (
                isinstance(resolved, Function) and resolved.kind != "plain"):
            # A project decorator: `@retry_task` or `@make_task(pool="x")` returns what the function becomes.
            wrapper = self.call_with_arguments(decorator, resolved, scope) if isinstance(decorator, ast.Call) else resolved
            return self.call(decorator, wrapper, [value], {}, {}, scope)
        return value

    def airflow_decorator(self, function: Function, node: ast.FunctionDef | ast.AsyncFunctionDef,
                          decorator: ast.expr, qualified: str, scope: Scope) -> None:
        kind = classify(qualified)
        label = task_decorator_label(qualified)
        if kind is Kind.ASSET_DECORATOR or (qualified.startswith("airflow.") and qualified.endswith(".asset.multi")):
            self.create_asset_dag(node, decorator, scope)
            return
        if kind is Kind.DAG_DECORATOR:
            function.kind, function.label = "dag", "@dag"
            positional = "dag_id"
        elif kind is Kind.TASK_GROUP_DECORATOR:
            function.kind, function.label = "task_group", "@task_group"
            positional = "group_id"
        elif label is not None:
            # Stacked modifiers (@task.run_if) sit above the decorator that decides.
            if function.kind != "task" or function.label == "@task":
                function.kind, function.label = "task", label
            positional = None
        else:
            return
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg:
                    function.options[keyword.arg] = self.eval(keyword.value, scope)
                    function.option_nodes[keyword.arg] = keyword.value
            if positional and decorator.args:
                function.options[positional] = self.eval(decorator.args[0], scope)
                function.option_nodes[positional] = decorator.args[0]

    def create_asset_dag(self, node: ast.FunctionDef | ast.AsyncFunctionDef, decorator: ast.expr,
                         scope: Scope) -> None:
        """``@asset``/``@asset.multi`` (Airflow 3): a DAG of one task, made where it is defined."""
        options: dict[str, Value] = {}
        nodes: dict[str, ast.expr] = {}
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg in ("dag_id", "name"):
                    options[keyword.arg] = self.eval(keyword.value, scope)
                    nodes[keyword.arg] = keyword.value
        is_multi = isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute) \
            and decorator.func.attr == "multi" or (isinstance(decorator, ast.Attribute) and decorator.attr == "multi")
        key = "dag_id" if "dag_id" in options else ("name" if "name" in options and not is_multi else None)
        dag = self.new_dag(options[key] if key else Const(node.name), nodes.get(key) if key else None, node)
        if key is None:
            dag.id_range = self.lines.name_range(node)
        task = self.create_task(dag, None, Const(node.name), "@asset", node, None, unique=False, mapped=False)
        task.id_range = task.definition_range = self.lines.name_range(node)
        task.callable_name = node.name

    def call_decorated(self, function: Function, node: ast.Call, args: list[Value],
                       kwargs: dict[str, Value], kwarg_nodes: dict[str, ast.expr], scope: Scope) -> Value:
        if function.kind == "task":
            return self.create_taskflow(function, node, [*args, *kwargs.values()], mapped=False)
        if function.kind == "dag":
            return self.create_dag_from_function(function, node, args, kwargs)
        if function.kind == "task_group":
            return self.run_task_group(function, node, args, kwargs, mapped=False)
        return self.call_function(function, args, kwargs)
