"""A proxied task pushes no XCom (dagster-airlift's operator returns nothing): a task Airflow keeps
running that reads it would get None. The model knows who reads whom; proxy and rollback keep
every reader on the same side as what it reads."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.describe import Stage, blocked_in, starved_readers, task_markdown, task_status
from analysis.plans import Refused, plan_map, plan_proxy, plan_rollback
from analysis.project import Layout, discover
from analysis.state.proxied_state import parse_state_file
from tests.conftest import FIXTURES
from tests.support.plans import apply, read

XCOM = FIXTURES / "xcom_reads"


def project(root: Path):
    return discover(Layout(str(root), ("airflow_dags",), "definitions.py"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(XCOM, tmp_path / "xcom")
    root = tmp_path / "xcom"
    for dag_id in ("orders", "fan_out"):
        apply(plan_map(project(root), read, dag_id))
    return root


def proxied(root: Path, dag_id: str) -> set[str]:
    path = root / "airflow_dags" / "proxied_state" / f"{dag_id}.yaml"
    return {t.task_id for t in parse_state_file(str(path), path.read_text()).tasks if t.proxied}


def reads(source: str) -> dict[str, tuple[str, ...]]:
    [dag] = extract_file("dag.py", source).dags
    return {t.task_id: t.xcom_from for t in dag.tasks}


def test_every_way_of_reading_an_xcom_is_seen() -> None:
    text = (XCOM / "airflow_dags" / "orders.py").read_text()
    assert reads(text) == {"extract": (), "transform": ("extract",), "load": ("transform",),
                           "report": ("load",), "notify": ("report",), "audit": ("report",)}


def test_only_ids_written_out_and_of_this_dag_count() -> None:
    source = '''
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator

def pull(ti, ids):
    ti.xcom_pull(task_ids=ids)                       # computed: any task upstream (below)
    ti.xcom_pull(key="k", task_ids="a", dag_id="d")  # named after a keyword, its own DAG named
    ti.xcom_pull("b")                                 # first argument: task_ids
    ti.xcom_pull(task_ids="nowhere")                  # no such task here

with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
    a = BashOperator(task_id="a", bash_command="echo a")
    b = BashOperator(task_id="b", bash_command="echo b")
    c = PythonOperator(task_id="c", python_callable=pull, op_kwargs={"ids": ["a"]})
    d = BashOperator(task_id="d", bash_command="echo {{ ti.xcom_pull(task_ids=['a', 'b']) }} {{ ti.xcom_pull('d') }} "
                                               "{{ ti.xcom_pull(key='k', task_ids='c')['x'] }}")
    a >> b >> c >> d
'''
    assert reads(source) == {"a": (), "b": (), "c": ("a", "b"), "d": ("a", "b", "c")}


def test_an_edge_is_not_a_read() -> None:
    source = '''
from datetime import datetime
from airflow import DAG
from airflow.operators.bash import BashOperator
with DAG("d", start_date=datetime(2024, 1, 1), schedule=None):
    a = BashOperator(task_id="a", bash_command="echo a")
    b = BashOperator(task_id="b", bash_command="echo b")
    a >> b
'''
    assert reads(source) == {"a": (), "b": ()}


def test_proxying_a_task_whose_reader_stays_in_airflow_is_refused_in_one_line(root: Path) -> None:
    with pytest.raises(Refused) as refused:
        plan_proxy(project(root), read, "orders", ["extract"])
    message = str(refused.value)
    assert message == ("proxying `extract` would hand `transform` None at run time: it reads its XCom, and a "
                       "proxied task pushes no XCom; proxy `transform` first, or together with it "
                       "(airlift-lsp proxy orders transform extract)")
    assert "\n" not in message
    assert not (root / "airflow_dags" / "proxied_state").exists()  # nothing written


def test_readers_first_then_what_they_read(root: Path) -> None:
    for task_id in ("notify", "audit", "report", "load", "transform", "extract"):
        apply(plan_proxy(project(root), read, "orders", [task_id]))
    assert proxied(root, "orders") == {"notify", "audit", "report", "load", "transform", "extract"}


def test_a_reader_and_what_it_reads_together(root: Path) -> None:
    apply(plan_proxy(project(root), read, "orders", ["notify", "audit"]))
    apply(plan_proxy(project(root), read, "orders", ["transform", "report", "load", "extract"]))
    assert proxied(root, "orders") == {"notify", "audit", "report", "load", "transform", "extract"}


def test_a_mapped_reader_keeps_its_producer_in_airflow_unless_the_whole_dag_moves(root: Path) -> None:
    with pytest.raises(Refused) as refused:
        plan_proxy(project(root), read, "fan_out", ["batches"])
    assert str(refused.value).endswith("`process` cannot be proxied one by one, so proxy the whole DAG "
                                       "instead (airlift-lsp proxy fan_out --dag-level)")
    plan = plan_proxy(project(root), read, "fan_out")  # every task: the producer is left out, said
    apply(plan)
    assert proxied(root, "fan_out") == {"tidy"}
    assert ("left in Airflow 1 task whose XCom a task Airflow keeps running reads (a proxied task pushes "
            "no XCom): `batches` (read by `process`)") in plan.notes


def test_the_whole_dag_at_once_needs_no_order(root: Path) -> None:
    plan = plan_proxy(project(root), read, "orders")
    apply(plan)
    assert proxied(root, "orders") == {"notify", "audit", "report", "load", "transform", "extract"}
    assert not [n for n in plan.notes if "XCom" in n]


def test_rolling_back_a_reader_alone_is_refused_both_together_is_not(root: Path) -> None:
    apply(plan_proxy(project(root), read, "orders"))
    with pytest.raises(Refused) as refused:
        plan_rollback(project(root), read, "orders", ["load"])
    assert str(refused.value) == (
        "rolling back `load` alone would hand it None at run time: it reads the XCom of `transform`, which "
        "stays proxied, and a proxied task pushes no XCom; roll both back (airlift-lsp rollback orders load "
        "transform)")
    apply(plan_rollback(project(root), read, "orders", ["extract"]))  # its readers stay in Dagster: fine
    apply(plan_rollback(project(root), read, "orders", ["load", "transform"]))
    assert proxied(root, "orders") == {"notify", "audit", "report"}
    apply(plan_rollback(project(root), read, "orders"))  # the DAG: always
    assert proxied(root, "orders") == set()


def test_lens_and_hover_say_who_reads_it(root: Path) -> None:
    found = project(root)
    entry = found.entry("orders")
    extract, notify = entry.dag.task("extract"), entry.dag.task("notify")
    assert task_status(found, entry, extract).stage is Stage.OBSERVED
    assert blocked_in(found, entry, extract, Stage.OBSERVED) == "`transform` reads its XCom: proxy it first"
    assert blocked_in(found, entry, notify, Stage.OBSERVED) is None
    assert "cannot go further: `transform` reads its XCom: proxy it first" in task_markdown(found, entry, extract)


@pytest.mark.airflow
def test_airflow_finds_the_same_xcomargs_and_the_pulls_are_the_rest() -> None:
    from tests.conftest import airflow2_python, dagbag_of

    truth = dagbag_of(airflow2_python(), XCOM / "airflow_dags")
    assert truth["import_errors"] == {} and truth["serialization_errors"] == {}
    model = {dag.dag_id: {t.task_id: t.xcom_from for t in dag.tasks}
             for name in ("orders", "fan_out")
             for dag in extract_file(name, (XCOM / "airflow_dags" / f"{name}.py").read_text()).dags}
    given = {dag_id: {t: tuple(p) for t, p in d["xcom_from"].items()} for dag_id, d in truth["dags"].items()}
    # Airflow sees the XComArgs; `xcom_pull` with ids written out is read at run time only.
    pulls = {("orders", "report"): ("load",), ("orders", "notify"): ("report",)}
    assert {(d, t): p for d, tasks in given.items() for t, p in tasks.items() if p} == {
        (d, t): p for d, tasks in model.items() for t, p in tasks.items() if p and (d, t) not in pulls}
    assert all(given[d][t] == () for d, t in pulls)


@pytest.mark.airflow
def test_what_proxy_writes_loads_in_airflow_and_airlift_reads_the_same_state(root: Path) -> None:
    from tests.conftest import airflow2_python, dagbag_of

    apply(plan_proxy(project(root), read, "fan_out"))
    for task_id in ("notify", "audit", "report"):
        apply(plan_proxy(project(root), read, "orders", [task_id]))
    truth = dagbag_of(airflow2_python(), root / "airflow_dags")
    assert truth["import_errors"] == {} and truth["serialization_errors"] == {}
    states = truth["states"]["proxied_state"]
    assert states["fan_out"]["tasks"] == {"batches": False, "tidy": True}  # a mapped task is never listed
    assert {t for t, on in states["orders"]["tasks"].items() if on} == {"notify", "audit", "report"}


def test_a_state_edited_by_hand_that_starves_a_reader_is_said_in_hover(root: Path) -> None:
    apply(plan_proxy(project(root), read, "orders", ["notify", "audit"]))
    state = root / "airflow_dags" / "proxied_state" / "orders.yaml"
    found = project(root)
    entry = found.entry("orders")
    assert starved_readers(found, entry, entry.dag.task("notify")) == ()  # proxied, read by none
    state.write_text(state.read_text().replace("- id: load\n    proxied: false", "- id: load\n    proxied: true"))
    found = project(root)
    entry = found.entry("orders")
    assert starved_readers(found, entry, entry.dag.task("load")) == ("report",)
    assert ("⚠ `report`, still run by Airflow, reads this task's XCom: a proxied task pushes none, so it "
            "gets None at run time (proxy it too, or roll this task back)") in task_markdown(found, entry, entry.dag.task("load"))


COMPUTED = """
from datetime import datetime
from airflow import DAG
from airflow.models.baseoperator import BaseOperator
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def aggregate_collections(task_instance):
    # dea's rep_aws_storage_stats: the ids are computed, so only run time knows them
    return [task_instance.xcom_pull(task_ids=f"collection{i}") for i in range(1, 4)]


