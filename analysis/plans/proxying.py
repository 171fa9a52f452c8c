"""Plans of the proxying steps: enable proxying, proxy, roll back."""

from __future__ import annotations

import os
from collections.abc import Sequence

from analysis.describe import no_scaffold, nothing_to_migrate_in
from analysis.edits.state_edits import (
    new_state_file,
    remove_task_entries,
    set_dag_proxied,
    set_task_proxied,
    switch_level,
)
from analysis.facts import TaskFacts
from analysis.plans.files import (
    Plan,
    PlanFiles,
    Read,
    Refused,
    Sources,
    certain_tasks,
    dag_entry,
    inside,
    no_task_known,
    select_tasks,
    state_path,
)
from analysis.plans.run_time import readable, refuse_starving_rollback, without_gates
from analysis.project import DagEntry, Project
from analysis.state.proxied_state import parse_state_file

GROUP_PROXY = ("dagster-airlift 0.29 rebuilds a proxied task inside its TaskGroup a second time (`{id}` "
               "becomes `{group}.{id}`), and Airflow's scheduler then cannot read the DAG (its serialization "
               "fails)")


def ensure_state(changes: PlanFiles, entry: DagEntry, root: str) -> str:
    """The state file's path, created when missing: every task that certainly exists and that
    airlift can proxy, ``proxied: false`` (a task it lacks at import would break the import)."""
    if entry.state is not None and entry.state.error:
        raise Refused(f"{os.path.basename(entry.state.path)} is invalid: fix it first ({entry.state.error})")
    path = state_path(entry)
    if not inside(root, path):
        raise Refused(f"refusing to write {path}: the DAG file's proxied-state folder is outside the workspace")
    if changes.text(path) is None:
        changes.write(path, new_state_file(sorted(t.task_id for t in entry.dag.tasks if t.certain and not t.mapped)))
    return path


def ensure_hook(changes: PlanFiles, entry: DagEntry, notes: list[str]) -> None:
    from analysis.edits.dag_globals import bind_dags, global_name_for
    from analysis.edits.proxying_hook import add_proxying_hook

    # The DAGs' lines are facts of the text as read: this must be the file's first edit.
    text = changes.original(entry.file.path)
    assert text is not None and changes.text(entry.file.path) == text
    if entry.dag.conditional and not any(d.global_name and not d.conditional for d in entry.file.dags):
        raise Refused(f"`{entry.dag_id}` exists only when {entry.dag.condition} holds at import, and so does "
                      f"every other DAG of {os.path.basename(entry.file.path)}: wherever it does not, "
                      f"proxying_to_dagster finds no DAG and the file fails to import")
    if entry.dag.source == "airflow":
        if entry.file.proxying is None or entry.file.proxying.enabled is False:
            raise Refused(f"`{entry.dag_id}` is known from the deployed Airflow, built by code static reading cannot "
                          f"follow: add the proxying_to_dagster hook to {os.path.basename(entry.file.path)} by hand "
                          f"(as its last statement, with the DAG in the module's globals), then proxy again")
        return  # the hook is there; only the state file and the Dagster module are edited
    if entry.dag.global_name is None and entry.dag.binding is None and entry.dag.tasks \
            and all(t.operator == "@asset" for t in entry.dag.tasks):
        raise Refused(f"`{entry.dag_id}` is made by `@asset`, which keeps its DAG out of the module's globals: "
                      f"proxying_to_dagster(global_vars=globals()) never sees it, so it cannot be proxied")
    if entry.dag.global_name is None and entry.dag.binding is None:
        raise Refused(f"proxying_to_dagster(global_vars=globals()) cannot see `{entry.dag_id}`: it is not held by a "
                      f"module-level name once the file has run (made in a loop or a function?), and no edit "
                      f"here can bind it; put it in the module's globals first (`globals()[dag.dag_id] = dag`)")
    names: set[str] = set()
    bindings = []
    for dag in entry.file.dags:
        if dag.global_name is None and dag.binding is not None:
            name = global_name_for(dag.dag_id, text, taken=names)
            names.add(name)
            bindings.append((*dag.binding, name))
    if bindings:
        # proxying_to_dagster only sees DAGs held by the module's globals.
        bound = bind_dags(text, bindings)
        if bound.text is None:
            raise Refused(bound.reason or "cannot bind the DAG to a module-level name")
        if bound.changed:
            text = bound.text
            changes.write(entry.file.path, text)
            notes.append("bound the DAG to a module-level name of its own so proxying_to_dagster sees it")
    hook = entry.file.proxying
    if hook is not None and hook.enabled is not False:
        return
    result = add_proxying_hook(text)
    if result.text is None:
        raise Refused(result.reason or "cannot add the proxying hook")
    if result.changed:
        changes.write(entry.file.path, result.text)
        notes.append("switched proxying on" if hook is not None else "added the proxying_to_dagster hook")


