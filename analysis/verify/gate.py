"""The ``--verify`` gate of a migration step: which findings of the edited copy the untouched
workspace did not already have. A pre-existing failure does not block an edit; a new one does."""

from __future__ import annotations

import os
from collections.abc import Iterable

from analysis.facts import Finding, Severity
from analysis.verify.airflow import plain


def moved(finding: Finding, old_root: str, new_root: str) -> Finding:
    """The finding with paths (and their mentions in the message) under ``new_root``."""
    from dataclasses import replace

    def path(value: str) -> str:
        if value == old_root or value.startswith(old_root + os.sep):
            return new_root + value[len(old_root):]
        return value

    return replace(finding, path=path(finding.path), message=finding.message.replace(old_root, new_root),
                   related=tuple(replace(r, path=path(r.path), message=r.message.replace(old_root, new_root))
                                 for r in finding.related))


def _key(finding: Finding) -> tuple[str, str, str]:
    # No range: an edit moves the lines of findings it has nothing to do with.
    return finding.code, finding.path, plain(finding.message)


def new_findings(before: Iterable[Finding], after: Iterable[Finding]) -> list[Finding]:
    """Findings of ``after`` that ``before`` lacks (both under the same root)."""
    known = {_key(f) for f in before}
    return [f for f in after if _key(f) not in known]


def summary(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {severity.value: 0 for severity in Severity}
    for finding in findings:
        counts[finding.severity.value] += 1
    return counts
