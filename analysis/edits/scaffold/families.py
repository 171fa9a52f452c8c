"""Which operators have a scaffold, and which have nothing to migrate: one registry.

Code lenses, code actions, hover, ``check`` (``no-scaffold``), progress and the corpus figure
in ``make bench`` all read it, so that what is offered, what is counted and what is reported as
left to port by hand agree. Operators are named as ``TaskFacts.operator`` spells them: the
class after import resolution (``BashOperator``) or the TaskFlow decorator (``@task.bash``).
"""

from __future__ import annotations

import functools
from collections.abc import Container, Mapping

from analysis.dags.classes import GATE_CLASSES
from analysis.facts import TaskFacts

NOTHING_TO_MIGRATE: dict[str, str] = {
    "EmptyOperator": "an `EmptyOperator` runs nothing: there is nothing to move to Dagster",
    "DummyOperator": "a `DummyOperator` runs nothing: there is nothing to move to Dagster",
    "LatestOnlyOperator": ("a `LatestOnlyOperator` only skips its downstream tasks on runs "
                           "that are not the latest: Dagster schedules run the latest only"),
    "ExternalTaskMarker": ("an `ExternalTaskMarker` runs nothing (it is an `EmptyOperator`): it only "
                           "makes clearing it in Airflow clear the task it marks in another DAG, "
                           "which it keeps doing in Airflow"),
}
"""Operators whose task does no work of its own, with why, as hover and progress say it."""

GATES: dict[str, str] = {
    **GATE_CLASSES,
    **dict.fromkeys(("@task.branch", "@task.branch_virtualenv", "@task.branch_external_python"), "branch"),
    "@task.short_circuit": "short-circuit",
}
"""Operators whose run decides which tasks after them Airflow skips. dagster-airlift's proxy
operator decides nothing: proxied one by one, such a task would let Airflow run every branch (or
never stop short), so it stays in Airflow until the whole DAG moves (DAG level)."""


def gate_of(task: TaskFacts) -> str | None:
    """"branch" or "short-circuit" for a task whose run makes Airflow skip tasks, else None: one of
    Airflow's operators (by name) or a project class derived from one; "skips-itself" or
    "soft-fail" for one that can skip itself, and the tasks after it with it
    (``analysis.dags.self_skips``)."""
    return GATES.get(task.operator) or task.gate


GATE_LABELS: dict[str, str] = {
    "branch": "a branch: proxied, every branch after it would run",
    "short-circuit": "short-circuits: proxied, nothing after it would be skipped",
    "skips-itself": "can skip itself (`AirflowSkipException`): proxied, the tasks after it would run or fail",
    "soft-fail": "a sensor with `soft_fail`: proxied, the tasks after it would run or fail where it skips",
}
"""What each kind of gate does once proxied, as the lens, hover and ``status`` say it."""


SCAFFOLDED: dict[str, str] = {
    "PythonOperator": "python",
    "@task": "python",
    "@task.python": "python",
    "BashOperator": "bash",
    "@task.bash": "bash",
    "PythonVirtualenvOperator": "pipes-subprocess",
    "@task.virtualenv": "pipes-subprocess",
    "ExternalPythonOperator": "pipes-subprocess",
    "@task.external_python": "pipes-subprocess",
    "DockerOperator": "pipes-docker",
    "KubernetesPodOperator": "pipes-k8s",
    "GKEStartPodOperator": "pipes-k8s",
    "GKECreateClusterOperator": "gke-cluster",
    "GKEDeleteClusterOperator": "gke-cluster",
    "SQLExecuteQueryOperator": "sql",
    "SqliteOperator": "sql",
    "PostgresOperator": "sql",
    "MySqlOperator": "sql",
    "MsSqlOperator": "sql",
    "OracleOperator": "sql",
    "SnowflakeOperator": "sql",
    "TrinoOperator": "sql",
    "VerticaOperator": "sql",
    "JdbcOperator": "sql",
    "GCSToBigQueryOperator": "bigquery-load",
    "BigQueryInsertJobOperator": "bigquery-job",
    "AthenaOperator": "athena",
    "AWSAthenaOperator": "athena",
    "BranchPythonOperator": "branch",
    "@task.branch": "branch",
    "ShortCircuitOperator": "short-circuit",
    "@task.short_circuit": "short-circuit",
    "FileSensor": "sensor-file",
    "PythonSensor": "sensor-python",
    "ExternalTaskSensor": "sensor-external",
    "SqlSensor": "sensor-sql",
    "TriggerDagRunOperator": "trigger-dag-run",
}
"""Operators that ``scaffold_task`` knows how to write an asset for, to the family of code it
writes. A task of one of them may still be refused, for a reason of its own (Jinja, XCom
inputs, a mapped task): that is a refusal with the reason, not a missing scaffold."""


BY_COMMAND: dict[str, tuple[str, ...]] = {
    "dbt": ("BashOperator", "@task.bash"),
}
"""Families chosen by what a task's bash command runs rather than by its operator (the family
is named as the program), to the operators whose command picks it: a ``dbt run|build|seed|snapshot`` command
is scaffolded as dagster-dbt's ``@dbt_assets`` (``plan_dbt``), not as a shell run. Its tasks
count with their operator's family above (a scaffold either way)."""


def nothing_to_migrate(operator: str) -> str | None:
    """Why a task of ``operator`` has nothing to migrate, or None when it does work."""
    return NOTHING_TO_MIGRATE.get(operator)


