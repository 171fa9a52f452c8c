"""Whether the code a scaffold copies imports Airflow through the project's own modules.

The asset imports what the task's code imports when it runs, in Dagster's process, where Airflow
is not installed: a project module that imports Airflow at its top (a config class next to a
``PodGenerator`` import, the DAG file itself) fails the asset with ``No module named 'airflow'``
although the task's own code never names Airflow. ``airflow_reached`` follows the absolute
imports of the copied code into the project's modules (``ModuleSource``: those found on the DAG
folders and import roots), and from there every import their module-level code runs, including
each parent package's ``__init__``, and says where the first import of Airflow is.

Also followed: the module's own functions that its top-level code calls (``CONF = _conf()``, a
decorator), and the handlers of a ``try`` (they run when it fails). Not followed: imports inside
functions that nothing calls when the module is imported (a helper that imports Airflow when the
task calls it fails the asset only when it runs), under ``if TYPE_CHECKING:`` or
``if __name__ == "__main__":``, or in a ``try`` whose handlers catch ``ImportError`` (and do not
raise it again); both branches of an ``if`` on ``sys.version_info`` are followed; relative imports
of the copied code itself (its module is not known here).
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from analysis.edits.scaffold.imported import ModuleSource, project_modules
from analysis.edits.scaffold.statements import is_airflow
from analysis.import_guards import guards_imports

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
    package: bool = False
    """``module`` is a package: the line is in its ``__init__.py``."""

    @property
    def file(self) -> str:
        """The file of ``module``, from the folder it is imported from (``team/settings.py``)."""
        return self.module.replace(".", "/") + ("/__init__.py" if self.package else ".py")

    def reason(self, label: str) -> str:
        through = f" through `{self.module}`" if self.module != self.needed else ""
        return (f"{label} needs `{self.needed}`, which imports Airflow{through} (`{self.airflow}` on line "
                f"{self.line} of `{self.file}`): Dagster, without Airflow, cannot import it")


def airflow_problem(plan, label: str, code) -> str | None:
    """Why the asset of ``plan`` (``Plan``) would fail to import what it copies, in the project's
    code (``ProjectCode``); None when nothing it imports reaches Airflow. A Pipes plan runs its
    code in another Python, which is not asked about."""
    if code is None or plan.pipes is not None:
        return None
    copied = [s for unit in plan.units for s in unit.statements] + ([plan.function] if plan.function else [])
    reached = airflow_reached(project_modules(code), _imports(copied))
    return reached.reason(label) if reached is not None else None


def copied_imports(nodes: Iterable[ast.AST]) -> list[str]:
    """The absolute modules the copied code imports, anywhere in it (a function's imports run
    when the asset calls it) but where a failure is caught (a ``try`` catching ``ImportError``)
    or that never runs (``if TYPE_CHECKING:``); ``from a import b`` gives ``a`` and ``a.b`` (``b``
    may be a module)."""
    return list(dict.fromkeys(dotted for dotted, _ in _imports(nodes)))


def _imports(nodes: Iterable[ast.AST]) -> list[tuple[str, bool]]:
    """``copied_imports``, each with whether it is only possibly a module: ``from a import b``
    imports ``a.b`` only when ``a`` does not bind ``b`` itself."""
    found: list[tuple[str, bool]] = []
    for root in nodes:
        for node in _unguarded(root):
            if isinstance(node, ast.Import):
                found.extend((alias.name, False) for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.append((node.module, False))
                found.extend((f"{node.module}.{alias.name}", True) for alias in node.names if alias.name != "*")
    return list(dict.fromkeys(found))


def _unguarded(node: ast.AST) -> Iterable[ast.AST]:
    """``ast.walk``, but not into the body of a ``try`` whose handlers catch a failed import (its
    handlers, ``else`` and ``finally`` are walked) nor of ``if TYPE_CHECKING:``. Without recursion,
    as ``ast.walk``: a long chain of ``+`` nests as deep as it is long."""
    pending = [node]
    while pending:
        node = pending.pop()
        yield node
        if isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            parts = [*([] if guards_imports(node) else node.body), *node.handlers, *node.orelse, *node.finalbody]
        elif isinstance(node, ast.If) and _type_checking(node.test):
            parts = [node.test, *node.orelse]
        else:
            parts = list(ast.iter_child_nodes(node))
        pending.extend(reversed(parts))  # in the order written


def airflow_reached(read: ModuleSource | None,
                    modules: Iterable[str | tuple[str, bool]]) -> AirflowImport | None:
    """The first import of Airflow that importing ``modules`` runs through the project's modules
    (None when there is none, or no project code is known). Airflow's own modules among
    ``modules`` are not this question (the scaffold refuses them where they are written).
    A module given as (dotted, True) is only possibly one (``from a import b``): not read when
    its package binds the name itself (a function ``b`` of ``a/__init__.py``)."""
    if read is None:
        return None
    seen: set[str] = set()
    queue: list[tuple[str, str, bool]] = []  # (module to read, the copy's module it is needed for, possibly)
    for given in modules:
        dotted, possibly = (given, False) if isinstance(given, str) else given
        if not is_airflow(dotted):
            queue.extend(_queued(dotted, dotted, possibly))
    read_modules = 0
    while queue and read_modules < _LIMIT:
        dotted, needed, possibly = queue.pop(0)
        if dotted in seen or possibly and _bound_by_package(read, dotted):
            continue
        seen.add(dotted)
        source = read(dotted)
        if source is None:
            continue
        read_modules += 1
        path, text = source
        package = dotted if path.endswith("__init__.py") else dotted.rpartition(".")[0]
        for line, imported, maybe in _top_level_imports(text, package):
            if is_airflow(imported):
                return AirflowImport(needed, dotted, line, imported, path.endswith("__init__.py"))
            queue.extend(q for q in _queued(imported, needed, maybe) if q[0] not in seen)
    return None


def _queued(dotted: str, needed: str, possibly: bool) -> list[tuple[str, str, bool]]:
    """``dotted``'s packages then itself, to read (only ``dotted`` may be only possibly a module)."""
    packages = _packages(dotted)
    return [(prefix, needed, possibly and prefix == dotted) for prefix in packages]


