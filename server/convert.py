"""Facts' positions (code points) to and from the client's encoding, at the LSP boundary."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace.position_codec import PositionCodec

from analysis.facts import Finding, Position, Range, Severity
from analysis.source import split_lines

SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFORMATION: types.DiagnosticSeverity.Information,
    Severity.HINT: types.DiagnosticSeverity.Hint,
}


class Lines:
    """A text split once into LSP lines (ended by ``\\n``, ``\\r\\n`` or ``\\r``), converting
    columns only on lines that are not ASCII."""

    __slots__ = ("_lines", "_codec")

    def __init__(self, text: str, codec: PositionCodec) -> None:
        self._lines = split_lines(text)
        self._codec = codec

    def _line(self, number: int) -> str:
        return self._lines[number] if 0 <= number < len(self._lines) else ""

    def to_client(self, position: Position) -> types.Position:
        line = self._line(position.line)
        if line.isascii():
            return types.Position(position.line, min(position.character, len(line)))
        return types.Position(position.line, self._codec.client_num_units(line[: position.character]))

    def to_client_position_end(self, line: int) -> types.Position:
        """The end of a line, in client units."""
        text = self._line(line)
        return types.Position(line, len(text) if text.isascii() else self._codec.client_num_units(text))

    def range_to_client(self, value: Range) -> types.Range:
        return types.Range(self.to_client(value.start), self.to_client(value.end))

    def from_client(self, position: types.Position) -> Position:
        line = self._line(position.line)
        if line.isascii():
            return Position(position.line, position.character)
        units = 0
        for index, char in enumerate(line):
            if units >= position.character:
                return Position(position.line, index)
            units += self._codec.client_num_units(char)
        return Position(position.line, len(line))


def diagnostic(finding: Finding, lines: Lines, uri_of, lines_of, source: str = "airlift") -> types.Diagnostic:
    related = []
    for item in finding.related:
        other = lines_of(item.path)
        related.append(types.DiagnosticRelatedInformation(
            location=types.Location(uri_of(item.path), other.range_to_client(item.range)),
            message=item.message,
        ))
    return types.Diagnostic(
        range=lines.range_to_client(finding.range),
        message=finding.message,
        severity=SEVERITY[finding.severity],
        code=finding.code,
        source=source,
        related_information=related or None,
    )
