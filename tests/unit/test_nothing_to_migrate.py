"""Issue 16: tasks with nothing to migrate (EmptyOperator, DummyOperator, LatestOnlyOperator)
count as done and are never proxied; tasks no scaffold knows carry a `no-scaffold` note."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from analysis.checks import check_project
from analysis.describe import Stage, dag_status, task_markdown, task_status
from analysis.facts import Severity
from analysis.plans import Refused, plan_decommission, plan_map, plan_proxy
from analysis.project import Layout, discover
from analysis.state.proxied_state import parse_state_file
from tests.conftest import FIXTURES
from tests.support.plans import apply, read

NOTE = "no scaffold for `LoadWarehouseOperator`: port by hand (or port the class once: `AIRFLOW_OPERATOR_PORTS`)"

WAREHOUSE = FIXTURES / "nothing_to_migrate"
IDLE = ["start", "latest_only", "done", "mark_reports"]  # Empty, LatestOnly, Dummy, ExternalTaskMarker
HAND_PORT = '''

@asset(key=["warehouse", "load"])
def load_orders():
    return 3
'''


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(WAREHOUSE, tmp_path / "warehouse")
    return tmp_path / "warehouse"


def project(root: Path):
    return discover(Layout(str(root), ("airflow_dags",), "definitions.py"))


def entry_of(root: Path):
    found = project(root)
    return found, found.entry("warehouse")


def test_the_operator_no_scaffold_knows_has_one_note_at_its_call(root: Path) -> None:
    found, entry = entry_of(root)
    findings = check_project(found)
    [note] = [f for f in findings if f.code == "no-scaffold"]
    load = entry.dag.task("load")
    assert note.severity is Severity.INFORMATION
    assert note.message == NOTE
    assert (note.path, note.range) == (entry.file.path, load.range)
    assert not [f for f in findings if f.severity is Severity.ERROR]


def test_a_hand_port_or_a_scaffold_ends_the_note_a_spec_does_not(root: Path) -> None:
    apply(plan_map(project(root), read, "warehouse"))
    found = project(root)
    assert [f.message for f in check_project(found) if f.code == "no-scaffold"] == [
        NOTE]  # an AssetSpec runs nothing
    module = root / "definitions.py"
    text = module.read_text()
    text = text.replace('"load": [AssetSpec(key=["warehouse", "load"], deps=[["warehouse", "count"]])]',
                        '"load": [load_orders]')
    assert '"load": [load_orders]' in text, text
    head, _, tail = text.partition("defs = ")
    module.write_text(head.replace("from dagster import ", "from dagster import asset, ") + HAND_PORT
                      + "\n\ndefs = " + tail)
    found = project(root)
    assert found.runnable_in_dagster("warehouse", "load")
    assert not [f for f in check_project(found) if f.code == "no-scaffold"]


def test_two_hundred_pod_tasks_give_two_hundred_notes_and_no_error(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "pods.py").write_text(
        "from airflow import DAG\nfrom airflow.providers.ssh.operators.ssh import SSHOperator\n\n"
        'with DAG(dag_id="pods") as dag:\n'
        "    for i in range(200):\n"
        '        SSHOperator(task_id=f"pod_{i}", command="run")\n')
    began = time.perf_counter()
    findings = check_project(discover(Layout(str(tmp_path), ("dags",))))
    assert time.perf_counter() - began < 10
    notes = [f for f in findings if f.code == "no-scaffold"]
    assert len(notes) == 200 and {f.severity for f in findings} == {Severity.INFORMATION}
    assert {f.message for f in notes} == {NOTE.replace("LoadWarehouseOperator", "SSHOperator")}


def test_tasks_with_nothing_to_migrate_count_as_done(root: Path) -> None:
    found, entry = entry_of(root)
    start = task_status(found, entry, entry.dag.task("start"))
    assert start.stage is Stage.UNMAPPED and start.done and start.label == "nothing to migrate"
    assert not task_status(found, entry, entry.dag.task("extract")).done
    status = dag_status(found, entry)
    assert (status.total, status.mapped, status.proxied, status.nothing) == (7, 4, 4, 4)
    assert status.label == "4/7 tasks mapped · 4 proxied · 4 of these: nothing to migrate"  # no "hook missing"

    apply(plan_map(found, read, "warehouse"))
    apply(plan_proxy(project(root), read, "warehouse"))
    found, entry = entry_of(root)
    status = dag_status(found, entry)
    assert (status.mapped, status.proxied, status.nothing) == (7, 7, 4)
    assert [task_status(found, entry, t).label for t in entry.dag.tasks] == [
        "nothing to migrate", "nothing to migrate", "proxied → Dagster", "proxied → Dagster",
        "proxied → Dagster", "nothing to migrate", "nothing to migrate"]
    # Unmapped-task notes are for tasks that do work.
    (root / "definitions.py").unlink()
    apply(plan_map(project(root), read, "warehouse", ["extract"]))
    unmapped = [f.message.split("`")[1] for f in check_project(project(root)) if f.code == "unmapped-task"]
    assert unmapped == ["count", "load"]


def test_hover_says_why_and_what_is_left_by_hand(root: Path) -> None:
    found, entry = entry_of(root)
    start = task_markdown(found, entry, entry.dag.task("start"))
    assert "stage: **nothing to migrate** — an `EmptyOperator` runs nothing" in start
    assert "no scaffold" not in start
    latest = task_markdown(found, entry, entry.dag.task("latest_only"), markdown=False)
    assert "nothing to migrate — a LatestOnlyOperator only skips its downstream tasks" in latest
    load = task_markdown(found, entry, entry.dag.task("load"))
    assert "no scaffold: port by hand (`LoadWarehouseOperator`" in load
    assert "no scaffold" not in task_markdown(found, entry, entry.dag.task("extract"))


def test_proxying_the_dag_leaves_them_unproxied_in_the_state_file(root: Path) -> None:
    apply(plan_map(project(root), read, "warehouse"))
    plan = plan_proxy(project(root), read, "warehouse")
    assert ("left in Airflow (`proxied: false`), with nothing to migrate: `start` (EmptyOperator), "
            "`latest_only` (LatestOnlyOperator), `done` (DummyOperator), `mark_reports` (ExternalTaskMarker)") in plan.notes
    assert any("port `load` by hand (no scaffold for `LoadWarehouseOperator`)" in n for n in plan.notes)
    assert plan.title == "Proxy 3 tasks of warehouse to Dagster"
    apply(plan)
    path = root / "airflow_dags" / "proxied_state" / "warehouse.yaml"
    state = parse_state_file(str(path), path.read_text())
    assert {t.task_id: t.proxied for t in state.tasks} == {
        "count": True, "done": False, "extract": True, "latest_only": False, "load": True, "start": False,
        "mark_reports": False}
    again = plan_proxy(project(root), read, "warehouse")
    assert again.empty


@pytest.mark.parametrize("task_id", IDLE)
def test_proxying_one_explicitly_is_refused_in_one_line(root: Path, task_id: str) -> None:
    apply(plan_map(project(root), read, "warehouse"))
    with pytest.raises(Refused) as refused:
        plan_proxy(project(root), read, "warehouse", [task_id])
    message = str(refused.value)
    assert "\n" not in message and message.startswith(f"`{task_id}` has nothing to migrate")
    assert f'"No asset nodes found to trigger for task warehouse.{task_id}"' in message
    assert not (root / "airflow_dags" / "proxied_state").exists()


def test_a_dag_of_empty_tasks_has_nothing_to_proxy(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "marks.py").write_text(
        "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n\n"
        'with DAG(dag_id="marks") as dag:\n    EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")\n')
    plan = plan_proxy(discover(Layout(str(tmp_path), ("dags",))), read, "marks")
    assert plan.empty and plan.notes == (
        "left in Airflow (`proxied: false`), with nothing to migrate: `a` (EmptyOperator), `b` (EmptyOperator)",)


def test_an_executable_asset_mapped_to_an_empty_task_makes_it_a_task_to_proxy(root: Path) -> None:
    apply(plan_map(project(root), read, "warehouse"))
    module = root / "definitions.py"
    text = module.read_text().replace('"start": [AssetSpec(key=["warehouse", "start"])]', '"start": [start_asset]')
    head, _, tail = text.partition("defs = ")
    module.write_text(head.replace("from dagster import ", "from dagster import asset, ")
                      + '\n\n@asset(key=["warehouse", "start"])\ndef start_asset():\n    pass\n\n\ndefs = ' + tail)
    found, entry = entry_of(root)
    assert task_status(found, entry, entry.dag.task("start")).nothing is None
    plan = plan_proxy(found, read, "warehouse", ["start"])
    assert plan.title == "Proxy start to Dagster"


def test_decommission_does_not_wait_for_them(root: Path) -> None:
    apply(plan_map(project(root), read, "warehouse"))
    apply(plan_proxy(project(root), read, "warehouse"))
    # Still AssetSpecs for the tasks that do work: refused for that, not for the idle tasks.
    with pytest.raises(Refused) as refused:
        plan_decommission(project(root), read, "warehouse")
    message = str(refused.value)
    assert "`warehouse/extract`" in message and "start" not in message and "still run" not in message
