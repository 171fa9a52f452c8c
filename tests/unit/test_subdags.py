"""Airflow 2 SubDAGs: a ``SubDagOperator``'s ``subdag`` is a DAG of the parent's file (as a DagBag
lists it, judged in test_corpus_classes), and no edit plan takes one: proxying_to_dagster reads
only the DAGs in the module's globals, where a SubDAG never is."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.files import read_disk
from analysis.plans import Refused, plan_enable_proxying, plan_map, plan_proxy, plan_rollback, plan_scaffold
from analysis.plans.acceptance import plan_acceptance_test
from analysis.plans.decommission import plan_decommission
from analysis.plans.mapping import plan_map_dag_level
from analysis.plans.proxying import plan_proxy_dag_level
from analysis.project import Layout, discover

PARENT = ("from datetime import datetime\n"
          "from airflow import DAG\n"
          "from airflow.operators.empty import EmptyOperator\n"
          "from airflow.operators.subdag import SubDagOperator\n"
          "\n"
          "\n"
          "def child(parent, name):\n"
          "    with DAG(f'{parent}.{name}', start_date=datetime(2024, 1, 1)) as made:\n"
          "        EmptyOperator(task_id='extract') >> EmptyOperator(task_id='load')\n"
          "    return made\n"
          "\n"
          "\n"
          "with DAG('parent', start_date=datetime(2024, 1, 1)) as dag:\n"
          "    start = EmptyOperator(task_id='start')\n"
          "    start >> SubDagOperator(task_id='section', subdag=child(dag.dag_id, 'section'))\n")
SUBDAG = "`parent.section` is a SubDAG: dagster-airlift proxies only top-level DAGs"


def read(path: str) -> str | None:
    return read_disk(path).text


@pytest.fixture
def project(tmp_path: Path):
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "parent.py").write_text(PARENT, encoding="utf-8")
    return discover(Layout(str(tmp_path), ("dags",)), read_disk)


def test_the_subdag_is_a_dag_of_the_parents_file_with_its_tasks_and_edges(project) -> None:
    [file] = project.files.values()
    assert [dag.dag_id for dag in file.dags] == ["parent", "parent.section"]
    assert project.entry("parent").dag.subdag_of is None
    section = project.entry("parent.section").dag
    assert section.subdag_of == "parent" and not section.dynamic
    assert {t.task_id: t.upstream for t in section.tasks} == {"extract": (), "load": ("extract",)}


@pytest.mark.parametrize("plan", [
    lambda p: plan_map(p, read, "parent.section", ["extract"]),
    lambda p: plan_map_dag_level(p, read, "parent.section"),
    lambda p: plan_scaffold(p, read, "parent.section", "extract"),
    lambda p: plan_enable_proxying(p, read, "parent.section"),
    lambda p: plan_proxy(p, read, "parent.section", ["extract"]),
    lambda p: plan_proxy_dag_level(p, read, "parent.section"),
    lambda p: plan_rollback(p, read, "parent.section"),
    lambda p: plan_decommission(p, read, "parent.section"),
    lambda p: plan_acceptance_test(p, read, "parent.section", "extract"),
], ids=["map", "map-dag-level", "scaffold", "enable-proxying", "proxy", "proxy-dag-level", "rollback",
        "decommission", "acceptance-test"])
def test_every_edit_plan_refuses_a_subdag_in_one_line(project, plan) -> None:
    with pytest.raises(Refused) as refused:
        plan(project)
    assert str(refused.value) == SUBDAG


def test_the_parent_dag_is_still_planned(project) -> None:
    plan = plan_enable_proxying(project, read, "parent")
    assert any(change.path.endswith("parent.yaml") for change in plan.changes)
