"""Scaffolding branch and short-circuit tasks as assets that materialize only what the callable
chooses: the module every task of tests/fixtures/scaffold/branch_dag.py gives, idempotency, the
registry, and the refusals they share with PythonOperator and ``@task``."""

from __future__ import annotations

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold
from analysis.edits.scaffold.families import scaffold_family
from tests.support.scaffold_fixture import FamilyFixture

FAMILY = FamilyFixture("branch", ("choose", "has_orders", "is_weekend", "pick_region"))
DAG, MODULE, TASKS = FAMILY.dag, FAMILY.module, FAMILY.tasks
scaffold, scaffold_all = FAMILY.scaffold, FAMILY.scaffold_all


def test_every_gate_in_turn_gives_the_fixture():
    text = scaffold_all()
    assert text == FAMILY.all_scaffolded
    # a branch adds one skippable asset per task right after it; a short-circuit makes its own skippable
    assert text.count("skippable=True") == 4 + 2
    assert 'specs=[dg.AssetSpec(key="weekend").replace_attributes(skippable=True)]' in text


def test_scaffolding_again_changes_nothing():
    FAMILY.assert_scaffolding_again_changes_nothing()


def test_the_gates_are_registered_as_scaffolded():
    facts = extract_file(str(DAG), DAG.read_text()).dag("branch")
    assert {t.task_id: scaffold_family(t.operator) for t in facts.tasks if t.task_id in TASKS} == {
        "choose": "branch", "has_orders": "short-circuit", "is_weekend": "short-circuit",
        "pick_region": "branch"}


HEAD = '''\
import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.operators.python import BranchPythonOperator, ShortCircuitOperator


def choose(**context):
    return "a" if context["logical_date"].day % 2 else "b"


with DAG("d", start_date=pendulum.datetime(2024, 1, 1)):
'''


@pytest.mark.parametrize("code, reason", [
    ("BranchPythonOperator(task_id='t', python_callable=choose)",
     ("the callable of task `t` reads `logical_date` of the Airflow task context (through `**context`), "
      "which Dagster does not have")),
    ("ShortCircuitOperator(task_id='t', python_callable=lambda ti: ti)",
     "the callable of task `t` takes `ti` from the Airflow task context, which Dagster does not have"),
    ("@task.branch\n    def t(run):\n        return 'a'\n    t('{{ ti.run_id }}')",
     "the arguments of task `t` use Jinja ('{{ ti.run_id }}'), which only Airflow renders"),
])
def test_a_gate_that_needs_airflow_is_refused_as_its_python_task_would_be(code, reason):
    text = HEAD + "    " + code + "\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == reason
