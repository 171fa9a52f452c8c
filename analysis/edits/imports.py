"""How a module imports names, and adding the imports new code needs, in the module's layout.

``Imports`` reads the module's unconditional imports (how it spells ``dagster.AssetSpec``, say);
``add_imports`` adds ``from M import name`` where it is missing, ``add_module_import`` a plain
``import M``; ``other_uses`` tells whether importing a name would change what the module's own
code means, and ``alias_for`` gives the name to import it as then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.helpers import get_full_name_for_node
from libcst.metadata import ImportAssignment, Scope

from analysis.edits.layout import LINE_WIDTH, closing_whitespace, insert_elements


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


def other_uses(scopes: Mapping[cst.CSTNode, Scope | None], module: cst.Module, text: str,
               source: str, name: str) -> tuple[bool, list[cst.CSTNode]]:
    """Whether ``module`` (``text``, with its ``ScopeProvider`` metadata ``scopes``) binds
    ``name`` at its top level to something else than ``source.name`` (which a new import would
    shadow or be shadowed by), and where it reads ``name`` that nothing binds (which a new import
    would bind)."""
    if name not in text:
        return False, []
    bound = any(not (isinstance(assignment, ImportAssignment) and any(
        _names(qualified.name, source, name)
        for qualified in assignment.get_qualified_names_for(name)))
        for assignment in scopes[module].assignments[name])
    unbound = {id(access.node): access.node
               for scope in {s for s in scopes.values() if s is not None}
               for access in scope.accesses[name] if not access.referents}
    return bound, list(unbound.values())


def _names(qualified: str, source: str, name: str) -> bool:
    """``qualified`` names ``source.name``, or its re-export elsewhere in the package, as the
    readers recognise it (``dagster.AssetSpec``, ``dagster_airlift.core.assets_with_task_mappings``)."""
    return qualified.split(".")[0] == source.split(".")[0] and qualified.split(".")[-1] == name


def alias_for(source: str, name: str, text: str) -> str:
    """A name to import ``name`` as where the module has its own: ``DagsterAssetSpec``,
    ``airlift_assets_with_task_mappings``; numbered if the module has that too."""
    package = source.split(".")[0]
    base = (package.title().replace("_", "") + name if name[:1].isupper()
            else f"{package.removeprefix('dagster_')}_{name}")
    alias, number = base, 1
    while re.search(rf"(?<!\w){re.escape(alias)}(?!\w)", text):
        number += 1
        alias = f"{base}_{number}"
    return alias


def _import_statements(body: Sequence[cst.CSTNode], top: bool):
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, (cst.Import, cst.ImportFrom)):
                    yield small, top
        elif isinstance(statement, cst.Try) and isinstance(statement.body, cst.IndentedBlock):
            yield from _import_statements(statement.body.body, top=False)


def add_imports(module: cst.Module, needed: Sequence[tuple[str, str] | tuple[str, str, str]]
                ) -> cst.Module:
    """Import each ``(source, name)`` not yet importable under its own name; ``(source, name,
    local)`` imports it as ``local`` (where the module uses the name for something else).

    A name joins an existing ``from source import ...`` at its sorted place, in that statement's
    layout (one per line when it is parenthesized over several lines); otherwise libcst's
    ``AddImportsVisitor`` adds a new statement after the module's leading imports. (That
    visitor also merges into existing statements, but prepends the name and breaks a
    parenthesized layout, so it is only asked for new statements.)
    """
    context = CodemodContext()
    pending = False
    for source, name, *alias in needed:
        local = alias[0] if alias else name
        imports = Imports(module)
        if imports.names.get((source, name)) == local or (local == name and source in imports.star):
            continue
        statement = imports.from_statements.get(source)
        if statement is not None and (source, name) not in imports.names:
            new = _with_alias(statement, name, module.default_indent, local)
            module = _replace_top_level(module, statement, new)
        else:
            AddImportsVisitor.add_needed_import(context, source, name, None if local == name else local)
            pending = True
    if not pending:
        return module
    # The visitor reads and rewrites only the module's first statements: it runs on those alone, and
    # not over every node of a long module (seconds in a DAG file of thousands of lines).
    head = _import_head(module.body)
    added = AddImportsVisitor(context).transform_module(module.with_changes(body=module.body[:head]))
    return added.with_changes(body=[*added.body, *module.body[head:]])


def _import_head(body: Sequence[cst.BaseStatement]) -> int:
    """How many first statements ``AddImportsVisitor`` reads and rewrites, or more: a first simple
    statement (a docstring), the one-import lines after it (it adds new imports after them and
    merges into them), and the statement after those (it gets a blank line above it)."""
    index = 1 if body and isinstance(body[0], cst.SimpleStatementLine) else 0
    while index < len(body) and isinstance(body[index], cst.SimpleStatementLine) \
            and len(body[index].body) == 1 and isinstance(body[index].body[0], (cst.Import, cst.ImportFrom)):
        index += 1
    return min(len(body), index + 1)


def _replace_top_level(module: cst.Module, old: cst.BaseSmallStatement,
                       new: cst.BaseSmallStatement) -> cst.Module:
    """``module`` with a statement of its top level replaced, without walking the whole tree
    as ``deep_replace`` does."""
    body = list(module.body)
    for index, line in enumerate(body):
        if isinstance(line, cst.SimpleStatementLine) and any(s is old for s in line.body):
            body[index] = line.with_changes(body=[new if s is old else s for s in line.body])
            return module.with_changes(body=body)
    return module.deep_replace(old, new)


def _with_alias(statement: cst.ImportFrom, name: str, indent: str, local: str | None = None
                ) -> cst.ImportFrom:
    aliases = list(statement.names)
    keys = [_isort_key(get_full_name_for_node(a.name) or "") for a in aliases]
    index = len(aliases)
    if keys == sorted(keys):
        index = next((i for i, key in enumerate(keys) if key > _isort_key(name)), len(aliases))
    new = cst.ImportAlias(name=cst.Name(name), asname=None if local in (None, name) else
                          cst.AsName(name=cst.Name(local)))
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


def add_module_import(module: cst.Module, name: str) -> cst.Module:
    """``import name`` among the module's first block of plain ``import x`` (``import x.y``) lines,
    in sorted order; before its first import when it has none (stdlib first, as isort does)."""
    body = list(module.body)
    imports = Imports(module)
    if name in imports.modules:
        return module
    plain = [i for i, s in enumerate(body) if _plain_import(s) is not None]
    new = cst.parse_statement(f"import {name}{module.default_newline}")
    if plain:
        run = [plain[0]]  # the first block of them: a blank line starts another section
        for i in plain[1:]:
            if i != run[-1] + 1 or body[i].leading_lines:
                break
            run.append(i)
        names = [_plain_import(body[i]) for i in run]
        index = next((i for i, n in zip(run, names) if n > name), None) \
            if names == sorted(names) else None
        if index is None:
            body.insert(run[-1] + 1, new)
        else:
            body[index:index + 1] = [new.with_changes(leading_lines=body[index].leading_lines),
                                     body[index].with_changes(leading_lines=())]
        return module.with_changes(body=body)
    first = next((i for i, s in enumerate(body) if isinstance(s, cst.SimpleStatementLine)
                  and any(isinstance(x, (cst.Import, cst.ImportFrom)) for x in s.body)), None)
    if first is None:
        context = CodemodContext()
        AddImportsVisitor.add_needed_import(context, name)
        return AddImportsVisitor(context).transform_module(module)
    body[first:first + 1] = [new.with_changes(leading_lines=body[first].leading_lines),
                             body[first].with_changes(leading_lines=[cst.EmptyLine()])]
    return module.with_changes(body=body)


def _plain_import(statement: cst.CSTNode) -> str | None:
    """``x`` (``x.y``) for a line that is exactly ``import x`` (``import x.y``: one name, no alias)."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        node = statement.body[0]
        if isinstance(node, cst.Import) and len(node.names) == 1 and node.names[0].asname is None:
            return cst.Module([]).code_for_node(node.names[0].name)
    return None
