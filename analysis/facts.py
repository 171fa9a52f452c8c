"""Frozen facts about a migration project, each carrying the range it came from.

Lines are 0-based (as in LSP); characters count Unicode code points, as libcst's
``PositionProvider`` does. The server converts to the client's encoding (UTF-16 by
default) only at the LSP boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any


@dataclass(frozen=True, slots=True, order=True)
class Position:
    line: int
    character: int

    def to_json(self) -> dict:
        return {"line": self.line, "character": self.character}


@dataclass(frozen=True, slots=True, order=True)
class Range:
    start: Position
    end: Position

    @classmethod
    def of(cls, start_line: int, start_char: int, end_line: int, end_char: int) -> Range:
        return cls(Position(start_line, start_char), Position(end_line, end_char))

    @classmethod
    def point(cls, line: int, character: int = 0) -> Range:
        return cls.of(line, character, line, character)

    def contains(self, position: Position) -> bool:
        return self.start <= position <= self.end

    def union(self, other: Range) -> Range:
        return Range(min(self.start, other.start), max(self.end, other.end))

    def to_json(self) -> dict:
        return {"start": self.start.to_json(), "end": self.end.to_json()}


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"
    HINT = "hint"


@dataclass(frozen=True, slots=True)
class Closure:
    """A function defined inside another (a project factory's): ``path`` and ``line`` of its
    ``def``, and what it reads from the functions around it, ``(name, True, literal)`` or
    ``(name, False, why not)`` each; ``why``: why those cannot be known at all."""

    path: str
    name: str
    line: int
    bindings: tuple[tuple[str, bool, Any], ...]
    why: str | None = None
    module_names: frozenset[str] = frozenset()
    """The other names it reads (its module's, builtins), where it is defined or when it runs."""


@dataclass(frozen=True, slots=True)
class Related:
    """Another place a finding involves (LSP ``DiagnosticRelatedInformation``)."""

    path: str
    range: Range
    message: str


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    message: str
    path: str
    range: Range
    related: tuple[Related, ...] = ()

    def to_json(self) -> dict:
        return {
            "path": self.path,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "range": self.range.to_json(),
            "related": [
                {"path": r.path, "range": r.range.to_json(), "message": r.message}
                for r in self.related
            ],
        }


@dataclass(frozen=True, slots=True)
class TaskFacts:
    task_id: str
    operator: str
    """Operator class as spelled after import resolution (``BashOperator``), or the
    decorator for TaskFlow tasks (``@task``, ``@task.bash``)."""
    range: Range
    """The expression that creates the task: the operator call or the call of a
    ``@task`` function."""
    id_range: Range | None = None
    """The ``task_id=`` value, or the name of the decorated function."""
    upstream: tuple[str, ...] = ()
    dynamic: bool = False
    mapped: bool = False
    """Created with ``.expand``/``.expand_kwargs``: airlift cannot proxy it."""
    group_id: str | None = None
    group_prefixed: bool = False
    """Inside a TaskGroup that prefixes its tasks' ids (``grp.a``): dagster-airlift 0.29 rebuilds a
    proxied task inside the group again (``grp.grp.a``), which Airflow cannot serialize."""
    variable: str | None = None
    definition_range: Range | None = None
    """For TaskFlow tasks, the ``def`` line of the decorated function."""
    callable_name: str | None = None
    """``python_callable=`` of a PythonOperator, or the decorated function's name."""
    conditional: bool = False
    """Created only under a runtime condition (``if Variable.get(...)``, a loop over data read at
    run time): Airflow's DAG has it only when that condition held at import."""
    condition: str | None = None
    """The innermost such condition, as written in the file."""
    conditional_upstream: tuple[str, ...] = ()
    """The ``upstream`` edges drawn only under a runtime condition."""
    xcom_from: tuple[str, ...] = ()
    """Tasks of its DAG whose XCom it reads, as the file shows it: another task's output given as
    an argument (an XComArg, ``.output``), or ``xcom_pull(task_ids="...")`` written out in its
    arguments' Jinja or in its callable's body. A proxied task pushes none."""
    xcom_upstream: tuple[str, ...] = ()
    """Every task upstream of it, when an ``xcom_pull`` of its arguments, its callable or its
    project class names its tasks only at run time (``task_ids=f"collect_{i}"``, none given): it
    may read the XCom of any of them. Empty otherwise."""
    gate: str | None = None
    """"branch" or "short-circuit" when its class is the project's, derived from one of Airflow's
    that decide which tasks after it run (``BaseBranchOperator``, ``ShortCircuitOperator``...);
    "skips-itself" when its callable or its project class raises ``AirflowSkipException``;
    "soft-fail" for a sensor given ``soft_fail=True`` or ``never_fail=True``, directly or through
    ``default_args`` (``analysis.dags.self_skips``). Airflow's own branch operators are known by
    name (``families.gate_of``)."""
    arguments: tuple[tuple[str, bool, Any], ...] | None = None
    """The arguments its class's constructor was given, as the model evaluated them where the
    task was made (a project factory's values): ``(name, True, literal)`` or ``(name, False, why
    not)``. Only from ``extract_file(..., arguments=True)`` (``analysis.dags.arguments``)."""
    operator_class: str | None = None
    """With ``arguments``: the dotted path of the Airflow or provider class that was given them
    (``airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator``), as the model
    resolved it; None for a class of the project's own or one it could not resolve."""
    callable_at: tuple[str, str] | None = None
    """With ``arguments``: ``(path, name)`` of the module-level function given as its
    ``python_callable`` (a project factory's task runs a function of the team's library)."""
    closure: Closure | None = None
    """With ``arguments``: the function given as its ``python_callable`` when the function that
    made the task defines it (``analysis.dags.closures``)."""
    default_keys: tuple[str, ...] | None = ()
    """The keys of the ``default_args`` Airflow merges for it (its DAG's, its task groups', its
    call's), as the model evaluates them, sorted: Airflow gives it those of its parameters. None
    when some of them cannot be read."""
    derived_from: str | None = None
    """For a task of a project class derived from an Airflow or provider operator class, that
    class's dotted path (``airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator``)
    (``analysis.dags.derived``)."""
    derived_changes: tuple[str, ...] = ()
    """What the project's classes change of how ``derived_from`` runs (``defines `execute```);
    none: they only hand arguments on to its constructor, and the task runs Airflow's class."""
    base_arguments: tuple[tuple[str, bool, Any], ...] | None = None
    """With ``arguments``, for a ``derived_from`` task: the arguments Airflow's class's
    constructor was given (``super().__init__``), as ``arguments`` are the project class's."""

    @property
    def certain(self) -> bool:
        """Exists, with this id, on every import: the only tasks an edit may name."""
        return not self.dynamic and not self.conditional


@dataclass(frozen=True, slots=True)
class GroupFacts:
    group_id: str
    range: Range
    parent_id: str | None = None
    extent: Range | None = None
    """The group's call and every task in it (for outlines)."""


@dataclass(frozen=True, slots=True)
class DagFacts:
    dag_id: str
    range: Range
    id_range: Range | None = None
    tasks: tuple[TaskFacts, ...] = ()
    groups: tuple[GroupFacts, ...] = ()
    dynamic: bool = False
    """The DAG id, or some of its tasks, could not be resolved statically."""
    id_dynamic: bool = False
    """The DAG id itself is only known when Airflow runs the file."""
    variable: str | None = None
    extent: Range | None = None
    """The DAG's creation and every task in it (for outlines and "which DAG is here")."""
    global_name: str | None = None
    """The module-level name bound to the DAG object. ``proxying_to_dagster`` only sees
    DAGs in ``globals()``: a bare ``with DAG(...):`` or ``my_dag()`` is invisible to it."""
    global_names: tuple[str, ...] = ()
    """Every module-level name holding the DAG: ``proxying_to_dagster`` proxies it once per name
    (at DAG level a second pass adds its override task again: DuplicateTaskIdFound)."""
    unseen: tuple[str, ...] = ()
    """Calls that may add tasks to the DAG and that static reading could not follow, each
    "`callee(...)`: why" (at most five): the DAG may have more tasks than the model shows."""
    creation_line: int | None = None
    """0-based line of the call that creates the DAG (for ``@dag``: the function's call)."""
    conditional: bool = False
    """Created only under a runtime condition."""
    condition: str | None = None
    binding: tuple[str, int, str | int | None] | None = None
    """Where an edit can bind the DAG to a module-level name of its own (see ``DagRecord``)."""
    source: str = "static"
    """"airflow": known from the peered deployment (the static model misses it or reads it only in
    part), not from the file."""
    subdag_of: str | None = None
    """A SubDAG's parent DAG id: the DAG is a ``SubDagOperator``'s ``subdag`` (Airflow 2), which a
    DagBag lists as a DAG of the parent's file but which is never in the module's globals."""

    def task(self, task_id: str) -> TaskFacts | None:
        for task in self.tasks:
            if task.task_id == task_id:
                return task
        return None

    @property
    def task_ids(self) -> frozenset[str]:
        return frozenset(t.task_id for t in self.tasks)

    def downstream(self, task_id: str) -> tuple[str, ...]:
        return tuple(sorted(t.task_id for t in self.tasks if task_id in t.upstream))


@dataclass(frozen=True, slots=True)
class ProxyingHook:
    """The ``proxying_to_dagster(...)`` call of a DAG file."""

    range: Range
    is_last: bool
    """Nothing that creates a DAG or task follows it."""
    trailing_range: Range | None
    """The first statement after the call that is not a no-op, if any."""
    creates_after: bool
    """A DAG or task is created after the call: those are never proxied."""
    state_dir: str | None
    """The folder passed to ``load_proxied_state_from_yaml``, relative to the DAG
    file's folder, or None when it cannot be resolved statically."""
    state_dir_range: Range | None = None
    guarded: bool = False
    """Inside an ``if``: e.g. the tutorial's ``if PROXYING:`` form."""
    enabled: bool | None = True
    """False when the guard is statically false (``PROXYING = False``), None when unknown."""


@dataclass(frozen=True, slots=True)
class FileFacts:
    path: str
    dags: tuple[DagFacts, ...] = ()
    error: str | None = None
    error_range: Range | None = None
    findings: tuple[Finding, ...] = field(default=())
    """What extraction itself found: syntax errors, duplicate and dynamic ids."""
    proxying: ProxyingHook | None = None
    skipped: str | None = None
    """Why the file was not read as a DAG file (binary, too large, ...)."""
    dependencies: tuple[tuple[str, str], ...] = ()
    """What this file's facts were read through besides its own text — workspace modules it
    imports, data files it reads, folders it lists or checks — as (path, ``ProjectCode.digest``:
    the SHA-1 of a text, ``dir:`` and the SHA-1 of a listing, or ``missing``): the facts hold
    while each of those is unchanged."""

    def dag(self, dag_id: str) -> DagFacts | None:
        for dag in self.dags:
            if dag.dag_id == dag_id:
                return dag
        return None