def bound_twice(dag_id: str, names: Sequence[str]) -> str:
    """Why DAG-level proxying breaks a DAG that several module-level names hold."""
    return (f"`{dag_id}` is held by {len(names)} module-level names ({', '.join(f'`{n}`' for n in names)}): "
            f"dagster-airlift's proxying_to_dagster proxies it once per name, and at DAG level the second pass "
            f"adds `DAGSTER_OVERRIDE_DAG_{dag_id}` again (Airflow: DuplicateTaskIdFound, the file fails to import)")


def write_confirmed(changes: PlanFiles, path: str, text: str, proxied: bool, task_ids: Sequence[str]) -> None:
    """Write the state file, read back as airlift reads it: every task must now be ``proxied``
    as the plan says, or the plan is refused (a step that claims a switch it did not write is
    worse than none)."""
    state = parse_state_file(path, text)
    word = "true" if proxied else "false"
    if state.error:
        raise Refused(f"could not write `proxied: {word}` into {os.path.basename(path)}: "
                      f"the result would not load ({state.error}); edit it by hand")
    missed = [t for t in task_ids if (s := state.task(t)) is None or s.proxied != proxied]
    if missed:
        raise Refused(f"could not write `proxied: {word}` for {', '.join(f'`{t}`' for t in missed)} into "
                      f"{os.path.basename(path)} (an alias, a merge key or an entry without `proxied` "
                      f"that the tool does not rewrite); edit it by hand")
    changes.write(path, text)


def plan_enable_proxying(project: Project, read: Read, dag_id: str, *, sources: Sources | None = None) -> Plan:
    changes, notes = PlanFiles(project, read, sources), []
    entry = dag_entry(changes, dag_id)
    ensure_hook(changes, entry, notes)
    ensure_state(changes, entry, project.layout.root)
    return Plan(f"Enable proxying for {dag_id}", changes.result(), tuple(notes))


def proxyable(tasks: list[TaskFacts], explicit: bool, notes: list[str]) -> list[TaskFacts]:
    """The tasks airlift can proxy one by one: certain, not mapped, not in a prefixing TaskGroup."""
    tasks = certain_tasks(tasks, "proxy", explicit, notes)
    for task in tasks:
        if explicit and task.mapped:
            raise Refused(f"`{task.task_id}` is a mapped task (.expand): dagster-airlift cannot proxy mapped "
                          f"tasks, and listing one in the state file breaks the DAG's import")
        if explicit and task.group_prefixed:
            label = task.task_id.rsplit(".", 1)[-1]
            raise Refused(f"`{task.task_id}` is inside TaskGroup `{task.group_id}`: "
                          + GROUP_PROXY.format(id=task.task_id, group=task.group_id, label=label)
                          + "; proxy the whole DAG at DAG level instead (`airlift-lsp proxy DAG_ID --dag-level`)")
    mapped = [t.task_id for t in tasks if t.mapped]
    grouped = [t.task_id for t in tasks if t.group_prefixed and not t.mapped]
    if mapped:
        notes.append(f"left out mapped tasks airlift cannot proxy: {', '.join(mapped)}")
    if grouped:
        notes.append(f"left out tasks inside TaskGroups, which airlift cannot proxy one by one (it breaks the "
                     f"DAG's serialization): {', '.join(grouped)}; proxy the DAG at DAG level instead")
    return without_gates([t for t in tasks if not t.mapped and not t.group_prefixed], explicit, notes)


