"""The work budget bounds repetition, not length: code that runs once is paid for by the file's
own length, so a long flat DAG file is read whole, while loops and helpers are still cut."""

from __future__ import annotations

import time

import pytest

from analysis.dags import budget
from analysis.dags.dagfile import extract_file

HEADER = (
    "from airflow.sdk import DAG\n"
    "from airflow.providers.standard.operators.empty import EmptyOperator\n"
)


def too_costly(facts) -> list:
    return [f for f in facts.findings if "too costly" in f.message]


def flat_file(tasks: int, dag_id: str = "flat") -> str:
    """``tasks`` operator calls in one ``with DAG``, each after the previous: no loop, no helper."""
    lines = [f"with DAG(dag_id={dag_id!r}, schedule=None) as dag:"]
    for i in range(tasks):
        lines.append(f'    t{i:05d} = EmptyOperator(task_id="t{i:05d}", owner="data-platform", retries=2, '
                     f'pool="default", queue="etl")')
        if i:
            lines.append(f"    t{i - 1:05d} >> t{i:05d}")
    return HEADER + "\n".join(lines) + "\n"


@pytest.fixture
def small_budget(monkeypatch):
    """A budget that 3,000 flat tasks overrun many times over (as 36,000 overran 200,000)."""
    monkeypatch.setattr(budget, "WORK_BUDGET", 20_000)
    monkeypatch.setattr(budget, "DAG_GRANT", 0)


def test_a_flat_file_longer_than_the_budget_is_read_whole(small_budget) -> None:
    facts = extract_file("flat.py", flat_file(3_000))
    [dag] = facts.dags
    assert len(dag.tasks) == 3_000 and not dag.dynamic
    assert dag.task("t02999").upstream == ("t02998",)
    assert too_costly(facts) == []


def test_loops_are_still_cut_however_long_the_comments_around_them(small_budget) -> None:
    padding = "# a comment line earns the budget nothing, unlike a line of code\n" * 20_000
    facts = extract_file("loops.py", HEADER + padding + (
        "with DAG('loopy'):\n"
        "    for i in range(1000):\n"
        "        for j in range(1000):\n"
        "            EmptyOperator(task_id=f't_{i}_{j}')\n"
        "    EmptyOperator(task_id='after')\n"
    ))
    [dag] = facts.dags
    assert dag.dynamic and dag.task("after") is not None
    assert len(dag.tasks) < 20_000  # not the million turns
    [finding] = too_costly(facts)
    assert "beyond what its length and its DAGs pay for" in finding.message


@pytest.mark.slow
def test_36000_tasks_in_a_49_mb_flat_file_are_read_whole() -> None:
    source = flat_file(36_000, "huge_flat")
    assert 4_500_000 < len(source.encode()) < 5 * 1024 * 1024
    start = time.perf_counter()
    facts = extract_file("huge_flat.py", source)
    seconds = time.perf_counter() - start
    [dag] = facts.dags
    assert len(dag.tasks) == 36_000 and not dag.dynamic and too_costly(facts) == []
    assert seconds < 120, f"{seconds:.1f} s: a hang guard on a shared machine, not a speed target"
