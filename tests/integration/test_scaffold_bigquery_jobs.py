"""BigQuery query-job scaffolds load and run in real Dagster with dagster-gcp (``make dagster``),
and start the query job the Google provider starts for the BigQueryInsertJobOperator tasks of
tests/fixtures/scaffold/bigquery_jobs_dag.py.

No BigQuery here: google-cloud-bigquery's requests go to tests/support/fake_google.py (a fake of
BigQuery's ``jobs.insert``/``jobs.get``/``jobs.getQueryResults`` and Google's OAuth token endpoint,
modelled on their documented flows); the generated module is not altered. What the provider sends
is computed with the real google-cloud-bigquery as the provider 10.10's ``BigQueryHook.insert_job``
builds it (read from its source): ``QueryJob.from_api_repr({"configuration": ..., "jobReference":
...}, client)``, whose ``_begin`` posts ``to_api_repr()``: the two must be equal (a task that gives
no ``useLegacySql``, where they would differ, is refused: tests/unit/test_edit_scaffold_bigquery_jobs.py).
"""

from __future__ import annotations

import json
import subprocess
from urllib.parse import urlsplit

import pytest

from tests.integration.test_scaffold_containers import FIXTURES
from tests.support.fake_google import FakeGoogle
from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import dagster_python, materialize

TASKS = {"add_user_geom": "thelook/users_geom", "daily_totals": "reports/totals", "legacy_count": "sales/order_count"}
VARIABLES = {"AIRFLOW_VAR_GCP_PROJECT": "acme-shop"}
GEOM = ("ALTER TABLE `acme-shop.thelook.users` ADD COLUMN IF NOT EXISTS user_geom GEOGRAPHY;\n"
        "UPDATE `acme-shop.thelook.users` SET user_geom = ST_GEOGPOINT(longitude, latitude) WHERE longitude IS NOT NULL;")
WRITTEN = {  # each task's configuration as Airflow renders it (its Variables put in)
    "add_user_geom": {"query": {"query": GEOM, "useLegacySql": False}},
    "daily_totals": {"query": {"query": "SELECT region, SUM(amount) AS amount FROM sales.orders GROUP BY region",
                               "useLegacySql": False,
                               "destinationTable": {"projectId": "analytics-prod", "datasetId": "reports",
                                                    "tableId": "totals"},
                               "writeDisposition": "WRITE_TRUNCATE", "createDisposition": "CREATE_IF_NEEDED"},
                     "labels": {"team": "growth"}},
    "legacy_count": {"query": {"query": "SELECT COUNT(*) FROM [acme-data:sales.orders]", "useLegacySql": True}},
}
PROVIDER = """
import json, sys
from unittest import mock
from google.cloud.bigquery import QueryJob
sent = {}
for task, configuration in json.loads(sys.argv[1]).items():
    job = QueryJob.from_api_repr({"configuration": configuration,
                                  "jobReference": {"jobId": task, "projectId": "p", "location": None}},
                                 mock.Mock(project="p"))
    sent[task] = job.to_api_repr()["configuration"]
print(json.dumps(sent))
"""


def provider_sends() -> dict:
    """The configuration the provider 10.10 posts for each task, by the real client classes."""
    result = subprocess.run([dagster_python(), "-c", PROVIDER, json.dumps(WRITTEN)], capture_output=True, text=True,
                            timeout=120, check=True)
    return json.loads(result.stdout)


def _run(tmp_path, failing: dict[str, str] | None = None) -> tuple[dict, FakeGoogle]:
    google = FakeGoogle({}, tmp_path, failing=failing or {}).start()
    try:
        (tmp_path / "definitions.py").write_text(scaffold_every_task(
            FIXTURES / "bigquery_jobs_dag.py", "bigquery_jobs", TASKS,
            (FIXTURES / "bigquery_jobs_module.py").read_text()))
        output = materialize(tmp_path / "definitions.py", {"bigquery_jobs": list(TASKS)}, TASKS.values(),
                             cwd=tmp_path, record_pipes=True, env={
                                 "GOOGLE_APPLICATION_CREDENTIALS": str(google.service_account_file()),
                                 "AIRLIFT_FAKE_GOOGLE_APIS": google.url, **VARIABLES})
    finally:
        google.stop()
    return {run["asset"]: run for run in output["runs"]}, google


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("bigquery_jobs"))


