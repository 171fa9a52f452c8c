"""Diagnostics that catch migration mistakes before Airflow or Dagster trips over them.

Each message says what will break, and where; related information points at the other
file involved. Codes are a contract (docs/diagnostics.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from analysis.dagster.lineage import drifts
from analysis.dagster.module import is_component_path
from analysis.dagster.ports import PORTS
from analysis.deployed import differences
from analysis.describe import no_scaffold, nothing_to_migrate_in, runnable_tasks
from analysis.edits.scaffold.families import no_scaffold_note
from analysis.facts import Finding, Range, Related, Severity
from analysis.project import DagEntry, Project

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFORMATION


def check_project(project: Project) -> list[Finding]:
    findings: list[Finding] = []
    for file in project.files.values():
        findings.extend(file.findings)
        if file.skipped:
            findings.append(Finding("unreadable-file", WARNING, _unread(file.skipped), file.path, Range.point(0)))
    for path, why in sorted(project.unreadable_dagster_modules.items()):
        findings.append(Finding("unreadable-file", WARNING, _unread(why), path, Range.point(0)))
    findings.extend(_state_files(project))
    for entry in project.entries:
        findings.extend(_entry(project, entry))
    findings.extend(_hooks(project))
    findings.extend(_mappings(project))
    findings.extend(_duplicate_dag_ids(project))
    if project.deployed:
        findings.extend(differences(project.files, project.layout.dag_roots(), project.deployed))
    findings.extend(_deps_drift(project))
    findings.extend(_no_scaffolds(project))
    # A file that does not parse shows its syntax error alone: other findings would come
    # from its last good facts, at positions that no longer hold.
    broken = {path for path, file in project.files.items() if file.error}
    findings = [f for f in findings if f.path not in broken or f.code in ("syntax-error", "unreadable-file")]
    return sorted(findings, key=lambda f: (f.path, f.range.start, f.code))


def _unread(why: str) -> str:
    """Not a syntax error: the bytes are not Python text airlift-lsp reads (binary, too big,
    not in their encoding), so nothing in the file is shown or checked."""
    return f"not read, so nothing in it is shown or checked: {why.removeprefix('skipped: ')}"


def _state_files(project: Project) -> Iterator[Finding]:
    known = project.dag_ids
    any_dynamic = any(e.dag.dynamic and e.dag.id_range is None for e in project.entries) or any(
        d.dynamic for f in project.files.values() for d in f.dags if d.dag_id.startswith("{"))
    linked = {id(e.state) for e in project.entries if e.state is not None}
    for state in project.states.values():
        folder = os.path.basename(os.path.dirname(state.path))
        yield from state.warnings
        if state.error:
            consequence = (f"dagster-airlift reads every file of {folder}/, so every DAG that loads it "
                           f"fails to import" if state.breaks_folder else
                           f"`{state.dag_id}` fails to import once proxying runs")
            message = state.error if consequence in state.error or "every DAG" in state.error \
                else f"{state.error.rstrip('.')}; {consequence}"
            yield Finding("invalid-proxied-state", ERROR, message, state.path,
                          state.error_range or Range.point(0))
        if id(state) not in linked and state.dag_id not in known:
            yield Finding("state-for-unknown-dag", INFO if any_dynamic else WARNING,
                          f"no DAG `{state.dag_id}` is defined in the DAG folders: this state file "
                          f"has no effect (renamed or removed DAG?)", state.path, Range.point(0))


def _hook_active(entry: DagEntry) -> bool | None:
    hook = entry.file.proxying
    if hook is None:
        return False
    return hook.enabled


def _entry(project: Project, entry: DagEntry) -> Iterator[Finding]:
    state, dag, path = entry.state, entry.dag, entry.file.path
    if state is None or state.error:
        return
    active = _hook_active(entry)
    state_link = Related(state.path, Range.point(0), f"proxied state of `{dag.dag_id}`")
    dag_link = Related(path, dag.id_range or dag.range, f"DAG `{dag.dag_id}`")
    anything_proxied = bool(state.dag_proxied) or any(t.proxied for t in state.tasks)
    if active is False:
        hook = entry.file.proxying
        if hook is None:
            why = "has no `proxying_to_dagster(...)` call"
        else:
            why = "switches `proxying_to_dagster(...)` off (its guard is false)"
        effect = ("tasks marked proxied still run in Airflow" if anything_proxied
                  else "the state file takes effect once it runs")
        severity = ERROR if anything_proxied else (INFO if hook is not None else WARNING)
        yield Finding("missing-proxying-call", severity,
                      f"`{dag.dag_id}` has a proxied-state file but this DAG file {why}: {effect}",
                      path, hook.range if hook else dag.range, (state_link,))
    if active is not False and entry.dag.global_name is None and entry.file.proxying is not None:
        alone = all(d.global_name is None for d in entry.file.dags)
        hidden = (f"`{dag.binding[2]}` holds it only until a later statement binds that name to something else"
                  if dag.binding and dag.binding[0] == "alias" else "it is not bound to a module-level name")
        yield Finding("missing-proxying-call", ERROR if alone or anything_proxied else WARNING,
                      f"`proxying_to_dagster(global_vars=globals())` cannot see `{dag.dag_id}`: {hidden}, so it "
                      f"is never proxied" + (" while its state file says it is" if anything_proxied and not alone else "")
                      + (" and Airflow fails to import the file ('No dags found in globals')" if alone else ""),
                      path, dag.id_range or dag.range, (state_link,))
    breaks = "Airflow will fail to import this DAG" if active is not False else \
        "Airflow will fail to import this DAG once proxying is enabled"
    for task_state in state.tasks:
        task = dag.task(task_state.task_id)
        if task is not None and (task.dynamic or task.conditional):
            why = (f"`{task.task_id}` is a placeholder: the real ids are only known when Airflow runs the file"
                   if task.dynamic else f"`{task.task_id}` exists only when {task.condition} holds at import")
            certain_break = task.dynamic and active is not False
            yield Finding("unknown-task-in-state", ERROR if certain_break else WARNING,
                          f"{breaks}{'' if task.dynamic else ' whenever it does not'}: proxied_state names "
                          f"a task airlift looks up in the DAG, and {why}; remove this entry (airlift-lsp "
                          f"rollback {dag.dag_id} removes it)", state.path, task_state.id_range,
                          (Related(path, task.id_range or task.range, f"task `{task.task_id}`"),))
            continue
        if task is None:
            certain = not dag.dynamic
            yield Finding("unknown-task-in-state", ERROR if certain and active is not False else WARNING,
                          f"{breaks}: proxied_state names task `{task_state.task_id}`, which "
                          f"{dag.dag_id} {'does not have' if certain else 'may not have (it has dynamic task ids)'}",
                          state.path, task_state.id_range, (dag_link,))
            continue
        task_link = Related(path, task.id_range or task.range, f"task `{task.task_id}`")
        if task.mapped:
            yield Finding("mapped-task-proxied", ERROR,
                          f"{breaks}: `{task.task_id}` is a mapped task (.expand), which dagster-airlift "
                          f"cannot proxy; remove it from the state file", state.path, task_state.range,
                          (task_link,))
        elif task_state.proxied and task.group_prefixed:
            yield Finding("proxy-breaks-serialization", ERROR if active is not False else WARNING,
                          f"`{task.task_id}` is inside TaskGroup `{task.group_id}`: dagster-airlift rebuilds a "
                          f"proxied task inside its group again (`{task.group_id}.{task.task_id}`), and Airflow's "
                          f"scheduler and webserver then cannot read `{dag.dag_id}` (its serialization fails); "
                          f"roll it back, and proxy the DAG at DAG level instead", state.path,
                          task_state.proxied_range, (task_link,))
        elif task_state.proxied and not project.assets_for(dag.dag_id, task.task_id):
            yield Finding("proxied-without-asset", ERROR,
                          f"`{task.task_id}` is proxied but maps to no Dagster asset: the proxy operator "
                          f"will have nothing to materialize; map it first", state.path,
                          task_state.proxied_range, (task_link,))
        elif task_state.proxied and not project.runnable_in_dagster(dag.dag_id, task.task_id):
            # A spec only describes an asset; unless the same key is defined executable elsewhere
            # in the code location (not checked), airlift finds nothing to launch.
            yield Finding("proxied-without-asset", WARNING,
                          f"`{task.task_id}` is proxied but its assets are AssetSpecs, which Dagster cannot "
                          f"run: the proxy operator will fail (\"No asset nodes found to trigger\") unless "
                          f"these keys are defined as executable assets elsewhere; "
                          + (f"port it by hand (no scaffold for `{task.operator}`)"
                             if no_scaffold(project, dag.dag_id, task) else
                             f"generate its Dagster implementation (airlift-lsp scaffold {dag.dag_id} {task.task_id})"),
                          state.path, task_state.proxied_range, (task_link,))
    if state.dag_proxied and active is not False and len(dag.global_names) > 1:
        yield Finding("duplicate-task-id", ERROR,
                      f"Airflow will fail to import this file (DuplicateTaskIdFound): `{dag.dag_id}` is held by "
                      f"{len(dag.global_names)} module-level names ({', '.join(f'`{n}`' for n in dag.global_names)}), "
                      f"and proxying_to_dagster proxies it at DAG level once per name, adding "
                      f"`DAGSTER_OVERRIDE_DAG_{dag.dag_id}` twice; roll it back (airlift-lsp rollback {dag.dag_id}) "
                      f"and proxy its tasks one by one, or let one name hold it",
                      state.path, state.proxied_range or Range.point(0), (dag_link,))
    if state.dag_proxied and not project.assets_for(dag.dag_id, None):
        yield Finding("proxied-without-asset", ERROR,
                      f"`{dag.dag_id}` is proxied as a whole but no Dagster asset is mapped to the DAG "
                      f"(assets_with_dag_mappings): the proxy operator will have nothing to materialize",
                      state.path, state.proxied_range or Range.point(0), (dag_link,))
    elif state.dag_proxied and not project.runnable_in_dagster(dag.dag_id, None):
        yield Finding("proxied-without-asset", WARNING,
                      f"`{dag.dag_id}` is proxied as a whole but the assets mapped to it are AssetSpecs, which "
                      f"Dagster cannot run: the proxy operator will fail (\"No asset nodes found to trigger\") "
                      f"unless these keys are defined as executable assets elsewhere",
                      state.path, state.proxied_range or Range.point(0), (dag_link,))


def _hooks(project: Project) -> Iterator[Finding]:
    for file in project.files.values():
        hook = file.proxying
        if hook is None or (hook.is_last and not hook.creates_after):
            continue
        related = (Related(file.path, hook.trailing_range, "this statement follows it"),) \
            if hook.trailing_range else ()
        if hook.creates_after:
            message = ("DAGs or tasks are created after `proxying_to_dagster(...)`: they are never "
                       "proxied; make the call the last statement of the file")
        else:
            message = "`proxying_to_dagster(...)` should be the last statement of the DAG file"
        yield Finding("proxying-not-last", ERROR if hook.creates_after else WARNING, message,
                      file.path, hook.range, related)


def _mappings(project: Project) -> Iterator[Finding]:
    entries = {e.dag_id: e for e in project.entries}
    mapped: dict[str, set[str | None]] = {}
    unresolved: set[str | None] = set()
    for module in project.dagster_modules.values():
        unresolved.update(u.dag_id for u in module.unresolved)
        if module.error:
            yield Finding("syntax-error", ERROR, f"Dagster will fail to load this module: {module.error}",
                          module.path, module.error_range or Range.point(0))
        for mapping in module.mappings:
            mapped.setdefault(mapping.dag_id, set()).add(mapping.task_id)
            entry = entries.get(mapping.dag_id)
            if entry is None:
                if not mapping.dynamic:
                    yield Finding("mapping-unknown-task", WARNING,
                                  f"no DAG `{mapping.dag_id}` is defined in the DAG folders: "
                                  f"{_peering(module.path)} will not find it in Airflow",
                                  module.path, mapping.call_range)
                continue
            if mapping.task_id is None or entry.dag.task(mapping.task_id) is not None:
                continue
            certain = not entry.dag.dynamic
            yield Finding("mapping-unknown-task", ERROR if certain else WARNING,
                          f"DAG `{mapping.dag_id}` has no task `{mapping.task_id}`: Dagster will fail to "
                          f"build the Airflow definitions" + ("" if certain else " (if it really does not)"),
                          module.path, mapping.key_range,
                          (Related(entry.file.path, entry.dag.id_range or entry.dag.range,
                                   f"DAG `{entry.dag_id}`"),))
    for entry in project.entries:
        tasks_mapped = mapped.get(entry.dag_id)
        in_migration = tasks_mapped is not None or entry.state is not None
        if not in_migration or (tasks_mapped and None in tasks_mapped) \
                or entry.dag_id in unresolved or None in unresolved:
            continue
        for task in entry.dag.tasks:
            # A task that may not exist (or whose id is unknown) cannot be mapped: its hover says why.
            if task.certain and task.task_id not in (tasks_mapped or ()) \
                    and nothing_to_migrate_in(project, entry.dag_id, task) is None:
                yield Finding("unmapped-task", INFO,
                              f"`{task.task_id}` is not mapped to any Dagster asset yet (observe stage)",
                              entry.file.path, task.id_range or task.range)


def _no_scaffolds(project: Project) -> Iterator[Finding]:
    """What is left to port by hand, one note per task at its call: work no scaffold writes,
    with no executable definition mapped to it yet (a hand port or a scaffold ends it)."""
    runnable = runnable_tasks(project)
    for entry in project.entries:
        for task in entry.dag.tasks:
            if no_scaffold(project, entry.dag_id, task, runnable):
                yield Finding("no-scaffold", INFO,
                              no_scaffold_note(task, PORTS, project.port_bases),
                              entry.file.path, task.range)


def _duplicate_dag_ids(project: Project) -> Iterator[Finding]:
    """One DAG id in two files: Airflow imports one and refuses the other
    (``AirflowDagDuplicatedIdException``), whichever it reads second."""
    by_id: dict[str, list[DagEntry]] = {}
    for entry in project.entries:
        if not entry.dag.id_dynamic and not entry.dag.conditional:
            by_id.setdefault(entry.dag_id, []).append(entry)
    for dag_id, entries in by_id.items():
        files = {e.file.path for e in entries}
        if len(files) < 2:
            continue
        for entry in entries:
            others = [e for e in entries if e.file.path != entry.file.path]
            names = ", ".join(sorted({_shown(project, e.file.path) for e in others}))
            yield Finding("duplicate-dag-id", ERROR,
                          f"Airflow fails to import one of these files: DAG id `{dag_id}` is also defined in "
                          f"{names} (AirflowDagDuplicatedIdException); edits refuse this id until one is renamed",
                          entry.file.path, entry.dag.id_range or entry.dag.range,
                          tuple(Related(e.file.path, e.dag.id_range or e.dag.range, f"`{dag_id}` defined here")
                                for e in others))


def _shown(project: Project, path: str) -> str:
    """A path as the user finds it: relative to the workspace root (two copies of a DAG file
    often share their name)."""
    shown = os.path.relpath(path, project.layout.root)
    return (path if shown.startswith("..") else shown).replace(os.sep, "/")


def _deps_drift(project: Project) -> Iterator[Finding]:
    """A mapped spec whose deps disagree with the DAG's edges: Dagster's lineage is wrong."""
    for entry in project.entries:
        dag = entry.dag
        assets = {t.task_id: project.asset_refs(dag.dag_id, t.task_id) for t in dag.tasks}
        if not any(assets.values()):
            continue
        keys = {task_id: [a.key for a in refs] for task_id, refs in assets.items()}
        for drift in drifts(dag, assets, keys):
            module = next((m.path for m in project.dagster_modules.values() for mp in m.mappings
                           if mp.dag_id == dag.dag_id and mp.task_id == drift.task_id and drift.asset in mp.assets), None)
            if module is None:
                continue
            parts = []
            if drift.missing:
                parts.append(f"lacks deps on {', '.join(f'`{k}`' for k in drift.missing)} (mapped to its upstream tasks)")
            if drift.stale:
                parts.append(f"depends on {', '.join(f'`{k}`' for k in drift.stale)}, whose tasks are not upstream "
                             f"of `{drift.task_id}`")
            task = dag.task(drift.task_id)
            yield Finding("mapping-deps-drift", WARNING,
                          f"the asset `{drift.asset.key}` of `{drift.task_id}` {' and '.join(parts)}: Dagster's "
                          f"lineage differs from the DAG's edges; map `{drift.task_id}` again to bring it in step",
                          module, drift.asset.range,
                          (Related(entry.file.path, task.id_range or task.range, f"task `{drift.task_id}`"),)
                          if task else ())


def _peering(path: str) -> str:
    """What reads the mappings from Airflow: the component of a ``defs.yaml``, else the module's call."""
    return "the AirflowInstanceComponent" if is_component_path(path) else "build_defs_from_airflow_instance"
