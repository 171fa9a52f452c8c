"""Edits are minimal (only changed lines) and reproduce the new text exactly."""

from hypothesis import given, settings, strategies as st
from pygls.workspace import TextDocument

from analysis.migrate import FileChange
from server.convert import Lines
from server.workspace_edits import minimal_edit
from pygls.workspace.position_codec import PositionCodec

LINES = st.lists(st.sampled_from(["a", "b", "", "  - id: x", "proxied: true", "ü😀"]), max_size=8)


def apply(old: str, new: str) -> tuple[str, object]:
    edit = minimal_edit(FileChange("f", old, new), Lines(old, PositionCodec()))
    document = TextDocument("file:///f", old)
    from lsprotocol import types
    document.apply_change(types.TextDocumentContentChangePartial(range=edit.range, text=edit.new_text))
    return document.source, edit


@settings(max_examples=400, deadline=None)
@given(LINES, LINES, st.booleans(), st.booleans())
def test_the_edit_turns_old_into_new(old_lines, new_lines, old_newline, new_newline) -> None:
    old = "\n".join(old_lines) + ("\n" if old_newline else "")
    new = "\n".join(new_lines) + ("\n" if new_newline else "")
    assert apply(old, new)[0] == new


def test_a_flag_flip_touches_one_line() -> None:
    old = "# state\ntasks:\n  - id: a\n    proxied: false\n  - id: b\n    proxied: false\n"
    new = old.replace("proxied: false\n  - id: b", "proxied: true\n  - id: b")
    result, edit = apply(old, new)
    assert result == new
    assert (edit.range.start.line, edit.range.end.line) == (3, 4)
    assert edit.new_text == "    proxied: true\n"
