"""Edits are minimal (only changed lines) and reproduce the new text exactly, whatever the
line breaks (``\\n``, ``\\r\\n``, ``\\r``, mixed, none at the end) and the client's position
encoding. The edits are applied here the way the LSP defines positions, independently of
the server's own line splitting."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from analysis.plans import FileChange
from server.convert import Lines
from server.workspace_edits import minimal_edit

UTF16, UTF32 = types.PositionEncodingKind.Utf16, types.PositionEncodingKind.Utf32
_LSP_BREAK = re.compile(r"\r\n|\r|\n")


def offset_of(text: str, position: types.Position, encoding) -> int:
    """A client position as an index into ``text``: lines end at ``\\n``, ``\\r\\n`` or ``\\r``
    only; characters count UTF-16 units or code points (strictly: never past a line's end)."""
    starts, ends = [0], []
    for match in _LSP_BREAK.finditer(text):
        ends.append(match.start())
        starts.append(match.end())
    ends.append(len(text))
    assert 0 <= position.line < len(starts), (position, text)
    index, units = starts[position.line], 0
    while index < ends[position.line] and units < position.character:
        units += 2 if encoding == UTF16 and ord(text[index]) > 0xFFFF else 1
        index += 1
    assert units == position.character, f"{position} is past the end of its line, or inside a surrogate pair"
    return index


def apply(old: str, new: str, encoding=UTF16) -> tuple[str, types.TextEdit]:
    edit = minimal_edit(FileChange("f", old, new), Lines(old, PositionCodec(encoding)))
    start = offset_of(old, edit.range.start, encoding)
    end = offset_of(old, edit.range.end, encoding)
    assert start <= end, edit
    return old[:start] + edit.new_text + old[end:], edit


CONTENT = st.text(alphabet=st.sampled_from(["a", "b", " ", "ü", "😀", "\u2028", "\x0c", "\x85"]), max_size=4)
BREAK = st.sampled_from(["\n", "\r\n", "\r"])
LINES = st.lists(st.tuples(CONTENT, BREAK), max_size=6)


def text_of(lines: list[tuple[str, str]], tail: str) -> str:
    return "".join(content + brk for content, brk in lines) + tail


@st.composite
def old_and_new(draw) -> tuple[str, str]:
    """Two texts sharing lines (an edit in the middle), or unrelated ones."""
    old_lines, old_tail = draw(LINES), draw(CONTENT)
    if draw(st.booleans()):
        return text_of(old_lines, old_tail), text_of(draw(LINES), draw(CONTENT))
    cut = sorted(draw(st.lists(st.integers(0, len(old_lines)), min_size=2, max_size=2)))
    new_lines = old_lines[:cut[0]] + draw(LINES) + old_lines[cut[1]:]
    new_tail = old_tail if draw(st.booleans()) else draw(CONTENT)
    return text_of(old_lines, old_tail), text_of(new_lines, new_tail)


@settings(max_examples=600, deadline=None)
@given(old_and_new(), st.sampled_from([UTF16, UTF32]))
def test_the_edit_turns_old_into_new(texts: tuple[str, str], encoding) -> None:
    old, new = texts
    assert apply(old, new, encoding)[0] == new


def test_a_flag_flip_touches_one_line() -> None:
    old = "# state\ntasks:\n  - id: a\n    proxied: false\n  - id: b\n    proxied: false\n"
    new = old.replace("proxied: false\n  - id: b", "proxied: true\n  - id: b")
    result, edit = apply(old, new)
    assert result == new
    assert (edit.range.start.line, edit.range.end.line) == (3, 4)
    assert edit.new_text == "    proxied: true\n"


@pytest.mark.parametrize("brk", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_a_flag_flip_touches_one_line_whatever_the_line_breaks(brk: str) -> None:
    old = brk.join(["tasks:", "  - id: a", "    proxied: false", "  - id: b", "    proxied: false", ""])
    new = old.replace(f"proxied: false{brk}  - id: b", f"proxied: true{brk}  - id: b")
    result, edit = apply(old, new)
    assert result == new
    assert edit.range == types.Range(types.Position(2, 0), types.Position(3, 0))
    assert edit.new_text == f"    proxied: true{brk}"


def test_crlf_without_a_final_line_break_keeps_crlf() -> None:
    result, edit = apply("a\r\nb", "a\r\nc\r\n")
    assert result == "a\r\nc\r\n"
    assert edit == types.TextEdit(types.Range(types.Position(1, 0), types.Position(1, 1)), "c\r\n")


def test_appending_to_a_cr_only_file_without_a_final_line_break() -> None:
    old = "from airflow import DAG\rwith DAG('d'):\r    pass"
    new = old + "\r\rproxying_to_dagster(global_vars=globals())\r"
    result, edit = apply(old, new)
    assert result == new
    # The last line is rewritten (its line break is new); the others are kept.
    assert edit.range == types.Range(types.Position(2, 0), types.Position(2, 8))
    assert edit.new_text == "    pass\r\rproxying_to_dagster(global_vars=globals())\r"


def test_mixed_line_breaks_are_kept_as_the_new_text_has_them() -> None:
    old = "a\r\nb\rc\nd"
    new = "a\r\nB\rc\nd"
    result, edit = apply(old, new)
    assert result == new
    assert edit == types.TextEdit(types.Range(types.Position(1, 0), types.Position(2, 0)), "B\r")


def test_a_line_break_changed_alone_is_an_edit_of_that_line() -> None:
    old = "a\nb\r\nc\n"
    new = "a\nb\nc\n"
    result, edit = apply(old, new)
    assert result == new
    assert edit == types.TextEdit(types.Range(types.Position(1, 0), types.Position(2, 0)), "b\n")


def test_the_end_of_a_last_line_counts_utf16_units() -> None:
    old = "x = 1\ny = '😀'"
    new = "x = 1\ny = '😀'\n"
    for encoding, end in ((UTF16, 8), (UTF32, 7)):
        result, edit = apply(old, new, encoding)
        assert result == new
        assert edit.range.end == types.Position(1, end)


def test_insertions_at_the_end_after_a_final_line_break() -> None:
    old = "a\r\nb\r\n"
    new = "a\r\nb\r\nc\r\n"
    result, edit = apply(old, new)
    assert result == new
    assert edit == types.TextEdit(types.Range(types.Position(2, 0), types.Position(2, 0)), "c\r\n")


def test_identical_texts_give_an_empty_edit() -> None:
    for text in ("", "a", "a\r\nb", "a\r"):
        result, edit = apply(text, text)
        assert result == text and edit.new_text == ""
