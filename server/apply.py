"""Applying a plan to the disk, for the CLI: atomically per file, or as a diff (--dry-run)."""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from collections.abc import Callable

from analysis.plans import FileChange, Plan


class ChangedOnDisk(Exception):
    """A file the plan edits no longer holds what the plan was made from; nothing was written."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
"""A line with its break: ``\n``, ``\r\n`` or ``\r`` only, as Python and LSP count lines
(``str.splitlines`` also breaks at form feeds and U+2028, which are inside a line here)."""


def _lines(text: str | None) -> list[str]:
    return _LINE.findall(text or "")


def unified_diff(plan: Plan, relative) -> str:
    chunks = []
    for change in plan.changes:
        name = relative(change.path)
        chunks.extend(difflib.unified_diff(
            _lines(change.old_text), _lines(change.new_text),
            fromfile="/dev/null" if change.old_text is None else f"a/{name}",
            tofile="/dev/null" if change.removed else f"b/{name}"))
    return "".join(chunk if chunk.endswith(("\n", "\r")) else chunk + "\n\\ No newline at end of file\n"
                   for chunk in chunks)


def write_atomically(plan: Plan, read: Callable[[str], str | None]) -> None:
    """Every file is written to a temporary sibling first, then renamed over the original:
    an interrupted run leaves each file either old or new, never half-written.

    ``read(path)`` reads a file as the plan did (None when it is missing). Before anything is
    renamed, every file must still hold the plan's ``old_text`` (or still be missing): a change
    another process made since the plan read the file raises ``ChangedOnDisk`` and nothing is
    written, rather than overwriting what the plan never saw. (A write in the microseconds
    between that check and the rename is not caught: the disk has no compare-and-swap.)
    Files the plan removes go last, once every new text is in place."""
    staged: list[tuple[str, str]] = []
    try:
        for change in plan.changes:
            _check_unchanged(change, read)
            if not change.removed:
                staged.append((_stage(change), change.path))
        for change in plan.changes:
            _check_unchanged(change, read)
        for temporary, path in staged:
            os.replace(temporary, path)
        for change in plan.changes:
            if change.removed and os.path.lexists(change.path):
                os.unlink(change.path)
    finally:
        for temporary, _ in staged:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _check_unchanged(change: FileChange, read: Callable[[str], str | None]) -> None:
    exists = os.path.lexists(change.path)
    if (change.old_text is None and exists) or (change.old_text is not None and read(change.path) != change.old_text):
        raise ChangedOnDisk(change.path)


def _stage(change: FileChange) -> str:
    folder = os.path.dirname(change.path) or "."
    os.makedirs(folder, exist_ok=True)
    mode = os.stat(change.path).st_mode & 0o777 if os.path.exists(change.path) else 0o644
    handle, temporary = tempfile.mkstemp(prefix=".airlift-", suffix=".tmp", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        stream.write(change.new_text)
    os.chmod(temporary, mode)
    return temporary
