"""What Airflow's own functions and methods do: the ``DAG`` and ``TaskGroup`` constructors,
``chain``, ``.expand``, ``.set_downstream``, and the edges ``>>`` draws (creating records is
``analysis.dags.creation``, decorators ``analysis.dags.decorators``)."""

from __future__ import annotations

import ast
from dataclasses import replace

from analysis.dags.builder import TaskRecord
from analysis.dags.classes import Instance
from analysis.dags.creation import Creation
from analysis.dags.decorators import Decorators
from analysis.dags.names import Kind, task_decorator_label
from analysis.dags.scope import Scope
from analysis.dags.values import (
    Const,
    DagRef,
    EdgeLabel,
    Function,
    GroupRef,
    Maybe,
    PartialOperator,
    Qualified,
    Seq,
    TaskRef,
    Unknown,
    Value,
    xcom_sources,
)


class AirflowCalls(Decorators, Creation):
    """Mixed into the interpreter: the Airflow meaning of calls and methods."""

    def airflow_call(self, kind: Kind, callee: Qualified, node: ast.Call, args: list[Value],
                     kwargs: dict[str, Value], kwarg_nodes: dict[str, ast.expr], scope: Scope) -> Value:
        if kind is Kind.DAG_CLASS:
            if "dag_id" in kwargs:
                dag = self.new_dag(kwargs["dag_id"], kwarg_nodes.get("dag_id"), node, kwargs.get("default_args"))
            elif args:
                dag = self.new_dag(args[0], node.args[0], node, kwargs.get("default_args"))
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
        if kind is Kind.XCOM_ARG:  # `XComArg(operator, key=...)`: what `operator.output` is
            operator = kwargs.get("operator", args[0] if args else None)
            return TaskRef(operator.task, xcom=True) if isinstance(operator, TaskRef) else Unknown(callee.spelled)
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
                        self.collector.add_edge(source, result.task, self.uncertain > 0, data=True)
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
