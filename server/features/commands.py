"""The palette commands: each migration step as ``workspace/executeCommand``.

A command plans against the current buffers (open files) and disk (closed files), then
asks the client to apply the edit; nothing is written behind the editor's back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any, Callable

from lsprotocol import types

from analysis.edits.peer_code import AIRFLOW3_PROXY_WARNING, dagster_peers_with_airflow
from analysis.files import read_disk
from analysis.plans import (
    Plan,
    Read,
    Refused,
    Sources,
    plan_enable_proxying,
    plan_map,
    plan_proxy,
    plan_rollback,
    plan_scaffold,
)
from analysis.plans.peering import plan_peer
from analysis.project import Project
from server.app import AirliftServer
from server.convert import Lines
from server.workspace_edits import workspace_edit

log = logging.getLogger("airlift-lsp")

Planner = Callable[[Project, Read, Sources, dict], Plan]

PLANNERS: dict[str, Planner] = {
    "airlift.mapTask": lambda p, read, s, a: plan_map(p, read, _need(a, "dag_id"), [_need(a, "task_id")],
                                                      _optional(a, "asset"), sources=s),
    "airlift.mapDag": lambda p, read, s, a: plan_map(p, read, _need(a, "dag_id"), sources=s),
    "airlift.proxyTask": lambda p, read, s, a: plan_proxy(p, read, _need(a, "dag_id"), [_need(a, "task_id")],
                                                          sources=s),
    "airlift.proxyDag": lambda p, read, s, a: plan_proxy(p, read, _need(a, "dag_id"), sources=s),
    "airlift.rollbackTask": lambda p, read, s, a: plan_rollback(p, read, _need(a, "dag_id"),
                                                                [_need(a, "task_id")], sources=s),
    "airlift.rollbackDag": lambda p, read, s, a: plan_rollback(p, read, _need(a, "dag_id"), sources=s),
    "airlift.rollbackAll": lambda p, read, s, a: plan_rollback(p, read, None, sources=s),
    "airlift.enableProxying": lambda p, read, s, a: plan_enable_proxying(p, read, _need(a, "dag_id"), sources=s),
    "airlift.mapDagLevel": lambda p, read, s, a: plan_map(p, read, _need(a, "dag_id"), None, _optional(a, "asset"),
                                                          sources=s, dag_level=True),
    "airlift.proxyDagLevel": lambda p, read, s, a: plan_proxy(p, read, _need(a, "dag_id"), sources=s, dag_level=True),
    "airlift.rollbackDagLevel": lambda p, read, s, a: plan_rollback(p, read, _need(a, "dag_id"), sources=s,
                                                                    dag_level=True),
    # Also a code action (docs/language-server.md): "Generate Dagster implementation for `task`".
    "airlift.scaffoldTask": lambda p, read, s, a: plan_scaffold(p, read, _need(a, "dag_id"), _need(a, "task_id"),
                                                                sources=s),
}


SettingsPlanner = Callable[[AirliftServer, Project, Read, Sources, dict], Plan]


def _plan_peer(ls: AirliftServer, project: Project, read: Read, sources: Sources, arguments: dict) -> Plan:
    """Peer with the Airflow of the settings; `auth` (basic|token|mwaa) over airflow.auth. The
    Airflow's API version is the configured one or the poller's (no handler waits on the network)."""
    airflow = ls.settings.airflow
    return plan_peer(project, read, airflow.url, _optional(arguments, "auth"), username=airflow.username,
                     configured_auth=airflow.auth, airflow_api=airflow_api(ls), sources=sources)


def airflow_api(ls: AirliftServer) -> str | None:
    """The peered Airflow's REST API, as configured or as the poller last saw it: no handler waits
    on the network."""
    configured = ls.settings.airflow.api_version
    if configured in ("v1", "v2"):
        return configured
    return ls.poller.status.api_version if ls.poller is not None else None


SETTINGS_PLANNERS: dict[str, SettingsPlanner] = {"airlift.peer": _plan_peer}


def _need(arguments: dict, key: str) -> str:
    value = arguments.get(key)
    if value is None or value == "":
        raise Refused(f"missing argument `{key}`")
    if not isinstance(value, str):
        raise Refused(f"argument `{key}` must be a string, not {type(value).__name__}")
    return value


def _optional(arguments: dict, key: str) -> str | None:
    value = arguments.get(key)
    if value is not None and not isinstance(value, str):
        raise Refused(f"argument `{key}` must be a string, not {type(value).__name__}")
    return value


def arguments_of(raw: Any) -> dict:
    """``[{"dag_id": ..., "task_id": ...}]``, or positional ``["dag", "task"]``."""
    if isinstance(raw, (list, tuple)):
        if raw and isinstance(raw[0], dict):
            return dict(raw[0])
        return dict(zip(("dag_id", "task_id"), (str(v) for v in raw)))
    return dict(raw) if isinstance(raw, dict) else {}


@dataclass(frozen=True, slots=True)
class Planned:
    plan: Plan
    versions: dict[str, int | None]
    """The buffer version of each file the plan read (None: read from the disk): its edit is
    versioned with the very text it was computed from."""


class _Reader:
    """Files as a plan reads them: the open buffer, else the disk (never the other way)."""

    def __init__(self, ls: AirliftServer) -> None:
        self._buffers = ls.buffers
        self.versions: dict[str, int | None] = {}

    def __call__(self, path: str) -> str | None:
        buffer = self._buffers.get(path)
        self.versions[path] = buffer.version if buffer is not None else None
        return buffer.text if buffer is not None else read_disk(path).text


def plan_command(ls: AirliftServer, command: str, arguments: dict) -> Planned:
    """The command's plan, from the buffers and the disk as they are now. The snapshot only
    says where things are: the plan derives every fact it uses from the texts it reads, so a
    buffer typed into since the last analysis (or a file changed on disk unannounced) is
    edited by its own positions, not the snapshot's."""
    planner = PLANNERS.get(command)
    if planner is None and command in SETTINGS_PLANNERS:
        planner = lambda *args: SETTINGS_PLANNERS[command](ls, *args)
    if planner is None:
        raise Refused(f"{command!r} is not an Airlift command that edits files")
    snapshot = ls.index.snapshot if ls.index else None
    if snapshot is None:
        raise Refused("the workspace is still being indexed; try again in a moment")
    read = _Reader(ls)
    plan = planner(snapshot.project, read, snapshot.texts, arguments)
    if command in _PROXIES and plan.changes and airflow_api(ls) == "v2" \
            and dagster_peers_with_airflow(snapshot.project):
        plan = replace(plan, notes=(*plan.notes, AIRFLOW3_PROXY_WARNING))
    if command in _PROXIES and plan.changes:  # readiness: a warning, never a block
        from server.features.dagster_runs import readiness
        reasons = readiness(ls, arguments.get("dag_id") or "", arguments.get("task_id"))
        plan = replace(plan, notes=(*plan.notes, *(f"not ready to proxy: {r}" for r in reasons)))
    return Planned(plan, read.versions)


