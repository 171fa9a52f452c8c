"""What every command shares: the one-line error, the project as the disk holds it, paths
relative to the current directory, JSON on stdout."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from analysis.files import read_disk
from analysis.source import Decoded

if TYPE_CHECKING:
    from analysis.project import Project

EXIT_FINDINGS = 1
EXIT_USAGE = 2


class CliError(Exception):
    """A one-line message for stderr, with the exit code to leave with."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def load_project(root: str, read: Callable[[str], Decoded] = read_disk, *, read_only: bool = False,
                 import_roots: tuple[str, ...] = (), environment: Mapping[str, str] | None = None) -> Project:
    """The project at ``root`` as the disk holds it, its facts from the workspace's cache where
    they hold (``read_only``: a dry run, which writes nothing, not even the cache).
    ``import_roots`` and ``environment`` (``--env``) add to the settings' own."""
    from analysis.project import Layout
    from server.indexing.batch import discover_cached
    from server.settings import load_settings

    settings, warnings = load_settings(root)
    for warning in warnings:
        print(f"airlift-lsp: warning: {warning}", file=sys.stderr)
    layout = Layout(os.path.abspath(root), settings.dag_folders, settings.dagster_module,
                    (*settings.import_roots, *import_roots), merged_environment(settings.environment, environment))
    for folder in layout.dag_roots():
        if not os.path.isdir(folder):
            raise CliError(f"dag folder {relative(folder)} does not exist (dagFolders setting)")
    return discover_cached(layout, read, read_only=read_only)


def merged_environment(configured: tuple[tuple[str, str], ...],
                       given: Mapping[str, str] | None) -> tuple[tuple[str, str], ...]:
    """The ``environment`` setting with the ``--env`` values over it (a name given wins)."""
    merged = dict(configured)
    merged.update(given or {})
    return tuple(merged.items())


def parse_env(value: str) -> tuple[str, str]:
    """One ``--env NAME=VALUE``; argparse reports a bad one as a usage error."""
    import argparse

    name, equals, text = value.partition("=")
    if not equals or not name.strip() or name != name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {value!r}")
    return name, text


def project_or_none(root: str, *, import_roots: tuple[str, ...] = (),
                    environment: Mapping[str, str] | None = None) -> Project | None:
    try:
        return load_project(root, import_roots=import_roots, environment=environment)
    except CliError:
        return None


def relative(path: str) -> str:
    relative = os.path.relpath(path)
    return (path if relative.startswith("..") else relative).replace(os.sep, "/")


def print_json(data: dict) -> None:
    # Compact, so the C encoder does the work (indenting falls back to pure Python).
    sys.stdout.write(json.dumps(data, ensure_ascii=False))
    sys.stdout.write("\n")
