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

from analysis.dagster.module import is_component_path
from analysis.edits.scaffold.families import chosen_base
from server.app import AirliftServer
from server.features.commands import resolve_task_action

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
    from analysis.plans.port_bases import plan_port_base

    return resolve_task_action(ls, action, lambda project, read, dag_id, task_id, sources: plan_port_base(
        project, read, dag_id, task_id, sources=sources))
