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

import shutil
import sys
from pathlib import Path

import pytest
import pytest_lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.conftest import TUTORIAL
from tests.e2e.editor import Editor, start_session
from tests.support.airflow2_server import Airflow2Server, airflow2_python
from tests.support.airflow_server import time_limit
from tests.support.dagster_server import DagsterServer
from tests.support.round_trip import DAG_ID, MODULE, OPERATORS, round_trip

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

TIME_LIMIT = 900  # seconds for the whole round trip (it takes about 3 minutes)


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
        "apiVersion": "v1", "pollInterval": 2}, "dagster": {"url": dagster.url}}})
    yield
    await lsp_client.shutdown_session()


# -- the round trip ---------------------------------------------------------------------------------

@pytest.mark.asyncio
async def test_round_trip_on_real_airflow_and_real_dagster(client: LanguageClient, data_dir: Path):
    await round_trip(client, data_dir, dagster_peered=True)
