"""TriggerDagRunOperator scaffolds run for real: the tasks of
tests/fixtures/scaffold/sensors/trigger_dag.py, scaffolded, load in real Dagster against a real
Airflow 2.11 (the module's own AirflowInstance, pointed at it) and materialize as the operator
runs: each starts a run of its DAG in Airflow and waits for it, succeeding when the run
succeeds (`target`) and failing when it fails (`failing_target`), as Airflow's operator does with
``wait_for_completion=True``. The runs are then read back from Airflow's REST API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.airflow2_server import Airflow2Server
from tests.support.airflow_server import time_limit
from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import MATERIALIZE_LIVE, dagster_python

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold" / "sensors"
TASKS = {"kick": "target_started", "kick_failing": "failing_target_started"}


@pytest.fixture(scope="module")
def airflow2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trigger_dags")
    shutil.copy(FIXTURES / "trigger_dag.py", folder / "trigger_dag.py")
    server = Airflow2Server(folder)
    try:
        with time_limit(300, "starting Airflow 2"):
            server.start()
        for dag_id in ("target", "failing_target"):
            server.wait_for_task_classes(dag_id, {"work" if dag_id == "target" else "fail": "BashOperator"},
                                         timeout=120)
            server.unpause(dag_id)
        yield server
    finally:
        server.stop()


@pytest.mark.airflow
@pytest.mark.slow
def test_the_scaffolded_trigger_starts_the_dag_in_airflow_and_waits_for_its_run(airflow2, tmp_path):
    module = tmp_path / "definitions.py"
    text = scaffold_every_task(FIXTURES / "trigger_dag.py", "triggering", TASKS,
                               (FIXTURES / "trigger_module.py").read_text(), module)
    module.write_text(text.replace("http://localhost:8080", airflow2.url))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSTER"))}
    result = subprocess.run([dagster_python(), "-c", MATERIALIZE_LIVE, str(module), "{}", *TASKS.values()],
                            capture_output=True, text=True, timeout=400, cwd=tmp_path,
                            env={**env, "DAGSTER_HOME": str(tmp_path)}, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    runs = json.loads(result.stdout.strip().splitlines()[-1])
    assert runs["target_started"]["success"], runs["target_started"]["errors"]
    assert not runs["failing_target_started"]["success"]
    assert any("failing_target failed with failed states failed" in e
               for e in runs["failing_target_started"]["errors"]), runs
    for dag_id, state in (("target", "success"), ("failing_target", "failed")):
        dag_runs = airflow2.api("GET", f"/dags/{dag_id}/dagRuns").json()["dag_runs"]
        assert [r["state"] for r in dag_runs] == [state], dag_runs
