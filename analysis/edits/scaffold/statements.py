"""The DAG file's top-level statements, read in ``ast``: what each binds, reads and changes.

``DagFile`` groups the module's statements into ``Unit``s (statements sharing a line count as
one, as they do in libcst) and is cached per text. The functions below answer the scoping
questions a plan asks: the names a piece of code reads from module scope (Python's own
``symtable`` decides), the names a statement binds, and the names bound around a call or a
function inside the DAG's own code.
"""

from __future__ import annotations

import ast
import symtable
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analysis.dags.names import Imports as AstImports
from analysis.facts import TaskFacts
from analysis.source import LineIndex


@dataclass(frozen=True, slots=True)
class Unit:
    """A top-level statement of the DAG file (statements sharing a line count as one, as they
    do in libcst), what it binds at module level and what it changes without binding."""

    index: int
    statements: tuple[ast.stmt, ...]
    first_line: int
    """1-based, decorators included."""
    last_line: int
    binds: frozenset[str]
    mutates: frozenset[str]
    airflow_line: int | None
    """The line of an import from Airflow in it."""


class DagFile:
    """The DAG file's ``ast`` and top-level statements, kept per text (the editor asks for
    every task of a file at once)."""

    def __init__(self, text: str) -> None:
        self.text = text
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.tree = ast.parse(text)
        self.lines = LineIndex(text)
        self.units = _units(self.tree.body)
        self.imports = AstImports()
        self.star_lines: list[int] = []
        self.changed_in_place: frozenset[str] | None = None
        """Names whose value the file changes without binding them again (``plan_values``), once read."""
        for unit in self.units:
            for statement in unit.statements:
                for node in _module_level(statement):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        self.imports.add(node)
                        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                            self.star_lines.append(node.lineno)
        self._free: dict[int, frozenset[str]] = {}

    def unit_at(self, line: int) -> Unit | None:
        for unit in self.units:
            if unit.first_line <= line <= unit.last_line:
                return unit
        return None

    def free(self, unit: Unit) -> frozenset[str]:
        if unit.index not in self._free:
            self._free[unit.index] = free_names(unit.statements)
        return self._free[unit.index]

    def qualified(self, node: ast.expr) -> str:
        return self.imports.qualify(node) or ""

    def call_at(self, task: TaskFacts) -> ast.Call | None:
        for node in ast.walk(self.tree):  # `t.override(...)(...)`: both calls start there
            if isinstance(node, ast.Call) and node.lineno - 1 == task.range.start.line and \
                    self.lines.range_of(node) == task.range:
                return node
        return None


_DAG_FILES: dict[str, DagFile] = {}


def dag_file(text: str) -> DagFile | str:
    cached = _DAG_FILES.get(text)
    if cached is None:
        try:
            cached = DagFile(text)
        except (SyntaxError, ValueError) as error:
            return f"the DAG file cannot be parsed ({error}): fix it first"
        except (RecursionError, MemoryError):
            return "the DAG file nests too deeply to read"
        if len(_DAG_FILES) >= 8:
            _DAG_FILES.pop(next(iter(_DAG_FILES)))
        _DAG_FILES[text] = cached
    return cached


def _units(body: list[ast.stmt]) -> list[Unit]:
    groups: list[list[ast.stmt]] = []
    for statement in body:
        if groups and statement.lineno == groups[-1][-1].end_lineno:
            groups[-1].append(statement)
        else:
            groups.append([statement])
    units = []
    for index, group in enumerate(groups):
        first = min([group[0].lineno, *(d.lineno for d in getattr(group[0], "decorator_list", ()))])
        binds: set[str] = set()
        airflow = None
        for statement in group:
            binds |= bindings(statement)
            for node in _module_level(statement):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and airflow is None and \
                        any(is_airflow(m) for m in imported_modules(node)):
                    airflow = node.lineno
        units.append(Unit(index, tuple(group), first, group[-1].end_lineno or group[-1].lineno,
                           frozenset(binds), frozenset(_mutations(group)), airflow))
    return units


def is_import(unit: Unit) -> bool:
    return all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in unit.statements)


def is_airflow(module: str) -> bool:
    return module == "airflow" or module.startswith(("airflow.", "dagster_airlift.in_airflow"))


def imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return ["." * node.level + (node.module or "")]


