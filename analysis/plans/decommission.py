"""Plan of the last migration step: decommission a DAG whose every task runs in Dagster.

dagster-airlift's migration guide ends with it: the DAG leaves Airflow (its file removed, or
kept paused), its mappings leave the Dagster module while the assets they listed stay as plain
assets, run by a Dagster job on the DAG's schedule with its retries, and its proxied-state file
goes. Offered only when nothing of the DAG still runs in Airflow and, when Airflow is peered,
its last run succeeded. There is no one-line rollback (the mapping, the state file and maybe
the DAG file are gone): version control is the way back, which the editor says before it asks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from analysis.dags.schedule import DagTiming, own_retries, read_timing
from analysis.dagster.lineage import key_parts
from analysis.dagster.module import AssetRef, DagsterModule, is_component_path
from analysis.describe import nothing_to_migrate_in
from analysis.facts import TaskFacts
from analysis.plans.files import Plan, PlanFiles, Read, Refused, Sources, dag_entry, inside
from analysis.project import DagEntry, Project

NO_ROLLBACK = ("this step has no one-line rollback: the mappings, the proxied-state file and the DAG "
               "file are gone (version control brings them back)")


@dataclass(frozen=True, slots=True)
class LastRun:
    """The DAG's newest finished run, as the peered Airflow reports it."""

    run_id: str
    state: str | None
    unsuccessful: tuple[str, ...] = ()
    """``task (state)`` for each task instance of that run that did not succeed (nor skip)."""


@dataclass(frozen=True, slots=True)
class Runs:
    """What the peered, reachable Airflow says of the DAG (the plan's ``runs``: None when Airflow
    is not peered or not reached, and then the runs are not checked)."""

    last: LastRun | None


def still_in_airflow(project: Project, entry: DagEntry) -> str | None:
    """Why the DAG cannot be decommissioned yet (what still runs in Airflow), or None."""
    dag_id, state, hook = entry.dag_id, entry.state, entry.file.proxying
    if state is None:
        return f"`{dag_id}` has no proxied-state file: every task still runs in Airflow (proxy them first)"
    if state.error:
        return f"{os.path.basename(state.path)} is invalid ({state.error}): fix it first"
    if hook is None or hook.enabled is False:
        switch = "is switched off" if hook is not None else "is missing"
        return (f"the proxying_to_dagster hook of {os.path.basename(entry.file.path)} {switch}: every task of "
                f"`{dag_id}` still runs in Airflow (airlift-lsp enable-proxying {dag_id})")
    if state.dag_proxied is not None:
        return None if state.dag_proxied else (
            f"`{dag_id}` is proxied at DAG level with `proxied: false`: it still runs in Airflow "
            f"(airlift-lsp proxy {dag_id} --dag-level)")
    in_airflow = [t for t in entry.dag.tasks if t.certain and not t.mapped and not t.group_prefixed
                  and not project.is_proxied(entry, t) and not nothing_to_migrate_in(project, dag_id, t)]
    unproxiable = [t for t in entry.dag.tasks if not t.certain or t.mapped or t.group_prefixed]
    if in_airflow:
        return (f"{_listing(in_airflow)} of `{dag_id}` still {'runs' if len(in_airflow) == 1 else 'run'} in "
                f"Airflow (not `proxied: true`): proxy {'it' if len(in_airflow) == 1 else 'them'} first "
                f"(airlift-lsp proxy {dag_id})")
    if unproxiable:
        return (f"{_listing(unproxiable)} of `{dag_id}` cannot be proxied one by one (dynamic, conditional, "
                f"mapped or in a TaskGroup) and so still {'runs' if len(unproxiable) == 1 else 'run'} in Airflow: "
                f"proxy the DAG at DAG level first")
    if not entry.dag.tasks:
        return f"no task of `{dag_id}` is known statically: nothing shows that it runs in Dagster"
    return None


