"""What the cursor is on, in files whose lines end in ``\\r\\n`` or ``\\r`` alone (LSP line
breaks, as ``analysis.source.split_lines`` reads them): the word under the cursor, the text
of a range (code actions), and completion."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.facts import Position, Range
from analysis.project import Layout
from server.features.completion import completions_at
from server.features.lookup import text_at, word_at
from server.index import WorkspaceIndex

DAG = ("from airflow import DAG\n"
       "from airflow.operators.empty import EmptyOperator\n"
       "\n"
       "with DAG(dag_id='orders') as dag:\n"
       "    extract = EmptyOperator(task_id='extract')\n"
       "    load = EmptyOperator(task_id='load')\n"
       "    extract >> load\n")
STATE = "tasks:\n  - id: extract\n    proxied: false\n"


@pytest.mark.parametrize("brk", ["\r", "\r\n"], ids=["cr", "crlf"])
def test_the_word_under_the_cursor(brk: str) -> None:
    text = DAG.replace("\n", brk)
    assert word_at(text, Position(5, 6)) == "load"
    assert word_at(text, Position(6, 16)) == "load"
    assert word_at(text, Position(7, 0)) is None  # the empty line after the last break


@pytest.mark.parametrize("brk", ["\r", "\r\n"], ids=["cr", "crlf"])
def test_the_text_of_a_range(brk: str) -> None:
    text = DAG.replace("\n", brk)
    assert text_at(text, Range.of(4, 14, 4, 27)) == "EmptyOperator"
    assert text_at(text, Range.of(5, 11, 6, 3)) == "EmptyOperator(task_id='load')"  # first line only


@pytest.mark.parametrize("brk", ["\r", "\r\n"], ids=["cr", "crlf"])
def test_completion_of_task_ids_in_a_state_file(tmp_path: Path, brk: str) -> None:
    (tmp_path / "dags" / "proxied_state").mkdir(parents=True)
    (tmp_path / "dags" / "orders.py").write_bytes(DAG.replace("\n", brk).encode())
    state = tmp_path / "dags" / "proxied_state" / "orders.yaml"
    state.write_bytes(STATE.replace("\n", brk).encode())
    index = WorkspaceIndex(Layout(str(tmp_path), ("dags",)))
    snapshot = index.rebuild()
    text = STATE.replace("\n", brk) + "  - id: lo"  # typed on a new last line
    completion = completions_at(snapshot, str(state), text, Position(3, 10))
    assert completion is not None
    partial, candidates = completion
    assert partial == "lo"
    assert [label for label, _, _ in candidates] == ["extract", "load"]


@pytest.mark.parametrize("brk", ["\r", "\r\n"], ids=["cr", "crlf"])
def test_completion_of_dag_ids_in_the_dagster_module(tmp_path: Path, brk: str) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "orders.py").write_text(DAG, encoding="utf-8")
    module = tmp_path / "definitions.py"
    module.write_text("from dagster_airlift.core import assets_with_task_mappings\n", encoding="utf-8")
    snapshot = WorkspaceIndex(Layout(str(tmp_path), ("dags",))).rebuild()
    text = brk.join(["from dagster_airlift.core import assets_with_task_mappings", "",
                     "mapped = assets_with_task_mappings(", "    dag_id='or"])
    completion = completions_at(snapshot, str(module), text, Position(3, 14))
    assert completion is not None
    partial, candidates = completion
    assert partial == "or"
    assert [label for label, _, _ in candidates] == ["orders"]