def _bound_by_package(read: ModuleSource, dotted: str) -> bool:
    """``a.b`` is a name ``a/__init__.py`` binds without importing it (``def b``, ``b = ...``):
    ``from a import b`` takes that and imports no module ``a.b``."""
    package, _, name = dotted.rpartition(".")
    source = read(package) if package else None
    return source is not None and source[0].endswith("__init__.py") and name in _own_names(source[1])


@lru_cache(maxsize=512)
def _own_names(text: str) -> frozenset[str]:
    """The names a module's top-level code binds itself: functions, classes, assignments."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    names: set[str] = set()
    pending = list(tree.body)
    while pending:  # the module's own level: a class's body binds the class's names, not the module's
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                pending.extend(getattr(node, field, None) or ())
    return frozenset(names)


def _packages(dotted: str) -> list[str]:
    """``a.b.c`` -> ``a``, ``a.b``, ``a.b.c``: importing a module runs its packages first."""
    parts = dotted.split(".")
    return [".".join(parts[:n]) for n in range(1, len(parts) + 1)]


@lru_cache(maxsize=2048)
def _top_level_imports(text: str, package: str) -> tuple[tuple[int, str, bool], ...]:
    """(line, absolute module, only possibly a module) of each import a module runs when it is
    imported (``from a import b``: ``a``, then possibly ``a.b``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    found: list[tuple[int, str, bool]] = []
    for node in _import_time_nodes(tree.body):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, False) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, package)
            if base is None:
                continue
            found.append((node.lineno, base, False))
            found.extend((node.lineno, f"{base}.{alias.name}", True) for alias in node.names if alias.name != "*")
    return tuple(found)


def _import_time_nodes(body: list[ast.stmt]) -> list[ast.stmt]:
    """The statements a module runs when imported (``_runs_at_import``), and those of its own
    functions that they call (``CONF = _conf()``, a decorator), transitively."""
    statements = list(_runs_at_import(body))
    functions = {s.name: s for s in body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))}
    called = [n for s in statements for header in _headers(s) for n in _called_names(header)]
    called += [d.id for s in statements if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               for d in s.decorator_list if isinstance(d, ast.Name)]  # `@registered`: called with the function
    seen: set[str] = set()
    while called:
        name = called.pop()
        if name in seen or name not in functions:
            continue
        seen.add(name)
        for node in _unguarded(functions[name]):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                statements.append(node)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                called.append(node.func.id)
    return statements


def _headers(statement: ast.stmt) -> list[ast.AST]:
    """What of a statement runs where it stands (a compound statement's body is yielded apart)."""
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return [*statement.decorator_list, *statement.args.defaults, *(d for d in statement.args.kw_defaults if d)]
    if isinstance(statement, ast.ClassDef):
        return [*statement.decorator_list, *statement.bases, *(k.value for k in statement.keywords)]
    if isinstance(statement, (ast.If, ast.While)):
        return [statement.test]
    if isinstance(statement, (ast.For, ast.AsyncFor)):
        return [statement.iter]
    if isinstance(statement, (ast.With, ast.AsyncWith)):
        return [item.context_expr for item in statement.items]
    if isinstance(statement, ast.Match):
        return [statement.subject]
    if isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
        return []
    return [statement]


def _called_names(node: ast.AST) -> list[str]:
    return [n.func.id for n in ast.walk(node) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]


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
    ``if TYPE_CHECKING:`` or ``if __name__ == "__main__":``, not in a ``try`` whose handlers catch
    the failure (the handlers are, as they run when it fails); class bodies and ``match`` cases run."""
    for statement in body:
        yield statement
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(statement, ast.ClassDef):
            yield from _runs_at_import(statement.body)
        elif isinstance(statement, ast.If):
            if not _type_checking(statement.test) and not _main(statement.test):
                yield from _runs_at_import(statement.body)
            yield from _runs_at_import(statement.orelse)
        elif isinstance(statement, ast.Try) or type(statement).__name__ == "TryStar":
            if not guards_imports(statement):
                yield from _runs_at_import(statement.body)
            for handler in statement.handlers:
                yield from _runs_at_import(handler.body)
            yield from _runs_at_import(statement.orelse)
            yield from _runs_at_import(statement.finalbody)
        elif isinstance(statement, (ast.With, ast.AsyncWith, ast.For, ast.AsyncFor, ast.While)):
            yield from _runs_at_import(statement.body)
            yield from _runs_at_import(getattr(statement, "orelse", []))
        elif isinstance(statement, ast.Match):
            for case in statement.cases:
                yield from _runs_at_import(case.body)



def _main(test: ast.expr) -> bool:
    """``__name__ == "__main__"``: false when the module is imported."""
    return (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)
            and {ast.dump(test.left), ast.dump(test.comparators[0])}
            == {ast.dump(ast.Name("__name__", ast.Load())), ast.dump(ast.Constant("__main__"))})


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
            or isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")
