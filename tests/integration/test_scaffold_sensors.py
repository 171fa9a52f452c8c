"""Sensor scaffolds run for real: the FileSensor, PythonSensor and SqlSensor tasks of
tests/fixtures/scaffold/sensors/sensors_dag.py, scaffolded, materialize in real Dagster with the
same outcome as Airflow 2.11's own runs of them (``airflow tasks test``), in three landing
folders: what they wait for already there (all succeed), never there (all time out and fail),
and landed only once a sensor has poked and found nothing (all succeed after waiting). Both are
given the same places: the FileSensor's connection (base path) as ``AIRFLOW_CONN_LANDING``, the
callable's folder as ``SENSORS_LANDING``, the SqlSensor's SQLite file as
``AIRFLOW_CONN_WAREHOUSE``. The ExternalTaskSensor of external_dag.py, scaffolded, loads with
the external task's asset as its dependency (for a whole DAG, the asset dagster-airlift gives
its successful runs) and waits for a new materialization of it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import airflow2_python
from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import dagster_python, materialize, materialize_command

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold" / "sensors"
TASKS = {"wait_for_orders": "orders_landed", "wait_for_flag": "flag_raised", "wait_for_rows": "eu_orders"}
WAITED = {"wait_for_orders": ("FileSensor `wait_for_orders`: not yet", "Poking for file"),
          "wait_for_flag": ("PythonSensor `wait_for_flag`: not yet", "Poking callable"),
          "wait_for_rows": ("SqlSensor `wait_for_rows`: not yet", "Poking: SELECT")}
"""What Dagster's and Airflow's logs say when a poke found nothing yet."""


def land(folder: Path, task_id: str) -> None:
    """What each sensor waits for: a CSV below incoming/, the flag file saying "go", an order
    from the EU in the warehouse's (existing) table."""
    if task_id == "wait_for_orders":
        (folder / "incoming" / "eu").mkdir(parents=True, exist_ok=True)
        (folder / "incoming" / "eu" / "orders.csv").write_text("id\n1\n")
    elif task_id == "wait_for_flag":
        (folder / "flag").write_text("go\n")
    else:
        with sqlite3.connect(folder / "warehouse.db") as db:
            db.execute("INSERT INTO orders VALUES (1, 'eu')")


def environment(folder: Path) -> dict[str, str]:
    return {"AIRFLOW_CONN_LANDING": json.dumps({"conn_type": "fs", "extra": {"path": str(folder)}}),
            "AIRFLOW_CONN_WAREHOUSE": json.dumps({"conn_type": "sqlite", "host": str(folder / "warehouse.db")}),
            "SENSORS_LANDING": str(folder)}


def run_watching(command: list[str], env: dict[str, str], cwd: Path,
                 on_line: Callable[[str], None]) -> tuple[int, str, str]:
    """Run ``command``, calling ``on_line`` with each line it logs (stdout and stderr) as it
    comes; its exit code, stdout and stderr."""
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=cwd, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    output: dict[str, list[str]] = {"stdout": [], "stderr": []}

    def read(name: str) -> None:
        for line in getattr(process, name):
            output[name].append(line)
            on_line(line)

    readers = [threading.Thread(target=read, args=(name,), daemon=True) for name in output]
    for reader in readers:
        reader.start()
    try:
        code = process.wait(timeout=300)
    finally:
        process.kill()
    for reader in readers:
        reader.join(timeout=10)
    return code, "".join(output["stdout"]), "".join(output["stderr"])


def landing_once_poked(folder: Path, engine: int) -> tuple[Callable[[str], None], dict[str, int], list[str]]:
    """An ``on_line`` that lands each sensor's file once a poke found nothing (``engine``: 0 for
    Dagster's log, which says so after the poke; 1 for Airflow's, which says "Poking" before
    each: the second one follows an empty poke), the count of those lines, and the task being
    run (Airflow runs one per command)."""
    seen = dict.fromkeys(TASKS, 0)
    current: list[str] = []

    def on_line(line: str) -> None:
        for task_id, marks in WAITED.items():
            if marks[engine] in line and (engine == 0 or current == [task_id]):
                seen[task_id] += 1
                if seen[task_id] == 1 + engine:
                    land(folder, task_id)
    return on_line, seen, current


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("sensors")
    (root / "dags").mkdir()
    shutil.copy(FIXTURES / "sensors_dag.py", root / "dags" / "sensors_dag.py")
    module = root / "definitions.py"
    module.write_text(scaffold_every_task(FIXTURES / "sensors_dag.py", "sensors", TASKS,
                                          (FIXTURES / "sensors_module.py").read_text(), module))
    for engine in ("dagster", "airflow"):
        for case in ("present", "absent", "late"):
            (root / engine / case).mkdir(parents=True)
            with sqlite3.connect(root / engine / case / "warehouse.db") as db:
                db.execute("CREATE TABLE orders (id INTEGER, region TEXT)")
    for task_id in TASKS:
        land(root / "dagster" / "present", task_id)
    return root


