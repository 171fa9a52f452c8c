"""What every edit returns, and the pieces of libcst plumbing the edits share.

An edit is a pure function from text to an ``EditResult``: the new full text, whether anything
changed, and in one sentence why not. "Does not apply" is a result, never an exception, so a
caller (code action, CLI) can show the reason as it is.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node


@dataclass(frozen=True, slots=True)
class EditResult:
    text: str | None
    """The new full text; the input text when nothing changed; None when refused."""
    changed: bool
    """False: already done (idempotent) or refused."""
    reason: str | None = None
    """Why refused, or why nothing changed: one clear sentence."""

    @classmethod
    def done(cls, text: str) -> EditResult:
        return cls(text, True)

    @classmethod
    def nothing_to_do(cls, text: str | None, reason: str) -> EditResult:
        return cls(text, False, reason)

    @classmethod
    def refuse(cls, reason: str) -> EditResult:
        return cls(None, False, reason)

    @property
    def refused(self) -> bool:
        return self.text is None and self.reason is not None


# -- parsing ---------------------------------------------------------------------------------------


def parse(text: str, what: str) -> cst.Module | str:
    """The module, or a one-sentence reason it cannot be edited safely.

    Python's own parser decides what is valid (libcst accepts a few things CPython rejects,
    and places errors less precisely); libcst then gives the tree the rewrite works on.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as error:
        return f"{what} has a syntax error on line {error.lineno or 1} ({error.msg}): fix it first"
    except (ValueError, MemoryError, RecursionError) as error:
        return f"{what} cannot be parsed ({error}): fix it first"
    try:
        return cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        return f"{what} cannot be parsed by libcst (line {error.raw_line}: {error.message})"
    except (MemoryError, RecursionError):
        return f"{what} nests too deeply to edit"


