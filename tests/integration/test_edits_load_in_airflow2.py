"""Every file the migration steps write loads in the real tools: the DAG files in Airflow 2's
DagBag with dagster-airlift installed (proxied tasks replaced by airlift's operator), the
state files through airlift's own loader."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import TUTORIAL, airflow2_python, dagbag_of, run_cli

PROXY_OPERATOR = "DefaultProxyTaskToDagsterOperator"
DAG_PROXY_OPERATOR = "DefaultProxyDAGToDagsterOperator"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    return root


def cli(project: Path, *args: str) -> None:
    result = run_cli(*args, cwd=project)
    assert result.returncode == 0, result.stderr


def loaded(project: Path) -> dict:
    bag = dagbag_of(airflow2_python(), project / "airflow_dags")
    assert bag["import_errors"] == {}
    for folder, states in bag["states"].items():
        assert "error" not in states, (folder, states)
    return bag


@pytest.mark.airflow
@pytest.mark.slow
def test_each_step_loads_in_airflow_with_the_proxied_tasks_replaced(project: Path) -> None:
    start = loaded(project)
    assert set(start["dags"]["rebuild_customers_list"]["classes"].values()) == {"PythonOperator", "BashOperator"}

    cli(project, "map", "rebuild_customers_list", "export_customers")
    cli(project, "proxy", "rebuild_customers_list", "load_raw_customers")
    bag = loaded(project)
    classes = bag["dags"]["rebuild_customers_list"]["classes"]
    assert classes == {"load_raw_customers": PROXY_OPERATOR, "build_dbt_models": "BashOperator",
                       "export_customers": "PythonOperator"}
    assert bag["dags"]["rebuild_customers_list"]["tasks"]["build_dbt_models"] == ["load_raw_customers"]
    assert bag["states"]["proxied_state"]["rebuild_customers_list"]["tasks"]["load_raw_customers"] is True

    cli(project, "proxy", "rebuild_customers_list")
    classes = loaded(project)["dags"]["rebuild_customers_list"]["classes"]
    assert set(classes.values()) == {PROXY_OPERATOR}

    cli(project, "rollback", "--all")
    classes = loaded(project)["dags"]["rebuild_customers_list"]["classes"]
    assert PROXY_OPERATOR not in classes.values()


@pytest.mark.airflow
@pytest.mark.slow
def test_enabling_proxying_on_a_taskflow_dag_keeps_it_loading(project: Path) -> None:
    cli(project, "map", "daily_orders", "notify_team")
    cli(project, "proxy", "daily_orders", "notify_team")  # `extract_orders`: its reader is in a TaskGroup
    source = (project / "airflow_dags" / "daily_orders.py").read_text()
    assert source.count("proxying_to_dagster(") == 1
    bag = loaded(project)
    classes = bag["dags"]["daily_orders"]["classes"]
    assert classes["notify_team"] == PROXY_OPERATOR
    assert bag["dags"]["daily_orders"]["tasks"]["transform.clean_orders"] == ["extract_orders"]
    assert bag["dags"]["daily_orders"]["tasks"]["notify_team"] == ["publish_report"]
    assert sum(c == PROXY_OPERATOR for c in classes.values()) == 1
