"""A scaffold family's fixtures as its unit tests use them: ``<name>_dag.py`` (DAG id ``<name>``),
``<name>_module.py`` (the Dagster module mapping its tasks to specs) and ``<name>_module+all.py``
(that module once every task is scaffolded in turn), under tests/fixtures/scaffold; and
``scaffold_every_task``, that loop for any DAG and module (the run tests' too)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from analysis.dagster.module import parse_dagster_module
from analysis.edits import EditResult
from analysis.edits.scaffold import ImportRoot, scaffold_task

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "scaffold"


@dataclass(frozen=True)
class FamilyFixture:
    name: str
    tasks: tuple[str, ...]
    """The tasks scaffolded in turn, in this order, to give ``<name>_module+all.py``."""

    @property
    def dag(self) -> Path:
        return FIXTURES / f"{self.name}_dag.py"

    @property
    def module(self) -> Path:
        return FIXTURES / f"{self.name}_module.py"

    @property
    def all_scaffolded(self) -> str:
        return (FIXTURES / f"{self.name}_module+all.py").read_text()

    def scaffold(self, text: str, task_id: str, dag_text: str | None = None,
                 dag_path: Path | None = None) -> EditResult:
        return scaffold_task(dag_text or self.dag.read_text(), str(dag_path or self.dag), self.name, task_id,
                             text, module_path=str(self.module))

    def scaffold_all(self) -> str:
        return scaffold_every_task(self.dag, self.name, self.tasks, self.module.read_text(), self.module)

    def assert_scaffolding_again_changes_nothing(self) -> None:
        text = self.scaffold_all()
        for task_id in self.tasks:
            again = self.scaffold(text, task_id)
            assert not again.changed and "already has a Dagster definition" in again.reason


def scaffold_every_task(dag: Path, dag_id: str, task_ids: Iterable[str], module_text: str,
                        module_path: Path | None = None, *, import_roots: Sequence[ImportRoot] = ()) -> str:
    """The module once each task is scaffolded in turn; each scaffold must change it."""
    dag_text, text = dag.read_text(encoding="utf-8"), module_text
    for task_id in task_ids:
        result = scaffold_task(dag_text, str(dag), dag_id, task_id, text,
                               module_path=str(module_path) if module_path else None, import_roots=import_roots)
        assert result.changed, result.reason
        text = result.text
    return text


def mapped(text: str) -> list[tuple[str, str | None, list[str]]]:
    """The module's mappings: (DAG, task, asset keys), none of them unresolved."""
    module = parse_dagster_module("definitions.py", text)
    assert module.error is None and module.unresolved == ()
    return [(m.dag_id, m.task_id, [a.key for a in m.assets]) for m in module.mappings]
