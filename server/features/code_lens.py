"""Lenses over each DAG and task: the migration stage, and the command to the next one."""

from __future__ import annotations

from lsprotocol import types

from analysis.describe import Stage, blocked_in, dag_status, starved_label, starved_readers, task_status
from server.app import AirliftServer
from server.features import decommission
from server.index import Snapshot

NEXT_STAGE = {
    Stage.UNMAPPED: ("airlift.mapTask", "Map to a Dagster asset"),
    Stage.OBSERVED: ("airlift.proxyTask", "Proxy to Dagster"),
    Stage.PROXIED: ("airlift.rollbackTask", "Roll back to Airflow"),
}


def register(server: AirliftServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    def code_lens(ls: AirliftServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        snapshot = ls.index.snapshot if ls.index else None
        path = ls.path_of(params.text_document.uri)
        if snapshot is None or path is None:
            return []
        lines = ls.lines_for(snapshot, path)
        lenses: list[types.CodeLens] = []
        for entry in snapshot.entries_in(path):
            status = dag_status(snapshot.project, entry)
            where = lines.range_to_client(entry.dag.range)
            where = types.Range(where.start, where.start)
            if entry.dag.subdag_of is not None:  # not in the module's globals: airlift never sees it
                lenses.append(types.CodeLens(where, types.Command(
                    title=f"{entry.dag_id}: SubDAG of `{entry.dag.subdag_of}` · dagster-airlift proxies only "
                          f"top-level DAGs", command="")))
                continue
            arguments = [{"dag_id": entry.dag_id}]
            if status.mapped < status.total:
                command = ("airlift.mapDag", "Map unmapped tasks")
            elif status.hook != "present":
                command = ("airlift.enableProxying", "Enable proxying")
            elif status.proxied < status.total and not status.dag_level_proxied:
                command = ("airlift.proxyDag", "Proxy DAG")
            else:
                command = ("airlift.rollbackDag", "Roll back DAG")
            live = ls.lens_prefix(entry.dag_id, None)
            lenses.append(types.CodeLens(where, types.Command(
                title=f"{entry.dag_id}: " + (f"{live} · " if live else "") + status.label,
                command=command[0], arguments=arguments)))
            lenses.append(types.CodeLens(where, types.Command(
                title=command[1], command=command[0], arguments=arguments)))
            if decommission.offered(ls, entry, snapshot.project):
                lenses.append(decommission.lens(where, entry))
            for task in entry.dag.tasks:
                task_where = lines.range_to_client(task.range)
                task_where = types.Range(task_where.start, task_where.start)
                status_of_task = task_status(snapshot.project, entry, task)
                command_id = NEXT_STAGE[status_of_task.stage][0]
                label = status_of_task.label
                why_not = blocked_in(snapshot.project, entry, task, status_of_task.stage)
                if status_of_task.nothing is not None:
                    command_id = ""  # stays in Airflow: hover says why
                elif why_not and status_of_task.stage is not Stage.PROXIED:
                    label += f" · {why_not}"
                    command_id = ""
                elif task.mapped:
                    label += " · mapped task: airlift cannot proxy it"
                elif starved := starved_readers(snapshot.project, entry, task):
                    label += f" · {starved_label(starved)}"
                live = ls.lens_prefix(entry.dag_id, task.task_id)
                label = f"{live} · {label}" if live else label
                title = f"{label} · {NEXT_STAGE[status_of_task.stage][1]}" if command_id else label
                lenses.append(types.CodeLens(task_where, types.Command(
                    title=title, command=command_id or "",
                    tooltip=_scaffold_tooltip(snapshot, entry.file.path, entry.dag_id, task) if status_of_task.assets and status_of_task.nothing is None else None,
                    arguments=[{"dag_id": entry.dag_id, "task_id": task.task_id}] if command_id else None)))
        return lenses

    last_signature: list = [None]

    def refresh(snapshot: Snapshot) -> None:
        """Ask for lenses again only when a stage changed: the client already re-requests
        the lenses of a document it edits."""
        signature = _stages(snapshot)
        if signature == last_signature[0]:
            return
        last_signature[0] = signature
        server.refresh_lenses()

    server.snapshot_listeners.append(refresh)



def _stages(snapshot: Snapshot) -> tuple:
    return tuple(
        (entry.file.path, entry.dag_id, dag_status(snapshot.project, entry).label,
         tuple(task_status(snapshot.project, entry, t).label for t in entry.dag.tasks))
        for entry in snapshot.project.entries
    )


_tooltips: dict[tuple, str] = {}


def _scaffold_tooltip(snapshot: Snapshot, path: str, dag_id: str, task) -> str:
    """Whether the task's work can be generated as a Dagster asset, and if not, why."""
    from analysis.edits.scaffold import can_scaffold, project_modules

    text = snapshot.texts.get(path)
    if text is None:
        return ""
    facts = snapshot.file_facts(path)  # its dependencies: the modules a copied @task comes from
    ports, bases = snapshot.project.ports, snapshot.project.port_bases
    key = (path, hash(text), hash(facts.dependencies) if facts is not None else 0, dag_id, task.task_id,
           ports.get(task.operator), bases.get(task.operator))
    if key not in _tooltips:
        if len(_tooltips) > 4096:
            _tooltips.clear()
        reason = can_scaffold(text, task, project_modules(snapshot.project.code), ports, dag_path=path,
                              code=snapshot.project.code, dag_id=dag_id, bases=bases)
        _tooltips[key] = ("Dagster implementation: can be generated (code action "
                          f"\"Generate Dagster implementation for {task.task_id}\")" if reason is None
                          else f"Dagster implementation cannot be generated: {reason}")
    return _tooltips[key]
