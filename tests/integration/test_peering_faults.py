"""The peering client and poller against a local fake Airflow (tests/support/fake_airflow.py):
the faults a real Airflow will not produce on demand, and the Airflow 2 (``/api/v1``, basic
auth) paths, since Airflow 2 is not installed here. Every test is bounded by short timeouts."""

from __future__ import annotations

import logging
import socket
import threading
import time

import pytest

from server.peering import AirflowClient, PeeringError, Poller, RequestPolicy, fetch_history
from server.peering.present import hover_section, status_json, status_text
from server.settings import AirflowSettings
from tests.support.airflow_server import time_limit
from tests.support.fake_airflow import (
    ECHO_CREDENTIALS,
    V1_RUN_BODY,
    V1_TI_BODY,
    V2_RUN_BODY,
    V2_TI_BODY,
    FakeAirflow,
)

FAST = {"connect_timeout": 1.0, "read_timeout": 2.0}


@pytest.fixture(autouse=True)
def bounded():
    with time_limit(30, "a peering fault test"):
        yield


class Sleeps(list):
    """Stands in for time.sleep in the retry policy: records backoffs, waits for nothing."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture(params=["v2", "v1"])
def fake(request) -> FakeAirflow:
    with FakeAirflow(api_version=request.param) as server:
        server.add_run("daily_orders", "run_1", "success",
                       {"extract_orders": "success", "publish_report": "success"}, minutes_ago=30)
        server.add_run("daily_orders", "run_2", "failed",
                       {"extract_orders": "failed", "publish_report": "upstream_failed"}, minutes_ago=20)
        server.add_run("failing_dag", "run_1", "running", {"boom": "running"}, minutes_ago=1)
        yield server


@pytest.fixture
def fake_v2() -> FakeAirflow:
    with FakeAirflow(api_version="v2") as server:
        server.add_run("daily_orders", "run_1", "success", {"extract_orders": "success"})
        yield server


def client_for(fake: FakeAirflow, sleeps: Sleeps | None = None, *, password: str | None = None,
               username: str | None = "admin", **policy) -> AirflowClient:
    policy = RequestPolicy(sleep=sleeps if sleeps is not None else Sleeps(), **{**FAST, **policy})
    password = fake.password if password is None else password
    return AirflowClient(fake.url, username=username, password=password, policy=policy)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- both API versions -------------------------------------------------------------------------------

def test_version_detection_auth_and_batch_bodies_follow_the_spec(fake: FakeAirflow) -> None:
    client = client_for(fake)
    assert client.connect() == fake.api_version
    assert client.airflow_version == fake.version
    history = fetch_history(client, ["daily_orders", "failing_dag", "not_in_airflow"])

    assert [r.run_id for r in history.runs("daily_orders")] == ["run_2", "run_1"]
    assert history.runs("not_in_airflow") == ()
    assert [(r.run_id, t.state) for r, t in history.task_runs("daily_orders", "publish_report")] == [
        ("run_2", "upstream_failed"), ("run_1", "success")]
    assert history.last_task_run("failing_dag", "boom")[1].state == "running"
    run = history.last_run("daily_orders")
    if fake.api_version == "v1":
        assert run.logical_date is not None and run.run_after == run.logical_date  # from execution_date
        assert history.ui_url("daily_orders", "publish_report", "run_2") == \
            f"{fake.url}/dags/daily_orders/grid?dag_run_id=run_2&task_id=publish_report"
        assert fake.requests_to("/api/v1/version")[0].headers["Authorization"].startswith("Basic ")
    else:
        assert run.logical_date is None and run.run_after is not None
        assert history.ui_url("daily_orders", "publish_report", "run_2") == \
            f"{fake.url}/dags/daily_orders/runs/run_2/tasks/publish_report"
        assert len(fake.requests_to("/auth/token")) == 1

    runs_body = fake.requests_to("dagRuns/list")[0].body
    tis_body = fake.requests_to("taskInstances/list")[0].body
    assert set(runs_body) <= (V2_RUN_BODY if fake.api_version == "v2" else V1_RUN_BODY)
    assert set(tis_body) <= (V2_TI_BODY if fake.api_version == "v2" else V1_TI_BODY)
    assert runs_body["order_by"] == ("-run_after" if fake.api_version == "v2" else "-execution_date")
    assert sorted(runs_body["dag_ids"]) == ["daily_orders", "failing_dag", "not_in_airflow"]
    assert sorted(tis_body["dag_run_ids"]) == ["run_1", "run_2"]


def test_one_poll_costs_the_same_requests_for_3_or_300_dags(fake: FakeAirflow) -> None:
    counts = []
    for extra in (0, 297):
        client = client_for(fake)
        client.connect()
        before = len(fake.seen)
        fetch_history(client, ["daily_orders", "failing_dag"] + [f"dag_{i}" for i in range(extra)])
        counts.append(len(fake.seen) - before)
    assert counts == [2, 2]  # one dagRuns/list + one taskInstances/list


def test_500_dags_with_a_run_each_cost_two_requests(fake: FakeAirflow) -> None:
    """The shape of bench/poll.py's largest size: 500 DAGs, one finished run of three tasks each.
    (The previous client capped pages at 1,000 runs and 500 task instances: 4 requests.)"""
    fake.runs.clear()
    fake.task_instances.clear()
    dag_ids = [f"dag_{i:03}" for i in range(500)]
    for i, dag_id in enumerate(dag_ids):
        fake.add_run(dag_id, "manual__1", "success", {"a": "success", "b": "success", "c": "success"},
                     minutes_ago=i)
    client = client_for(fake)
    client.connect()
    before = len(fake.seen)
    history = fetch_history(client, dag_ids)
    assert len(fake.seen) - before == 2
    assert sum(len(v) for v in history.task_instances.values()) == 1500
    before = len(fake.seen)
    fetch_history(client, dag_ids, previous=history)
    assert len(fake.seen) - before == 1  # nothing moved: the runs only


def test_finished_runs_are_not_fetched_again(fake: FakeAirflow) -> None:
    client = client_for(fake)
    first = fetch_history(client, ["daily_orders", "failing_dag"])
    before = len(fake.seen)
    second = fetch_history(client, ["daily_orders", "failing_dag"], previous=first)
    assert second.same_data(first)
    requests = fake.seen[before:]
    assert [s.path.rsplit("/", 1)[-1] for s in requests] == ["list", "list"]
    assert requests[1].body["dag_run_ids"] == ["run_1"] and requests[1].body["dag_ids"] == ["failing_dag"]

    fake.set_run_state("failing_dag", "run_1", "failed", {"boom": "failed"})
    third = fetch_history(client, ["daily_orders", "failing_dag"], previous=second)
    assert third.last_task_run("failing_dag", "boom")[1].state == "failed"
    before = len(fake.seen)
    fourth = fetch_history(client, ["daily_orders", "failing_dag"], previous=third)
    assert len(fake.seen) - before == 1 and fourth.same_data(third)  # nothing moves: runs only


def test_wrong_password_is_an_authentication_error(fake: FakeAirflow, sleeps: Sleeps) -> None:
    client = client_for(fake, sleeps, password="not-the-password")
    with pytest.raises(PeeringError) as caught:
        fetch_history(client, ["daily_orders"])
    assert caught.value.kind == "authentication" and caught.value.status == 401
    assert "rejected the credentials of user 'admin'" in str(caught.value)
    assert "not-the-password" not in str(caught.value) + repr(caught.value) + (caught.value.body or "")
    assert client.api_version == fake.api_version
    assert sleeps == []  # a 4xx is never retried


def test_configured_api_version_skips_detection(fake: FakeAirflow) -> None:
    client = AirflowClient(fake.url, username="admin", password=fake.password, api_version=fake.api_version)
    fetch_history(client, ["daily_orders"])
    assert not fake.requests_to("/version")


def test_an_old_airflow_2_answers_all_task_instances_in_one_request() -> None:
    with FakeAirflow(api_version="v1", v1_unpaged_task_instances=True) as fake:
        for i in range(5):
            tasks = {f"task_{t}": "success" for t in range(150)}
            fake.add_run("big", f"run_{i}", "success", tasks, minutes_ago=i)
        history = fetch_history(client_for(fake), ["big"])
        assert len(fake.requests_to("taskInstances/list")) == 1
        assert sum(len(v) for v in history.task_instances.values()) == 750


def test_big_runs_cost_two_task_instance_requests_then_one(fake: FakeAirflow) -> None:
    """The first page is sized for 10 tasks a run; Airflow announces 750, the second request
    asks for the rest at once. The next poll sizes its page from what it saw."""
    fake.runs.clear()
    fake.task_instances.clear()
    for i in range(5):
        fake.add_run("big", f"run_{i}", "success" if i else "running",
                     {f"task_{t}": "success" if i else "running" for t in range(150)}, minutes_ago=i)
    client = client_for(fake)
    history = fetch_history(client, ["big"])
    assert [r.body["page_limit"] for r in fake.requests_to("taskInstances/list")] == [60, 690]
    assert sum(len(v) for v in history.task_instances.values()) == 750
    before = len(fake.requests_to("taskInstances/list"))
    history = fetch_history(client, ["big"], previous=history)  # run_0 still running: asked again
    assert [r.body["page_limit"] for r in fake.requests_to("taskInstances/list")[before:]] == [160]
    assert len(history.task_instances[("big", "run_0")]) == 150


def test_airflow_3_pages_through_a_clamped_page_limit() -> None:
    with FakeAirflow(api_version="v2", max_page_limit=3) as fake:
        for i in range(8):
            fake.add_run("busy", f"run_{i}", "success", {"a": "success", "b": "success"}, minutes_ago=i)
        history = fetch_history(client_for(fake), ["busy"])
        assert [r.run_id for r in history.runs("busy")] == [f"run_{i}" for i in range(5)]
        assert len(fake.requests_to("dagRuns/list")) == 2  # 3 + 2 of the 5 wanted
        assert len(fake.requests_to("taskInstances/list")) == 4  # 10 instances, 3 a page
        assert sum(len(v) for v in history.task_instances.values()) == 10


@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_task_instances_that_never_all_come_are_asked_for_again(api_version: str) -> None:
    """A server whose ``total_entries`` announces more than it has: the pages stop at an empty
    one, nothing partial is stored for the runs, and the next poll asks for them again (the
    previous client stored an empty tuple after 20 pages and never asked again)."""
    with FakeAirflow(api_version=api_version, overstated_total=5) as fake:
        fake.add_run("d", "run_1", "success", {"a": "success", "b": "success"})
        client = client_for(fake)
        history = fetch_history(client, ["d"])
        assert history.last_run("d").run_id == "run_1"
        assert ("d", "run_1") not in history.task_instances
        assert len(fake.requests_to("taskInstances/list")) == 2  # the first page, then an empty one
        fake.overstated_total = 0
        history = fetch_history(client, ["d"], previous=history)
        assert [ti.task_id for ti in history.task_instances[("d", "run_1")]] == ["a", "b"]


def test_a_busy_dag_does_not_crowd_out_a_quiet_one() -> None:
    with FakeAirflow(api_version="v2") as fake:
        for i in range(30):
            fake.add_run("busy", f"busy_{i}", "success", {"a": "success"}, minutes_ago=i)
        fake.add_run("quiet", "quiet_1", "success", {"a": "success"}, minutes_ago=600)
        history = fetch_history(client_for(fake), ["busy", "quiet"])
        assert len(history.runs("busy")) == 5 and [r.run_id for r in history.runs("quiet")] == ["quiet_1"]
        assert len(fake.requests_to("dagRuns/list")) == 2
        assert fake.requests_to("dagRuns/list")[1].body["dag_ids"] == ["quiet"]


# -- retries, timeouts, broken answers ---------------------------------------------------------------

def test_500s_are_retried_with_backoff(fake_v2: FakeAirflow, sleeps: Sleeps) -> None:
    fake_v2.fault("status", "dagRuns/list", times=2, status=500)
    history = fetch_history(client_for(fake_v2, sleeps), ["daily_orders"])
    assert history.last_run("daily_orders").run_id == "run_1"
    assert len(fake_v2.requests_to("dagRuns/list")) == 3
    assert sleeps == [0.5, 1.0]


def test_persistent_5xx_gives_up_after_two_retries(fake_v2: FakeAirflow, sleeps: Sleeps) -> None:
    fake_v2.fault("status", "dagRuns/list", times=5, status=503, body={"detail": "database is locked"})
    with pytest.raises(PeeringError) as caught:
        fetch_history(client_for(fake_v2, sleeps), ["daily_orders"])
    assert (caught.value.kind, caught.value.status) == ("http", 503)
    expected = f"Airflow at {fake_v2.url} answered HTTP 503 to read DAG runs: database is locked"
    assert str(caught.value) == expected
    assert len(fake_v2.requests_to("dagRuns/list")) == 3 and sleeps == [0.5, 1.0]


@pytest.mark.parametrize("status", [400, 404, 422])
def test_4xx_is_never_retried(fake_v2: FakeAirflow, sleeps: Sleeps, status: int) -> None:
    fake_v2.fault("status", "dagRuns/list", status=status)
    with pytest.raises(PeeringError) as caught:
        fetch_history(client_for(fake_v2, sleeps), ["daily_orders"])
    assert (caught.value.kind, caught.value.status) == ("http", status)
    assert len(fake_v2.requests_to("dagRuns/list")) == 1 and sleeps == []


def test_a_hanging_airflow_times_out_quickly_and_is_not_retried(fake_v2: FakeAirflow, sleeps: Sleeps) -> None:
    client = client_for(fake_v2, sleeps, read_timeout=0.3)
    client.connect()
    fake_v2.fault("hang", "dagRuns/list", seconds=3.0)
    started = time.monotonic()
    with pytest.raises(PeeringError) as caught:
        fetch_history(client, ["daily_orders"])
    assert time.monotonic() - started < 2.0
    assert caught.value.kind == "timeout" and "within 0.3 s" in str(caught.value)
    assert sleeps == []


def test_a_url_without_scheme_says_so(sleeps: Sleeps) -> None:
    with pytest.raises(PeeringError) as caught:
        AirflowClient("localhost:8080", policy=RequestPolicy(sleep=sleeps)).connect()
    assert caught.value.kind == "connection" and "expected http://host:port" in str(caught.value)
    assert sleeps == []


def test_connection_refused_is_retried_then_reported(sleeps: Sleeps) -> None:
    client = AirflowClient(f"http://127.0.0.1:{closed_port()}", username="admin", password="x",
                           policy=RequestPolicy(sleep=sleeps, **FAST))
    with pytest.raises(PeeringError) as caught:
        client.connect()
    assert caught.value.kind == "connection" and "connection refused" in str(caught.value)
    assert sleeps == [0.5, 1.0]


def test_a_connection_cut_mid_answer_is_retried(fake_v2: FakeAirflow, sleeps: Sleeps) -> None:
    fake_v2.fault("cut", "dagRuns/list")
    history = fetch_history(client_for(fake_v2, sleeps), ["daily_orders"])
    assert history.last_run("daily_orders") is not None and sleeps == [0.5]

    fake_v2.fault("cut", "dagRuns/list", times=3)
    with pytest.raises(PeeringError) as caught:
        fetch_history(client_for(fake_v2, Sleeps()), ["daily_orders"])
    assert caught.value.kind == "connection"


def test_a_dropped_connection_is_a_connection_error(fake_v2: FakeAirflow) -> None:
    fake_v2.fault("drop", "dagRuns/list", times=3)
    with pytest.raises(PeeringError) as caught:
        fetch_history(client_for(fake_v2), ["daily_orders"])
    assert caught.value.kind == "connection"


@pytest.mark.parametrize("fault", [
    {"kind": "garbage"},
    {"kind": "status", "status": 200, "body": {"dag_runs": "not a list"}},
    {"kind": "status", "status": 200, "body": {"dag_runs": [{"dag_id": 5, "dag_run_id": "r"}]}},
    {"kind": "status", "status": 200, "body": {"dag_runs": [{"dag_id": "d", "dag_run_id": "r",
                                                              "start_date": "x"}]}},
], ids=["html", "no-list", "wrong-type", "bad-date"])
def test_garbage_is_a_bad_response(fake_v2: FakeAirflow, sleeps: Sleeps, fault: dict) -> None:
    fake_v2.fault(path="dagRuns/list", **fault)
    with pytest.raises(PeeringError) as caught:
        fetch_history(client_for(fake_v2, sleeps), ["daily_orders"])
    assert caught.value.kind == "bad_response" and "\n" not in str(caught.value)
    assert sleeps == []


def test_a_server_that_is_not_airflow(fake_v2: FakeAirflow) -> None:
    fake_v2.fault("garbage", "/api/v2/version")
    with pytest.raises(PeeringError) as caught:
        client_for(fake_v2).connect()
    assert caught.value.kind == "bad_response" and "does not look like Airflow" in str(caught.value)


# -- tokens and permissions --------------------------------------------------------------------------

def test_an_expired_token_is_replaced_once(fake_v2: FakeAirflow) -> None:
    client = client_for(fake_v2)
    first = fetch_history(client, ["daily_orders"])
    fake_v2.expire_tokens()
    second = fetch_history(client, ["daily_orders"], previous=first)
    assert second.same_data(first)
    assert len(fake_v2.issued_tokens) == 2
    statuses = [s.headers["Authorization"].split()[-1] in fake_v2.issued_tokens[:1]
                for s in fake_v2.requests_to("dagRuns/list")]
    assert statuses == [True, True, False]  # old token, old token (401), new token


def test_a_token_signed_with_another_secret_is_replaced_once(fake_v2: FakeAirflow) -> None:
    client = client_for(fake_v2)
    first = fetch_history(client, ["daily_orders"])
    fake_v2.forget_tokens()  # the api-server restarted with a new secret: 403 "Invalid JWT token"
    assert fetch_history(client, ["daily_orders"], previous=first).same_data(first)
    assert len(fake_v2.issued_tokens) == 2


def test_a_plain_403_does_not_log_in_again(fake_v2: FakeAirflow) -> None:
    client = client_for(fake_v2)
    client.connect()
    fake_v2.fault("status", "dagRuns/list", status=403, body={"detail": "Forbidden"})
    with pytest.raises(PeeringError):
        fetch_history(client, ["daily_orders"])
    assert len(fake_v2.issued_tokens) == 1


def test_a_token_that_keeps_failing_is_not_refreshed_in_a_loop(fake_v2: FakeAirflow) -> None:
    client = client_for(fake_v2)
    client.connect()
    fake_v2.always_401 = True
    with pytest.raises(PeeringError) as caught:
        fetch_history(client, ["daily_orders"])
    assert caught.value.kind == "authentication"
    assert len(fake_v2.issued_tokens) == 2 and len(fake_v2.requests_to("dagRuns/list")) == 2


def test_403_is_an_authorization_error(fake: FakeAirflow) -> None:
    fake.fault("status", "dagRuns/list", status=403, body={"detail": "Forbidden"})
    with pytest.raises(PeeringError) as caught:
        fetch_history(client_for(fake), ["daily_orders"])
    assert (caught.value.kind, caught.value.status) == ("authorization", 403)
    assert "'admin'" in str(caught.value) and "may not read DAG runs" in str(caught.value)
    # Airflow 2 also answers a wrong basic-auth password with 403 (see test_peering_airflow2.py).
    assert ("the password is wrong" in str(caught.value)) == (fake.api_version == "v1")


def test_missing_credentials_say_what_to_set(fake_v2: FakeAirflow) -> None:
    with pytest.raises(PeeringError) as caught:
        fetch_history(client_for(fake_v2, username=None), ["daily_orders"])
    assert caught.value.kind == "authentication" and "AIRFLOW_PASSWORD" in str(caught.value)
    with pytest.raises(PeeringError) as caught:
        fetch_history(AirflowClient(fake_v2.url, username="admin"), ["daily_orders"])
    assert caught.value.kind == "authentication" and "no password" in str(caught.value)
    assert not fake_v2.requests_to("/auth/token")


def test_secrets_never_reach_messages_logs_or_text(fake: FakeAirflow, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    errors = []
    client = client_for(fake)
    fetch_history(client, ["daily_orders"])
    fake.fault("status", "dagRuns/list", times=3, status=500, body=ECHO_CREDENTIALS)
    with pytest.raises(PeeringError) as caught:
        fetch_history(client, ["daily_orders"])
    errors.append(caught.value)
    assert "***" in str(caught.value)  # the detail is quoted, redacted
    echo = {"detail": [{"type": "extra_forbidden", "input": {"password": fake.password}}]}
    fake.fault("status", "dagRuns/list", status=422, body=echo)
    with pytest.raises(PeeringError) as caught:
        fetch_history(client, ["daily_orders"])
    errors.append(caught.value)
    if fake.api_version == "v2":  # a login whose error echoes what it was sent
        fake.fault("status", "/auth/token", status=422, body=echo)
        with pytest.raises(PeeringError) as caught:
            fetch_history(client_for(fake), ["daily_orders"])
        errors.append(caught.value)

    settings = AirflowSettings(url=fake.url, username="admin", password=fake.password, poll_interval=1)
    policy = RequestPolicy(sleep=Sleeps())
    poller = Poller(settings, lambda: ["daily_orders"],
                    client_factory=lambda s: AirflowClient.from_settings(s, policy=policy))
    poller.poll_once()
    fake.fault("status", "dagRuns/list", times=3, status=500, body=ECHO_CREDENTIALS)
    history, status = poller.poll_once()
    assert status.state == "unreachable" and "***" in status.error

    secrets = [fake.password, *fake.issued_tokens]
    secrets += [s.headers["Authorization"].split()[-1] for s in fake.seen if "Authorization" in s.headers]
    assert len(secrets) > 1
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [e.body or "" for e in errors]
    texts += [caplog.text, repr(settings), repr(client), repr(status), str(status.to_json()),
              str(status_json(status)), status_text(status),
              hover_section(history, status, "daily_orders", "extract_orders", True, _now()),
              hover_section(history, status, "daily_orders", None, False, _now())]
    for secret in secrets:
        for text in texts:
            assert secret not in text


def _now():
    from datetime import datetime, timezone
    return datetime.now(timezone.utc)


# -- the poller --------------------------------------------------------------------------------------

def poller_for(fake: FakeAirflow, calls: list, *, interval: float = 0.2, password: str | None = None,
               max_backoff: float = 300.0, read_timeout: float = 2.0, dag_ids=("daily_orders",)) -> Poller:
    settings = AirflowSettings(url=fake.url, username="admin", password=password or fake.password,
                               poll_interval=interval)
    policy = RequestPolicy(sleep=Sleeps(), connect_timeout=1.0, read_timeout=read_timeout)

    def on_change(history, status):
        calls.append((threading.current_thread().name, history, status))

    return Poller(settings, lambda: dag_ids, on_change, max_backoff=max_backoff,
                  client_factory=lambda s: AirflowClient.from_settings(s, policy=policy))


def test_poller_reports_changes_only(fake_v2: FakeAirflow) -> None:
    calls: list = []
    poller = poller_for(fake_v2, calls).start()
    try:
        assert poller.wait_for(lambda h, s: s.state == "connected", 5)
        polls = poller.polls
        assert poller.wait_for(lambda h, s: poller.polls >= polls + 3, 5)
        assert len(calls) == 1 and calls[0][0] == "airlift-peering"
        assert calls[0][2].to_json()["state"] == "connected" and calls[0][2].api_version == "v2"
        fake_v2.add_run("daily_orders", "run_2", "running", {"extract_orders": "running"}, minutes_ago=1)
        assert poller.wait_for(lambda h, s: h.last_run("daily_orders").run_id == "run_2", 5)
        time.sleep(0.1)
        assert len(calls) == 2 and calls[1][1].last_run("daily_orders").run_id == "run_2"
    finally:
        poller.stop()


def test_poller_backs_off_while_unreachable_and_recovers(fake_v2: FakeAirflow) -> None:
    calls: list = []
    poller = poller_for(fake_v2, calls, max_backoff=0.8).start()
    try:
        assert poller.wait_for(lambda h, s: s.state == "connected", 5)
        port = fake_v2.port
        fake_v2.stop()
        assert poller.wait_for(lambda h, s: s.state == "unreachable", 5)
        assert poller.status.error_kind == "connection" and poller.history.last_run("daily_orders")  # kept
        assert poller.wait_for(lambda h, s: poller.next_delay() == 0.8, 10)  # 0.2, 0.4, 0.8 (capped)
        restarted = FakeAirflow(api_version="v2", password=fake_v2.password)
        restarted.runs, restarted.task_instances = fake_v2.runs, fake_v2.task_instances
        _start_on(restarted, port)
        try:
            poller.poll_now()
            assert poller.next_delay() == 0.2
            assert poller.wait_for(lambda h, s: s.state == "connected", 5), poller.status
            assert [c[2].state for c in calls] == ["connected", "unreachable", "connected"]
        finally:
            restarted.stop()
    finally:
        poller.stop()


def _start_on(fake: FakeAirflow, port: int) -> None:
    """Start a fake on a given port (the one a previous fake used)."""
    import tests.support.fake_airflow as module

    class Handler(module._Handler):
        airflow = fake

    fake._server = module._QuietServer(("127.0.0.1", port), Handler)
    threading.Thread(target=fake._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


def test_poller_with_wrong_credentials_is_unauthorized(fake: FakeAirflow) -> None:
    calls: list = []
    poller = poller_for(fake, calls, password="wrong")
    _, status = poller.poll_once()
    assert status.state == "unauthorized" and status.error_kind == "authentication"
    assert status_json(status) == {"url": fake.url, "api_version": fake.api_version, "reachable": False,
                                   "error": status.error}
    assert poller.next_delay() == 0.2
    poller.poll_once()
    assert poller.next_delay() == 0.4  # backs off: no point in knocking with the same password


def test_poller_stop_is_bounded_even_while_airflow_hangs(fake_v2: FakeAirflow) -> None:
    poller = poller_for(fake_v2, [], read_timeout=5.0).start()
    assert poller.wait_for(lambda h, s: s.state == "connected", 5)
    fake_v2.fault("hang", "dagRuns/list", seconds=4.0)
    poller.poll_now()
    time.sleep(0.3)  # the poll is now waiting on the hanging answer
    started = time.monotonic()
    poller.stop(timeout=1.0)
    assert time.monotonic() - started < 1.5


def test_poller_without_url_is_disabled() -> None:
    poller = Poller(AirflowSettings(), lambda: ["x"]).start()
    assert poller.status.state == "disabled" and poller.status.to_json() == {
        "state": "disabled", "url": None, "apiVersion": None, "lastPoll": None, "error": None}
    assert poller.poll_once()[1].state == "disabled"
    assert status_json(poller.status) == {"url": None, "api_version": None, "reachable": False, "error": None}
    poller.stop()


def test_poller_survives_a_failing_dag_id_provider_and_listener(fake_v2: FakeAirflow, caplog) -> None:
    def provider():
        raise RuntimeError("index not ready")

    def listener(history, status):
        raise RuntimeError("listener bug")

    settings = AirflowSettings(url=fake_v2.url, username="admin", password=fake_v2.password,
                               poll_interval=0.2)
    poller = Poller(settings, provider, listener).start()
    try:
        assert poller.wait_for(lambda h, s: s.state == "connected" and poller.polls >= 2, 5)
        assert "index not ready" in caplog.text and "listener bug" in caplog.text
    finally:
        poller.stop()
