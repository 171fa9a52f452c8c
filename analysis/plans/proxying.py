"""Plans of the proxying steps: enable proxying, proxy, roll back."""

from __future__ import annotations

import os
from collections.abc import Sequence

from analysis.edits.state_edits import new_state_file, set_dag_proxied, set_task_proxied
from analysis.plans.files import (
    PlanFiles,
    Plan,
    Read,
    Refused,
    Sources,
    dag_entry,
    inside,
    select_tasks,
    state_path,
)
from analysis.project import DagEntry, Project

def ensure_state(changes: PlanFiles, entry: DagEntry, root: str) -> str:
    """The state file's path, created (every task ``proxied: false``) when missing."""
    if entry.state is not None and entry.state.error:
        raise Refused(f"{os.path.basename(entry.state.path)} is invalid: fix it first ({entry.state.error})")
    path = state_path(entry)
    if not inside(root, path):
        raise Refused(f"refusing to write {path}: the DAG file's proxied-state folder is outside the workspace")
    if changes.text(path) is None:
        changes.write(path, new_state_file(sorted(t.task_id for t in entry.dag.tasks if not t.mapped)))
    return path


def ensure_hook(changes: PlanFiles, entry: DagEntry, notes: list[str]) -> None:
    from analysis.edits.dag_globals import bind_dags, global_name_for
    from analysis.edits.proxying_hook import add_proxying_hook

    # The DAGs' lines are facts of the text as read: this must be the file's first edit.
    text = changes.original(entry.file.path)
    assert text is not None and changes.text(entry.file.path) == text
    unbound = {d.creation_line: global_name_for(d.dag_id, text) for d in entry.file.dags
               if d.global_name is None and d.creation_line is not None}
    if unbound:
        # proxying_to_dagster only sees DAGs bound in the module's globals.
        bound = bind_dags(text, unbound)
        if bound.changed and bound.text is not None:
            text = bound.text
            changes.write(entry.file.path, text)
            notes.append("bound the DAG to a module-level name so proxying_to_dagster sees it")
    hook = entry.file.proxying
    if hook is not None and hook.enabled is not False:
        return
    result = add_proxying_hook(text)
    if result.text is None:
        raise Refused(result.reason or "cannot add the proxying hook")
    if result.changed:
        changes.write(entry.file.path, result.text)
        notes.append("switched proxying on" if hook is not None else "added the proxying_to_dagster hook")


def plan_enable_proxying(project: Project, read: Read, dag_id: str, *, sources: Sources | None = None) -> Plan:
    changes, notes = PlanFiles(project, read, sources), []
    entry = dag_entry(changes, dag_id)
    ensure_hook(changes, entry, notes)
    ensure_state(changes, entry, project.layout.root)
    return Plan(f"Enable proxying for {dag_id}", changes.result(), tuple(notes))


def plan_proxy(project: Project, read: Read, dag_id: str, task_ids: Sequence[str] | None = None, *,
               sources: Sources | None = None) -> Plan:
    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    tasks = select_tasks(entry, task_ids)
    notes: list[str] = []
    if task_ids:
        mapped = [t.task_id for t in tasks if t.mapped]
        if mapped:
            raise Refused(f"`{mapped[0]}` is a mapped task (.expand): dagster-airlift cannot proxy mapped "
                          f"tasks, and listing one in the state file breaks the DAG's import")
    else:
        skipped = [t.task_id for t in tasks if t.mapped]
        if skipped:
            notes.append(f"left out mapped tasks airlift cannot proxy: {', '.join(skipped)}")
        tasks = [t for t in tasks if not t.mapped]
    dagster = changes.dagster()
    unmapped = [t.task_id for t in tasks if not dagster.assets_for(dag_id, t.task_id)]
    if unmapped:
        raise Refused(f"map {', '.join(f'`{t}`' for t in unmapped)} to a Dagster asset first: a proxied "
                      f"task with no asset has nothing to materialize in Dagster")
    ensure_hook(changes, entry, notes)
    path = ensure_state(changes, entry, project.layout.root)
    text = changes.text(path) or ""
    if entry.state is not None and entry.state.dag_proxied is not None:
        if task_ids:
            raise Refused(f"{os.path.basename(path)} proxies the whole DAG (top-level `proxied:`); "
                          f"proxy or roll back the DAG instead")
        changes.write(path, set_dag_proxied(text, True))
    else:
        changes.write(path, set_task_proxied(text, [t.task_id for t in tasks], True))
    what = tasks[0].task_id if task_ids and len(tasks) == 1 else f"{len(tasks)} tasks of {dag_id}"
    return Plan(f"Proxy {what} to Dagster", changes.result(), tuple(notes))


def plan_rollback(project: Project, read: Read, dag_id: str | None,
                  task_ids: Sequence[str] | None = None, *, sources: Sources | None = None) -> Plan:
    """Roll tasks back to Airflow: some tasks, a DAG, or (``dag_id=None``) everything."""
    changes = PlanFiles(project, read, sources)
    if dag_id is None:
        for path in project.states:
            state, text = changes.state(path), changes.text(path)
            if state is None or state.error or text is None:
                continue
            changes.write(state.path, set_dag_proxied(text, False) if state.dag_proxied is not None
                          else set_task_proxied(text, [t.task_id for t in state.tasks], False))
        return Plan("Roll back every DAG to Airflow", changes.result())
    entry = dag_entry(changes, dag_id)
    tasks = select_tasks(entry, task_ids)
    if entry.state is None:
        return Plan(f"Roll back {dag_id}", (), ("nothing to roll back: no proxied-state file",))
    if entry.state.error:
        raise Refused(f"{os.path.basename(entry.state.path)} is invalid: fix it first ({entry.state.error})")
    text = changes.text(entry.state.path) or ""
    if entry.state.dag_proxied is not None:
        if task_ids:
            raise Refused(f"{os.path.basename(entry.state.path)} proxies the whole DAG; roll back the DAG")
        changes.write(entry.state.path, set_dag_proxied(text, False))
    else:
        listed = [t.task_id for t in tasks if entry.state.task(t.task_id) is not None]
        changes.write(entry.state.path, set_task_proxied(text, listed, False))
    what = tasks[0].task_id if task_ids and len(tasks) == 1 else dag_id
    return Plan(f"Roll back {what} to Airflow", changes.result())


