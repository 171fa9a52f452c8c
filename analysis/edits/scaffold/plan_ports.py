"""The plan of a task whose operator class the project ported once (``AIRFLOW_OPERATOR_PORTS``,
``analysis.dagster.ports``): the asset calls the port with the arguments the task's call gives
the class, copied as written with the module-level code they need (as a ``PythonOperator``'s
``op_kwargs`` are), after the asset's ``context``.

Not passed: what ``BaseOperator`` itself takes (``task_id``, ``retries``, ``pool``, callbacks,
``default_args``...), which schedules the task in Airflow and means nothing to the port. Nor what
``default_args`` would give the class: Airflow passes a key of it only to a class whose
constructor names that parameter, which is read in the class, not here; a port that needs one
takes it as its own default. Refused, with why: a task made inside a helper (the call is not in
the DAG file), arguments by position or ``**``, Jinja (only Airflow renders it), another task's
output (an XCom value), a DAG-file name that would hide the port in the asset's body.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace

from analysis.edits.scaffold.plan_builder import PlanBuilder
from analysis.edits.scaffold.plan_common import Plan, keywords_problem, made_elsewhere
from analysis.edits.scaffold.plan_containers import BASE_OPERATOR as CONTAINERS_BASE
from analysis.edits.scaffold.statements import DagFile, Unit
from analysis.facts import TaskFacts

BASE_OPERATOR = CONTAINERS_BASE - {"retry_on_exit_code"} | frozenset({
    "allow_nested_operators", "logger_name", "map_index_template", "multiple_outputs", "post_execute",
    "pre_execute", "render_template_as_native_obj", "resources", "retry_policy", "task_display_name"})
"""``BaseOperator.__init__``'s parameters (Airflow 2.11 and 3): how Airflow runs the task, not what
it does (the container scaffolds' list, which keeps ``resources`` for an old pod operator's own)."""


@dataclass(frozen=True, slots=True)
class PortPlan:
    function: str
    """The port as the Dagster module calls it (``table_copy``, ``ports.table_copy``)."""
    arguments: tuple[str, ...]
    """The keyword arguments of the task's call passed on, in their order."""


def port_plan(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit, function: str) -> Plan | str:
    """The plan of a task of a ported class, or why its arguments cannot be passed on."""
    label = f"task `{task.task_id}`"
    problem = made_elsewhere(dag, task, call) or keywords_problem(label, call)
    if problem:
        return problem.replace("the scaffold copies an operator call written in the DAG file",
                               f"the port of `{task.operator}` is given the arguments of a call in the DAG file")
    passed = [k for k in call.keywords if k.arg not in BASE_OPERATOR]
    values = [k.value for k in passed]
    builder = PlanBuilder(dag, task, call, dag_unit, "Port", task.operator)
    problem = builder.templates(values, "the arguments") or builder.need(values, "argument")
    if problem:
        return problem
    plan = builder.finish(values)
    if isinstance(plan, str):
        return plan
    head = function.split(".")[0]
    if head in plan.bound:
        return (f"the DAG file's `{head}`, which {label} needs, would hide the port `{function}` of "
                f"`{task.operator}` in the asset's body: rename one of them")
    return replace(plan, port=PortPlan(function, tuple(str(k.arg) for k in passed)))
