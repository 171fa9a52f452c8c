"""A small abstract interpreter that runs a DAG file's statements without running Python.

It follows what Airflow does while importing the file — DAG and TaskGroup contexts,
task creation, dependency operators — over values it can know statically (literals,
module constants, f-strings of those, loops over literal lists). Everything else is an
``Unknown``; a task whose id depends on one is marked dynamic, never guessed.
Reading is bounded whatever the file (``analysis.dags.budget``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from analysis.dags.budget import Budget, OutOfBudget
from analysis.dags.builder import Collector, DagRecord, GroupRecord
from analysis.dags.conditions import Break, Conditions, Continue, Return, condition_text
from analysis.dags.evaluation import Evaluator
from analysis.dags.importing import ImportStatements
from analysis.dags.matching import Matching
from analysis.dags.modules import ProjectCode
from analysis.dags.objects import ClassValue, ObjectModel, as_airflow
from analysis.dags.scope import Scope
from analysis.dags.unrecognized import Unfollowed, why_not_followed
from analysis.dags.values import (
    Const,
    DagRef,
    Function,
    GroupRef,
    Mapping,
    Maybe,
    Qualified,
    Seq,
    TaskRef,
    Unknown,
    Value,
    short_text,
)
from analysis.facts import Range
from analysis.source import LineIndex

MAX_UNROLL = 1000
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


class Positions:
    """Ranges of this file's nodes; while a helper of another file runs, the call in this file
    that led to it (``anchor``): a task made there is shown where this file asked for it."""

    __slots__ = ("anchor", "index")

    def __init__(self, index: LineIndex) -> None:
        self.index = index
        self.anchor: Range | None = None

    def range_of(self, node: ast.AST) -> Range:
        return self.anchor if self.anchor is not None else self.index.range_of(node)

    def name_range(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Range:
        return self.anchor if self.anchor is not None else self.index.name_range(node)

    def first_line_range(self, node: ast.AST) -> Range:
        return self.anchor if self.anchor is not None else self.index.first_line_range(node)


class Interpreter(ImportStatements, ObjectModel, Matching, Evaluator, Budget, Conditions):
    def __init__(self, path: str, text: str, *, code: ProjectCode | None = None,
                 module_name: str | None = None, module_scope: Scope | None = None) -> None:
        Budget.__init__(self)
        Conditions.__init__(self)
        self.path = path
        self.lines = Positions(LineIndex(text))
        self.code = code
        self.module_name = module_name
        """This file's dotted name under the import roots (for relative imports), if any."""
        self.dependencies: dict[str, str] = {}
        """Workspace modules read through imports: path -> SHA-1 of the text read."""
        self.unfollowed: list[Unfollowed] = []
        """Module-level calls whose callee could not be followed (for ``unrecognized-dag-file``)."""
        self.yields: list[list[Value]] = []
        """What the generators being run have yielded so far, innermost last."""
        self.frames: list[tuple[Function, Scope]] = []
        """The functions being run, innermost last (``super()`` needs its class and ``self``)."""
        self.collector = Collector(path)
        self.collector.certainty = lambda: (self.uncertain, self.reason)
        self.dag_stack: list[DagRecord] = []
        self.group_stack: list[GroupRecord] = []
        self.depth = 0
        self.created = 0
        """How many DAGs and tasks were created so far (the hook must come after all)."""
        self.hook_seen_at: int | None = None
        self.mapping_groups = 0
        self.created_after_statement: list[int] = []
        self.top_statement: ast.stmt | None = None
        """The module-level statement being run (DAGs made by it can be bound to a global)."""
        self.exposed: dict[DagRecord, str] = {}
        """DAGs put in the module's globals by ``globals()[key] = dag``."""
        self.module_scope = module_scope if module_scope is not None else Scope()
        self.module_scope.vars["__name__"] = Const(module_name if module_scope is not None and module_name
                                                   else "unusual_prefix_airflow_dag_module")
        self.module_scope.vars["__file__"] = Const(path)

    # -- statements ------------------------------------------------------------------

    def run_module(self, module: ast.Module) -> None:
        for statement in module.body:
            self.top_statement = statement
            try:
                self.exec_statement(statement, self.module_scope)
            except (Return, Break, Continue):
                pass
            except OutOfBudget:
                self.nesting = 0
                break
            self.created_after_statement.append(self.created)
        missing = len(module.body) - len(self.created_after_statement)
        self.created_after_statement.extend([self.created] * missing)
        self.bind_globals()

    def bind_globals(self) -> None:
        """Which DAGs ``proxying_to_dagster(global_vars=globals())`` sees: those a module-level
        name holds once the file has run (a second ``with DAG(...) as dag:`` hides the first)."""
        names: dict[DagRecord, list[str]] = {}
        for dag in self.collector.dags:
            dag.global_name = self.exposed.get(dag)
            if dag.global_name is not None:
                names[dag] = [dag.global_name]
        for name, value in self.module_scope.vars.items():
            held = as_airflow(value)
            if isinstance(held, DagRef):
                if held.dag.global_name is None:
                    held.dag.global_name = name
                if name not in names.setdefault(held.dag, []):
                    names[held.dag].append(name)
        for dag, held_by in names.items():
            dag.global_names = tuple(held_by)

    def note_unfollowed(self, node: ast.Call, callee: Value, args: list[Value],
                        kwargs: dict[str, Value]) -> None:
        """A call static reading could not enter. Made by a module-level statement: the reason a
        file shows no DAG, if it shows none. Given a DAG, or made in a DAG's context: it may add
        tasks the model does not see."""
        given = [v.dag for v in map(as_airflow, [*args, *kwargs.values()]) if isinstance(v, DagRef)]
        dag = given[0] if given else self.current_context({})[0]
        for_dag = dag is not None and len(dag.unseen) < 5
        for_file = not self.depth and self.lines.anchor is None and len(self.unfollowed) < 20
        if not (for_dag or for_file) or not isinstance(callee, (Qualified, Unknown)):
            return  # (a helper's call outside any DAG: nothing to record, no reason to work out)
        if isinstance(callee, Qualified):
            found = self.code is not None and self.code.find(callee.name.split(".", 1)[0]) != (None, None)
            reason = why_not_followed(callee.name, self.code is not None, found)
        else:
            reason = "it is not known statically (made at run time, or by code that could not be read)"
        if reason is None:
            return
        if for_dag:
            dag.unseen.append(f"`{short_text(node.func)}(...)`: {reason}")  # type: ignore[union-attr]
        if for_file:
            self.unfollowed.append(Unfollowed(short_text(node.func), reason, self.lines.range_of(node)))

    def bindable(self, node: ast.stmt, value: Value, kind: str, detail: str | int | None) -> None:
        """A module-level statement that made a DAG: where an edit can bind it to a global."""
        if isinstance(value, DagRef) and node is self.top_statement and self.depth == 0 \
                and value.dag.binding is None:
            value.dag.binding = (kind, node.lineno - 1, detail)

    def exec_block(self, body: list[ast.stmt], scope: Scope) -> None:
        for statement in body:
            self.exec_statement(statement, scope)

    def exec_statement(self, node: ast.stmt, scope: Scope) -> None:
        self.work_left -= 1
        if self.work_left < 0:
            self.budget_spent()
        handler = getattr(self, f"_exec_{type(node).__name__}", None)
        if handler is not None:
            outer, nesting, self.statement = self.statement, self.nesting, node
            certainty = self.uncertain, self.reason
            try:
                handler(node, scope)
            except RecursionError:
                # Our own recursion, not Python's: the file compiles (ast.parse read it).
                self.nesting = nesting
                self.give_up("nesting", node, "this statement nests too deeply to read statically")
            finally:
                self.statement = outer
                if self.uncertain != certainty[0]:  # it read something made under a condition
                    self.restore(certainty)

    def assign(self, scope: Scope, name: str, value: Value) -> None:
        """Bind a name; under a runtime condition, to a ``Maybe`` of the value."""
        if self.uncertain and not (isinstance(value, Maybe) and value.level >= self.uncertain):
            value = Maybe(value.value if isinstance(value, Maybe) else value, self.uncertain, self.reason)
        scope.vars[name] = value

    def _exec_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> None:
        owner = scope.vars.get("__class_scope__")
        # A method closes over the scope around its class, not over the class body.
        function = self.make_function(node, scope.parent if owner is not None and scope.parent else scope)
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
            elif isinstance(value, DagRef):
                if value.dag.variable is None:
                    value.dag.variable = target.id
        elif isinstance(target, (ast.Tuple, ast.List)):
            items = value.items if isinstance(value, Seq) else None
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
            self.set_attribute(self.eval(target.value, scope), target.attr, value)
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
            items = [Const(k) for k in value.items]
        elif isinstance(value, Const) and isinstance(value.value, (str, tuple, list, range)):
            items = [Const(v) for v in value.value]
        elif isinstance(value, ClassValue) and value.members is not None:
            items = [Const(member) for member in value.members]
        else:
            return None
        if len(items) > MAX_UNROLL:
            return None
        self.spend(len(items))
        return items

    # -- functions -------------------------------------------------------------------

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


__all__ = ["Const", "DagRef", "GroupRef", "Interpreter", "Return", "Scope", "Seq", "TaskRef"]
