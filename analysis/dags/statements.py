"""Statements, as Python runs them: assignments and their targets, ``def``, ``with`` (DAG and
TaskGroup contexts, setup/teardown scopes), loops unrolled over values known statically (read
once, as conditional, otherwise), ``if`` decided or branched, ``try`` and ``return``."""

from __future__ import annotations

import ast
from typing import Any

from analysis.dags.classes import ClassValue, as_airflow, key_value
from analysis.dags.conditions import Break, Continue, Return, condition_text
from analysis.dags.k8s_secrets import K8sSecret
from analysis.dags.named_tuples import tuple_items
from analysis.dags.scope import Scope
from analysis.dags.values import (
    Const,
    DagRef,
    Function,
    GroupRef,
    Mapping,
    Maybe,
    Seq,
    TaskRef,
    Unknown,
    Value,
    short_text,
)

MAX_UNROLL = 1000


class Statements:
    """Mixed into the interpreter."""

    def _exec_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> None:
        owner = scope.vars.get("__class_scope__")
        # A method closes over the scope around its class, not over the class body.
        function = self.make_function(node, scope.parent if owner is not None and scope.parent else scope, scope)
        if owner is not None and isinstance(function, Function):
            function.owner = owner
        self.assign(scope, node.name, function)

    _exec_AsyncFunctionDef = _exec_FunctionDef

    def _exec_Expr(self, node: ast.Expr, scope: Scope) -> None:
        value = self.eval(node.value, scope)
        if isinstance(node.value, ast.Call):
            self.bindable(node, value, "call", None)

    def _exec_Assign(self, node: ast.Assign, scope: Scope) -> None:
        value = self.eval(node.value, scope)
        for target in node.targets:
            self.bind(target, value, scope)
        if isinstance(node.targets[0], ast.Name):
            self.bindable(node, value, "alias", node.targets[0].id)

    def _exec_AnnAssign(self, node: ast.AnnAssign, scope: Scope) -> None:
        if node.value is not None:
            self.bind(node.target, self.eval(node.value, scope), scope)

    def _exec_AugAssign(self, node: ast.AugAssign, scope: Scope) -> None:
        combined = ast.BinOp(left=node.target, op=node.op, right=node.value)
        ast.copy_location(combined, node)
        if isinstance(node.target, ast.Name):
            target = ast.Name(id=node.target.id, ctx=ast.Load())
            combined.left = ast.copy_location(target, node.target)
            self.bind(node.target, self.eval(combined, scope), scope)
        else:
            self.eval(node.value, scope)

    def _exec_With(self, node: ast.With | ast.AsyncWith, scope: Scope) -> None:
        pushed: list[list[Any]] = []
        setup_teardown: list[TaskRef] = []
        for index, item in enumerate(node.items):
            value = as_airflow(self.unwrap_item(self.eval(item.context_expr, scope)))
            if isinstance(item.optional_vars, ast.Name):
                self.bindable(node, value, "alias", item.optional_vars.id)
            elif item.optional_vars is None:
                self.bindable(node, value, "with", index)
            if isinstance(value, TaskRef) and value.task.operator in ("@setup", "@teardown"):
                setup_teardown.append(value)
            if isinstance(value, DagRef):
                self.dag_stack.append(value.dag)
                pushed.append(self.dag_stack)
            elif isinstance(value, GroupRef):
                self.group_stack.append(value.group)
                pushed.append(self.group_stack)
            if item.optional_vars is not None:
                self.bind(item.optional_vars, value, scope)
        first_created = len(self.collector.created)
        try:
            self.exec_block(node.body, scope)
        finally:
            for stack in reversed(pushed):
                stack.pop()
        for context in setup_teardown:
            self.setup_teardown_scope(context.task, self.collector.created[first_created:])

    _exec_AsyncWith = _exec_With

    def _exec_For(self, node: ast.For | ast.AsyncFor, scope: Scope) -> None:
        items = self.iterate(self.eval(node.iter, scope))
        floor = self.floor
        try:
            if items is None or not self.unroll(node, items, scope):
                # Unknown items (or no budget left for them): the body runs any number of times,
                # maybe none; it is read once, for its shape, under that condition.
                saved = self.deeper(f"a loop over {condition_text(node.iter)}")
                try:
                    self.bind(node.target, Unknown(node.target), scope)
                finally:
                    self.restore(saved)
                self.run_conditional(node.body, scope, f"a loop over {condition_text(node.iter)}")
        finally:
            self.floor = floor  # a conditional `break` ends with the loop
        self.exec_block(node.orelse, scope)

    def unroll(self, node: ast.For | ast.AsyncFor, items: list[Value], scope: Scope) -> bool:
        """Run the body once per item; False when the budget ran out first. An item appended
        under a condition (``Maybe``) runs its turn under that condition."""
        for item in items:
            if self.cheap:
                return False
            saved = self.uncertain, self.reason
            if isinstance(item, Maybe):
                self.taint((item.level, item.reason))
                item = item.value
            try:
                self.bind(node.target, item, scope)
                self.exec_block(node.body, scope)
            except Break:
                break
            except Continue:
                continue
            finally:
                self.restore(saved)
        return True

    _exec_AsyncFor = _exec_For

    def _exec_Break(self, node: ast.Break, scope: Scope) -> None:
        raise Break

    def _exec_Continue(self, node: ast.Continue, scope: Scope) -> None:
        raise Continue

    def _exec_While(self, node: ast.While, scope: Scope) -> None:
        test = self.condition(node.test, scope)
        if isinstance(test, Const) and not test.value:
            self.exec_block(node.orelse, scope)
            return
        # Loop bounds are runtime facts: the body is read once, for its shape, as conditional.
        floor = self.floor
        try:
            self.run_conditional(node.body, scope, f"a `while {short_text(node.test)}` loop")
        finally:
            self.floor = floor

    def _exec_If(self, node: ast.If, scope: Scope) -> None:
        # An `elif` is an `if` nested in `else`: chains of them are walked in a loop.
        while True:
            test = self.condition(node.test, scope)
            if not isinstance(test, Const):
                self.run_branches(node, scope, test)
                return
            if test.value:
                self.exec_block(node.body, scope)
                return
            if len(node.orelse) != 1 or not isinstance(node.orelse[0], ast.If):
                self.exec_block(node.orelse, scope)
                return
            node = node.orelse[0]
            self.spend(1)

    def _exec_Try(self, node: ast.Try, scope: Scope) -> None:
        if any(_catches_any_error(handler) for handler in node.handlers):
            # Under `except Exception:` a failing statement does not fail the import: it ends
            # the block, so what the block makes may not be made (a metadata cleanup DAG
            # appending each model in its own `try`, some failing on the Airflow version).
            self.run_conditional(node.body, scope, "no statement of the `try` block above fails")
        else:
            self.exec_block(node.body, scope)
        for handler in node.handlers:
            # Handlers of DAG files are import fallbacks: read their imports only, so a
            # fallback task is never counted twice.
            for statement in handler.body:
                if isinstance(statement, (ast.Import, ast.ImportFrom)):
                    self.exec_statement(statement, scope)
        self.exec_block(node.orelse, scope)
        self.exec_block(node.finalbody, scope)

    _exec_TryStar = _exec_Try

    def _exec_Return(self, node: ast.Return, scope: Scope) -> None:
        value = self.eval(node.value, scope) if node.value is not None else Const(None)
        raise Return(value, (self.uncertain, self.reason))

    # -- binding ---------------------------------------------------------------------

    def bind(self, target: ast.expr, value: Value, scope: Scope) -> None:
        if isinstance(target, ast.Name):
            self.assign(scope, target.id, value)
            value = value.value if isinstance(value, Maybe) else value
            if isinstance(value, TaskRef) and value.task.variable is None:
                value.task.variable = target.id
            elif isinstance(value, DagRef) and value.dag.variable is None:
                value.dag.variable = target.id
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value.items if isinstance(value, Seq) else tuple_items(value)
            if items is None and isinstance(value, Const) and isinstance(value.value, (tuple, list)):
                items = [Const(v) for v in value.value]
            names = target.elts
            if items is not None and len(items) == len(names) and not any(
                isinstance(n, ast.Starred) for n in names
            ):
                for name, item in zip(names, items):
                    self.bind(name, item, scope)
            else:
                for name in names:
                    self.bind(name.value if isinstance(name, ast.Starred) else name,
                              Unknown(name), scope)
        elif isinstance(target, ast.Starred):
            self.bind(target.value, value, scope)
        elif isinstance(target, ast.Attribute):
            base = self.eval(target.value, scope)
            if isinstance(base, Const) and isinstance(base.value, K8sSecret) and isinstance(target.value, ast.Name):
                # a record held by value here, changed there: the name now holds what no reading can say
                self.assign(scope, target.value.id, Unknown(target.value))
            self.set_attribute(base, target.attr, value)
        elif isinstance(target, ast.Subscript):
            self.set_item(self.eval(target.value, scope), self.eval(target.slice, scope), value)
        else:
            self.eval(target, scope)

    def iterate(self, value: Value) -> list[Value] | None:
        if isinstance(value, Maybe):  # a list that may be another: each of its items may not be
            items = self.iterate(value.value)
            return None if items is None else [i if isinstance(i, Maybe) else Maybe(i, value.level, value.reason)
                                               for i in items]
        if isinstance(value, Seq):
            items = value.items
        elif isinstance(value, Mapping):
            items = [key_value(k) for k in value.items]
        elif isinstance(value, Const) and isinstance(value.value, (str, tuple, list, range)):
            items = [Const(v) for v in value.value]
        elif isinstance(value, ClassValue) and value.members is not None:
            items = [Const(member) for member in value.members]
        elif (fields := tuple_items(value)) is not None:
            items = fields
        else:
            return None
        if len(items) > MAX_UNROLL:
            return None
        self.spend(len(items))
        return items


def _catches_any_error(handler: ast.ExceptHandler) -> bool:
    """``except:``, ``except Exception``, ``except BaseException`` (alone or in a tuple)."""
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return any(kind is None or isinstance(kind, ast.Name) and kind.id in ("Exception", "BaseException")
               or isinstance(kind, ast.Attribute) and kind.attr in ("Exception", "BaseException")
               for kind in kinds)
