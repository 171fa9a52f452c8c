"""Switches confirmed live, through the language server on a real Airflow 3.3.2 with
dagster-airlift's in-Airflow side (no Dagster needed for the switch: Airflow swaps the operator
class when it parses the file). The Airflow, the copied tutorial and the editor session are
tests/integration/test_round_trip_airflow3.py's fixtures.

Proxy a tutorial task: its lens says "proxy pending", the server asks Airflow to re-parse the
file (``PUT /api/v2/parseDagFile/{file_token}``, in Airflow's event log), then the lens says
"proxied: live since HH:MM" once Airflow's serialized DAG has ``DefaultProxyTaskToDagsterOperator``
for it; roll it back: "rollback pending", then "back in Airflow: live since HH:MM".

``test_proxied_task_runs_in_dagster`` adds a real ``dagster-webserver`` (Airflow's DAGSTER_URL) on
a plain ``Definitions`` with airlift's task mappings, and the server peered with it: the proxied
task, run by Airflow 3, launches its Dagster run, which materializes the scaffolded asset; the hover
and ``status --json`` show that run; rolled back, Airflow runs the task itself again.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.editor import Editor, start_session
from tests.integration.test_round_trip_airflow3 import client, data_dir, servers, tutorial, workspace  # noqa: F401
from tests.support.airflow_server import time_limit
from tests.support.round_trip import (
    ASSETS,
    DAG,
    DAG_ID,
    MODULE,
    OPERATORS,
    PROXY_OPERATOR,
    airflow_parsed,
    airlift_tags,
    dagster_runs,
    dagster_side,
    hover_of_task,
    hover_shows_dagster_run,
    hover_shows_run,
    in_thread,
    index_shows,
    materialized,
    proxy_first_task,
    roll_back_first_task,
    run_dag,
    tag,
    until,
)

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

TASK = "load_raw_customers"
ARGUMENTS = [{"dag_id": DAG_ID, "task_id": TASK}]


async def task_lens(client: LanguageClient) -> str:  # noqa: F811 - the imported fixture's client
    uri = (client.root / DAG).as_uri()
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(uri)))
    found = [lens.command.title for lens in lenses if lens.command and list(lens.command.arguments or ()) == ARGUMENTS]
    assert len(found) == 1, [(lens.range.start.line, lens.command.title, lens.command.arguments) for lens in lenses]
    return found[0]


async def lens_shows(client: LanguageClient, text: str, timeout: float) -> str:  # noqa: F811
    seen = {"lens": ""}

    async def shown():
        seen["lens"] = await task_lens(client)
        return text in seen["lens"]
    try:
        await until(shown, timeout, f"the lens of {TASK} to show {text!r}")
    except AssertionError as error:
        raise AssertionError(f"{error}\nlast lens: {seen['lens']}") from None
    return seen["lens"]


def reparse_requests(airflow) -> int:
    response = airflow.api("GET", "/eventLogs", params={"event": "reparse_dag_file"})
    assert response.status_code == 200, response.text
    return response.json()["total_entries"]


@pytest.mark.asyncio
async def test_proxy_and_rollback_go_live(client: LanguageClient, data_dir: Path):  # noqa: F811
    airflow = client.airflow
    with time_limit(300, "the switches test"):
        client.editor.open(client.root / DAG)
        await index_shows(client, "indexing", mapped=2, proxied=0)
        await proxy_first_task(client)
        began = time.monotonic()
        lens = await task_lens(client)
        assert lens.startswith("proxy pending · "), lens  # Airflow cannot have parsed the YAML yet

        await airflow_parsed(client, {**OPERATORS, TASK: PROXY_OPERATOR})  # Airflow's own view
        parsed = time.monotonic() - began
        lens = await lens_shows(client, "proxied: live since ", 30)
        took = time.monotonic() - began
        assert took - parsed < 15, (parsed, took)  # a poll (2 s here) after Airflow, not minutes
        assert lens.split("live since ")[1][:5] in {datetime.now().strftime("%H:%M"),
                                                    (datetime.now() - timedelta(minutes=1)).strftime("%H:%M")}
        assert "proxy pending" not in lens
        hover = await hover_of_task(client, TASK)
        [line] = [line for line in hover.splitlines() if line.startswith("Switch: ")]
        assert "proxied: live since " in line and "re-parse asked" in line, line
        assert await in_thread(reparse_requests, airflow) >= 1

        await roll_back_first_task(client)
        lens = await task_lens(client)
        assert lens.startswith("rollback pending · "), lens
        began = time.monotonic()
        await airflow_parsed(client, OPERATORS)
        parsed_back = time.monotonic() - began
        await lens_shows(client, "back in Airflow: live since ", 30)
        took_back = time.monotonic() - began
        assert took_back - parsed_back < 15, (parsed_back, took_back)
        assert await in_thread(reparse_requests, airflow) >= 2
        print(f"\nproxy: Airflow parsed after {parsed:.1f}s, lens live after {took:.1f}s; rollback: "
              f"{parsed_back:.1f}s, {took_back:.1f}s")


# -- the proxied task's run in Dagster, on Airflow 3.3 ------------------------------------------------
# dagster-airlift's proxy operator (in_airflow/base_asset_operator.py) only talks to Dagster's GraphQL:
# it finds the asset nodes whose ``dagster-airlift/task-mapping`` metadata names the task, launches
# their implicit asset job with airlift's tags and polls the run. It never needs Dagster to read
# Airflow, so a Dagster module that maps assets with ``assets_with_task_mappings`` in a plain
# ``Definitions`` (no ``build_defs_from_airflow_instance``, whose /api/v1 reads fail on Airflow 3:
# test_round_trip_airflow3.py) runs a task proxied on Airflow 3.
PLAIN_MODULE = '''"""The tutorial's Dagster side without peering: airlift's task mappings in a plain Definitions."""

from dagster import AssetSpec, Definitions
from dagster_airlift.core import assets_with_task_mappings

defs = Definitions(
    assets=[
        *assets_with_task_mappings(
            dag_id="rebuild_customers_list",
            task_mappings={
                "load_raw_customers": [AssetSpec(key=["raw_data", "raw_customers"])],
                "build_dbt_models": [AssetSpec(key="customers", deps=[["raw_data", "raw_customers"]])],
            },
        ),
    ]
)
'''
ASSET_JOBS = "query { assetNodes { assetKey { path } jobs { name } } }"


def asset_executable(dagster, path: list[str]) -> bool:
    """Dagster's webserver serves ``path`` as an asset with a job (the scaffolded ``@multi_asset``,
    once the server reloaded the code location), not a bare ``AssetSpec``."""
    nodes = dagster.graphql(ASSET_JOBS)["assetNodes"]
    return any(node["assetKey"]["path"] == path and node["jobs"] for node in nodes)


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def peered_client(lsp_client: LanguageClient, tutorial: Path, servers):  # noqa: F811
    """The tutorial with the plain Dagster module, a real ``dagster-webserver`` on it (Airflow's
    DAGSTER_URL), and the server peered with both."""
    airflow, dagster = servers
    (tutorial / MODULE).write_text(PLAIN_MODULE)
    if dagster.process is None:
        try:
            await in_thread(dagster.start)
        except Exception as error:  # noqa: BLE001 - a broken Dagster fails the test, never skips
            pytest.fail(f"could not run the Dagster webserver on the plain module: {error}\n{dagster.log_tail()}")
    else:
        await in_thread(dagster.reload)
    lsp_client.root, lsp_client.airflow, lsp_client.dagster = tutorial, airflow, dagster
    lsp_client.editor = Editor(lsp_client)
    await start_session(lsp_client, tutorial, "visual-studio-code", initialization_options={"airlift": {
        "airflow": {"url": airflow.url, "username": airflow.username, "password": airflow.password,
                    "apiVersion": "v2", "pollInterval": 2},
        "dagster": {"url": dagster.url}}})
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_proxied_task_runs_in_dagster(peered_client: LanguageClient, data_dir: Path):  # noqa: F811
    airflow, dagster = peered_client.airflow, peered_client.dagster
    tags = airlift_tags()
    with time_limit(300, "the Dagster run on Airflow 3"):
        began = time.monotonic()
        peered_client.editor.open(peered_client.root / DAG)
        await index_shows(peered_client, "indexing", mapped=2, proxied=0)
        await proxy_first_task(peered_client)  # map, scaffold (a @multi_asset), enable proxying, proxy
        lens = await task_lens(peered_client)
        assert lens.startswith("proxy pending · "), lens
        await airflow_parsed(peered_client, {**OPERATORS, TASK: PROXY_OPERATOR})
        await lens_shows(peered_client, "proxied: live since ", 30)
        # The server reloaded Dagster's code location after the scaffold: the asset can be launched.
        await until(lambda: asset_executable(dagster, ["raw_data", "raw_customers"]), 60,
                    "Dagster to serve the scaffolded asset (the server's reload)")
        switched = time.monotonic() - began

        # Airflow 3 runs the DAG; its proxy operator launches the Dagster run and waits for it.
        instances = await run_dag(peered_client, "proxied_task", data_dir)
        assert {t: i["operator"] for t, i in instances.items()} == {**OPERATORS, TASK: PROXY_OPERATOR}
        [run] = await in_thread(dagster_runs, peered_client, tags, "proxied_task")
        assert run["status"] == "SUCCESS" and tag(run, tags["task_id"]) == TASK, run
        assert materialized(run) == [ASSETS[TASK]], run
        ran = time.monotonic() - began

        line = await hover_shows_dagster_run(peered_client, TASK, run)
        assert "`proxied_task` ✓" in line and f"`{run['runId'][:8]}` ✓ SUCCESS" in line, line
        assert "materialized `raw_data/raw_customers`" in line and f"{airflow.url}/dags/{DAG_ID}/" in line, line
        assert airflow.password not in line
        side = await in_thread(dagster_side, peered_client)
        assert side[TASK]["run_id"] == run["runId"] and side[TASK]["status"] == "SUCCESS", side
        assert side["build_dbt_models"] is None and side["export_customers"] is None, side

        # Roll back: Airflow runs the task itself again, live once it has re-parsed.
        await roll_back_first_task(peered_client)
        assert (await task_lens(peered_client)).startswith("rollback pending · ")
        await airflow_parsed(peered_client, OPERATORS)
        await lens_shows(peered_client, "back in Airflow: live since ", 30)
        instances = await run_dag(peered_client, "rolled_back_task", data_dir)
        assert {t: i["operator"] for t, i in instances.items()} == OPERATORS
        assert await in_thread(dagster_runs, peered_client, tags, "rolled_back_task") == []
        assert await in_thread(dagster_side, peered_client) == dict.fromkeys(OPERATORS)  # Airflow ran it all
        await hover_shows_run(peered_client, TASK, "rolled_back_task", "success")
        print(f"\nhover: {line}")
        print(f"Dagster run on Airflow 3: proxied live after {switched:.0f}s, DAG run done after {ran:.0f}s, "
              f"rolled back and run in Airflow after {time.monotonic() - began:.0f}s (Dagster start-up "
              f"{dagster.startup_seconds:.0f}s)")
