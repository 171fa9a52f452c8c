"""Variable scopes of the DAG file being read: the module's, and one per helper call."""

from __future__ import annotations

from analysis.dags.values import Value

Certainty = tuple[int, str]
"""How many runtime conditions deep a name was bound, and the innermost one (for messages)."""


class Scope:
    __slots__ = ("vars", "parent", "levels")

    def __init__(self, parent: Scope | None = None) -> None:
        self.vars: dict[str, Value] = {}
        self.parent = parent
        self.levels: dict[str, Certainty] = {}
        """Names bound under a runtime condition: reading one after that condition's block
        makes what the reading statement creates conditional too."""

    def lookup(self, name: str) -> tuple[Value | None, Certainty | None]:
        scope: Scope | None = self
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name], (scope.levels.get(name) if scope.levels else None)
            scope = scope.parent
        return None, None
