"""Round trip on real Airflow and real Dagster: migrate a task, then a whole DAG, through the
language server only, run it in Airflow, see it run in Dagster, roll it back, run it again.

Everything on 127.0.0.1, in temporary folders:

- Airflow 2.11.2 with dagster-airlift's in-Airflow side (the only Airflow whose proxy operators
  airlift ships): webserver (REST ``/api/v1``, basic auth) and scheduler (SequentialExecutor,
  SQLite), DAGs folder = the copied tutorial's ``airflow_dags``, ``DAGSTER_URL`` = the Dagster
  webserver (tests/support/airflow2_server.py);
- Dagster 1.13 + dagster-airlift: ``dagster-webserver -f tutorial_dagster/definitions.py``
  peering with that Airflow (tests/support/dagster_server.py), its code location reloaded after
  each edit of the module;
- airlift-lsp over stdio, driven by pytest-lsp and tests/e2e/editor.Editor (which applies the
  server's workspace edits and saves them, as VS Code does), peering with the same Airflow.

Every file change is made by the server's commands: ``airlift.mapDag``, ``airlift.scaffoldTask``,
``airlift.enableProxying``, ``airlift.proxyTask``, ``airlift.rollbackTask``, ``airlift.proxyDag``,
``airlift.rollbackDag``. Nothing but the test's own data folder is touched by hand.

Proxying the whole DAG needs every task to have an *executable* asset: airlift's proxy operator
only launches asset nodes that belong to a job (``_is_asset_node_executable``), and the plain
``AssetSpec``s that ``airlift.mapDag`` writes belong to none, so a proxied task mapped only to
them fails with "No asset nodes found to trigger". The test therefore scaffolds all three tasks
before ``airlift.proxyDag``.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from analysis.state.proxied_state import parse_state_file
from tests.conftest import TUTORIAL
from tests.e2e.editor import Editor, start_session
from tests.support.airflow2_server import Airflow2Server, airflow2_python
from tests.support.airflow_server import time_limit
from tests.support.dagster_server import DagsterServer, dagster_python

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAG_ID = "rebuild_customers_list"
DAG = "airflow_dags/rebuild_customers_list.py"
STATE = "airflow_dags/proxied_state/rebuild_customers_list.yaml"
MODULE = "tutorial_dagster/definitions.py"

TASKS = ["load_raw_customers", "build_dbt_models", "export_customers"]
OPERATORS = {"load_raw_customers": "PythonOperator", "build_dbt_models": "BashOperator",
             "export_customers": "PythonOperator"}
PROXY_OPERATOR = "DefaultProxyTaskToDagsterOperator"
# The tutorial maps the first two; airlift.mapDag names the third's asset after its DAG and task.
ASSETS = {"load_raw_customers": ["raw_data", "raw_customers"], "build_dbt_models": ["customers"],
          "export_customers": ["rebuild_customers_list", "export_customers"]}
FILES = {"load_raw_customers": "raw_customers.csv", "build_dbt_models": "customers.csv",
         "export_customers": "customers_export.csv"}

TIME_LIMIT = 900  # seconds for the whole round trip (it takes about 3 minutes)


def airlift_tags() -> dict[str, str]:
    """The run tags airlift's proxy operator sets, from dagster-airlift's own source."""
    script = ("import json; from dagster_airlift import constants as c; print(json.dumps("
              "{'dag_id': c.DAG_ID_TAG_KEY, 'run_id': c.DAG_RUN_ID_TAG_KEY, 'task_id': c.TASK_ID_TAG_KEY}))")
    result = subprocess.run([dagster_python(), "-c", script], capture_output=True, text=True, timeout=120,
                            check=True)
    return json.loads(result.stdout)


@pytest.fixture
def bounded():
    with time_limit(TIME_LIMIT, "the round trip"):
        yield


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root, ignore=shutil.ignore_patterns("__pycache__", ".data"))
    return root


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def servers(bounded, workspace: Path, data_dir: Path):
    """Airflow 2 then Dagster (its code location reads Airflow when it loads); both always stopped."""
    airflow2_python()
    dagster = DagsterServer(workspace / MODULE, cwd=workspace)  # its port, for DAGSTER_URL
    airflow = Airflow2Server(workspace / "airflow_dags", extra_env={
        "DAGSTER_URL": dagster.url, "TUTORIAL_DATA_DIR": str(data_dir)})
    try:
        try:
            airflow.start()
        except Exception as error:  # noqa: BLE001 - a broken Airflow fails the test, never skips
            pytest.fail(f"could not run Airflow 2: {error}")
        dagster.extra_env.update({"AIRFLOW_URL": airflow.url, "AIRFLOW_USERNAME": airflow.username,
                                  "AIRFLOW_PASSWORD": airflow.password, "TUTORIAL_DATA_DIR": str(data_dir)})
        airflow.wait_for_task_classes(DAG_ID, OPERATORS)  # parsed before Dagster peers
        try:
            dagster.start()
        except Exception as error:  # noqa: BLE001
            pytest.fail(f"could not run the Dagster webserver: {error}")
        yield airflow, dagster
    finally:
        dagster.stop()
        airflow.stop()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def client(lsp_client: LanguageClient, workspace: Path, servers):
    airflow, dagster = servers
    lsp_client.root = workspace
    lsp_client.airflow = airflow
    lsp_client.dagster = dagster
    lsp_client.editor = Editor(lsp_client)

    await start_session(lsp_client, workspace, "visual-studio-code", initialization_options={"airlift": {"airflow": {
        "url": airflow.url, "username": airflow.username, "password": airflow.password,
        "apiVersion": "v1", "pollInterval": 2}}})
    yield
    await lsp_client.shutdown_session()


# -- helpers ----------------------------------------------------------------------------------------

async def until(predicate, timeout: float, what: str):
    """Await ``predicate()`` (sync or async) until truthy; return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        await asyncio.sleep(0.2)


