"""Helper calls nested as deep as Python itself calls them are followed, on fresh threads when a
thread's stack gets crowded (analysis.dags.functions); deeper, or without end, they stop at
``MAX_DEPTH`` with one finding that says so: never a RecursionError, a crash or a hang."""

from __future__ import annotations

import sys
import threading
import time

from analysis.dags.dagfile import extract_file
from analysis.dags.functions import MAX_DEPTH

HEADER = (
    "from airflow.sdk import DAG\n"
    "from airflow.providers.standard.operators.empty import EmptyOperator\n"
)


def read(source: str, seconds: float = 60.0):
    """Read a file; a hang guard (not a speed figure)."""
    start = time.perf_counter()
    facts = extract_file("deep.py", source)
    assert time.perf_counter() - start < seconds, "reading did not stop"
    assert facts.error is None, facts.error
    return facts


def too_deep(facts) -> list:
    return [f for f in facts.findings if f"nest more than {MAX_DEPTH:,} deep" in f.message]


def test_a_chain_of_helpers_deeper_than_one_thread_holds_is_followed_whole() -> None:
    # 600 calls deep: about 9,000 frames of the interpreter, nine times Python's recursion limit.
    facts = read(HEADER + (
        "def build(n):\n"
        "    if n == 0:\n"
        "        return EmptyOperator(task_id='leaf')\n"
        "    return build(n - 1)\n"
        "with DAG('d'):\n"
        "    build(600) >> EmptyOperator(task_id='after')\n"
    ))
    dag = facts.dags[0]
    assert [(t.task_id, t.upstream) for t in dag.tasks] == [("leaf", ()), ("after", ("leaf",))]
    assert not dag.dynamic and not facts.findings
    assert sys.getrecursionlimit() == 1000  # nothing process-wide was raised for it


def test_ten_thousand_helpers_calling_one_another_stop_at_the_limit_and_say_so() -> None:
    chain = "".join(f"def f{i}():\n    return f{i + 1}()\n" for i in range(10_000))
    threads = threading.active_count()
    facts = read(HEADER + chain + (
        "def f10000():\n"
        "    return EmptyOperator(task_id='too_deep')\n"
        "with DAG('d'):\n"
        "    f0()\n"
        "    EmptyOperator(task_id='after')\n"
    ))
    dag = facts.dags[0]
    assert [t.task_id for t in dag.tasks] == ["after"] and dag.dynamic
    [finding] = too_deep(facts)
    # where the last helper followed makes the call refused: `return f1000()` in f999
    assert finding.code == "dynamic-task-id" and finding.range.start.line == 2 + 2 * (MAX_DEPTH - 1) + 1
    assert threading.active_count() == threads  # every thread it took has ended


def test_a_helper_calling_itself_without_end_stops_at_the_limit() -> None:
    facts = read(HEADER + (
        "class Node:\n"
        "    def down(self, n):\n"
        "        EmptyOperator(task_id=f'level_{n}')\n"
        "        return self.down(n + 1)\n"
        "with DAG('d'):\n"
        "    Node().down(0)\n"
        "    EmptyOperator(task_id='after')\n"
    ))
    dag = facts.dags[0]
    assert len(dag.tasks) == MAX_DEPTH + 1 and dag.tasks[-1].task_id == "after" and dag.dynamic
    assert len(too_deep(facts)) == 1


def test_a_deep_helper_that_fans_out_is_bounded_by_the_budget() -> None:
    facts = read(HEADER + (
        "def fan_out(n):\n"
        "    fan_out(n + 1)\n"
        "    fan_out(n + 1)\n"
        "with DAG('d'):\n"
        "    fan_out(0)\n"
        "    EmptyOperator(task_id='after')\n"
    ))
    assert [t.task_id for t in facts.dags[0].tasks] == ["after"] and facts.dags[0].dynamic
    assert any("too costly" in f.message for f in facts.findings)


def test_what_a_call_raises_on_a_fresh_thread_is_raised_to_its_caller() -> None:
    # A `return` (an exception inside the interpreter) deep in the chain still returns its value.
    facts = read(HEADER + (
        "def pick(n, names):\n"
        "    for name in names:\n"
        "        if n == 0:\n"
        "            return name\n"
        "        return pick(n - 1, names)\n"
        "with DAG('d'):\n"
        "    EmptyOperator(task_id=pick(500, ['chosen', 'other']))\n"
    ))
    assert [(t.task_id, t.dynamic) for t in facts.dags[0].tasks] == [("chosen", False)]


def test_an_unknown_left_operand_does_not_call_the_right_ones_reflected_operator() -> None:
    # Python asks `thing.__rshift__` first; guessing `step.__rrshift__(thing)` instead recursed
    # (`other >> self` with `other` unknown again) until the depth limit.
    facts = read(HEADER + (
        "from company.unread import thing\n"
        "class Step:\n"
        "    def __init__(self, op):\n"
        "        self.op = op\n"
        "    def __rrshift__(self, other):\n"
        "        for step in other:\n"
        "            step >> self\n"
        "        return self\n"
        "with DAG('d'):\n"
        "    step = Step(EmptyOperator(task_id='a'))\n"
        "    thing >> step\n"
    ))
    assert [t.task_id for t in facts.dags[0].tasks] == ["a"]
    assert not too_deep(facts)


def test_a_helper_fanning_out_at_depth_takes_a_bounded_number_of_threads(monkeypatch) -> None:
    from analysis.dags import functions

    started: list[int] = []
    fresh = functions.on_fresh_stack
    monkeypatch.setattr(functions, "on_fresh_stack", lambda run: (started.append(1), fresh(run))[1])
    facts = read(HEADER + (
        "def fan_out(x):\n"
        "    fan_out(x); fan_out(x)\n"
        "    return EmptyOperator(task_id='fan')\n"
        "with DAG('d'):\n"
        "    fan_out(1)\n"
    ))
    assert 0 < len(started) <= functions.MAX_HOPS and facts.dags[0].dynamic
