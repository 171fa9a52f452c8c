"""Scaffolding AthenaOperator queries through dagster-aws: the module every task of
tests/fixtures/scaffold/athena_dag.py gives, idempotency, the registry (and the old
``AWSAthenaOperator`` name), the options as given, the run's values and each refusal with its
reason; and the generated helper's waiting, on a stand-in client (the real one runs in
tests/integration/test_scaffold_athena.py)."""

from __future__ import annotations

import types

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import scaffold_task
from analysis.edits.scaffold.asset_athena import DEFINITIONS, RUN_QUERY
from analysis.edits.scaffold.families import scaffold_family
from tests.support.scaffold_fixture import FamilyFixture, mapped

FAMILY = FamilyFixture("athena", ("repair_events", "build_exclusions", "weekly_report"))
DAG, MODULE = FAMILY.dag, FAMILY.module


def test_every_task_in_turn_gives_the_fixture():
    text = FAMILY.scaffold_all()
    assert text == FAMILY.all_scaffolded
    assert mapped(text) == mapped(MODULE.read_text())
    assert text.count("AIRFLOW_ATHENA_AWS_DEFAULT = AthenaClientResource()") == 1
    assert text.count(f"def {RUN_QUERY}(") == 1


def test_scaffolding_again_changes_nothing():
    FAMILY.assert_scaffolding_again_changes_nothing()


def test_the_operator_and_its_old_name_are_registered_as_scaffolded():
    facts = extract_file(str(DAG), DAG.read_text()).dag("athena")
    assert {scaffold_family(t.operator) for t in facts.tasks} == {"athena"}
    assert scaffold_family("AWSAthenaOperator") == "athena"


HEAD = '''\
import pendulum
from airflow import DAG
from airflow.contrib.operators.aws_athena_operator import AWSAthenaOperator

with DAG("d", start_date=pendulum.datetime(2024, 1, 1), default_args={"retries": 2}):
'''


def _scaffold(options: str, head: str = HEAD):
    text = head + f"    AWSAthenaOperator(task_id='t', {options})\n"
    module = MODULE.read_text().replace('"repair_events"', '"t"').replace('dag_id="athena"', 'dag_id="d"')
    return scaffold_task(text, "d.py", "d", "t", module)


def _body(options: str, head: str = HEAD) -> str:
    result = _scaffold(options, head)
    assert result.changed, result.reason
    return result.text.split("def d__t")[1].split("\n\n\n")[0]


def test_the_options_given_are_passed_and_the_defaults_left_out():
    body = _body("query='SELECT 1', database='db', workgroup='primary', sleep_time=30, catalog='AwsDataCatalog', "
                 "deferrable=True, log_query=False")
    assert 'context.resources.athena_aws_default.get_client().client,\n        "SELECT 1",\n        database="db",\n    )' \
        in body


def test_the_connection_names_the_resource():
    result = _scaffold("query='SELECT 1', aws_conn_id='aws-analytics'")
    assert result.changed, result.reason
    assert 'AIRFLOW_ATHENA_AWS_ANALYTICS = AthenaClientResource()' in result.text
    assert 'resource_defs={"athena_aws_analytics": AIRFLOW_ATHENA_AWS_ANALYTICS}' in result.text
    assert "context.resources.athena_aws_analytics.get_client().client" in result.text
    unset = _scaffold("query='SELECT 1', aws_conn_id=None")
    assert unset.changed and "AIRFLOW_ATHENA = AthenaClientResource()" in unset.text
    assert "(no Airflow connection: boto3's own credentials;" in " ".join(unset.text.split())


def test_an_execution_timeout_in_default_args_is_refused_too():
    head = HEAD.replace('default_args={"retries": 2}', 'default_args={"execution_timeout": timedelta(hours=1)}')
    result = _scaffold("query='SELECT 1'", "from datetime import timedelta\n" + head)
    assert not result.changed and "task `t` has an `execution_timeout`" in result.reason, result.reason


