"""``match`` statements, as Python runs them when the subject is known statically.

Helpers that turn an environment name into an id suffix use ``match`` (``case "prod": return ""``):
a known subject picks its case as Python would, and only that case runs. A case static reading
cannot decide (an unknown subject, a class pattern other than a built-in type's, a guard on
run-time data) runs under a
condition, like an ``if`` branch; a catch-all case after such cases makes the chain exhaustive,
so what every case creates alike is certain.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from analysis.dags.conditions import Branch
from analysis.dags.scope import Scope
from analysis.dags.values import Const, Mapping, Maybe, Seq, Unknown, Value, short_text

Captures = dict[str, Value]
Verdict = tuple[bool | None, Captures]
"""Whether a pattern matches (None: not known statically), and the names it binds."""

_NO_MATCH: Verdict = (False, {})
_BUILTIN_TYPES: dict[str, type | tuple[type, ...]] = {
    f"builtins.{t.__name__}": t for t in (str, bytes, int, float, bool, dict, list, tuple)}


def _items(value: Value) -> list[Value] | None:
    """A sequence pattern's subject as items; Python never matches a str, bytes or dict so."""
    if isinstance(value, Seq):
        return None if any(isinstance(i, Maybe) for i in value.items) else list(value.items)
    if isinstance(value, Const) and isinstance(value.value, (tuple, list)):
        return [Const(v) for v in value.value]
    return None


def _is_sequence(value: Value) -> bool | None:
    if isinstance(value, (Seq, Mapping)):
        return isinstance(value, Seq)
    if isinstance(value, Const):
        return isinstance(value.value, (tuple, list))
    return None


def _unknown(pattern: ast.pattern) -> Verdict:
    """Not decidable: the names the pattern binds hold values not known statically."""
    names = {node.name for node in ast.walk(pattern)
             if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name}
    names |= {node.rest for node in ast.walk(pattern) if isinstance(node, ast.MatchMapping) and node.rest}
    return None, {name: Unknown(pattern) for name in names}


