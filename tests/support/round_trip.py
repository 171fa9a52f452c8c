"""The tutorial's round trip on a real Airflow and a real Dagster, driven through the language
server: what tests/integration/test_round_trip.py (Airflow 2.11) and test_round_trip_airflow3.py
(Airflow 3.3 on Python 3.13) share.

``client`` is a pytest-lsp ``LanguageClient`` carrying ``root`` (the copied tutorial), ``airflow``
(``Airflow2Server`` or ``AirflowServer``: the same run helpers), ``dagster`` (``DagsterServer``)
and ``editor`` (tests/e2e/editor.Editor).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from lsprotocol import types
from pytest_lsp import LanguageClient

from analysis.state.proxied_state import parse_state_file
from tests.conftest import run_cli
from tests.support.dagster_server import dagster_python

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


def airlift_tags() -> dict[str, str]:
    """The run tags airlift's proxy operator sets, from dagster-airlift's own source."""
    script = ("import json; from dagster_airlift import constants as c; print(json.dumps("
              "{'dag_id': c.DAG_ID_TAG_KEY, 'run_id': c.DAG_RUN_ID_TAG_KEY, 'task_id': c.TASK_ID_TAG_KEY}))")
    result = subprocess.run([dagster_python(), "-c", script], capture_output=True, text=True, timeout=120,
                            check=True)
    return json.loads(result.stdout)


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


async def airflow_parsed(client: LanguageClient, expected_classes: dict[str, str]) -> None:
    """Airflow re-parsed the DAG file and the state file until its tasks have the expected operators."""
    await in_thread(client.airflow.wait_for_task_classes, DAG_ID, expected_classes, 180)


async def deploy(client: LanguageClient, expected_classes: dict[str, str]) -> None:
    """What the edits mean to the running tools: Dagster reloads the module; Airflow re-parses."""
    await in_thread(client.dagster.reload)
    await airflow_parsed(client, expected_classes)


def dagster_log(client: LanguageClient) -> str:
    dagster = getattr(client, "dagster", None)
    return dagster.log_tail() if dagster is not None else "(no Dagster in this test)"


async def run_dag(client: LanguageClient, run_id: str, data_dir: Path) -> dict[str, dict]:
    """Trigger the DAG with an empty data folder; the run must succeed. Its task instances."""
    shutil.rmtree(data_dir, ignore_errors=True)
    airflow = client.airflow
    airflow.trigger(DAG_ID, run_id)
    try:
        state = await in_thread(airflow.wait_for_run, DAG_ID, run_id, 180)
    except TimeoutError as error:
        logs = {t: airflow.task_log(DAG_ID, run_id, t) for t in TASKS}
        raise AssertionError(f"{error}\ntask logs: {logs}\nDagster:\n{dagster_log(client)}") from None
    instances = airflow.task_instances(DAG_ID, run_id)
    logs = {t: airflow.task_log(DAG_ID, run_id, t) for t in TASKS if instances.get(t, {}).get("state") != "success"}
    assert state == "success", (f"run {run_id}: {state}; tasks "
                                f"{ {t: (i['state'], i['operator']) for t, i in instances.items()} }\n"
                                f"logs of failed tasks: {logs}\nDagster:\n{dagster_log(client)}")
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


# -- the steps: edits by the server's commands, checked in the files and the server's index --------

def dagster_side(client: LanguageClient) -> dict[str, dict | None]:
    """``dagster_run`` per task of ``airlift-lsp status --json`` run in the workspace, peered with
    both servers through the environment."""
    airflow, dagster = client.airflow, client.dagster
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSTER"))},
           "AIRFLOW_URL": airflow.url, "AIRFLOW_USERNAME": airflow.username, "AIRFLOW_PASSWORD": airflow.password,
           "DAGSTER_URL": dagster.url}
    result = run_cli("status", "--json", cwd=client.root, env=env)
    assert result.returncode == 0 and not result.stderr, result.stderr
    [dag] = [d for d in json.loads(result.stdout)["dags"] if d["dag_id"] == DAG_ID]
    return {task["task_id"]: task["dagster_run"] for task in dag["tasks"]}


async def hover_shows_dagster_run(client: LanguageClient, task_id: str, run: dict) -> str:
    """Wait until the task's hover links the Dagster run; return the hover's line about it."""
    seen = {"hover": ""}
    link = f"{client.dagster.url}/runs/{run['runId']}"

    async def shown():
        seen["hover"] = await hover_of_task(client, task_id)
        return link in seen["hover"]
    try:
        await until(shown, 60, f"the hover of {task_id} to show Dagster run {run['runId']}")
    except AssertionError as error:
        raise AssertionError(f"{error}\nlast hover:\n{seen['hover']}") from None
    [line] = [line for line in seen["hover"].splitlines() if link in line]
    return line


async def proxy_first_task(client: LanguageClient) -> None:
    """Map every task, scaffold the first, enable proxying, proxy it."""
    root = client.root
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


async def roll_back_first_task(client: LanguageClient) -> None:
    await command(client, "airlift.rollbackTask", dag_id=DAG_ID, task_id="load_raw_customers")
    await index_shows(client, "airlift.rollbackTask", proxied=0)
    assert not any(state_flags(client.root).values())


async def proxy_whole_dag(client: LanguageClient) -> None:
    """Scaffold the other tasks (plain AssetSpecs cannot be materialized by a proxied task), then
    proxy the DAG."""
    for task_id in ("build_dbt_models", "export_customers"):
        await command(client, "airlift.scaffoldTask", dag_id=DAG_ID, task_id=task_id)
    module = (client.root / MODULE).read_text()
    assert all(f"def {DAG_ID}__{t}()" in module for t in TASKS), module
    await command(client, "airlift.proxyDag", dag_id=DAG_ID)
    await index_shows(client, "airlift.proxyDag", proxied=3)
    assert state_flags(client.root) == dict.fromkeys(TASKS, True)


async def roll_back_whole_dag(client: LanguageClient) -> None:
    await command(client, "airlift.rollbackDag", dag_id=DAG_ID)
    await index_shows(client, "airlift.rollbackDag", proxied=0)
    assert not any(state_flags(client.root).values())


# -- the round trip ---------------------------------------------------------------------------------

async def round_trip(client: LanguageClient, data_dir: Path, *, dagster_peered: bool = False) -> None:
    """Map, scaffold, enable proxying, proxy a task: it runs in Dagster; roll it back: it runs in
    Airflow; then the whole DAG the same way. Every edit by a server command. ``dagster_peered``:
    the server has ``dagster.url`` too; its hover and ``status --json`` show the Dagster side."""
    began = time.monotonic()
    tags = airlift_tags()
    airflow, dagster = client.airflow, client.dagster
    client.editor.open(client.root / DAG)
    await index_shows(client, "indexing", mapped=2, proxied=0)  # the tutorial: observe stage

    # -- 1. Map every task, scaffold one, enable proxying, proxy it: all through the server ------
    await proxy_first_task(client)
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
    if dagster_peered:  # the run the proxy operator launched, and what it materialized
        side = await in_thread(dagster_side, client)
        assert side["load_raw_customers"]["run_id"] == run["runId"], side
        assert side["load_raw_customers"]["status"] == "SUCCESS"
        assert side["load_raw_customers"]["start_time"] and side["load_raw_customers"]["end_time"]
        assert side["build_dbt_models"] is None and side["export_customers"] is None
        line = await hover_shows_dagster_run(client, "load_raw_customers", run)
        assert "`proxied_task` ✓" in line and f"`{run['runId'][:8]}` ✓ SUCCESS" in line, line
        assert "materialized `raw_data/raw_customers`" in line and f"{airflow.url}/dags/{DAG_ID}/" in line, line

    # -- 3. Roll the task back from the palette; it runs in Airflow again -------------------------
    await roll_back_first_task(client)
    await deploy(client, OPERATORS)
    instances = await run_dag(client, "rolled_back_task", data_dir)
    assert {t: i["operator"] for t, i in instances.items()} == OPERATORS
    assert dagster_runs(client, tags, "rolled_back_task") == []
    if dagster_peered:
        assert await in_thread(dagster_side, client) == dict.fromkeys(TASKS)  # Airflow ran it all
    await hover_shows_run(client, "load_raw_customers", "rolled_back_task", "success")

    # -- 4. The whole DAG: proxy it, run it in Dagster, roll it back, run it in Airflow ------------
    await proxy_whole_dag(client)
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
    if dagster_peered:
        side = await in_thread(dagster_side, client)
        assert {t: (r["run_id"], r["status"]) for t, r in side.items()} == {
            t: (r["runId"], "SUCCESS") for t, r in by_task.items()}, side

    await roll_back_whole_dag(client)
    await deploy(client, OPERATORS)
    instances = await run_dag(client, "rolled_back_dag", data_dir)
    assert {t: i["operator"] for t, i in instances.items()} == OPERATORS
    assert dagster_runs(client, tags, "rolled_back_dag") == []
    # No run of any kind appeared in Dagster for the runs Airflow ran itself.
    all_runs = dagster.runs({tags["dag_id"]: DAG_ID})
    assert sorted(tag(r, tags["run_id"]) for r in all_runs) == ["proxied_dag"] * 3 + ["proxied_task"]

    print(f"\nround trip: {time.monotonic() - began:.0f}s after start-up "
          f"(Airflow {airflow.startup_seconds:.0f}s, Dagster {dagster.startup_seconds:.0f}s)")