def test_a_templated_string_is_sent_as_jinja_renders_it():
    """Airflow renders every templated string: line ends become newlines, one final newline goes."""
    body = _body("query='SELECT 1\\r\\nFROM t\\n', database='db\\n\\n', output_location='s3://r'")
    assert '"""SELECT 1\nFROM t""",' in body and 'database="db\\n",' in body


def test_the_helper_keeps_to_itself_a_module_binding_time():
    module = MODULE.read_text().replace('"repair_events"', '"t"').replace('dag_id="athena"', 'dag_id="d"')
    module = module.replace("import dagster as dg\n", "from datetime import time\n\nimport dagster as dg\n")
    result = scaffold_task(HEAD + "    AWSAthenaOperator(task_id='t', query='SELECT 1')\n", "d.py", "d", "t", module)
    assert result.changed, result.reason
    assert "\nimport time\n" not in result.text and "from time import sleep as _sleep" in result.text


def test_default_args_give_the_operators_options():
    head = HEAD.replace('default_args={"retries": 2}', 'default_args={"aws_conn_id": "aws_prod", "sleep_time": 5}')
    assert "context.resources.athena_aws_prod.get_client().client" in _body("query='SELECT 1'", head)
    assert "sleep_time=5," in _body("query='SELECT 1'", head)


def test_the_runs_values_are_rendered_from_the_airflow_run():
    body = _body("query=\"MSCK REPAIR TABLE t; -- {{ ds_nodash }}\", output_location='s3://r/{{ ds }}'")
    assert "_airflow_run_values = _airflow_run(airflow_instance, context)" in body
    assert '_airflow_render_run("MSCK REPAIR TABLE t; -- {{ ds_nodash }}", _airflow_run_values),' in body
    assert 'output_location=_airflow_render_run("s3://r/{{ ds }}", _airflow_run_values),' in body


@pytest.mark.parametrize(("options", "reason"), [
    ("query='SELECT 1', region_name='eu-west-1'",
     "task `t` sets `region_name`: dagster-aws's AthenaClientResource takes the region and TLS settings from "
     "boto3's environment"),
    ("query='SELECT 1', botocore_config={'retries': {'max_attempts': 3}}", "task `t` sets `botocore_config`"),
    ("query='queries/daily.sql'",
     "the `query` of task `t` is 'queries/daily.sql', which ends in `.sql`: Airflow reads and renders that file"),
    ("query='SELECT * FROM t WHERE d = {{ next_ds }}'",
     "the `query` of task `t` uses Jinja ('SELECT * FROM t WHERE d = {{ next_ds }}'), which only Airflow renders"),
    ("query='SELECT 1', query_execution_context={'Database': '{{ var.value.db }}'}",
     "the `query_execution_context` of task `t` holds Jinja ('{{ var.value.db }}'), which Airflow does not render "
     "there"),
    ("query='SELECT 1', result_configuration='s3://r'",
     "the `result_configuration` of task `t` is not a dict (Athena's ResultConfiguration)"),
    ("query='SELECT 1', sleep_time='soon'", "the `sleep_time` of task `t` is not a number of seconds"),
    ("query='SELECT 1', max_polling_attempts=-1", "the `max_polling_attempts` of task `t` is not a whole number of polls"),
    ("query='SELECT 1', max_polling_attempts=2.5", "the `max_polling_attempts` of task `t` is not a whole number of polls"),
    ("query='SELECT 1', database='logs.sql'",
     "the `database` of task `t` is 'logs.sql', which ends in `.sql`: Airflow reads and renders that file"),
    ("query='SELECT 1', execution_timeout=timedelta(minutes=30)",
     "task `t` has an `execution_timeout`: Airflow stops its query when it passes (the operator's `on_kill`)"),
    ("query=''", "task `t` has no `query` written out (a string)"),
    ("query='SELECT 1', poll_interval=5",
     "task `t` uses `poll_interval`, which the scaffold does not carry (it reads AthenaOperator as the Amazon "
     "provider 9.x has it)"),
    ("query=QUERY", "the `query` of task `t` is not a literal or a module-level constant (`QUERY`)"),
])
def test_refusals_say_why(options, reason):
    result = _scaffold(options)
    assert not result.changed and reason in result.reason, result.reason