def unsuccessful_run(dag_id: str, runs: Runs | None) -> str | None:
    """Why the peered Airflow's runs say not yet, or None (also when Airflow was not asked)."""
    if runs is None:
        return None
    last = runs.last
    if last is None:
        return (f"the peered Airflow has no finished run of `{dag_id}`: run it once with its tasks in Dagster "
                f"(trigger it in Airflow), then decommission it")
    if last.state != "success":
        return f"the last run of `{dag_id}` ({last.run_id}) ended {last.state or 'with no state'}: fix that first"
    if last.unsuccessful:
        return (f"in the last run of `{dag_id}` ({last.run_id}), {', '.join(last.unsuccessful)} did not succeed: "
                f"fix that first")
    return None


def blocker(project: Project, entry: DagEntry, runs: Runs | None) -> str | None:
    """Why the step is not offered for this DAG (from cached facts, for lenses and actions; the
    DAG's schedule is read only when the step runs)."""
    why_not = still_in_airflow(project, entry) or unsuccessful_run(entry.dag_id, runs)
    if why_not is None:
        try:
            mapped_assets(project, entry)
        except Refused as refusal:
            return str(refusal)
    return why_not


def plan_decommission(project: Project, read: Read, dag_id: str, *, sources: Sources | None = None,
                      pause: bool = False, runs: Runs | None = None, unchecked: str | None = None) -> Plan:
    """``runs``: what the peered Airflow says of the DAG, None when it was not asked (``unchecked``
    says why, in the note)."""
    from analysis.edits.decommission import NewJob, decommission_dag
    from analysis.edits.pause_dag import pause_dag

    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    why_not = still_in_airflow(project, entry) or unsuccessful_run(dag_id, runs)
    if why_not:
        raise Refused(why_not)
    notes: list[str] = []
    if runs is None:
        notes.append(f"{unchecked or 'Airflow is not peered or not reached'}: the DAG's last runs were not checked")
    module, keys = mapped_assets(changes.dagster(), entry)
    dag_text = changes.original(entry.file.path) or ""
    timing = read_timing(dag_text, entry.dag)
    if timing.refused:
        raise Refused(timing.refused)
    notes.extend(timing.notes)
    retrying = own_retries(dag_text, entry.dag)
    if retrying:
        sets = "sets its" if len(retrying) == 1 else "set their"
        notes.append(f"{', '.join(f'`{t}`' for t in retrying)} {sets} own retries in Airflow: the job's "
                     f"RetryPolicy (from default_args) applies to every asset; give those assets their own "
                     f"retry_policy by hand")
    module_text = changes.original(module.path)
    if module_text is None:
        raise Refused(f"cannot read {module.path}: it is gone from the disk")
    job = NewJob(dag_id, tuple(key_parts(k) for k in keys), timing.cron, timing.retries, timing.retry_delay,
                 comment=_comment(dag_id, timing), timezone=timing.timezone)
    result = decommission_dag(module_text, job)
    if result.text is None:
        raise Refused(result.reason or f"cannot edit {module.path}")
    changes.write(module.path, result.text)
    if entry.state is not None:
        if not inside(project.layout.root, entry.state.path):
            raise Refused(f"refusing to remove {entry.state.path}: it is outside the workspace")
        changes.remove(entry.state.path)
    _leave_airflow(changes, entry, pause, notes, pause_dag)
    how = "paused in" if pause else "removed from"
    return Plan(f"Decommission {dag_id}: its assets run on a Dagster schedule, the DAG is {how} Airflow",
                changes.result(), tuple(notes))


