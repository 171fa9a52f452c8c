"""Scaffolding GCSToBigQueryOperator tasks as BigQuery load jobs through dagster-gcp: the module
every task of tests/fixtures/scaffold/bigquery_dag.py gives, idempotency, the read-only parser as
the oracle of what the module maps, the registry, the provider's job configuration for the
options it reads, and each refusal with its reason."""

from __future__ import annotations

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.asset_bigquery import DEFINITIONS, TABLE_HELPER
from analysis.edits.scaffold.families import scaffold_family
from analysis.edits.scaffold.plan_bigquery import split_table
from tests.support.scaffold_fixture import FamilyFixture, mapped

FAMILY = FamilyFixture("bigquery", ("load_reviews", "load_events", "load_food_events"))
DAG, MODULE = FAMILY.dag, FAMILY.module


def test_every_bigquery_task_in_turn_gives_the_fixture():
    text = FAMILY.scaffold_all()
    assert text == FAMILY.all_scaffolded
    assert mapped(text) == mapped(MODULE.read_text())
    assert text.count("BIGQUERY = BigQueryResource()") == 1  # one resource object for both assets


def test_scaffolding_again_changes_nothing():
    FAMILY.assert_scaffolding_again_changes_nothing()


def test_the_operator_is_registered_as_scaffolded():
    facts = extract_file(str(DAG), DAG.read_text()).dag("bigquery")
    assert {scaffold_family(t.operator) for t in facts.tasks} == {"bigquery-load"}


HEAD = '''\
import pendulum
from airflow import DAG
from airflow.providers.google.cloud.transfers.gcs_to_bigquery import GCSToBigQueryOperator

with DAG("d", start_date=pendulum.datetime(2024, 1, 1), default_args={"retries": 2}):
'''
BASE = "task_id='t', bucket='b', source_objects=['a.csv'], destination_project_dataset_table='ds.t'"


def _load(options: str, head: str = HEAD) -> str:
    """The body of the asset scaffolded for a task with ``options`` beside the base ones."""
    text = head + f"    GCSToBigQueryOperator({BASE}{', ' + options if options else ''})\n"
    module = MODULE.read_text().replace('"load_reviews"', '"t"').replace('dag_id="bigquery"', 'dag_id="d"')
    result = scaffold_task(text, "d.py", "d", "t", module)
    assert result.changed, result.reason
    return result.text.split("def d__t")[1].split("\n\n\n")[0]


def test_the_provider_defaults_make_the_job_configuration():
    body = _load("")
    for line in ('"autodetect": True,', '"createDisposition": "CREATE_IF_NEEDED",', '"sourceFormat": "CSV",',
                 '"writeDisposition": "WRITE_EMPTY",', '"ignoreUnknownValues": False,', '"fieldDelimiter": ",",',
                 '"allowQuotedNewlines": False,', '"encoding": "UTF-8",', '["gs://b/a.csv"],', '"ds.t",'):
        assert line in body, line
    code = body.split('"""')[2]
    assert "skipLeadingRows" not in code and "quote" not in code  # None: BigQuery's own default
    # 6.x sent skipLeadingRows 0: said in the docstring
    assert "The task gives no `skip_leading_rows`: the provider 10.x sends none" in " ".join(body.split())


@pytest.mark.parametrize("options, expected", [
    ("src_fmt_configs={'skipLeadingRows': 2, 'nullMarker': 'NA'}, skip_leading_rows=1",
     ['"skipLeadingRows": 2,', '"nullMarker": "NA",']),  # src_fmt_configs first, then the task's own
    ("source_format='parquet', allow_jagged_rows=True", ['"sourceFormat": "PARQUET",', '"allowJaggedRows": True,']),
    ("time_partitioning={'type': 'MONTH', 'field': 'day'}, max_bad_records=5",
     ['"timePartitioning": {"type": "MONTH", "field": "day"},', '"maxBadRecords": 5,']),
    ("write_disposition='WRITE_APPEND', schema_update_options=['ALLOW_FIELD_ADDITION'], description='d'",
     ['"schemaUpdateOptions": ["ALLOW_FIELD_ADDITION"],', '"destinationTableProperties": {"description": "d"},']),
    ("project_id='billing', location='EU', deferrable=True, job_id='x', compression='GZIP'",
     ['project="billing",', 'location="EU",']),
])
def test_options_go_where_the_provider_puts_them(options, expected):
    body = _load(options)
    for line in expected:
        assert line in body, line


