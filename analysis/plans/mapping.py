"""Plans of the observe steps: map tasks to Dagster assets, scaffold a task's asset."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from analysis.dagster.lineage import certain_upstream, drifts, key_parts
from analysis.dagster.module import DagsterModule, is_component_path, key_string
from analysis.plans.files import (
    Plan,
    PlanFiles,
    Read,
    Refused,
    Sources,
    certain_tasks,
    dag_entry,
    no_task_known,
    refuse_if_unreadable,
    refuse_unreadable_dagster_module,
    select_tasks,
)
from analysis.project import DagEntry, Project

if TYPE_CHECKING:
    from analysis.edits.scaffold import ImportRoot

DEFAULT_DAGSTER_MODULE = "definitions.py"
_KEY_PART = re.compile(r"[^A-Za-z0-9_]")


def derived_asset_key(dag_id: str, task_id: str) -> tuple[str, ...]:
    return (_KEY_PART.sub("_", dag_id), _KEY_PART.sub("_", task_id))


def plan_map_dag_level(project: Project, read: Read, dag_id: str, asset: str | None = None, *,
                       sources: Sources | None = None) -> Plan:
    """Map a whole DAG to an asset (``assets_with_dag_mappings``): what DAG-level proxying runs."""
    from analysis.edits import add_dag_mapping
    from analysis.edits.component_mappings import add_component_dag_mapping

    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    module = changes.dagster().primary_dagster_module
    path = module.path if module else os.path.normpath(os.path.join(
        project.layout.root, project.layout.dagster_module or DEFAULT_DAGSTER_MODULE))
    module = module or changes.dagster_module(path)
    if changes.dagster().assets_for(dag_id, None):
        return Plan(f"Map {dag_id} as a whole", (), ("the DAG is already mapped as a whole",))
    key = tuple(p for p in asset.split("/") if p) if asset is not None else (_KEY_PART.sub("_", entry.dag_id),)
    if not key:
        raise Refused(f"--asset {asset!r} names no asset key: give its parts separated by /, like raw/customers")
    if module is None:
        refuse_unreadable_dagster_module(project)
    if is_component_path(path):
        result = add_component_dag_mapping(changes.text(path), dag_id, key)
    else:
        result = add_dag_mapping(changes.text(path), dag_id, key)
    if result.text is None:
        raise Refused(result.reason or f"cannot add the mapping to {path}")
    changes.write(path, result.text)
    return Plan(f"Map {dag_id} as a whole to the Dagster asset {key_string(key)}", changes.result())


def plan_map(project: Project, read: Read, dag_id: str, task_ids: Sequence[str] | None = None,
             asset: str | None = None, *, sources: Sources | None = None, dag_level: bool = False) -> Plan:
    """Map tasks (default: every unmapped one) to assets, with deps from the DAG's edges, and keep
    the deps of the mapped assets around them in step with those edges (mapping ``load`` before
    ``clean`` is fixed when ``clean`` is mapped). A task already mapped is only brought in step."""
    from analysis.edits import NewMapping, add_task_mappings
    from analysis.edits.asset_deps import set_asset_deps
    from analysis.edits.component_mappings import add_component_task_mappings

    if dag_level:
        if task_ids:
            raise Refused("--dag-level maps the whole DAG: give no TASK_ID")
        return plan_map_dag_level(project, read, dag_id, asset, sources=sources)
    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    notes: list[str] = []
    tasks = certain_tasks(select_tasks(entry, task_ids), "map", bool(task_ids), notes)
    if not task_ids and not entry.dag.tasks:
        raise no_task_known(entry)
    module = changes.dagster().primary_dagster_module
    path = module.path if module else os.path.normpath(os.path.join(
        project.layout.root, project.layout.dagster_module or DEFAULT_DAGSTER_MODULE))
    # None known: the mapping goes where the settings say, into the module someone made
    # there since the project was read if there is one (its mappings count too).
    module = module or changes.dagster_module(path)
    dagster = changes.dagster()
    unmapped = [t for t in tasks if not dagster.assets_for(dag_id, t.task_id)]
    asset_key = tuple(p for p in asset.split("/") if p) if asset is not None else None
    if asset is not None and len(tasks) != 1:
        raise Refused("--asset names one asset: give exactly one task")
    if asset is not None and not asset_key and unmapped:
        raise Refused(f"--asset {asset!r} names no asset key: give its parts separated by /, like raw/customers")
    # dbt's assets (keys known only at load) give no deps: no key of theirs can be written.
    keys = {t.task_id: list(dagster.named_keys(dag_id, t.task_id)) for t in entry.dag.tasks}
    for task in unmapped:
        keys[task.task_id] = [key_string(asset_key or derived_asset_key(dag_id, task.task_id))]
    new = [NewMapping(task.task_id, key_parts(keys[task.task_id][0]),
                      tuple(key_parts(k) for u in certain_upstream(entry.dag, task) for k in keys.get(u, ())))
           for task in unmapped]
    # In step: the tasks asked for, and the neighbours whose deps a new asset changes.
    scope = {t.task_id for t in tasks} | {d for t in unmapped for d in entry.dag.downstream(t.task_id)}
    assets = {t.task_id: dagster.asset_refs(dag_id, t.task_id) for t in entry.dag.tasks}
    drifted = drifts(entry.dag, assets, keys, sorted(scope))
    if not new and not drifted:
        return Plan(f"Map {dag_id}", (), (*notes, "already mapped" if task_ids else "every task is already mapped"))
    if module is None:
        refuse_unreadable_dagster_module(project)
    else:
        _refuse_listed_without_assets(module, dag_id, [m.task_id for m in new], several=not task_ids)
    text = changes.text(path)
    if is_component_path(path) and drifted:
        # The deps of entries already in a component's YAML are the user's to keep in step.
        notes.append("left the deps of " + ", ".join(f"`{d.task_id}`" for d in drifted)
                     + f" as {os.path.basename(path)} writes them")
        drifted = []
        if not new:
            return Plan(f"Map {dag_id}", (), (*notes, "already mapped" if task_ids else "every task is already mapped"))
    if new and is_component_path(path):
        result = add_component_task_mappings(text, dag_id, new)
        if result.text is None:
            raise Refused(result.reason or f"cannot add the mapping to {path}")
        text = result.text
    elif new:
        result = add_task_mappings(text, dag_id, new)
        if result.text is None:
            raise Refused(result.reason or f"cannot add the mapping to {path}")
        text = result.text
    if drifted:
        result = set_asset_deps(text or "", dag_id, {(d.task_id, d.asset.key): d.deps for d in drifted})
        if result.text is None:
            raise Refused(result.reason or f"cannot update the deps in {path}")
        text = result.text
        notes.append("brought the deps of " + ", ".join(f"`{d.task_id}`" for d in drifted)
                     + " in step with the DAG's edges")
    changes.write(path, text or "")
    if new:
        what = new[0].task_id if len(new) == 1 else f"{len(new)} tasks of {dag_id}"
        return Plan(f"Map {what} to Dagster assets", changes.result(), tuple(notes))
    return Plan(f"Update the deps of {dag_id}'s assets from its edges", changes.result(), tuple(notes))


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
    from analysis.edits.scaffold import scaffold_task

    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    select_tasks(entry, [task_id])
    dagster = changes.dagster()
    module = dagster.primary_dagster_module
    if module is None:
        refuse_unreadable_dagster_module(project)
        raise Refused(f"map `{task_id}` to a Dagster asset first: there is no Dagster module yet")
    if is_component_path(module.path):
        raise Refused(f"the Dagster side is the component {os.path.basename(module.path)}: scaffold writes into a "
                      "Python module; write the asset under the component's folder and map it with by_key")
    dag_text, module_text, roots = scaffold_sources(project, changes, entry, module)
    result = scaffold_task(dag_text, entry.file.path, dag_id, task_id, module_text,
                           module_path=module.path, import_roots=roots, mapped_assets=dagster.asset_refs,
                           code=project.code, bases=dagster.port_bases)
    if result.text is None:
        raise Refused(result.reason or f"cannot generate a Dagster implementation for `{task_id}`")
    changes.write(module.path, result.text)
    notes = () if result.changed else (result.reason or "already implemented in Dagster",)
    return Plan(f"Generate the Dagster implementation of {task_id}", changes.result(), notes)


def scaffold_sources(project: Project, changes: PlanFiles, entry: DagEntry,
                     module: DagsterModule) -> tuple[str, str, list[ImportRoot]]:
    """What a scaffold reads: the DAG file's and the Dagster module's texts (refused when one
    cannot be read), and the DAGs folders, which Airflow puts on sys.path: the scaffolded code
    imports what the task did."""
    from analysis.edits.scaffold import ImportRoot

    dag_text, module_text = changes.original(entry.file.path), changes.original(module.path)
    if dag_text is None or module_text is None:
        unreadable = entry.file.path if dag_text is None else module.path
        refuse_if_unreadable(unreadable)
        raise Refused(f"cannot read {unreadable}: it is gone from the disk")
    roots = [ImportRoot.from_disk(folder) for folder in project.layout.dag_roots() if os.path.isdir(folder)]
    return dag_text, module_text, roots
