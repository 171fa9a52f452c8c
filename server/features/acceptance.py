"""The code action "Generate acceptance test for `task`": a pytest module that compares what the
task's Dagster asset writes with what its Airflow task writes (``analysis.plans.acceptance``).

No command id: the action carries its edit (a ``CreateFile`` and the text), computed in
``codeAction/resolve`` from the buffers as they are then, or while listing for a client that
cannot resolve edits. Offered on a task whose mapping holds an executable definition (a
scaffolded or hand-written asset) and whose test file does not exist yet.
"""

from __future__ import annotations

import os
from typing import Any

from lsprotocol import types

from analysis.dagster.module import is_component_path
from server.app import AirliftServer
from server.features.commands import resolve_task_action

ACTION = "airlift.acceptanceTest"
"""Marks the action's ``data``; not a command (nothing registers it)."""


def offered(snapshot, entry, task) -> bool:
    """From cached facts, and one look at the disk for the test file."""
    module = snapshot.project.primary_dagster_module
    if task is None or module is None or is_component_path(module.path):
        return False
    assets = [asset for m in module.mappings if m.dag_id == entry.dag_id and m.task_id == task.task_id
              for asset in m.assets]
    if not any(asset.executable for asset in assets) or any(asset.at_load for asset in assets):
        return False  # nothing Dagster runs, or keys it only knows at load (dbt's): nothing to compare
    from analysis.edits.acceptance_test import acceptance_test_path  # the scaffold, loaded when used
    from analysis.plans.acceptance import package_parent

    return not os.path.exists(acceptance_test_path(package_parent(module.path), entry.dag_id, task.task_id))


def action(entry, task, uri: str, version: int | None) -> types.CodeAction:
    return types.CodeAction(
        title=f"Generate acceptance test for `{task.task_id}`", kind=types.CodeActionKind.RefactorRewrite,
        data={"action": ACTION, "arguments": {"dag_id": entry.dag_id, "task_id": task.task_id},
              "uri": uri, "version": version})


def is_ours(data: Any) -> bool:
    return isinstance(data, dict) and data.get("action") == ACTION


def resolved(ls: AirliftServer, action: types.CodeAction) -> types.CodeAction:
    """The action with its edit; an invalid request (one line) when the document moved on or
    the test cannot be generated."""
    from analysis.plans.acceptance import plan_acceptance_test

    return resolve_task_action(ls, action, lambda project, read, dag_id, task_id, sources: plan_acceptance_test(
        project, read, dag_id, task_id, sources=sources))
