"""Hover on a DAG or task: operator, neighbours, assets, proxied state, stage."""

from __future__ import annotations

from lsprotocol import types

from analysis.describe import dag_markdown, task_markdown
from server.app import AirliftServer
from server.convert import Lines
from server.features.lookup import target_at


def register(server: AirliftServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: AirliftServer, params: types.HoverParams) -> types.Hover | None:
        snapshot = ls.index.snapshot if ls.index else None
        path = ls.path_of(params.text_document.uri)
        if snapshot is None or path is None:
            return None
        text = ls.document_text(params.text_document.uri)
        if text is None:
            return None  # neither open nor on disk: nothing to say
        lines = Lines(text, ls.workspace.position_codec)
        target = target_at(snapshot, path, lines.from_client(params.position), text)
        if target is None:
            return None
        markdown = _client_wants_markdown(ls)
        if target.task is not None:
            text = task_markdown(snapshot.project, target.entry, target.task, markdown=markdown)
        else:
            text = dag_markdown(snapshot.project, target.entry, markdown=markdown)
        for extra in ls.hover_extras:
            text += extra(target, markdown)
        return types.Hover(
            contents=types.MarkupContent(
                kind=types.MarkupKind.Markdown if markdown else types.MarkupKind.PlainText, value=text),
            range=ls.lines_for(snapshot, path).range_to_client(target.range),
        )


def _client_wants_markdown(ls: AirliftServer) -> bool:
    formats = getattr(getattr(ls.client_capabilities.text_document, "hover", None), "content_format", None)
    return formats is None or types.MarkupKind.Markdown in formats
