"""Nothing missed silently: a file Airflow reads (it mentions ``airflow`` and ``dag``) in which
no DAG is recognized says why, when there is a reason to think it makes one.

The interpreter notes each module-level call it could not follow: a name from a package outside
the import roots, a name it cannot resolve, a helper cut short by a limit. A file with none of
those and no DAG is a library module (helpers, operators): Airflow finds no DAG in it either.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass

from analysis.facts import Finding, Range, Severity

_STANDARD = frozenset(getattr(sys, "stdlib_module_names", ())) | {"builtins"}


@dataclass(frozen=True, slots=True)
class Unfollowed:
    """A module-level call whose callee static reading could not follow, and why."""

    callee: str
    reason: str
    range: Range


def why_not_followed(qualified: str, code_roots: bool, found_in_roots: bool) -> str | None:
    """Why a call of a qualified name was not followed (None: nothing to follow there)."""
    top = qualified.split(".", 1)[0]
    if top in _STANDARD or top in ("airflow", "pendulum", "datetime", "dagster", "dagster_airlift"):
        return None
    if not code_roots:
        return f"`{top}` is imported, and imports are not followed here (no project roots)"
    if found_in_roots:
        return None
    return (f"`{top}` is not a module under the import roots (the DAG folders, plugins/, the workspace "
            f"root and the importRoots setting); if it is the project's own code, add its folder to importRoots")


def unrecognized_finding(path: str, calls: list[Unfollowed], module: ast.Module,
                         incomplete: bool = False) -> Finding | None:
    """The information finding for a file without a recognized DAG, or None for a library module."""
    if not calls and incomplete:
        return Finding("unrecognized-dag-file", Severity.INFORMATION,
                       "Airflow reads this file, but no DAG is recognized in it: reading it statically stopped "
                       "before it made one (see the note on where and why)", path, Range.point(0))
    if not calls:
        return None
    first = calls[0]
    more = f" (and {len(calls) - 1} more such call{'s' if len(calls) > 2 else ''})" if len(calls) > 1 else ""
    return Finding(
        code="unrecognized-dag-file",
        severity=Severity.INFORMATION,
        message=(f"Airflow reads this file, but no DAG is recognized in it: its DAGs may be made by "
                 f"`{first.callee}(...)`, which could not be followed: {first.reason}{more}"),
        path=path,
        range=first.range,
    )
