"""The workspace index without a server: buffers, rediscovery, and files whose analysis raises."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

import server.index
from analysis.project import Layout, discover
from server.index import Buffer, WorkspaceIndex

ORDERS = ('from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\n'
          'with DAG(dag_id="orders") as dag:\n    EmptyOperator(task_id="{task}")\n')


def tasks_of(index: WorkspaceIndex, path: Path) -> list[str]:
    return [t.task_id for e in index.snapshot.entries_in(str(path)) for t in e.dag.tasks]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "orders.py").write_text(ORDERS.format(task="extract"), encoding="utf-8")
    return tmp_path


def test_a_dag_file_that_exists_only_as_a_buffer_is_indexed(root: Path) -> None:
    index = WorkspaceIndex(Layout(str(root), ("dags",)))
    index.rebuild()
    new = root / "dags" / "brand_new.py"
    index.buffers[str(new)] = Buffer(ORDERS.replace("orders", "brand_new").format(task="fresh"), 1)
    index.update_files([str(new)])  # a new state folder: a full rediscovery, which sees buffers
    assert tasks_of(index, new) == ["fresh"]
    assert index.snapshot.versions[str(new)] == 1
    index.buffers[str(new)] = Buffer(ORDERS.replace("orders", "brand_new").format(task="fresher"), 2)
    index.update_files([str(new)])
    assert tasks_of(index, new) == ["fresher"]


def test_discovery_finds_buffers_of_new_state_files_and_honours_airflowignore(root: Path) -> None:
    (root / "dags" / ".airflowignore").write_text("ignored_*\n", encoding="utf-8")
    state = root / "dags" / "proxied_state" / "orders.yaml"
    buffers = {str(state): "tasks:\n  - id: extract\n    proxied: false\n",
               str(root / "dags" / "ignored_dag.py"): ORDERS.replace("orders", "ignored").format(task="t"),
               str(root / "dags" / ".hidden" / "dag.py"): ORDERS.replace("orders", "hidden").format(task="t")}

    def read(path: str):
        from analysis.files import read_disk
        from analysis.source import Decoded

        return Decoded(buffers[path]) if path in buffers else read_disk(path)

    project = discover(Layout(str(root), ("dags",)), read, open_paths=buffers)
    assert project.dag_ids == {"orders"}
    assert project.entry("orders").state is not None and project.entry("orders").state.path == str(state)


def test_a_file_whose_analysis_raises_keeps_its_last_good_facts(root: Path, monkeypatch, caplog) -> None:
    import analysis.project

    index = WorkspaceIndex(Layout(str(root), ("dags",)))
    index.rebuild()
    orders = str(root / "dags" / "orders.py")
    other = root / "dags" / "other.py"
    other.write_text(ORDERS.replace("orders", "other").format(task="a"), encoding="utf-8")
    real_extract = server.index.extract_file

    def extract(path: str, text: str, code=None):
        if "boom" in text:
            raise ValueError("analysis bug\nsecond line")
        return real_extract(path, text, code)

    monkeypatch.setattr(server.index, "extract_file", extract)
    monkeypatch.setattr(analysis.project, "extract_file", extract)  # other.py is new: a rediscovery
    index.buffers[orders] = Buffer(ORDERS.format(task="boom"), 7)
    with caplog.at_level(logging.INFO, logger="airlift-lsp"):
        index.update_files([orders, str(other)])
        index.update_files([orders])  # still failing: not logged again
    assert tasks_of(index, Path(orders)) == ["extract"]  # the last good facts...
    assert index.snapshot.texts[orders] == ORDERS.format(task="extract")  # ...with their text
    assert orders not in index.snapshot.versions
    assert tasks_of(index, other) == ["a"]  # the other file of the same update still counts
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "analysis bug" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage() and warnings[0].exc_info is None
    index.buffers[orders] = Buffer(ORDERS.format(task="fixed"), 8)
    index.update_files([orders])
    assert tasks_of(index, Path(orders)) == ["fixed"]
    assert index.snapshot.versions[orders] == 8


def test_a_rediscovery_keeps_the_last_good_facts_of_a_file_that_raises(root: Path, monkeypatch) -> None:
    import analysis.project

    index = WorkspaceIndex(Layout(str(root), ("dags",)))
    index.rebuild()
    orders = str(root / "dags" / "orders.py")
    real_extract = analysis.project.extract_file

    def extract(path: str, text: str, code=None):
        if "boom" in text:
            raise RecursionError("too deep")
        return real_extract(path, text, code)

    monkeypatch.setattr(analysis.project, "extract_file", extract)
    (root / "dags" / "orders.py").write_text(ORDERS.format(task="boom"), encoding="utf-8")
    (root / "dags" / "late.py").write_text(ORDERS.replace("orders", "late").format(task="b"), encoding="utf-8")
    snapshot = index.rebuild()
    assert tasks_of(index, Path(orders)) == ["extract"]
    assert snapshot.texts[orders] == ORDERS.format(task="extract")
    assert snapshot.project.dag_ids == {"orders", "late"}


def test_an_undecodable_dagster_module_is_not_a_module_plans_may_recreate(root: Path) -> None:
    module = root / "definitions.py"
    module.write_text("from dagster_airlift.core import build_defs_from_airflow_instance\n", encoding="utf-8")
    index = WorkspaceIndex(Layout(str(root), ("dags",)))
    assert str(module) in index.rebuild().project.dagster_modules
    module.write_bytes(b"# caf\xe9\nfrom dagster_airlift.core import build_defs_from_airflow_instance\n")
    project = index.update_files([str(module)]).project
    assert str(module) not in project.dagster_modules
    assert "not valid UTF-8" in project.unreadable_dagster_modules[str(module)]
    assert project.unreadable_dagster_modules == index.rebuild().project.unreadable_dagster_modules
