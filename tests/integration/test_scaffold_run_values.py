"""The Airflow run's values in templates, scaffolded and run for real: the `partitioned` DAG of
tests/fixtures/scaffold/run_values reads `{{ ds }}`, `{{ ts_nodash }}`, `{{ run_id }}`, its data
interval through `strftime`, Airflow's filters and pendulum's methods, in a BashOperator's command
and folder, a PythonOperator's `op_kwargs` (with CRLF and a final newline) and a `@task`'s
arguments; and callables that take the run's strings from Airflow's task context (by parameter,
and by key through `**context`); the DAG's params, in a command and a callable's `params`, with a
run triggered with a conf that overrides them. Each task is scaffolded with the CLI as a user runs it.

A real Airflow 2.11 holds two runs of the DAG, made through its REST API as a user or the
scheduler makes them: one at midnight (its data interval, inferred by the `@daily` timetable, is
the day before) and one at 13:45:30.123456. For each run, Airflow runs the tasks
(`airflow tasks test DAG TASK RUN_ID`), and Dagster materializes the assets in a run tagged as
dagster-airlift's proxy operator tags it (the DAG's id, the run's id), the module's own
AirflowInstance pointed at that Airflow: they must write the same files. A Dagster run no Airflow
run launched fails the asset with why; a task reading `{{ next_ds }}` is refused in one line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.airflow2_server import Airflow2Server
from tests.support.airflow_server import time_limit
from tests.support.scaffold_runs import MATERIALIZE_LIVE, dagster_python, scaffolded_project

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold" / "run_values"
TASKS = {"export": "export", "describe": "description", "record": "record", "stamp": "stamp", "window": "window",
         "tagged": "tagged", "settings": "settings"}
RUNS = {"midnight": "2024-03-05T00:00:00+00:00", "afternoon": "2024-03-07T13:45:30.123456+00:00"}
CONF = {"afternoon": {"region": "us", "added": 1}}
"""What a user triggers a run with: it overrides the DAG's params, as `dag_run_conf_overrides_params` says."""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return scaffolded_project(tmp_path_factory.mktemp("run_values"), FIXTURES / "run_values_dag.py",
                              FIXTURES / "run_values_module.py", "partitioned", TASKS)


@pytest.fixture(scope="module")
def airflow2(project):
    server = Airflow2Server(project / "dags")
    try:
        with time_limit(300, "starting Airflow 2"):
            server.start()
        server.wait_for_task_classes("partitioned", {"export": "BashOperator", "describe": "PythonOperator",
                                                     "record": "_PythonDecoratedOperator", "ahead": "BashOperator",
                                                     "stamp": "PythonOperator", "window": "_PythonDecoratedOperator",
                                                     "pull": "PythonOperator", "tagged": "BashOperator",
                                                     "settings": "PythonOperator"},
                                     timeout=120)
        for run_id, logical_date in RUNS.items():  # the DAG stays paused: nothing runs them but the tests
            response = server.api("POST", "/dags/partitioned/dagRuns",
                                  json={"dag_run_id": run_id, "logical_date": logical_date,
                                        "conf": CONF.get(run_id, {})})
            assert response.status_code == 200, response.text
        yield server
    finally:
        server.stop()


def materialize(project: Path, airflow2: Airflow2Server, out: Path, tags: dict[str, str]) -> dict:
    module = project / "definitions.py"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSTER"))}
    result = subprocess.run([dagster_python(), "-c", MATERIALIZE_LIVE, str(module), json.dumps(tags), *TASKS.values()],
                            capture_output=True, text=True, timeout=600, cwd=out, check=False,
                            env={**env, "DAGSTER_HOME": str(out), "AIRFLOW_VAR_OUT_DIR": str(out)})
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def outputs(project, airflow2) -> dict[str, tuple[Path, Path]]:
    module = project / "definitions.py"
    module.write_text(module.read_text().replace("http://localhost:8080", airflow2.url))
    found = {}
    for run_id in RUNS:
        airflow_out, dagster_out = project / "airflow_out" / run_id, project / "dagster_out" / run_id
        airflow_out.mkdir(parents=True)
        dagster_out.mkdir(parents=True)
        for task_id in TASKS:
            result = subprocess.run([airflow2.python, "-m", "airflow", "tasks", "test", "partitioned", task_id, run_id],
                                    env={**airflow2.environment(), "AIRFLOW_VAR_OUT_DIR": str(airflow_out)},
                                    cwd=airflow_out, capture_output=True, text=True, timeout=300, check=False)
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        runs = materialize(project, airflow2, dagster_out, {"dagster-airlift/airflow-dag-id": "partitioned",
                                                            "dagster-airlift/airflow-dag-run-id": run_id})
        for key, run in runs.items():
            assert run["success"], f"{run_id} {key}: " + "\n".join(run["errors"])
        found[run_id] = (airflow_out, dagster_out)
    return found


