'''The asset of an ``AthenaOperator`` task: the same query started in Athena (``plan_athena``)
through dagster-aws's ``AthenaClientResource`` (a dependency of the generated code: dagster-aws
of the Dagster release, 0.29 for Dagster 1.13, with boto3).

The resource is keyed by the task's connection id, in a namespace of its own so that a SQL
scaffold's resource for the same id does not clash (``aws_default`` -> ``athena_aws_default``;
``athena`` when the task gives ``aws_conn_id=None``) and declared on the asset with
``resource_defs`` as the module-level ``AIRFLOW_<KEY>`` = ``AthenaClientResource()`` that
every Athena asset of that connection shares: its boto3 client finds credentials and region as boto3 does (``AWS_*``
variables, a profile, the instance's role), which is what an Airflow connection without keys
is, as MWAA's ``aws_default`` is. Give it the connection's keys, or bind your own resource under
the key (and drop ``resource_defs``). The body starts the query with the options given and waits
for it as the operator does (``_airflow_athena_query``, written once into the module); each
asset is materialized with the query execution id (the task's XCom) as metadata. A run stopped
while the query runs stops it, as the operator's ``on_kill`` does.
'''

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.edits.layout import Group
from analysis.edits.scaffold.asset_pipes import literal_doc
from analysis.edits.scaffold import asset_sql
from analysis.edits.scaffold.asset_sql import sql_literal
from analysis.edits.scaffold.plan import Plan

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit

RUN_QUERY = "_airflow_athena_query"
_PREFIX = "AIRFLOW_ATHENA"
DEFINITIONS = {RUN_QUERY: ('''\
def _airflow_athena_query(context: dagster.AssetExecutionContext, client, query, database=None,
                          catalog="AwsDataCatalog", output_location=None, workgroup="primary",
                          query_execution_context=None, result_configuration=None,
                          client_request_token=None, sleep_time=30, max_polling_attempts=None):
    """Run `query` in Athena as Airflow's AthenaOperator (Amazon provider 9.x) does: started
    with the task's database and catalog, output location, workgroup and request token, polled
    every `sleep_time` seconds until it ends (at most `max_polling_attempts` times), failed as
    the task fails; each asset is materialized with the query execution id, the task's XCom."""
    execution_context = dict(query_execution_context or {})
    if database:
        execution_context["Database"] = database
    execution_context["Catalog"] = catalog
    result = dict(result_configuration or {})
    if output_location:
        result["OutputLocation"] = output_location
    request = {"QueryString": query, "QueryExecutionContext": execution_context,
               "ResultConfiguration": result, "WorkGroup": workgroup}
    if client_request_token:
        request["ClientRequestToken"] = client_request_token
    from time import sleep as _sleep  # here: the module may bind `time` to something else

    execution_id = client.start_query_execution(**request)["QueryExecutionId"]
    context.log.info(f"Athena query execution id: {execution_id}")
    status = {}
    try:
        for attempt in range(max_polling_attempts or 999999):
            if attempt:
                _sleep(30 if sleep_time is None else sleep_time)
            status = client.get_query_execution(QueryExecutionId=execution_id)["QueryExecution"]["Status"]
            if status.get("State") not in ("QUEUED", "RUNNING"):
                break
    except BaseException:  # the run stopped while the query runs: stop it, as Airflow's on_kill does
        client.stop_query_execution(QueryExecutionId=execution_id)
        raise
    state = status.get("State")
    if state in ("FAILED", "CANCELLED"):
        reason = f"query_execution_id is {execution_id}. Error: {status.get('StateChangeReason')}"
        raise dagster.Failure(f"Final state of Athena job is {state}, {reason}")
    if state != "SUCCEEDED":
        reason = f"Max tries of poll status exceeded, query_execution_id is {execution_id}."
        raise dagster.Failure(f"Final state of Athena job is {state}. {reason}")
    for key in context.selected_asset_keys:
        yield dagster.MaterializeResult(asset_key=key, metadata={"query_execution_id": execution_id})
''', ("dagster",))}


def owns(name: str) -> bool:
    return name in DEFINITIONS or name.startswith(_PREFIX)


def _constant_name(plan: Plan) -> str:
    """``AIRFLOW_ATHENA_AWS_DEFAULT`` for the key ``athena_aws_default``."""
    return "AIRFLOW_" + plan.athena.resource_key.upper()


def problem(plan: Plan) -> str | None:
    return None


def helpers(plan: Plan) -> list[str]:
    return [RUN_QUERY, _constant_name(plan)]


def about(where: str, plan: Plan) -> str:
    athena = plan.athena
    connection = (f"Airflow connection `{athena.conn_id}`" if athena.conn_id else
                  "no Airflow connection: boto3's own credentials")
    return (f"Scaffolded by airlift-lsp from {where} ({plan.label}): the same query, started in Athena with the "
            f"options the Amazon provider 9.x sends and waited for as it waits, through the resource "
            f"`{athena.resource_key}` ({connection}; dagster-aws's AthenaClientResource, whose credentials and "
            "region are boto3's: give it the connection's keys if it has its own).")


signature = asset_sql.signature  # the context only: the resource is read from it


def decorator_options(edit: ModuleEdit, plan: Plan) -> tuple[str, ...]:
    return asset_sql.keyed_resource(edit, plan.athena.resource_key, _constant_name(plan))


def constant(edit: ModuleEdit, name: str, plan: Plan) -> str:
    return f"{name} = {edit.imported_name('dagster_aws.athena', 'AthenaClientResource')}(){edit.newline}"


def tail(edit: ModuleEdit, plan: Plan, places=None) -> list[str]:
    athena = plan.athena
    query = athena.query
    arguments = ["context", f"context.resources.{athena.resource_key}.get_client().client",
                 sql_literal(edit, query) if type(query) is str else literal_doc(edit, query),
                 *(literal_doc(edit, value, f"{option}=") for option, value in athena.options)]
    return [edit.render(Group(f"yield from {RUN_QUERY}(", tuple(arguments), ")"), len(edit.unit))]
