"""Variable scopes of the DAG file being read: the module's, and one per helper call."""

from __future__ import annotations

from analysis.dags.values import Value

Certainty = tuple[int, str]
"""How many runtime conditions deep a name was bound, and the innermost one (for messages)."""


class Scope:
    """Names and their values; a name bound under a runtime condition holds a ``Maybe``."""

    __slots__ = ("vars", "parent")

    def __init__(self, parent: Scope | None = None) -> None:
        self.vars: dict[str, Value] = {}
        self.parent = parent

    def lookup(self, name: str) -> Value | None:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        return None
