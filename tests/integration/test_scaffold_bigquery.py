"""BigQuery load scaffolds load and run in real Dagster with dagster-gcp (``make dagster``), and
start the load job the Google provider starts for the Airflow tasks of
tests/fixtures/scaffold/bigquery_dag.py.

No BigQuery here: google-cloud-bigquery's requests go to tests/support/fake_google.py (a fake of
BigQuery's ``jobs.insert``/``jobs.get`` and Google's OAuth token endpoint, modelled on their
documented flows), with Application Default Credentials from a service account key it signs for;
the generated module is not altered. The expected job configurations are what the provider's
``GCSToBigQueryOperator._use_existing_table`` (Google provider 10.10, read from its source) builds
for the same calls, written out here.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from tests.support.fake_google import FakeGoogle
from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import materialize
from tests.integration.test_scaffold_containers import FIXTURES

TASKS = {"load_reviews": "imdb/reviews", "load_events": "events/daily", "load_food_events": "fda/food_events"}
VARIABLES = {"AIRFLOW_VAR_COMPOSER_BUCKET": "composer-eu", "AIRFLOW_VAR_FDA_FOOD": json.dumps(
    {"source_bucket": "fda-landing", "destination_table": "fda-prod:food.events$20240101"})}
SCHEMA = [{"name": "review", "type": "STRING", "mode": "NULLABLE"},
          {"name": "label", "type": "STRING", "mode": "NULLABLE"},
          {"name": "movie_id", "type": "INTEGER", "mode": "REQUIRED"}]
PROVIDER_LOADS = {
    # project: the connection's (here the client's, from the service account key)
    "load_reviews": {
        "autodetect": True, "createDisposition": "CREATE_IF_NEEDED",
        "destinationTable": {"projectId": "acme-data", "datasetId": "imdb", "tableId": "reviews"},
        "sourceFormat": "CSV", "sourceUris": ["gs://composer-eu/data/imdb/reviews/data_output.csv"],
        "writeDisposition": "WRITE_TRUNCATE", "ignoreUnknownValues": False, "schema": {"fields": SCHEMA},
        # the CSV options, from the task's own (quote: None, BigQuery's default, is not sent)
        "skipLeadingRows": 1, "fieldDelimiter": ",", "allowQuotedNewlines": True, "encoding": "UTF-8"},
    # `project:dataset.table$partition`: DAY partitioning; JSON takes no CSV options
    "load_events": {
        "autodetect": True, "createDisposition": "CREATE_IF_NEEDED",
        "destinationTable": {"projectId": "analytics-prod", "datasetId": "events", "tableId": "daily$20240101"},
        "sourceFormat": "NEWLINE_DELIMITED_JSON", "sourceUris": ["gs://acme-landing/events/2024-01-01/*.json"],
        "writeDisposition": "WRITE_APPEND", "ignoreUnknownValues": True, "timePartitioning": {"type": "DAY"},
        "clustering": {"fields": ["country"]}, "destinationTableProperties": {"labels": {"team": "growth"}}},
    # the table from a Variable, read once rendered as the provider reads it: `$`, DAY partitioning
    "load_food_events": {
        "autodetect": False, "createDisposition": "CREATE_IF_NEEDED",
        "destinationTable": {"projectId": "fda-prod", "datasetId": "food", "tableId": "events$20240101"},
        "sourceFormat": "CSV", "sourceUris": ["gs://fda-landing/fda/food/events.csv"],
        "writeDisposition": "WRITE_TRUNCATE", "ignoreUnknownValues": False, "timePartitioning": {"type": "DAY"},
        "schema": {"fields": [{"name": "report_number", "type": "STRING", "mode": "REQUIRED"}]},
        "skipLeadingRows": 1, "fieldDelimiter": ",", "allowQuotedNewlines": False, "encoding": "UTF-8"},
}


def _run(tmp_path, failing: dict[str, str] | None = None) -> tuple[dict, FakeGoogle]:
    google = FakeGoogle({}, tmp_path, failing=failing or {}).start()
    try:
        (tmp_path / "definitions.py").write_text(scaffold_every_task(
            FIXTURES / "bigquery_dag.py", "bigquery", TASKS, (FIXTURES / "bigquery_module.py").read_text()))
        output = materialize(tmp_path / "definitions.py", {"bigquery": list(TASKS)}, TASKS.values(), cwd=tmp_path,
                             record_pipes=True, env={
                                 "GOOGLE_APPLICATION_CREDENTIALS": str(google.service_account_file()),
                                 "AIRLIFT_FAKE_GOOGLE_APIS": google.url, **VARIABLES})
    finally:
        google.stop()
    return {run["asset"]: run for run in output["runs"]}, google


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("bigquery"))


def test_each_task_starts_the_load_job_the_provider_starts(loaded):
    runs, google = loaded
    for run in runs.values():
        assert run["success"], "\n".join(run["errors"])
    assert [job["configuration"]["load"] for job in google.jobs] == list(PROVIDER_LOADS.values())
    # each job in the client's project (the service account's), as the provider's hook's
    assert all(job["jobReference"]["projectId"] == "acme-data" for job in google.jobs)
    inserts = [urlsplit(r["path"]).path for r in google.requests if r["method"] == "POST" and r["path"] != "/token"]
    assert inserts == ["/bigquery/v2/projects/acme-data/jobs"] * 3


def test_each_asset_is_materialized_with_the_job_it_waited_for(loaded):
    runs, google = loaded
    for (task, key), job in zip(TASKS.items(), google.jobs):
        assert runs[key]["materialized"] == [key]
        metadata = runs[key]["metadata"][key]
        assert metadata["bigquery_job_id"] == job["jobReference"]["jobId"]
        assert metadata["output_rows"] == 42
        table = job["configuration"]["load"]["destinationTable"]
        assert metadata["table"] == f"{table['projectId']}.{table['datasetId']}.{table['tableId']}"


def test_a_load_bigquery_fails_fails_the_asset(tmp_path):
    """The job's error, as the provider's operator raises it, fails the run: Airflow's task fails."""
    runs, google = _run(tmp_path, failing={"imdb.reviews": "CSV table references column position 3, "
                                                            "but line starting at position:0 contains only 2 columns."})
    assert not runs["imdb/reviews"]["success"] and runs["imdb/reviews"]["materialized"] == []
    assert "contains only 2 columns" in "\n".join(runs["imdb/reviews"]["errors"])
    assert runs["events/daily"]["success"]
