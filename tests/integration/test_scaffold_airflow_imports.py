"""A scaffold never writes an asset that imports Airflow through the team's own modules (issue 16).

The asset imports what the task's function needs when it runs, in Dagster's process, where Airflow
is not installed. Found by corpus/scaffold_judge.py on real projects (elife-data-hub: every asset
it wrote failed with `No module named 'airflow'`, its config module importing a provider). The
fixture's three tasks, scaffolded with the CLI: `guarded` and `plain` are written and materialize
in real Dagster, writing what Airflow 2.11 writes (`airflow tasks test`); `tied` is refused in one
line, and Dagster's own Python shows the refusal is right: importing its module there fails."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.scaffold_runs import airflow_tasks_test, dagster_python, materialize, runs_by_asset

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "scaffold" / "airflow_imports"
WRITTEN = {"guarded": "imports_demo/guarded", "plain": "imports_demo/plain"}
AIRFLOW = {"imports_demo": ["guarded", "plain", "tied"]}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("airflow_imports")
    shutil.copytree(FIXTURE, root / "dags")
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    mapped = run_cli("map", "imports_demo", cwd=root)
    assert mapped.returncode == 0, mapped.stderr
    for task_id in WRITTEN:
        result = run_cli("scaffold", "imports_demo", task_id, cwd=root)
        assert result.returncode == 0, result.stderr
    return root


def test_the_task_whose_module_imports_airflow_is_refused_in_one_line(project):
    before = (project / "definitions.py").read_text()
    refused = run_cli("scaffold", "imports_demo", "tied", cwd=project)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert refused.stderr == (
        "airlift-lsp: task `tied` needs `helpers.tied`, which imports Airflow through `helpers.settings` "
        "(`airflow.models` on line 3 of `helpers/settings.py`): Dagster, without Airflow, cannot import it\n")
    assert (project / "definitions.py").read_text() == before


def test_dagsters_python_cannot_import_the_refused_tasks_module(project):
    """The refusal is what Dagster would meet; the written tasks' modules import there."""
    def imports(module: str) -> subprocess.CompletedProcess:
        return subprocess.run([dagster_python(), "-c", f"import {module}"], capture_output=True, text=True,
                              cwd=project, env={**os.environ, "PYTHONPATH": str(project / "dags")},
                              timeout=120, check=False)

    tied = imports("helpers.tied")
    assert tied.returncode == 1 and "No module named 'airflow'" in tied.stderr, tied.stderr
    for module in ("helpers.guarded", "helpers.plain"):
        result = imports(module)
        assert result.returncode == 0, result.stderr


def test_the_written_tasks_materialize_and_write_what_airflow_writes(project):
    (project / "dagster_out").mkdir()
    (project / "airflow_out").mkdir()
    runs = runs_by_asset(materialize(project / "definitions.py", AIRFLOW, WRITTEN.values(), cwd=project,
                                     env={"OUT_DIR": str(project / "dagster_out")}))
    for key in WRITTEN.values():
        assert runs[key]["success"], "\n".join(runs[key]["errors"])
    airflow_tasks_test(project / "dags", "imports_demo", WRITTEN, home=project / "airflow_home", cwd=project,
                       env={"OUT_DIR": str(project / "airflow_out")})
    for task_id in WRITTEN:
        written = (project / "dagster_out" / f"{task_id}.txt").read_bytes()
        assert written == (project / "airflow_out" / f"{task_id}.txt").read_bytes() == f"task={task_id}\n".encode()
