"""The plan of a task whose operator class the project ported once (``AIRFLOW_OPERATOR_PORTS``,
``analysis.dagster.ports``): the asset calls the port with the arguments the task's call gives
the class, copied as written with the module-level code they need (as a ``PythonOperator``'s
``op_kwargs`` are), after the asset's ``context``. A task whose call cannot be copied (a project
factory makes it, from its parameters) is given the values the model evaluated for it instead,
written out as literals, when each is one (``analysis.dags.arguments``).

Not passed: what ``BaseOperator`` itself takes (``task_id``, ``retries``, ``pool``, callbacks,
``default_args``...), which schedules the task in Airflow and means nothing to the port. Nor what
``default_args`` would give the class: Airflow passes a key of it only to a class whose
constructor names that parameter, which is read in the class, not here; a port that needs one
takes it as its own default. Refused, with why: arguments by position or ``**``, Jinja (only
Airflow renders it), another task's output (an XCom value), a DAG-file name that would hide the
port in the asset's body; for a task a factory makes, a value only known when Airflow runs the
file (an environment variable, an object, a function).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from analysis.edits.scaffold.plan_builder import PlanBuilder
from analysis.edits.scaffold.plan_common import Plan, jinja_in_value, keywords_problem, made_elsewhere
from analysis.edits.scaffold.plan_evaluated import BASE_OPERATOR, literal_arguments
from analysis.edits.scaffold.statements import DagFile, Unit
from analysis.facts import TaskFacts



@dataclass(frozen=True, slots=True)
class PortPlan:
    function: str
    """The port as the Dagster module calls it (``table_copy``, ``ports.table_copy``)."""
    arguments: tuple[str, ...]
    """The keyword arguments of the task's call passed on, in their order."""
    literals: tuple[tuple[str, Any], ...] | None = None
    """Instead, the values the model evaluated where the task is made, written out as literals:
    for a task whose call cannot be copied (a project factory makes it)."""


def port_plan(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit, function: str,
              evaluate: Callable[[TaskFacts], TaskFacts] | None = None) -> Plan | str:
    """The plan of a task of a ported class, or why its arguments cannot be passed on: the call
    copied as written when it can be, else the values the model evaluated for the task
    (``TaskFacts.arguments``: the facts were read with them, or ``evaluate`` reads them)."""
    copied, where = _copied(dag, task, call, dag_unit, function)
    if not isinstance(copied, str) or not where:
        return copied
    if task.arguments is None and evaluate is not None:
        task = evaluate(task)
    return copied if task.arguments is None else _evaluated(task, function)


def _copied(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit,
            function: str) -> tuple[Plan | str, bool]:
    """The plan with the call's arguments copied, or why not, and whether the refusal is about
    where their values come from (another call made the task, or its values are the parameters of
    the function that makes it): then the values the model evaluated may do."""
    label = f"task `{task.task_id}`"
    problem = made_elsewhere(dag, task, call) or keywords_problem(label, call)
    if problem:
        return problem.replace("the scaffold copies an operator call written in the DAG file",
                               f"the port of `{task.operator}` is given the arguments of a call in the DAG file"), True
    passed = [k for k in call.keywords if k.arg not in BASE_OPERATOR]
    values = [k.value for k in passed]
    builder = PlanBuilder(dag, task, call, dag_unit, "Port", task.operator)
    problem = builder.templates(values, "the arguments", rendered=False)  # the class's template_fields are its own
    if problem:
        return problem, False
    problem = builder.need(values, "argument")
    if problem:
        return problem, True
    plan = builder.finish(values)
    if isinstance(plan, str):
        return plan, False
    head = function.split(".")[0]
    if head in plan.bound:
        return (f"the DAG file's `{head}`, which {label} needs, would hide the port `{function}` of "
                f"`{task.operator}` in the asset's body: rename one of them"), False
    return replace(plan, port=PortPlan(function, tuple(str(k.arg) for k in passed))), False


def _evaluated(task: TaskFacts, function: str) -> Plan | str:
    """The port given the evaluated values, each a literal without Jinja, or why not."""
    label = f"task `{task.task_id}`"
    literals = literal_arguments(task, BASE_OPERATOR, "the port needs its value")
    if isinstance(literals, str):
        return literals
    for name, value in literals:
        text = jinja_in_value(value)
        if text is not None:
            return f"the `{name}` argument of {label} uses Jinja ({text!r}), which only Airflow renders"
    head = function.split(".")[0]
    return Plan("Port", task.operator, (), None, frozenset(), False, frozenset(), {}, frozenset({head}),
                port=PortPlan(function, tuple(n for n, _ in literals), tuple(literals)))
