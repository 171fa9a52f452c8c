"""Switches confirmed live, through the language server on a real Airflow 3.3.2 with
dagster-airlift's in-Airflow side (no Dagster needed: Airflow swaps the operator class when it
parses the file). The Airflow, the copied tutorial and the editor session are
tests/integration/test_round_trip_airflow3.py's fixtures.

Proxy a tutorial task: its lens says "proxy pending", the server asks Airflow to re-parse the
file (``PUT /api/v2/parseDagFile/{file_token}``, in Airflow's event log), then the lens says
"proxied: live since HH:MM" once Airflow's serialized DAG has ``DefaultProxyTaskToDagsterOperator``
for it; roll it back: "rollback pending", then "back in Airflow: live since HH:MM".
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.integration.test_round_trip_airflow3 import client, data_dir, servers, tutorial, workspace  # noqa: F401
from tests.support.airflow_server import time_limit
from tests.support.round_trip import (
    DAG,
    DAG_ID,
    OPERATORS,
    PROXY_OPERATOR,
    airflow_parsed,
    hover_of_task,
    in_thread,
    index_shows,
    proxy_first_task,
    roll_back_first_task,
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
