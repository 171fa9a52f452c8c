"""What the plan tests share: reading a file as the plans read it, and writing a plan's changes
as the CLI does (without its temp-file rename: a test's folder is its own)."""

from __future__ import annotations

from pathlib import Path

from analysis.files import read_disk


def read(path: str) -> str | None:
    return read_disk(path).text if Path(path).exists() else None


def apply(plan) -> None:
    for change in plan.changes:
        Path(change.path).parent.mkdir(parents=True, exist_ok=True)
        Path(change.path).write_text(change.new_text, encoding="utf-8")