_PROXIES = frozenset({"airlift.proxyTask", "airlift.proxyDag", "airlift.proxyDagLevel"})
"""Commands after which a task runs through Dagster: on Airflow 3, warned about."""


def edit_for(ls: AirliftServer, planned: Planned) -> types.WorkspaceEdit:
    codec = ls.workspace.position_codec
    return workspace_edit(
        planned.plan,
        uri_of=ls.uri_of,
        lines_of=lambda change: Lines(change.old_text or "", codec),
        version_of=lambda path: planned.versions.get(path),
        create_supported=types.ResourceOperationKind.Create in (
            getattr(getattr(ls.client_capabilities.workspace, "workspace_edit", None), "resource_operations",
                    None) or ()),
        document_changes=ls.supports("workspace", "workspace_edit", "document_changes"),
    )


def resolve_task_action(ls: AirliftServer, action: types.CodeAction,
                        plan: Callable[[Project, Read, str, str, Sources], Plan]) -> types.CodeAction:
    """A code action that carries its edit and no command id ("Generate acceptance test", "Run
    `TeamPod` as `KubernetesPodOperator`"): ``plan(project, read, dag_id, task_id, sources)`` made
    now, from the buffers as they are, into its edit; an invalid request (one line) when its
    arguments name no task, the document moved on since it was listed, or the plan refuses."""
    from pygls.exceptions import JsonRpcInvalidRequest

    data = action.data if isinstance(action.data, dict) else {}
    arguments = data.get("arguments") if isinstance(data.get("arguments"), dict) else {}
    dag_id, task_id = arguments.get("dag_id"), arguments.get("task_id")
    if not isinstance(dag_id, str) or not isinstance(task_id, str):
        raise JsonRpcInvalidRequest("Airlift: cannot resolve this code action: its arguments name no "
                                    "task; ask for code actions again")
    uri = data.get("uri")
    path = ls.path_of(uri) if isinstance(uri, str) else None
    current = ls.buffers[path].version if path and path in ls.buffers else None
    if data.get("version") is not None and current != data.get("version"):
        raise JsonRpcInvalidRequest("the document changed since this action was listed; "
                                    "ask for code actions again")
    snapshot = ls.index.snapshot if ls.index else None
    if snapshot is None:
        raise JsonRpcInvalidRequest("Airlift: the workspace is still being indexed; try again in a moment")
    read = _Reader(ls)
    try:
        planned = plan(snapshot.project, read, dag_id, task_id, snapshot.texts)
    except Refused as refusal:
        raise JsonRpcInvalidRequest(f"Airlift: {refusal}") from None
    action.edit = edit_for(ls, Planned(planned, read.versions))
    return action