def with_work(project: Project, dag_id: str, tasks: list[TaskFacts], explicit: bool,
              notes: list[str]) -> list[TaskFacts]:
    """The tasks that do work. One with nothing to migrate (``EmptyOperator``...) stays in Airflow,
    ``proxied: false``, as it is: proxied, airlift's operator would fail its runs ("No asset nodes
    found to trigger"), as no executable Dagster asset is mapped to it. Named explicitly, it is
    refused; else left out with a note."""
    idle = [(t, why) for t in tasks if (why := nothing_to_migrate_in(project, dag_id, t))]
    if explicit and idle:
        task, why = idle[0]
        raise Refused(f"`{task.task_id}` has nothing to migrate ({why.replace(': ', ', ')}): proxied, "
                      f"dagster-airlift's operator would fail every run of it (\"No asset nodes found to trigger "
                      f"for task {dag_id}.{task.task_id}\": no executable Dagster asset is mapped to it); it stays "
                      f"in Airflow (`proxied: false`)")
    if idle:
        notes.append("left in Airflow (`proxied: false`), with nothing to migrate: "
                     + ", ".join(f"`{t.task_id}` ({t.operator})" for t, _ in idle))
    return [t for t in tasks if not any(t is i for i, _ in idle)]


def plan_proxy(project: Project, read: Read, dag_id: str, task_ids: Sequence[str] | None = None, *,
               sources: Sources | None = None, dag_level: bool = False) -> Plan:
    if dag_level:
        if task_ids:
            raise Refused("--dag-level proxies the whole DAG: give no TASK_ID")
        return plan_proxy_dag_level(project, read, dag_id, sources=sources)
    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    if entry.state is not None and entry.state.dag_proxied is not None and not task_ids:
        return plan_proxy_dag_level(project, read, dag_id, sources=sources)  # the file's level decides
    notes: list[str] = []
    tasks = proxyable(select_tasks(entry, task_ids), bool(task_ids), notes)
    tasks = with_work(project, dag_id, tasks, bool(task_ids), notes)
    tasks = readable(entry, tasks, bool(task_ids), notes)
    if not tasks and notes and not task_ids and entry.dag.tasks and all(
            nothing_to_migrate_in(project, dag_id, t) for t in entry.dag.tasks):
        return Plan(f"Proxy {dag_id} to Dagster", (), tuple(notes))
    if entry.state is not None and entry.state.dag_proxied and task_ids:
        raise Refused(f"{os.path.basename(entry.state.path)} proxies the whole DAG (top-level `proxied: true`); "
                      f"roll the DAG back first (airlift-lsp rollback {dag_id} --dag-level)")
    dagster = changes.dagster()
    unmapped = [t.task_id for t in tasks if not dagster.assets_for(dag_id, t.task_id)]
    if unmapped:
        raise Refused(f"map {', '.join(f'`{t}`' for t in unmapped)} to a Dagster asset first: a proxied "
                      f"task with no asset has nothing to materialize in Dagster")
    if not entry.dag.tasks and not task_ids:
        raise no_task_known(entry)
    if not tasks and (entry.state is None or entry.state.dag_proxied is None):
        raise Refused(f"no task of `{dag_id}` can be proxied one by one" + "".join(f"; {n}" for n in notes)
                      + f"; proxy the DAG as a whole instead (airlift-lsp proxy {dag_id} --dag-level)")
    spec_only = [t for t in tasks if not project.runnable_in_dagster(dag_id, t.task_id)]
    if spec_only:
        one = len(spec_only) == 1
        by_hand = [t for t in spec_only if no_scaffold(project, dag_id, t)]
        fixes = [f"run `airlift-lsp scaffold {dag_id} {t.task_id}`" for t in spec_only if t not in by_hand]
        fixes += [f"port `{t.task_id}` by hand (no scaffold for `{t.operator}`)" for t in by_hand]
        notes.append(f"{', '.join(f'`{t.task_id}`' for t in spec_only)}: {'its' if one else 'their'} assets are "
                     f"AssetSpecs only, which Dagster cannot run, so {'it fails' if one else 'they fail'} once "
                     f"proxied (\"No asset nodes found to trigger\") until {'its' if one else 'their'} "
                     f"implementation exists: " + "; ".join(fixes))
    ensure_hook(changes, entry, notes)
    path = ensure_state(changes, entry, project.layout.root)
    text = changes.text(path) or ""
    if entry.state is not None and entry.state.dag_proxied is not None and not task_ids:
        changes.write(path, set_dag_proxied(text, True))
    else:
        if entry.state is not None and entry.state.dag_proxied is False:
            # Back from DAG level to task level: airlift reads one level per file.
            text = switch_level(text, dag_proxied=None, task_ids=[
                t.task_id for t in entry.dag.tasks if t.certain and not t.mapped])
            notes.append(f"switched {os.path.basename(path)} from DAG level to task level")
        ids = [t.task_id for t in tasks]
        write_confirmed(changes, path, set_task_proxied(text, ids, True), True, ids)
    what = tasks[0].task_id if task_ids and len(tasks) == 1 else f"{len(tasks)} tasks of {dag_id}"
    return Plan(f"Proxy {what} to Dagster", changes.result(), tuple(notes))


