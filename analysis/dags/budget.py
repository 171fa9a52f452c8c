"""What reading one DAG file may cost, whatever the file.

Each unit of work of the interpreter (an expression evaluated, a statement run, a loop turn,
an edge drawn, an item copied, a task created) is paid from one budget per file. Real DAG files
spend a few thousand units (Airflow's example DAGs: under 1,000 each; a 2,000-line file with 133
tasks: about 9,000), at about a microsecond each. What the budget bounds is repetition: code
that runs once is paid for by the file's own length (``FLAT_ALLOWANCE`` units per character
of code, comments and blank lines left out, granted when the budget first runs out), so a long flat file — 36,000 operator calls in one
``with DAG``, 4.9 MB — is read whole however many tasks it has, and only loop turns and helper
calls can spend ``WORK_BUDGET``. A file that spends it — nested loops over big ranges, a helper
calling itself several times — is read on cheaply: loops once, with an unknown variable (their
tasks show as dynamic), helpers no longer followed. Reading stops at twice the budget. Expressions nested deeper than
``MAX_NESTING`` are unknown, well before Python's recursion limit (chains such as
``a >> b >> ...`` or ``a.b().c`` are walked in loops and do not nest). Whenever part of a file
goes unread, each of its DAGs is reported as dynamic (it may have more tasks and edges than
shown) and one finding says where and why.
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from analysis.dags.collector import Collector
from analysis.facts import Finding, Range, Severity

if TYPE_CHECKING:
    from analysis.dags.interpreter import Positions

WORK_BUDGET = 1_000_000
DAG_GRANT = 300_000
"""Each DAG a file makes earns it this much more: a file that builds 40 DAGs through a framework
does 40 times the work of one, and that is real work, not a runaway loop."""
MAX_GRANTED = 10 * WORK_BUDGET
FLAT_ALLOWANCE = 0.5
"""Units each character of code earns. Code run once costs less: 0.15 to 0.2 units per character
for 36,000 operator calls with keywords and ``>>`` edges, 0.42 for 99,000 one-line tasks
``t1=E(task_id='t1')`` each with an edge. A file is at most 5 MB (``MAX_SOURCE_BYTES``), so what
its length adds stays bounded: about 2.5 million units (seconds) for a file of loops padded
with 5 MB of code; comment padding earns nothing."""
MAX_NESTING = 200
"""CPython's parser refuses more than 200 nested brackets, so what gets cut is unbracketed and
right-deep (``x ** x ** ...``). Counted from each helper's own body: helpers nested in one
another are bounded by ``analysis.dags.functions.MAX_DEPTH``."""


class OutOfBudget(Exception):
    """Twice the budget is spent: reading stops here."""


class Budget:
    """Mixed into the interpreter: the budget of the file being read."""

    collector: Collector
    lines: Positions

    def __init__(self) -> None:
        self.work_left = WORK_BUDGET
        self.cheap = False
        """The budget is spent: loops are read once and helpers are not followed."""
        self.nesting = 0
        """Expressions being evaluated inside one another."""
        self.statement: ast.stmt | None = None
        """The statement being run, where a finding about the budget points."""
        self._gave_up: set[str] = set()
        self.granted = 0
        self.flat_paid = False
        """The file's length has been added to the budget (at its first overrun)."""

    def grant(self) -> None:
        """A DAG was made: the file may spend ``DAG_GRANT`` more (up to ``MAX_GRANTED``)."""
        if not self.cheap and self.granted < MAX_GRANTED:
            self.granted += DAG_GRANT
            self.work_left += DAG_GRANT

    def spend(self, units: int) -> None:
        self.work_left -= units
        if self.work_left < 0:
            self.budget_spent()

    def afford(self, units: int) -> bool:
        """Spend ``units`` on one bulk step (edges between two big lists); False, and the step
        is skipped, when it alone would pass the hard limit."""
        if units > self.work_left + WORK_BUDGET:
            self.pay_flat()
            if units > self.work_left + WORK_BUDGET:
                self.read_cheaply()
                return False
        self.spend(units)
        return True

    def pay_flat(self) -> bool:
        """Once per file: add what its length pays for. False when it was added already."""
        if self.flat_paid:
            return False
        self.flat_paid = True
        self.work_left += int(FLAT_ALLOWANCE * self.lines.index.code_characters())
        return True

    def budget_spent(self) -> None:
        if self.pay_flat() and self.work_left >= 0:
            return
        if not self.cheap:
            self.read_cheaply()
        elif self.work_left < -WORK_BUDGET:
            self.give_up("stop", self.statement, "reading stops here, at twice the budget of a file")
            raise OutOfBudget

    def read_cheaply(self) -> None:
        self.cheap = True
        self.give_up("budget", self.statement,
                     "this file is too costly to read statically (its loops and helper calls add "
                     f"up to more than {WORK_BUDGET:,} steps beyond what its length and its DAGs pay "
                     "for): from here on loops are read once "
                     "and helper functions are not followed")

    def give_up(self, reason: str, node: ast.AST | None, message: str) -> None:
        """Part of the file goes unread: every DAG of it is dynamic; the first time for each
        reason, a finding says why."""
        self.collector.incomplete = True
        if reason in self._gave_up:
            return
        self._gave_up.add(reason)
        self.collector.findings.append(Finding(
            code="dynamic-task-id",
            severity=Severity.INFORMATION,
            message=f"{message}, so its DAGs may have more tasks and edges than shown here",
            path=self.collector.path,
            range=self.lines.first_line_range(node) if node is not None else Range.point(0),
        ))
