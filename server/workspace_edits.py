"""A migration plan as an LSP ``WorkspaceEdit``: minimal, versioned, and honest about files."""

from __future__ import annotations

import re

from lsprotocol import types

from analysis.plans import FileChange, Plan
from server.convert import Lines


class StaleDocument(Exception):
    """A buffer moved on since the plan was computed: the edit would land on other text."""


def minimal_edit(change: FileChange, lines: Lines) -> types.TextEdit:
    """One edit covering only the lines that differ (common leading/trailing lines kept).

    Lines end as LSP ends them (``\\n``, ``\\r\\n``, ``\\r``) and are compared with their line
    breaks, so the edit replaces whole lines, breaks included, and a file's line endings come
    out exactly as the new text has them. ``lines`` is the old text, to convert the end of its
    last line for the client when the change reaches the end of a file without a final
    line break."""
    old = lines_with_breaks(change.old_text or "")
    new = lines_with_breaks(change.new_text)
    if old == new:
        return types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 0)), "")
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - start and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    replaced = "".join(new[start:len(new) - suffix])
    end = len(old) - suffix
    if suffix or not old or _BREAK_AT_END.search(old[-1]):
        # Up to the start of the first kept line, or of the empty line after a final break.
        end_position = types.Position(end, 0)
    else:
        end_position = lines.to_client_position_end(end - 1)
    return types.TextEdit(types.Range(types.Position(start, 0), end_position), replaced)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
_BREAK_AT_END = re.compile(r"[\r\n]\Z")


def lines_with_breaks(text: str) -> list[str]:
    """The lines of a text with their LSP line breaks: ``"a\\r\\nb"`` -> ``["a\\r\\n", "b"]``;
    joined they give the text back (``analysis.source.split_lines`` drops the breaks)."""
    return _LINE.findall(text)


def workspace_edit(plan: Plan, *, uri_of, lines_of, version_of, create_supported: bool,
                   document_changes: bool) -> types.WorkspaceEdit:
    if any(change.removed for change in plan.changes) and not document_changes:
        raise ValueError("removing a file takes a client that supports documentChanges")
    if not document_changes:
        changes: dict[str, list[types.TextEdit]] = {}
        for change in plan.changes:
            edit = (types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 0)), change.new_text)
                    if change.old_text is None else minimal_edit(change, lines_of(change)))
            changes[uri_of(change.path)] = [edit]
        return types.WorkspaceEdit(changes=changes)
    operations: list = []
    for change in plan.changes:
        uri = uri_of(change.path)
        if change.removed:
            operations.append(types.DeleteFile(uri=uri, options=types.DeleteFileOptions(ignore_if_not_exists=True)))
            continue
        if change.old_text is None:
            if create_supported:
                operations.append(types.CreateFile(uri=uri, options=types.CreateFileOptions(
                    overwrite=False, ignore_if_exists=True)))
            operations.append(types.TextDocumentEdit(
                text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None),
                edits=[types.TextEdit(types.Range(types.Position(0, 0), types.Position(0, 0)), change.new_text)]))
            continue
        operations.append(types.TextDocumentEdit(
            text_document=types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=version_of(change.path)),
            edits=[minimal_edit(change, lines_of(change))]))
    return types.WorkspaceEdit(document_changes=operations)
