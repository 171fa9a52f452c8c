"""New code in the style of the module it goes into, and spliced into its existing layout.

``Group`` and ``render`` lay out bracketed code as black does (one line when it fits, else one
item per line with a trailing comma); ``string_literal`` writes strings in the module's quote;
``insert_elements`` adds elements to a comma-separated sequence without touching the rest of it;
``NewCode`` puts rendered code into a tree without parsing it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import libcst as cst

# -- laying out new code ------------------------------------------------------------------------

LINE_WIDTH = 100


@dataclass(frozen=True, slots=True)
class Group:
    """A bracketed, comma-separated piece of new code: ``head`` ends with the opening bracket.
    It is written on one line when that fits, else one item per line with a trailing comma
    (black's layout); ``broken`` forces the second form."""

    head: str
    items: tuple[str | Group, ...]
    close: str
    broken: bool = False


def flat(doc: str | Group) -> str:
    if isinstance(doc, str):
        return doc
    return doc.head + ", ".join(flat(item) for item in doc.items) + doc.close


def render(doc: str | Group, indent: str, unit: str, newline: str, suffix: str = "",
           width: int = LINE_WIDTH) -> str:
    """``doc`` as code starting at column ``len(indent)`` of a line indented by ``indent``;
    ``suffix`` is what follows it on its last line (a comma, a bracket)."""
    if isinstance(doc, str) or not doc.items:
        return flat(doc)
    one_line = flat(doc)
    if not doc.broken and len(indent) + len(one_line) + len(suffix) <= width:
        return one_line
    inner = indent + unit
    lines = [doc.head]
    lines += [inner + render(item, inner, unit, newline, ",", width) + "," for item in doc.items]
    lines.append(indent + doc.close)
    return newline.join(lines)


# -- string literals -------------------------------------------------------------------------------


def preferred_quote(module: cst.Module) -> str:
    """The quote most one-line strings of the module use (double when undecided)."""
    counts = {'"': 0, "'": 0}

    class Count(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            quote = node.quote
            if quote in counts:
                counts[quote] += 1

    module.visit(Count())
    return quote_of(counts)


def quote_of(counts: Mapping[str, int]) -> str:
    """The quote of the most strings, from their count by quote (double when undecided), for a
    visitor that counts them along with its own work."""
    return "'" if counts.get("'", 0) > counts.get('"', 0) else '"'


def string_literal(value: str, quote: str = '"') -> str:
    """A Python string literal for ``value`` (``ast.literal_eval`` gives ``value`` back)."""
    out = [quote]
    for char in value:
        if char == "\\" or char == quote:
            out.append("\\" + char)
        elif char in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[char])
        elif char.isprintable():
            out.append(char)
        else:
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    out.append(quote)
    return "".join(out)


_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


# -- inserting into comma-separated sequences -----------------------------------------------------

Whitespace = cst.BaseParenthesizableWhitespace


def insert_elements(opening: Whitespace, elements: Sequence, closing: Whitespace, index: int,
                    new: Sequence, *, multiline: bool, line_start: Whitespace | None = None,
                    trailing_comma: bool | None = None) -> tuple[Whitespace, list, Whitespace]:
    """Insert ``new`` elements (dict elements, list elements, call args, import aliases) at
    ``index`` of a bracketed, comma-separated sequence, in the sequence's own layout.

    ``opening`` is the whitespace after the opening bracket, ``closing`` the whitespace before
    the closing one (after the trailing comma, if there is one: see ``closing_whitespace``).
    Returns the three parts to put back; the last element's comma, if any, is followed by
    nothing, the returned closing whitespace comes next. Only the neighbourhood of the insertion
    changes: every other element keeps its comma, comments and indentation, byte for byte.

    ``multiline``: one element per line. New lines start like ``line_start`` (default: like the
    element that precedes the insertion point); a trailing comment stays on its line, comment
    lines stay above the element they were above (or above the closing bracket's line).
    ``trailing_comma``: whether the last element ends with a comma when the insertion is at the
    end (None keeps the sequence's choice). One-line sequences get ``, `` separators.
    """
    elements = list(elements)
    count = len(elements)
    if not count or not new:
        raise ValueError("insert_elements needs a non-empty sequence and something to insert")
    had_trailing = isinstance(elements[-1].comma, cst.Comma)
    trailing = had_trailing if trailing_comma is None or index < count else trailing_comma
    # gaps[i] is the whitespace before element i; gaps[count] the one before the closing bracket.
    gaps = [opening, *(e.comma.whitespace_after for e in elements[:-1]), closing]
    comma_space = [e.comma.whitespace_before if isinstance(e.comma, cst.Comma)
                   else cst.SimpleWhitespace("") for e in elements]
    new = list(new)
    if multiline:
        start = line_start or _line_start(gaps[index - 1] if index == count else gaps[index])
        gap = gaps[index]
        if isinstance(gap, cst.ParenthesizedWhitespace) and \
                isinstance(start, cst.ParenthesizedWhitespace):
            # comments above the closing bracket stay above the new elements; comments above
            # an old element stay with it
            keep_comments_above_new = index == count
            before = start.with_changes(
                first_line=gap.first_line,
                empty_lines=gap.empty_lines if keep_comments_above_new else [])
            after = gap.with_changes(first_line=cst.TrailingWhitespace(),
                                     empty_lines=[] if keep_comments_above_new else gap.empty_lines)
        else:
            before, after = start, gap
        inner = [start] * (len(new) - 1)
        gaps[index:index + 1] = [before, *inner, after]
    else:
        space = cst.SimpleWhitespace(" ")
        if index < count:  # the old gap before the new ones, `, ` before the old element
            gaps[index:index + 1] = [gaps[index], *[space] * len(new)]
        else:  # `, ` before each new one, the old closing after them
            gaps[index:index + 1] = [*[space] * len(new), gaps[index]]
    comma_space[index:index] = [cst.SimpleWhitespace("")] * len(new)
    elements[index:index] = new
    out = []
    last = len(elements) - 1
    for position, element in enumerate(elements):
        if position < last:
            comma = cst.Comma(whitespace_before=comma_space[position],
                              whitespace_after=gaps[position + 1])
        elif trailing:
            comma = cst.Comma(whitespace_before=comma_space[position])
        else:
            comma = cst.MaybeSentinel.DEFAULT
        out.append(element.with_changes(comma=comma))
    return gaps[0], out, gaps[-1]


def closing_whitespace(last: cst.CSTNode, bracket: Whitespace) -> Whitespace:
    """The whitespace between a sequence's last element and its closing bracket: libcst keeps
    it after the trailing comma in some nodes (call arguments) and before the bracket in others."""
    comma = getattr(last, "comma", None)
    if isinstance(comma, cst.Comma) and not (isinstance(comma.whitespace_after, cst.SimpleWhitespace)
                                             and not comma.whitespace_after.value):
        return comma.whitespace_after
    return bracket


def _line_start(gap: Whitespace) -> Whitespace:
    """The start of an element's line, without the comments that precede it."""
    if isinstance(gap, cst.ParenthesizedWhitespace):
        return gap.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return gap


class NewCode:
    """Rendered code put into a tree as a placeholder, and into the printed module as written.

    ``render`` lays new code out with its absolute indentation, so parsing it with libcst only
    to print the same text again is wasted: for a DAG's 130 mappings (800 lines) parsing takes
    30 ms and ``absolute_indentation`` as much again, more than the rest of the edit. The tree
    holds a name that the module does not contain (as ``**name`` where only an unpacking fits
    whatever surrounds it: a dict entry, a call argument), ``fill`` swaps the code in once the
    module is printed, and ``check_output`` parses the result with Python as for every edit.
    """

    def __init__(self, text: str) -> None:
        prefix = "_airlift_new_code_"
        while prefix in text:
            prefix += "_"
        self._prefix = prefix
        name = re.escape(prefix)
        self._pattern = re.compile(rf"\*\*{name}(\d+)s_|{name}(\d+)_")
        self._codes: list[str] = []

    def _name(self, code: str, suffix: str = "", **changes) -> cst.Name:
        self._codes.append(code)
        return cst.Name(f"{self._prefix}{len(self._codes) - 1}{suffix}_", **changes)

    def expression(self, code: str, like: cst.BaseExpression) -> cst.Name:
        """``code`` in the parentheses of ``like``, the expression it replaces."""
        return self._name(code, lpar=like.lpar, rpar=like.rpar)

    def element(self, code: str, kind: str) -> cst.CSTNode:
        """``code`` as an element of a dict, a list or a call's arguments (``kind``)."""
        if kind == "list":
            return cst.Element(self._name(code))
        if kind == "dict":
            return cst.StarredDictElement(self._name(code, "s"))
        return cst.Arg(self._name(code, "s"), star="**")

    def fill(self, printed: str) -> str | None:
        """The printed module with the new code in place; None if a placeholder is missing or
        repeated (a bug)."""
        seen: list[int] = []

        def code(match: re.Match) -> str:
            seen.append(int(match.group(1) or match.group(2)))
            return self._codes[seen[-1]]

        filled = self._pattern.sub(code, printed)
        return filled if sorted(seen) == list(range(len(self._codes))) else None


def absolute_indentation(node: cst.CSTNode) -> cst.CSTNode:
    """Make the line breaks of a node parsed on its own keep their indentation wherever the node
    is put: libcst would otherwise prepend the enclosing block's indentation to each line."""

    class Absolute(cst.CSTTransformer):
        def leave_ParenthesizedWhitespace(self, original_node, updated_node):
            return updated_node.with_changes(indent=False)

        def leave_EmptyLine(self, original_node, updated_node):
            return updated_node.with_changes(indent=False)

    return node.visit(Absolute())


def has_multiline_string(node: cst.CSTNode) -> bool:
    found = False

    class Strings(cst.CSTVisitor):
        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            nonlocal found
            found = found or "\n" in string.value or "\r" in string.value

        def visit_FormattedString(self, string: cst.FormattedString) -> None:
            nonlocal found
            found = found or string.start.endswith(('"""', "'''"))

    node.visit(Strings())
    return found
