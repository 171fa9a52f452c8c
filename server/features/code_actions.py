"""Code actions: listing is cheap (cached facts only); the edit is computed on resolve."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams, JsonRpcInvalidRequest

from analysis.describe import Stage, blocked_in, dag_status, task_status
from analysis.plans import Refused
from server.app import AirliftServer
from server.convert import Lines
from server.features import acceptance, decommission, port_bases
from server.features.commands import PLANNERS, edit_for, plan_command
from server.features.lookup import target_at, text_at

REFACTOR = types.CodeActionKind.RefactorRewrite
QUICKFIX = types.CodeActionKind.QuickFix
FIXES = {
    "unmapped-task": ("airlift.mapTask", "Map `{task}` to a Dagster asset"),
    "proxied-without-asset": ("airlift.mapTask", "Map `{task}` first"),
    "missing-proxying-call": ("airlift.enableProxying", "Enable proxying for `{dag}`"),
    "mapping-deps-drift": ("airlift.mapTask", "Bring the deps of `{task}`'s asset in step with the DAG"),
    "unknown-task-in-state": ("airlift.rollbackDag", "Roll back `{dag}` (drops the entries that break its import)"),
    "proxy-breaks-serialization": ("airlift.rollbackTask", "Roll back `{task}` to Airflow"),
}


def register(server: AirliftServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_CODE_ACTION, types.CodeActionOptions(
        code_action_kinds=[QUICKFIX, REFACTOR], resolve_provider=True))
    def code_action(ls: AirliftServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        snapshot = ls.index.snapshot if ls.index else None
        path = ls.path_of(params.text_document.uri)
        if snapshot is None or path is None:
            return []
        text = ls.document_text(params.text_document.uri)
        if text is None:
            return []  # neither open nor on disk
        version = ls.buffers[path].version if path in ls.buffers else None
        lines = Lines(text, ls.workspace.position_codec)
        offers: list[tuple[str, str, dict, str, list]] = []
        for diagnostic in params.context.diagnostics:
            fix = FIXES.get(str(diagnostic.code)) if diagnostic.source == "airlift" else None
            target = target_at(snapshot, path, lines.from_client(diagnostic.range.start), text)
            if fix is None or target is None:
                continue
            arguments = {"dag_id": target.entry.dag_id}
            if target.task is not None:
                arguments["task_id"] = target.task.task_id
            elif fix[0] == "airlift.mapTask":
                continue
            title = fix[1].format(task=arguments.get("task_id"), dag=target.entry.dag_id)
            offers.append((fix[0], title, arguments, QUICKFIX, [diagnostic]))
        target = target_at(snapshot, path, lines.from_client(params.range.start), text)
        if target is not None:
            offers.extend(_with_readiness(ls, _stage_actions(snapshot, target)))
            scaffold = _scaffold_offer(snapshot, target)
            if scaffold is not None:
                offers.append(scaffold)
        seen: set[tuple[str, str]] = set()
        actions = []
        for command, title, arguments, kind, diagnostics in offers:
            if (command, title) in seen:
                continue
            seen.add((command, title))
            data = {"command": command, "arguments": arguments, "uri": params.text_document.uri,
                    "version": version}
            action = types.CodeAction(title=title, kind=kind, diagnostics=diagnostics or None, data=data)
            if not _client_resolves_edits(ls):
                action.command = types.Command(title=title, command=command, arguments=[arguments])
            actions.append(action)
        if target is not None and acceptance.offered(snapshot, target.entry, target.task):
            test = acceptance.action(target.entry, target.task, params.text_document.uri, version)
            try:  # a client that cannot resolve edits gets it now (one task: the cursor's)
                actions.append(test if _client_resolves_edits(ls) else acceptance.resolved(ls, test))
            except JsonRpcInvalidRequest:
                pass  # refused (the Airflow side cannot be copied, say): not offered
        base = port_bases.offered(snapshot, target.entry, target.task) if target is not None else None
        if base is not None:
            choice = port_bases.action(target.entry, target.task, base, params.text_document.uri, version)
            try:  # a client that cannot resolve edits gets it now (one task: the cursor's)
                actions.append(choice if _client_resolves_edits(ls) else port_bases.resolved(ls, choice))
            except JsonRpcInvalidRequest:
                pass  # refused (the module declares the class otherwise, say): not offered
        if target is not None and decommission.offered(ls, target.entry, snapshot.project):
            # Resolved to a command, never to an edit: the command asks before it edits.
            action = decommission.action(target.entry, params.text_document.uri, version)
            if not _client_resolves_edits(ls):
                action = decommission.resolved(action)
            actions.append(action)
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    def resolve(ls: AirliftServer, action: types.CodeAction) -> types.CodeAction:
        if isinstance(action.data, dict) and action.data.get("command") == decommission.COMMAND:
            return decommission.resolved(action)
        if acceptance.is_ours(action.data):
            return acceptance.resolved(ls, action)
        if port_bases.is_ours(action.data):
            return port_bases.resolved(ls, action)
        problem = _invalid_data(action.data)
        if problem is not None:
            raise JsonRpcInvalidParams(f"Airlift: cannot resolve this code action: {problem}; "
                                       "ask for code actions again")
        data: dict[str, Any] = action.data
        path = ls.path_of(data["uri"]) if data.get("uri") else None
        listed_version = data.get("version")
        current = ls.buffers[path].version if path and path in ls.buffers else None
        if listed_version is not None and current != listed_version:
            # Neovim 0.7 applies version-0 edits without checking: check here, always.
            raise JsonRpcInvalidRequest("the document changed since this action was listed; "
                                        "ask for code actions again")
        try:
            # Planned from the buffers as they are now, without yielding to the event loop
            # since the check: the listed document at the listed version. Facts included:
            # the snapshot may be older than that version (typing within the debounce).
            planned = plan_command(ls, data["command"], data.get("arguments") or {})
        except Refused as refusal:
            raise JsonRpcInvalidRequest(f"Airlift: {refusal}") from None
        action.edit = edit_for(ls, planned)
        return action


def _invalid_data(data: Any) -> str | None:
    """What is wrong with a code action's ``data`` (the client sends back what it was given,
    or anything at all), or None for the shape ``code_action`` lists."""
    if not isinstance(data, dict):
        return "its data is not an object"
    command = data.get("command")
    if not isinstance(command, str) or command not in PLANNERS:
        return f"{command!r} is not an Airlift command that edits files"
    if not isinstance(data.get("arguments", {}), (dict, type(None))):
        return "its `arguments` is not an object"
    if not isinstance(data.get("uri"), (str, type(None))):
        return "its `uri` is not a string"
    version = data.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool)):
        return "its `version` is not a number"
    return None


def _scaffold_offer(snapshot, target):
    """"Generate Dagster implementation" for a mapped task still mapped to plain AssetSpecs,
    whose operator the scaffold understands (checked on the cached text, no I/O)."""
    from analysis.edits.scaffold import can_scaffold, project_modules

    task, entry = target.task, target.entry
    if task is None:
        return None
    module = snapshot.project.primary_dagster_module
    if module is None or not snapshot.project.assets_for(entry.dag_id, task.task_id):
        return None
    module_text = snapshot.texts.get(module.path, "")
    specs_only = all(text_at(module_text, asset.range).lstrip().split("(")[0].endswith("AssetSpec")
                     for m in module.mappings if m.dag_id == entry.dag_id and m.task_id == task.task_id
                     for asset in m.assets)
    dag_text = snapshot.texts.get(entry.file.path)
    if not specs_only or dag_text is None or can_scaffold(
            dag_text, task, project_modules(snapshot.project.code), snapshot.project.ports,
            dag_path=entry.file.path, code=snapshot.project.code, dag_id=entry.dag_id,
            bases=snapshot.project.port_bases) is not None:
        return None
    return ("airlift.scaffoldTask", f"Generate Dagster implementation for `{task.task_id}`",
            {"dag_id": entry.dag_id, "task_id": task.task_id}, REFACTOR, [])


def _client_resolves_edits(ls: AirliftServer) -> bool:
    support = getattr(getattr(ls.client_capabilities.text_document, "code_action", None), "resolve_support", None)
    return bool(support and "edit" in (support.properties or ()))


def _with_readiness(ls: AirliftServer, offers: list) -> list:
    """A proxy offer whose run would fail now says so in its title (a warning: still offered)."""
    from server.features.dagster_runs import readiness
    marked = []
    for command, title, arguments, kind, diagnostics in offers:
        if command in ("airlift.proxyTask", "airlift.proxyDag"):
            reasons = readiness(ls, arguments["dag_id"], arguments.get("task_id"))
            if reasons:
                title += f" (⚠ not ready to proxy: {reasons[0].replace('`', '')})"
        marked.append((command, title, arguments, kind, diagnostics))
    return marked


def _stage_actions(snapshot, target) -> list[tuple[str, str, dict, str, list]]:
    project, entry = snapshot.project, target.entry
    if entry.dag.subdag_of is not None:
        return []  # every plan refuses a SubDAG; its lens says why
    dag = {"dag_id": entry.dag_id}
    offers = []
    if target.task is not None:
        task = target.task
        arguments = {**dag, "task_id": task.task_id}
        status = task_status(project, entry, task)
        if blocked_in(project, entry, task, status.stage) and status.stage is not Stage.PROXIED:
            pass  # the lens and hover say why
        elif status.stage is Stage.UNMAPPED:
            offers.append(("airlift.mapTask", f"Map `{task.task_id}` to a Dagster asset", arguments))
        elif status.stage is Stage.OBSERVED and status.nothing is None:
            offers.append(("airlift.proxyTask", f"Proxy `{task.task_id}` to Dagster", arguments))
        if status.proxied:
            offers.append(("airlift.rollbackTask", f"Roll back `{task.task_id}` to Airflow", arguments))
    status = dag_status(project, entry)
    if status.mapped < status.total:
        offers.append(("airlift.mapDag", f"Map all unmapped tasks of `{entry.dag_id}`", dag))
    if status.hook != "present":
        offers.append(("airlift.enableProxying", f"Enable proxying for `{entry.dag_id}`", dag))
    if status.mapped == status.total and status.proxied < status.total and not status.dag_level_proxied:
        offers.append(("airlift.proxyDag", f"Proxy every task of `{entry.dag_id}`", dag))
    if status.proxied or status.dag_level_proxied:
        offers.append(("airlift.rollbackDag", f"Roll back `{entry.dag_id}` to Airflow", dag))
    return [(command, title, arguments, REFACTOR, []) for command, title, arguments in offers]
