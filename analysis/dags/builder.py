"""Mutable records the interpreter fills in, frozen into facts at the end.

They mirror what Airflow itself builds while it runs a DAG file: DAGs holding tasks,
TaskGroups prefixing ids, and upstream/downstream sets on each task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from analysis.facts import DagFacts, GroupFacts, Range, TaskFacts

if TYPE_CHECKING:
    from analysis.dags.values import Value

_SUFFIX = re.compile(r"__\d+$")

ANY = "*"
"""In a task's pulls: an ``xcom_pull`` whose ids are only known at run time (``analysis.dags.xcom_pulls``;
no task id has a ``*``)."""


@dataclass(eq=False)
class GroupRecord:
    label: str
    dag: DagRecord
    parent: GroupRecord | None
    range: Range
    prefix_group_id: bool = True
    dynamic: bool = False
    mapped: bool = False
    members: list[TaskRecord] = field(default_factory=list)
    default_args: Value | None = None
    """``TaskGroup(default_args=...)``: merged over its parent's and its DAG's for its operators."""

    @property
    def group_id(self) -> str:
        labels = [self.label]
        group = self
        while group.parent is not None and group.parent.prefix_group_id:
            group = group.parent
            labels.append(group.label)
        return ".".join(reversed(labels))

    def child_id(self, label: str) -> str:
        return f"{self.group_id}.{label}" if self.prefix_group_id else label

    def all_tasks(self) -> list[TaskRecord]:
        return [t for t in self.dag.tasks.values() if self._contains(t.group)]

    def _contains(self, group: GroupRecord | None) -> bool:
        while group is not None:
            if group is self:
                return True
            group = group.parent
        return False

    def roots(self) -> list[TaskRecord]:
        tasks = self.all_tasks()
        inside = {id(t) for t in tasks}
        return [t for t in tasks if not any(id(u) in inside for u in t.upstream)]

    def leaves(self) -> list[TaskRecord]:
        tasks = self.all_tasks()
        inside = {id(t) for t in tasks}
        return [t for t in tasks if not any(id(d) in inside for d in t.downstream)]


@dataclass(eq=False)
class TaskRecord:
    task_id: str
    operator: str
    dag: DagRecord
    range: Range
    id_range: Range | None
    group: GroupRecord | None
    dynamic: bool = False
    mapped: bool = False
    variable: str | None = None
    definition_range: Range | None = None
    callable_name: str | None = None
    level: int = 0
    """How many runtime conditions deep it was created (0: on every import)."""
    condition: str = ""
    """The innermost of those conditions, as written in the file."""
    guessed: bool = False
    """Made by a call the model cannot tell is an operator (a class of an unread library called
    with ``task_id=``, not named like one): an operator with the same id wins over it."""
    # Ordered sets (dicts): an edge is drawn once, however many times a file repeats it.
    upstream: dict[TaskRecord, None] = field(default_factory=dict)
    downstream: dict[TaskRecord, None] = field(default_factory=dict)
    conditional_upstream: set[TaskRecord] = field(default_factory=set)
    """Upstream edges drawn only under a runtime condition."""
    xcom_from: dict[TaskRecord, None] = field(default_factory=dict)
    """Upstream tasks whose output it is given (an XComArg)."""
    pulls: set[str] = field(default_factory=set)
    """Task ids written out in an ``xcom_pull`` of its arguments or its callable (``ANY``: one
    whose ids are only known at run time)."""
    gate: str | None = None
    """"branch" or "short-circuit": its project class derives from one of Airflow's that skip;
    "skips-itself" or "soft-fail": it can skip itself (``analysis.dags.self_skips``)."""
    arguments: tuple[dict[str, Value], int, bool] | None = None
    """What its class's constructor was given (keywords, how many by position, whether ``**`` an
    unknown value too), kept only when asked (``analysis.dags.arguments``)."""
    operator_class: str | None = None
    """With ``arguments``: the resolved dotted path of the Airflow or provider class given them."""
    callable_at: tuple[str, str] | None = None
    """With ``arguments``: the file and name of the module-level function it calls."""
    closure: tuple[Any, str, frozenset] | None = None
    """With ``arguments``: the function given as its ``python_callable`` when a function defines
    it, the file being read and the parameters of the ``@dag`` functions around it
    (``analysis.dags.closures``)."""
    default_keys: tuple[str, ...] | None = ()
    """The keys of the ``default_args`` Airflow merges for it; None: some cannot be read."""
    made_by: Any = None
    """The project class (a ``ClassValue``) whose constructor made it: what it derives from and
    what its classes change are read once the file has run (``analysis.dags.derived``), so that a
    method set on the class after the task is made counts."""
    unread_defaults: tuple[str, ...] = ()
    """Parameters of its project class's constructor that ``default_args`` the model could not
    read may give (Airflow fills them from there)."""
    base_arguments: tuple[dict[str, Value], int, bool] | None = None
    """With ``arguments``, for a ``derived`` task: what Airflow's class's constructor was given."""

    @property
    def conditional(self) -> bool:
        return self.level > 0

    def freeze(self) -> TaskFacts:
        derived = self._derived()
        return TaskFacts(
            task_id=self.task_id,
            operator=self.operator,
            range=self.range,
            id_range=self.id_range,
            upstream=tuple(sorted({u.task_id for u in self.upstream})),
            conditional_upstream=tuple(sorted({u.task_id for u in self.conditional_upstream})),
            xcom_from=tuple(sorted({u.task_id for u in self.xcom_from if u.dag is self.dag}
                                   | {i for i in self.pulls if i != self.task_id and i in self.dag.tasks})),
            dynamic=self.dynamic,
            conditional=self.conditional,
            condition=self.condition or None,
            mapped=self.mapped,
            group_id=self.group.group_id if self.group else None,
            group_prefixed=self.group is not None and self.group.prefix_group_id,
            variable=self.variable,
            definition_range=self.definition_range,
            callable_name=self.callable_name,
            gate=self.gate,
            xcom_upstream=self._ancestors() if ANY in self.pulls else (),
            arguments=self._evaluated(),
            operator_class=self.operator_class,
            callable_at=self.callable_at,
            closure=self._closure(),
            default_keys=self.default_keys,
            derived_from=derived[0] if derived else None,
            derived_changes=derived[1] if derived else (),
            base_arguments=self._evaluated(self.base_arguments) if self.base_arguments is not None else None,
        )

    def _derived(self) -> tuple[str, tuple[str, ...]] | None:
        if self.made_by is None:
            return None
        from analysis.dags.derived import derived  # it reads classes, which read these records

        found = derived(self.made_by)
        if found is None or not self.unread_defaults:
            return found
        names = ", ".join(f"`{n}`" for n in self.unread_defaults)
        return found[0], (*found[1], f"`default_args` that cannot be read may give {names} of "
                                     f"`{self.made_by.name}.__init__` (Airflow fills them from there)")

    def _closure(self):
        """``closure`` read once the file is, as Python reads a closure's names when it runs."""
        if self.closure is None:
            return None
        from analysis.dags.closures import closure_of

        return closure_of(*self.closure)

    def _evaluated(self, given: tuple[dict[str, Value], int, bool] | None = None):
        """``arguments`` (or ``given``) as literals (``analysis.dags.arguments``), when kept."""
        given = self.arguments if given is None else given
        if given is None:
            return None
        from analysis.dags.arguments import evaluated  # it reads values, which read these records

        return evaluated(*given)

    def _ancestors(self) -> tuple[str, ...]:
        """The tasks upstream of it, however far, in its DAG."""
        seen: dict[TaskRecord, None] = {}
        stack = list(self.upstream)
        while stack:
            task = stack.pop()
            if task not in seen and task is not self:
                seen[task] = None
                stack.extend(task.upstream)
        return tuple(sorted({t.task_id for t in seen if t.dag is self.dag}))


