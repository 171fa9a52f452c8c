"""Static values in a libcst module: what its names, strings and calls stand for.

Only what holds whatever the module does at run time counts: a name bound once at module
level (by an assignment or a ``def``), string constants built from literals and such names,
and imports resolved to qualified names. Anything else is unknown (None), never guessed.
"""

from __future__ import annotations

import ast

import libcst as cst
from libcst.metadata import (
    Assignment,
    GlobalScope,
    PositionProvider,
    QualifiedNameProvider,
    ScopeProvider,
)

from analysis.facts import Range

MAX_DEPTH = 16
"""Name-to-value hops to follow; a longer chain is as good as unknown."""


class StaticReader(cst.CSTVisitor):
    """A visitor that knows module-level bindings; subclasses read what they need from it."""

    METADATA_DEPENDENCIES = (PositionProvider, QualifiedNameProvider, ScopeProvider)

    def __init__(self) -> None:
        super().__init__()
        self._values: dict[int, cst.BaseExpression] = {}  # id(assigned Name) -> value

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            if isinstance(target.target, cst.Name):
                self._values[id(target.target)] = node.value

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if isinstance(node.target, cst.Name) and node.value is not None:
            self._values[id(node.target)] = node.value

    def binding(self, name: cst.Name) -> cst.CSTNode | None:
        """What a name is bound to, when that is one module-level assignment or ``def``."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return None
        assignments = list(scope[name.value])
        if len(assignments) != 1 or type(assignments[0]) is not Assignment:
            return None
        binding = assignments[0]
        if not isinstance(binding.scope, GlobalScope):
            return None
        if isinstance(binding.node, cst.FunctionDef):
            return binding.node
        return self._values.get(id(binding.node))

    def bindings(self, name: cst.Name) -> list[cst.CSTNode] | None:
        """Everything a module-level name is bound to (``def``s and assigned values, in no set
        order), or None when some binding is not a plain ``def`` or ``name = value``."""
        scope = self.get_metadata(ScopeProvider, name, None)
        if scope is None or name.value not in scope:
            return None
        found = []
        for binding in scope[name.value]:
            if type(binding) is not Assignment or not isinstance(binding.scope, GlobalScope):
                return None
            value = binding.node if isinstance(binding.node, cst.FunctionDef) else self._values.get(id(binding.node))
            if value is None:
                return None
            found.append(value)
        return found

    def deref(self, node: cst.CSTNode | None, depth: int = 0) -> cst.CSTNode | None:
        while isinstance(node, cst.Name) and depth <= MAX_DEPTH:
            node, depth = self.binding(node), depth + 1
        return node

    def is_str_dict(self, node: cst.BaseExpression) -> bool:
        target = self.deref(node)
        return isinstance(target, cst.Dict) and all(
            isinstance(e, cst.DictElement) and self.string(e.key) is not None
            for e in target.elements)

    def sequence(self, node: cst.BaseExpression | None) -> list[cst.BaseElement] | None:
        target = self.deref(node)
        if not isinstance(target, (cst.List, cst.Tuple)):
            return None
        if any(isinstance(e, cst.StarredElement) for e in target.elements):
            return None
        return list(target.elements)

    def string(self, node: cst.CSTNode | None, depth: int = 0) -> str | None:
        """A str constant: literals, implicit concatenation, f-strings of constants, names."""
        node = self.deref(node, depth)
        if isinstance(node, cst.SimpleString):
            value = node.evaluated_value
            return value if isinstance(value, str) else None
        if isinstance(node, cst.ConcatenatedString):
            left, right = self.string(node.left, depth + 1), self.string(node.right, depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(node, cst.FormattedString) and depth <= MAX_DEPTH:
            return self.formatted(node, depth)
        return None

    def formatted(self, node: cst.FormattedString, depth: int) -> str | None:
        prefix = node.prefix.lower().replace("f", "")
        quote = node.start[len(node.prefix):]
        pieces = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                text = part.value.replace("{{", "{").replace("}}", "}")
                try:  # the text keeps its escapes: let Python read them, raw or not
                    pieces.append(ast.literal_eval(f"{prefix}{quote}{text}{node.end}"))
                except (SyntaxError, ValueError):
                    return None
            elif part.conversion is None and part.format_spec is None and part.equal is None:
                value = self.string(part.expression, depth + 1)
                if value is None:
                    return None
                pieces.append(value)
            else:
                return None
        return "".join(pieces)

    def qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def range(self, node: cst.CSTNode) -> Range:
        position = self.get_metadata(PositionProvider, node)
        return Range.of(position.start.line - 1, position.start.column,
                        position.end.line - 1, position.end.column)


def arguments(call: cst.Call, names: tuple[str, ...]) -> tuple[cst.BaseExpression | None, ...]:
    """The values given to a call's parameters, by position or keyword (None when absent)."""
    values: dict[str, cst.BaseExpression] = {}
    positional = 0
    for arg in call.args:
        if arg.star:
            continue
        if arg.keyword is not None:
            values[arg.keyword.value] = arg.value
        elif positional < len(names):
            values[names[positional]] = arg.value
            positional += 1
    return tuple(values.get(name) for name in names)
