"""The Dagster GraphQL client and watcher against a real ``dagster-webserver`` (Dagster 1.13, from
the Dagster venv), on a free port with a temporary ``DAGSTER_HOME``.

Runs are launched the way dagster-airlift's proxy operator launches them (``launchRun`` on the
implicit asset job, with its three run tags), so the client reads what a proxied task leaves.
The Airflow side is a ``RunHistory`` built from records here, or the stand-in
tests/support/fake_airflow.py for the CLI: what matches a Dagster run to a task's last Airflow
run is under test, not Airflow (tests/integration/test_round_trip.py runs both for real). HTTP faults a real Dagster cannot produce (not JSON, 5xx, slow answers, 401)
come from a small local HTTP server.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from server.peering.dagster_client import DAG_ID_TAG, DAG_RUN_ID_TAG, TASK_ID_TAG, DagsterClient
from server.peering.dagster_present import drun_json, hover_section, lens_prefix
from server.peering.dagster_watch import DagInterest, DagsterWatcher
from server.peering.history import RunHistory
from server.peering.records import DagRun, TaskInstance
from server.peering.transport import PeeringError, RequestPolicy
from server.settings import DagsterSettings
from tests.conftest import run_cli
from tests.e2e.editor import start_session
from tests.support.airflow2_server import wait_until
from tests.support.airflow_server import free_port
from tests.support.dagster_server import DagsterServer, dagster_fixture
from tests.support.fake_airflow import FakeAirflow

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

MODULE = Path(__file__).resolve().parents[1] / "fixtures" / "dagster_peering" / "definitions.py"
FAST = RequestPolicy(connect_timeout=2, read_timeout=2, retries=1, backoff=0.01)

LAUNCH = """
mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message }
  ... on InvalidSubsetError { message } ... on PipelineNotFoundError { message } } }
"""


dagster = dagster_fixture(MODULE)


def launch(server: DagsterServer, asset: list[str], dag_id: str, run_id: str, task_id: str) -> str:
    """A run of ``asset`` with the tags dagster-airlift's proxy operator sets; waits until it ends."""
    location = server.locations()[0]["name"]
    params = {"selector": {"repositoryLocationName": location, "repositoryName": "__repository__",
                           "jobName": "__ASSET_JOB", "assetSelection": [{"path": asset}]},
              "runConfigData": {},
              "executionMetadata": {"tags": [{"key": DAG_ID_TAG, "value": dag_id},
                                             {"key": DAG_RUN_ID_TAG, "value": run_id},
                                             {"key": TASK_ID_TAG, "value": task_id}]}}
    result = server.graphql(LAUNCH, {"params": params})["launchRun"]
    assert result["__typename"] == "LaunchRunSuccess", result
    dagster_run = result["run"]["runId"]

    def ended():
        [run] = [r for r in server.runs({DAG_RUN_ID_TAG: run_id, TASK_ID_TAG: task_id}) if r["runId"] == dagster_run]
        return run["status"] in ("SUCCESS", "FAILURE", "CANCELED")
    wait_until(ended, 120, f"the Dagster run of {task_id}", server.check_alive)
    return dagster_run


@pytest.fixture(scope="module")
def launched(dagster) -> dict[str, str]:
    """run_1: `load` materializes raw_data/raw_customers; run_2: `load` again and `report`, which
    fails. {name: Dagster run id}."""
    return {"run_1/load": launch(dagster, ["raw_data", "raw_customers"], "orders", "run_1", "load"),
            "run_2/load": launch(dagster, ["raw_data", "raw_customers"], "orders", "run_2", "load"),
            "run_2/report": launch(dagster, ["broken"], "orders", "run_2", "report")}


def at(minute: int) -> datetime:
    return datetime(2026, 12, 1, 6, minute, tzinfo=timezone.utc)


def history(*run_ids: str) -> RunHistory:
    """An Airflow run history of DAG `orders` (tasks load and report): ``run_ids`` newest first."""
    runs = tuple(DagRun("orders", run_id, "failed", at(i), at(i), at(i + 1))
                 for i, run_id in enumerate(run_ids))
    instances = {run.key: (TaskInstance("orders", run.run_id, "load", "success", at(0), at(1), 1),
                           TaskInstance("orders", run.run_id, "report", "failed", at(1), at(2), 1))
                 for run in runs}
    return RunHistory("http://airflow.test", "v2", at(5), {"orders": runs}, instances)


