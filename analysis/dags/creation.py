"""Creating DAGs, TaskGroups and tasks as Airflow's constructors and decorators do: ids (with
their TaskGroup prefix, unique like ``@task``'s), the DAG and group a task falls in, XCom edges."""

from __future__ import annotations

import ast

from analysis.dags.builder import DagRecord, GroupRecord, TaskRecord
from analysis.dags.classes import as_airflow, copied
from analysis.dags.closures import dag_parameters, is_closure
from analysis.dags.names import attribute_chain
from analysis.dags.values import (
    Const,
    DagRef,
    Function,
    GroupRef,
    Maybe,
    PartialOperator,
    TaskRef,
    Unknown,
    Value,
    short_text,
    xcom_sources,
)
from analysis.dags.self_skips import default_keys, defaults_of, is_sensor, skip_gate
from analysis.dags.xcom_pulls import add_pulls

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


class Creation:
    """Mixed into the interpreter: new DAG, group and task records."""

    def new_dag(self, id_value: Value, id_node: ast.expr | None, range_node: ast.AST,
                default_args: Value | None = None) -> DagRecord:
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
            # DAG() deep-copies them: a change to the caller's dict after it does not reach the DAG
            default_args=copied(default_args, deep=True) if default_args is not None else None,
        )
        self.collector.dags.append(dag)
        self.created += 1
        return dag

    def create_dag_from_function(self, function: Function, node: ast.Call, args: list[Value],
                                 kwargs: dict[str, Value]) -> Value:
        id_value = function.options.get("dag_id", Const(function.named.name))
        id_node = function.option_nodes.get("dag_id")
        dag = self.new_dag(id_value, id_node, function.node, function.options.get("default_args"))
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
                        guessed: bool = False, sensor: bool | None = None,
                        qualified: str | None = None, positional: int | None = None) -> Value:
        dag, group = context or self.current_context(kwargs)
        if dag is None:
            dag = self.collector.limbo  # no DAG yet: `op.dag = ...` or `op >> task_in_dag` adopts it
        task = self.create_task(dag, group, kwargs["task_id"], spelled.rsplit(".", 1)[-1], node,
                                kwarg_nodes.get("task_id"), unique=False, mapped=mapped, guessed=guessed)
        if self.keep_arguments:  # type: ignore[attr-defined]
            given = len(node.args) if positional is None else positional  # a base's: the values it was given
            task.arguments = (dict(kwargs), given, node in self.unread_unpacks)  # type: ignore[attr-defined]
            task.operator_class = qualified if qualified and qualified.startswith("airflow.") else None
            function = kwargs.get("python_callable")
            if isinstance(function, Function) and function.owner is None and function.kind == "plain" \
                    and getattr(function.scope, "parent", True) is None:  # a module's own function
                task.callable_at = (function.origin or self.path, function.node.name)  # type: ignore[attr-defined]
            elif is_closure(function):  # with the parameters of the @dag functions it reads through
                task.closure = (function, self.path, dag_parameters(function, self.frames))  # type: ignore[attr-defined]
        callable_node = kwarg_nodes.get("python_callable")
        if isinstance(callable_node, (ast.Name, ast.Attribute)):
            chain = attribute_chain(callable_node)
            task.callable_name = ".".join(chain) if chain else short_text(callable_node)
        for name, value in kwargs.items():
            if name not in _NOT_DATA:
                for source in xcom_sources(value):
                    self.collector.add_edge(source, task, self.uncertain > 0, data=True)
                add_pulls(value, self.pulled, task.pulls,  # type: ignore[attr-defined]
                          self.may_pull)  # type: ignore[attr-defined]
        task.default_keys = default_keys(defaults_of(dag, group, kwargs))
        sensor = is_sensor(spelled) if sensor is None else sensor  # default_args' soft_fail reaches sensors only
        task.gate = skip_gate(kwargs, kwargs.get("python_callable"), self.skip_read,  # type: ignore[attr-defined]
                              self.may_skip,  # type: ignore[attr-defined]
                              defaults=defaults_of(dag, group, kwargs) if sensor else ())
        subdag = kwargs.get("subdag")
        subdag = as_airflow(subdag.value if isinstance(subdag, Maybe) else subdag) if subdag is not None else None
        if isinstance(subdag, DagRef):  # SubDagOperator(subdag=...): Airflow 2's SubDAG
            subdag.dag.subdag_task = task
        return TaskRef(task)

    def partial_operator(self, spelled: str, node: ast.Call, kwargs: dict[str, Value],
                         kwarg_nodes: dict[str, ast.expr]) -> Value:
        return PartialOperator(spelled, node, kwargs, kwarg_nodes, self.current_context(kwargs))

    def create_taskflow(self, function: Function, node: ast.Call, data: list[Value], *,
                        mapped: bool) -> Value:
        dag, group = self.current_context(function.options)
        # Outside any DAG the task waits in limbo, as an operator does, until `>>` or an XComArg
        # joins it to one; its id is then taken as it is (Airflow suffixes `__1` only in a DAG).
        unique = dag is not None
        if dag is None:
            dag = self.collector.limbo
        id_node = function.option_nodes.get("task_id")
        task = self.create_task(dag, group, function.options.get("task_id", Const(function.named.name)),
                                function.label, node, id_node, unique=unique, mapped=mapped)
        if id_node is None:
            task.id_range = self.lines.name_range(function.named)
        task.definition_range = self.lines.name_range(function.named)
        task.callable_name = function.named.name
        options = [v for k, v in function.options.items() if k not in _NOT_DATA]
        for value in [function, *data, *options, *(function.partial or {}).values()]:
            for source in xcom_sources(value):
                self.collector.add_edge(source, task, self.uncertain > 0, data=True)
            add_pulls(value, self.pulled, task.pulls, self.may_pull)  # type: ignore[attr-defined]
        task.default_keys = default_keys(defaults_of(dag, group, function.options))
        sensor = function.label == "@task.sensor"
        task.gate = skip_gate(function.options, function, self.skip_read, self.may_skip,  # type: ignore[attr-defined]
                              defaults=defaults_of(dag, group, function.options) if sensor else ())
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
        given = kwargs.get("default_args")
        group.default_args = copied(given, deep=True) if given is not None else None  # TaskGroup() copies them too
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