def test_a_dag_default_args_give_options_the_operator_takes():
    head = HEAD.replace('default_args={"retries": 2}',
                        'default_args={"retries": 2, "write_disposition": "WRITE_TRUNCATE", "owner": "data"}')
    assert '"writeDisposition": "WRITE_TRUNCATE",' in _load("", head)


def test_another_connection_opens_the_client_with_its_credentials():
    body = _load("gcp_conn_id='gcp_etl'")  # the connection's location when the task names none
    assert '    with _airflow_google_connection("gcp_etl") as location, bigquery.get_client() as client:\n' in body
    assert "        location=location,\n" in body
    named = _load("gcp_conn_id='gcp_etl', location='EU'")
    assert '    with _airflow_google_connection("gcp_etl"), bigquery.get_client() as client:\n' in named
    assert '        location="EU",\n' in named
    assert "the credentials of Airflow connection `gcp_etl` (AIRFLOW_CONN_GCP_ETL where" in " ".join(
        line.strip() for line in body.splitlines())
    assert 'with bigquery.get_client() as client:\n' in _load("gcp_conn_id='google_cloud_default'")


def test_a_table_of_another_project_and_a_partition():
    """``project:dataset.table`` as the client takes it (``project.dataset.table``); a ``$``
    partition makes the provider ask for DAY partitioning."""
    assert "timePartitioning" not in _load("")
    text = HEAD + ("    GCSToBigQueryOperator(task_id='t', bucket='b', source_objects='a.csv', "
                   "destination_project_dataset_table='p:ds.t$20240101')\n")
    module = MODULE.read_text().replace('"load_reviews"', '"t"').replace('dag_id="bigquery"', 'dag_id="d"')
    result = scaffold_task(text, "d.py", "d", "t", module)
    assert '"p.ds.t$20240101",' in result.text and '"timePartitioning": {"type": "DAY"},' in result.text


REFUSALS = {
    "gcp_conn_id=None":
        "the `gcp_conn_id` of task `t` is not the id of a connection: the scaffold names the connection it loads with",
    "impersonation_chain='etl@p.iam.gserviceaccount.com'":
        "task `t` impersonates 'etl@p.iam.gserviceaccount.com': the scaffold loads with the connection's own "
        "account: scaffold it by hand",
    "schema_object='schemas/t.json'":
        "task `t` reads its schema from Cloud Storage when it runs (`schema_object`): write it as `schema_fields` "
        "and scaffold again, or scaffold it by hand",
    "external_table=True": "task `t` creates an external table (`external_table`): scaffold it by hand",
    "max_id_key='id'": "task `t` returns the greatest `max_id_key` as its XCom: scaffold it by hand",
    "autodetect=False": "task `t` has no schema and no `autodetect`: the provider raises",
    "source_format='XML'": "the `source_format` of task `t` ('XML') is not one the provider 10.x loads",
    "source_format='NEWLINE_DELIMITED_JSON', src_fmt_configs={'skipLeadingRows': 1}":
        "the `src_fmt_configs` of task `t` holds options that NEWLINE_DELIMITED_JSON does not take in the "
        "provider 10.x, which raises on them: scaffold it by hand",
    "schema_update_options=['ALLOW_FIELD_ADDITION']":
        "the `schema_update_options` of task `t` are refused by the provider 10.x: scaffold it by hand",
    "schema_fields=[{'name': '{{ ds }}', 'type': 'STRING'}]":
        "the `schema_fields` of task `t` holds Jinja ('{{ ds }}'), which Airflow does not render there (not one of "
        "the operator's template fields): scaffold it by hand",
    "source_objects=['{{ next_ds }}/a.csv']":
        "the `source_objects` of task `t` uses Jinja ('{{ next_ds }}/a.csv'), which only Airflow renders",
    "labels=LABELS": "the `labels` of task `t` is not a literal or a module-level constant (`LABELS`): it cannot "
                     "be read statically",
    "force_delete=True": "task `t` uses `force_delete`, which the scaffold does not carry (it reads "
                         "GCSToBigQueryOperator as the Google provider 10.x has it): scaffold it by hand",
}