INTEREST = (DagInterest("orders", ("load", "report"), True,
                        (("load", ("raw_data/raw_customers",)), ("report", ("broken", "never/materialized")))),
            DagInterest("quiet", ("only",), False, ()))


# -- the client on a real webserver ------------------------------------------------------------------

def test_runs_of_airflow_runs_and_last_materializations_in_one_request_each(dagster, launched):
    client = DagsterClient(dagster.url, policy=FAST)
    runs = client.airlift_runs([("orders", "run_1", 10), ("orders", "run_2", 10), ("orders", "no_such_run", 10)])
    assert client.requests == 1
    assert [r.run_id for r in runs[("orders", "run_1")]] == [launched["run_1/load"]]
    second = runs[("orders", "run_2")]
    assert [r.run_id for r in second] == [launched["run_2/report"], launched["run_2/load"]]  # newest first
    assert [(r.task_id, r.status, r.dag_id, r.airflow_run_id) for r in second] == [
        ("report", "FAILURE", "orders", "run_2"), ("load", "SUCCESS", "orders", "run_2")]
    assert all(r.start_time and r.end_time and r.start_time <= r.end_time for r in second)
    assert runs[("orders", "no_such_run")] == ()

    found = client.last_materializations(["raw_data/raw_customers", "broken", "never/materialized", "not/defined"])
    assert client.requests == 2
    assert found["raw_data/raw_customers"].run_id == launched["run_2/load"]
    assert abs(found["raw_data/raw_customers"].timestamp.timestamp() - time.time()) < 600
    assert found["broken"] is None and found["never/materialized"] is None and found["not/defined"] is None
    client.close()


def test_the_watcher_matches_each_task_to_its_run_in_the_last_airflow_run(dagster, launched):
    watcher = DagsterWatcher(DagsterSettings(url=dagster.url), lambda: INTEREST,
                             client_factory=lambda s: DagsterClient(s.url, policy=FAST))
    latest = history("run_2", "run_1")
    assert watcher.poll(latest) is True
    view = watcher.view
    assert view.reachable and view.requests == 2
    assert drun_json(view.run_for(latest, "orders", "load"))["run_id"] == launched["run_2/load"]
    assert view.run_for(latest, "orders", "report").status == "FAILURE"

    assert lens_prefix(view, latest, "orders", "report") == f"✗ Dagster run {launched['run_2/report'][:8]} FAILURE"
    assert lens_prefix(view, latest, "orders", "load") == ""
    hover = hover_section(view, latest, "orders", "load", ("raw_data/raw_customers",), True, at(5))
    assert f"{dagster.url}/runs/{launched['run_2/load']}" in hover
    assert "http://airflow.test/dags/orders/runs/run_2/tasks/load" in hover
    assert "✓ SUCCESS" in hover and "materialized `raw_data/raw_customers`" in hover
    report = hover_section(view, latest, "orders", "report", ("broken", "never/materialized"), False, at(5))
    assert "✗ FAILURE" in report and "No materialization in Dagster yet" not in report

    # The Airflow run is finished and its Dagster runs known: the next poll asks for assets only.
    assert watcher.poll(latest) is False
    assert watcher.view.requests == 1
    # Another last Airflow run: its runs are asked for, the others dropped.
    assert watcher.poll(history("run_1")) is True
    assert watcher.view.run_for(history("run_1"), "orders", "load").run_id == launched["run_1/load"]
    assert set(watcher.view.runs) == {("orders", "run_1")}
    watcher.close()


