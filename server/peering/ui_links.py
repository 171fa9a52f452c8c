"""Links into the Airflow UI for a DAG, a run or a task instance (hover, status): the UI's
routes differ between Airflow 3's React UI and Airflow 2's grid view, the REST API's do not.
And the Dagster UI's page of a run (hover, the migration report)."""

from __future__ import annotations

from urllib.parse import quote, urlencode


def ui_url(base_url: str, api_version: str | None, dag_id: str, task_id: str | None = None,
           run_id: str | None = None, map_index: int = -1) -> str:
    """A link into the Airflow UI. Airflow 3 (React UI): ``/dags/<dag>/runs/<run>/tasks/<task>``;
    Airflow 2: the grid view with ``dag_run_id`` and ``task_id`` selected."""
    base = base_url.rstrip("/")
    dag = quote(dag_id, safe="")
    if api_version == "v1":
        query = {key: value for key, value in (("dag_run_id", run_id), ("task_id", task_id)) if value}
        if map_index >= 0 and task_id:
            query["map_index"] = str(map_index)
        return f"{base}/dags/{dag}/grid" + (f"?{urlencode(query)}" if query else "")
    url = f"{base}/dags/{dag}"
    if run_id:
        url += f"/runs/{quote(run_id, safe='')}"
        if task_id:
            url += f"/tasks/{quote(task_id, safe='')}"
            if map_index >= 0:
                url += f"/mapped/{map_index}"
    elif task_id:
        url += f"/tasks/{quote(task_id, safe='')}"
    return url


def dagster_run_url(base_url: str, run_id: str) -> str:
    """The Dagster UI's page of a run: ``<dagster.url>/runs/<run_id>`` (Dagster+: the URL holds
    the deployment already)."""
    return f"{base_url.rstrip('/')}/runs/{quote(run_id, safe='')}"
