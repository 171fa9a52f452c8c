"""Rebuild the customers list: load the raw customers, build the models, export a CSV.

The DAG that the tutorial migrates to Dagster task by task (see ../README.md).
"""

import os
import shlex
import sys
from datetime import datetime

from airflow import DAG

try:  # Airflow 3: core operators live in the standard provider
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator
    from airflow.operators.python import PythonOperator

from tutorial_shared import customers, data_dir, export

DAGS_FOLDER = os.path.dirname(os.path.abspath(__file__))
DATA_DIR = data_dir()

with DAG(
    dag_id="rebuild_customers_list",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["tutorial"],
) as dag:
    load_raw_customers = PythonOperator(
        task_id="load_raw_customers",
        python_callable=customers.load_raw_customers,
        op_kwargs={
            "source": str(customers.RAW_CUSTOMERS_CSV),
            "target": str(DATA_DIR / "raw_customers.csv"),
        },
    )
    # Stands in for `dbt build`. It runs with the interpreter that parsed this file, from the
    # DAGs folder, so `tutorial_shared` is importable without installing anything.
    run_dbt_model = BashOperator(
        task_id="build_dbt_models",
        bash_command=(
            f"{shlex.quote(sys.executable)} -m tutorial_shared.build_models"
            f" --data-dir {shlex.quote(str(DATA_DIR))}"
        ),
        cwd=DAGS_FOLDER,
    )
    export_customers = PythonOperator(
        task_id="export_customers",
        python_callable=export.export_customers,
        op_args=[str(DATA_DIR / "customers.csv"), str(DATA_DIR / "customers_export.csv")],
    )

    load_raw_customers >> run_dbt_model >> export_customers

# Set PROXYING = True to hand proxied tasks to Dagster (see proxied_state/).
PROXYING = False
if PROXYING:
    from pathlib import Path

    from dagster_airlift.in_airflow import proxying_to_dagster
    from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml

    proxying_to_dagster(
        global_vars=globals(),
        proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"),
    )
