"""Generated acceptance tests of tasks that read the Airflow run: the `partitioned` DAG of
tests/fixtures/scaffold/run_values (`{{ ds }}` and the data interval in templates, `ds` and
`run_id` from the task context, the DAG's params in a command and a callable), every task
scaffolded with the CLI, then "Generate acceptance test" for each. Run with pytest in the Dagster
venv as a user runs them: each runs once per run of its AIRFLOW_RUNS (a scheduled one, one
triggered by hand at another hour), which both sides are given (the Dagster module's
AirflowInstance answers it, the Dagster run is tagged as a proxied task tags it), and they pass;
changed to render other params, another `ts`, or the date of the wrong moment, they fail. No
Airflow runs: the generated tests never ask one."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.support.acceptance_runs import run_generated, with_acceptance_tests

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold" / "run_values"
TESTED = ["export", "describe", "stamp", "window", "tagged", "settings"]


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return with_acceptance_tests(tmp_path_factory.mktemp("acceptance_run_values"), FIXTURES / "run_values_dag.py",
                          FIXTURES / "run_values_module.py", "partitioned", TESTED, TESTED)


def outcomes(result: subprocess.CompletedProcess) -> dict[str, str]:
    """Each task's test, over its runs: FAILED or ERROR when one run did, else PASSED."""
    return {task_id: next((word for word in ("FAILED", "ERROR", "PASSED")
                           if f"{word} tests/test_acceptance_partitioned__{task_id}.py::" in result.stdout), "?")
            for task_id in TESTED}


@pytest.mark.slow
def test_the_generated_tests_pass_for_one_airflow_run(project):
    result = run_generated(project, project / "out")
    assert outcomes(result) == dict.fromkeys(TESTED, "PASSED"), result.stdout[-4000:] + result.stderr[-2000:]


@pytest.mark.slow
def test_they_fail_when_the_asset_renders_something_else(project, tmp_path):
    module = project / "definitions.py"
    original = module.read_text(encoding="utf-8")
    assert original.count('{{ params.region }}') == 1 and original.count('params=_airflow_run_values["params"]') == 1
    changed = original.replace("{{ params.region }}", "{{ params.team }}").replace(
        'params=_airflow_run_values["params"]', 'params={**_airflow_run_values["params"], "region": "us"}')
    try:
        module.write_text(changed, encoding="utf-8")
        result = run_generated(project, tmp_path / "out")
    finally:
        module.write_text(original, encoding="utf-8")
    assert outcomes(result) == {**dict.fromkeys(TESTED, "PASSED"), "tagged": "FAILED", "settings": "FAILED"}, \
        result.stdout[-4000:]


@pytest.mark.slow
def test_they_fail_when_the_dagster_side_reads_another_run(project, tmp_path):
    """The Dagster side reads the run through the module's AirflowInstance: an asset that ignored
    it (here, one whose helper writes `ts` otherwise) is caught."""
    module = project / "definitions.py"
    original = module.read_text(encoding="utf-8")
    marker = 'ts=logical.isoformat(), ts_nodash=logical.strftime("%Y%m%dT%H%M%S"))'
    assert original.count(marker) == 1
    changed = original.replace(marker, marker.replace("ts=logical.isoformat()", "ts=logical.isoformat() + 'x'"))
    try:
        module.write_text(changed, encoding="utf-8")
        result = run_generated(project, tmp_path / "out")
    finally:
        module.write_text(original, encoding="utf-8")
    found = outcomes(result)
    assert found["export"] == "FAILED" and found["window"] == "FAILED", result.stdout[-4000:]


@pytest.mark.slow
def test_they_fail_when_the_asset_reads_a_date_of_the_wrong_moment(project, tmp_path):
    """`ds` is the logical date's: the data interval's end gives the same day for a run triggered
    by hand, and the day after for a scheduled one, which the scheduled run of AIRFLOW_RUNS shows."""
    module = project / "definitions.py"
    original = module.read_text(encoding="utf-8")
    assert original.count("echo {{ ds }} ") == 1
    try:
        module.write_text(original.replace("echo {{ ds }} ", "echo {{ data_interval_end | ds }} "), encoding="utf-8")
        result = run_generated(project, tmp_path / "out")
    finally:
        module.write_text(original, encoding="utf-8")
    assert "FAILED tests/test_acceptance_partitioned__export.py::test_partitioned__export_does_what_the_airflow_" \
           "task_did[scheduled]" in result.stdout, result.stdout[-4000:]
    assert outcomes(result) == {**dict.fromkeys(TESTED, "PASSED"), "export": "FAILED"}, result.stdout[-4000:]