def test_an_unreachable_or_refusing_dagster_is_one_line_and_keeps_what_was_seen(dagster, launched):
    clients: list[DagsterClient] = []

    def factory(settings: DagsterSettings) -> DagsterClient:
        clients.append(DagsterClient(settings.url, policy=FAST))
        return clients[-1]
    stopped = DagsterWatcher(DagsterSettings(url=f"http://127.0.0.1:{free_port()}"), lambda: INTEREST,
                             client_factory=factory)
    assert stopped.poll(history("run_2")) is True
    view = stopped.view
    assert view.state == "unreachable" and "\n" not in view.error
    assert view.error.startswith("connection to Dagster at http://127.0.0.1:") and "connection refused" in view.error
    assert view.run_for(history("run_2"), "orders", "load") is None
    # Backoff: the next Airflow poll sits Dagster out, the one after asks again (then two are
    # sat out); a forced poll (airlift.refreshStatus) asks at once.
    assert stopped.poll(history("run_2")) is False and clients[0].requests == 1
    assert stopped.poll(history("run_2")) is False and clients[0].requests == 2
    assert stopped.poll(history("run_2")) is False and clients[0].requests == 2
    assert stopped.poll(history("run_2"), forced=True) is False and clients[0].requests == 3

    client = DagsterClient(dagster.url, policy=FAST)
    with pytest.raises(PeeringError) as refused:
        client.query("query { noSuchField }", {}, "read runs")
    assert refused.value.kind == "bad_response" and "noSuchField" in str(refused.value)
    assert str(refused.value).startswith(f"Dagster at {dagster.url} refused the query to read runs (HTTP 400)")

    elsewhere = DagsterClient(dagster.url + "/not-dagster", policy=FAST)
    with pytest.raises(PeeringError) as wrong:
        elsewhere.airlift_runs([("orders", "run_1", 5)])
    assert str(wrong.value) == (f"no Dagster GraphQL API at {dagster.url}/not-dagster/graphql (HTTP 405): "
                                "is dagster.url the Dagster web server?")


# -- the CLI: status --json and the text, with Airflow's runs from a stand-in -----------------------

ORDERS_DAG = """\
from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("orders", start_date=datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="load") >> EmptyOperator(task_id="report")
"""


def status_cli(workspace: Path, airflow: FakeAirflow, dagster_url: str, *args: str):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSTER"))}
    env.update({"AIRFLOW_URL": airflow.url, "AIRFLOW_USERNAME": "admin", "AIRFLOW_PASSWORD": airflow.password,
                "DAGSTER_URL": dagster_url, "AIRLIFT_LSP_CACHE": "off"})
    return run_cli("status", *args, cwd=workspace, env=env)


def test_status_shows_the_dagster_run_of_each_task_and_a_one_line_reason_when_dagster_is_down(
        dagster, launched, tmp_path):
    (tmp_path / "proxied_state").mkdir()
    (tmp_path / "orders.py").write_text(ORDERS_DAG)
    (tmp_path / "proxied_state" / "orders.yaml").write_text(
        "tasks:\n  - id: load\n    proxied: true\n  - id: report\n    proxied: true\n")
    with FakeAirflow() as airflow:
        airflow.add_run("orders", "run_1", "success", {"load": "success", "report": "success"}, minutes_ago=20)
        airflow.add_run("orders", "run_2", "failed", {"load": "success", "report": "failed"}, minutes_ago=5)
        result = status_cli(tmp_path, airflow, dagster.url, "--json")
        assert result.returncode == 0 and result.stderr == "", result.stderr
        [dag] = json.loads(result.stdout)["dags"]
        side = {t["task_id"]: t["dagster_run"] for t in dag["tasks"]}
        assert side["load"]["run_id"] == launched["run_2/load"] and side["load"]["status"] == "SUCCESS"
        assert side["report"]["run_id"] == launched["run_2/report"] and side["report"]["status"] == "FAILURE"
        assert side["load"]["start_time"].endswith("Z") and side["load"]["end_time"]
        assert list(dag["tasks"][0]) == ["task_id", "assets", "proxied", "last_run", "dagster_run"]

        text = status_cli(tmp_path, airflow, dagster.url)
        assert f"Dagster: connected to {dagster.url}" in text.stdout
        assert f"→ Dagster ✗ FAILURE {launched['run_2/report'][:8]}" in text.stdout

        down = status_cli(tmp_path, airflow, f"http://127.0.0.1:{free_port()}", "--json")
        assert down.returncode == 0
        assert [t["dagster_run"] for t in json.loads(down.stdout)["dags"][0]["tasks"]] == [None, None]
        assert down.stderr.startswith("airlift-lsp: Dagster runs left out: connection to Dagster at")
        assert down.stderr.count("\n") == 1 and airflow.password not in down.stderr