async def in_thread(function, *args, **kwargs):
    """Blocking waits on Airflow and Dagster, off the event loop the LSP client runs on."""
    return await asyncio.to_thread(function, *args, **kwargs)


async def command(client: LanguageClient, name: str, **arguments) -> dict:
    result = await client.workspace_execute_command_async(types.ExecuteCommandParams(
        command=name, arguments=[arguments]))
    assert result["applied"], (name, arguments, result)
    return result


async def report_row(client: LanguageClient) -> dict:
    report = await client.workspace_execute_command_async(types.ExecuteCommandParams("airlift.migrationReport"))
    return next((r for r in report["dags"] if r["dag_id"] == DAG_ID), {})


async def index_shows(client: LanguageClient, what: str, **expected) -> None:
    """The server's index caught up with the edit (its report shows ``expected``)."""
    async def caught_up():
        row = await report_row(client)
        return all(row.get(key) == value for key, value in expected.items())
    await until(caught_up, 30, f"the index after {what}: {expected}")


def state_flags(root: Path) -> dict[str, bool]:
    state = parse_state_file(str(root / STATE), (root / STATE).read_text())
    assert state.error is None, state.error
    return {t.task_id: t.proxied for t in state.tasks}


async def hover_of_task(client: LanguageClient, task_id: str) -> str:
    uri = (client.root / DAG).as_uri()
    lines = client.editor.text(uri).splitlines()
    line = next(i for i, text in enumerate(lines) if f'task_id="{task_id}"' in text)
    position = types.Position(line, lines[line].index(task_id) + 1)
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), position))
    return hover.contents.value if hover is not None else ""


