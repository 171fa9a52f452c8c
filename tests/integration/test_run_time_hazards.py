"""What a proxy breaks only at run time, on real Airflow 2.11 + dagster-airlift and a real Dagster
webserver: a state file written by hand proxies `extract` (whose output `total` reads), the
branch `choose` and `check` (which skips itself, and `publish` with it), and the DAG's run hands
`total` None, runs both branches and runs `publish`; the CLI refuses the three steps in one line
each, and its whole-DAG proxy (the branch and the skipping task left in Airflow, the reader moved
with what it reads) runs only the chosen branch, in Dagster, with nothing handed None and
`publish` skipped.

`airflow dags test` runs the DAG in one process (no scheduler); the proxied tasks launch their
runs in the Dagster webserver (``DAGSTER_URL``), which runs `definitions.py`: every asset writes
`<task>-dagster.txt` under $HAZARDS_DIR, every Airflow task `<task>.txt`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, airflow2_python, run_cli
from tests.support.airflow_server import time_limit
from tests.support.dagster_server import DagsterServer

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

STATE = "airflow_dags/proxied_state/hazards.yaml"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "hazards"
    shutil.copytree(FIXTURES / "run_time_hazards", root)
    return root


@pytest.fixture
def dagster(project: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    server = DagsterServer(project / "definitions.py", cwd=project, env={"HAZARDS_DIR": str(out)})
    with time_limit(600, "the run-time hazards"):
        try:
            server.start()
            yield server, out
        finally:
            server.stop()


def run_dag(project: Path, home: Path, dagster_url: str, out: Path, date: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(project / "airflow_dags"), "DAGSTER_URL": dagster_url,
           "HAZARDS_DIR": str(out), "NO_PROXY": "*", "no_proxy": "*"}
    airflow = [airflow2_python(), "-m", "airflow"]
    if not (home / "airflow.db").exists():
        subprocess.run([*airflow, "db", "migrate"], env=env, check=True, capture_output=True, timeout=300)
    return subprocess.run([*airflow, "dags", "test", "hazards", date], env=env, capture_output=True,
                          text=True, timeout=400)


def files(out: Path) -> dict[str, str]:
    found = {p.name: p.read_text().strip() for p in out.iterdir()}
    for p in out.iterdir():
        p.unlink()
    return found


def test_what_the_refusals_prevent_and_what_the_whole_dag_proxy_keeps(project: Path, dagster, tmp_path: Path):
    server, out = dagster
    home = tmp_path / "airflow-home"
    home.mkdir()

    # A state written by hand, as no step of airlift-lsp writes it.
    (project / STATE).parent.mkdir(parents=True, exist_ok=True)
    (project / STATE).write_text("tasks:\n  - id: extract\n    proxied: true\n  - id: choose\n    proxied: true\n"
                                 "  - id: total\n    proxied: false\n  - id: left\n    proxied: false\n"
                                 "  - id: right\n    proxied: false\n  - id: check\n    proxied: true\n"
                                 "  - id: publish\n    proxied: false\n")
    run = run_dag(project, home, server.url, out, "2024-01-01")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert files(out) == {"extract-dagster.txt": "dagster", "choose-dagster.txt": "dagster",
                          "total.txt": "None",  # handed None: the proxy pushes no XCom
                          "left.txt": "airflow", "right.txt": "airflow",  # both branches ran
                          "check-dagster.txt": "dagster", "publish.txt": "airflow"}  # not skipped

    # The CLI refuses the three steps, in one line each, and writes nothing.
    (project / STATE).unlink()
    for task_id, start in (("extract", "proxying `extract` would hand `total` None at run time"),
                           ("choose", "`choose` is a branch (`BranchPythonOperator`)"),
                           ("check", "`check` can skip itself (its code raises `AirflowSkipException`)")):
        refused = run_cli("proxy", "hazards", task_id, cwd=project)
        assert refused.returncode == 1 and refused.stderr.startswith(f"airlift-lsp: {start}"), refused.stderr
        assert refused.stderr.count("\n") == 1 and not (project / STATE).exists()

    # The whole DAG: the branch and `check` stay in Airflow, the reader moves with what it reads.
    done = run_cli("proxy", "hazards", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "left in Airflow the tasks that decide which tasks after them run (choose, check)" in done.stderr
    run = run_dag(project, home, server.url, out, "2024-01-02")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert files(out) == {"extract-dagster.txt": "dagster", "total-dagster.txt": "dagster",
                          "left-dagster.txt": "dagster"}  # `right` and `publish` skipped by Airflow: no run
