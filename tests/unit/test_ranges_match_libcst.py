"""The read-only model parses with ``ast`` for speed; its ranges must be libcst's, exactly."""

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from analysis.dags.dagfile import extract_file
from analysis.facts import Range
from tests.conftest import FIXTURES, TUTORIAL

FILES = sorted((FIXTURES / "dags").glob("*.py")) + sorted((TUTORIAL / "airflow_dags").glob("*.py"))


class _Ranges(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self) -> None:
        self.ranges: set[Range] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        position = self.get_metadata(PositionProvider, node, None)
        if position is not None:
            self.ranges.add(Range.of(position.start.line - 1, position.start.column,
                                     position.end.line - 1, position.end.column))
        return True


def libcst_ranges(text: str) -> set[Range]:
    visitor = _Ranges()
    MetadataWrapper(cst.parse_module(text)).visit(visitor)
    return visitor.ranges


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_range_is_a_libcst_node_range(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    facts = extract_file(str(path), text)
    known = libcst_ranges(text)
    assert facts.dags, "fixture has no DAG"
    for dag in facts.dags:
        assert dag.range in known, (dag.dag_id, dag.range)
        assert dag.id_range in known, (dag.dag_id, dag.id_range)
        for task in dag.tasks:
            assert task.range in known, (task.task_id, task.range)
            assert task.id_range in known, (task.task_id, task.id_range)
            if task.definition_range is not None:
                assert task.definition_range in known, (task.task_id, task.definition_range)


def test_columns_count_code_points_on_non_ascii_lines() -> None:
    text = (
        "from airflow.sdk import DAG\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('été'):\n"
        "    x = ('日本', EmptyOperator(task_id='naïve'))\n"
    )
    facts = extract_file("nonascii.py", text)
    task = facts.dags[0].tasks[0]
    assert task.task_id == "naïve"
    assert task.range == Range.of(3, 15, 3, 45)
    assert task.range in libcst_ranges(text)
    assert facts.dags[0].id_range == Range.of(2, 9, 2, 14)
