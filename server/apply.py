"""Applying a plan to the disk, for the CLI: atomically per file, or as a diff (--dry-run)."""

from __future__ import annotations

import difflib
import os
import tempfile

from analysis.migrate import FileChange, Plan


def unified_diff(plan: Plan, relative) -> str:
    chunks = []
    for change in plan.changes:
        name = relative(change.path)
        chunks.extend(difflib.unified_diff(
            (change.old_text or "").splitlines(keepends=True), change.new_text.splitlines(keepends=True),
            fromfile="/dev/null" if change.old_text is None else f"a/{name}", tofile=f"b/{name}"))
    return "".join(chunk if chunk.endswith("\n") else chunk + "\n\\ No newline at end of file\n"
                   for chunk in chunks)


def write_atomically(plan: Plan) -> None:
    """Every file is written to a temporary sibling first, then renamed over the original:
    an interrupted run leaves each file either old or new, never half-written."""
    staged: list[tuple[str, str]] = []
    try:
        for change in plan.changes:
            staged.append((_stage(change), change.path))
        for temporary, path in staged:
            os.replace(temporary, path)
    finally:
        for temporary, _ in staged:
            if os.path.exists(temporary):
                os.unlink(temporary)


def _stage(change: FileChange) -> str:
    folder = os.path.dirname(change.path) or "."
    os.makedirs(folder, exist_ok=True)
    mode = os.stat(change.path).st_mode & 0o777 if os.path.exists(change.path) else 0o644
    handle, temporary = tempfile.mkstemp(prefix=".airlift-", suffix=".tmp", dir=folder)
    with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
        stream.write(change.new_text)
    os.chmod(temporary, mode)
    return temporary
