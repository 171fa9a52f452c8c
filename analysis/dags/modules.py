"""The project's own code, followed statically: the workspace modules a DAG file imports.

Enterprise DAG files are thin: ``from company.factory import make_dag``. Airflow puts each DAG
folder (and ``plugins/``, and whatever the deployment adds) on ``sys.path``; ``ProjectCode``
resolves imports against the same roots, reads the module's text (an editor buffer when there
is one), and runs it once through the same abstract interpreter. Its module scope then answers
``from company.factory import make_dag``: the function (still a syntax tree with its scope) runs
when the DAG file calls it. Nothing is executed. Modules outside the roots (Airflow, the
standard library, third-party packages) stay qualified names, as before.

Each module is read once per text (a library imported by 900 DAG files is interpreted once);
an import cycle sees the partly run module, as Python does.
"""

from __future__ import annotations

import ast
import hashlib
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from analysis.dags.scope import Scope
from analysis.dags.values import Mapping, Seq, Unknown, Value

MISSING = "missing"
"""The digest of a path that is neither a readable file nor a folder."""
MAX_MODULES = 5000
"""Workspace modules one project may hold read (a guard against pathological projects)."""
RECOGNISED = frozenset({"airflow", "dagster", "dagster_airlift"})
"""Packages whose names the interpreter knows by meaning: never read as project code, even when
a copy sits under an import root."""
_INSTALLED = ("site-packages", "dist-packages")


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(eq=False, slots=True)
class ModuleValue(Value):
    """A workspace module or package, as an import binds it."""

    name: str
    path: str | None
    """Its file (``__init__.py`` for a package); None for a namespace package."""
    scope: Scope | None
    code: ProjectCode

    def attribute(self, attr: str, importer: Importer) -> Value:
        if self.scope is not None and attr in self.scope.vars:
            return detach(self.scope.vars[attr])
        submodule = importer.import_module(f"{self.name}.{attr}")
        return submodule if submodule is not None else Unknown(f"{self.name}.{attr}")


def detach(value: Value) -> Value:
    """A module-level list or dict as another file sees it: its own copy, so that a DAG file
    appending to an imported list does not change the list the next file imports."""
    if isinstance(value, Seq):
        return Seq(list(value.items))
    if isinstance(value, Mapping):
        return Mapping(dict(value.items))
    return value


@dataclass(slots=True)
class LoadedModule:
    path: str
    sha: str
    scope: Scope
    dependencies: dict[str, str] = field(default_factory=dict)
    """Every workspace module read to run it, with the SHA-1 of its text (itself included)."""


class Importer:
    """What the interpreter needs from the import system (``ProjectCode`` is the real one)."""

    def import_module(self, dotted: str) -> ModuleValue | None:  # pragma: no cover - interface
        raise NotImplementedError


