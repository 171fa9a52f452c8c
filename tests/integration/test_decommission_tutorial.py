"""Decommission on the tutorial, with the CLI as a user runs it and judged by the real tools.

A copy of examples/tutorial gets a schedule and retries on `rebuild_customers_list`; every task
is mapped, given its Dagster implementation (scaffold) and proxied; then the DAG is
decommissioned. The Dagster module must load in Dagster 1.13 + dagster-airlift 0.29 (the
Airflow it peers with answers from airlift's own fake, listing the DAGs that remain) with the
job over the DAG's assets, its retries and a schedule on the DAG's cron; the DAG folder must
still load in Airflow 2.11's DagBag with dagster-airlift's in-Airflow side, without an import
or serialization error.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from analysis.plans import plan_decommission
from tests.conftest import TUTORIAL, airflow2_python, dagbag_of, run_cli
from tests.integration.test_generated_dagster_loads import load, tutorial_airflow
from tests.unit.test_decommission import dag_level_module, orders_dag, project, read

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAG = "rebuild_customers_list"
TASKS = ("load_raw_customers", "build_dbt_models", "export_customers")
ASSETS = [["customers"], ["raw_data", "raw_customers"], [DAG, "export_customers"]]
# Nothing listens on the discard port: the CLI finds Airflow unreachable at once (and says the
# last runs were not checked) whatever runs on the machine's 8080.
ENV = {**os.environ, "AIRFLOW_URL": "http://127.0.0.1:9"}


def migrated_tutorial(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    dag_file = root / "airflow_dags" / f"{DAG}.py"
    text = dag_file.read_text(encoding="utf-8")
    assert text.count("    schedule=None,\n") == 1
    dag_file.write_text(text.replace("    schedule=None,\n",
                                     '    schedule="@daily",\n    default_args={"retries": 2},\n'), encoding="utf-8")
    steps = [("map", DAG), *(("scaffold", DAG, task) for task in TASKS), ("proxy", DAG)]
    for step in steps:
        result = run_cli(*step, cwd=root, env=ENV)
        assert result.returncode == 0, (step, result.stderr)
    refused = run_cli("decommission", "daily_orders", cwd=root, env=ENV)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "still runs in Airflow" in refused.stderr
    return root


def test_decommissioned_dag_runs_on_a_dagster_schedule_and_leaves_airflow(tmp_path: Path) -> None:
    root = migrated_tutorial(tmp_path)
    result = run_cli("decommission", DAG, cwd=root, env=ENV)
    assert result.returncode == 0, result.stderr
    assert "last runs were not checked" in result.stderr
    assert not (root / "airflow_dags" / f"{DAG}.py").exists()
    assert not (root / "airflow_dags" / "proxied_state" / f"{DAG}.yaml").exists()

    remaining = {dag: tasks for dag, tasks in tutorial_airflow().items() if dag != DAG}
    loaded = load(tmp_path, (root / "tutorial_dagster" / "definitions.py").read_text(encoding="utf-8"), remaining)
    jobs = {job["name"]: job for job in loaded["jobs"]}
    assert jobs[f"{DAG}_job"]["assets"] == ASSETS and jobs[f"{DAG}_job"]["retries"] == 2
    assert [(s["job"], s["cron"]) for s in loaded["schedules"]] == [(f"{DAG}_job", "0 0 * * *")]
    # The assets stay, no longer tied to an Airflow task.
    kept = {tuple(a["key"]): a["airlift"] for a in loaded["assets"]}
    assert all(tuple(key) in kept and "dagster-airlift/task-mapping" not in kept[tuple(key)] for key in ASSETS)

    bag = dagbag_of(airflow2_python(), root / "airflow_dags")
    assert bag["import_errors"] == {} and bag["serialization_errors"] == {}
    assert set(bag["dags"]) == {"daily_orders"}

    again = run_cli("decommission", DAG, cwd=root, env=ENV)
    assert again.returncode == 1 and f"no DAG `{DAG}`" in again.stderr


def test_paused_instead_of_removed_the_dag_still_loads_in_airflow(tmp_path: Path) -> None:
    root = migrated_tutorial(tmp_path)
    result = run_cli("decommission", DAG, "--pause", cwd=root, env=ENV)
    assert result.returncode == 0, result.stderr
    assert "airflow dags pause" in result.stderr
    text = (root / "airflow_dags" / f"{DAG}.py").read_text(encoding="utf-8")
    assert "    is_paused_upon_creation=True,\n) as dag:" in text and "# Decommissioned:" in text

    bag = dagbag_of(airflow2_python(), root / "airflow_dags")
    assert bag["import_errors"] == {} and bag["serialization_errors"] == {}
    # No state file: airlift leaves every task to Airflow, where the DAG stays paused.
    assert bag["dags"][DAG]["classes"] == {"build_dbt_models": "BashOperator",
                                           "export_customers": "PythonOperator",
                                           "load_raw_customers": "PythonOperator"}


@pytest.mark.parametrize("level", ["task", "dag"])
def test_decommissioned_modules_of_both_levels_load_in_dagster(tmp_path: Path, level: str) -> None:
    """The unit tests' module, other DAGs' mappings kept: Dagster builds the job and the schedule,
    still ties the other DAGs' assets to Airflow, and no longer the decommissioned DAG's."""
    # At DAG level, the DAG runs on a timetable in its own time zone.
    overrides = {"dags/proxied_state/orders.yaml": "proxied: true\n", "definitions.py": dag_level_module("other2"),
                 "dags/orders.py": orders_dag('CronTriggerTimetable("0 * * * *", timezone="Europe/Paris")')
                 } if level == "dag" else {}
    plan = plan_decommission(project(tmp_path / "ws", overrides), read, "orders")
    text = next(c.new_text for c in plan.changes if c.path.endswith("definitions.py"))
    loaded = load(tmp_path, text, {"other": ["t"], "other2": ["u"]})
    assert [(j["name"], j["assets"], j["retries"]) for j in loaded["jobs"]] == [
        ("orders_job", [["orders"], ["raw", "orders"]], None)]
    assert [(s["job"], s["cron"], s["timezone"]) for s in loaded["schedules"]] == [
        ("orders_job", "0 * * * *", "Europe/Paris" if level == "dag" else None)]
    mapped = {tuple(a["key"]) for a in loaded["assets"]
              if any(k.startswith("dagster-airlift/") and k.endswith("-mapping") for k in a["airlift"])}
    assert ("other",) in mapped and ("x" in {key[0] for key in mapped}) == (level == "dag")
    assert not mapped & {("orders",), ("raw", "orders")}  # plain assets now, tied to no Airflow task