def plan_proxy_dag_level(project: Project, read: Read, dag_id: str, *, sources: Sources | None = None) -> Plan:
    """Hand the whole DAG to Dagster (dagster-airlift's DAG-level proxying): airlift replaces
    every task by one operator that runs the assets mapped to the DAG. The way to migrate DAGs
    whose tasks cannot be proxied one by one (TaskGroups, mapped or dynamic tasks)."""
    changes, notes = PlanFiles(project, read, sources), []
    entry = dag_entry(changes, dag_id)
    if not changes.dagster().assets_for(dag_id, None):
        raise Refused(f"map `{dag_id}` as a whole to a Dagster asset first (airlift-lsp map {dag_id} --dag-level): "
                      f"a DAG proxied at DAG level runs the assets mapped to the DAG, and it has none")
    if len(entry.dag.global_names) > 1:
        raise Refused(bound_twice(entry.dag.dag_id, entry.dag.global_names)
                      + "; proxy its tasks one by one, or let one name hold it (e.g. `del` the other)")
    state = entry.state
    if state is not None and state.error:
        raise Refused(f"{os.path.basename(state.path)} is invalid: fix it first ({state.error})")
    proxied_tasks = [t.task_id for t in state.tasks if t.proxied] if state is not None else []
    if proxied_tasks:
        raise Refused(f"{', '.join(f'`{t}`' for t in proxied_tasks)} of `{dag_id}` "
                      f"{'is' if len(proxied_tasks) == 1 else 'are'} proxied one by one: roll "
                      f"{'it' if len(proxied_tasks) == 1 else 'them'} back first (airlift-lsp rollback {dag_id}), "
                      f"then proxy the DAG at DAG level")
    ensure_hook(changes, entry, notes)
    path = state_path(entry)
    if not inside(project.layout.root, path):
        raise Refused(f"refusing to write {path}: the DAG file's proxied-state folder is outside the workspace")
    text = changes.text(path)
    if text is None or state is None or state.dag_proxied is None:
        if state is not None:
            notes.append(f"switched {os.path.basename(path)} from task level to DAG level")
        changes.write(path, switch_level(text, dag_proxied=True))
    else:
        changes.write(path, set_dag_proxied(text, True))
    return Plan(f"Proxy {dag_id} to Dagster at DAG level", changes.result(), tuple(notes))


def stale_entries(entry: DagEntry) -> dict[str, str]:
    """Entries of a task-level state file that break the DAG's import whatever their flag (airlift
    checks every listed task against the DAG), with the reason: a task the DAG certainly lacks, one
    that exists only under a runtime condition, a placeholder for a dynamic id, a mapped task."""
    state, dag = entry.state, entry.dag
    stale: dict[str, str] = {}
    if state is None or state.error or state.dag_proxied is not None:
        return stale
    for listed in state.tasks:
        task = dag.task(listed.task_id)
        if task is None:
            if not dag.dynamic:
                stale[listed.task_id] = f"`{dag.dag_id}` has no task `{listed.task_id}`"
        elif task.dynamic:
            stale[listed.task_id] = f"`{task.task_id}` is a placeholder for ids only known when Airflow runs the file"
        elif task.conditional:
            stale[listed.task_id] = f"`{task.task_id}` exists only when {task.condition} holds"
        elif task.mapped:
            stale[listed.task_id] = f"`{task.task_id}` is a mapped task, which airlift refuses even unproxied"
    return stale