@pytest.mark.airflow
@pytest.mark.slow
def test_dagster_renders_what_airflow_renders_for_each_run(outputs):
    for run_id, (airflow_out, dagster_out) in outputs.items():
        written = sorted(p.name for p in airflow_out.iterdir() if p.suffix in (".txt", ".json"))
        assert written == sorted(p.name for p in dagster_out.iterdir() if p.suffix in (".txt", ".json")), run_id
        assert len(written) == 7, written
        for name in written:
            assert (dagster_out / name).read_bytes() == (airflow_out / name).read_bytes(), (run_id, name)
    midnight, _ = outputs["midnight"]
    assert (midnight / "export_20240305.txt").read_text() == (
        "2024-03-05 20240305 2024-03-05T00:00:00+00:00 20240305T000000 midnight midnight\n")
    # the @daily timetable infers the day before as the data interval of a run at midnight
    assert "'2024/03/04 00:00'" in (midnight / "describe_2024-03-05.txt").read_text()
    # moved by `macros.timedelta` first: the day before the interval's start, two hours earlier
    assert "'2024030222'" in (midnight / "describe_2024-03-05.txt").read_text()
    # Airflow's date macros on ds: three days before, forty after (across a month), reformatted
    assert "'2024-03-02|2024-04-14', '03052024'" in (midnight / "describe_2024-03-05.txt").read_text()
    assert (midnight / "stamp.txt").read_text() == \
        "'2024-03-05' 'midnight' '20240305T000000' '20240305' 'daily' 'absent'\n"
    # the DAG's params, its default_args' and the task's own; the run's conf overrides them
    assert (midnight / "params_20240305.txt").read_text() == "eu 5 {on: [1, None]} data task\n"  # bash took the quotes
    assert json.loads((midnight / "settings.json").read_text()) == {
        "flags": {"on": [1, None]}, "limit": 5, "region": "eu", "team": "data"}
    afternoon, _ = outputs["afternoon"]
    assert (afternoon / "params_20240307.txt").read_text() == "us 5 {on: [1, None]} data task\n"
    assert json.loads((afternoon / "settings.json").read_text())["added"] == 1
    assert "2024-03-07T13:45:30.123456+00:00" in (afternoon / "export_20240307.txt").read_text()
    assert json.loads((afternoon / "window.json").read_text()) == {
        "ts_nodash": "20240307T134530", "ts": "2024-03-07T13:45:30.123456+00:00", "day": "2024-03-07"}


@pytest.mark.airflow
@pytest.mark.slow
def test_a_dagster_run_no_airflow_run_launched_fails_with_why(project, airflow2, outputs, tmp_path):
    runs = materialize(project, airflow2, tmp_path, {})
    assert not any(run["success"] for run in runs.values())
    for run in runs.values():
        assert "no Airflow run launched this one: materialize it through its proxied task" in "\n".join(run["errors"])
    assert not list(tmp_path.glob("*.txt"))


def test_a_task_reading_what_only_airflow_renders_is_refused_in_one_line(project):
    refused = run_cli("scaffold", "partitioned", "ahead", cwd=project)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "use Jinja ('echo {{ next_ds }}'), which only Airflow renders" in refused.stderr


def test_a_callable_reading_the_task_instance_from_the_context_is_refused_in_one_line(project):
    refused = run_cli("scaffold", "partitioned", "pull", cwd=project)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "reads `ti` of the Airflow task context (through `**context`), which Dagster does not have" in refused.stderr


def test_a_module_without_an_airflow_instance_is_refused_with_why(tmp_path):
    (tmp_path / "dags").mkdir()
    shutil.copy(FIXTURES / "run_values_dag.py", tmp_path / "dags")
    module = (FIXTURES / "run_values_module.py").read_text()
    start = module.index("airflow_instance = AirflowInstance(")
    end = module.index("\n)\n", start) + 3
    (tmp_path / "definitions.py").write_text(module[:start] + "airflow_instance = None\n" + module[end:])
    (tmp_path / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    refused = run_cli("scaffold", "partitioned", "export", cwd=tmp_path)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1, refused.stderr
    assert "does not bind one AirflowInstance" in refused.stderr
    assert "the Airflow run's values its templates or its code use" in refused.stderr