class ProjectCode:
    """The workspace's importable code: roots as ``sys.path`` has them, and a reader."""

    def __init__(self, roots: Iterable[str], read: Callable[[str], str | None],
                 is_file: Callable[[str], bool] = os.path.isfile,
                 is_dir: Callable[[str], bool] = os.path.isdir,
                 list_dir: Callable[[str], list[str]] | None = None,
                 environment: dict[str, str] | None = None) -> None:
        # Installed packages are never project code, whatever the roots say.
        self.roots = tuple(dict.fromkeys(
            root for root in (os.path.normpath(os.path.abspath(r)) for r in roots)
            if not any(part in _INSTALLED for part in root.split(os.sep))))
        self._read = read
        self.environment = dict(environment or {})
        """The deployment's environment variables that DAG files read at import (the
        ``environment`` setting); any other variable is unknown."""
        self.is_file = is_file
        self.is_dir = is_dir
        self.list_dir = list_dir or _list_dir
        self._texts: dict[str, str | None] = {}
        self._digests: dict[str, str] = {}
        self._modules: dict[str, LoadedModule] = {}
        self._found: dict[str, tuple[str | None, str | None]] = {}

    # -- texts ---------------------------------------------------------------------------

    def text(self, path: str) -> str | None:
        if path not in self._texts:
            self._texts[path] = self._read(path)
        return self._texts[path]

    def forget(self, paths: Iterable[str]) -> None:
        """Files changed (an editor buffer, a file on disk): read them again when needed."""
        gone = set(paths)
        for path in gone:
            self._texts.pop(path, None)
        self._digests.clear()  # a file made or removed changes its folder's listing too
        # And every module read through one of them (its values came from the old text).
        for path, loaded in list(self._modules.items()):
            if gone & loaded.dependencies.keys():
                del self._modules[path]
        self._found.clear()

    def digest(self, path: str) -> str:
        """What static reading sees at ``path``, for ``FileFacts.dependencies``: the SHA-1 of a
        file's text, ``dir:`` and the SHA-1 of a folder's listing, or ``missing``."""
        if path not in self._digests:
            if self.is_dir(path):
                self._digests[path] = "dir:" + sha1("\n".join(self.list_dir(path)))
            else:
                text = self.text(path)
                self._digests[path] = sha1(text) if text is not None else MISSING
        return self._digests[path]

    def current(self, dependencies: Iterable[tuple[str, str]]) -> bool:
        """Facts read through these modules, data files and folders still hold."""
        return all(self.digest(path) == digest for path, digest in dependencies)

    def inside(self, path: str) -> bool:  # noqa: D102
        """``path`` lies under one of the import roots (what static reading may read)."""
        path = os.path.normpath(os.path.abspath(path))
        return any(path == root or path.startswith(root + os.sep) for root in self.roots)

    # -- modules -------------------------------------------------------------------------

    def find(self, dotted: str) -> tuple[str | None, str | None]:
        """(file, package folder) of a workspace module: ``(path, None)`` for a module,
        ``(path/__init__.py, path)`` for a package, ``(None, path)`` for a namespace package,
        ``(None, None)`` when no root has it."""
        if dotted in self._found:
            return self._found[dotted]
        found: tuple[str | None, str | None] = (None, None)
        parts = dotted.split(".")
        if all(p.isidentifier() for p in parts) and parts[0] not in RECOGNISED:
            for root in self.roots:
                base = os.path.join(root, *parts)
                if self.is_file(base + ".py"):
                    found = (base + ".py", None)
                    break
                if self.is_file(os.path.join(base, "__init__.py")):
                    found = (os.path.join(base, "__init__.py"), base)
                    break
                if found == (None, None) and self.is_dir(base) and not _is_venv(base):
                    found = (None, base)  # a namespace package, unless a later root has a module
        self._found[dotted] = found
        return found

    def module_name(self, path: str) -> str | None:
        """The dotted name of a file under one of the roots (the first that holds it)."""
        path = os.path.normpath(os.path.abspath(path))
        for root in self.roots:
            if path.startswith(root + os.sep):
                relative = os.path.relpath(path, root)[:-3].split(os.sep)
                if relative[-1] == "__init__":
                    relative = relative[:-1]
                if relative and all(p.isidentifier() for p in relative):
                    return ".".join(relative)
        return None

    def load(self, path: str, dotted: str, run: Callable[[str, str, str, LoadedModule], None]) -> LoadedModule | None:
        """The module at ``path`` after running it (once per text): ``run(path, text, dotted,
        placeholder)`` fills the placeholder's scope. A module being loaded (an import cycle)
        is returned as it is so far."""
        text = self.text(path)
        if text is None:
            return None
        digest = sha1(text)
        loaded = self._modules.get(path)
        if loaded is not None and loaded.sha == digest:
            return loaded
        if len(self._modules) >= MAX_MODULES:
            return None
        loaded = LoadedModule(path, digest, Scope(), {path: digest})
        self._modules[path] = loaded
        run(path, text, dotted, loaded)
        return loaded


def parse_module(path: str, text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=path)
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None


def _is_venv(folder: str) -> bool:
    return os.path.exists(os.path.join(folder, "pyvenv.cfg"))


def _list_dir(folder: str) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []
