"""Switches followed on a real Airflow 2.11 with dagster-airlift's in-Airflow side: no
``parseDagFile`` there, so the watcher only reads the DAG's tasks each poll until the
scheduler's own re-parse (every second here) swaps the operator; a switch that never goes live
says, after its timeout, that Airflow re-parsed the file but still runs the old operator; the
CLI's ``rollback --wait`` follows its switch the same way.
(The editor path, lens and hover, is tests/integration/test_switches_live_airflow3.py.)"""

from __future__ import annotations

import os
import shutil
import time
from datetime import timedelta
from pathlib import Path

import pytest

from analysis.switches import Switched
from server.peering.client import AirflowClient
from server.peering.switches import Phase, SwitchBoard, SwitchWatcher
from tests.conftest import TUTORIAL, run_cli
from tests.support.airflow2_server import Airflow2Server, airflow2_python
from tests.support.airflow_server import time_limit
from tests.support.round_trip import DAG_ID, OPERATORS, PROXY_OPERATOR

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

FILE = "rebuild_customers_list.py"


def cli(root: Path, *args: str) -> None:
    result = run_cli(*args, cwd=root)
    assert result.returncode == 0, (args, result.stderr)


@pytest.fixture
def airflow(tmp_path: Path):
    """The tutorial mapped, its first task scaffolded, proxying enabled (nothing proxied), as
    Airflow 2 parsed it."""
    airflow2_python()
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root, ignore=shutil.ignore_patterns("__pycache__", ".data"))
    cli(root, "map", DAG_ID)
    cli(root, "scaffold", DAG_ID, "load_raw_customers")
    cli(root, "enable-proxying", DAG_ID)
    server = Airflow2Server(root / "airflow_dags", extra_env={
        "DAGSTER_URL": "http://127.0.0.1:9", "TUTORIAL_DATA_DIR": str(tmp_path / "data")})
    try:
        with time_limit(300, "starting Airflow 2"):
            try:
                server.start()
                server.wait_for_task_classes(DAG_ID, OPERATORS, timeout=120)
            except Exception as error:  # noqa: BLE001 - a broken Airflow fails the test, never skips
                pytest.fail(f"could not run Airflow 2 with dagster-airlift: {error}")
        yield root, server
    finally:
        server.stop()


def test_switch_followed_on_airflow2(airflow):
    root, server = airflow
    board = SwitchBoard(timeout=timedelta(seconds=3))
    watcher = SwitchWatcher(board, lambda: None)
    client = AirflowClient(server.url, username=server.username, password=server.password)
    cli(root, "proxy", DAG_ID, "load_raw_customers")
    # build_dbt_models is "switched" too, but its state file never says so: it cannot go live.
    board.record([Switched(DAG_ID, ("build_dbt_models", "load_raw_customers"), True)], {DAG_ID: FILE})
    with time_limit(120, "following the switch"):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            watcher.poll(client)
            done, stuck = board.get(DAG_ID, "load_raw_customers"), board.get(DAG_ID, "build_dbt_models")
            if done.phase is Phase.LIVE and (stuck.missing or "").startswith("Airflow re-parsed"):
                break
            time.sleep(1)
    client.close()
    assert client.api_version == "v1"
    assert done.phase is Phase.LIVE, done
    assert done.reparse == "Airflow 2 re-parses the file on its own schedule"
    assert server.task_classes(DAG_ID)["load_raw_customers"] == PROXY_OPERATOR
    assert stuck.phase is Phase.LATE and stuck.missing == (
        f"Airflow re-parsed `{FILE}` but `build_dbt_models` still runs `BashOperator`: is its proxied_state "
        "file deployed?"), stuck
    assert board.following() == [DAG_ID]  # the stuck one is still followed; the live one no longer

    # The CLI's --wait: the rollback written, then followed until Airflow 2 runs the task itself.
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}, "AIRFLOW_URL": server.url,
           "AIRFLOW_USERNAME": server.username, "AIRFLOW_PASSWORD": server.password}
    began = time.monotonic()
    result = run_cli("rollback", DAG_ID, "load_raw_customers", "--wait", "90", cwd=root, env=env)
    lines = result.stderr.splitlines()
    assert result.returncode == 0, result.stderr
    assert f"{DAG_ID}/load_raw_customers: rollback pending" in lines, lines
    assert any(line.startswith(f"{DAG_ID}/load_raw_customers: back in Airflow: live since ") for line in lines), lines
    assert server.task_classes(DAG_ID)["load_raw_customers"] == OPERATORS["load_raw_customers"]
    print(f"\nrollback --wait: live after {time.monotonic() - began:.1f}s")
