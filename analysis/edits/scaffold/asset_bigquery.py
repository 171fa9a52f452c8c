"""The asset of a ``GCSToBigQueryOperator`` task: the same BigQuery load job (``plan_bigquery``),
run through dagster-gcp's ``BigQueryResource`` (a dependency of the generated code: dagster-gcp
of the Dagster release, 0.29 for Dagster 1.13, with google-cloud-bigquery).

The asset takes ``context`` and the resource ``bigquery`` (the key Dagster's docs use), declared
on the asset with ``resource_defs`` as the module-level ``BIGQUERY`` = ``BigQueryResource()`` that
every such asset shares: its client reads Application Default Credentials and their project,
what Cloud Composer's ``google_cloud_default`` connection is (set ``project`` or ``location``
there, or bind your own ``bigquery``); a task on another connection opens the client inside
``_airflow_google_connection`` (``google_connection``), so that it reads that connection's, and a
job whose task names no location runs in the connection's. Its body starts the load with the
client's ``load_table_from_uri``: the task's ``gs://`` sources, its table, and the provider's
``configuration.load`` as ``LoadJobConfig.from_api_repr`` reads it (sent as it is); then waits
for the job, which raises when BigQuery fails it, as the Airflow task fails. Each asset is
materialized with the job's id, table and ``output_rows`` as metadata.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from analysis.edits.layout import Group
from analysis.edits.scaffold import google_connection
from analysis.edits.scaffold.asset_commands import fresh
from analysis.edits.scaffold.asset_pipes import literal_code, literal_doc
from analysis.edits.scaffold.plan import Plan
from analysis.edits.scaffold.plan_bigquery import BigQueryLoad
from analysis.edits.scaffold.plan_bigquery_job import BigQueryQuery
from analysis.edits.scaffold.variables import Rendered

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit

KEY = "bigquery"
CONSTANT = "BIGQUERY"
CONSTANTS = (CONSTANT,)
TABLE_HELPER = "_airflow_bigquery_table"
DEFINITIONS = {TABLE_HELPER: ('''\
def _airflow_bigquery_table(table: str, load: dict) -> tuple[str, dict]:
    """Table `table` as Airflow's GCSToBigQueryOperator reads it, `(project:|project.)dataset.table`
    (the Google provider's split_tablename), as BigQuery's client takes it (`[project.]dataset.table`,
    the client's project when it names none), and `load` with the DAY partitioning the provider
    asks for a `$` partition of the table."""
    wrong = ValueError(f"not (project:|project.)dataset.table, as Airflow reads it: {table!r}")
    if "." not in table or table.count(".") + table.count(":") > 3:
        raise wrong
    project, rest = None, table
    head, colon, tail = table.rpartition(":")
    if colon and head.count(":") > 1:
        raise wrong
    if colon and tail.count(".") != 2:
        project, rest = head, tail
    parts = rest.split(".")
    if len(parts) == 3 and project is None:
        project, parts = parts[0], parts[1:]
    if len(parts) != 2 or not all(parts) or project == "" or "." in (project or ""):
        raise wrong
    if "$" in table:
        load = {**load, "timePartitioning": {"type": "DAY", **load.get("timePartitioning", {})}}
    return ".".join(([project] if project else []) + parts), load
''', ())}


def owns(name: str) -> bool:
    return name == CONSTANT or name in DEFINITIONS


def problem(plan: Plan) -> str | None:
    return None


def helpers(plan: Plan) -> list[str]:
    table = getattr(plan.bigquery, "destination", None)
    return [*google_connection.helpers(plan.bigquery.connection), CONSTANT, *([TABLE_HELPER] if isinstance(table, Rendered) else [])]


def _client(edit: ModuleEdit, plan: Plan, job: BigQueryLoad | BigQueryQuery, client: str) -> tuple[str, list[str]]:
    """The line that opens the resource's client, inside the block of the task's connection when it
    is not google_cloud_default (its credentials then read by the client), and the job's project
    and location arguments: a task that names no location runs where its connection's `location`
    says, as the provider's hook takes it (the block yields it)."""
    given = [(k, literal_code(edit, v)) for k, v in (("project", job.project), ("location", job.location))
             if v is not None]
    block = google_connection.block(edit, job.connection)
    if block is None:
        return f"with {KEY}.get_client() as {client}:", [f"{k}={v}" for k, v in given]
    if job.location is None:
        location = fresh("location", plan.mentioned)
        block, given = f"{block} as {location}", [*given, ("location", location)]
    return f"with {block}, {KEY}.get_client() as {client}:", [f"{k}={v}" for k, v in given]


def about(where: str, plan: Plan) -> str:
    load = plan.bigquery
    if isinstance(load, BigQueryQuery):
        return _about_query(where, plan, load)
    text = (f"Scaffolded by airlift-lsp from {where} ({plan.label}): the same load job into "
            f"{load.destination} with the configuration the Google provider 10.x sends, run in BigQuery "
            f"through the resource `{KEY}` (dagster-gcp's BigQueryResource: {_credentials(load)}; the table's "
            "project, when the task names none, is the client's).")
    if load.load["sourceFormat"] == "CSV" and "skipLeadingRows" not in load.load:
        text += (" The task gives no `skip_leading_rows`: the provider 10.x sends none (BigQuery's schema "
                 "detection may then take the first row for a header), 6.x sent 0; write `skipLeadingRows` "
                 "here if yours did.")
    return text


def _credentials(job: BigQueryLoad | BigQueryQuery) -> str:
    if job.connection == google_connection.DEFAULT:
        return "Application Default Credentials, what Cloud Composer's google_cloud_default is"
    return google_connection.about(job.connection)


def signature(edit: ModuleEdit, plan: Plan) -> str:
    resource = edit.imported_name("dagster_gcp", "BigQueryResource")
    return f"(context: {edit.dagster_name('AssetExecutionContext')}, {KEY}: {resource})"


def decorator_options(edit: ModuleEdit, plan: Plan) -> tuple[str, ...]:
    return (f"resource_defs={{{edit.literal(KEY)}: {CONSTANT}}}",)


def constant(edit: ModuleEdit, name: str, plan: Plan) -> str:
    return f"{name} = {edit.imported_name('dagster_gcp', 'BigQueryResource')}(){edit.newline}"


def _about_query(where: str, plan: Plan, query: BigQueryQuery) -> str:
    text = (f"Scaffolded by airlift-lsp from {where} ({plan.label}): the same query job, with the configuration "
            "the Google provider 10.x sends (as written), run in BigQuery through the resource "
            f"`{KEY}` (dagster-gcp's BigQueryResource: {_credentials(query)}; the job's project, when the task "
            "names none, is the client's). The provider 19.x also labels the job `airflow-dag` and `airflow-task`.")
    return text


def _query_tail(edit: ModuleEdit, plan: Plan, query: BigQueryQuery) -> list[str]:
    inner = 2 * len(edit.unit)
    client, job, key, configuration = (fresh(n, plan.mentioned) for n in ("client", "job", "key", "configuration"))
    config_class = edit.imported_name("google.cloud.bigquery", "QueryJobConfig")
    opened, where = _client(edit, plan, query, client)
    arguments = [f"{configuration}[{edit.literal('query')}][{edit.literal('query')}]",
                 f"job_config={config_class}.from_api_repr({configuration})", *where,
                 "job_retry=None"]  # the provider inserts the job once; BigQuery's failure fails the task
    wait = f"timeout={literal_code(edit, query.timeout)}" if query.timeout is not None else ""
    metadata = Group("metadata={", (f'"bigquery_job_id": {job}.job_id',), "}")
    result = Group(f"yield {edit.dagster_name('MaterializeResult')}(", (f"asset_key={key}", metadata), ")")
    written = literal_doc(edit, query.configuration, f"{configuration} = ")
    return [edit.render(written, len(edit.unit)) if isinstance(written, Group) else written,
            opened,
            edit.unit + edit.render(Group(f"{job} = {client}.query(", tuple(arguments), ")"), inner),
            f"{edit.unit}{job}.result({wait})  # raises when BigQuery fails the job, as the task fails",
            f"for {key} in context.selected_asset_keys:",
            edit.unit + edit.render(result, inner)]


def tail(edit: ModuleEdit, plan: Plan, places=None) -> list[str]:
    load = plan.bigquery
    if isinstance(load, BigQueryQuery):
        return _query_tail(edit, plan, load)
    inner = 2 * len(edit.unit)
    client, job, key = (fresh(n, plan.mentioned) for n in ("client", "job", "key"))
    from_api = f"{edit.imported_name('google.cloud.bigquery', 'LoadJobConfig')}.from_api_repr("
    opened, where = _client(edit, plan, load, client)
    lines = [opened]
    if isinstance(load.destination, Rendered):  # read as Airflow reads it once rendered
        table, configuration = fresh("table", plan.mentioned), fresh("load", plan.mentioned)
        lines.append(edit.unit + edit.render(Group(f"{table}, {configuration} = {TABLE_HELPER}(", (
            literal_code(edit, load.destination), literal_doc(edit, load.load)), ")"), inner))
        arguments = [literal_doc(edit, list(load.source_uris)), table,
                     f"job_config={from_api}{{{edit.literal('load')}: {configuration}}})"]
    else:
        config = literal_doc(edit, {"load": load.load}, f"job_config={from_api}")
        arguments = [literal_doc(edit, list(load.source_uris)), literal_code(edit, load.destination),
                     replace(config, close=config.close + ")")]
    arguments += where
    metadata = Group("metadata={", (f'"bigquery_job_id": {job}.job_id', f'"table": str({job}.destination)',
                                    f'"output_rows": {job}.output_rows'), "}")
    result = Group(f"yield {edit.dagster_name('MaterializeResult')}(", (f"asset_key={key}", metadata), ")")
    return [*lines,
            edit.unit + edit.render(Group(f"{job} = {client}.load_table_from_uri(", tuple(arguments), ")"), inner),
            f"{edit.unit}{job}.result()  # raises when BigQuery fails the job, as the task fails",
            f"for {key} in context.selected_asset_keys:",
            edit.unit + edit.render(result, inner)]
