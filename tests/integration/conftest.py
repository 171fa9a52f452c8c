"""One real Airflow 3.3.2 for every integration module that needs it (started on first use)."""

import pytest

from tests.conftest import FIXTURES
from tests.support.airflow_server import airflow_fixture

DAG_IDS = ["daily_orders", "failing_dag", "rebuild_customers_list"]

airflow_server = airflow_fixture(FIXTURES / "airflow_dags", unpause=DAG_IDS)


@pytest.fixture(scope="session")
def finished_runs(airflow_server) -> dict[str, str]:
    """One finished run per DAG, triggered through the REST API: {dag_id: run_id}."""
    runs = {dag_id: airflow_server.trigger(dag_id) for dag_id in DAG_IDS}
    states = airflow_server.wait_for_runs(runs.items(), timeout=180)
    assert states[("failing_dag", runs["failing_dag"])] == "failed", states
    assert states[("daily_orders", runs["daily_orders"])] == "success", states
    return runs
