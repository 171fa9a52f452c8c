"""What to tell a user about a DAG or a task: its migration stage, in words.

Pure functions shared by hover, code lenses and the CLI's human output.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Container
from dataclasses import dataclass
from enum import Enum

from analysis.dagster.ports import PORTS
from analysis.edits.scaffold.families import (
    GATE_LABELS,
    chosen_base,
    derived_note,
    gate_of,
    runs_as,
    task_family,
    task_nothing_to_migrate,
)
from analysis.facts import TaskFacts
from analysis.project import DagEntry, Project
from analysis.wording import plural
from analysis.xcom_reads import may_only, readers, ticks

FROM_AIRFLOW = " (from Airflow, not read from the file)"


class Stage(str, Enum):
    UNMAPPED = "unmapped"
    OBSERVED = "observed"
    PROXIED = "proxied"


@dataclass(frozen=True, slots=True)
class TaskStatus:
    stage: Stage
    assets: tuple[str, ...]
    proxied: bool
    state_listed: bool
    """The state file has an entry for the task."""
    nothing: str | None = None
    """Why the task has nothing to migrate (an ``EmptyOperator`` runs nothing), None when it
    does work: such a task counts as done while it stays in Airflow."""

    @property
    def done(self) -> bool:
        """Migrated as far as it needs: proxied, or nothing to migrate."""
        return self.proxied or self.nothing is not None

    @property
    def label(self) -> str:
        if self.stage is Stage.PROXIED:
            return "proxied → Dagster"
        if self.nothing is not None:
            return NOTHING_LABEL
        if self.stage is Stage.OBSERVED:
            return "observed → " + ", ".join(self.assets)
        return "unmapped"


NOTHING_LABEL = "nothing to migrate"


@dataclass(frozen=True, slots=True)
class DagStatus:
    """Progress of a DAG. A task with nothing to migrate counts as mapped and as proxied (done)
    while it stays in Airflow unproxied, where it does nothing: ``nothing`` says how many."""

    total: int
    mapped: int
    proxied: int
    dag_level_proxied: bool | None
    hook: str
    """present | switched off | missing"""
    from_airflow: bool = False
    """Known from the peered Airflow, not read from the file (``dag.source == "airflow"``)."""
    nothing: int = 0
    """Tasks counted in ``mapped`` and ``proxied`` because they have nothing to migrate."""

    @property
    def label(self) -> str:
        parts = ["from Airflow"] if self.from_airflow else []
        parts.append(f"{self.mapped}/{self.total} tasks mapped")
        if self.dag_level_proxied:
            parts.append("DAG proxied → Dagster")
        else:
            parts.append(f"{self.proxied} proxied")
            if self.nothing:
                parts.append(f"{self.nothing} of these: {NOTHING_LABEL}")
        if self.hook != "present" and (self.proxied > self.nothing or self.dag_level_proxied):
            parts.append(f"hook {self.hook}")
        return " · ".join(parts)


def blocked(task: TaskFacts, stage: Stage) -> str | None:
    """Why the next step cannot be taken for this task, in a few words (None: it can)."""
    if task.dynamic:
        return "dynamic id: only known when Airflow runs the file"
    if task.conditional:
        return f"exists only if {task.condition}"
    if stage is Stage.OBSERVED and task.mapped:
        return "mapped task: airlift cannot proxy it"
    if stage is Stage.OBSERVED and task.group_prefixed:
        return f"in TaskGroup `{task.group_id}`: airlift can proxy it only with the whole DAG (DAG level)"
    return None


def blocked_in(project: Project, entry: DagEntry, task: TaskFacts, stage: Stage) -> str | None:
    """``blocked``, and for a task ready to proxy one by one: a task that decides which tasks
    after it run (the proxy operator decides nothing), or one whose XCom a task Airflow keeps
    running reads (proxied, it would push none: the readers must move to Dagster first)."""
    why = blocked(task, stage)
    if why is not None or stage is not Stage.OBSERVED:
        return why
    if entry.state is not None and not entry.state.error and entry.state.dag_proxied is not None:
        return None  # DAG level: the whole DAG moves at once
    if gate := gate_of(task):
        return f"{GATE_LABELS[gate]}; it stays in Airflow (or DAG level)"
    left = _readers_in_airflow(project, entry, task)
    if not left:
        return None
    one = len(left) == 1
    verb = ("may read" if may_only(entry.dag, left, task.task_id) else "reads" if one else "read")
    return f"{ticks(left)} {verb} its XCom: proxy {'it' if one else 'them'} first"


def starved_readers(project: Project, entry: DagEntry, task: TaskFacts) -> tuple[str, ...]:
    """For a task proxied one by one, the readers of its XCom that Airflow still runs: they get
    None at run time (a state file edited by hand, or written before this was checked)."""
    state = entry.state
    if state is None or state.error or state.dag_proxied is not None or not project.is_proxied(entry, task):
        return ()
    return _readers_in_airflow(project, entry, task)


def starved_label(starved: tuple[str, ...]) -> str:
    """The short warning of a lens or of ``status`` for ``starved_readers``."""
    return f"⚠ {', '.join(starved)} {'gets' if len(starved) == 1 else 'get'} None (reads its XCom)"


def _readers_in_airflow(project: Project, entry: DagEntry, task: TaskFacts) -> tuple[str, ...]:
    """The readers of ``task``'s XCom that its DAG's state leaves to Airflow."""
    return tuple(r for r in readers(entry.dag, task.task_id)
                 if (t := entry.dag.task(r)) is not None and not project.is_proxied(entry, t))


def nothing_to_migrate_in(project: Project, dag_id: str, task: TaskFacts) -> str | None:
    """Why ``task`` has nothing to migrate (its operator runs nothing), or None: it does work,
    or an executable Dagster definition is mapped to it (then proxying runs that)."""
    why = task_nothing_to_migrate(task)
    if why is None or project.runnable_in_dagster(dag_id, task.task_id):
        return None
    return why


def no_scaffold(project: Project, dag_id: str, task: TaskFacts,
                runnable: Container[tuple[str, str | None]] | None = None) -> bool:
    """The task does work that no scaffold writes, and nothing executable is mapped to it yet:
    its Dagster implementation is to be ported by hand. ``runnable``: ``runnable_tasks(project)``,
    for a caller asking of every task."""
    if task_family(task, project.ports, project.port_bases) is not None or task_nothing_to_migrate(task) is not None:
        return False
    if runnable is not None:
        return (dag_id, task.task_id) not in runnable
    return not project.runnable_in_dagster(dag_id, task.task_id)


def runnable_tasks(project: Project) -> set[tuple[str, str | None]]:
    """``(dag_id, task_id)`` of every mapping holding an executable definition, in one pass."""
    return {(mapping.dag_id, mapping.task_id) for module in project.dagster_modules.values()
            for mapping in module.mappings if any(asset.executable for asset in mapping.assets)}


def task_status(project: Project, entry: DagEntry, task: TaskFacts) -> TaskStatus:
    assets = project.assets_for(entry.dag_id, task.task_id)
    proxied = project.is_proxied(entry, task)
    listed = bool(entry.state and not entry.state.error and entry.state.task(task.task_id))
    stage = Stage.PROXIED if proxied else (Stage.OBSERVED if assets else Stage.UNMAPPED)
    nothing = None if proxied else nothing_to_migrate_in(project, entry.dag_id, task)
    return TaskStatus(stage, assets, proxied, listed, nothing)


def migration_level(project: Project, entry: DagEntry) -> str:
    """``"dag"`` when the DAG migrates as a whole (dagster-airlift's DAG-level mode: a state
    file with a top-level ``proxied:``, or a DAG-level mapping), else ``"task"``."""
    state = entry.state
    if state is not None and not state.error and state.is_dag_level:
        return "dag"
    return "dag" if project.assets_for(entry.dag_id, None) else "task"


def dag_status(project: Project, entry: DagEntry) -> DagStatus:
    statuses = [task_status(project, entry, t) for t in entry.dag.tasks]
    hook = entry.file.proxying
    hook_state = "missing" if hook is None else ("switched off" if hook.enabled is False else "present")
    dag_level = entry.state.dag_proxied if entry.state and not entry.state.error else None
    return DagStatus(
        total=len(statuses),
        mapped=sum(1 for s in statuses if s.assets or s.nothing),
        proxied=sum(1 for s in statuses if s.done),
        dag_level_proxied=dag_level,
        hook=hook_state,
        from_airflow=entry.dag.source == "airflow",
        nothing=sum(1 for s in statuses if s.nothing),
    )


def _derived_lines(project: Project, task: TaskFacts, code: Callable[[str], str]) -> list[str]:
    """Which Airflow class a task of a project class runs as: one its class only hands arguments
    on to, or one the team chose (``AIRFLOW_OPERATOR_PORTS``), with what stays in Airflow."""
    base = runs_as(task, project.port_bases)
    if base == task.operator or task.operator in project.ports:
        return []
    if not task.derived_changes:
        return [f"the project's {code(base)}: its class only hands arguments on to it"]
    shown = "; ".join(task.derived_changes[:3]) + ("; ..." if len(task.derived_changes) > 3 else "")
    return [f"run as {code(base)} ({code(PORTS)}): what its class changes stays in Airflow ({shown})"]


def task_markdown(project: Project, entry: DagEntry, task: TaskFacts, *, markdown: bool = True) -> str:
    status = task_status(project, entry, task)
    code = (lambda s: f"`{s}`") if markdown else (lambda s: s)
    bold = (lambda s: f"**{s}**") if markdown else (lambda s: s)
    downstream = entry.dag.downstream(task.task_id)
    flags = [f for f, on in (("mapped (.expand)", task.mapped), ("dynamic id", task.dynamic),
                             (f"only if {task.condition}", task.conditional and not task.dynamic)) if on]
    why_not = blocked_in(project, entry, task, status.stage)
    if status.nothing is not None:
        stage = f" — stage: {bold(NOTHING_LABEL)} — {status.nothing.replace('`', '') if not markdown else status.nothing}"
    else:
        stage = (f" — stage: {bold(status.stage.value)}"
                 + (f" — cannot go further: {why_not}" if why_not and status.stage is not Stage.PROXIED else ""))
    lines = [
        f"{bold('Task')} {code(task.task_id)} · {task.operator}" + (f" · {', '.join(flags)}" if flags else ""),
        *_derived_lines(project, task, code),
        f"DAG {code(entry.dag_id)}{FROM_AIRFLOW if entry.dag.source == 'airflow' else ''}{stage}",
        "",
        "upstream: " + (", ".join(code(u) for u in task.upstream) or "none"),
        "downstream: " + (", ".join(code(d) for d in downstream) or "none"),
        "assets: " + (", ".join(code(a) for a in status.assets) or "none mapped"),
        "proxied: " + _proxied_text(entry, status, code),
    ]
    starved = starved_readers(project, entry, task)
    if starved:
        lines.append(f"⚠ {', '.join(code(r) for r in starved)}, still run by Airflow, "
                     f"{'reads' if len(starved) == 1 else 'read'} this task's XCom: a proxied task pushes "
                     f"none, so {'it gets' if len(starved) == 1 else 'they get'} None at run time "
                     f"(proxy {'it' if len(starved) == 1 else 'them'} too, or roll this task back)")
    if no_scaffold(project, entry.dag_id, task):
        derived = derived_note(task, project.port_bases)
        lines.append(f"no scaffold: port by hand ({code(task.operator)} has no generated Dagster implementation"
                     + (f": {derived}" if derived else "")
                     + f"; port the class once in {code(PORTS)} and every task of it scaffolds"
                     + (f", or run it as {code(base)} there" if (base := chosen_base(task)) else "") + ")")
    elif task.operator in (ports := project.ports) and not project.runnable_in_dagster(entry.dag_id, task.task_id):
        lines.append(f"ported: {code(task.operator)} runs as {code(ports[task.operator])} ({code(PORTS)}): "
                     "Generate Dagster implementation writes its call")
    return _join(lines, markdown)


def dag_markdown(project: Project, entry: DagEntry, *, markdown: bool = True) -> str:
    status = dag_status(project, entry)
    code = (lambda s: f"`{s}`") if markdown else (lambda s: s)
    bold = (lambda s: f"**{s}**") if markdown else (lambda s: s)
    state = os.path.relpath(entry.state.path, os.path.dirname(entry.file.path)) if entry.state else None
    lines = [
        f"{bold('DAG')} {code(entry.dag_id)} · {plural(status.total, 'task')}" + (" · dynamic" if entry.dag.dynamic else "")
        + (FROM_AIRFLOW if entry.dag.source == "airflow" else ""),
        status.label,
        "",
        "proxied state: " + (code(state) if state else "none"),
        "proxying hook: " + status.hook,
    ]
    return _join(lines, markdown)


def _proxied_text(entry: DagEntry, status: TaskStatus, code) -> str:
    if entry.state is None:
        return "no (no proxied-state file)"
    if entry.state.error:
        return "unknown (the state file is invalid)"
    where = code(os.path.basename(entry.state.path))
    if entry.state.dag_proxied is not None:
        return f"{'yes' if entry.state.dag_proxied else 'no'} (whole DAG, {where})"
    if not status.state_listed:
        return f"no (not listed in {where})"
    return f"{'yes' if status.proxied else 'no'} ({where})"


def _join(lines: list[str], markdown: bool) -> str:
    return ("  \n" if markdown else "\n").join(lines).replace("  \n  \n", "\n\n")
