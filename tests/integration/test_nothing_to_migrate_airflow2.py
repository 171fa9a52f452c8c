"""Issue 16 against dagster-airlift's own loader in Airflow 2.11: after `proxy DAG`, the tasks with
nothing to migrate stay `proxied: false`, which airlift reads and skips, so they stay the
Airflow operators they were (where they do nothing) while the others become its proxy operator;
the DAG imports and keeps its edges."""

import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, airflow2_python, dagbag_of, run_cli

PROXY_OPERATOR = "DefaultProxyTaskToDagsterOperator"


@pytest.mark.airflow
def test_the_empty_tasks_stay_airflow_operators_while_the_others_are_proxied(tmp_path: Path) -> None:
    root = tmp_path / "warehouse"
    shutil.copytree(FIXTURES / "nothing_to_migrate", root)
    for step in (("map", "warehouse"), ("proxy", "warehouse")):
        result = run_cli(*step, cwd=root)
        assert result.returncode == 0, result.stderr
    bag = dagbag_of(airflow2_python(), root / "airflow_dags")
    assert bag["import_errors"] == {}
    assert bag["states"]["proxied_state"]["warehouse"]["tasks"] == {
        "count": True, "done": False, "extract": True, "latest_only": False, "load": True, "start": False,
        "mark_reports": False}
    dag = bag["dags"]["warehouse"]
    classes = dag["classes"]
    assert {task: classes[task] for task in ("extract", "count", "load")} == dict.fromkeys(
        ("extract", "count", "load"), PROXY_OPERATOR)
    assert classes["start"] == "EmptyOperator" and classes["latest_only"] == "LatestOnlyOperator"
    assert classes["mark_reports"] == "ExternalTaskMarker"
    assert classes["done"] in ("DummyOperator", "EmptyOperator")  # Airflow 2's DummyOperator is an alias
    assert dag["tasks"]["extract"] == ["latest_only"] and dag["tasks"]["done"] == ["load"]
    assert dag["tasks"]["mark_reports"] == ["done"]
