"""Decommission asks the peered Airflow (a real Airflow 3.3.2, tests/fixtures/airflow_dags) how the
DAG's last run went: a failed run refuses the step with the run and its state; a successful one
lets it through, with no "not checked" note. The workspace holds fully proxied stand-ins of the
deployed DAGs (same ids), so only the runs decide."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.unit.test_decommission import MODULE, STATE, orders_dag

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def workspace(root: Path, dag_id: str) -> Path:
    files = {f"dags/{dag_id}.py": orders_dag().replace('dag_id="orders"', f'dag_id="{dag_id}"'),
             f"dags/proxied_state/{dag_id}.yaml": STATE,
             "definitions.py": MODULE.replace('dag_id="orders"', f'dag_id="{dag_id}"'),
             "pyproject.toml": '[tool.airlift-lsp]\ndagFolders = ["dags"]\ndagsterModule = "definitions.py"\n'}
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize("dag_id", ["failing_dag", "daily_orders"])
def test_the_last_run_in_airflow_decides(tmp_path: Path, airflow_server, finished_runs, dag_id: str) -> None:
    root = workspace(tmp_path / dag_id, dag_id)
    env = {**os.environ, "AIRFLOW_URL": airflow_server.url, "AIRFLOW_USERNAME": airflow_server.username,
           "AIRFLOW_PASSWORD": airflow_server.password}
    result = run_cli("decommission", dag_id, "--dry-run", cwd=root, env=env)
    if dag_id == "failing_dag":
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.strip() == (f"airlift-lsp: the last run of `failing_dag` ({finished_runs[dag_id]}) "
                                         f"ended failed: fix that first")
    else:
        assert result.returncode == 0, result.stderr
        assert "not checked" not in result.stderr and "+++ /dev/null" in result.stdout
