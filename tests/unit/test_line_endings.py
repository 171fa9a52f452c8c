"""Lines end where both Python and LSP end them: at ``\\n``, ``\\r\\n`` and ``\\r`` (classic Mac),
never at a form feed or U+2028 (which ``str.splitlines`` also breaks at). Facts' ranges and
their conversion to the client's UTF-16 columns agree on that, whatever the file's line endings."""

from __future__ import annotations

import pytest
from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from analysis.dags.dagfile import extract_file
from analysis.facts import Position
from analysis.source import split_lines
from server.convert import Lines
from tests.conftest import FIXTURES

FOLDER = FIXTURES / "line_endings"


def lsp_text_at(text: str, rng) -> str:
    lines = split_lines(text)
    assert rng.start.line == rng.end.line
    return lines[rng.start.line][rng.start.character:rng.end.character]


def test_python_and_lsp_line_breaks_only() -> None:
    assert split_lines("a\u2028b\x0cc\x85d\u2029\r\ne\rf\ng\r") == ["a\u2028b\x0cc\x85d\u2029", "e", "f", "g", ""]
    assert split_lines("") == [""]
    assert split_lines("\r\r\n\n") == ["", "", "", ""]


@pytest.mark.parametrize("name", ["cr_only.py", "crlf.py"])
def test_ranges_after_non_ascii_text_on_cr_and_crlf_files(name: str) -> None:
    text = (FOLDER / name).read_bytes().decode("utf-8")  # line endings kept as they are
    assert "\r" in text
    facts = extract_file(str(FOLDER / name), text)
    assert facts.error is None
    [dag] = facts.dags
    assert lsp_text_at(text, dag.id_range) == f'"{dag.dag_id}"'
    for task in dag.tasks:
        assert lsp_text_at(text, task.id_range) == f'"{task.task_id}"'
    assert dag.task("second").upstream == ("first",)
    # The same file with \n line endings has the very same facts' positions.
    unix = extract_file("unix.py", text.replace("\r\n", "\n").replace("\r", "\n"))
    assert [(t.task_id, t.range, t.id_range) for t in unix.dags[0].tasks] == \
        [(t.task_id, t.range, t.id_range) for t in dag.tasks]
    assert unix.dags[0].extent == dag.extent
    last = split_lines(text)[dag.extent.end.line]
    assert dag.extent.end.character <= len(last)


@pytest.mark.parametrize("name", ["cr_only.py", "crlf.py"])
def test_client_positions_count_utf16_units_on_the_right_line(name: str) -> None:
    text = (FOLDER / name).read_bytes().decode("utf-8")
    task = extract_file(str(FOLDER / name), text).dags[0].task("first")
    lines = Lines(text, PositionCodec(types.PositionEncodingKind.Utf16))
    line = split_lines(text)[task.id_range.start.line]
    start = lines.to_client(task.id_range.start)
    # "été 😀": the emoji is two UTF-16 units, one code point.
    assert start == types.Position(task.id_range.start.line, task.id_range.start.character + 1)
    assert lines.from_client(start) == task.id_range.start
    assert lines.to_client_position_end(task.id_range.start.line).character == len(line) + 1


def test_form_feed_and_line_separator_do_not_end_lines() -> None:
    text = ("from airflow import DAG\n"
            "from airflow.operators.empty import EmptyOperator\n"
            "# a comment\u2028with a line separator\n"
            "\x0cwith DAG('d'):\n"
            "    EmptyOperator(doc='\u2028é', task_id='t')\n")
    facts = extract_file("ff.py", text)
    task = facts.dags[0].task("t")
    assert task.id_range.start == Position(4, 36)
    assert lsp_text_at(text, task.id_range) == "'t'"