# -- the editor: hover and lens through the language server -----------------------------------------

@pytest.fixture
def orders_workspace(tmp_path: Path) -> Path:
    root = tmp_path / "orders"
    (root / "proxied_state").mkdir(parents=True)
    (root / "orders.py").write_text(ORDERS_DAG)
    (root / "proxied_state" / "orders.yaml").write_text(
        "tasks:\n  - id: load\n    proxied: true\n  - id: report\n    proxied: true\n")
    (root / "definitions.py").write_text(
        "from dagster import AssetSpec, Definitions\n"
        "from dagster_airlift.core import assets_with_task_mappings\n\n"
        "defs = Definitions(assets=[*assets_with_task_mappings(dag_id=\"orders\", task_mappings={\n"
        "    \"load\": [AssetSpec([\"raw_data\", \"raw_customers\"])], \"report\": [AssetSpec(\"broken\")]})])\n")
    return root


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def editor(lsp_client: LanguageClient, orders_workspace: Path, dagster, launched):
    airflow = FakeAirflow().start()
    airflow.add_run("orders", "run_1", "success", {"load": "success", "report": "success"}, minutes_ago=20)
    airflow.add_run("orders", "run_2", "failed", {"load": "success", "report": "failed"}, minutes_ago=5)
    lsp_client.root, lsp_client.launched, lsp_client.dagster_url = orders_workspace, launched, dagster.url
    await start_session(lsp_client, orders_workspace, "visual-studio-code", name="orders", initialization_options={
        "airlift": {"airflow": {"url": airflow.url, "username": "admin", "password": airflow.password,
                                "pollInterval": 1}, "dagster": {"url": dagster.url}}})
    yield
    await lsp_client.shutdown_session()
    airflow.stop()


@pytest.mark.asyncio
async def test_the_editor_shows_the_dagster_run_in_the_hover_and_a_failing_one_in_the_lens(editor):
    client = editor
    uri = (client.root / "orders.py").as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri, "python", 1, ORDERS_DAG)))
    failing = f"✗ Dagster run {client.launched['run_2/report'][:8]} FAILURE"
    seen = {"lenses": []}
    deadline = time.monotonic() + 90
    while not any(failing in title for title in seen["lenses"]):
        assert time.monotonic() < deadline, f"no lens says {failing!r}: {seen['lenses']}"
        await asyncio.sleep(0.3)
        lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
        seen["lenses"] = [lens.command.title for lens in lenses or [] if lens.command]
    [report] = [title for title in seen["lenses"] if failing in title]
    assert "✗ failed" in report, report  # beside the Airflow state of the same task
    assert not any("Dagster run" in title and "SUCCESS" in title for title in seen["lenses"])

    line = ORDERS_DAG.splitlines().index('    EmptyOperator(task_id="load") >> EmptyOperator(task_id="report")')
    position = types.Position(line, ORDERS_DAG.splitlines()[line].index("load"))
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), position))
    text = hover.contents.value
    assert f"({client.dagster_url}/runs/{client.launched['run_2/load']})" in text, text
    assert "materialized `raw_data/raw_customers`" in text and "`run_2` ✓" in text, text

    # The migration report's task rows (the VS Code view): the same runs, each with its page.
    answer = await client.workspace_execute_command_async(types.ExecuteCommandParams("airlift.migrationReport"))
    [dag] = answer["dags"]
    rows = {row["task_id"]: row for row in dag["task_rows"]}
    assert (dag["tasks"], dag["proxied"], answer["dagster"]["state"]) == (2, 2, "connected"), answer
    assert rows["load"]["dagster_run"]["run_id"] == client.launched["run_2/load"]
    assert rows["load"]["dagster_run"]["status"] == "SUCCESS" and rows["load"]["last_run"]["state"] == "success"
    assert rows["report"]["dagster_run"]["status"] == "FAILURE" and rows["report"]["last_run"]["state"] == "failed"
    assert rows["report"]["dagster_run_url"] == f"{client.dagster_url}/runs/{client.launched['run_2/report']}"


