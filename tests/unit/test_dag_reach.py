"""What the model knows about a DAG beyond its tasks: every module-level name that holds it (what
proxying_to_dagster walks), and the calls that may add tasks it cannot see."""

from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.files import read_disk
from analysis.plans import Refused, plan_map, plan_proxy
from analysis.plans.proxying import plan_proxy_dag_level
from analysis.project import Layout, discover

HEAD = "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"


def dags(body: str):
    return {d.dag_id: d for d in extract_file("/dags/f.py", HEAD + body).dags}


def test_every_name_that_holds_a_dag() -> None:
    found = dags("def make(kind):\n"
                 "    with DAG(f'refresh_{kind}') as dag:\n"
                 "        EmptyOperator(task_id='a')\n"
                 "    return dag\n"
                 "for kind in ('image', 'audio'):\n"
                 "    made = make(kind)\n"
                 "    globals()[f'refresh_{kind}'] = made\n")
    assert found["refresh_image"].global_names == ("refresh_image",)
    assert set(found["refresh_audio"].global_names) == {"refresh_audio", "made"}


def test_calls_that_may_add_tasks_are_kept_per_dag() -> None:
    found = dags("from taskkit import add_tasks, helper\n"
                 "with DAG('a') as a:\n    add_tasks(a)\n"
                 "with DAG('b') as b:\n    EmptyOperator(task_id='t')\n"
                 "helper(b)\n")
    assert [u.split(":")[0] for u in found["a"].unseen] == ["`add_tasks(...)`"]
    assert [u.split(":")[0] for u in found["b"].unseen] == ["`helper(...)`"]


def _workspace(tmp_path: Path, dag_file: str) -> Layout:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "f.py").write_text(HEAD + dag_file)
    return Layout(str(tmp_path), ("dags",), "definitions.py")


def read(path: str) -> str | None:
    return read_disk(path).text if Path(path).exists() else None


def test_whole_dag_steps_on_a_dag_with_no_known_task_say_why(tmp_path: Path) -> None:
    layout = _workspace(tmp_path, "from taskkit import add_report_task\n"
                                  "with DAG('report') as dag:\n    add_report_task(dag)\n")
    for plan in (plan_map, plan_proxy):
        with pytest.raises(Refused, match=r"no task of `report` is known statically; .*`add_report_task\(...\)`.*"
                                          r"--dag-level"):
            plan(discover(layout), read, "report")


def test_dag_level_proxy_of_a_dag_held_by_two_names_is_refused(tmp_path: Path) -> None:
    layout = _workspace(tmp_path, "with DAG('d') as dag:\n    EmptyOperator(task_id='a')\nalias = dag\n")
    project = discover(layout)
    for change in plan_map(project, read, "d", dag_level=True).changes:
        Path(change.path).write_text(change.new_text)
    with pytest.raises(Refused, match=r"held by 2 module-level names \(`dag`, `alias`\).*DAGSTER_OVERRIDE_DAG_d"):
        plan_proxy_dag_level(discover(layout), read, "d")


def test_a_task_group_given_a_dag_outside_any_dag_context_adds_nothing_to_it() -> None:
    """Airflow 2.11 and 3.3 DagBag agree: operators made in `with TaskGroup(dag=d):` outside a DAG
    context take no DAG (a fuzz find); joined to a task of `d` later, they join it."""
    found = dags("from airflow.utils.task_group import TaskGroup\n"
                 "d = DAG('d')\n"
                 "with TaskGroup('g', dag=d):\n"
                 "    alone = EmptyOperator(task_id='alone')\n"
                 "    joined = EmptyOperator(task_id='joined')\n"
                 "EmptyOperator(task_id='first', dag=d) >> joined\n")
    assert [t.task_id for t in found["d"].tasks] == ["first", "g.joined"]
