"""Runtime conditions: what a DAG file creates only when something holds at import.

``if os.environ.get("ENV") == "prod":``, ``if Variable.get(...)``, a loop over data read at run
time, a ``while``: static reading cannot tell whether their bodies run. What they create is
*conditional*: it exists in Airflow only when the condition held while Airflow imported the
file. Reading goes through such bodies (their tasks are worth showing) one level deeper in
``uncertain``; every task, DAG and edge records the level it was made at. A name bound, or a
list item appended, under a condition holds a ``Maybe``: read after that condition's block, its
value is not known for sure (``if cond: suffix = "x"`` then ``task_id="t_" + suffix`` is a
dynamic id; a task reached through it gets a conditional edge). Used as the DAG or TaskGroup
that tasks go into, or as the function called, it makes what the statement creates conditional.

A ``return``, ``break`` or ``continue`` under a condition makes the rest of its function or
loop conditional (the *floor*). Exhaustive ``if``/``elif``/``else`` chains that create the same
task id, or bind a name to the same task, in every branch make it certain again.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass

from analysis.dags.builder import TaskRecord
from analysis.dags.collector import Collector
from analysis.dags.scope import Certainty, Scope
from analysis.dags.values import Const, Maybe, Seq, TaskRef, Value, short_text

CERTAIN: Certainty = (0, "")


class Return(Exception):
    def __init__(self, value: Value, certainty: Certainty = CERTAIN) -> None:
        self.value = value
        self.certainty = certainty
        """How conditional the returned value is (a ``return`` under a condition)."""


class Break(Exception):
    pass


class Continue(Exception):
    pass


def condition_text(node: ast.expr) -> str:
    return f"`{short_text(node)}`"


@dataclass(slots=True)
class Branch:
    created: list[TaskRecord]
    bound: dict[str, Value]


class Conditions:
    """Mixed into the interpreter: how many runtime conditions deep reading is, and why."""

    collector: Collector

    def __init__(self) -> None:
        self.uncertain = 0
        self.reason = ""
        """The innermost condition, as the user wrote it (for hovers and refusals)."""
        self.floor: Certainty = CERTAIN
        """The least level of the rest of the current function or loop: raised by a ``return``,
        ``break`` or ``continue`` under a condition."""

    # -- levels ------------------------------------------------------------------------

    @property
    def certainty(self) -> Certainty:
        return self.uncertain, self.reason

    def deeper(self, reason: str) -> Certainty:
        """Go one condition deeper; returns what ``restore`` takes back."""
        saved = (self.uncertain, self.reason)
        self.uncertain += 1
        self.reason = reason
        return saved

    def restore(self, saved: Certainty) -> None:
        self.uncertain, self.reason = saved if saved[0] >= self.floor[0] else self.floor

    def taint(self, certainty: Certainty | None) -> None:
        """A value made under a deeper condition is used here: so is what this statement makes."""
        if certainty is not None and certainty[0] > self.uncertain:
            self.uncertain, self.reason = certainty

    def known_here(self, value: Value) -> Value:
        """A ``Maybe`` made no deeper than the current level is simply its value here."""
        if isinstance(value, Maybe) and value.level <= self.uncertain:
            return value.value
        return value

    def maybe(self, value: Value) -> Value:
        """A list item added here: conditional to whoever reads the list less deep."""
        if not self.uncertain or isinstance(value, Maybe) and value.level >= self.uncertain:
            return value
        return Maybe(value, self.uncertain, self.reason)

    def unwrap_item(self, value: Value) -> Value:
        """Use a value that may not hold as if it did, making this statement conditional (the
        DAG a task goes into, the function called)."""
        if isinstance(value, Maybe):
            self.taint((value.level, value.reason))
            return value.value
        return value

    def holds_maybe(self, value: Value, depth: int = 0) -> bool:
        """Some list item inside ``value`` was added under a condition deeper than here."""
        if isinstance(value, Maybe):
            return value.level > self.uncertain
        if isinstance(value, Seq) and depth < 8:
            return any(self.holds_maybe(item, depth + 1) for item in value.items)
        return False

    # -- blocks run under a condition ----------------------------------------------------

    def run_conditional(self, body: list[ast.stmt], scope: Scope, reason: str,
                        prelude: Callable[[], None] | None = None) -> None:
        """Run a block that may or may not run at import (``prelude`` first, at its level: the
        names a ``case`` pattern captures)."""
        saved = self.deeper(reason)
        try:
            if prelude is not None:
                prelude()
            self.exec_block(body, scope)  # type: ignore[attr-defined]
        except Return:
            # The function may return here, or go on: the rest of it is conditional. Its result
            # is read from the return that ends it (conditional, through the floor).
            self.floor = self.certainty
        except (Break, Continue):
            self.floor = self.certainty
        finally:
            self.restore(saved)

    def run_branches(self, node: ast.If, scope: Scope, first_test: Value) -> None:
        """An ``if``/``elif``/``else`` chain whose first test is unknown: every branch may run.
        What every branch of an exhaustive chain creates, or binds alike, is certain."""
        branches: list[Branch] = []
        exhaustive = False
        test: Value = first_test
        outer = self.certainty
        saved = self.deeper(condition_text(node.test))
        try:
            while True:
                if isinstance(test, Const) and test.value:
                    branches.append(self.branch(node.body, scope, condition_text(node.test)))
                    exhaustive = True
                    break
                if not isinstance(test, Const):
                    branches.append(self.branch(node.body, scope, condition_text(node.test)))
                if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                    node = node.orelse[0]
                    self.spend(1)  # type: ignore[attr-defined]
                    test = self.condition(node.test, scope)  # type: ignore[attr-defined]
                    continue
                if node.orelse:
                    branches.append(self.branch(node.orelse, scope, f"not {condition_text(node.test)}"))
                    exhaustive = True
                break
        finally:
            self.restore(saved)
        if exhaustive and len(branches) > 1:
            self.certify_common(branches, scope, outer)

    def branch(self, body: list[ast.stmt], scope: Scope, reason: str,
                prelude: Callable[[], None] | None = None) -> Branch:
        first = len(self.collector.created)
        before = dict(scope.vars)
        self.run_conditional(body, scope, reason, prelude)
        bound = {name: value for name, value in scope.vars.items() if before.get(name) is not value}
        return Branch(self.collector.created[first:], bound)

    def certify_common(self, branches: list[Branch], scope: Scope, outer: Certainty) -> None:
        level, reason = outer
        ids = set.intersection(*({(id(t.dag), t.task_id) for t in b.created} for b in branches))
        for task in branches[0].created:
            if (id(task.dag), task.task_id) in ids:
                kept = task.dag.tasks.get(task.task_id)
                if kept is not None and kept.level > level:
                    kept.level, kept.condition = level, reason
        for name in set.intersection(*(set(b.bound) for b in branches)):
            values = [_bare(b.bound[name]) for b in branches]
            if all(_same(values[0], v) for v in values[1:]):
                scope.vars[name] = Maybe(values[0], level, reason) if level else values[0]


def _bare(value: Value) -> Value:
    return value.value if isinstance(value, Maybe) else value


def _same(a: Value, b: Value) -> bool:
    if isinstance(a, TaskRef) and isinstance(b, TaskRef):
        return a.task is b.task or (a.task.dag is b.task.dag and a.task.task_id == b.task.task_id)
    if isinstance(a, Const) and isinstance(b, Const):
        return type(a.value) is type(b.value) and a.value == b.value
    return False