def mapped_assets(dagster: Project, entry: DagEntry) -> tuple[DagsterModule, list[str]]:
    """The one Dagster module mapping the DAG, and the keys of the assets the job runs; refused
    when the mapping cannot be read, or when Dagster could not run an asset (an ``AssetSpec``)."""
    dag_id = entry.dag_id
    modules = [m for m in dagster.dagster_modules.values() if any(mp.dag_id == dag_id for mp in m.mappings)]
    unresolved = [u for m in dagster.dagster_modules.values() for u in m.unresolved if u.dag_id == dag_id]
    if unresolved:
        raise Refused(f"a mapping of `{dag_id}` cannot be read statically ({unresolved[0].reason}): "
                      f"decommission it by hand")
    if not modules:
        raise Refused(f"no Dagster module maps `{dag_id}`: nothing would run its assets once it leaves Airflow")
    if len(modules) > 1:
        raise Refused(f"`{dag_id}` is mapped in {len(modules)} Dagster modules: decommission it by hand")
    if is_component_path(modules[0].path):
        raise Refused(f"`{dag_id}` is mapped in the component {os.path.basename(modules[0].path)}: decommission "
                      "writes Python (a job and its schedule), so decommission it by hand")
    # A task with nothing to migrate (EmptyOperator...) has nothing for the job to run: its specs stay
    # described assets, out of the job.
    idle = {t.task_id for t in entry.dag.tasks if nothing_to_migrate_in(dagster, dag_id, t)}
    refs: list[AssetRef] = []
    for mapping in modules[0].mappings:
        if mapping.dag_id == dag_id:
            if mapping.dynamic:
                raise Refused(f"some assets mapped to `{dag_id}` cannot be read statically: decommission it by hand")
            if mapping.task_id not in idle:
                refs.extend(mapping.assets)
    if not refs:
        raise Refused(f"no asset of a task that does work is mapped to `{dag_id}`: no Dagster job would run anything")
    specs_only = sorted({r.key for r in refs if not r.executable})
    if specs_only:
        raise Refused(f"{', '.join(f'`{k}`' for k in specs_only)} of `{dag_id}` "
                      f"{'is' if len(specs_only) == 1 else 'are'} only described (AssetSpec), not implemented "
                      f"in Dagster: a Dagster job cannot run {'it' if len(specs_only) == 1 else 'them'}; generate "
                      f"the implementation first (airlift-lsp scaffold {dag_id} TASK_ID)")
    return modules[0], list(dict.fromkeys(r.key for r in refs))


def _comment(dag_id: str, timing: DagTiming) -> str:
    schedule = f"schedule {timing.written}" if timing.cron else "no recurring schedule"
    retries = f", {timing.retries} retries" if timing.retries else ""
    return f"Was Airflow DAG `{dag_id}` (decommissioned): {schedule}{retries}."


def _leave_airflow(changes: PlanFiles, entry: DagEntry, pause: bool, notes: list[str], pause_dag) -> None:
    """Remove the DAG file, or pause the DAG in it."""
    path, dag_id = entry.file.path, entry.dag_id
    name = os.path.basename(path)
    if pause:
        text = changes.original(path) or ""
        start = entry.dag.range.start
        result = pause_dag(text, start.line, start.character,
                           f"Decommissioned: `{dag_id}` runs in Dagster now (a job of the Dagster module). It "
                           f"stays here paused:\nunpausing it would run its tasks in Airflow again, beside "
                           f"Dagster's schedule.")
        if result.text is None:
            raise Refused(result.reason or f"cannot pause `{dag_id}` in {name}")
        changes.write(path, result.text)
        notes.append(f"is_paused_upon_creation only pauses a DAG that Airflow has not seen yet: pause `{dag_id}` "
                     f"in Airflow too (UI, or `airflow dags pause {dag_id}`)")
        return
    others = sorted(d.dag_id for d in entry.file.dags if d.dag_id != dag_id)
    if others:
        raise Refused(f"{name} also defines {', '.join(f'`{o}`' for o in others)}: it cannot be removed; "
                      f"pause `{dag_id}` instead (--pause)")
    if entry.dag.source == "airflow":
        raise Refused(f"`{dag_id}` is built by code in {name} that static reading cannot follow: it may build "
                      f"other DAGs; pause it instead (--pause), or remove it from Airflow by hand")
    if not inside(changes.project.layout.root, path):
        raise Refused(f"refusing to remove {path}: it is outside the workspace")
    changes.remove(path)


def _listing(tasks: list[TaskFacts]) -> str:
    shown = ", ".join(f"`{t.task_id}`" for t in tasks[:8])
    return shown + (f" and {len(tasks) - 8} more" if len(tasks) > 8 else "")
