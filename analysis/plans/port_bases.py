"""Plan of "Run `TeamPod` as `KubernetesPodOperator` in Dagster": the team's choice, written into
the primary Dagster module's ``AIRFLOW_OPERATOR_PORTS`` (``analysis.edits.port_bases``), to run a
project operator class as the Airflow or provider class it derives from. Its tasks then scaffold
as that class's, what the class changes staying in Airflow (``analysis.edits.scaffold.derived``).

Offered for a task of a class that changes its base (``TaskFacts.derived_changes``) when the base
has a scaffold planned from values (``families.planned_from_values``). Refused with why otherwise,
and for a module that ports the class to a function already.
"""

from __future__ import annotations

import os

from analysis.dagster.module import is_component_path
from analysis.dagster.ports import PORTS
from analysis.edits.port_bases import choose_base
from analysis.edits.scaffold.families import chosen_base
from analysis.plans.files import (
    Plan,
    PlanFiles,
    Read,
    Refused,
    Sources,
    dag_entry,
    refuse_if_unreadable,
    refuse_unreadable_dagster_module,
    select_tasks,
)
from analysis.project import Project


def plan_port_base(project: Project, read: Read, dag_id: str, task_id: str, *,
                   sources: Sources | None = None) -> Plan:
    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    [task] = select_tasks(entry, [task_id])
    base = chosen_base(task)
    if base is None:
        raise Refused(f"task `{task_id}` runs `{task.operator}`, which derives from no Airflow operator with a "
                      "scaffold that its class changes: nothing to choose")
    module = changes.dagster().primary_dagster_module
    if module is None:
        refuse_unreadable_dagster_module(project)
        raise Refused(f"map `{task_id}` to a Dagster asset first: there is no Dagster module yet")
    if is_component_path(module.path):
        raise Refused(f"the Dagster side is the component {os.path.basename(module.path)}: {PORTS} is read "
                      "from a Python module; write it there by hand")
    text = changes.original(module.path)
    if text is None:
        refuse_if_unreadable(module.path)
        raise Refused(f"cannot read {module.path}: it is gone from the disk")
    result = choose_base(text, task.operator, base)
    title = f"Run {task.operator} as {base} in Dagster"
    if result.text is None:
        raise Refused(result.reason or f"cannot run `{task.operator}` as `{base}`")
    if not result.changed:
        return Plan(title, (), (result.reason or "nothing to do",))
    changes.write(module.path, result.text)
    shown = "; ".join(task.derived_changes[:3]) + ("; ..." if len(task.derived_changes) > 3 else "")
    return Plan(title, changes.result(), (
        f"every task of `{task.operator}` now scaffolds as `{base}`; what the class changes stays in Airflow ({shown})",))
