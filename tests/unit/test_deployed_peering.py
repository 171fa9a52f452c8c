"""The deployed DAGs read from Airflow's REST API (a local fake, tests/support/fake_airflow.py,
playing Airflow 3's /api/v2 and Airflow 2's /api/v1): the DAG list in pages, the tasks of the
DAGs the static model cannot read whole only, cached by last_parsed_time, failures kept apart
from the run states; the index with them."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.deployed import DeployedTask
from analysis.project import Layout
from server.index import WorkspaceIndex
from server.peering import AirflowClient, Poller, RequestPolicy
from server.peering.deployed import (
    CHECKS_PER_POLL,
    EMPTY,
    DeploymentWatcher,
    Need,
    classifier,
    read_deployment,
)
from server.settings import AirflowSettings
from tests.support.airflow_server import time_limit
from tests.support.fake_airflow import FakeAirflow

FAST = RequestPolicy(connect_timeout=1.0, read_timeout=2.0, retries=1, sleep=lambda seconds: None)
OPAQUE = ('"""An Airflow DAG made by a vendor library (airflow, dag)."""\n'
          "from vendor_factory import build\n\ndag = build('vendor_orders')\n")
STATIC = ("from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
          "with DAG('plain') as dag:\n    EmptyOperator(task_id='a') >> EmptyOperator(task_id='b')\n")
VENDOR_TASKS = {"extract": ["load"], "load": []}


@pytest.fixture(autouse=True)
def bounded():
    with time_limit(60, "a deployed-DAGs peering test"):
        yield


@pytest.fixture(params=["v2", "v1"])
def fake(request) -> FakeAirflow:
    with FakeAirflow(api_version=request.param) as server:
        yield server


def client_for(fake: FakeAirflow) -> AirflowClient:
    return AirflowClient(fake.url, username=fake.username, password=fake.password, policy=FAST)


def requests_seen(fake: FakeAirflow, since: int = 0) -> list[str]:
    """``GET /dags`` and ``GET /dags/<id>/tasks`` requests (login and version aside)."""
    return [f"{s.method} {s.path.split('?')[0].split('/api/')[-1][3:]}" for s in fake.seen[since:]
            if "/dags" in s.path]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    (tmp_path / "dags" / "vendor").mkdir(parents=True)
    (tmp_path / "dags" / "vendor" / "orders.py").write_text(OPAQUE)
    (tmp_path / "dags" / "plain.py").write_text(STATIC)
    return tmp_path


def indexed(root: Path) -> WorkspaceIndex:
    index = WorkspaceIndex(Layout(str(root), ("dags",)))
    index.rebuild()
    return index


def deploy(fake: FakeAirflow, plain_tasks: dict[str, list[str]] | None = None) -> None:
    fake.add_dag("vendor_orders", "/opt/airflow/dags/vendor/orders.py", VENDOR_TASKS, mapped=("load",))
    fake.add_dag("plain", "/opt/airflow/dags/plain.py", plain_tasks or {"a": ["b"], "b": []})
    fake.add_dag("elsewhere", "/opt/airflow/dags/not_in_the_workspace.py", {"x": []})


# -- the client ----------------------------------------------------------------------------------

def test_the_dag_list_comes_in_pages_as_large_as_airflow_allows(fake: FakeAirflow) -> None:
    for i in range(250):
        fake.add_dag(f"dag_{i:03}", f"/opt/airflow/dags/dag_{i:03}.py", {"t": []})
    client = client_for(fake)
    client.connect()
    start = len(fake.seen)
    listed = client.list_dags()
    assert listed.complete and len(listed.dags) == 250
    assert requests_seen(fake, start) == ["GET dags"] * 3  # Airflow's default maximum_page_limit: 100
    first = listed.dags[0]
    assert (first.dag_id, first.fileloc) == ("dag_000", "/opt/airflow/dags/dag_000.py")
    assert first.last_parsed and first.last_parsed.startswith("2026-01-05T09:00")

    fake.max_page_limit = 500  # `[api] maximum_page_limit = 500`: one request
    start = len(fake.seen)
    assert len(client.list_dags().dags) == 250 and requests_seen(fake, start) == ["GET dags"]
    client.close()


def test_a_list_that_announces_more_than_it_sends_ends_and_says_so(fake: FakeAirflow) -> None:
    deploy(fake)
    fake.overstated_total = 7
    client = client_for(fake)
    listed = client.list_dags()
    assert not listed.complete and {d.dag_id for d in listed.dags} == {"vendor_orders", "plain", "elsewhere"}
    client.close()


def test_tasks_are_typed_records_over_both_api_versions(fake: FakeAirflow) -> None:
    deploy(fake)
    client = client_for(fake)
    assert client.list_tasks("vendor_orders") == (
        DeployedTask("extract", "PythonOperator", ("load",)),
        DeployedTask("load", "PythonOperator", (), mapped=True))
    assert client.list_tasks("never_deployed") is None  # 404: gone
    client.close()


# -- one round -----------------------------------------------------------------------------------

def test_tasks_only_for_dags_the_static_model_cannot_read_whole(fake: FakeAirflow, workspace: Path) -> None:
    deploy(fake)
    project = indexed(workspace).snapshot.project
    classify = classifier(project.files, project.layout.dag_roots())
    client = client_for(fake)
    client.connect()

    start = len(fake.seen)
    first = read_deployment(client, classify, checks=0)
    # The list, then the tasks of the vendor DAG only: `plain` is read whole, `elsewhere` has no file.
    assert requests_seen(fake, start) == ["GET dags", "GET dags/vendor_orders/tasks"]
    assert [d.dag_id for d in first.dags()] == ["vendor_orders"]

    start = len(fake.seen)
    second = read_deployment(client, classify, previous=first, checks=0)
    assert requests_seen(fake, start) == ["GET dags"]  # nothing parsed again: cached
    assert second.dags() == first.dags()
    start = len(fake.seen)
    read_deployment(client, classify, previous=second, relist=False, checks=0)
    assert requests_seen(fake, start) == []  # between list reads: nothing at all

    fake.reparse("vendor_orders", {"extract": ["load"], "load": ["report"], "report": []})
    start = len(fake.seen)
    third = read_deployment(client, classify, previous=second, checks=0)
    assert requests_seen(fake, start) == ["GET dags", "GET dags/vendor_orders/tasks"]
    assert [t.task_id for t in third.dags()[0].tasks] == ["extract", "load", "report"]
    client.close()


def test_dags_read_whole_are_compared_a_few_per_list_read(fake: FakeAirflow, workspace: Path) -> None:
    for i in range(CHECKS_PER_POLL + 3):
        (workspace / "dags" / f"static_{i}.py").write_text(STATIC.replace("'plain'", f"'static_{i}'"))
        fake.add_dag(f"static_{i}", f"/opt/airflow/dags/static_{i}.py", {"a": ["b"], "b": []})
    project = indexed(workspace).snapshot.project
    classify = classifier(project.files, project.layout.dag_roots())
    assert classify(next(iter(read_deployment(client_for(fake), classify, checks=0).listings.values())))[0] \
        is Need.CHECK
    client = client_for(fake)
    start = len(fake.seen)
    first = read_deployment(client, classify)
    assert len(requests_seen(fake, start)) == 1 + CHECKS_PER_POLL
    start = len(fake.seen)
    second = read_deployment(client, classify, previous=first)
    assert len(requests_seen(fake, start)) == 1 + 3  # the rest; the first ones are current
    assert len(second.dags()) == CHECKS_PER_POLL + 3
    client.close()


def test_at_most_so_many_tasks_requests_a_poll(fake: FakeAirflow, workspace: Path, monkeypatch) -> None:
    monkeypatch.setattr("server.peering.deployed.MAX_TASK_REQUESTS", 2)
    for i in range(5):
        fake.add_dag(f"vendor_{i}", "/opt/airflow/dags/vendor/orders.py", {"t": []})
    project = indexed(workspace).snapshot.project
    client = client_for(fake)
    first = read_deployment(client, classifier(project.files, project.layout.dag_roots()))
    assert len(first.dags()) == 2
    second = read_deployment(client, classifier(project.files, project.layout.dag_roots()), previous=first,
                             relist=False)
    assert len(second.dags()) == 4
    client.close()


def test_a_failure_keeps_what_was_read_and_says_why(fake: FakeAirflow, workspace: Path) -> None:
    deploy(fake)
    project = indexed(workspace).snapshot.project
    classify = classifier(project.files, project.layout.dag_roots())
    client = client_for(fake)
    first = read_deployment(client, classify)
    fake.reparse("vendor_orders")
    fake.fault("status", "/tasks", times=2, status=500)  # the try and its one retry
    second = read_deployment(client, classify, previous=first)
    assert "HTTP 500" in second.error and second.dags() == first.dags()  # the old tasks stay
    third = read_deployment(client, classify, previous=second)
    assert third.error is None and third.tasks["vendor_orders"].version == fake.dags["vendor_orders"][
        "last_parsed_time"]

    fake.fault("garbage", "/api/", times=1)
    broken = read_deployment(client, classify, previous=third)
    assert "not JSON" in broken.error and broken.dags() == third.dags()
    client.close()


def test_a_stale_token_is_replaced_for_the_dag_list(workspace: Path) -> None:
    with FakeAirflow(api_version="v2") as fake:
        deploy(fake)
        client = client_for(fake)
        client.connect()
        fake.expire_tokens()
        assert len(client.list_dags().dags) == 3
        assert len(fake.issued_tokens) == 2
        assert fake.password not in repr(client) and all(
            fake.password not in str(s.headers) for s in fake.seen if "/dags" in s.path)
        client.close()


# -- the watcher in the poller -------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_watcher_reads_the_list_at_its_own_cadence_and_tells_changes(fake: FakeAirflow,
                                                                         workspace: Path) -> None:
    deploy(fake)
    index = indexed(workspace)
    changes = []
    clock = Clock()
    watcher = DeploymentWatcher(lambda: classifier(index.snapshot.project.files,
                                                   index.snapshot.project.layout.dag_roots()),
                                changes.append, interval=60, clock=clock)
    settings = AirflowSettings(url=fake.url, username=fake.username, password=fake.password, poll_interval=1)
    poller = Poller(settings, lambda: ["vendor_orders"], companion=watcher,
                    client_factory=lambda s: client_for(fake))
    poller.poll_once()
    # The vendor DAG for the model, `plain` to compare with its file.
    assert len(changes) == 1 and [d.dag_id for d in changes[0].dags()] == ["plain", "vendor_orders"]
    start = len(fake.seen)
    clock.now += 10
    poller.poll_once()  # runs only: the list is 10 s old
    assert requests_seen(fake, start) == ["POST dags/~/dagRuns/list"]
    poller.poll_now()  # the user asks: everything again
    start = len(fake.seen)
    poller.poll_once()
    assert requests_seen(fake, start)[0] == "GET dags"
    assert len(changes) == 1  # nothing changed
    clock.now += 61
    fake.reparse("vendor_orders")  # parsed again, the same tasks: read again, nothing to tell
    start = len(fake.seen)
    poller.poll_once()
    assert "GET dags/vendor_orders/tasks" in requests_seen(fake, start) and len(changes) == 1
    clock.now += 61
    fake.reparse("vendor_orders", {"extract": []})
    poller.poll_once()
    assert len(changes) == 2 and [t.task_id for t in changes[1].dags()[1].tasks] == ["extract"]

    index.set_deployed(changes[1].dags())
    entry = index.snapshot.project.entry("vendor_orders")
    assert entry.dag.source == "airflow" and entry.file.path.endswith("vendor/orders.py")
    index.update_files([str(workspace / "dags" / "plain.py")])  # an edit keeps them
    assert index.snapshot.project.entry("vendor_orders").dag.source == "airflow"
    index.rebuild()  # and so does a rediscovery
    assert index.snapshot.project.entry("vendor_orders").dag.source == "airflow"
    poller.stop()


def test_an_unreachable_airflow_leaves_the_runs_poll_to_say_so(workspace: Path) -> None:
    watcher = DeploymentWatcher(lambda: lambda listing: (Need.TASKS, frozenset()), lambda d: None)
    settings = AirflowSettings(url="http://127.0.0.1:9", username="u", password="p", poll_interval=1)
    poller = Poller(settings, list, companion=watcher,
                    client_factory=lambda s: AirflowClient(s.url, username="u", password="p", policy=FAST))
    _, status = poller.poll_once()
    assert status.state == "unreachable" and watcher.deployment is EMPTY
    poller.stop()
