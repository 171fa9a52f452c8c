"""The DAG file in libcst: the code the asset's body copies, as it is written.

``DagSource`` finds the statements, the ``@task`` function and the task's call that a ``Plan``
names (found in ``ast``) in the DAG file's libcst tree. Expressions are copied as text
(parentheses and comments included) and re-indented; statements as libcst nodes, fitted to the
Dagster module by ``Transplant``.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, WhitespaceInclusivePositionProvider

from analysis.edits.scaffold.plan_common import Plan
from analysis.edits.scaffold.statements import Unit
from analysis.facts import TaskFacts


class DagSource:
    """The DAG file's libcst tree, for the statements and expressions the body copies."""

    def __init__(self, text: str, module: cst.Module, task: TaskFacts) -> None:
        self.text = text
        self.wrapper = MetadataWrapper(module)
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.spans = self.wrapper.resolve(WhitespaceInclusivePositionProvider)
        self.offsets = line_offsets(text)
        start, end = task.range.start, task.range.end
        self.call = next((n for n, p in self.positions.items() if isinstance(n, cst.Call)
                          and (p.start.line, p.start.column) == (start.line + 1, start.character)
                          and (p.end.line, p.end.column) == (end.line + 1, end.character)), None)

    def statements(self, unit: Unit) -> list[cst.CSTNode]:
        return [s for s in self.module.body
                if unit.first_line <= self.positions[s].start.line <= unit.last_line]

    def function(self, function: ast.FunctionDef) -> cst.FunctionDef | None:
        return next((n for n, p in self.positions.items() if isinstance(n, cst.FunctionDef)
                     and n.name.value == function.name and p.start.line == function.lineno), None)

    def code(self, node: cst.CSTNode, file_name: str | None, indent: int, newline: str) -> str:
        """The node's code as written, ``__file__`` renamed to ``file_name``."""
        renames = [(self.positions[n].start, "__file__", file_name)
                   for n in _file_names(node)] if file_name is not None else []
        return expression_code(self.text, self.offsets, self.spans[node], indent, newline, renames)


def copied_lines(plan: Plan, task: TaskFacts) -> list[tuple[int, int]]:
    """The DAG file's lines (1-based, inclusive) the asset copies: its statements, the task's
    function and the task's call."""
    needed = [(unit.first_line, unit.last_line) for unit in plan.units]
    if plan.function is not None:
        function = plan.function
        needed.append((min([function.lineno, *(d.lineno for d in function.decorator_list)]),
                       function.end_lineno or function.lineno))
    needed.append((task.range.start.line + 1, task.range.end.line + 1))
    return needed


def line_offsets(text: str) -> list[int]:
    offsets = [0]
    offsets.extend(m.end() for m in re.finditer(r"\r\n|\r|\n", text))
    return offsets


def expression_code(text: str, offsets: list[int], span, indent: int, newline: str,
                     renames: Sequence[tuple[object, str, str]] = ()) -> str:
    """An expression's code as written (parentheses and comments included), for a first line
    indented by ``indent``; ``renames``: (position, old, new) of names to rename."""
    start = offsets[span.start.line - 1] + span.start.column
    code = text[start:offsets[span.end.line - 1] + span.end.column]
    for position, old, new in sorted(renames, key=lambda r: (r[0].line, r[0].column), reverse=True):
        at = offsets[position.line - 1] + position.column - start
        code = code[:at] + new + code[at + len(old):]
    line = text[offsets[span.start.line - 1]:start]
    return _reindent(code.strip(), indent - (len(line) - len(line.lstrip())), newline)


def _file_names(node: cst.CSTNode) -> list[cst.Name]:
    found = []

    class Find(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            if name.value == "__file__":
                found.append(name)

    node.visit(Find())
    return found


def _reindent(code: str, shift: int, newline: str) -> str:
    """Shift the continuation lines of an expression's code, unless a string spans lines
    (moving those would change it; inside brackets the result parses either way), and end its
    lines like the module's (Python reads every line ending as ``\\n``, strings included)."""
    lines = re.split(r"\r\n|\r|\n", code)
    if shift and len(lines) > 1 and not _has_multiline_string(code):
        lines[1:] = [line if not line.strip() else " " * shift + line if shift > 0
                     else line[min(-shift, len(line) - len(line.lstrip(" "))):] for line in lines[1:]]
    return newline.join(lines)


def _has_multiline_string(code: str) -> bool:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f"(\n{code}\n)").readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return True
    string_types = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    return any(t.type in string_types and ("\n" in t.string or "\r" in t.string) for t in tokens)


class Transplant(cst.CSTTransformer):
    """Fit copied statements to the Dagster module: ``__file__`` renamed (``file_name``), the
    line endings inside strings made the module's (Python reads them all as ``\\n``)."""

    def __init__(self, file_name: str | None, newline: str) -> None:
        super().__init__()
        self.file_name, self.newline = file_name, newline

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == "__file__" and self.file_name is not None:
            return updated_node.with_changes(value=self.file_name)
        return updated_node

    def leave_SimpleString(self, original_node, updated_node):
        return updated_node.with_changes(value=self._newlines(updated_node.value))

    def leave_FormattedStringText(self, original_node, updated_node):
        return updated_node.with_changes(value=self._newlines(updated_node.value))

    def _newlines(self, text: str) -> str:
        return re.sub(r"\r\n|\r|\n", self.newline, text)


def kept_leading_lines(lines: Sequence[cst.EmptyLine], blank: bool) -> list[cst.EmptyLine]:
    """A copied statement keeps the comments right above it (not those a blank line away),
    after one blank line where it had some or where statements between were left out."""
    kept: list[cst.EmptyLine] = []
    for line in reversed(lines):
        if line.comment is None:
            break
        kept.insert(0, line)
    blank = blank or any(line.comment is None for line in lines)
    return ([cst.EmptyLine(indent=False)] if blank else []) + kept