async def hover_shows_run(client: LanguageClient, task_id: str, run_id: str, state: str) -> str:
    """Wait until the task's hover lists ``run_id`` with ``state`` on its line; return the hover."""
    seen = {"hover": ""}

    async def shown():
        seen["hover"] = await hover_of_task(client, task_id)
        return any(f"`{run_id}`" in line and state in line for line in seen["hover"].splitlines())
    try:
        await until(shown, 60, f"the hover of {task_id} to show {run_id} {state}")
    except AssertionError as error:
        raise AssertionError(f"{error}\nlast hover:\n{seen['hover']}") from None
    return seen["hover"]


async def deploy(client: LanguageClient, expected_classes: dict[str, str]) -> None:
    """What the edits mean to the running tools: Dagster reloads the module; Airflow re-parses the
    DAG file and the state file until its tasks have the expected operators."""
    await in_thread(client.dagster.reload)
    await in_thread(client.airflow.wait_for_task_classes, DAG_ID, expected_classes, 180)


async def run_dag(client: LanguageClient, run_id: str, data_dir: Path) -> dict[str, dict]:
    """Trigger the DAG with an empty data folder; the run must succeed. Its task instances."""
    shutil.rmtree(data_dir, ignore_errors=True)
    airflow = client.airflow
    airflow.trigger(DAG_ID, run_id)
    try:
        state = await in_thread(airflow.wait_for_run, DAG_ID, run_id, 180)
    except TimeoutError as error:
        logs = {t: airflow.task_log(DAG_ID, run_id, t) for t in TASKS}
        raise AssertionError(f"{error}\ntask logs: {logs}\nDagster:\n{client.dagster.log_tail()}") from None
    instances = airflow.task_instances(DAG_ID, run_id)
    logs = {t: airflow.task_log(DAG_ID, run_id, t) for t in TASKS if instances.get(t, {}).get("state") != "success"}
    assert state == "success", (f"run {run_id}: {state}; tasks "
                                f"{ {t: (i['state'], i['operator']) for t, i in instances.items()} }\n"
                                f"logs of failed tasks: {logs}\nDagster:\n{client.dagster.log_tail()}")
    assert {t: i["state"] for t, i in instances.items()} == dict.fromkeys(TASKS, "success")
    # Each task wrote its file, in this run (the folder was empty).
    assert sorted(p.name for p in data_dir.iterdir()) == sorted(FILES.values())
    return instances


def dagster_runs(client: LanguageClient, tags: dict[str, str], run_id: str) -> list[dict]:
    return client.dagster.runs({tags["dag_id"]: DAG_ID, tags["run_id"]: run_id})


def materialized(run: dict) -> list[list[str]]:
    return sorted(m["assetKey"]["path"] for step in run["stepStats"] for m in step["materializations"])


def tag(run: dict, key: str) -> str | None:
    return next((t["value"] for t in run["tags"] if t["key"] == key), None)


