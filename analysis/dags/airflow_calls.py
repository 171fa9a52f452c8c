"""What Airflow's own calls do: create DAGs, TaskGroups and tasks, and draw edges."""

from __future__ import annotations

import ast
from dataclasses import replace

from analysis.dags.builder import DagRecord, GroupRecord, TaskRecord
from analysis.dags.names import Kind, attribute_chain, classify, task_decorator_label
from analysis.dags.values import (
    Const,
    DagRef,
    EdgeLabel,
    Function,
    Maybe,
    Method,
    GroupRef,
    PartialOperator,
    Qualified,
    Seq,
    TaskRef,
    Unknown,
    Value,
    short_text,
    xcom_sources,
)

from analysis.dags.objects import BoundMethod, ClassValue, Instance, as_airflow
from analysis.dags.scope import Scope

_NOT_DATA = frozenset({"dag", "task_group", "task_id"})
_CREATION_COST = 10
"""Units of work a new task or DAG costs: records, ranges, findings (see the interpreter)."""


def id_text(value: Value) -> tuple[str, bool]:
    """An id's text and whether it is dynamic (then the text shows the unknown parts)."""
    if isinstance(value, Const) and isinstance(value.value, str):
        return value.value, False
    if isinstance(value, Const):
        return str(value.value), False
    if isinstance(value, Unknown):
        text = value.text
        return (text if "{" in text else "{" + text + "}"), True
    if isinstance(value, Maybe):  # set under a runtime condition: it may be something else
        text, _ = id_text(value.value)
        return (text if text.startswith("{") else "{" + text + "}"), True
    return "{?}", True


