"""Finding and reading a project's Python files (read-only; cheap to import)."""

from __future__ import annotations

import os
from collections.abc import Iterator

from analysis.ignore import IgnoreRules
from analysis.source import Decoded, decode_source

SKIPPED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "venv"})


def read_disk(path: str) -> Decoded:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        return Decoded(None, f"skipped: cannot read ({error.strerror or error})")
    return decode_source(data)


def walk_python_files(folder: str, *, honour_airflowignore: bool = True) -> Iterator[str]:
    """Every ``*.py`` below a folder, sorted, skipping hidden, virtualenv and build folders,
    and what ``.airflowignore`` files exclude."""
    rules = IgnoreRules()
    for current, dirs, files in os.walk(folder):
        if honour_airflowignore:
            rules.add_file(current)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                         and not os.path.exists(os.path.join(current, d, "pyvenv.cfg"))
                         and not rules.ignored(os.path.join(current, d)))
        for name in sorted(files):
            path = os.path.join(current, name)
            if name.endswith(".py") and not rules.ignored(path):
                yield path


def walk_component_files(folder: str, names: tuple[str, ...]) -> Iterator[str]:
    """Every file named one of ``names`` below a folder (a Dagster project's ``defs.yaml``),
    sorted, skipping hidden, virtualenv and build folders."""
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in SKIPPED_DIRS
                         and not os.path.exists(os.path.join(current, d, "pyvenv.cfg")))
        for name in sorted(files):
            if name in names:
                yield os.path.join(current, name)
