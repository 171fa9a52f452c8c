"""``proxy``/``rollback --wait`` without a reachable Airflow: the edit is written, then one clear
line says why it cannot be followed (no hang); bad seconds are a usage error. The real follow-up
is tests/integration/test_switches_live_airflow2.py."""

from __future__ import annotations

import os
import shutil

from analysis.state.proxied_state import parse_state_file
from tests.conftest import TUTORIAL, run_cli
from tests.support.airflow_server import free_port

DAG_ID = "rebuild_customers_list"
STATE = "airflow_dags/proxied_state/rebuild_customers_list.yaml"


def test_wait_without_airflow_says_why(tmp_path):
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root, ignore=shutil.ignore_patterns("__pycache__", ".data"))
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
           "AIRFLOW_URL": f"http://127.0.0.1:{free_port()}"}
    result = run_cli("rollback", DAG_ID, "--wait", "5", cwd=root, env=env)
    assert result.returncode == 0 and "nothing switched: nothing to wait for" in result.stderr, result.stderr

    result = run_cli("proxy", DAG_ID, "load_raw_customers", "--wait", "5", cwd=root, env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines()[-1].startswith(
        "airlift-lsp: cannot follow the switch on Airflow: connection to Airflow at http://127.0.0.1:"), result.stderr
    state = parse_state_file(STATE, (root / STATE).read_text())
    assert {t.task_id for t in state.tasks if t.proxied} == {"load_raw_customers"}  # written all the same

    result = run_cli("rollback", DAG_ID, "--wait", "soon", cwd=root, env=env)
    assert result.returncode == 2 and "argument --wait: not a number of seconds: 'soon'" in result.stderr
