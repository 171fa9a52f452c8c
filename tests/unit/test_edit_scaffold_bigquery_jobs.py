"""Scaffolding BigQueryInsertJobOperator query jobs through dagster-gcp: the module every task of
tests/fixtures/scaffold/bigquery_jobs_dag.py gives, idempotency, the registry, the configuration as
the provider sends it (``useLegacySql`` written out where the task gives none), and each refusal
with its reason."""

from __future__ import annotations

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import scaffold_task
from analysis.edits.scaffold.families import scaffold_family
from tests.support.scaffold_fixture import FamilyFixture, mapped

FAMILY = FamilyFixture("bigquery_jobs", ("add_user_geom", "daily_totals", "legacy_count"))
DAG, MODULE = FAMILY.dag, FAMILY.module


def test_every_task_in_turn_gives_the_fixture():
    text = FAMILY.scaffold_all()
    assert text == FAMILY.all_scaffolded
    assert mapped(text) == mapped(MODULE.read_text())
    assert text.count("BIGQUERY = BigQueryResource()") == 1


def test_scaffolding_again_changes_nothing():
    FAMILY.assert_scaffolding_again_changes_nothing()


def test_the_operator_is_registered_as_scaffolded():
    facts = extract_file(str(DAG), DAG.read_text()).dag("bigquery_jobs")
    assert {scaffold_family(t.operator) for t in facts.tasks} == {"bigquery-job"}


HEAD = '''\
import pendulum
from airflow import DAG
from airflow.providers.google.cloud.operators.bigquery import BigQueryInsertJobOperator

with DAG("d", start_date=pendulum.datetime(2024, 1, 1), default_args={"retries": 2}):
'''
QUERY = '{"query": {"query": "SELECT 1", "useLegacySql": False}}'


def _scaffold(options: str, head: str = HEAD):
    text = head + f"    BigQueryInsertJobOperator(task_id='t', {options})\n"
    module = MODULE.read_text().replace('"add_user_geom"', '"t"').replace('dag_id="bigquery_jobs"', 'dag_id="d"')
    return scaffold_task(text, "d.py", "d", "t", module)


def _body(options: str, head: str = HEAD) -> str:
    result = _scaffold(options, head)
    assert result.changed, result.reason
    return result.text.split("def d__t")[1].split("\n\n\n")[0]


def test_the_configuration_is_sent_as_written():
    body = _body(f"configuration={QUERY}, location='EU', project_id='p', result_timeout=60.5, "
                 "deferrable=True, job_id='nightly', cancel_on_kill=False, poll_interval=10")
    assert 'configuration = {"query": {"query": "SELECT 1", "useLegacySql": False}}' in body
    assert 'project="p",' in body and 'location="EU",' in body and "job.result(timeout=60.5)" in body
    assert "job_retry=None," in body


def test_another_connection_opens_the_client_with_its_credentials():
    body = _body(f"configuration={QUERY}, gcp_conn_id='bq_prod'")
    assert '    with _airflow_google_connection("bq_prod") as location, bigquery.get_client() as client:\n' in body
    assert "location=location," in body
    assert "the credentials of Airflow connection `bq_prod`" in " ".join(line.strip() for line in body.splitlines())


def test_the_dialect_given_is_sent_as_written():
    body = _body("configuration={'query': {'query': '#legacySQL\\nSELECT 1', 'useLegacySql': True}, 'dryRun': True}")
    assert "configuration = { 'query': {'query': '#legacySQL\\nSELECT 1', 'useLegacySql': True}, 'dryRun': True, }" \
        in " ".join(body.replace('"', "'").split())


def test_default_args_give_the_operators_options():
    head = HEAD.replace('default_args={"retries": 2}', 'default_args={"location": "asia-east1"}')
    assert 'location="asia-east1",' in _body(f"configuration={QUERY}", head)


@pytest.mark.parametrize(("options", "reason"), [
    ("configuration={'load': {'sourceUris': ['gs://b/a.csv']}}",
     "task `t` runs a `load` job: the scaffold writes query jobs (a `GCSToBigQueryOperator` writes loads)"),
    ("configuration={'query': {'useLegacySql': False}}",
     "the `configuration` of task `t` holds no `query.query` SQL: the provider raises on it"),
    ("configuration='job.json'",
     "the `configuration` of task `t` holds 'job.json', which ends in `json`: Airflow reads and renders that file"),
    ("configuration={'query': {'query': 'queries/daily.sql'}}",
     "the `configuration` of task `t` holds 'queries/daily.sql', which ends in `sql`: Airflow reads and renders that file"),
    (f"configuration={QUERY}, force_rerun=False",
     "task `t` has `force_rerun=False`: Airflow runs its job once per logical date"),
    (f"configuration={QUERY}, gcp_conn_id='{{{{ var.value.bq_conn }}}}'",
     "the `gcp_conn_id` of task `t` holds Jinja ('{{ var.value.bq_conn }}'), which Airflow does not render there"),
    (f"configuration={QUERY}, gcp_conn_id=''",
     "the `gcp_conn_id` of task `t` is not the id of a connection: the scaffold names the connection it runs its "
     "job with"),
    (f"configuration={QUERY}, impersonation_chain='sa@p.iam.gserviceaccount.com'",
     "task `t` impersonates 'sa@p.iam.gserviceaccount.com': the scaffold runs its job with the connection's own "
     "account: scaffold it by hand"),
    ("configuration={'query': {'query': 'SELECT * FROM t WHERE d = \"{{ next_ds }}\"'}}",
     "the `configuration` of task `t` uses Jinja ('SELECT * FROM t WHERE d = \"{{ next_ds }}\"'), which only Airflow renders"),
    (f"configuration={QUERY}, location='{{{{ var.value.region }}}}'",
     "the `location` of task `t` holds Jinja ('{{ var.value.region }}'), which Airflow does not render there"),
    (f"configuration={QUERY}, nowait=True",
     "task `t` uses `nowait`, which the scaffold does not carry (it reads BigQueryInsertJobOperator as the Google "
     "provider 10.x has it)"),
    (f"configuration={QUERY}, result_timeout='soon'", "the `result_timeout` of task `t` is not a number of seconds"),
    ("configuration={'query': {'query': '#standardSQL\\nSELECT 1'}}",
     "the `configuration` of task `t` gives no `useLegacySql`: the provider sends none, and BigQuery then chooses "
     "the dialect (a `#standardSQL` first line, the project's default SQL dialect, else legacy SQL)"),
    ("configuration={'query': {'query': 'SELECT 1', 'useLegacySql': None}}",
     "the `configuration` of task `t` gives no `useLegacySql`"),
    (f"configuration={QUERY}, project_id=''",
     "the `project_id` of task `t` is empty: the provider takes its connection's project"),
    ("configuration={'query': {'query': 'SELECT 1 -- x.sql', 'useLegacySql': False}}",
     "the `configuration` of task `t` holds 'SELECT 1 -- x.sql', which ends in `sql`: Airflow reads and renders"),
])
def test_refusals_say_why(options, reason):
    result = _scaffold(options)
    assert not result.changed and reason in result.reason, result.reason
