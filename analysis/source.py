"""Turning bytes into text, and ``ast`` positions into facts' positions.

``ast`` reports columns as UTF-8 byte offsets; facts use code points, like libcst's
``PositionProvider``. Conversion is per line and free for ASCII lines.
"""

from __future__ import annotations

import ast
import codecs
import io
import re
import tokenize
from dataclasses import dataclass

from analysis.facts import Position, Range

MAX_SOURCE_BYTES = 5 * 1024 * 1024
"""Larger files are skipped with a reason: no hand-written DAG file is this big, and
the parse would stall the editor."""


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str | None
    skipped: str | None = None


def decode_source(data: bytes) -> Decoded:
    """Decode a Python file the way the interpreter would (BOM, PEP 263 cookie)."""
    if len(data) > MAX_SOURCE_BYTES:
        return Decoded(None, f"skipped: {len(data) / 1e6:.1f} MB is larger than the "
                             f"{MAX_SOURCE_BYTES // (1024 * 1024)} MB limit for DAG files")
    if b"\x00" in data:
        return Decoded(None, "skipped: binary file (contains NUL bytes)")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        return Decoded(None, f"skipped: not valid UTF-8 text and no usable PEP 263 coding declaration "
                             f"({error.msg})")
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        return Decoded(None, f"skipped: not valid {encoding} text ({error.reason if isinstance(error, UnicodeDecodeError) else error})")
    if encoding == "utf-8-sig" or text.startswith(codecs.BOM_UTF8.decode("utf-8")):
        text = text.removeprefix("\ufeff")
    return Decoded(text)


def might_contain_dag(data: bytes | str) -> bool:
    """Airflow's own safe-mode heuristic: a DAG file mentions both words."""
    lowered = data.lower()
    if isinstance(lowered, bytes):
        return b"airflow" in lowered and b"dag" in lowered
    return "airflow" in lowered and "dag" in lowered


_LINE_BREAK = re.compile(r"\r\n?|\n")


def split_lines(text: str) -> list[str]:
    """The lines of a text, without their line breaks, as both Python's tokenizer and LSP count
    them: a line ends at ``\\n``, ``\\r\\n`` or ``\\r`` only (not at ``\\f``, U+0085, U+2028 or
    U+2029, where ``str.splitlines`` also breaks)."""
    if "\r" not in text:
        return text.split("\n")
    return _LINE_BREAK.split(text)


class LineIndex:
    """Maps ``ast`` (1-based line, UTF-8 byte column) to 0-based code-point positions."""

    __slots__ = ("_lines",)

    def __init__(self, text: str) -> None:
        self._lines = split_lines(text)

    def code_characters(self) -> int:
        """How much code the text holds: the code points of its lines but blank and comment lines."""
        return sum(len(line) for line in self._lines if (start := line.lstrip()) and start[0] != "#")

    def line(self, lineno: int) -> str:
        """The text of a 1-based line, without its line break."""
        if 1 <= lineno <= len(self._lines):
            return self._lines[lineno - 1]
        return ""

    def position(self, lineno: int, byte_col: int) -> Position:
        text = self.line(lineno)
        if not text.isascii():
            byte_col = len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
        return Position(lineno - 1, byte_col)

    def range_of(self, node: ast.AST) -> Range:
        start = self.position(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end_line = getattr(node, "end_lineno", None) or node.lineno  # type: ignore[attr-defined]
        end_col = getattr(node, "end_col_offset", None)
        end = self.position(end_line, end_col) if end_col is not None else start
        return Range(start, end)

    def first_line_range(self, node: ast.AST) -> Range:
        """A node's range, cut at the end of its first line (a loop's header, not its body)."""
        whole = self.range_of(node)
        if whole.end.line == whole.start.line:
            return whole
        return Range(whole.start, Position(whole.start.line, len(self.line(whole.start.line + 1))))

    def name_range(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Range:
        """The range of a definition's name (``ast`` only gives the ``def`` keyword)."""
        text = self.line(node.lineno)
        start = self.position(node.lineno, node.col_offset).character
        keyword = "class" if isinstance(node, ast.ClassDef) else "def"
        at = text.find(keyword, start)
        at = text.find(node.name, at + len(keyword)) if at >= 0 else -1
        if at < 0:
            return Range.point(node.lineno - 1, start)
        return Range.of(node.lineno - 1, at, node.lineno - 1, at + len(node.name))

    def syntax_error_range(self, error: SyntaxError) -> Range:
        lineno = error.lineno or 1
        # SyntaxError.offset is 1-based and already counts characters of the line.
        col = max((error.offset or 1) - 1, 0)
        line = self.line(lineno)
        col = min(col, len(line))
        end = col + 1 if col < len(line) else col
        return Range.of(lineno - 1, col, lineno - 1, end)