class PullSource(BaseOperator):
    def __init__(self, source, **kwargs):
        super().__init__(**kwargs)
        self.source = source

    def execute(self, context):
        return context["ti"].xcom_pull(task_ids=self.source)


with DAG("computed", start_date=datetime(2024, 1, 1), schedule=None):
    collections = [BashOperator(task_id=f"collection{i}", bash_command="echo 1") for i in range(1, 4)]
    aggregate = PythonOperator(task_id="aggregate", python_callable=aggregate_collections)
    publish = BashOperator(task_id="publish", bash_command="echo {{ ti.xcom_pull(key='total') }}")
    copy = PullSource(task_id="copy", source="publish")
    collections >> aggregate >> publish >> copy
"""


def test_a_pull_whose_ids_only_run_time_knows_may_read_every_task_upstream() -> None:
    [dag] = extract_file("computed.py", COMPUTED).dags
    assert {t.task_id: (t.xcom_from, t.xcom_upstream) for t in dag.tasks} == {
        "collection1": ((), ()), "collection2": ((), ()), "collection3": ((), ()),
        "aggregate": ((), ("collection1", "collection2", "collection3")),
        "publish": ((), ("aggregate", "collection1", "collection2", "collection3")),  # Jinja, no ids
        "copy": ((), ("aggregate", "collection1", "collection2", "collection3", "publish")),  # its class's execute
    }


def test_proxying_what_such_a_task_may_read_is_refused_until_it_moves(tmp_path: Path) -> None:
    root = tmp_path / "computed"
    shutil.copytree(XCOM, root)
    (root / "airflow_dags" / "computed.py").write_text(COMPUTED)
    apply(plan_map(project(root), read, "computed"))
    with pytest.raises(Refused) as refused:
        plan_proxy(project(root), read, "computed", ["collection2"])
    assert str(refused.value) == (
        "proxying `collection2` could hand `aggregate`, `publish`, `copy` None at run time: they may read its XCom "
        "(their `xcom_pull`s name their tasks only at run time), and a proxied task pushes no XCom; proxy "
        "`aggregate`, `publish`, `copy` first, or together with it "
        "(airlift-lsp proxy computed aggregate publish copy collection2)")
    found = project(root)
    entry = found.entry("computed")
    assert blocked_in(found, entry, entry.dag.task("publish"), Stage.OBSERVED) == "`copy` may read its XCom: proxy it first"
    for task_id in ("copy", "publish", "aggregate", "collection2"):  # readers first
        apply(plan_proxy(project(root), read, "computed", [task_id]))
    assert proxied(root, "computed") == {"copy", "publish", "aggregate", "collection2"}
    with pytest.raises(Refused) as refused:
        plan_rollback(project(root), read, "computed", ["aggregate"])
    assert str(refused.value).startswith(
        "rolling back `aggregate` alone could hand it None at run time: it may read the XCom of `collection2` "
        "(its `xcom_pull` names its tasks only at run time), which stays proxied")
