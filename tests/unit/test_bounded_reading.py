"""Reading a DAG file is bounded whatever the file: costly files are read on cheaply and say so,
chains of any length are read without recursion, and our own limits are never reported as a
syntax error (only what CPython itself cannot compile is)."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest

from analysis.dags.budget import WORK_BUDGET
from analysis.dags.dagfile import extract_file
from analysis.dags.interpreter import Interpreter
from tests.conftest import FIXTURES, TUTORIAL

HEADER = (
    "from airflow.sdk import DAG\n"
    "from airflow.providers.standard.operators.empty import EmptyOperator\n"
)


def read(source: str, seconds: float = 30.0):
    """Read a file; a hang guard (not a speed figure: those live in bench/)."""
    start = time.perf_counter()
    facts = extract_file("bounded.py", source)
    assert time.perf_counter() - start < seconds, "reading did not stop"
    assert facts.error is None, facts.error
    return facts


def too_costly(facts) -> list:
    return [f for f in facts.findings if "too costly" in f.message]


def test_a_helper_calling_itself_many_times_is_cut_and_reported() -> None:
    # 6 calls per level, 12 levels deep: 6**12 bodies if followed to the end.
    facts = read(HEADER + (
        "def fan_out(n):\n"
        "    fan_out(n); fan_out(n); fan_out(n); fan_out(n); fan_out(n); fan_out(n)\n"
        "\n"
        "with DAG('d'):\n"
        "    fan_out(1)\n"
        "    EmptyOperator(task_id='after')\n"
    ))
    dag = facts.dags[0]
    assert [t.task_id for t in dag.tasks] == ["after"]  # the rest of the file is still read
    assert dag.dynamic  # ...but the DAG may lack what the helper would have built
    [finding] = too_costly(facts)
    assert finding.code == "dynamic-task-id" and finding.severity.value == "information"
    assert finding.range.start.line == 3  # the helper's body, where the budget ran out
    assert f"{WORK_BUDGET:,} steps" in finding.message


def test_nested_loops_are_unrolled_until_the_budget_then_read_once() -> None:
    facts = read(HEADER + (
        "with DAG('d'):\n"
        "    for i in range(1000):\n"
        "        for j in range(1000):\n"
        "            for k in range(1000):\n"
        "                pass\n"
        "    for i in range(1000):\n"
        "        for j in range(1000):\n"
        "            EmptyOperator(task_id=f't_{i}_{j}')\n"
        "    EmptyOperator(task_id='after')\n"
    ))
    dag = facts.dags[0]
    ids = [t.task_id for t in dag.tasks]
    assert ids[-2:] == ["t_{i}_{j}", "after"]  # the unread turns show as one dynamic task
    assert [t.task_id for t in dag.tasks if t.dynamic] == ["t_{i}_{j}"]
    assert dag.dynamic and len(too_costly(facts)) == 1


def test_edges_between_two_huge_lists_are_skipped_not_drawn_for_minutes() -> None:
    facts = read(HEADER + (
        "from airflow.sdk import cross_downstream\n"
        "with DAG('d'):\n"
        "    xs = []\n"
        "    for i in range(100):\n"
        "        for j in range(100):\n"
        "            xs.append(EmptyOperator(task_id=f't_{i}_{j}'))\n"
        "    cross_downstream(xs, xs)\n"
        "    EmptyOperator(task_id='after')\n"
    ))
    dag = facts.dags[0]
    assert dag.task("after") is not None and dag.dynamic and too_costly(facts)
    assert not any(t.upstream for t in dag.tasks)


@pytest.mark.parametrize("source", [
    "x = [1]\nfor i in range(64):\n    x = x + x\n",  # a list doubling each turn
    "x = 3\nfor i in range(64):\n    x = x * x\n",  # an int squaring each turn
])
def test_values_growing_without_bound_become_unknown(source: str) -> None:
    facts = read(HEADER + source + "with DAG('d'):\n    EmptyOperator(task_id='after')\n", seconds=10.0)
    assert [t.task_id for t in facts.dags[0].tasks] == ["after"]


def budget_spent(path: Path) -> int:
    text = path.read_text(encoding="utf-8")
    interpreter = Interpreter(str(path), text)
    interpreter.run_module(ast.parse(text))
    return WORK_BUDGET - interpreter.work_left


@pytest.mark.parametrize("path", sorted([*(FIXTURES / "dags").glob("*.py"), *(FIXTURES / "airflow_dags").glob("*.py"),
                                         *(TUTORIAL / "airflow_dags").glob("*.py")]), ids=lambda p: p.name)
def test_real_dag_files_stay_far_below_the_budget(path: Path) -> None:
    assert budget_spent(path) < WORK_BUDGET // 20


# -- chains and nesting ------------------------------------------------------------------------


def test_a_long_dependency_chain_is_read_whole() -> None:
    names = [f"t{i}" for i in range(2000)]
    facts = read(HEADER + "with DAG('d'):\n" + "".join(
        f"    {n} = EmptyOperator(task_id='{n}')\n" for n in names) + "    " + " >> ".join(names) + "\n")
    dag = facts.dags[0]
    assert not dag.dynamic and not facts.findings
    assert dag.task("t1999").upstream == ("t1998",) and dag.task("t0").upstream == ()


@pytest.mark.parametrize(("expression", "task_id"), [
    ("'true' if " + "not " * 1501 + "True else 'false'", "false"),
    ("+".join(["'a'"] * 1500), "a" * 1500),
    ("-" * 1501 + "1", "-1"),
])
def test_long_chains_fold_to_their_value(expression: str, task_id: str) -> None:
    facts = read(HEADER + f"with DAG('d'):\n    EmptyOperator(task_id=str({expression}))\n")
    assert [t.task_id for t in facts.dags[0].tasks] == [task_id]


@pytest.mark.parametrize("statement", [
    "x = f" + "()" * 1500,
    "x = a" + ".b" * 1500,
    "import os\nx = os" + ".path" * 1500,
    "x = a" + "[0]" * 1500,
    "x = a" + ".b()[0]" * 800,
    "x = 2" + " ** 2" * 1500,  # right-deep: cut at MAX_NESTING
    "x = " + "1 if y else " * 1500 + "2",
    "x = y" + " | y" * 1500,
])
def test_long_chains_are_no_syntax_error(statement: str) -> None:
    facts = read(HEADER + statement + "\nwith DAG('d'):\n    EmptyOperator(task_id='a')\n")
    assert [t.task_id for t in facts.dags[0].tasks] == ["a"]
    assert all(f.code != "syntax-error" for f in facts.findings)


def test_a_long_elif_chain_is_read_whole() -> None:
    branches = "".join(f"    elif x == {i}:\n        EmptyOperator(task_id='t{i}')\n" for i in range(1, 1500))
    facts = read(HEADER + "from somewhere import x\nwith DAG('d'):\n    if x == 0:\n        pass\n" + branches)
    assert len(facts.dags[0].tasks) == 1499 and not facts.dags[0].dynamic


def test_values_nested_deeper_than_we_recurse_are_unknown_not_a_syntax_error() -> None:
    facts = read(HEADER + (
        "x = []\n"
        "for i in range(900):\n"
        "    x = [x]\n"
        "with DAG('d'):\n"
        "    a = EmptyOperator(task_id='a')\n"
        "    a >> x\n"
        "    EmptyOperator(task_id='after')\n"
    ))
    dag = facts.dags[0]
    assert [t.task_id for t in dag.tasks] == ["a", "after"] and dag.dynamic
    assert any("nests too deeply" in f.message for f in facts.findings)


def test_what_cpython_cannot_compile_is_still_a_syntax_error() -> None:
    facts = extract_file("deep.py", HEADER + "x = " + "(" * 300 + "1" + ")" * 300 + "\n")
    assert facts.error and [f.code for f in facts.findings] == ["syntax-error"]


def test_reading_stops_at_twice_the_budget_and_says_where(monkeypatch) -> None:
    from analysis.dags import budget

    monkeypatch.setattr(budget, "WORK_BUDGET", 200_000)  # the file below is sized for this budget
    big_literal = ", ".join(["0"] * 40_000)  # read on cheaply, item by item
    facts = read((
        "from airflow import DAG\n"
        "from airflow.operators.empty import EmptyOperator\n"
        "from dagster_airlift.in_airflow import proxying_to_dagster\n"
        "with DAG('d'):\n"
        "    xs = [EmptyOperator(task_id=f'x{i}') for i in range(400)]\n"
        "    for i in range(1000):\n"
        "        for j in range(1000):\n"
        "            pass\n"
        "    xs >> xs\n"
        f"    big = [{big_literal}]\n"
        "    EmptyOperator(task_id='never_read')\n"
        "ENABLED = True\n"
        "if ENABLED:\n"
        "    proxying_to_dagster(global_vars=globals(), proxied_state={})\n"
    ))
    dag = facts.dags[0]
    assert len(dag.tasks) == 400 and dag.task("never_read") is None and dag.dynamic
    [stop] = [f for f in facts.findings if "reading stops here" in f.message]
    assert stop.range.start.line == 9
    assert facts.proxying is not None and facts.proxying.enabled is None  # its guard was not read