@pytest.mark.parametrize("options", list(REFUSALS), ids=range(len(REFUSALS)))
def test_what_the_scaffold_cannot_carry_is_refused_with_its_reason(options):
    base = BASE.replace("source_objects=['a.csv'], ", "") if "source_objects" in options else BASE
    text = HEAD + f"    GCSToBigQueryOperator({base}, {options})\n"
    task = extract_file("d.py", text).dag("d").task("t")
    assert can_scaffold(text, task) == REFUSALS[options]


@pytest.mark.parametrize("table", ["ds", "a.b.c.d", "x:y:z.ds.t", ":ds.t", "ds..t"])
def test_a_table_the_provider_cannot_read_is_refused(table):
    text = HEAD + "    GCSToBigQueryOperator(task_id='t', bucket='b', source_objects=['a'], " \
                  f"destination_project_dataset_table={table!r})\n"
    task = extract_file("d.py", text).dag("d").task("t")
    assert can_scaffold(text, task) == (f"the `destination_project_dataset_table` of task `t` ({table!r}) is not "
                                        "`(project.)dataset.table`")


TABLES = {"ds.t": (None, "ds", "t"), "p.ds.t": ("p", "ds", "t"), "p:ds.t": ("p", "ds", "t"),
          "a:b.c.d": ("a:b", "c", "d"), "example.com:p:ds.t": None, "ds.t$20240101": (None, "ds", "t$20240101"),
          "p:a.b.c": ("p:a", "b", "c"), "p.x:d.t": None, "ds": None, ":ds.t": None, "a.b.c.d": None, "ds..t": None}
"""Tables as the Google provider's split_tablename reads them (project, dataset, table; None: it
raises, or gives an empty name or a project with a dot, which BigQuery's client reads otherwise)."""


def test_a_table_read_when_the_asset_runs_is_read_as_the_provider_reads_it():
    """A table a Variable gives is read by the module's helper, as the provider reads it and as the
    scaffold reads a table written out; a `$` partition asks for DAY partitioning, the task's own
    partitioning kept over it."""
    assert "_airflow_bigquery_table" not in _load("")
    text = HEAD + ("    GCSToBigQueryOperator(task_id='t', bucket='b', source_objects=['a.csv'], "
                   "destination_project_dataset_table='{{ var.value.table }}', time_partitioning={'field': 'day'})\n")
    module = MODULE.read_text().replace('"load_reviews"', '"t"').replace('dag_id="bigquery"', 'dag_id="d"')
    result = scaffold_task(text, "d.py", "d", "t", module)
    assert result.changed, result.reason
    assert '        table, load = _airflow_bigquery_table(\n            _airflow_render("{{ var.value.table }}"),' in result.text
    assert "job_config=LoadJobConfig.from_api_repr({\"load\": load})," in result.text
    namespace: dict = {}
    exec(DEFINITIONS[TABLE_HELPER][0], namespace)
    helper = namespace[TABLE_HELPER]
    for table, split in TABLES.items():
        assert split_table(table) == split, table
        if split is None:
            with pytest.raises(ValueError):
                helper(table, {})
            continue
        written, load = helper(table, {"timePartitioning": {"field": "day"}})
        assert written == ".".join(p for p in split if p is not None)
        partitioning = {"type": "DAY", "field": "day"} if "$" in table else {"field": "day"}
        assert load == {"timePartitioning": partitioning}, table
