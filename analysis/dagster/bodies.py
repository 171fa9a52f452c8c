"""Functions' bodies set aside, so that libcst reads and edits a large module in a fraction of the time.

A team's Dagster module grows with every scaffold: 60 scaffolded assets make a module of about
2,700 lines, almost all of it the assets' bodies (the tasks' copied code). libcst's scope,
qualified-name and position metadata cost grows with every node: reading such a module's mappings
took 2.6 s, mapping one more task 2.9 s, scaffolding one more 5.2 s (``bench/dagster_module.py``).
The bodies hold nothing those need (an asset's key comes from its name and decorator), so each is
replaced by one string literal that spans the same lines (``set_aside``). Every position outside
the bodies is unchanged, so the ranges read from the text are those of the whole text, and an edit
of it gets the bodies back (``SetAside.restore``; ``analysis.edits.bodies_aside``).

Only decorated top-level functions are set aside: the assets, not the helpers an edit compares.
A body is kept when it may matter: one that names ``dagster_airlift`` or a name the module
imports from it (a mapping made inside a function), or that says ``global`` or ``nonlocal`` (it
binds module names); for an edit, also one that reads a global name the module does not bind.
``set_aside_except`` does the same to a DAG file for a scaffold, keeping the functions it copies.
"""

from __future__ import annotations

import ast
import builtins
import io
import re
import symtable
import tokenize
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst

_AIRLIFT_FUNCTIONS = ("assets_with_task_mappings", "assets_with_dag_mappings",
                      "assets_with_multiple_task_mappings", "build_defs_from_airflow_instance")
_KEEP_WORDS = ("dagster_airlift", "global", "nonlocal", "Definitions", *_AIRLIFT_FUNCTIONS)
"""Words that keep a body: a mapping made there (a star import brings the functions' own names),
and a ``Definitions(...)`` built there (a ``@definitions`` function's): every edit that writes
into the module's one ``Definitions`` (map, decommission, peering) must see them all."""
_MARK = "airlift-lsp: body set aside"
_BUILTINS = frozenset(dir(builtins))
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_MIN_LINES = 3
"""A shorter body costs little to read."""


def without_bodies(text: str) -> str | None:
    """``text`` with its asset functions' bodies each replaced by a string literal over the same
    lines, or None when there is nothing worth setting aside (or Python cannot parse it)."""
    aside = set_aside(text)
    return aside.text if aside is not None else None


@dataclass(frozen=True, slots=True)
class SetAside:
    """A text with some bodies set aside, and what to put back after an edit of it."""

    text: str
    bodies: tuple[tuple[str, str], ...]
    """(placeholder, body) pairs: each placeholder's text, and the lines it stands for."""

    def restore(self, edited: str) -> str | None:
        """``edited`` (an edit of ``text``) with the bodies back, or None when the edit did not
        keep every placeholder exactly once (it removed or copied a function)."""
        for placeholder, body in self.bodies:
            if edited.count(placeholder) != 1:
                return None
            edited = edited.replace(placeholder, body)
        return edited


def set_aside(text: str, *, for_edit: bool = False, words: Sequence[str] = (),
              every_function: bool = False, keep_lines: Sequence[int] = ()) -> SetAside | None:
    """The text with its asset functions' bodies set aside (``without_bodies``), or None.

    ``for_edit``: the text is to be edited, and a body is set aside only when every global name
    it reads is one the module binds at its top level or a builtin. An edit that adds an import
    asks whether the module reads that name without binding it; such reads stay in view. And the
    one-line strings of a body set aside still count for the quote new code is written in.
    ``words``: a body with a word that starts with one of them (in code, strings or comments:
    a string annotation reads a name too) is kept, for the names an edit imports or aliases.
    ``every_function``: undecorated functions too (a DAG file's callables, for an edit that
    touches only its module-level code). ``keep_lines`` (0-based): a body holding one of them
    stays (the call an edit rewrites there)."""
    parsed = _parsed(text, for_edit)
    if parsed is None:
        return None
    tree, table, lines = parsed
    spans = [(node, span) for node in tree.body
             if (span := _body_span(node, lines, decorated=not every_function)) is not None]
    if not spans:
        return None
    keep = re.compile(r"\b(?:%s)\b" % "|".join(map(re.escape, _KEEP_WORDS + _airlift_names(tree)))
                      + "".join(r"|\b%s\w*" % re.escape(word) for word in words))
    star = any(isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names) for n in ast.walk(tree))
    closed = (set() if star else _closed_functions(table)) if table is not None else None
    chosen = [(first, last) for node, (first, last) in spans
              if not any(first <= line <= last for line in keep_lines)
              and not keep.search("".join(lines[first:last + 1]))
              and (closed is None or (node.name, node.lineno) in closed and not _reads_libcst_sees(node))]
    if not chosen:
        return None
    tail = _quote_tail(_string_quotes(text), chosen) if for_edit else ""
    bodies = []
    for first, last in chosen:  # 0-based, inclusive
        body = "".join(lines[first:last + 1])
        placeholder = _placeholder(lines[first:last + 1], len(bodies), "" if bodies else tail)
        lines[first:last + 1] = placeholder
        bodies.append(("".join(placeholder), body))
    return SetAside("".join(lines), tuple(bodies))


