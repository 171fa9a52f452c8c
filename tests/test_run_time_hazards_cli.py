"""`status` says which tasks stay in Airflow while their DAG migrates task by task, and why (a
branch; a task that can skip itself; a task whose XCom another task still run by Airflow reads), and warns of a state that
hands a reader None."""

import shutil
from pathlib import Path

from tests.conftest import FIXTURES, run_cli

STATE = "airflow_dags/proxied_state/hazards.yaml"


def test_status_says_what_stays_and_why(tmp_path: Path) -> None:
    root = tmp_path / "hazards"
    shutil.copytree(FIXTURES / "run_time_hazards", root)
    lines = run_cli("status", cwd=root).stdout.splitlines()
    assert "    choose  observed → hazards/choose  cannot go further: a branch: proxied, every branch after it " \
           "would run; it stays in Airflow (or DAG level)" in lines
    assert "    extract  observed → hazards/extract  cannot go further: `total` reads its XCom: proxy it first" in lines
    assert "    total  observed → hazards/total" in lines
    assert "    check  observed → hazards/check  cannot go further: can skip itself (`AirflowSkipException`): " \
           "proxied, the tasks after it would run or fail; it stays in Airflow (or DAG level)" in lines

    (root / STATE).parent.mkdir(parents=True)
    (root / STATE).write_text("tasks:\n  - id: extract\n    proxied: true\n  - id: total\n    proxied: false\n")
    lines = run_cli("status", cwd=root).stdout.splitlines()
    assert "    extract  proxied → Dagster  ⚠ total gets None (reads its XCom)" in lines