# -- faults a real Dagster does not make ------------------------------------------------------------

class Faulty(BaseHTTPRequestHandler):
    answers: ClassVar[list[tuple[int, str, str, float]]] = []
    seen: ClassVar[list[dict]] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        Faulty.seen.append({"headers": dict(self.headers), "body": json.loads(self.rfile.read(length))})
        status, kind, body, delay = Faulty.answers.pop(0) if Faulty.answers else (200, "application/json", "{}", 0)
        time.sleep(delay)
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body.encode())))
        self.end_headers()
        try:
            self.wfile.write(body.encode())
        except OSError:
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def faulty():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Faulty)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Faulty.answers, Faulty.seen = [], []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def fails(url: str, *answers, token: str | None = None) -> PeeringError:
    Faulty.answers, Faulty.seen = list(answers), []
    client = DagsterClient(url, token=token, policy=FAST)
    with pytest.raises(PeeringError) as caught:
        client.airlift_runs([("orders", "run_1", 5)])
    assert "\n" not in str(caught.value)
    return caught.value


def test_http_faults_are_one_line_and_never_show_the_token(faulty):
    html = fails(faulty, (200, "text/html", "<html>login</html>", 0))
    assert html.kind == "bad_response" and "not JSON (text/html, HTTP 200)" in str(html)
    cut = fails(faulty, (200, "application/json", '{"data": {"r0": ', 0))
    assert cut.kind == "bad_response"
    shape = fails(faulty, (200, "application/json", '{"data": {"r0": {"__typename": "Runs"}}}', 0))
    assert "runsOrError without `results`" in str(shape)
    python = fails(faulty, (200, "application/json",
                            '{"data": {"r0": {"__typename": "PythonError", "message": "boom\\nTraceback"}}}', 0))
    assert str(python).endswith("answered runsOrError with an error: boom Traceback")

    busy = fails(faulty, (503, "text/plain", "busy", 0), (503, "text/plain", "busy", 0))
    assert busy.kind == "http" and "HTTP 503" in str(busy) and len(Faulty.seen) == 2  # retried once

    slow = fails(faulty, (200, "application/json", "{}", 3))
    assert slow.kind == "timeout" and str(slow).startswith("timed out: Dagster at") and len(Faulty.seen) == 1

    secret = "dagster-plus-token-1234"
    refused = fails(faulty, (401, "application/json", json.dumps({"error": f"bad token {secret}"}), 0), token=secret)
    assert refused.kind == "authentication" and "refused the API token" in str(refused) and secret not in str(refused)
    assert Faulty.seen[-1]["headers"]["Dagster-Cloud-Api-Token"] == secret
    missing = fails(faulty, (401, "text/plain", "", 0))
    assert "set DAGSTER_CLOUD_API_TOKEN" in str(missing)
    errors = fails(faulty, (200, "application/json", json.dumps({"errors": [{"message": f"no {secret}"}]}), 0),
                   token=secret)
    assert secret not in str(errors) and "***" in str(errors)


def test_one_request_for_the_runs_of_any_number_of_dags(faulty):
    """500 DAGs' last runs: one POST, each Airflow run a variable, never text in the query."""
    runs = [(f"dag_{i}", "scheduled__2026-12-01T00:00:00+00:00\" { x }", 5) for i in range(500)]
    Faulty.answers = [(200, "application/json", json.dumps(
        {"data": {f"r{i}": {"__typename": "Runs", "results": []} for i in range(500)}}), 0)]
    client = DagsterClient(faulty, policy=FAST)
    assert client.airlift_runs(runs) == {(d, r): () for d, r, _ in runs}
    assert client.requests == 1 and len(Faulty.seen) == 1
    sent = Faulty.seen[0]["body"]
    assert "scheduled__" not in sent["query"] and len(sent["variables"]) == 500
    assert sent["variables"]["t7"] == [{"key": DAG_ID_TAG, "value": "dag_7"}, {"key": DAG_RUN_ID_TAG, "value": runs[7][1]}]