def check_output(code: str, what: str) -> EditResult:
    """Last guard before handing text back: an edit never produces a file Python rejects."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code)
    except (SyntaxError, ValueError) as error:  # a bug of ours: refuse rather than break the file
        return EditResult.refuse(f"the edit of {what} would not be valid Python ({error}); "
                                 "please report this")
    return EditResult.done(code)


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
    return "'" if counts["'"] > counts['"'] else '"'


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


# -- imports ---------------------------------------------------------------------------------------


class Imports:
    """How the module spells imported names: its unconditional module-level imports only
    (an import under an ``if`` may not have run; one in a ``try`` body counts)."""

    def __init__(self, module: cst.Module) -> None:
        self.names: dict[tuple[str, str], str] = {}
        self.modules: dict[str, str] = {}
        self.star: set[str] = set()
        self.from_statements: dict[str, cst.ImportFrom] = {}
        """The first plain ``from M import a, b`` at the top level of the module, per M."""
        for statement, top in _import_statements(module.body, top=True):
            if isinstance(statement, cst.ImportFrom):
                self._add_from(statement, top)
            else:
                self._add_import(statement)

    def _add_from(self, node: cst.ImportFrom, top: bool) -> None:
        if node.relative or node.module is None:
            return
        source = get_full_name_for_node(node.module)
        if source is None:
            return
        if isinstance(node.names, cst.ImportStar):
            self.star.add(source)
            return
        for alias in node.names:
            name = get_full_name_for_node(alias.name)
            if name is not None:
                local = alias.asname.name.value if alias.asname else name
                self.names.setdefault((source, name), local)
        if top:
            self.from_statements.setdefault(source, node)

    def _add_import(self, node: cst.Import) -> None:
        for alias in node.names:
            name = get_full_name_for_node(alias.name)
            if name is None:
                continue
            if alias.asname is not None:
                self.modules.setdefault(name, alias.asname.name.value)
            else:  # `import a.b` binds `a`, through which a.b is reachable
                parts = name.split(".")
                for end in range(1, len(parts) + 1):
                    self.modules.setdefault(".".join(parts[:end]), ".".join(parts[:end]))

    def reference(self, sources: Sequence[str], name: str) -> str | None:
        """How to write ``source.name`` in this module, if it is already imported."""
        for source in sources:
            if (source, name) in self.names:
                return self.names[(source, name)]
        for source in sources:
            if source in self.star:
                return name
        for source in sources:
            if source in self.modules:
                return f"{self.modules[source]}.{name}"
        return None


def _import_statements(body: Sequence[cst.CSTNode], top: bool):
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    yield small, top
        elif isinstance(statement, cst.Try) and isinstance(statement.body, cst.IndentedBlock):
            yield from _import_statements(statement.body.body, top=False)


def add_imports(module: cst.Module, needed: Sequence[tuple[str, str]]) -> cst.Module:
    """Import each ``(source, name)`` not yet importable under its own name.

    A name joins an existing ``from source import ...`` at its sorted place, in that statement's
    layout (one per line when it is parenthesized over several lines); otherwise libcst's
    ``AddImportsVisitor`` adds a new statement after the module's leading imports. (That
    visitor also merges into existing statements, but prepends the name and breaks a
    parenthesized layout, so it is only asked for new statements.)
    """
    context = CodemodContext()
    pending = False
    for source, name in needed:
        imports = Imports(module)
        if imports.names.get((source, name)) == name or source in imports.star:
            continue
        statement = imports.from_statements.get(source)
        if statement is not None and (source, name) not in imports.names:
            module = module.deep_replace(statement,
                                         _with_alias(statement, name, module.default_indent))
        else:
            AddImportsVisitor.add_needed_import(context, source, name)
            pending = True
    return AddImportsVisitor(context).transform_module(module) if pending else module


def _with_alias(statement: cst.ImportFrom, name: str, indent: str) -> cst.ImportFrom:
    aliases = list(statement.names)
    keys = [_isort_key(get_full_name_for_node(a.name) or "") for a in aliases]
    index = len(aliases)
    if keys == sorted(keys):
        index = next((i for i, key in enumerate(keys) if key > _isort_key(name)), len(aliases))
    new = cst.ImportAlias(name=cst.Name(name))
    if statement.lpar is None or statement.rpar is None:  # one line, or backslash continuations
        _, aliases, _ = insert_elements(cst.SimpleWhitespace(""), aliases, cst.SimpleWhitespace(""),
                                        index, [new], multiline=False)
        one_line = statement.with_changes(names=aliases)
        code = cst.Module(body=[]).code_for_node(one_line)
        if "\\" in code or len(code) <= LINE_WIDTH:
            return one_line
        return _parenthesized(one_line, indent)
    multiline = isinstance(statement.lpar.whitespace_after, cst.ParenthesizedWhitespace)
    closing = closing_whitespace(aliases[-1], statement.rpar.whitespace_before)
    opening, aliases, closing = insert_elements(
        statement.lpar.whitespace_after, aliases, closing, index, [new], multiline=multiline)
    return statement.with_changes(
        names=aliases, lpar=statement.lpar.with_changes(whitespace_after=opening),
        rpar=statement.rpar.with_changes(whitespace_before=closing))


def _parenthesized(statement: cst.ImportFrom, indent: str) -> cst.ImportFrom:
    """``from M import (`` then one name per line: black's layout of a long import."""
    def line(whitespace: str) -> cst.ParenthesizedWhitespace:
        return cst.ParenthesizedWhitespace(indent=True, last_line=cst.SimpleWhitespace(whitespace))

    names = [alias.with_changes(comma=cst.Comma(whitespace_after=line(indent)))
             for alias in statement.names]
    names[-1] = names[-1].with_changes(comma=cst.Comma())
    return statement.with_changes(names=names, lpar=cst.LeftParen(whitespace_after=line(indent)),
                                  rpar=cst.RightParen(whitespace_before=line("")))


def _isort_key(name: str) -> tuple[int, str]:
    """isort's and ruff's default order within ``from M import``: CONSTANTS, Classes, functions."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower()


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


def absolute_indentation(node: cst.CSTNode) -> cst.CSTNode:
    """Make the line breaks of a node parsed on its own keep their indentation wherever the node
    is put: libcst would otherwise prepend the enclosing block's indentation to each line."""

    class Absolute(cst.CSTTransformer):
        def leave_ParenthesizedWhitespace(self, original_node, updated_node):
            return updated_node.with_changes(indent=False)

        def leave_EmptyLine(self, original_node, updated_node):
            return updated_node.with_changes(indent=False)

    return node.visit(Absolute())


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
