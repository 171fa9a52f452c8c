"""``@task.bash`` scaffolds run for real: the tasks of tests/fixtures/scaffold/bash_task_dag.py,
scaffolded, materialize in real Dagster and write, byte for byte, the files that Airflow 2.11
writes when it runs the same tasks (``airflow tasks test``, each side with its own OUTPUT_DIR):
the environment the command gets (``env`` with ``append_env``, ``env`` alone given by
``.override``), the folder it runs in (``cwd``, else a new ``airflowtmp`` folder) and the
arguments of the call.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.edits.scaffold import scaffold_task
from tests.conftest import airflow2_python
from tests.integration.test_scaffold_runs import MATERIALIZE, dagster_python

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
DAG = FIXTURES / "bash_task_dag.py"
# task id, its asset, the file it writes and what that file must hold
TASKS = [
    ("count_orders", "order_count", "orders.txt", "eu: 3 paid orders\n"),
    ("list_regions", "regions", "regions.txt", "eu\nus\n"),
    ("greet", "greeting", "where.txt", "hello Ada from airflowtmp with no home\n"),
]


@pytest.fixture(scope="module")
def dagster_run(tmp_path_factory) -> tuple[dict[str, dict], Path]:
    root = tmp_path_factory.mktemp("bash_task")
    module = root / "definitions.py"
    text = (FIXTURES / "bash_task_module.py").read_text()
    for task_id, _, _, _ in TASKS:
        result = scaffold_task(DAG.read_text(), str(DAG), "bash_task", task_id, text,
                               module_path=str(module))
        assert result.changed, result.reason
        text = result.text
    module.write_text(text)
    output = root / "output"
    output.mkdir()
    result = subprocess.run(
        [dagster_python(), str(MATERIALIZE), str(module),
         "--airflow", json.dumps({"bash_task": [t[0] for t in TASKS]}),
         *(a for _, key, _, _ in TASKS for a in ("--asset", key))],
        capture_output=True, text=True, timeout=600, cwd=root, check=False,
        env={**os.environ, "DAGSTER_HOME": str(root), "OUTPUT_DIR": str(output)})
    assert result.returncode == 0, result.stderr[-4000:]
    return {run["asset"]: run for run in json.loads(result.stdout)["runs"]}, output


@pytest.fixture(scope="module")
def airflow_output(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bash_task_airflow")
    (root / "dags").mkdir()
    shutil.copy(DAG, root / "dags" / DAG.name)
    output = root / "output"
    output.mkdir()
    env = {**os.environ, "AIRFLOW_HOME": str(root), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"), "OUTPUT_DIR": str(output)}
    airflow = [airflow2_python(), "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], env=env, cwd=root, check=True,
                   capture_output=True, timeout=300)
    for task_id, _, _, _ in TASKS:
        result = subprocess.run([*airflow, "tasks", "test", "bash_task", task_id], env=env, cwd=root,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "Bash command failed" not in result.stdout + result.stderr
    return output


@pytest.mark.parametrize("task_id, key, name, content", TASKS, ids=[t[0] for t in TASKS])
def test_the_asset_writes_what_airflow_writes(task_id, key, name, content, dagster_run,
                                              airflow_output):
    runs, output = dagster_run
    run = runs[key]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == [key]
    assert (airflow_output / name).read_text() == content
    assert (output / name).read_bytes() == (airflow_output / name).read_bytes()


def test_the_tasks_wrote_nothing_else(dagster_run, airflow_output):
    _, output = dagster_run
    assert sorted(p.name for p in output.iterdir()) == sorted(p.name for p in airflow_output.iterdir())
    assert sorted(p.name for p in output.iterdir()) == sorted(t[2] for t in TASKS)
