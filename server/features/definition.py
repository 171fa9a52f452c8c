"""Go to definition: from a task id in a state file or a mapping to the task in its DAG file."""

from __future__ import annotations

from lsprotocol import types

from server.app import AirliftServer
from server.convert import Lines
from server.features.lookup import target_at


def register(server: AirliftServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: AirliftServer, params: types.DefinitionParams) -> list[types.Location]:
        snapshot = ls.index.snapshot if ls.index else None
        path = ls.path_of(params.text_document.uri)
        if snapshot is None or path is None or path in snapshot.project.files:
            return []  # inside DAG files, Python's own language server knows better
        text = ls.document_text(params.text_document.uri)
        if text is None:
            return []  # neither open nor on disk
        position = Lines(text, ls.workspace.position_codec).from_client(params.position)
        target = target_at(snapshot, path, position, text)
        if target is None:
            return []
        entry = target.entry
        where = (target.task.id_range or target.task.range) if target.task else (
            entry.dag.id_range or entry.dag.range)
        lines = ls.lines_for(snapshot, entry.file.path)
        return [types.Location(ls.uri_of(entry.file.path), lines.range_to_client(where))]