class AirflowCalls:
    """Mixed into the interpreter: the Airflow meaning of calls and methods."""

    # -- decorators ------------------------------------------------------------------

    def make_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, scope: Scope) -> Value:
        """The function a ``def`` binds, through its decorators from the bottom up: Airflow's
        (``@task``, ``@dag``, ``@task_group``, ``@asset``) give it its Airflow meaning; a
        project's own decorator runs on it, as Python would."""
        value: Value = Function(node, scope, origin=self.path)
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

    # -- creation --------------------------------------------------------------------

    def new_dag(self, id_value: Value, id_node: ast.expr | None, range_node: ast.AST) -> DagRecord:
        self.spend(_CREATION_COST)
        self.grant()
        dag_id, dynamic = id_text(id_value)
        dag = DagRecord(
            dag_id=dag_id,
            range=self.lines.range_of(range_node),
            id_range=self.lines.range_of(id_node) if id_node is not None else None,
            dynamic=dynamic,
            id_dynamic=dynamic,
            level=self.uncertain,
            condition=self.reason,
        )
        self.collector.dags.append(dag)
        self.created += 1
        return dag

    def create_dag_from_function(self, function: Function, node: ast.Call, args: list[Value],
                                 kwargs: dict[str, Value]) -> Value:
        id_value = function.options.get("dag_id", Const(function.named.name))
        id_node = function.option_nodes.get("dag_id")
        dag = self.new_dag(id_value, id_node, function.node)
        dag.creation_line = node.lineno - 1
        if id_node is None:
            dag.id_range = self.lines.name_range(function.named)
        saved_groups, self.group_stack = self.group_stack, []
        self.dag_stack.append(dag)
        try:
            self.call_function(function, args, kwargs)
        finally:
            self.dag_stack.pop()
            self.group_stack = saved_groups
        return DagRef(dag)

    def current_context(self, kwargs: dict[str, Value]) -> tuple[DagRecord | None, GroupRecord | None]:
        group_value = self.unwrap_item(kwargs.get("task_group") or Const(None))
        dag_value = as_airflow(self.unwrap_item(kwargs.get("dag") or Const(None)))
        group = group_value.group if isinstance(group_value, GroupRef) else None
        if isinstance(dag_value, DagRef):
            dag = dag_value.dag
        elif group is not None:
            dag = group.dag
        else:
            # Outside any DAG context a `with TaskGroup(dag=d):` gives its operators no DAG: they
            # take the group's prefix but stay out of `d` (Airflow 2 and 3) unless joined later.
            dag = self.dag_stack[-1] if self.dag_stack else None
        if group is None and self.group_stack and self.group_stack[-1].dag is (dag or self.group_stack[-1].dag):
            group = self.group_stack[-1]  # with no DAG, the task still takes the group's prefix
        return dag, group

    def create_task(self, dag: DagRecord, group: GroupRecord | None, label_value: Value,
                    operator: str, node: ast.AST, id_node: ast.expr | None, *, unique: bool,
                    mapped: bool, guessed: bool = False) -> TaskRecord:
        self.spend(_CREATION_COST + (len(dag.tasks) if unique else 0))
        label, dynamic = id_text(label_value)
        full_id = group.child_id(label) if group else label
        if unique:
            label = dag.unique_id(full_id, label)
            full_id = group.child_id(label) if group else label
        task = TaskRecord(
            task_id=full_id,
            operator=operator,
            dag=dag,
            range=self.lines.range_of(node),
            id_range=self.lines.range_of(id_node) if id_node is not None else None,
            group=group,
            dynamic=dynamic or bool(group and self._group_dynamic(group)),
            mapped=mapped or self.mapping_groups > 0,
            level=self.uncertain,
            condition=self.reason,
            guessed=guessed,
        )
        self.created += 1
        return self.collector.add_task(task)

    @staticmethod
    def _group_dynamic(group: GroupRecord) -> bool:
        while group is not None:
            if group.dynamic:
                return True
            group = group.parent  # type: ignore[assignment]
        return False

    def create_operator(self, spelled: str, node: ast.Call, kwargs: dict[str, Value],
                        kwarg_nodes: dict[str, ast.expr], *, mapped: bool = False,
                        context: tuple[DagRecord | None, GroupRecord | None] | None = None,
                        guessed: bool = False) -> Value:
        dag, group = context or self.current_context(kwargs)
        if dag is None:
            dag = self.collector.limbo  # no DAG yet: `op.dag = ...` or `op >> task_in_dag` adopts it
        task = self.create_task(dag, group, kwargs["task_id"], spelled.rsplit(".", 1)[-1], node,
                                kwarg_nodes.get("task_id"), unique=False, mapped=mapped, guessed=guessed)
        callable_node = kwarg_nodes.get("python_callable")
        if isinstance(callable_node, (ast.Name, ast.Attribute)):
            chain = attribute_chain(callable_node)
            task.callable_name = ".".join(chain) if chain else short_text(callable_node)
        for name, value in kwargs.items():
            if name not in _NOT_DATA:
                for source in xcom_sources(value):
                    self.collector.add_edge(source, task, self.uncertain > 0)
        return TaskRef(task)

    def partial_operator(self, spelled: str, node: ast.Call, kwargs: dict[str, Value],
                         kwarg_nodes: dict[str, ast.expr]) -> Value:
        return PartialOperator(spelled, node, kwargs, kwarg_nodes, self.current_context(kwargs))

    def create_taskflow(self, function: Function, node: ast.Call, data: list[Value], *,
                        mapped: bool) -> Value:
        dag, group = self.current_context(function.options)
        if dag is None:
            return Unknown(function.named.name)
        id_node = function.option_nodes.get("task_id")
        task = self.create_task(dag, group, function.options.get("task_id", Const(function.named.name)),
                                function.label, node, id_node, unique=True, mapped=mapped)
        if id_node is None:
            task.id_range = self.lines.name_range(function.named)
        task.definition_range = self.lines.name_range(function.named)
        task.callable_name = function.named.name
        options = [v for k, v in function.options.items() if k not in _NOT_DATA]
        for value in [*data, *options, *(function.partial or {}).values()]:
            for source in xcom_sources(value):
                self.collector.add_edge(source, task, self.uncertain > 0)
        return TaskRef(task, xcom=True)

    def new_group(self, label_value: Value, node: ast.AST, kwargs: dict[str, Value], *,
                  unique: bool) -> GroupRecord | None:
        parent_value = kwargs.get("parent_group")
        dag, parent = self.current_context({k: v for k, v in kwargs.items() if k == "dag"})
        if isinstance(parent_value, GroupRef):
            parent, dag = parent_value.group, parent_value.group.dag
        if dag is None:
            return None
        label, dynamic = id_text(label_value)
        group = GroupRecord(label=label, dag=dag, parent=parent, range=self.lines.range_of(node),
                            dynamic=dynamic)
        prefix = kwargs.get("prefix_group_id")
        if isinstance(prefix, Const):
            group.prefix_group_id = bool(prefix.value)
        if unique:
            group.label = dag.unique_id(group.group_id, label)
        dag.groups.append(group)
        return group

    def run_task_group(self, function: Function, node: ast.Call, args: list[Value],
                       kwargs: dict[str, Value], *, mapped: bool) -> Value:
        options = dict(function.options)
        group = self.new_group(options.get("group_id", Const(function.named.name)), node, options,
                               unique=True)
        if group is None:
            return self.call_function(function, args, kwargs)
        self.group_stack.append(group)
        self.mapping_groups += int(mapped)
        try:
            result = self.call_function(function, args, kwargs)
        finally:
            self.group_stack.pop()
            self.mapping_groups -= int(mapped)
        if isinstance(result, Const) and result.value is None:
            return GroupRef(group)
        return result

    # -- Airflow functions and methods -----------------------------------------------

    def airflow_call(self, kind: Kind, callee: Qualified, node: ast.Call, args: list[Value],
                     kwargs: dict[str, Value], kwarg_nodes: dict[str, ast.expr], scope: Scope) -> Value:
        if kind is Kind.DAG_CLASS:
            if "dag_id" in kwargs:
                dag = self.new_dag(kwargs["dag_id"], kwarg_nodes.get("dag_id"), node)
            elif args:
                dag = self.new_dag(args[0], node.args[0], node)
            else:
                return Unknown("DAG()")
            dag.creation_line = node.lineno - 1
            return DagRef(dag)
        if kind is Kind.TASK_GROUP_CLASS:
            label = kwargs.get("group_id", args[0] if args else Const(None))
            if isinstance(label, Const) and label.value is None:
                return Unknown("TaskGroup()")
            group = self.new_group(label, node, kwargs, unique=False)
            return GroupRef(group) if group else Unknown("TaskGroup()")
        if kind is Kind.TASK_DECORATOR and args and isinstance(args[0], Function):
            label = task_decorator_label(callee.name) or "@task"
            return replace(args[0], kind="task", label=label, options=dict(kwargs),
                           option_nodes=dict(kwarg_nodes))
        if kind is Kind.EDGE_LABEL:
            return EdgeLabel()
        if kind in (Kind.CHAIN, Kind.CHAIN_LINEAR):
            for up, down in zip(args, args[1:]):
                if kind is Kind.CHAIN and isinstance(up, Seq) and isinstance(down, Seq) \
                        and len(up.items) == len(down.items):
                    for a, b in zip(up.items, down.items):
                        self.dependency(a, b, downstream=True)
                else:
                    self.dependency(up, down, downstream=True)
            return Const(None)
        if kind is Kind.CROSS_DOWNSTREAM:
            sources = kwargs.get("from_tasks", args[0] if args else Seq([]))
            targets = kwargs.get("to_tasks", args[1] if len(args) > 1 else Seq([]))
            self.dependency(sources, targets, downstream=True)
            return Const(None)
        if kind is Kind.PROXYING_TO_DAGSTER:
            self.hook_seen_at = self.created
        return Unknown(callee.spelled)

    def airflow_method(self, receiver: Value, name: str, node: ast.Call, args: list[Value],
                       kwargs: dict[str, Value], kwarg_nodes: dict[str, ast.expr],
                       scope: Scope) -> Value | None:
        if isinstance(receiver, Function) and receiver.kind in ("task", "task_group"):
            # `.override(...)` and `.partial(...)` return a new decorated function; `.expand`
            # creates the mapped task (or runs the mapped group).
            if name == "override":
                return replace(receiver, options={**receiver.options, **kwargs},
                               option_nodes={**receiver.option_nodes, **kwarg_nodes})
            if name == "partial":
                return replace(receiver, partial={**(receiver.partial or {}), **kwargs})
            if name in ("expand", "expand_kwargs") and receiver.kind == "task":
                return self.create_taskflow(receiver, node, [*args, *kwargs.values()], mapped=True)
            if name in ("expand", "expand_kwargs"):
                return self.run_task_group(receiver, node, [], {**(receiver.partial or {}), **kwargs},
                                           mapped=True)
        if isinstance(receiver, PartialOperator) and name in ("expand", "expand_kwargs"):
            merged = {**receiver.kwargs, **kwargs}
            result = self.create_operator(receiver.operator, node, merged, receiver.kwarg_nodes,
                                          mapped=True, context=receiver.context)
            if isinstance(result, TaskRef):
                for value in [*args, *kwargs.values()]:
                    for source in xcom_sources(value):
                        self.collector.add_edge(source, result.task, self.uncertain > 0)
            return result
        if isinstance(receiver, (TaskRef, GroupRef)):
            if name in ("set_downstream", "set_upstream"):
                for target in [*args, *kwargs.values()]:
                    self.dependency(receiver, target, downstream=name == "set_downstream")
                return Const(None)
            if name == "as_teardown":
                setups = kwargs.get("setups", args[0] if args else None)
                if setups is not None:
                    self.dependency(setups, receiver, downstream=True)
                return receiver
            if name in ("as_setup", "map", "zip", "concat", "resolve"):
                return receiver
        return None

    def dependency(self, left: Value, right: Value, *, downstream: bool) -> Value:
        upstream_value, downstream_value = (left, right) if downstream else (right, left)
        if isinstance(downstream_value, EdgeLabel):
            # `a >> Label("x") >> b` is `a >> b`: the label hands a's tasks on.
            carried = self.endpoints(upstream_value, leaves=True)
            self.spend(len(carried))
            downstream_value.upstream.extend(carried)
            return right
        ups = self.endpoints(upstream_value, leaves=True)
        downs = self.endpoints(downstream_value, leaves=False)
        if not self.afford(len(ups) * len(downs) + len(ups) + len(downs)):
            return right
        conditional = self.uncertain > 0 or self.holds_maybe(left) or self.holds_maybe(right)
        for up in ups:
            for down in downs:
                self.collector.add_edge(up, down, conditional)
        return right

    def endpoints(self, value: Value, *, leaves: bool) -> list[TaskRecord]:
        if isinstance(value, TaskRef):
            return [value.task]
        if isinstance(value, GroupRef):
            self.spend(len(value.group.dag.tasks))
            return value.group.leaves() if leaves else value.group.roots()
        if isinstance(value, Seq):
            return [t for item in value.items for t in self.endpoints(item, leaves=leaves)]
        if isinstance(value, Maybe):
            return self.endpoints(value.value, leaves=leaves)
        if isinstance(value, Instance) and value.task is not None:
            return [value.task]
        if isinstance(value, EdgeLabel) and leaves:
            return list(value.upstream)
        return []

    def setup_teardown_scope(self, context: TaskRecord, created: list[TaskRecord]) -> None:
        """``with teardown(setup()):``: the block's tasks run after the setups, before the teardown."""
        if not created:
            return
        inside = {id(t) for t in created}
        if context.operator == "@teardown":
            setups = [u for u in context.upstream if u.operator == "@setup"]
            teardown: TaskRecord | None = context
        else:
            setups, teardown = [context], None
        for task in created:
            if task is context or task.operator in ("@setup", "@teardown"):
                continue
            if not any(id(u) in inside for u in task.upstream):
                for setup in setups:
                    self.collector.add_edge(setup, task)
            if teardown is not None and not any(id(d) in inside for d in task.downstream):
                self.collector.add_edge(task, teardown)
