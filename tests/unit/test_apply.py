"""The CLI's `--dry-run` diff (server/apply.py): lines as Python and LSP count them."""

from __future__ import annotations

from analysis.plans import FileChange, Plan
from server.apply import _lines, unified_diff


def diff(old: str | None, new: str) -> str:
    return unified_diff(Plan("t", (FileChange("/w/f.yaml", old, new),)), lambda path: "f.yaml")


def test_lines_break_at_lf_crlf_and_cr_only() -> None:
    assert _lines("a\nb\r\nc\rd") == ["a\n", "b\r\n", "c\r", "d"]
    assert _lines("x\u2028y\x0cz\n") == ["x\u2028y\x0cz\n"]  # str.splitlines would make 3 lines
    assert _lines("") == [] and _lines(None) == []


def test_a_line_separator_inside_a_line_stays_one_line_of_the_diff() -> None:
    text = diff("# note\u2028more\ntasks:\n  - id: a\n    proxied: false\n",
                "# note\u2028more\ntasks:\n  - id: a\n    proxied: true\n")
    assert text.split("\n")[3:-1] == [" # note\u2028more", " tasks:", "   - id: a",
                                                   "-    proxied: false", "+    proxied: true"]
    assert " # note\u2028more\n" in text and "No newline" not in text


def test_only_a_missing_final_newline_is_marked() -> None:
    text = diff("a\nb", "a\nc")
    assert text.endswith("+c\n\\ No newline at end of file\n")
    assert diff(None, "new: 1\n").startswith("--- /dev/null\n+++ b/f.yaml\n")