def roll_back_entry(changes: PlanFiles, entry: DagEntry, tasks: list[TaskFacts] | None, notes: list[str]) -> None:
    """Hand the tasks (None: every task) back to Airflow, and drop the entries that would break
    the DAG's import even unproxied: a rollback leaves a DAG that imports."""
    state = entry.state
    assert state is not None and not state.error
    text = changes.text(state.path) or ""
    if state.dag_proxied is not None:
        changes.write(state.path, set_dag_proxied(text, False))
        return
    ids = [t.task_id for t in tasks if state.task(t.task_id) is not None] if tasks is not None \
        else [t.task_id for t in state.tasks]
    text = set_task_proxied(text, ids, False)
    stale = stale_entries(entry)
    if stale:
        repaired = remove_task_entries(text, stale)
        name = os.path.basename(state.path)
        if repaired is None:
            notes.append(f"{name} still lists {', '.join(f'`{t}`' for t in stale)}, which breaks the DAG's import "
                         f"({'; '.join(stale.values())}): remove those entries by hand")
        else:
            text = repaired
            notes.append(f"removed from {name} what breaks the DAG's import: {'; '.join(stale.values())}")
    after = parse_state_file(state.path, text)
    write_confirmed(changes, state.path, text, False, [t for t in dict.fromkeys(ids) if after.task(t) is not None])


def plan_rollback(project: Project, read: Read, dag_id: str | None,
                  task_ids: Sequence[str] | None = None, *, sources: Sources | None = None,
                  dag_level: bool = False) -> Plan:
    """Roll tasks back to Airflow: some tasks, a DAG, or (``dag_id=None``) everything.
    ``dag_level``: only a DAG proxied at DAG level, which stays at DAG level (``proxied: false``)."""
    changes = PlanFiles(project, read, sources)
    if dag_level and (dag_id is None or task_ids):
        raise Refused("--dag-level rolls back one whole DAG: give its DAG_ID and no TASK_ID")
    notes: list[str] = []
    if dag_id is None:
        linked = {e.state.path: e for e in project.entries if e.state is not None}
        invalid, unwritten = [], []
        for path in project.states:
            state, text = changes.state(path), changes.text(path)
            if state is not None and state.error:
                # Before the text: a file that cannot be read as text (binary, not UTF-8) is
                # no less broken for airlift, and must not pass for "nothing to change".
                invalid.append((os.path.basename(path), state.error))
                continue
            if state is None or text is None:
                continue
            known = linked.get(path)
            file = changes.dag_file(known.file.path) if known is not None else None
            dag = file.dag(known.dag_id) if file is not None and known is not None and not file.error else None
            try:
                if dag is not None and file is not None and known is not None:
                    roll_back_entry(changes, DagEntry(dag, file, known.state_dir, state), None, notes)
                elif state.dag_proxied is not None:
                    changes.write(path, set_dag_proxied(text, False))
                else:
                    ids = [t.task_id for t in state.tasks]
                    write_confirmed(changes, path, set_task_proxied(text, ids, False), False, ids)
            except Refused as refusal:
                unwritten.append(str(refusal))
        # A rollback is what one reaches for in trouble: everything that can be rolled back is,
        # and what cannot is said (the CLI exits 1).
        incomplete = tuple(f"cannot roll back {name}: {why.rstrip('.')} (run `airlift-lsp check`); fix it by hand"
                           for name, why in invalid) + tuple(unwritten)
        return Plan("Roll back every DAG to Airflow", changes.result(), tuple(notes), incomplete)
    entry = dag_entry(changes, dag_id)
    tasks = select_tasks(entry, task_ids)
    if entry.state is None:
        return Plan(f"Roll back {dag_id}", (), ("nothing to roll back: no proxied-state file",))
    if entry.state.error:
        raise Refused(f"{os.path.basename(entry.state.path)} is invalid: fix it first ({entry.state.error})")
    if entry.state.dag_proxied is not None and task_ids:
        raise Refused(f"{os.path.basename(entry.state.path)} proxies the whole DAG; roll back the DAG")
    if dag_level and entry.state.dag_proxied is None:
        raise Refused(f"{os.path.basename(entry.state.path)} proxies `{dag_id}` task by task, not at DAG level: "
                      f"roll it back without --dag-level")
    if task_ids:
        refuse_starving_rollback(entry, tasks)
    roll_back_entry(changes, entry, tasks if task_ids else None, notes)
    what = tasks[0].task_id if task_ids and len(tasks) == 1 else dag_id
    return Plan(f"Roll back {what} to Airflow", changes.result(), tuple(notes))
