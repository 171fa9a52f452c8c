"""Comprehensions and generator expressions, as Python runs them: their ``for`` clauses
unrolled over values known statically, their ``if`` filters decided or made conditions."""

from __future__ import annotations

import ast
from typing import Any

from analysis.dags.classes import dict_key
from analysis.dags.conditions import condition_text
from analysis.dags.scope import Scope
from analysis.dags.values import (
    Const,
    Mapping,
    Seq,
    Unknown,
    Value,
)


class Comprehensions:
    """Mixed into the interpreter (through the evaluator)."""

    def _eval_ListComp(self, node: ast.ListComp | ast.SetComp | ast.GeneratorExp, scope: Scope) -> Value:
        results: list[Value] = []
        complete = self.comprehend(node.generators, scope, lambda inner: results.append(
            self.maybe(self.eval(node.elt, inner))))
        return Seq(results) if complete else Unknown(node)

    _eval_SetComp = _eval_ListComp
    _eval_GeneratorExp = _eval_ListComp

    def _eval_DictComp(self, node: ast.DictComp, scope: Scope) -> Value:
        entries: dict[Any, Value] = {}
        known = [True]

        def produce(inner: Scope) -> None:
            usable, key = dict_key(self.eval(node.key, inner))
            value = self.eval(node.value, inner)
            if usable:
                entries[key] = self.maybe(value)
            else:
                known[0] = False

        complete = self.comprehend(node.generators, scope, produce)
        return Mapping(entries) if complete and known[0] else Unknown(node)

    def comprehend(self, generators: list[ast.comprehension], scope: Scope, produce) -> bool:
        """Run a comprehension's ``for``/``if`` clauses, calling ``produce`` for each element.
        False when an iterable is unknown (its body is read once, conditional, for what it
        creates). An item appended under a condition, or kept by a filter unknown until run
        time, makes a conditional element (a task created in it is conditional too)."""
        inner = Scope(scope)

        def walk(index: int) -> bool:
            if index == len(generators):
                produce(inner)
                return True
            generator = generators[index]
            if generator.is_async:
                return False
            items = self.iterate(self.eval(generator.iter, inner))
            if items is None:
                saved = self.deeper(f"a loop over {condition_text(generator.iter)}")
                try:
                    self.bind(generator.target, Unknown(generator.target), inner)
                    walk(index + 1)
                finally:
                    self.restore(saved)
                return False
            complete = True
            for item in items:
                if self.cheap:  # the budget is spent: the comprehension is not read further
                    return False
                saved = self.uncertain, self.reason
                try:
                    self.bind(generator.target, item, inner)
                    tests = [self.condition(t, inner) for t in generator.ifs]
                    if any(isinstance(t, Const) and not t.value for t in tests):
                        continue
                    unknown = [test for test, value in zip(generator.ifs, tests) if not isinstance(value, Const)]
                    if unknown:
                        self.deeper(condition_text(unknown[0]))
                    complete = walk(index + 1) and complete
                finally:
                    self.restore(saved)
            return complete

        return walk(0)
