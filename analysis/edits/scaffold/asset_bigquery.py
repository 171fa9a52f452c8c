"""The asset of a ``GCSToBigQueryOperator`` task: the same BigQuery load job (``plan_bigquery``),
run through dagster-gcp's ``BigQueryResource`` (a dependency of the generated code: dagster-gcp
of the Dagster release, 0.29 for Dagster 1.13, with google-cloud-bigquery).

The asset takes ``context`` and the resource ``bigquery`` (the key Dagster's docs use), declared
on the asset with ``resource_defs`` as the module-level ``BIGQUERY`` = ``BigQueryResource()`` that
every such asset shares: its client reads Application Default Credentials and their project,
what Cloud Composer's ``google_cloud_default`` connection is (set ``project`` or ``location``
there, or bind your own ``bigquery``). Its body starts the load with the client's
``load_table_from_uri``: the task's ``gs://`` sources, its table, and the provider's
``configuration.load`` as ``LoadJobConfig.from_api_repr`` reads it (sent as it is); then waits
for the job, which raises when BigQuery fails it, as the Airflow task fails. Each asset is
materialized with the job's id, table and ``output_rows`` as metadata.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from analysis.edits.layout import Group
from analysis.edits.scaffold.asset_commands import fresh
from analysis.edits.scaffold.asset_pipes import literal_code, literal_doc
from analysis.edits.scaffold.plan import Plan

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit

KEY = "bigquery"
CONSTANT = "BIGQUERY"
CONSTANTS = (CONSTANT,)
DEFINITIONS: dict[str, tuple[str, tuple[str, ...]]] = {}


def owns(name: str) -> bool:
    return name == CONSTANT


def problem(plan: Plan) -> str | None:
    return None


def helpers(plan: Plan) -> list[str]:
    return [CONSTANT]


def about(where: str, plan: Plan) -> str:
    load = plan.bigquery
    return (f"Scaffolded by airlift-lsp from {where} ({plan.label}): the same load job into "
            f"{load.destination} with the configuration the Google provider sends, run in BigQuery through "
            f"the resource `{KEY}` (dagster-gcp's BigQueryResource: Application Default Credentials, what "
            "Cloud Composer's google_cloud_default is; the table's project, when the task names none, is "
            "the client's).")


def signature(edit: ModuleEdit, plan: Plan) -> str:
    resource = edit.imported_name("dagster_gcp", "BigQueryResource")
    return f"(context: {edit.dagster_name('AssetExecutionContext')}, {KEY}: {resource})"


def decorator_options(edit: ModuleEdit, plan: Plan) -> tuple[str, ...]:
    return (f"resource_defs={{{edit.literal(KEY)}: {CONSTANT}}}",)


def constant(edit: ModuleEdit, name: str, plan: Plan) -> str:
    return f"{name} = {edit.imported_name('dagster_gcp', 'BigQueryResource')}(){edit.newline}"


def tail(edit: ModuleEdit, plan: Plan, places=None) -> list[str]:
    load = plan.bigquery
    inner = 2 * len(edit.unit)
    client, job, key = (fresh(n, plan.mentioned) for n in ("client", "job", "key"))
    config = literal_doc(edit, {"load": load.load}, f"job_config={edit.imported_name('google.cloud.bigquery', 'LoadJobConfig')}"
                                                    ".from_api_repr(")
    arguments = [literal_doc(edit, list(load.source_uris)), literal_code(edit, load.destination),
                 replace(config, close=config.close + ")")]
    arguments += [f"{k}={literal_code(edit, v)}" for k, v in (("project", load.project), ("location", load.location))
                  if v is not None]
    metadata = Group("metadata={", (f'"bigquery_job_id": {job}.job_id', f'"table": str({job}.destination)',
                                    f'"output_rows": {job}.output_rows'), "}")
    result = Group(f"yield {edit.dagster_name('MaterializeResult')}(", (f"asset_key={key}", metadata), ")")
    return [f"with {KEY}.get_client() as {client}:",
            edit.unit + edit.render(Group(f"{job} = {client}.load_table_from_uri(", tuple(arguments), ")"), inner),
            f"{edit.unit}{job}.result()  # raises when BigQuery fails the job, as the task fails",
            f"for {key} in context.selected_asset_keys:",
            edit.unit + edit.render(result, inner)]
