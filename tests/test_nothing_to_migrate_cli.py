"""Issue 16 through the CLI: `check` notes what is left to port by hand without failing, `proxy`
leaves the tasks with nothing to migrate in Airflow (and refuses them by name), and progress
counts them as done."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_cli

NOTE = "no scaffold for `LoadWarehouseOperator`: port by hand (or port the class once: `AIRFLOW_OPERATOR_PORTS`)"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    root = tmp_path / "warehouse"
    shutil.copytree(FIXTURES / "nothing_to_migrate", root)
    return root


def test_check_notes_the_task_to_port_by_hand_and_exits_0(warehouse: Path) -> None:
    result = run_cli("check", "--json", cwd=warehouse)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout)["findings"]
    [note] = [f for f in findings if f["code"] == "no-scaffold"]
    assert (note["severity"], note["message"]) == ("information", NOTE)
    line = (warehouse / "airflow_dags" / "warehouse.py").read_text().splitlines().index(
        '    load = LoadWarehouseOperator(task_id="load", table="orders")')
    assert note["range"]["start"] == {"line": line, "character": 11}
    text = run_cli("check", cwd=warehouse)
    assert text.returncode == 0
    assert f"airflow_dags/warehouse.py:{line + 1}:12: info no-scaffold {NOTE}" in text.stdout.splitlines()


def test_proxy_leaves_them_in_airflow_and_progress_counts_them_done(warehouse: Path) -> None:
    assert run_cli("map", "warehouse", cwd=warehouse).returncode == 0
    refused = run_cli("proxy", "warehouse", "latest_only", cwd=warehouse)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("airlift-lsp: `latest_only` has nothing to migrate")
    assert not (warehouse / "airflow_dags" / "proxied_state").exists()

    proxied = run_cli("proxy", "warehouse", cwd=warehouse)
    assert proxied.returncode == 0, proxied.stderr
    assert "with nothing to migrate: `start` (EmptyOperator), `latest_only` (LatestOnlyOperator), " \
           "`done` (DummyOperator), `mark_reports` (ExternalTaskMarker)" in proxied.stderr
    state = (warehouse / "airflow_dags" / "proxied_state" / "warehouse.yaml").read_text()
    assert "  - id: start\n    proxied: false\n" in state and "  - id: load\n    proxied: true\n" in state

    dags = json.loads(run_cli("dags", "airflow_dags", "--json", cwd=warehouse).stdout)
    [dag] = dags["files"][0]["dags"]
    assert dag["stage"] == "proxied"  # the tasks with nothing to migrate hold it back no more
    assert {t["task_id"]: t["stage"] for t in dag["tasks"]}["start"] == "observed"
    status = run_cli("status", cwd=warehouse)
    assert "warehouse  7/7 tasks mapped · 7 proxied · 4 of these: nothing to migrate" in status.stdout
    assert "    done  nothing to migrate" in status.stdout.splitlines()
    report = json.loads(run_cli("status", "--json", cwd=warehouse).stdout)
    tasks = {t["task_id"]: t["proxied"] for t in report["dags"][0]["tasks"]}
    assert tasks["start"] is False and tasks["extract"] is True  # the JSON says what the file says
