"""A task of a project class that only hands arguments on to an Airflow or provider operator
class (``analysis.dags.derived``; ``families.runs_as``), scaffolded as that class.

``class TeamPodOperator(KubernetesPodOperator)`` whose ``__init__`` gives the team's defaults to
``super().__init__`` runs Airflow's class with the arguments it hands on. The DAG file's call
(``TeamPodOperator(task_id=..., image=...)``) shows the project class's arguments, not those, so
the task is planned as a project factory's is: from the values the model evaluates for Airflow's
constructor (``TaskFacts.base_arguments``), written out (``plan_evaluated``,
``imported.factory_task``). A class the team ported once (``AIRFLOW_OPERATOR_PORTS``) keeps its
port.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import replace

from analysis.edits.scaffold.families import runs_as
from analysis.facts import TaskFacts

Evaluate = Callable[[TaskFacts], TaskFacts]


def as_base(task: TaskFacts, ports: Container[str] = ()) -> TaskFacts | None:
    """``task`` as a task of the Airflow class it runs as, with the arguments that class's
    constructor is given; None when it is no such task (or its class is ported)."""
    base = runs_as(task)
    if base == task.operator or task.operator in ports:
        return None
    given = task.base_arguments if task.base_arguments is not None else task.arguments
    return replace(task, operator=base, operator_class=task.derived_from, arguments=given)


def derived_view(task: TaskFacts, evaluate: Evaluate | None,
                 ports: Container[str] = ()) -> tuple[TaskFacts, Evaluate | None, str | None]:
    """The task and ``evaluate`` to plan it with (as its Airflow class, for a task ``as_base``
    reads so), and the project class's name when it is one."""
    seen = as_base(task, ports)
    if seen is None:
        return task, evaluate, None
    if evaluate is None:
        return seen, None, task.operator

    def evaluated(asked: TaskFacts) -> TaskFacts:
        found = evaluate(asked)
        return as_base(found) or found

    return seen, evaluated, task.operator