class Matching:
    """Mixed into the interpreter."""

    def _exec_Match(self, node: ast.Match, scope: Scope) -> None:
        subject = self.known_here(self.eval(node.subject, scope))  # type: ignore[attr-defined]
        if isinstance(subject, Maybe):  # set under a deeper condition: no case is certain
            subject = Unknown(node.subject)
        branches: list[Branch] = []
        outer = self.certainty  # type: ignore[attr-defined]
        for case in node.cases:
            matched, captures = self.match_pattern(case.pattern, subject, scope)
            if matched is False:
                continue
            reason = f"`match {short_text(node.subject)}` reaching `case {_pattern_text(case.pattern)}`"
            if matched and case.guard is not None:
                matched = self._guard(case.guard, captures, scope)
                if matched is False:
                    continue
            if matched and not branches:  # every earlier case known not to match: Python runs this one
                self._bind_all(captures, scope)
                self.exec_block(case.body, scope)  # type: ignore[attr-defined]
                return
            bind: Callable[[], None] = lambda captures=captures: self._bind_all(captures, scope)
            branches.append(self.branch(case.body, scope, reason, bind))  # type: ignore[attr-defined]
            if matched:  # a catch-all after undecided cases: one of them runs, certainly
                if len(branches) > 1:
                    self.certify_common(branches, scope, outer)  # type: ignore[attr-defined]
                return

    def _bind_all(self, captures: Captures, scope: Scope) -> None:
        for name, value in captures.items():
            self.assign(scope, name, value)  # type: ignore[attr-defined]

    def _guard(self, guard: ast.expr, captures: Captures, scope: Scope) -> bool | None:
        """A guard sees the names its pattern bound (bound only if it holds, here: a child scope)."""
        inner = Scope(scope)
        inner.vars.update(captures)
        test = self.condition(guard, inner)  # type: ignore[attr-defined]
        return bool(test.value) if isinstance(test, Const) else None

    def match_pattern(self, pattern: ast.pattern, subject: Value, scope: Scope) -> Verdict:
        self.spend(1)  # type: ignore[attr-defined]
        if isinstance(pattern, ast.MatchAs):
            if pattern.pattern is None:
                return True, ({pattern.name: subject} if pattern.name else {})
            matched, captures = self.match_pattern(pattern.pattern, subject, scope)
            if matched is not False and pattern.name:
                captures = {**captures, pattern.name: subject if matched else Unknown(pattern)}
            return matched, captures
        if isinstance(pattern, ast.MatchValue):
            value = self.eval(pattern.value, scope)  # type: ignore[attr-defined]
            verdict = self.compare_values(pattern, ast.Eq(), subject, value)  # type: ignore[attr-defined]
            return verdict, {}
        if isinstance(pattern, ast.MatchSingleton):
            if isinstance(subject, Const):
                return subject.value is pattern.value, {}
            return self.compare_values(pattern, ast.Is(), subject, Const(pattern.value)), {}  # type: ignore[attr-defined]
        if isinstance(pattern, ast.MatchOr):
            undecided = False
            for alternative in pattern.patterns:
                matched, captures = self.match_pattern(alternative, subject, scope)
                if matched:
                    return True, captures
                undecided = undecided or matched is None
            return _unknown(pattern) if undecided else _NO_MATCH
        if isinstance(pattern, ast.MatchSequence):
            return self._match_sequence(pattern, subject, scope)
        if isinstance(pattern, ast.MatchMapping):
            return self._match_mapping(pattern, subject, scope)
        if isinstance(pattern, ast.MatchClass):
            return self._match_builtin_class(pattern, subject, scope)
        return _unknown(pattern)

    def _match_builtin_class(self, pattern: ast.MatchClass, subject: Value, scope: Scope) -> Verdict:
        """``case str(name):`` and the other built-in types on a constant; any other class
        pattern is an isinstance check of a run-time object, undecided."""
        cls = self.eval(pattern.cls, scope)  # type: ignore[attr-defined]
        kind = _BUILTIN_TYPES.get(getattr(cls, "name", ""))
        if kind is None or not isinstance(subject, Const) or pattern.kwd_patterns or len(pattern.patterns) > 1:
            return _unknown(pattern)
        if not isinstance(subject.value, kind):
            return _NO_MATCH
        if not pattern.patterns:
            return True, {}
        return self.match_pattern(pattern.patterns[0], subject, scope)  # `str(x)` binds the subject itself

    def _match_sequence(self, pattern: ast.MatchSequence, subject: Value, scope: Scope) -> Verdict:
        kind = _is_sequence(subject)
        if kind is False:
            return _NO_MATCH
        items = _items(subject)
        if items is None:
            return _unknown(pattern)
        stars = [i for i, p in enumerate(pattern.patterns) if isinstance(p, ast.MatchStar)]
        fixed = len(pattern.patterns) - len(stars)
        if (len(items) != fixed) if not stars else (len(items) < fixed):
            return _NO_MATCH
        captures: Captures = {}
        undecided = False
        star = stars[0] if stars else len(pattern.patterns)
        tail = len(pattern.patterns) - star - 1
        pairs = list(zip(pattern.patterns[:star], items[:star]))
        if stars:
            pairs += list(zip(pattern.patterns[star + 1:], items[len(items) - tail:] if tail else []))
            name = pattern.patterns[star].name  # type: ignore[attr-defined]
            if name:
                captures[name] = Seq(items[star:len(items) - tail])
        for sub, item in pairs:
            matched, found = self.match_pattern(sub, item, scope)
            if matched is False:
                return _NO_MATCH
            undecided = undecided or matched is None
            captures.update(found)
        return (None, _unknown(pattern)[1]) if undecided else (True, captures)

    def _match_mapping(self, pattern: ast.MatchMapping, subject: Value, scope: Scope) -> Verdict:
        if _is_sequence(subject) is True or isinstance(subject, Const) and not isinstance(subject.value, dict):
            return _NO_MATCH
        if not isinstance(subject, Mapping):
            return _unknown(pattern)
        captures: Captures = {}
        undecided = False
        used: set[object] = set()
        for key_node, sub in zip(pattern.keys, pattern.patterns):
            key = self.eval(key_node, scope)  # type: ignore[attr-defined]
            if not isinstance(key, Const):
                return _unknown(pattern)
            try:
                item = subject.items.get(key.value)
            except TypeError:
                return _unknown(pattern)
            if item is None or isinstance(item, Maybe):
                if item is None:
                    return _NO_MATCH
                undecided, item = True, item.value
            used.add(key.value)
            matched, found = self.match_pattern(sub, item, scope)
            if matched is False:
                return _NO_MATCH
            undecided = undecided or matched is None
            captures.update(found)
        if pattern.rest:
            captures[pattern.rest] = Mapping({k: v for k, v in subject.items.items() if k not in used})
        return (None, _unknown(pattern)[1]) if undecided else (True, captures)


def _pattern_text(pattern: ast.pattern) -> str:
    text = ast.unparse(pattern)
    return text if len(text) <= 60 else text[:57] + "..."
