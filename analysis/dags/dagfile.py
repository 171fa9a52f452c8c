"""The static model of one DAG file: ``extract_file(path, text) -> FileFacts``.

The read-only model runs on CPython's ``ast`` (about 8x faster than libcst to parse, and
the index must read hundreds of files cold); its ranges are converted to libcst's
code-point columns and checked against libcst's ``PositionProvider`` in the tests.
libcst stays the parser of record for every rewrite.
"""

from __future__ import annotations

import ast
import posixpath
import warnings

from analysis.dags.budget import OutOfBudget
from analysis.facts import FileFacts, Finding, ProxyingHook, Range, Severity
from analysis.dags.interpreter import Interpreter, Return
from analysis.dags.modules import ProjectCode
from analysis.dags.unrecognized import unrecognized_finding
from analysis.dags.names import Imports, Kind, classify
from analysis.source import LineIndex
from analysis.dags.values import Const

DEFAULT_STATE_DIR = "proxied_state"


_CACHE_LIMIT = 4096
_cache: dict[str, tuple[str, FileFacts, ProjectCode | None]] = {}


def extract_file(path: str, text: str, code: ProjectCode | None = None, *, arguments: bool = False) -> FileFacts:
    """Facts of one DAG file. Never raises on bad input. With ``code``, the imports of the
    project's own modules are followed (see ``analysis.dags.modules``). ``arguments``: each task
    also holds what its constructor was given (``TaskFacts.arguments``; read anew, not cached).

    Cached per path, for its latest content only: an editor produces a new version per
    keystroke, and keeping them all would only feed the garbage collector. Facts read through
    other modules hold while those modules' texts do.
    """
    if arguments:
        return _extract(path, text, code, arguments=True)
    cached = _cache.get(path)
    if cached is not None and cached[0] == text and cached[2] is code and (
            code is None or code.current(cached[1].dependencies)):
        return cached[1]
    facts = _extract(path, text, code)
    if len(_cache) >= _CACHE_LIMIT:
        _cache.pop(next(iter(_cache)), None)
    _cache[path] = (text, facts, code)
    return facts


