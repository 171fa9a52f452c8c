"""Generated acceptance tests of tasks whose copied code reads Airflow Variables (in templates and
with ``Variable.get``), raises Airflow's exceptions and renders strings without Jinja: the
`configured` DAG of tests/fixtures/scaffold/variables, every task scaffolded with the CLI, then
"Generate acceptance test" for three of them. Run with pytest in the Dagster venv as a user runs
them: each test carries the scaffold's helpers its copied code calls (the renderer, the Variable
and exception classes), gives each side its own folder for a Variable that names one
(``AIRFLOW_VAR_OUT_DIR``), and passes; changed to write something else, the asset fails it.
No Airflow runs: the generated tests never ask one."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.acceptance_runs import run_generated, with_acceptance_tests

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold" / "variables"
SCAFFOLDED = ["greet", "describe", "record", "settings", "checked", "kept"]
TESTED = ["kept", "describe", "settings"]
VARIABLES = {"AIRFLOW_VAR_GREETING": "hello", "AIRFLOW_VAR_BUCKET": "team-exports",
             "AIRFLOW_VAR_PLATFORM": json.dumps({"region": "eu-west1", "replicas": 3, "limits": {"cpu": 2}})}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return with_acceptance_tests(tmp_path_factory.mktemp("acceptance_variables"), FIXTURES / "variables_dag.py",
                          FIXTURES / "variables_module.py", "configured", SCAFFOLDED, TESTED)


def run_pytest(root: Path, out: Path) -> subprocess.CompletedProcess:
    return run_generated(root, out, VARIABLES)


@pytest.mark.slow
def test_the_generated_tests_pass(project):
    result = run_pytest(project, project / "out")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    for task_id in TESTED:
        assert f"PASSED tests/test_acceptance_configured__{task_id}.py::" in result.stdout, result.stdout[-3000:]


@pytest.mark.slow
def test_they_fail_when_the_asset_writes_something_else(project, tmp_path):
    module = project / "definitions.py"
    original = module.read_text(encoding="utf-8")
    assert original.count('"no Jinja here\\n"') == 1
    try:
        module.write_text(original.replace('"no Jinja here\\n"', '"no Jinja here!\\n"'), encoding="utf-8")
        result = run_pytest(project, tmp_path / "out")
    finally:
        module.write_text(original, encoding="utf-8")
    assert "FAILED tests/test_acceptance_configured__kept.py::" in result.stdout, result.stdout[-3000:]
    assert "PASSED tests/test_acceptance_configured__settings.py::" in result.stdout, result.stdout[-3000:]
