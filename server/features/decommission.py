"""Decommission in the editor: ``airlift.decommissionDag``, offered (lens, code action) only
when nothing of the DAG still runs in Airflow and its last run succeeded.

Unlike the other steps, the command asks before it edits: the edit removes files (the DAG's
state file, its DAG file unless ``{"pause": true}``) and has no one-line rollback. The plan is
made against the buffers, the question shows what it does, and the edit is versioned with the
texts it was made from, so a buffer typed into while the question was open is not overwritten.
"""

from __future__ import annotations

import os
from typing import Any

from lsprotocol import types

from analysis.plans import Refused, Runs, plan_decommission
from analysis.plans.decommission import NO_ROLLBACK, blocker
from analysis.project import DagEntry
from server.app import AirliftServer
from server.features.commands import Planned, _need, _Reader, arguments_of, edit_for

COMMAND = "airlift.decommissionDag"
CONFIRM = "Decommission"
CANCEL = "Cancel"


def peered_runs(ls: AirliftServer, dag_id: str) -> tuple[Runs | None, str | None]:
    """What the poller last saw of the DAG's runs, and why it says nothing (not peered, unreachable)."""
    from server.peering.last_runs import runs_for

    poller = ls.poller
    if poller is None or not poller.enabled:
        return None, "Airflow is not peered (no airflow.url)"
    status = poller.status
    runs = runs_for(poller.history, status, dag_id)
    return runs, None if runs is not None else (status.error or f"Airflow is {status.state}")


def offered(ls: AirliftServer, entry: DagEntry, project) -> bool:
    """From cached facts and the last poll: no file is read, nothing waits."""
    return blocker(project, entry, peered_runs(ls, entry.dag_id)[0]) is None


def action(entry: DagEntry, uri: str, version: int | None) -> types.CodeAction:
    """The code action; resolving it gives the command (which asks first), never an edit."""
    return types.CodeAction(title=f"Decommission `{entry.dag_id}` (every task runs in Dagster)",
                            kind=types.CodeActionKind.RefactorRewrite,
                            data={"command": COMMAND, "arguments": {"dag_id": entry.dag_id}, "uri": uri,
                                  "version": version})


def resolved(action: types.CodeAction) -> types.CodeAction:
    arguments = action.data.get("arguments") if isinstance(action.data, dict) else None
    if not isinstance(arguments, dict) or not isinstance(arguments.get("dag_id"), str):
        arguments = {}
    action.command = types.Command(title=action.title, command=COMMAND, arguments=[arguments])
    return action


def lens(where: types.Range, entry: DagEntry) -> types.CodeLens:
    return types.CodeLens(where, types.Command(title="Decommission (leave Airflow)", command=COMMAND,
                                               arguments=[{"dag_id": entry.dag_id}]))


def can_remove_files(ls: AirliftServer) -> bool:
    operations = getattr(getattr(ls.client_capabilities.workspace, "workspace_edit", None),
                         "resource_operations", None) or ()
    return (ls.supports("workspace", "workspace_edit", "document_changes")
            and types.ResourceOperationKind.Delete in operations)


def question(dag_id: str, plan, root: str) -> str:
    files = ", ".join(("remove " if c.removed else "edit ") + os.path.relpath(c.path, root) for c in plan.changes)
    notes = "".join(f" Note: {note}." for note in plan.notes)
    return f"Decommission `{dag_id}`? It will {files}.{notes} Beware: {NO_ROLLBACK}."


def register(server: AirliftServer) -> None:
    @server.command(COMMAND)
    async def decommission(ls: AirliftServer, *raw: Any) -> dict:
        arguments = arguments_of(list(raw))

        def refuse(reason: str, kind=types.MessageType.Warning) -> dict:
            ls.window_show_message(types.ShowMessageParams(kind, f"Airlift: {reason}"))
            return {"applied": False, "reason": reason, "files": []}

        snapshot = ls.index.snapshot if ls.index else None
        if snapshot is None:
            return refuse("the workspace is still being indexed; try again in a moment")
        read = _Reader(ls)
        try:
            dag_id = _need(arguments, "dag_id")
            runs, unchecked = peered_runs(ls, dag_id)
            plan = plan_decommission(snapshot.project, read, dag_id, sources=snapshot.texts,
                                     pause=arguments.get("pause") is True, runs=runs, unchecked=unchecked)
        except Refused as refusal:
            return refuse(str(refusal))
        if any(change.removed for change in plan.changes) and not can_remove_files(ls):
            return refuse("this editor cannot remove files through the language server; run "
                          "`airlift-lsp decommission` in a terminal", types.MessageType.Error)
        if not ls.supports("workspace", "apply_edit"):
            return refuse("this editor cannot apply workspace edits; use the airlift-lsp CLI", types.MessageType.Error)
        root = snapshot.project.layout.root
        answer = await ls.window_show_message_request_async(types.ShowMessageRequestParams(
            type=types.MessageType.Warning, message=question(dag_id, plan, root),
            actions=[types.MessageActionItem(CONFIRM), types.MessageActionItem(CANCEL)]))
        if answer is None or answer.title != CONFIRM:
            return {"applied": False, "reason": "cancelled", "files": []}
        result = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(
            edit=edit_for(ls, Planned(plan, read.versions)), label=plan.title))
        files = [change.path for change in plan.changes]
        if not result.applied:
            reason = result.failure_reason or "the editor refused the edit (a file changed meanwhile?)"
            return {**refuse(f"{plan.title} not applied: {reason}", types.MessageType.Error), "files": files}
        for note in plan.notes:
            ls.window_show_message(types.ShowMessageParams(types.MessageType.Info, f"Airlift: {note}"))
        return {"applied": True, "reason": None, "files": files, "notes": list(plan.notes)}