def test_each_task_starts_the_query_job_the_provider_starts(ran):
    runs, google = ran
    for run in runs.values():
        assert run["success"], "\n".join(run["errors"])
    sent = {task: job["configuration"] for task, job in zip(TASKS, google.jobs)}
    assert sent == provider_sends() == WRITTEN
    # each in its project (the task's, else the client's: the service account's) and location
    assert [(j["jobReference"]["projectId"], j["jobReference"].get("location")) for j in google.jobs] == [
        ("acme-data", "US"), ("analytics-prod", None), ("acme-data", None)]
    inserts = [urlsplit(r["path"]).path for r in google.requests if r["method"] == "POST" and r["path"] != "/token"]
    assert inserts == ["/bigquery/v2/projects/acme-data/jobs", "/bigquery/v2/projects/analytics-prod/jobs",
                       "/bigquery/v2/projects/acme-data/jobs"]


def test_each_asset_is_materialized_with_the_job_it_waited_for(ran):
    runs, google = ran
    for key, job in zip(TASKS.values(), google.jobs):
        assert runs[key]["materialized"] == [key]
        assert runs[key]["metadata"][key]["bigquery_job_id"] == job["jobReference"]["jobId"]
    waited = {urlsplit(r["path"]).path.rsplit("/", 1)[-1] for r in google.requests
              if r["method"] == "GET" and "/queries/" in r["path"]}
    assert waited == {job["jobReference"]["jobId"] for job in google.jobs}  # each job's results read, as result() does


def test_a_query_bigquery_fails_fails_the_asset(tmp_path):
    """The job's error, as the provider's operator raises it, fails the run: Airflow's task fails."""
    runs, _ = _run(tmp_path, failing={"sales.orders GROUP BY": "Unrecognized name: amount at [1:20]"})
    assert not runs["reports/totals"]["success"] and runs["reports/totals"]["materialized"] == []
    assert "Unrecognized name: amount" in "\n".join(runs["reports/totals"]["errors"])
    assert runs["thelook/users_geom"]["success"]


def test_a_job_on_another_connection_runs_as_its_account_in_its_project(tmp_path):
    """`gcp_conn_id="bq_prod"`: the client is opened with that connection's key (a keyfile_dict,
    as Airflow reads it from the environment), and its `project` and `location` take the job when
    the task names none, as the provider's hook takes them; Application Default Credentials are another
    account's and are not used."""
    account = "bq-prod@acme-data.iam.gserviceaccount.com"
    google = FakeGoogle({}, tmp_path).start()
    try:
        dag = tmp_path / "bigquery_jobs_dag.py"
        dag.write_text((FIXTURES / "bigquery_jobs_dag.py").read_text().replace(
            "        result_timeout=600,\n", '        result_timeout=600,\n        gcp_conn_id="bq_prod",\n'))
        (tmp_path / "definitions.py").write_text(scaffold_every_task(
            dag, "bigquery_jobs", ["legacy_count"], (FIXTURES / "bigquery_jobs_module.py").read_text()))
        key = json.loads(google.service_account_file(account).read_text())
        connection = {"conn_type": "google_cloud_platform",
                      "extra": {"keyfile_dict": json.dumps(key), "project": "acme-warehouse", "location": "EU"}}
        output = materialize(tmp_path / "definitions.py", {"bigquery_jobs": list(TASKS)}, [TASKS["legacy_count"]],
                             cwd=tmp_path, record_pipes=True, env={
                                 "GOOGLE_APPLICATION_CREDENTIALS": str(google.service_account_file()),
                                 "AIRFLOW_CONN_BQ_PROD": json.dumps(connection),
                                 "AIRLIFT_FAKE_GOOGLE_APIS": google.url, **VARIABLES})
    finally:
        google.stop()
    assert [run["success"] for run in output["runs"]] == [True], output["runs"]
    assert [(j["jobReference"]["projectId"], j["jobReference"].get("location")) for j in google.jobs] == [
        ("acme-warehouse", "EU")]  # the connection's location: the task names none
    assert {who for _, who in google.used_by} == {account}
