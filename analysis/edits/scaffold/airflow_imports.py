"""Whether the code a scaffold copies imports Airflow through the project's own modules.

The asset imports what the task's code imports when it runs, in Dagster's process, where Airflow
is not installed: a project module that imports Airflow at its top (a config class next to a
``PodGenerator`` import, the DAG file itself) fails the asset with ``No module named 'airflow'``
although the task's own code never names Airflow. ``airflow_reached`` follows the absolute
imports of the copied code into the project's modules (``ModuleSource``: those found on the DAG
folders and import roots), and from there every import their module-level code runs, including
each parent package's ``__init__``, and says where the first import of Airflow is.

Not followed: imports inside functions of those modules (they run only when called), under
``if TYPE_CHECKING:``, or in a ``try`` whose handlers catch ``ImportError``; relative imports of the copied
code itself (its module is not known here).
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from analysis.edits.scaffold.imported import ModuleSource, project_modules
from analysis.edits.scaffold.statements import is_airflow

_LIMIT = 400
"""Project modules followed at most, per question."""


@dataclass(frozen=True, slots=True)
class AirflowImport:
    needed: str
    """The project module the copied code imports."""
    module: str
    """The project module whose top-level code imports Airflow (``needed`` itself, or one it imports)."""
    line: int
    airflow: str
    """What that line imports (``airflow.providers...``)."""

    def reason(self, label: str) -> str:
        through = f" through `{self.module}`" if self.module != self.needed else ""
        return (f"{label} needs `{self.needed}`, which imports Airflow{through} (`{self.airflow}` on line "
                f"{self.line} of `{self.module}`): Dagster, without Airflow, cannot import it")


def airflow_problem(plan, label: str, code) -> str | None:
    """Why the asset of ``plan`` (``Plan``) would fail to import what it copies, in the project's
    code (``ProjectCode``); None when nothing it imports reaches Airflow. A Pipes plan runs its
    code in another Python, which is not asked about."""
    if code is None or plan.pipes is not None:
        return None
    copied = [s for unit in plan.units for s in unit.statements] + ([plan.function] if plan.function else [])
    reached = airflow_reached(project_modules(code), copied_imports(copied))
    return reached.reason(label) if reached is not None else None


def copied_imports(nodes: Iterable[ast.AST]) -> list[str]:
    """The absolute modules the copied code imports, anywhere in it (a function's imports run
    when the asset calls it); ``from a import b`` gives ``a`` and ``a.b`` (``b`` may be a module)."""
    found: list[str] = []
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Import):
                found.extend(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.append(node.module)
                found.extend(f"{node.module}.{alias.name}" for alias in node.names if alias.name != "*")
    return list(dict.fromkeys(found))


def airflow_reached(read: ModuleSource | None, modules: Iterable[str]) -> AirflowImport | None:
    """The first import of Airflow that importing ``modules`` runs through the project's modules
    (None when there is none, or no project code is known). Airflow's own modules among
    ``modules`` are not this question (the scaffold refuses them where they are written)."""
    if read is None:
        return None
    seen: set[str] = set()
    queue: list[tuple[str, str]] = []  # (module to read, the copied code's module it is needed for)
    for dotted in modules:
        if not is_airflow(dotted):
            queue.extend((prefix, dotted) for prefix in _packages(dotted))
    while queue and len(seen) < _LIMIT:
        dotted, needed = queue.pop(0)
        if dotted in seen:
            continue
        seen.add(dotted)
        source = read(dotted)
        if source is None:
            continue
        path, text = source
        package = dotted if path.endswith("__init__.py") else dotted.rpartition(".")[0]
        for line, imported in _top_level_imports(text, package):
            if is_airflow(imported):
                return AirflowImport(needed, dotted, line, imported)
            queue.extend((prefix, needed) for prefix in _packages(imported) if prefix not in seen)
    return None


def _packages(dotted: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: importing a module runs its packages first."""
    parts = dotted.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


@lru_cache(maxsize=2048)
def _top_level_imports(text: str, package: str) -> tuple[tuple[int, str], ...]:
    """(line, absolute module) of each import a module runs when it is imported."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    found: list[tuple[int, str]] = []
    for node in _runs_at_import(tree.body):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base is None:
                continue
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
    return tuple(found)


def _absolute(node: ast.ImportFrom, package: str) -> str | None:
    if not node.level:
        return node.module
    parts = package.split(".") if package else []
    if node.level - 1 > len(parts) or (node.level - 1 == len(parts) and not node.module):
        return None
    base = parts[:len(parts) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])]) or None


def _runs_at_import(body: list[ast.stmt]) -> Iterable[ast.stmt]:
    """Statements run when the module is imported: not in functions, not under
    ``if TYPE_CHECKING:``, not in a ``try`` whose handlers catch the failure; class bodies run."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(statement, ast.ClassDef):
            yield from _runs_at_import(statement.body)
        elif isinstance(statement, ast.If):
            if not _type_checking(statement.test):
                yield from _runs_at_import(statement.body)
            yield from _runs_at_import(statement.orelse)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            if not any(_catches_import_error(h.type) for h in statement.handlers):
                yield from _runs_at_import(statement.body)
            yield from _runs_at_import(statement.orelse)
            yield from _runs_at_import(statement.finalbody)
        elif isinstance(statement, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)):
            yield from _runs_at_import(statement.body)
            yield from _runs_at_import(getattr(statement, "orelse", []))


_CATCHING = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def _catches_import_error(caught: ast.expr | None) -> bool:
    """A handler that catches a failed import (bare ``except:`` too)."""
    if caught is None:
        return True
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any((n.id if isinstance(n, ast.Name) else getattr(n, "attr", None)) in _CATCHING for n in names)


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