def set_aside_except(text: str, needed: Sequence[tuple[int, int]]) -> SetAside | None:
    """The DAG file for a scaffold: every top-level function's body set aside but those of the
    functions that overlap the ``needed`` lines (1-based, inclusive: the statements the asset
    copies, the task's call). The positions of what is needed are those of the whole text."""
    parsed = _parsed(text)
    if parsed is None:
        return None
    tree, _, lines = parsed
    bodies = []
    for node in tree.body:
        span = _body_span(node, lines, decorated=False)
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", ()))])
        if span is None or any(first <= (node.end_lineno or node.lineno) and start <= last
                               for first, last in needed):
            continue
        first, last = span
        placeholder = _placeholder(lines[first:last + 1], len(bodies))
        bodies.append(("".join(placeholder), "".join(lines[first:last + 1])))
        lines[first:last + 1] = placeholder
    return SetAside("".join(lines), tuple(bodies)) if bodies else None


def _parsed(text: str, scopes: bool = False):
    """(ast tree, its symtable when ``scopes``, lines with their breaks: ``\\n``, ``\\r\\n`` or
    ``\\r`` only, as ast counts), or None when Python cannot parse the text or it holds the mark
    of a body set aside already."""
    if _MARK in text:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
            table = symtable.symtable(text, "<dagster module>", "exec") if scopes else None
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    return tree, table, _LINES.findall(text)


def _closed_functions(table: symtable.SymbolTable) -> set[tuple[str, int]]:
    """The top-level functions (name, line of ``def``) whose code reads no global name but those
    the module binds at its top level and the builtins (with a star import, none: it binds
    names nobody knows here)."""
    bound = {s.get_name() for s in table.get_symbols() if s.is_assigned() or s.is_imported()}
    known = bound | _BUILTINS
    return {(child.get_name(), child.get_lineno()) for child in table.get_children()
            if child.get_type() == "function" and _reads_only(child, known)}


def _reads_only(table: symtable.SymbolTable, known: set[str]) -> bool:
    pending = [table]
    while pending:
        table = pending.pop()
        if any(s.is_global() and s.is_referenced() and s.get_name() not in known
               for s in table.get_symbols()):
            return False
        pending += table.get_children()
    return True


def _body_span(node: ast.stmt, lines: list[str], decorated: bool = True) -> tuple[int, int] | None:
    """The lines (0-based, inclusive) of a (``decorated``) top-level function's body, when it
    starts on a line of its own and is long enough to be worth setting aside."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    if decorated and not node.decorator_list:
        return None
    head = node.body[0]
    start = min([head, *getattr(head, "decorator_list", ())], key=lambda n: (n.lineno, n.col_offset))
    first, last = start.lineno - 1, (node.body[-1].end_lineno or node.body[-1].lineno) - 1
    if lines[first].encode("utf-8")[:start.col_offset].strip() not in (b"", b"@") \
            or last - first + 1 < _MIN_LINES:
        return None  # `def f(): x` puts the body on the header's line (a decorator's name follows `@`)
    return first, last


def _placeholder(lines: list[str], number: int, quotes: str = "") -> list[str]:
    """One expression statement over as many lines: a triple-quoted string holding a mark and
    line breaks, at the body's indentation (the first line's own, tabs included), then in a flat
    tuple one empty string in each of ``quotes`` (the quotes that edits count)."""
    first = lines[0]
    indent = first[:len(first) - len(first.lstrip(" \t\f"))]
    endings = [line[len(line.rstrip("\r\n")):] for line in lines]
    tail = "".join(f", {quote}{quote}" for quote in quotes)
    return [f'{indent}"""{_MARK} {number}{endings[0]}', *endings[1:-1], f'"""{tail}{endings[-1]}']


def _quote_tail(quotes: list[tuple[int, str]], chosen: list[tuple[int, int]]) -> str:
    """The fewest empty strings that keep the quote an edit writes its strings in: the one most
    of the module's one-line strings use (single only when more do), bodies set aside included."""
    inside = {"'": 0, '"': 0}
    outside = {"'": 0, '"': 0}
    for line, quote in quotes:
        (inside if any(first <= line <= last for first, last in chosen) else outside)[quote] += 1
    if outside["'"] + inside["'"] > outside['"'] + inside['"']:  # the whole text says single
        return "'" * max(0, outside['"'] - outside["'"] + 1)
    return '"' * max(0, outside["'"] - outside['"'])


