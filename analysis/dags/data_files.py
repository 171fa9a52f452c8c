"""Configuration files of the workspace, read as the DAG file reads them at import.

Config-driven DAG generation is the enterprise norm: a loop over ``glob("configs/*.yaml")``
with ``yaml.safe_load``, a ``json.load`` of a JSON file beside the DAG, folders listed with
``os.listdir``. Those files are in the workspace, so their content is as certain as the code's:
static reading reads them (through ``ProjectCode``, an editor buffer first), parses JSON and YAML
with safe loaders, and lists folders, only ever under the import roots (the DAG folders, the
workspace). Nothing is executed; a file outside, missing, too large or not parseable is unknown.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import os
from dataclasses import dataclass
from pathlib import PurePath, PurePosixPath
from typing import Any

from analysis.dags.modules import ProjectCode
from analysis.dags.values import Const, Mapping, Seq, Unknown, Value

MAX_DATA_BYTES = 2 * 1024 * 1024
MAX_LISTED = 2000


@dataclass(frozen=True, slots=True)
class DirEntry:
    """What ``os.scandir`` yields: a folder's entry, its ``name`` and its ``path`` (the folder as
    given, joined with the name), asked ``is_file()``/``is_dir()``."""

    name: str
    path: str


@dataclass(eq=False, slots=True)
class FileValue(Value):
    """``open(path)``: a workspace file opened for reading."""

    path: str


def to_value(data: Any, depth: int = 0) -> Value:
    """Parsed JSON/YAML as interpreter values."""
    if depth > 40:
        return Unknown("nested data")
    if isinstance(data, dict):
        if all(isinstance(k, (str, int, float, bool)) or k is None for k in data):
            return Mapping({k: to_value(v, depth + 1) for k, v in data.items()})
        return Unknown("mapping")
    if isinstance(data, (list, tuple)):
        return Seq([to_value(v, depth + 1) for v in data])
    if isinstance(data, (str, int, float, bool)) or data is None:
        return Const(data)
    return Const(str(data)) if hasattr(data, "isoformat") else Unknown("value")


class DataFiles:
    """Mixed into the evaluator."""

    code: ProjectCode | None
    dependencies: dict[str, str]

    def observed(self, path: str) -> None:
        """The facts depend on what ``path`` holds now (a text, a listing, its absence): noted in
        the file's dependencies, so a cache of them holds only while it is unchanged."""
        if self.code is not None:
            self.dependencies[path] = self.code.digest(path)

    def readable(self, path: object) -> str | None:
        """An absolute path under the import roots that static reading may read, or None."""
        if isinstance(path, PurePath):
            path = str(path)
        if not isinstance(path, str) or self.code is None or not os.path.isabs(path):
            return None
        path = os.path.normpath(path)
        return path if self.code.inside(path) else None

    def read_text(self, path: object) -> str | None:
        readable = self.readable(path)
        if readable is None:
            return None
        text = self.code.text(readable)  # type: ignore[union-attr]
        self.observed(readable)
        if text is None or len(text) > MAX_DATA_BYTES:
            return None
        self.spend(len(text) // 200)  # type: ignore[attr-defined]
        return text

    def data_call(self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value | None:
        """The standard library's file and data functions; None for other names."""
        first = args[0] if args else None
        raw = first.value if isinstance(first, Const) else None
        if name == "builtins.open":
            mode = args[1] if len(args) > 1 else kwargs.get("mode", Const("r"))
            if isinstance(mode, Const) and isinstance(mode.value, str) and set(mode.value) <= set("rt") \
                    and self.readable(raw):
                return FileValue(self.readable(raw))  # type: ignore[arg-type]
            return Unknown(node)
        if name in ("json.load", "yaml.safe_load", "yaml.load", "yaml.full_load", "json.loads"):
            text = self._text_of(first)
            return self._parse(text, json_format=name.startswith("json"), node=node)
        if name in ("os.listdir", "os.scandir"):
            folder = self.readable(raw if raw is not None else None)
            if folder is not None:
                self.observed(folder)
            if folder is None or self.code is None or not self.code.is_dir(folder):
                return Unknown(node)
            names = self.code.list_dir(folder)[:MAX_LISTED]
            if name == "os.scandir":
                return Seq([Const(DirEntry(n, os.path.join(str(raw), n))) for n in names])
            return Seq([Const(n) for n in names])
        if name in ("glob.glob", "glob.iglob"):
            return self._glob(raw, recursive=bool(_plain(kwargs.get("recursive"))), node=node)
        if name in ("os.path.exists", "os.path.isfile", "os.path.isdir"):
            path = self.readable(raw)
            if path is None or self.code is None:
                return Unknown(node)
            self.observed(path)
            is_file, is_dir = self.code.is_file(path), self.code.is_dir(path)
            return Const({"os.path.exists": is_file or is_dir, "os.path.isfile": is_file,
                          "os.path.isdir": is_dir}[name])
        return None

    def path_method(self, path: PurePath, name: str, args: list[Value], node: ast.Call) -> Value | None:
        """Methods of a ``pathlib.Path`` the interpreter knows."""
        if name == "read_text":
            text = self.read_text(path)
            return Const(text) if text is not None else Unknown(node)
        if name == "open":  # `path.open()`, `path.open("r")`: as `open(path)`
            return self.data_call("builtins.open", [Const(str(path)), *args[:1]], {}, node)
        if name in ("exists", "is_file", "is_dir"):
            readable = self.readable(path)
            if readable is None or self.code is None:
                return Unknown(node)
            self.observed(readable)
            is_file, is_dir = self.code.is_file(readable), self.code.is_dir(readable)
            return Const({"exists": is_file or is_dir, "is_file": is_file, "is_dir": is_dir}[name])
        if name in ("glob", "rglob") and args and isinstance(args[0], Const) and isinstance(args[0].value, str):
            pattern = args[0].value if name == "glob" else "**/" + args[0].value
            found = self._glob(str(path / pattern), recursive=True, node=node)
            if isinstance(found, Seq):
                return Seq([Const(PurePosixPath(i.value)) for i in found.items if isinstance(i, Const)])
            return found
        if name == "iterdir":
            listed = self.data_call("os.listdir", [Const(str(path))], {}, node)
            if isinstance(listed, Seq):
                return Seq([Const(path / i.value) for i in listed.items if isinstance(i, Const)])
            return listed
        if name in ("resolve", "absolute"):
            return Const(path)
        if name == "joinpath" and all(isinstance(a, Const) and isinstance(a.value, str) for a in args):
            return Const(path.joinpath(*(a.value for a in args)))  # type: ignore[union-attr]
        if name == "with_suffix" and args and isinstance(args[0], Const) and isinstance(args[0].value, str):
            try:
                return Const(path.with_suffix(args[0].value))
            except ValueError:
                return Unknown(node)
        return None

    def file_method(self, handle: FileValue, name: str, node: ast.Call) -> Value | None:
        if name == "read":
            text = self.read_text(handle.path)
            return Const(text) if text is not None else Unknown(node)
        if name == "readlines":
            text = self.read_text(handle.path)
            return Seq([Const(line) for line in text.splitlines(keepends=True)]) if text is not None else Unknown(node)
        return None

    # -- helpers ------------------------------------------------------------------------------

    def _text_of(self, value: Value | None) -> str | None:
        if isinstance(value, FileValue):
            return self.read_text(value.path)
        if isinstance(value, Const) and isinstance(value.value, str):
            return value.value
        return None

    def _parse(self, text: str | None, *, json_format: bool, node: ast.Call) -> Value:
        if text is None:
            return Unknown(node)
        try:
            if json_format:
                data = json.loads(text)
            else:
                from analysis.state.safe_yaml import Constructor, compose

                root = compose(text)
                data = Constructor().construct(root) if root is not None else None
        except Exception:  # noqa: BLE001 - a file the project's own import would fail on too
            return Unknown(node)
        return to_value(data)

    def _glob(self, pattern: object, *, recursive: bool, node: ast.Call) -> Value:
        if not isinstance(pattern, str) or self.code is None or not os.path.isabs(pattern):
            return Unknown(node)
        parts = os.path.normpath(pattern).split(os.sep)
        fixed = next((i for i, p in enumerate(parts) if any(c in p for c in "*?[")), len(parts))
        base = os.sep.join(parts[:fixed]) or os.sep
        if self.readable(base) is None:
            return Unknown(node)
        if fixed == len(parts):
            self.observed(base)
            return Seq([Const(base)] if self.code.is_file(base) or self.code.is_dir(base) else [])
        found: list[str] = []
        self._walk(base, parts[fixed:], recursive, found)
        return Seq([Const(p) for p in sorted(found)[:MAX_LISTED]])

    def _walk(self, folder: str, rest: list[str], recursive: bool, found: list[str]) -> None:
        if len(found) >= MAX_LISTED or self.code is None:
            return
        self.observed(folder)
        head, tail = rest[0], rest[1:]
        if head == "**" and recursive:
            self._walk(folder, tail or ["*"], recursive, found)
            for name in self.code.list_dir(folder):
                child = os.path.join(folder, name)
                if not name.startswith(".") and self.code.is_dir(child):
                    self._walk(child, rest, recursive, found)
            return
        for name in self.code.list_dir(folder):
            if name.startswith(".") and not head.startswith("."):
                continue
            if fnmatch.fnmatchcase(name, head):
                child = os.path.join(folder, name)
                if not tail:
                    found.append(child)
                elif self.code.is_dir(child):
                    self._walk(child, tail, recursive, found)


def _plain(value: Value | None) -> Any:
    return value.value if isinstance(value, Const) else None
