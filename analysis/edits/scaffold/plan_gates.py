"""Branch and short-circuit tasks: a python callable whose return decides which downstream
tasks run (``BranchPythonOperator`` / ``@task.branch``: the task ids to follow) or whether any
do (``ShortCircuitOperator`` / ``@task.short_circuit``: a truthy value). Planned as the
PythonOperator / ``@task`` they are, plus the gate; what refuses those refuses these too."""

from __future__ import annotations

import dataclasses

from analysis.edits.scaffold.plan_common import Plan
from analysis.facts import TaskFacts

OPERATOR_GATES = {"BranchPythonOperator": "branch", "ShortCircuitOperator": "short_circuit"}
TASKFLOW_GATES = {"@task.branch": "branch", "@task.short_circuit": "short_circuit"}


def gated(plan: Plan | str, task: TaskFacts, downstream: tuple[str, ...]) -> Plan | str:
    """``plan`` with the gate of ``task``'s operator, if it has one."""
    gate = OPERATOR_GATES.get(task.operator) or TASKFLOW_GATES.get(task.operator)
    if isinstance(plan, str) or gate is None:
        return plan
    return dataclasses.replace(plan, gate=gate, downstream=downstream if gate == "branch" else ())
