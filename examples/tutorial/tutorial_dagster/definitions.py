"""Dagster side of the tutorial, at the observe stage.

Peers with the Airflow instance (every DAG becomes an asset) and maps two tasks of
rebuild_customers_list to the assets they produce, so Airflow runs materialize them in Dagster.
"""

import os

from dagster import AssetSpec, Definitions
from dagster_airlift.core import (
    AirflowBasicAuthBackend,
    AirflowInstance,
    assets_with_task_mappings,
    build_defs_from_airflow_instance,
)

airflow_instance = AirflowInstance(
    auth_backend=AirflowBasicAuthBackend(
        webserver_url=os.environ.get("AIRFLOW_URL", "http://localhost:8080"),
        username=os.environ.get("AIRFLOW_USERNAME", "admin"),
        password=os.environ.get("AIRFLOW_PASSWORD", "admin"),
    ),
    name="tutorial",
)

defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(
        assets=[
            *assets_with_task_mappings(
                dag_id="rebuild_customers_list",
                task_mappings={
                    "load_raw_customers": [AssetSpec(key=["raw_data", "raw_customers"])],
                    "build_dbt_models": [
                        AssetSpec(key="customers", deps=[["raw_data", "raw_customers"]])
                    ],
                },
            ),
        ]
    ),
)