class Client:
    """boto3's Athena client as the helper uses it: the states each poll answers, in turn."""

    def __init__(self, states: list[str], reason: str | None = None) -> None:
        self.states, self.reason, self.started, self.polls, self.stopped = states, reason, [], 0, []

    def start_query_execution(self, **request):
        self.started.append(request)
        return {"QueryExecutionId": "q-1"}

    def stop_query_execution(self, QueryExecutionId):  # noqa: N803 (boto3's name)
        self.stopped.append(QueryExecutionId)

    def get_query_execution(self, QueryExecutionId):  # noqa: N803 (boto3's name)
        state = self.states[min(self.polls, len(self.states) - 1)]
        if state == "INTERRUPT":  # the Dagster run is stopped while the asset waits
            raise KeyboardInterrupt
        self.polls += 1
        return {"QueryExecution": {"Status": {"State": state, **({"StateChangeReason": self.reason}
                                                                 if self.reason else {})}}}


@pytest.fixture()
def run_query():
    failure = type("Failure", (Exception,), {})
    namespace = {"dagster": types.SimpleNamespace(Failure=failure, MaterializeResult=lambda **kw: kw,
                                                  AssetExecutionContext=object)}
    exec(DEFINITIONS[RUN_QUERY][0], namespace)  # noqa: S102 - our own generated code, run as the module runs it
    context = types.SimpleNamespace(selected_asset_keys=["a", "b"], log=types.SimpleNamespace(info=print))
    return (lambda client, **options: list(namespace[RUN_QUERY](context, client, "SELECT 1", sleep_time=0, **options)),
            failure)


def test_the_helper_starts_the_query_as_the_operator_does_and_waits(run_query):
    run, _ = run_query
    client = Client(["QUEUED", "RUNNING", "SUCCEEDED"])
    results = run(client, database="db", output_location="s3://r", query_execution_context={"Database": "other"},
                  result_configuration={"EncryptionConfiguration": {"EncryptionOption": "SSE_S3"}})
    assert client.started == [{"QueryString": "SELECT 1", "WorkGroup": "primary",
                               "QueryExecutionContext": {"Database": "db", "Catalog": "AwsDataCatalog"},
                               "ResultConfiguration": {"EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
                                                       "OutputLocation": "s3://r"}}]
    assert client.polls == 3
    assert results == [{"asset_key": k, "metadata": {"query_execution_id": "q-1"}} for k in ("a", "b")]


def test_the_helper_fails_as_the_operator_fails(run_query):
    run, failure = run_query
    with pytest.raises(failure, match=r"^Final state of Athena job is FAILED, query_execution_id is q-1\. "
                                      r"Error: SYNTAX_ERROR$"):
        run(Client(["RUNNING", "FAILED"], "SYNTAX_ERROR"))
    with pytest.raises(failure, match=r"^Final state of Athena job is RUNNING\. Max tries of poll status exceeded, "
                                      r"query_execution_id is q-1\.$"):
        run(Client(["RUNNING"]), max_polling_attempts=4)
    stuck = Client(["QUEUED"])
    with pytest.raises(failure):
        run(stuck, max_polling_attempts=2)
    assert stuck.polls == 2


def test_a_run_stopped_while_the_query_runs_stops_the_query(run_query):
    run, _ = run_query
    client = Client(["RUNNING", "INTERRUPT"])
    with pytest.raises(KeyboardInterrupt):
        run(client)
    assert client.stopped == ["q-1"]
    finished = Client(["SUCCEEDED"])
    run(finished)
    assert finished.stopped == []
