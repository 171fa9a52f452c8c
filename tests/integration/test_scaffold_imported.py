"""A ``@task`` that DAG files import from a shared module of the project
(tests/fixtures/scaffold_imported/dags/shared/files.py, called by imported_dag.py), scaffolded with
the CLI as a user runs it: the function is copied from the module that defines it, with what it
needs there, and the asset materializes in real Dagster writing what Airflow 2.11's own run of the
task writes (``airflow tasks test``). A call that passes another task's output is refused in one
line."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.files import read_disk
from analysis.plans.acceptance import plan_acceptance_test
from analysis.project import Layout, discover
from tests.conftest import FIXTURES, run_cli
from tests.support.scaffold_runs import airflow_tasks_test, dagster_python, materialize, runs_by_asset

FIXTURE = FIXTURES / "scaffold_imported"
MODULE = (FIXTURE / "imported_module.py").read_text()  # the Dagster module, mapping to AssetSpecs only
TASKS = ["write_settings", "count", "again", "count_output"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("imported")
    shutil.copytree(FIXTURE / "dags", root / "dags")
    (root / "definitions.py").write_text(MODULE)
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')  # on sys.path, as Airflow puts it
    for task_id in ("write_settings", "count"):
        result = run_cli("scaffold", "imported", task_id, cwd=root)
        assert result.returncode == 0, result.stderr
    return root


def test_the_shared_function_is_copied_from_its_module(project: Path) -> None:
    text = (project / "definitions.py").read_text()
    assert "Scaffolded by airlift-lsp from dags/shared/files.py (@task function)" in text
    assert "def _write(name: str, payload) -> str:" in text and "def write_settings(names, prefix=\"app\", **context):" in text
    assert "write_settings(('host', 'port'), prefix='db')" in text  # the DAG file's values, written out
    assert "from shared" not in text and "airflow" not in text.split("defs = ")[0].split("imported_assets")[1]


def test_a_call_given_another_tasks_output_is_refused(project: Path) -> None:
    result = run_cli("scaffold", "imported", "count_output", cwd=project)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].endswith(
        "the function of task `count_output` is `count_words` of `shared.files`, copied from there, and its call "
        "passes `write_settings.override(task_id='again')(['x'])`, which is not a literal or a constant of the DAG "
        "file: the copy cannot be given the same value; port it by hand")


@pytest.mark.airflow
def test_dagster_writes_what_airflow_writes(project: Path, tmp_path: Path) -> None:
    dagster_out, airflow_out = tmp_path / "dagster", tmp_path / "airflow"
    runs = runs_by_asset(materialize(project / "definitions.py", {"imported": TASKS}, ["db_settings", "word_count"],
                                     cwd=project, env={"SHARED_DIR": str(dagster_out)}))
    for key in ("db_settings", "word_count"):
        assert runs[key]["success"], "\n".join(runs[key]["errors"])
        assert runs[key]["materialized"] == [key]
    logs = airflow_tasks_test(project / "dags", "imported", ["write_settings", "count"], home=tmp_path / "home",
                              cwd=project, env={"SHARED_DIR": str(airflow_out)})
    assert "Returned value was: 3" in logs["count"]
    written = sorted(p.name for p in dagster_out.iterdir())
    assert written == sorted(p.name for p in airflow_out.iterdir()) == ["db_settings.json"]
    assert (dagster_out / "db_settings.json").read_text() == (airflow_out / "db_settings.json").read_text()


def test_its_generated_acceptance_test_passes(project: Path, tmp_path: Path) -> None:
    """The acceptance test copies the task's code from the shared module too, and passes."""
    copy = tmp_path / "project"
    shutil.copytree(project, copy)
    [change] = plan_acceptance_test(discover(Layout(str(copy), ("dags",), "definitions.py")),
                                    lambda path: read_disk(path).text, "imported", "write_settings").changes
    Path(change.path).parent.mkdir(exist_ok=True)
    Path(change.path).write_text(change.new_text, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "SHARED_DIR")}
    result = subprocess.run([dagster_python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "tests"],
                            cwd=copy, capture_output=True, text=True, timeout=600, check=False,
                            env={**env, "DAGSTER_HOME": str(copy)})
    assert result.returncode == 0 and "PASSED" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]
