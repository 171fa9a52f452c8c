"""Document symbols (DAG → TaskGroups → tasks) and workspace symbols (every DAG and task)."""

from __future__ import annotations

from lsprotocol import types

from analysis.facts import DagFacts
from server.app import AirliftServer
from server.convert import Lines


def register(server: AirliftServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def document_symbol(ls: AirliftServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        snapshot = ls.index.snapshot if ls.index else None
        path = ls.path_of(params.text_document.uri)
        if snapshot is None or path is None:
            return []
        lines = ls.lines_for(snapshot, path)
        return [_dag_symbol(entry.dag, lines) for entry in snapshot.entries_in(path)]

    @server.feature(types.WORKSPACE_SYMBOL)
    def workspace_symbol(ls: AirliftServer, params: types.WorkspaceSymbolParams) -> list[types.SymbolInformation]:
        snapshot = ls.index.snapshot if ls.index else None
        if snapshot is None:
            return []
        query = params.query.lower()
        symbols: list[types.SymbolInformation] = []
        for entry in snapshot.project.entries:
            lines = ls.lines_for(snapshot, entry.file.path)
            uri = ls.uri_of(entry.file.path)
            if _matches(query, entry.dag_id):
                symbols.append(types.SymbolInformation(
                    name=entry.dag_id, kind=types.SymbolKind.Module,
                    location=types.Location(uri, lines.range_to_client(entry.dag.id_range or entry.dag.range))))
            for task in entry.dag.tasks:
                if _matches(query, task.task_id):
                    symbols.append(types.SymbolInformation(
                        name=task.task_id, kind=types.SymbolKind.Function,
                        location=types.Location(uri, lines.range_to_client(task.id_range or task.range)),
                        container_name=entry.dag_id))
        return symbols


def _matches(query: str, name: str) -> bool:
    """Subsequence match, as editors do for symbol search: `rcl` finds rebuild_customers_list."""
    if not query:
        return True
    characters = iter(name.lower())
    return all(c in characters for c in query)


def _dag_symbol(dag: DagFacts, lines: Lines) -> types.DocumentSymbol:
    groups: dict[str, types.DocumentSymbol] = {}
    roots: list[types.DocumentSymbol] = []
    for group in dag.groups:
        extent = lines.range_to_client(group.extent or group.range)
        symbol = types.DocumentSymbol(name=group.group_id.rsplit(".", 1)[-1], kind=types.SymbolKind.Namespace,
                                      range=extent, selection_range=lines.range_to_client(group.range),
                                      detail="TaskGroup", children=[])
        groups[group.group_id] = symbol
        parent = groups.get(group.parent_id or "")
        (parent.children if parent else roots).append(symbol)  # type: ignore[union-attr]
    for task in dag.tasks:
        full = lines.range_to_client(task.range)
        selection = lines.range_to_client(task.id_range) if task.id_range and task.range.contains(
            task.id_range.start) else full
        symbol = types.DocumentSymbol(name=task.task_id.rsplit(".", 1)[-1] if task.group_id else task.task_id,
                                      kind=types.SymbolKind.Function, range=full, selection_range=selection,
                                      detail=task.operator)
        parent = groups.get(task.group_id or "")
        (parent.children if parent else roots).append(symbol)  # type: ignore[union-attr]
    extent = lines.range_to_client(dag.extent or dag.range)
    selection = lines.range_to_client(dag.id_range or dag.range)
    if not (dag.extent or dag.range).contains((dag.id_range or dag.range).start):
        selection = extent
    return types.DocumentSymbol(name=dag.dag_id, kind=types.SymbolKind.Module, range=extent,
                                selection_range=selection, detail="DAG", children=roots)
