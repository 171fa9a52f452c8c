"""Pipes scaffolds run for real: the virtualenv and external-Python tasks of
tests/fixtures/scaffold/pipes_dag.py, scaffolded into Dagster assets, materialize in Dagster
and report the return values the same tasks return when Airflow 2.11 runs them
(``airflow tasks test``).

The project is laid out in a temporary folder: the DAG in airflow_dags/ (its external Python
is an interpreter of this machine with no Dagster installed), the scaffolded Dagster module,
and wheels/ holding a wheel built here (``airlift-greeting``), which the ``@task.virtualenv``
task installs with ``--no-index --find-links wheels``: both sides really make a virtualenv and
pip install into it, with no network. Both run from the project folder, at the same time.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import os
import re
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import airflow_tasks_test, dagster_python, materialize_command, runs_by_asset

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
TASKS = {"summarize": "summary", "interpreter": "interpreter", "greet": "greeting,greeting/copy"}


def build_wheel(folder: Path) -> None:
    """airlift_greeting 1.0, a pure-Python wheel with ``hello(name)``."""
    files = {
        "airlift_greeting/__init__.py": b'def hello(name):\n    return f"Hello, {name}"\n',
        "airlift_greeting-1.0.dist-info/METADATA":
            b"Metadata-Version: 2.1\nName: airlift-greeting\nVersion: 1.0\n",
        "airlift_greeting-1.0.dist-info/WHEEL":
            b"Wheel-Version: 1.0\nGenerator: airlift-lsp-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
              f"{len(data)}" for name, data in files.items()]
    folder.mkdir()
    with zipfile.ZipFile(folder / "airlift_greeting-1.0-py3-none-any.whl", "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
        wheel.writestr("airlift_greeting-1.0.dist-info/RECORD",
                       "\n".join([*record, "airlift_greeting-1.0.dist-info/RECORD,,"]) + "\n")


def external_python() -> str:
    """A Python 3.10+ with no Dagster: /usr/bin/python3, else the Dagster venv's base one."""
    if Path("/usr/bin/python3").exists():
        return "/usr/bin/python3"
    return os.path.realpath(dagster_python())


def logged_value(text: str) -> object:
    """A value as Airflow logs it (``Returned value was: %s``: a string bare, others by repr;
    `airflow tasks test` keeps no XCom)."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pipes")
    (root / "airflow_dags").mkdir()
    dag = root / "airflow_dags" / "pipes_dag.py"
    dag.write_text((FIXTURES / "pipes_dag.py").read_text().replace("/usr/bin/python3", external_python()))
    build_wheel(root / "wheels")
    module = root / "definitions.py"
    module.write_text(scaffold_every_task(dag, "pipes", TASKS, (FIXTURES / "pipes_module.py").read_text(), module))
    return root


@pytest.fixture(scope="module")
def runs(project: Path) -> tuple[dict[str, dict], dict[str, object]]:
    """The Dagster runs by asset selection, and what Airflow's runs of the tasks returned."""
    dagster = subprocess.Popen(  # at the same time as Airflow's runs
        materialize_command(project / "definitions.py", {"pipes": list(TASKS)}, TASKS.values()),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=project,
        env={**os.environ, "DAGSTER_HOME": str(project)})
    logs = airflow_tasks_test(project / "airflow_dags", "pipes", TASKS, home=project / "airflow_home", cwd=project)
    returned = {}
    for task_id, log in logs.items():
        found = re.search(r"Returned value was: (.*)", log)
        assert found, f"Airflow's run of {task_id} logged no return value"
        returned[task_id] = logged_value(found.group(1))
    out, err = dagster.communicate(timeout=600)
    assert dagster.returncode == 0, err[-4000:]
    return runs_by_asset(json.loads(out)), returned


@pytest.mark.parametrize("task_id", list(TASKS))
def test_a_pipes_asset_materializes_and_reports_what_airflow_returned(task_id, runs):
    dagster, airflow = runs
    run = dagster[TASKS[task_id]]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == sorted(TASKS[task_id].split(","))
    for key in run["materialized"]:
        assert run["metadata"][key]["return_value"] == airflow[task_id]


def test_the_values_are_the_functions_own(runs):
    _, airflow = runs
    assert airflow["summarize"] == {"label": "n", "sum": 6, "mean": 2}
    assert airflow["greet"] == "Hello, Dagster!"  # from the wheel, installed in the venv only
    assert airflow["interpreter"].startswith(f"external: {external_python()} 3.")


def test_the_external_python_has_no_dagster_pipes_of_its_own():
    # so the scaffolded run imported the copy written beside its script
    result = subprocess.run([external_python(), "-c", "import dagster_pipes"], capture_output=True,
                            check=False)
    assert result.returncode != 0


def test_the_scripts_and_venvs_are_gone_after_the_runs(project, runs):
    assert not list(project.glob("**/airflow_task.py"))
    assert not list(project.glob("**/pyvenv.cfg"))
