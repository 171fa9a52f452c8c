"""``@task.bash`` scaffolds run for real: the tasks of tests/fixtures/scaffold/bash_task_dag.py,
scaffolded, materialize in real Dagster and write, byte for byte, the files that Airflow 2.11
writes when it runs the same tasks (``airflow tasks test``, each side with its own OUTPUT_DIR):
the environment the command gets (``env`` with ``append_env``, ``env`` alone given by
``.override``), the folder it runs in (``cwd``, else a new ``airflowtmp`` folder) and the
arguments of the call.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import airflow_tasks_test, materialize, runs_by_asset

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
    task_ids = [t[0] for t in TASKS]
    module.write_text(scaffold_every_task(DAG, "bash_task", task_ids, (FIXTURES / "bash_task_module.py").read_text(),
                                          module))
    output = root / "output"
    output.mkdir()
    answer = materialize(module, {"bash_task": task_ids}, [key for _, key, _, _ in TASKS], cwd=root,
                         env={"OUTPUT_DIR": str(output)})
    return runs_by_asset(answer), output


@pytest.fixture(scope="module")
def airflow_output(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bash_task_airflow")
    (root / "dags").mkdir()
    shutil.copy(DAG, root / "dags" / DAG.name)
    output = root / "output"
    output.mkdir()
    logs = airflow_tasks_test(root / "dags", "bash_task", [t[0] for t in TASKS], home=root, cwd=root,
                              env={"OUTPUT_DIR": str(output)})
    for log in logs.values():
        assert "Bash command failed" not in log
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