PORT = "port"
"""The family of a task whose class the project ported once (``AIRFLOW_OPERATOR_PORTS``,
``analysis.dagster.ports``): its asset calls that port with the task's arguments."""


def scaffold_family(operator: str, ports: Container[str] = ()) -> str | None:
    """The family of code scaffolded for ``operator``, or None when there is no scaffold.
    ``ports``: the operator classes the project ported once (they come first: the team's own
    implementation of a class replaces the generic one)."""
    return PORT if operator in ports else SCAFFOLDED.get(operator)


def runs_as(task: TaskFacts, bases: Mapping[str, str] | None = None) -> str:
    """The operator the registry knows ``task`` by: Airflow's or a provider's class that its
    project class derives from when the project's classes only hand arguments on to it
    (``TaskFacts.derived_changes`` empty: ``class TeamPodOperator(KubernetesPodOperator)`` giving
    defaults), or when the team chose to run the class as that base (``bases``,
    ``Project.port_bases``: ``AIRFLOW_OPERATOR_PORTS = {"GKEPodOperator": "GKEStartPodOperator"}``,
    a base with a scaffold planned from values), else ``task.operator``."""
    if task.derived_from:
        base = task.derived_from.rsplit(".", 1)[-1]
        if not task.derived_changes and (base in NOTHING_TO_MIGRATE or base in planned_from_values()):
            return base
        if task.derived_changes and bases and bases.get(task.operator) == base and base in planned_from_values() \
                and _static_problem(task) is None:
            return base
    return task.operator


@functools.cache
def planned_from_values() -> frozenset[str]:
    """The operators whose scaffold can plan a task from the arguments the model evaluates for
    its constructor (a factory's, or those a project class hands on): the ones it reads values of
    (``plan.BY_VALUES``), and a ``PythonOperator`` or ``BashOperator`` written out
    (``imported.FACTORY_OPERATORS``). A branch, a short-circuit, a ``PythonSensor`` or a virtualenv
    is planned from the call as written only."""
    from analysis.edits.scaffold.imported import FACTORY_OPERATORS  # the planners read this registry
    from analysis.edits.scaffold.plan import BY_VALUES

    return frozenset({*BY_VALUES, *FACTORY_OPERATORS})


def task_family(task: TaskFacts, ports: Container[str] = (), bases: Mapping[str, str] | None = None) -> str | None:
    """``scaffold_family`` of a task: a port of its own class first, then the family of the
    operator it runs as (``runs_as``; ``bases``: the classes the team chose to run as their base)."""
    return PORT if task.operator in ports else SCAFFOLDED.get(runs_as(task, bases))


def task_nothing_to_migrate(task: TaskFacts) -> str | None:
    """``nothing_to_migrate`` of the operator ``task`` runs as (``runs_as``)."""
    return NOTHING_TO_MIGRATE.get(runs_as(task))


def derived_note(task: TaskFacts, bases: Mapping[str, str] | None = None) -> str | None:
    """For a task of a project class derived from an operator that has a scaffold or nothing to
    migrate, why it is no such task: what its classes change ("derived from
    `KubernetesPodOperator`, but `TeamPod` defines `execute`"), or that the operator's scaffold
    reads a call of the DAG file only; else None. ``bases``: the classes the team chose to run as
    their base, a choice this task's class may not allow (another class than its base)."""
    base = (task.derived_from or "").rsplit(".", 1)[-1]
    named = (bases or {}).get(task.operator)
    if named is not None and named != base:
        return (f"`AIRFLOW_OPERATOR_PORTS` runs it as `{named}`, but it derives from "
                + (f"`{base}`" if base else "no operator class of Airflow's or a provider's"))
    if named is not None and base not in planned_from_values():
        return f"`AIRFLOW_OPERATOR_PORTS` runs it as `{base}`, whose scaffold copies a call written in the DAG file"
    if named is not None and (problem := _static_problem(task)) is not None:
        return f"`AIRFLOW_OPERATOR_PORTS` runs it as `{base}`, but {problem}"
    if base not in SCAFFOLDED and base not in NOTHING_TO_MIGRATE:
        return None
    if task.derived_changes:
        shown = "; ".join(task.derived_changes[:3]) + ("; ..." if len(task.derived_changes) > 3 else "")
        return f"derived from `{base}`, but {shown}"
    if base not in planned_from_values() and base not in NOTHING_TO_MIGRATE:
        return f"derived from `{base}`, whose scaffold copies a call written in the DAG file"
    return None


def no_scaffold_note(task: TaskFacts, ports_name: str, bases: Mapping[str, str] | None = None) -> str:
    """The ``no-scaffold`` note of a task with no family: the operator, and ``derived_note``."""
    derived = derived_note(task, bases)
    base = chosen_base(task)
    return (f"no scaffold for `{task.operator}`" + (f" ({derived})" if derived else "")
            + ": port by hand (or port the class once" + (f", or run it as `{base}`" if base else "")
            + f": `{ports_name}`)")


def chosen_base(task: TaskFacts) -> str | None:
    """The Airflow class the team may choose to run ``task``'s project class as
    (``AIRFLOW_OPERATOR_PORTS`` given its name): the one it derives from, when the class changes
    it and that class's scaffold is planned from values; else None."""
    base = (task.derived_from or "").rsplit(".", 1)[-1]
    return base if task.derived_changes and base in planned_from_values() and _static_problem(task) is None else None


def _static_problem(task: TaskFacts) -> str | None:
    """``derived.static_problem``: what of the class keeps it from running as its base."""
    from analysis.edits.scaffold.derived import static_problem  # it reads this registry

    return static_problem(task)
