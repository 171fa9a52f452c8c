"""Airflow's ``.airflowignore``: files the DAG processor never imports, so neither do we.

Airflow 3 reads the patterns as globs by default and Airflow 2 as regular expressions; a
path matching either way is skipped, since a project may run on both.
"""

from __future__ import annotations

import fnmatch
import os
import re

IGNORE_FILE = ".airflowignore"


class IgnoreRules:
    __slots__ = ("_rules",)

    def __init__(self) -> None:
        self._rules: list[tuple[str, str, re.Pattern[str] | None]] = []

    def add_file(self, folder: str) -> None:
        try:
            with open(os.path.join(folder, IGNORE_FILE), encoding="utf-8", errors="replace") as handle:
                lines = handle.read().splitlines()
        except OSError:
            return
        for line in lines:
            pattern = line.split("#", 1)[0].strip()
            if not pattern:
                continue
            try:
                regex = re.compile(pattern)
            except re.error:
                regex = None
            self._rules.append((folder, pattern, regex))

    def ignored(self, path: str) -> bool:
        for folder, pattern, regex in self._rules:
            relative = os.path.relpath(path, folder).replace(os.sep, "/")
            if relative.startswith("../"):
                continue
            if regex is not None and regex.search(relative):
                return True
            glob = pattern.rstrip("/")
            if fnmatch.fnmatch(relative, glob) or fnmatch.fnmatch(relative, f"{glob}/*") \
                    or fnmatch.fnmatch(relative, f"*/{glob}") or fnmatch.fnmatch(relative, f"*/{glob}/*"):
                return True
        return False
