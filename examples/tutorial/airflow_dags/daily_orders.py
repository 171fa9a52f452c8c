"""Daily orders report, written with the TaskFlow API.

extract_orders -> transform.clean_orders -> transform.summarize_orders
    -> publish_report -> notify_team
"""

from datetime import datetime

try:  # Airflow 3
    from airflow.sdk import dag, task, task_group
except ImportError:  # Airflow 2
    from airflow.decorators import dag, task, task_group

from tutorial_shared import data_dir, orders


@dag(
    dag_id="daily_orders",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["tutorial"],
)
def daily_orders():
    # Paths travel between tasks as XCom values (each task returns the file it wrote).

    @task
    def extract_orders() -> str:
        target = data_dir() / "orders_raw.csv"
        orders.extract_orders(orders.RAW_ORDERS_CSV, target)
        return str(target)

    @task_group(group_id="transform")
    def transform(raw_path):
        @task
        def clean_orders(path: str) -> str:
            target = data_dir() / "orders_clean.csv"
            orders.clean_orders(path, target)
            return str(target)

        @task
        def summarize_orders(path: str) -> str:
            target = data_dir() / "orders_daily_summary.csv"
            orders.summarize_orders(path, target)
            return str(target)

        return summarize_orders(clean_orders(raw_path))

    @task.bash
    def publish_report(summary_path: str) -> str:
        return orders.publish_command(summary_path, data_dir() / "reports")

    @task
    def notify(message: str) -> None:
        print(message)

    report = publish_report(transform(extract_orders()))
    notification = notify.override(task_id="notify_team")("The daily orders report is published.")
    report >> notification


daily_orders()