def _string_quotes(text: str) -> list[tuple[int, str]]:
    """(0-based line, quote) of each one-line string literal, as libcst's ``SimpleString.quote``
    gives it (``"`` or ``'``): not an f-string itself, but the strings in its expressions count
    (``f"{row['id']}"``; Python 3.12's tokenizer gives them as tokens of their own). Lines break
    at ``\\n``, ``\\r\\n`` and ``\\r``, as ast counts them."""
    found = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type != tokenize.STRING:
                continue
            prefix = token.string[:len(token.string) - len(token.string.lstrip("rRbBuUfF"))]
            body = token.string[len(prefix):]
            if "f" in prefix.lower():
                found += [(token.start[0] - 1, quote) for quote in _nested_quotes(token.string)]
            elif not body.startswith(('"""', "'''")):
                found.append((token.start[0] - 1, body[0]))
    except (tokenize.TokenError, SyntaxError):
        return []
    return found


def _nested_quotes(fstring: str) -> list[str]:
    """The quotes of the one-line strings in an f-string's expressions, as libcst counts them.
    Most f-strings hold none (no quote between their own): those are not parsed."""
    prefix = len(fstring) - len(fstring.lstrip("rRbBuUfF"))
    edge = 3 if fstring[prefix:prefix + 3] in ('"""', "'''") else 1
    inner = fstring[prefix + edge:len(fstring) - edge]
    if "{" not in inner or ('"' not in inner and "'" not in inner):
        return []
    try:
        expression = cst.parse_expression(fstring)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return []
    quotes: list[str] = []

    class Strings(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            if node.quote in ('"', "'"):
                quotes.append(node.quote)

    expression.visit(Strings())
    return quotes


def _airlift_names(tree: ast.Module) -> tuple[str, ...]:
    """The other names the module binds to ``dagster_airlift``'s mapping functions or modules:
    ``from dagster_airlift.core import assets_with_task_mappings as tasks``, ``import
    dagster_airlift.core as airlift``, ``from dagster_airlift import core``; to its classes under
    another name (``AirflowInstance as AI``: a class's own name is a word of the scaffolds'
    docstrings); and to ``dagster.Definitions`` under another name (``Definitions as Defs``)."""
    names = []
    for node in ast.walk(tree):
        package = (node.module or "").split(".")[0] if isinstance(node, ast.ImportFrom) else None
        if package == "dagster_airlift":
            names += [a.asname or a.name for a in node.names if a.name != "*" and (
                a.name in _AIRLIFT_FUNCTIONS or a.name[:1].islower() or a.asname)]
        elif package == "dagster":
            names += [a.asname for a in node.names if a.name == "Definitions" and a.asname]
        elif isinstance(node, ast.Import):
            names += [a.asname for a in node.names
                      if a.asname and a.name.split(".")[0] == "dagster_airlift"]
    return tuple(dict.fromkeys(names))


_NAMING_CALLS = frozenset({"cast", "TypeVar", "NewType", "NamedTuple", "TypedDict"})


def _reads_libcst_sees(function: ast.stmt) -> bool:
    """The body reads names in ways libcst's scopes count and symtable's do not: a string
    annotation (``"os.PathLike"``, ``cast("AssetSpec", x)``), or a ``del`` or a ``match`` capture
    of a name. An edit that asks libcst whether the module uses a name sees the whole body."""
    for node in (n for statement in getattr(function, "body", ()) for n in ast.walk(statement)):
        if isinstance(node, (ast.Delete, ast.Match)):
            return True
        if isinstance(node, ast.arg):
            annotation = node.annotation
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotation = node.returns
        elif isinstance(node, ast.AnnAssign):
            annotation = node.annotation
        elif isinstance(node, ast.Call) and (getattr(node.func, "id", None) or getattr(node.func, "attr", None)) \
                in _NAMING_CALLS:
            annotation = node
        else:
            continue
        if annotation is not None and any(isinstance(n, ast.Constant) and isinstance(n.value, str)
                                          for n in ast.walk(annotation)):
            return True
    return False