def _extract(path: str, text: str, code: ProjectCode | None = None, *, arguments: bool = False) -> FileFacts:
    lines = LineIndex(text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = ast.parse(text, filename=path)
    except SyntaxError as error:
        return _error_facts(path, f"invalid Python: {error.msg}", lines.syntax_error_range(error))
    except (ValueError, MemoryError, RecursionError) as error:
        return _error_facts(path, f"cannot parse: {error}", Range.point(0))
    interpreter = Interpreter(path, text, code=code, module_name=code.module_name(path) if code else None,
                              arguments=arguments)
    try:
        interpreter.run_module(module)
    except RecursionError:
        # Ours, not Python's (ast.parse read the file, so Airflow can compile it): what was
        # read stands, marked incomplete. The interpreter catches this per statement already.
        interpreter.nesting = 0
        interpreter.give_up("nesting", None, "this file nests too deeply to read statically")
    except Exception as error:  # noqa: BLE001 - a bug of ours must cost one file, not the run
        interpreter.nesting = 0
        where = interpreter.statement
        interpreter.give_up("internal", where, f"internal error of airlift-lsp while reading this file "
                            f"({type(error).__name__}: {error}; please report it): the rest of it is not read")
    dags = interpreter.collector.freeze()
    findings = list(interpreter.collector.findings)
    if not dags:
        unrecognized = unrecognized_finding(path, interpreter.unfollowed, module, interpreter.collector.incomplete)
        if unrecognized is not None:
            findings.append(unrecognized)
    return FileFacts(
        path=path,
        dags=dags,
        findings=tuple(findings),
        proxying=_find_hook(module, lines, interpreter, text),
        dependencies=tuple(sorted((p, d) for p, d in interpreter.dependencies.items() if p != path)),
    )


def _error_facts(path: str, message: str, at: Range) -> FileFacts:
    finding = Finding("syntax-error", Severity.ERROR,
                      f"Airflow will fail to import this file: {message}", path, at)
    return FileFacts(path=path, error=message, error_range=at, findings=(finding,))


# -- the proxying hook -------------------------------------------------------------------


def _find_hook(module: ast.Module, lines: LineIndex, interpreter: Interpreter,
               text: str) -> ProxyingHook | None:
    if "proxying_to_dagster" not in text:
        return None
    imports = Imports()
    for node in ast.walk(module):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.add(node)
    found: tuple[int, ast.Call, ast.If | None] | None = None
    for index, statement in enumerate(module.body):
        for call, guard in _calls_in(statement, None):
            if _is_hook(call.func, imports):
                found = (index, call, guard)
    if found is None:
        return None
    index, call, guard = found
    trailing = next((s for s in module.body[index + 1:] if not _is_noop(s)), None)
    created = interpreter.created_after_statement
    creates_after = bool(created) and index < len(created) and created[-1] > created[index]
    state_dir, state_dir_node = _state_dir(call, imports, module)
    enabled = True
    if guard is not None:
        try:
            test = interpreter.eval(guard.test, interpreter.module_scope)
        except OutOfBudget:  # reading stopped before the end: the guard is not known
            test = None
        enabled = bool(test.value) if isinstance(test, Const) else None
    return ProxyingHook(
        range=lines.range_of(call),
        is_last=trailing is None,
        trailing_range=lines.range_of(trailing) if trailing is not None else None,
        creates_after=creates_after,
        state_dir=state_dir,
        state_dir_range=lines.range_of(state_dir_node) if state_dir_node is not None else None,
        guarded=guard is not None,
        enabled=enabled,
    )


def _calls_in(statement: ast.stmt, guard: ast.If | None):
    """Calls at statement level, looking into ``if``/``try`` blocks (the guarded form), in
    source order. A stack, not recursion: ``elif`` chains nest one level per branch."""
    stack: list[tuple[ast.stmt, ast.If | None]] = [(statement, guard)]
    while stack:
        statement, guard = stack.pop()
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            yield statement.value, guard
        elif isinstance(statement, ast.If):
            inner = guard or statement
            stack.extend((child, inner) for child in reversed([*statement.body, *statement.orelse]))
        elif isinstance(statement, ast.Try):
            stack.extend((child, guard) for child in
                         reversed([*statement.body, *statement.orelse, *statement.finalbody]))


def _is_hook(func: ast.expr, imports: Imports) -> bool:
    if classify(imports.qualify(func)) is Kind.PROXYING_TO_DAGSTER:
        return True
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name == "proxying_to_dagster"


def _is_noop(statement: ast.stmt) -> bool:
    if isinstance(statement, ast.Pass):
        return True
    if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
        return True
    if isinstance(statement, ast.If) and any(
            isinstance(node, ast.Constant) and node.value == "__main__" for node in ast.walk(statement.test)):
        return True
    return isinstance(statement, (ast.Import, ast.ImportFrom))


def _state_dir(call: ast.Call, imports: Imports, module: ast.Module) -> tuple[str | None, ast.expr | None]:
    argument = next((k.value for k in call.keywords if k.arg == "proxied_state"), None)
    if argument is None:
        return None, None
    argument = _module_value(argument, module)
    if not (isinstance(argument, ast.Call) and argument.args):
        return None, argument
    folder = argument.args[0]
    resolved = _resolve_path(folder, module, 0)
    if resolved is None or resolved[0] != "dir":
        return None, folder
    return posixpath.normpath(resolved[1]) if resolved[1] else ".", folder


def _module_value(node: ast.expr, module: ast.Module) -> ast.expr:
    """A module-level name's assigned expression (``STATE = Path(...) / "x"``)."""
    if not isinstance(node, ast.Name):
        return node
    value: ast.expr = node
    for statement in module.body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == node.id for t in statement.targets
        ):
            value = statement.value
    return value


def _resolve_path(node: ast.expr, module: ast.Module, depth: int) -> tuple[str, str] | None:
    """Resolve a path built from ``__file__``: ("file", "") or ("dir", relative path)."""
    if depth > 10:
        return None
    node = _module_value(node, module) if isinstance(node, ast.Name) and node.id != "__file__" else node
    if isinstance(node, ast.Name) and node.id == "__file__":
        return ("file", "")
    if isinstance(node, ast.Call):
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name in ("Path", "PurePath", "PosixPath", "str", "fspath", "abspath", "realpath",
                    "normpath") and node.args:
            return _resolve_path(node.args[0], module, depth + 1)
        if name == "dirname" and node.args:
            inner = _resolve_path(node.args[0], module, depth + 1)
            return _parent(inner)
        if name == "join" and node.args:
            base = _resolve_path(node.args[0], module, depth + 1)
            return _join(base, node.args[1:])
        if isinstance(func, ast.Attribute):
            base = _resolve_path(func.value, module, depth + 1)
            if name in ("resolve", "absolute"):
                return base
            if name == "joinpath":
                return _join(base, node.args)
        return None
    if isinstance(node, ast.Attribute) and node.attr == "parent":
        return _parent(_resolve_path(node.value, module, depth + 1))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        return _join(_resolve_path(node.left, module, depth + 1), [node.right])
    return None


def _parent(path: tuple[str, str] | None) -> tuple[str, str] | None:
    if path is None:
        return None
    kind, relative = path
    if kind == "file":
        return ("dir", "")
    return ("dir", posixpath.join(relative, "..") if relative else "..")


def _join(base: tuple[str, str] | None, parts: list[ast.expr]) -> tuple[str, str] | None:
    if base is None or base[0] != "dir":
        return None
    relative = base[1]
    for part in parts:
        if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
            return None
        relative = posixpath.join(relative, part.value) if relative else part.value
    return ("dir", relative)


__all__ = ["extract_file", "DEFAULT_STATE_DIR", "Return"]
