"""Counts agree with their number (issue 17, item 12): "1 error", "1 task", "1 file"."""

from __future__ import annotations

from pathlib import Path

from analysis.describe import dag_markdown
from analysis.project import Layout, discover
from analysis.wording import plural


def test_plural() -> None:
    assert [plural(n, "task") for n in (0, 1, 2)] == ["0 tasks", "1 task", "2 tasks"]
    assert plural(1, "DAG file") == "1 DAG file" and plural(3, "DAG file") == "3 DAG files"
    assert plural(2, "entry", "entries") == "2 entries"


def test_a_one_task_dag_is_described_with_one_task(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "solo.py").write_text(
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('solo'):\n    EmptyOperator(task_id='only')\n")
    project = discover(Layout(str(tmp_path), ("dags",)))
    [entry] = project.entries
    assert "`solo` · 1 task" in dag_markdown(project, entry).splitlines()[0]
