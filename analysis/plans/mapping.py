"""Plans of the observe steps: map tasks to Dagster assets, scaffold a task's asset."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from analysis.dagster.module import DagsterModule
from analysis.plans.files import (
    PlanFiles,
    Plan,
    Read,
    Refused,
    Sources,
    dag_entry,
    refuse_if_unreadable,
    refuse_unreadable_dagster_module,
    select_tasks,
)
from analysis.project import Project

DEFAULT_DAGSTER_MODULE = "definitions.py"
_KEY_PART = re.compile(r"[^A-Za-z0-9_]")


def derived_asset_key(dag_id: str, task_id: str) -> tuple[str, ...]:
    return (_KEY_PART.sub("_", dag_id), _KEY_PART.sub("_", task_id))


def plan_map(project: Project, read: Read, dag_id: str, task_ids: Sequence[str] | None = None,
             asset: str | None = None, *, sources: Sources | None = None) -> Plan:
    """Map tasks (default: every unmapped one) to assets, with deps from the DAG's edges."""
    from analysis.edits import NewMapping, add_task_mappings

    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    tasks = select_tasks(entry, task_ids)
    module = changes.dagster().primary_dagster_module
    path = module.path if module else os.path.normpath(os.path.join(
        project.layout.root, project.layout.dagster_module or DEFAULT_DAGSTER_MODULE))
    # None known: the mapping goes where the settings say, into the module someone made
    # there since the project was read if there is one (its mappings count too).
    module = module or changes.dagster_module(path)
    dagster = changes.dagster()
    if not task_ids:
        tasks = [t for t in tasks if not dagster.assets_for(dag_id, t.task_id)]
    if not tasks:
        # Before the --asset check: mapping the last task, then asking again, is done.
        return Plan(f"Map {dag_id}", (), ("every task is already mapped",))
    asset_key = tuple(p for p in asset.split("/") if p) if asset is not None else None
    if asset is not None and len(tasks) != 1:
        raise Refused("--asset names one asset: give exactly one task")
    if asset is not None and not asset_key:
        raise Refused(f"--asset {asset!r} names no asset key: give its parts separated by /, like raw/customers")
    keys: dict[str, tuple[tuple[str, ...], ...]] = {}
    for task in entry.dag.tasks:
        existing = dagster.assets_for(dag_id, task.task_id)
        keys[task.task_id] = tuple(tuple(k.split("/")) for k in existing)
    new: list[NewMapping] = []
    for task in tasks:
        if keys[task.task_id] and task_ids:
            continue  # already mapped: idempotent
        key = asset_key or derived_asset_key(dag_id, task.task_id)
        keys[task.task_id] = (key,)
    for task in tasks:
        if dagster.assets_for(dag_id, task.task_id):
            continue
        deps = tuple(dict.fromkeys(k for upstream in task.upstream for k in keys.get(upstream, ())))
        new.append(NewMapping(task.task_id, keys[task.task_id][0], deps))
    if not new:
        return Plan(f"Map {dag_id}", (), ("already mapped",))
    if module is None:
        refuse_unreadable_dagster_module(project)
    else:
        _refuse_listed_without_assets(module, dag_id, [m.task_id for m in new], several=not task_ids)
    result = add_task_mappings(changes.text(path), dag_id, new)
    if result.text is None:
        raise Refused(result.reason or f"cannot add the mapping to {path}")
    changes.write(path, result.text)
    what = new[0].task_id if len(new) == 1 else f"{len(new)} tasks of {dag_id}"
    return Plan(f"Map {what} to Dagster assets", changes.result())


def _refuse_listed_without_assets(module: DagsterModule, dag_id: str, task_ids: list[str],
                                  several: bool) -> None:
    """A task the module's ``task_mappings`` already names, with no asset read from it: the
    codemod leaves an existing entry alone, so "mapping" it would change nothing."""
    wanted = set(task_ids)
    for mapping in module.mappings:
        if mapping.dag_id != dag_id or mapping.task_id not in wanted:
            continue
        where = f"{os.path.basename(module.path)}, line {mapping.key_range.start.line + 1}"
        what = ("to assets that cannot be read statically: map it there by hand" if mapping.dynamic
                else "with no asset: put its asset in that list")
        others = "; map the other tasks one by one" if several and len(wanted) > 1 else ""
        raise Refused(f"`{mapping.task_id}` is already in the task_mappings of `{dag_id}` ({where}) "
                      f"{what}{others}")


def plan_scaffold(project: Project, read: Read, dag_id: str, task_id: str, *,
                  sources: Sources | None = None) -> Plan:
    """Write the Dagster asset that does the task's work, and map the task to it."""
    from analysis.edits.scaffold import ImportRoot, scaffold_task

    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    select_tasks(entry, [task_id])
    module = changes.dagster().primary_dagster_module
    if module is None:
        refuse_unreadable_dagster_module(project)
        raise Refused(f"map `{task_id}` to a Dagster asset first: there is no Dagster module yet")
    dag_text, module_text = changes.original(entry.file.path), changes.original(module.path)
    if dag_text is None or module_text is None:
        unreadable = entry.file.path if dag_text is None else module.path
        refuse_if_unreadable(unreadable)
        raise Refused(f"cannot read {unreadable}: it is gone from the disk")
    # Airflow puts each DAGs folder on sys.path: the generated asset imports what the task did.
    roots = [ImportRoot.from_disk(folder) for folder in project.layout.dag_roots() if os.path.isdir(folder)]
    result = scaffold_task(dag_text, entry.file.path, dag_id, task_id, module_text,
                           module_path=module.path, import_roots=roots)
    if result.text is None:
        raise Refused(result.reason or f"cannot generate a Dagster implementation for `{task_id}`")
    changes.write(module.path, result.text)
    notes = () if result.changed else (result.reason or "already implemented in Dagster",)
    return Plan(f"Generate the Dagster implementation of {task_id}", changes.result(), notes)
