"""A branch or a short-circuit decides which tasks after it Airflow runs, and a task that can skip
itself (`AirflowSkipException`, a sensor's `soft_fail`) skips them with it; dagster-airlift's proxy
operator decides nothing and never skips. Proxied one by one, every branch would run: such a task
stays in Airflow (tests/integration/test_run_time_hazards.py shows the run)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from analysis.describe import Stage, blocked_in, task_markdown
from analysis.edits.scaffold.families import gate_of
from analysis.plans import Refused, plan_proxy
from analysis.plans.run_time import gate_refusal
from analysis.project import Layout, discover
from tests.conftest import FIXTURES
from tests.support.plans import read


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "run_time_hazards", tmp_path / "hazards")
    return tmp_path / "hazards"


def project(root: Path):
    return discover(Layout(str(root), ("airflow_dags",), "definitions.py"))


def test_a_branch_named_is_refused_in_one_line(root: Path) -> None:
    with pytest.raises(Refused) as refused:
        plan_proxy(project(root), read, "hazards", ["choose"])
    assert str(refused.value) == (
        "`choose` is a branch (`BranchPythonOperator`): proxied, dagster-airlift's operator chooses no branch, "
        "so Airflow would run every task after it; it stays in Airflow (the tasks after it can be proxied: "
        "Airflow still skips those it does not choose), or move the whole DAG at DAG level (--dag-level)")


def test_the_whole_dag_leaves_it_in_airflow_and_says_so(root: Path) -> None:
    plan = plan_proxy(project(root), read, "hazards")
    [state] = [c for c in plan.changes if c.path.endswith("hazards.yaml")]
    assert "- id: choose\n    proxied: false" in state.new_text
    assert "- id: left\n    proxied: true" in state.new_text and "- id: right\n    proxied: true" in state.new_text
    assert "- id: check\n    proxied: false" in state.new_text and "- id: publish\n    proxied: true" in state.new_text
    assert any(n.startswith("left in Airflow the tasks that decide which tasks after them run (choose, check)")
               for n in plan.notes)


def test_lens_and_hover_say_why_it_stays(root: Path) -> None:
    found = project(root)
    entry = found.entry("hazards")
    choose = entry.dag.task("choose")
    why = "a branch: proxied, every branch after it would run; it stays in Airflow (or DAG level)"
    assert blocked_in(found, entry, choose, Stage.OBSERVED) == why
    assert f"cannot go further: {why}" in task_markdown(found, entry, choose)
    why = ("can skip itself (`AirflowSkipException`): proxied, the tasks after it would run or fail; "
           "it stays in Airflow (or DAG level)")
    assert blocked_in(found, entry, entry.dag.task("check"), Stage.OBSERVED) == why
    assert f"cannot go further: {why}" in task_markdown(found, entry, entry.dag.task("check"))


@pytest.mark.parametrize(("operator", "word"), [("ShortCircuitOperator", "short-circuits"),
                                                ("BranchDayOfWeekOperator", "is a branch")])
def test_other_gates(tmp_path: Path, operator: str, word: str) -> None:
    (tmp_path / "dags").mkdir()
    module = "python" if operator == "ShortCircuitOperator" else "weekday"
    (tmp_path / "dags" / "gate.py").write_text(
        f"from datetime import datetime\nfrom airflow import DAG\nfrom airflow.operators.{module} import {operator}\n"
        "from airflow.operators.bash import BashOperator\n"
        "with DAG('gate', start_date=datetime(2024, 1, 1), schedule=None):\n"
        f"    g = {operator}(task_id='g', python_callable=lambda: True)\n"
        "    g >> BashOperator(task_id='after', bash_command='echo')\n")
    found = discover(Layout(str(tmp_path), ("dags",), "definitions.py"))
    from analysis.plans import plan_map
    for change in plan_map(found, read, "gate").changes:
        Path(change.path).write_text(change.new_text)
    with pytest.raises(Refused) as refused:
        plan_proxy(discover(Layout(str(tmp_path), ("dags",), "definitions.py")), read, "gate", ["g"])
    assert str(refused.value).startswith(f"`g` {word} (`{operator}`)")


def weekly_dag(tmp_path: Path):
    """mozilla-telemetry's probe_scraper: `class CheckBranchOperator(BaseBranchOperator)` in the DAG
    file; and a class that mixes SkipMixin in."""
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "weekly.py").write_text(
        "from datetime import datetime\nfrom airflow import DAG\n"
        "from airflow.operators.branch import BaseBranchOperator\nfrom airflow.models.skipmixin import SkipMixin\n"
        "from airflow.models.baseoperator import BaseOperator\nfrom airflow.operators.bash import BashOperator\n"
        "class Weekday(BaseBranchOperator):\n    def choose_branch(self, context):\n        return ['monday']\n"
        "class Stopper(BaseOperator, SkipMixin):\n    def execute(self, context):\n        pass\n"
        "with DAG('weekly', start_date=datetime(2024, 1, 1), schedule=None):\n"
        "    Weekday(task_id='pick') >> BashOperator(task_id='monday', bash_command='echo')\n"
        "    Stopper(task_id='stop') >> BashOperator(task_id='after', bash_command='echo')\n")
    return discover(Layout(str(tmp_path), ("dags",), "definitions.py")).entry("weekly").dag


def test_a_project_class_derived_from_a_branch_base_is_a_branch(tmp_path: Path) -> None:
    dag = weekly_dag(tmp_path)
    assert {t.task_id: t.gate for t in dag.tasks} == {"pick": "branch", "monday": None, "stop": "short-circuit",
                                                      "after": None}


@pytest.mark.airflow
def test_airflow_says_the_same_tasks_can_skip(tmp_path: Path) -> None:
    from tests.conftest import airflow2_python, dagbag_of

    dag = weekly_dag(tmp_path)
    truth = dagbag_of(airflow2_python(), tmp_path / "dags")
    assert truth["import_errors"] == {}
    assert truth["dags"]["weekly"]["skips"] == sorted(t.task_id for t in dag.tasks if gate_of(t)) == ["pick", "stop"]
    gates = FIXTURES / "scaffold" / "branch_dag.py"  # Airflow's own branch operators and decorators
    (tmp_path / "dags" / "branch_dag.py").write_text(gates.read_text())
    truth = dagbag_of(airflow2_python(), tmp_path / "dags")
    [branch] = [d for d in discover(Layout(str(tmp_path), ("dags",), "definitions.py")).entries if d.dag_id == "branch"]
    assert truth["dags"]["branch"]["skips"] == sorted(t.task_id for t in branch.dag.tasks if gate_of(t))


def skipping_dag(tmp_path: Path):
    """Tasks that can skip themselves, as real DAGs write them (openverse's `AirflowSkipException`
    raised by `@task`s and callables, a project operator's `execute`, a sensor's `soft_fail`), and
    tasks that cannot (a callable that only mentions it in a string; an Airflow sensor without it)."""
    (tmp_path / "dags").mkdir(exist_ok=True)
    (tmp_path / "dags" / "skipping.py").write_text(textwrap.dedent("""\
        from datetime import datetime
        from airflow import DAG
        from airflow import exceptions
        from airflow.decorators import task
        from airflow.exceptions import AirflowSkipException
        from airflow.models.baseoperator import BaseOperator
        from airflow.operators.python import PythonOperator
        from airflow.sensors.base import BaseSensorOperator
        from airflow.sensors.python import PythonSensor
        from airflow.utils.task_group import TaskGroup


        def no_rows():
            def inner():
                raise exceptions.AirflowSkipException("none")
            inner()


        def says_it():
            return "AirflowSkipException is not raised here"


        class Quiet(BaseOperator):
            def execute(self, context):
                raise AirflowSkipException("quiet")


        class Loud(BaseOperator):
            def execute(self, context):
                return 1


        class Waiter(BaseSensorOperator):
            def poke(self, context):
                return True


        with DAG("skipping", start_date=datetime(2024, 1, 1), schedule=None):
            @task
            def maybe():
                raise AirflowSkipException("later")

            maybe()
            PythonOperator(task_id="callable", python_callable=no_rows)
            PythonOperator(task_id="string", python_callable=says_it)
            Quiet(task_id="quiet")
            Loud(task_id="loud")
            PythonSensor(task_id="soft", python_callable=lambda: True, soft_fail=True)
            PythonSensor(task_id="hard", python_callable=lambda: True)
            PythonSensor(task_id="never", python_callable=lambda: True, never_fail=True)
            PythonSensor(task_id="own_defaults", python_callable=lambda: True, default_args={"soft_fail": True})
            PythonOperator(task_id="not_a_sensor", python_callable=says_it, default_args={"soft_fail": True})


        with DAG("soft_defaults", start_date=datetime(2024, 1, 1), schedule=None,
                 default_args={"soft_fail": True, "retries": 1}):
            PythonSensor(task_id="from_dag", python_callable=lambda: True)
            PythonSensor(task_id="overridden", python_callable=lambda: True, soft_fail=False)
            PythonOperator(task_id="plain", python_callable=says_it)
            Waiter(task_id="waiter")
            Loud(task_id="loud")
            with TaskGroup("grp", default_args={"soft_fail": False}):
                PythonSensor(task_id="from_group", python_callable=lambda: True)
            with TaskGroup("outer", default_args={"never_fail": True}):
                with TaskGroup("inner"):
                    PythonSensor(task_id="nested", python_callable=lambda: True, soft_fail=False)
        """))
    return discover(Layout(str(tmp_path), ("dags",), "definitions.py")).entry("skipping").dag


SKIPPING = {"maybe": "skips-itself", "callable": "skips-itself", "string": None, "quiet": "skips-itself",
            "loud": None, "soft": "soft-fail", "hard": None, "never": "soft-fail", "own_defaults": "soft-fail",
            "not_a_sensor": None}
SOFT_DEFAULTS = {"from_dag": "soft-fail", "overridden": None, "plain": None, "waiter": "soft-fail", "loud": None,
                 "grp.from_group": None, "outer.inner.nested": "soft-fail"}
"""Sensors made soft by ``default_args``, as Airflow merges them (the call's, the TaskGroups', the
DAG's; nearest first), and tasks that stay hard: a sensor given ``False``, operators that are no
sensors (``plain``, the project's ``loud``). ``waiter`` is a project sensor not named one;
``nested`` sets ``soft_fail=False`` and still skips: ``never_fail`` comes from its group."""


def test_tasks_that_can_skip_themselves(tmp_path: Path) -> None:
    dag = skipping_dag(tmp_path)
    assert {t.task_id: gate_of(t) for t in dag.tasks} == SKIPPING
    defaults = discover(Layout(str(tmp_path), ("dags",), "definitions.py")).entry("soft_defaults").dag
    assert {t.task_id: gate_of(t) for t in defaults.tasks} == SOFT_DEFAULTS
    assert gate_refusal(dag.task("soft"), "soft-fail").startswith(
        "`soft` is a sensor with `soft_fail=True`: proxied, dagster-airlift's operator never skips, so the tasks "
        "after it would run, or fail, where Airflow skips them; it stays in Airflow")


@pytest.mark.airflow
def test_airflow_says_the_same_tasks_skip_themselves(tmp_path: Path) -> None:
    from tests.conftest import airflow2_python, dagbag_of

    dag = skipping_dag(tmp_path)
    truth = dagbag_of(airflow2_python(), tmp_path / "dags")
    assert truth["import_errors"] == {}
    assert truth["dags"]["skipping"]["skips"] == sorted(t for t, gate in SKIPPING.items() if gate)
    assert truth["dags"]["soft_defaults"]["skips"] == sorted(t for t, gate in SOFT_DEFAULTS.items() if gate)
