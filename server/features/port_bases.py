"""The code action "Run `TeamPod` as `KubernetesPodOperator` in Dagster": the team's choice to run
a project operator class as the Airflow class it derives from, written into the Dagster module's
``AIRFLOW_OPERATOR_PORTS`` (``analysis.plans.port_bases``); its tasks then scaffold as that class.

No command id: the action carries its edit, computed in ``codeAction/resolve`` from the buffers
as they are then, or while listing for a client that cannot resolve edits. Offered on a task of a
class that changes its base (so it has no scaffold of its own), when no port names the class yet.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidRequest

from analysis.dagster.module import is_component_path
from analysis.plans import Refused
from analysis.edits.scaffold.families import chosen_base
from server.app import AirliftServer
from server.features.commands import Planned, _Reader, edit_for

ACTION = "airlift.portBase"
"""Marks the action's ``data``; not a command (nothing registers it)."""


def offered(snapshot, entry, task) -> str | None:
    """The base to offer running the task's class as, from cached facts; None when not offered."""
    project = snapshot.project
    module = project.primary_dagster_module
    if task is None or module is None or is_component_path(module.path):
        return None
    if task.operator in project.ports or task.operator in project.port_bases:
        return None
    return chosen_base(task)


def action(entry, task, base: str, uri: str, version: int | None) -> types.CodeAction:
    return types.CodeAction(
        title=f"Run `{task.operator}` as `{base}` in Dagster (its own code stays in Airflow)",
        kind=types.CodeActionKind.RefactorRewrite,
        data={"action": ACTION, "arguments": {"dag_id": entry.dag_id, "task_id": task.task_id},
              "uri": uri, "version": version})


def is_ours(data: Any) -> bool:
    return isinstance(data, dict) and data.get("action") == ACTION


def resolved(ls: AirliftServer, action: types.CodeAction) -> types.CodeAction:
    """The action with its edit; an invalid request (one line) when the document moved on or the
    choice cannot be written."""
    data = action.data
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
    from analysis.plans.port_bases import plan_port_base

    read = _Reader(ls)
    try:
        plan = plan_port_base(snapshot.project, read, dag_id, task_id, sources=snapshot.texts)
    except Refused as refusal:
        raise JsonRpcInvalidRequest(f"Airlift: {refusal}") from None
    action.edit = edit_for(ls, Planned(plan, read.versions))
    return action