# -- the round trip ---------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_round_trip_on_real_airflow_and_real_dagster(client: LanguageClient, data_dir: Path):
    began = time.monotonic()
    tags = airlift_tags()
    root, airflow, dagster = client.root, client.airflow, client.dagster
    client.editor.open(root / DAG)
    await index_shows(client, "indexing", mapped=2, proxied=0)  # the tutorial: observe stage

    # -- 1. Map every task, scaffold one, enable proxying, proxy it: all through the server ------
    await command(client, "airlift.mapDag", dag_id=DAG_ID)
    await index_shows(client, "airlift.mapDag", mapped=3)
    await command(client, "airlift.scaffoldTask", dag_id=DAG_ID, task_id="load_raw_customers")
    assert "@multi_asset(" in (root / MODULE).read_text()
    await command(client, "airlift.enableProxying", dag_id=DAG_ID)
    await index_shows(client, "airlift.enableProxying", hook="present")
    assert "PROXYING = True" in (root / DAG).read_text()
    await command(client, "airlift.proxyTask", dag_id=DAG_ID, task_id="load_raw_customers")
    await index_shows(client, "airlift.proxyTask", proxied=1)
    assert state_flags(root) == {"load_raw_customers": True, "build_dbt_models": False,
                                 "export_customers": False}
    await deploy(client, {**OPERATORS, "load_raw_customers": PROXY_OPERATOR})

    # -- 2. Run: the proxied task runs in Dagster, the others in Airflow --------------------------
    airflow.unpause(DAG_ID)
    instances = await run_dag(client, "proxied_task", data_dir)
    assert {t: i["operator"] for t, i in instances.items()} == {**OPERATORS, "load_raw_customers": PROXY_OPERATOR}
    [run] = dagster_runs(client, tags, "proxied_task")
    assert run["status"] == "SUCCESS", run
    assert tag(run, tags["task_id"]) == "load_raw_customers"
    assert materialized(run) == [ASSETS["load_raw_customers"]]
    hover = await hover_shows_run(client, "load_raw_customers", "proxied_task", "success")
    assert airflow.url in hover and airflow.password not in hover

    # -- 3. Roll the task back from the palette; it runs in Airflow again -------------------------
    await command(client, "airlift.rollbackTask", dag_id=DAG_ID, task_id="load_raw_customers")
    await index_shows(client, "airlift.rollbackTask", proxied=0)
    assert not any(state_flags(root).values())
    await deploy(client, OPERATORS)
    instances = await run_dag(client, "rolled_back_task", data_dir)
    assert {t: i["operator"] for t, i in instances.items()} == OPERATORS
    assert dagster_runs(client, tags, "rolled_back_task") == []
    await hover_shows_run(client, "load_raw_customers", "rolled_back_task", "success")

    # -- 4. The whole DAG: scaffold the other tasks (plain AssetSpecs cannot be materialized by a
    #       proxied task), proxy the DAG, run it in Dagster, roll it back, run it in Airflow -------
    for task_id in ("build_dbt_models", "export_customers"):
        await command(client, "airlift.scaffoldTask", dag_id=DAG_ID, task_id=task_id)
    module = (root / MODULE).read_text()
    assert all(f"def {DAG_ID}__{t}()" in module for t in TASKS), module
    await command(client, "airlift.proxyDag", dag_id=DAG_ID)
    await index_shows(client, "airlift.proxyDag", proxied=3)
    assert state_flags(root) == dict.fromkeys(TASKS, True)
    await deploy(client, dict.fromkeys(TASKS, PROXY_OPERATOR))

    instances = await run_dag(client, "proxied_dag", data_dir)
    assert {t: i["operator"] for t, i in instances.items()} == dict.fromkeys(TASKS, PROXY_OPERATOR)
    runs = dagster_runs(client, tags, "proxied_dag")
    by_task = {tag(r, tags["task_id"]): r for r in runs}
    assert len(runs) == 3 and sorted(by_task) == sorted(TASKS), [(r["runId"], r["tags"]) for r in runs]
    for task_id, run in by_task.items():
        assert run["status"] == "SUCCESS", run
        assert materialized(run) == [ASSETS[task_id]], (task_id, run)
    for task_id in TASKS:
        await hover_shows_run(client, task_id, "proxied_dag", "success")

    await command(client, "airlift.rollbackDag", dag_id=DAG_ID)
    await index_shows(client, "airlift.rollbackDag", proxied=0)
    assert not any(state_flags(root).values())
    await deploy(client, OPERATORS)
    instances = await run_dag(client, "rolled_back_dag", data_dir)
    assert {t: i["operator"] for t, i in instances.items()} == OPERATORS
    assert dagster_runs(client, tags, "rolled_back_dag") == []
    # No run of any kind appeared in Dagster for the runs Airflow ran itself.
    all_runs = dagster.runs({tags["dag_id"]: DAG_ID})
    assert sorted(tag(r, tags["run_id"]) for r in all_runs) == ["proxied_dag"] * 3 + ["proxied_task"]

    print(f"\nround trip: {time.monotonic() - began:.0f}s after start-up "
          f"(Airflow {airflow.startup_seconds:.0f}s, Dagster {dagster.startup_seconds:.0f}s)")