def register(server: AirliftServer) -> None:
    for name in (*PLANNERS, *SETTINGS_PLANNERS):
        _register_edit_command(server, name)

    @server.command("airlift.refreshStatus")
    def refresh_status(ls: AirliftServer, *args: Any) -> dict:
        """Poll Airflow now (in the background: the answer does not wait for it)."""
        if ls.poller is not None and ls.poller.enabled:
            ls.poller.poll_now()
            return {"polling": True, "status": ls.poller.status.to_json()}
        return {"polling": False, "status": ls.poller.status.to_json() if ls.poller else None}


def _register_edit_command(server: AirliftServer, name: str) -> None:
    @server.command(name)
    async def run(ls: AirliftServer, *raw: Any) -> dict:
        arguments = arguments_of(list(raw))
        try:
            planned = plan_command(ls, name, arguments)
        except Refused as refusal:
            ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"Airlift: {refusal}"))
            return {"applied": False, "reason": str(refusal), "files": []}
        plan = planned.plan
        for problem in plan.incomplete:
            ls.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"Airlift: {problem}"))
        if plan.empty:
            note = "; ".join(plan.notes) or "nothing to change"
            ls.window_show_message(types.ShowMessageParams(types.MessageType.Info, f"Airlift: {plan.title}: {note}"))
            return {"applied": True, "reason": note, "files": []}
        if not ls.supports("workspace", "apply_edit"):
            reason = "this editor cannot apply workspace edits; use the airlift-lsp CLI"
            ls.window_show_message(types.ShowMessageParams(types.MessageType.Error, f"Airlift: {reason}"))
            return {"applied": False, "reason": reason, "files": []}
        result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
            edit=edit_for(ls, planned), label=plan.title))
        files = [change.path for change in plan.changes]
        if not result.applied:
            reason = result.failure_reason or "the editor refused the edit (a file changed meanwhile?)"
            ls.window_show_message(types.ShowMessageParams(types.MessageType.Error,
                                                           f"Airlift: {plan.title} not applied: {reason}"))
            return {"applied": False, "reason": reason, "files": files}
        if AIRFLOW3_PROXY_WARNING in plan.notes:
            ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning,
                                                           f"Airlift: {AIRFLOW3_PROXY_WARNING}"))
        for note in plan.notes:
            if note.startswith("not ready to proxy: "):
                ls.window_show_message(types.ShowMessageParams(types.MessageType.Warning, f"Airlift: {note}"))
        return {"applied": True, "reason": None, "files": files, "notes": list(plan.notes)}
