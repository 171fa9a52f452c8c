"""A migration plan as an LSP ``WorkspaceEdit``: minimal, versioned, and honest about files."""

from __future__ import annotations

from lsprotocol import types

from analysis.migrate import FileChange, Plan
from server.convert import Lines


class StaleDocument(Exception):
    """A buffer moved on since the plan was computed: the edit would land on other text."""


def minimal_edit(change: FileChange, lines: Lines) -> types.TextEdit:
    """One edit covering only the lines that differ (common leading/trailing lines kept)."""
    old = (change.old_text or "").split("\n")
    new = change.new_text.split("\n")
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    suffix = 0
    while suffix < min(len(old), len(new)) - start and old[-1 - suffix] == new[-1 - suffix]:
        suffix += 1
    replaced = new[start:len(new) - suffix]
    if suffix:
        # Whole lines, from the first changed one to the first unchanged one after it.
        edit_range = types.Range(types.Position(start, 0), types.Position(len(old) - suffix, 0))
        return types.TextEdit(edit_range, "".join(line + "\n" for line in replaced))
    last = len(old) - 1
    if start == 0:
        return types.TextEdit(types.Range(types.Position(0, 0), lines.to_client_position_end(last)),
                              "\n".join(new))
    # The change reaches the end of a file without a final newline: start at the end of
    # the last unchanged line so no line is rewritten needlessly.
    edit_range = types.Range(lines.to_client_position_end(start - 1), lines.to_client_position_end(last))
    return types.TextEdit(edit_range, "".join("\n" + line for line in replaced))


def workspace_edit(plan: Plan, *, uri_of, lines_of, version_of, create_supported: bool,
                   document_changes: bool) -> types.WorkspaceEdit:
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
