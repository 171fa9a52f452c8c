"""Airflow Variables in Jinja, scaffolded and run for real: the `configured` DAG of
tests/fixtures/scaffold/variables reads `{{ var.value.* }}` and `{{ var.json.* }}` in a
BashOperator's command and folder, a PythonOperator's `op_kwargs` (nested in a list, with CRLF and
a final newline) and a `@task`'s arguments. Each task, scaffolded with the CLI as a user runs it,
passes those arguments through the module's `_airflow_render`; the assets materialize in real
Dagster and Airflow 2.11 runs the same tasks (`airflow tasks test`), both given the Variables as
Airflow reads them from the environment (AIRFLOW_VAR_<KEY>): they must write the same files. A
task that also reads `{{ next_ds }}` is refused in one line; a Variable Dagster is not given fails the
asset with its name. `checked` fails with Airflow's exceptions, bound to the module's classes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.scaffold_runs import (
    airflow_tasks_test,
    materialize,
    materialize_command,
    runs_by_asset,
    scaffolded_project,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold" / "variables"
TASKS = {"greet": "greeting", "describe": "description", "record": "record", "settings": "settings",
         "checked": "checked", "kept": "kept"}
DAG_TASKS = {"configured": [*TASKS, "dated"]}
FILES = ("greeting.txt", "describe.txt", "record.json", "settings.json", "checked.txt", "kept.txt")


def variables(out_dir: Path) -> dict[str, str]:
    """The Variables, as Airflow reads them from the environment (and as the assets do)."""
    return {"AIRFLOW_VAR_GREETING": "hello", "AIRFLOW_VAR_BUCKET": "team-exports",
            "AIRFLOW_VAR_OUT_DIR": str(out_dir),
            "AIRFLOW_VAR_PLATFORM": json.dumps({"region": "eu-west1", "replicas": 3, "limits": {"cpu": 2}})}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return scaffolded_project(tmp_path_factory.mktemp("variables"), FIXTURES / "variables_dag.py", FIXTURES / "variables_module.py",
                              "configured", TASKS)


@pytest.fixture(scope="module")
def dagster_runs(project: Path) -> dict[str, dict]:
    (project / "dagster_out").mkdir()
    return runs_by_asset(materialize(project / "definitions.py", DAG_TASKS, TASKS.values(), cwd=project,
                                     env=variables(project / "dagster_out")))


@pytest.fixture(scope="module")
def airflow_runs(project: Path) -> dict[str, str]:
    (project / "airflow_out").mkdir()
    return airflow_tasks_test(project / "dags", "configured", TASKS, home=project / "airflow_home", cwd=project,
                              env=variables(project / "airflow_out"))


def test_the_module_renders_the_templated_arguments(project):
    module = (project / "definitions.py").read_text()
    assert module.count("def _airflow_render(value):") == 1  # once, for the three assets
    assert 'cwd=_airflow_render("{{ var.value.out_dir }}")' in module
    assert 'bucket=_airflow_render("gs://{{ var.value.bucket }}/exports")' in module
    assert "`platform` (AIRFLOW_VAR_PLATFORM)" in module
    assert module.count("class _AirflowVariable:") == 1
    assert "    Variable = _AirflowVariable\n" in module  # instead of Airflow's import
    assert "from airflow" not in module


def test_a_task_with_other_jinja_is_refused_in_one_line(project):
    refused = run_cli("scaffold", "configured", "dated", cwd=project)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "use Jinja ('echo {{ var.value.greeting }} on {{ next_ds }}" in refused.stderr
    assert "which only Airflow renders" in refused.stderr


@pytest.mark.parametrize("key", TASKS.values())
def test_a_task_reading_variables_materializes(key, dagster_runs):
    run = dagster_runs[key]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == [key]


def test_dagster_writes_what_airflow_writes(project, dagster_runs, airflow_runs):
    for name in FILES:
        written = (project / "dagster_out" / name).read_bytes()
        assert written == (project / "airflow_out" / name).read_bytes(), name
    assert (project / "dagster_out" / "greeting.txt").read_text() == "hello from eu-west1\n"
    assert json.loads((project / "dagster_out" / "settings.json").read_text()) == {
        "region": "eu-west1", "limits": {"cpu": 2}, "tier": "standard"}
    # Jinja's way: str() of JSON values, line ends made \n, the final newline dropped
    assert (project / "dagster_out" / "describe.txt").read_text() == (
        "'gs://team-exports/exports'\n['3', \"{'cpu': 2}\", 3]\n'first line\\nsecond line: hello'\n")
    # and so even with no Jinja in them
    assert (project / "dagster_out" / "kept.txt").read_text() == (
        "'no Jinja here'\n['one\\ntwo', ('three',), {'k': 'v'}, 4]\n")


def test_a_variable_dagster_is_not_given_fails_with_its_name(project, dagster_runs, tmp_path):
    """The comparison can fail, and a missing Variable says which: the run without AIRFLOW_VAR_BUCKET."""
    import os
    import subprocess

    env = {k: v for k, v in {**os.environ, **variables(tmp_path)}.items() if k != "AIRFLOW_VAR_BUCKET"}
    result = subprocess.run(materialize_command(project / "definitions.py", DAG_TASKS, ["description"]),
                            capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False,
                            env={**env, "DAGSTER_HOME": str(tmp_path)})
    [run] = json.loads(result.stdout)["runs"]
    assert not run["success"]
    assert "AIRFLOW_VAR_BUCKET is not set: give Airflow Variable 'bucket' there" in "\n".join(run["errors"])
    assert not (tmp_path / "describe.txt").exists()


def test_airflows_exceptions_fail_the_asset_as_they_fail_the_task(project, dagster_runs, tmp_path):
    """`checked` raises AirflowNotFoundException without the settings `settings` writes: the asset
    fails with its message, as the task does; caught as AirflowException, re-raised, it fails too."""
    import os
    import subprocess

    module = (project / "definitions.py").read_text()
    assert "    AirflowException = _AirflowException\n    AirflowNotFoundException = _AirflowNotFoundException\n" in module
    env = {**os.environ, **variables(tmp_path), "DAGSTER_HOME": str(tmp_path)}
    for settings, error in ((None, f"_AirflowNotFoundException: no settings at {tmp_path / 'settings.json'}"),
                            ('{"region": "eu"}', "_AirflowException: unchecked: the settings have no tier")):
        if settings is not None:
            (tmp_path / "settings.json").write_text(settings)
        result = subprocess.run(materialize_command(project / "definitions.py", DAG_TASKS, ["checked"]),
                                capture_output=True, text=True, timeout=600, cwd=tmp_path, check=False, env=env)
        [run] = json.loads(result.stdout)["runs"]
        assert not run["success"]
        assert error in "\n".join(run["errors"])
    assert not (tmp_path / "checked.txt").exists()