def sole_import(statements: Sequence[ast.stmt], name: str) -> tuple[str, str] | None:
    """``(module, imported name)`` when ``name`` is bound among ``statements`` only by
    ``from module import imported [as name]`` (absolute imports, one module and name); None when
    anything else binds it too (``import``, an assignment, a ``def``: which binding holds is then
    only known when it runs)."""
    found = None
    for node in (n for statement in statements for n in ast.walk(statement)):
        if isinstance(node, ast.ImportFrom):
            for alias in (a for a in node.names if (a.asname or a.name) == name):
                if node.level or (found is not None and found != (node.module, alias.name)):
                    return None
                found = (node.module, alias.name)
        elif isinstance(node, ast.Import) and any((a.asname or a.name.split(".")[0]) == name for a in node.names) \
                or isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)) and node.id == name \
                or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
            return None
    return found


def _module_level(statement: ast.stmt) -> Iterable[ast.stmt]:
    """The statement and those nested in it that run at module level (not in defs/classes)."""
    yield statement
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(statement, field, ()):
            if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                for inner in child.body:
                    yield from _module_level(inner)
            elif isinstance(child, ast.stmt):
                yield from _module_level(child)


class _Bindings(ast.NodeVisitor):
    """Names a statement binds in the scope it runs in (not inside its defs and lambdas)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.names.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.names.add(node.name)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(a.asname or a.name.split(".")[0] for a in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.names.update(a.asname or a.name for a in node.names if a.name != "*")

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.names.add(node.name)


def bindings(statement: ast.stmt) -> set[str]:
    visitor = _Bindings()
    visitor.visit(statement)
    return visitor.names


def all_bindings(node: ast.AST) -> set[str]:
    """Every name bound anywhere in ``node``, parameters included (for "inside the DAG")."""
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.stmt):
            names |= bindings(child)
        elif isinstance(child, ast.arg):
            names.add(child.arg)
    return names


def bound_before(statements: Sequence[ast.stmt], call: ast.Call) -> set[str]:
    """Names the DAG's module-level code binds before ``call`` runs (``t = Op(python_callable=t)``
    reads the ``t`` of before, so the statement around the call does not count)."""
    names: set[str] = set()
    for statement in statements:
        for node in _module_level(statement):
            if (node.lineno, node.col_offset) >= (call.lineno, call.col_offset):
                continue
            around = (node.end_lineno, node.end_col_offset) >= (call.end_lineno, call.end_col_offset)
            if not around:
                names |= bindings(node)
            elif isinstance(node, (ast.With, ast.AsyncWith)):  # `as` names bind before the body
                names.update(n.id for item in node.items if item.optional_vars is not None
                             for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name))
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                names.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    return names


def enclosing_locals(statements: Sequence[ast.stmt], target: ast.AST) -> set[str]:
    """Names bound by the functions around ``target`` (closures see them before the module's)."""

    def search(node: ast.AST, scopes: list[ast.AST]) -> list[ast.AST] | None:
        if node is target:
            return scopes
        inner = [*scopes, node] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                     ast.Lambda)) else scopes
        for child in ast.iter_child_nodes(node):
            found = search(child, inner)
            if found is not None:
                return found
        return None

    names: set[str] = set()
    for statement in statements:
        scopes = search(statement, [])
        if scopes is None:
            continue
        for scope in scopes:
            names.update(a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg))
            body = scope.body if isinstance(scope.body, list) else []
            for child in body:
                names |= bindings(child)
    return names


def _mutations(statements: Iterable[ast.stmt]) -> set[str]:
    """Names whose objects a statement changes without binding them: ``sys.path.append(x)``,
    ``CONFIG["a"] = 1``. Such statements are copied along with the names they change."""
    roots = set()
    for statement in statements:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and \
                isinstance(statement.value.func, ast.Attribute):
            roots.add(_root(statement.value.func))
        targets = statement.targets if isinstance(statement, ast.Assign) else \
            [statement.target] if isinstance(statement, (ast.AugAssign, ast.AnnAssign)) else \
            statement.targets if isinstance(statement, ast.Delete) else []
        roots.update(_root(t) for t in targets if isinstance(t, (ast.Attribute, ast.Subscript)))
    return {r for r in roots if r}


def _root(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def free_names(nodes: Sequence[ast.AST]) -> frozenset[str]:
    """Names the code reads from its module's scope (those it binds itself included, so that
    ``x = x + 1`` needs the earlier ``x``). Python's own ``symtable`` decides the scoping."""
    body = [n if isinstance(n, ast.stmt) else ast.Expr(n) for n in nodes]
    source = ast.unparse(ast.Module(body=body, type_ignores=[]))
    table = symtable.symtable(source, "<scaffold>", "exec")
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    pending = list(table.get_children())
    while pending:
        child = pending.pop()
        pending.extend(child.get_children())
        names.update(s.get_name() for s in child.get_symbols() if s.is_global() and s.is_referenced())
    return frozenset(names)