@pytest.fixture(scope="module")
def dagster_runs(project: Path) -> dict[str, tuple[dict[str, dict], dict[str, int]]]:
    """Per landing folder: each asset's run, and how many empty pokes were seen."""
    outcomes = {}
    for case in ("present", "absent", "late"):
        folder = project / "dagster" / case
        on_line, seen, _ = landing_once_poked(folder, 0) if case == "late" else (lambda _: None, {}, [])
        command = materialize_command(project / "definitions.py", {"sensors": list(TASKS)}, TASKS.values())
        code, stdout, stderr = run_watching(command, {**environment(folder), "DAGSTER_HOME": str(project)},
                                            project, on_line)
        assert code == 0, stderr[-4000:]
        outcomes[case] = ({run["asset"]: run for run in json.loads(stdout)["runs"]}, seen)
    return outcomes


@pytest.fixture(scope="module")
def airflow_runs(project: Path) -> dict[str, tuple[dict[str, tuple[int, str]], dict[str, int]]]:
    """Per landing folder: each task's ``airflow tasks test`` (exit code, log), and the pokes
    seen. Not "present": "late" has the files there by the second poke (each run costs ~10 s)."""
    home = project / "airflow_home"
    env = {"AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags")}
    airflow = [airflow2_python(), "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], env={**os.environ, **env}, cwd=project, check=True,
                   capture_output=True, timeout=300)
    outcomes = {}
    for case in ("absent", "late"):
        folder = project / "airflow" / case
        on_line, seen, current = landing_once_poked(folder, 1) if case == "late" else (lambda _: None, {}, [])
        results = {}
        for task_id in TASKS:
            current[:] = [task_id]
            code, stdout, stderr = run_watching([*airflow, "tasks", "test", "sensors", task_id],
                                                {**env, **environment(folder)}, project, on_line)
            results[task_id] = (code, stdout + stderr)
        outcomes[case] = (results, seen)
    return outcomes


@pytest.mark.parametrize("case", ["present", "late"])
def test_both_succeed_when_what_they_wait_for_is_there_or_comes(case, dagster_runs, airflow_runs):
    runs, seen = dagster_runs[case]
    results, airflow_seen = airflow_runs["late"]
    for task_id, key in TASKS.items():
        assert runs[key]["success"], "\n".join(runs[key]["errors"])
        assert runs[key]["materialized"] == [key]
        code, log = results[task_id]
        assert code == 0, log[-3000:]
    # each waited in "late": an empty poke at least, then what it waits for came
    assert all(airflow_seen[t] >= 2 for t in TASKS), airflow_seen
    if case == "late":
        assert all(seen[t] >= 1 for t in TASKS), seen


def test_both_time_out_when_nothing_comes(dagster_runs, airflow_runs):
    runs, _ = dagster_runs["absent"]
    results, _ = airflow_runs["absent"]
    for task_id, key in TASKS.items():
        assert not runs[key]["success"] and runs[key]["materialized"] == []
        assert any("has timed out" in error for error in runs[key]["errors"]), runs[key]["errors"]
        code, log = results[task_id]
        assert code != 0 and "AirflowSensorTimeout" in log, log[-3000:]


EXTERNAL = {"loads": ["load_orders"], "reports": ["wait_for_load", "wait_for_loads"]}


@pytest.fixture(scope="module")
def external_module(tmp_path_factory) -> Path:
    """external_dag.py's tasks scaffolded: the sensor's asset first (the task it waits for is
    mapped to specs then), then the task it waits for."""
    root = tmp_path_factory.mktemp("external")
    module = root / "definitions.py"
    text = scaffold_every_task(FIXTURES / "external_dag.py", "reports", EXTERNAL["reports"],
                               (FIXTURES / "external_module.py").read_text(), module)
    module.write_text(scaffold_every_task(FIXTURES / "external_dag.py", "loads", ["load_orders"], text, module))
    return module


def test_an_external_task_sensor_depends_on_the_external_tasks_assets(external_module):
    result = subprocess.run([dagster_python(), str(REPO / "tests" / "support" / "dagster_load.py"),
                             str(external_module), "--airflow", json.dumps(EXTERNAL)],
                            capture_output=True, text=True, timeout=300, cwd=external_module.parent, check=False)
    assert result.returncode == 0, result.stderr[-4000:]
    deps = {tuple(a["key"]): a["deps"] for a in json.loads(result.stdout)["assets"]}
    assert deps[("orders_ready",)] == [["raw", "orders"]]
    # a whole run of `loads`: the asset dagster-airlift materializes for its successful runs
    assert deps[("loads_done",)] == [["external", "dag", "loads"]] and ("external", "dag", "loads") in deps


def test_an_external_task_sensor_waits_for_a_new_materialization(external_module):
    # one Dagster instance: the sensor's asset alone (nothing upstream yet), the upstream one,
    # the sensor's again (materialized anew: succeeds), and again (nothing new: times out)
    runs = [run for run in materialize(external_module, EXTERNAL,
                                       ["orders_ready", "raw/orders", "orders_ready", "orders_ready"],
                                       cwd=external_module.parent)["runs"]]
    assert [r["success"] for r in runs] == [False, True, True, False], [r["errors"] for r in runs]
    assert runs[2]["materialized"] == ["orders_ready"]
    assert all(any("has timed out" in e for e in runs[i]["errors"]) for i in (0, 3))
