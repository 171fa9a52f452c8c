"""What the scaffold run tests (tests/integration/test_scaffold_*.py) share once a module is
scaffolded (scaffold_fixture.scaffold_every_task): its assets materialized in real Dagster by
dagster_materialize.py in the Dagster venv (``make dagster``), and the same tasks run by Airflow
2.11 (``airflow tasks test``: no scheduler, nothing kept) to compare with."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

from tests.conftest import airflow2_python, run_cli

REPO = Path(__file__).resolve().parents[2]
MATERIALIZE = REPO / "tests" / "support" / "dagster_materialize.py"
MATERIALIZE_LIVE = """
import importlib.util, json, sys, warnings
warnings.simplefilter("ignore")
import dagster as dg
spec = importlib.util.spec_from_file_location("definitions", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
job = module.defs.resolve_implicit_global_asset_job_def()
tags = json.loads(sys.argv[2])
runs = {}
with dg.DagsterInstance.ephemeral() as instance:
    for key in sys.argv[3:]:
        result = job.execute_in_process(asset_selection=[dg.AssetKey(key)], instance=instance,
                                        raise_on_error=False, tags=tags)
        runs[key] = {"success": result.success,
                     "errors": [str(e.event_specific_data.error) for e in result.get_step_failure_events()]}
print(json.dumps(runs))
"""
"""Run with ``-c`` by the Dagster venv's python: ``MODULE TAGS_JSON KEY...``, each key materialized in its
own run tagged with ``TAGS_JSON``, the module loaded as it is, its AirflowInstance talking to a real
Airflow (dagster_materialize.py fakes it). Prints ``{key: {"success": bool, "errors": [str]}}``."""


def dagster_python() -> str:
    python = os.environ.get("DAGSTER_PYTHON") or str(REPO / ".cache" / "dagster" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"Dagster venv missing at {python}: run `make dagster` (make test does it)")
    return os.path.abspath(python)


def materialize_command(module: Path, airflow: Mapping[str, list[str]], selections: Iterable[str], *,
                        record_pipes: bool = False, python: str | None = None) -> list[str]:
    """dagster_materialize.py over ``module``: each selection (``a,b/c``) in its own run;
    ``airflow`` ({dag_id: [task_id, ...]}) is what its fake Airflow answers; ``python``: another
    Dagster venv's (the dbt one: dbt_venv.py)."""
    return [python or dagster_python(), str(MATERIALIZE), str(module), *(["--record-pipes"] if record_pipes else []),
            "--airflow", json.dumps(dict(airflow)), *(a for selection in selections for a in ("--asset", selection))]


def materialize(module: Path, airflow: Mapping[str, list[str]], selections: Iterable[str], *, cwd: Path,
                env: Mapping[str, str] | None = None, record_pipes: bool = False,
                python: str | None = None) -> dict:
    """dagster_materialize.py's answer, run in ``cwd`` (also its ``DAGSTER_HOME``); it must succeed."""
    result = subprocess.run(
        materialize_command(module, airflow, selections, record_pipes=record_pipes, python=python),
        capture_output=True, text=True, timeout=600, cwd=cwd, check=False,
        env={**os.environ, "DAGSTER_HOME": str(cwd), **(env or {})})
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


def runs_by_asset(answer: dict) -> dict[str, dict]:
    """dagster_materialize.py's runs by their ``--asset`` selection."""
    return {run["asset"]: run for run in answer["runs"]}


def airflow_tasks_test(dags_folder: Path, dag_id: str, task_ids: Iterable[str], *, home: Path, cwd: Path,
                       env: Mapping[str, str] | None = None) -> dict[str, str]:
    """Airflow 2.11 (``AIRFLOW_HOME`` = ``home``, migrated first) runs each task in turn; each must
    succeed. Its log (stdout then stderr) by task."""
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder), **(env or {})}
    airflow = [airflow2_python(), "-m", "airflow"]
    subprocess.run([*airflow, "db", "migrate"], env=env, cwd=cwd, check=True, capture_output=True, timeout=300)
    logs = {}
    for task_id in task_ids:
        result = subprocess.run([*airflow, "tasks", "test", dag_id, task_id], env=env, cwd=cwd,
                                capture_output=True, text=True, timeout=300, check=False)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        logs[task_id] = result.stdout + result.stderr
    return logs


def scaffolded_project(root: Path, dag_file: Path, module_file: Path, dag_id: str, task_ids: Iterable[str]) -> Path:
    """``root`` laid out as a user's project (``dags/`` with ``dag_file``, ``definitions.py`` from
    ``module_file``, the ``pyproject.toml`` naming the DAGs folder), each task scaffolded with the
    CLI as a user runs it; each must succeed."""
    (root / "dags").mkdir()
    shutil.copy(dag_file, root / "dags" / dag_file.name)
    (root / "definitions.py").write_text(module_file.read_text())
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    for task_id in task_ids:
        result = run_cli("scaffold", dag_id, task_id, cwd=root)
        assert result.returncode == 0, result.stderr
    return root