@dataclass(eq=False)
class DagRecord:
    dag_id: str
    range: Range
    id_range: Range | None
    dynamic: bool = False
    id_dynamic: bool = False
    variable: str | None = None
    global_name: str | None = None
    global_names: tuple[str, ...] = ()
    """Every module-level name that holds the DAG once the file has run."""
    unseen: list[str] = field(default_factory=list)
    """Calls that may add tasks to the DAG and that static reading could not follow."""
    creation_line: int | None = None
    level: int = 0
    condition: str = ""
    binding: tuple[str, int, str | int | None] | None = None
    """Where an edit can bind it to a module-level name: ("call", line, None) for a bare
    ``make_dag()`` statement, ("with", line, item) for ``with DAG(...):``, ("alias", line, name)
    for a statement that binds it to a name that a later one rebinds."""
    tasks: dict[str, TaskRecord] = field(default_factory=dict)
    groups: list[GroupRecord] = field(default_factory=list)
    subdag_task: TaskRecord | None = None
    """The ``SubDagOperator`` given this DAG as its ``subdag`` (Airflow 2): a SubDAG of that task's DAG."""
    default_args: Value | None = None
    """``DAG(default_args=...)``: what Airflow gives each operator for a parameter its call leaves out."""

    def unique_id(self, full_id: str, label: str) -> str:
        """Airflow's ``get_unique_task_id``: a reused @task gets ``__1``, ``__2``..."""
        if full_id not in self.tasks and not any(g.group_id == full_id for g in self.groups):
            return label
        core = _SUFFIX.split(full_id)[0]
        pattern = re.compile(rf"^{re.escape(core)}__(\d+)$")
        used = [int(m.group(1)) for t in self.tasks if (m := pattern.match(t))]
        used += [int(m.group(1)) for g in self.groups if (m := pattern.match(g.group_id))]
        return f"{_SUFFIX.split(label)[0]}__{max(used, default=0) + 1}"

    def freeze(self) -> DagFacts:
        tasks = tuple(t.freeze() for t in self.tasks.values())
        extent = self.range
        for task in tasks:
            extent = extent.union(task.range)
        return DagFacts(
            dag_id=self.dag_id,
            range=self.range,
            id_range=self.id_range,
            tasks=tasks,
            groups=tuple(self._freeze_group(g) for g in self.groups),
            dynamic=self.dynamic or any(t.dynamic for t in tasks),
            id_dynamic=self.id_dynamic,
            variable=self.variable,
            extent=extent,
            global_name=self.global_name,
            global_names=self.global_names,
            unseen=tuple(self.unseen),
            creation_line=self.creation_line,
            binding=self.binding,
            conditional=self.level > 0,
            condition=self.condition or None,
            subdag_of=self.subdag_task.dag.dag_id if self.subdag_task is not None else None,
        )

    @staticmethod
    def _freeze_group(group: GroupRecord) -> GroupFacts:
        extent = group.range
        for task in group.all_tasks():
            extent = extent.union(task.range)
        return GroupFacts(group.group_id, group.range, group.parent.group_id if group.parent else None,
                          extent)
