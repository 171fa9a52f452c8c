"""The plan of a ``BigQueryInsertJobOperator`` task (the Google provider) whose job is a query: the
same query job run through dagster-gcp's ``BigQueryResource`` (``asset_bigquery``).

The provider 10.x sends the task's ``configuration`` as written (``QueryJob.from_api_repr`` then
``_begin``, read from its source), in the job's project (``project_id``, else its connection's)
and ``location``, then waits for the job (``result_timeout``) and fails when BigQuery fails it.
The scaffold sends the same configuration through the client's ``query``, which reads it as
``QueryJobConfig.from_api_repr`` does and sends it as written, but for one field:
google-cloud-bigquery's ``QueryJob`` sets ``useLegacySql: false`` when the configuration gives
none, where the provider sends none and BigQuery then chooses the dialect itself (a
``#standardSQL`` first line, the project's default SQL dialect, else legacy SQL). So a
configuration without ``useLegacySql`` is refused with that said: the user writes the dialect
the task runs. Airflow Variables in the templated options (``configuration``, ``project_id``)
are rendered when the asset runs (``variables``).

Refused with the reason: values that cannot be read statically, other Jinja, a configuration that
is no query job (a load, copy or extract) or gives no ``useLegacySql``, an empty
``project_id``, a string of it ending in the operator's
``template_ext`` (``.sql``, ``.json``: Airflow renders that file), ``force_rerun=False`` (Airflow
runs the job once per logical date, which a Dagster run does not have), a ``gcp_conn_id`` that is
no string, and impersonation. Another connection than ``google_cloud_default`` runs the job with
its credentials (``google_connection``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from analysis.edits.scaffold.google_connection import DEFAULT as DEFAULT_CONNECTION
from analysis.edits.scaffold.google_connection import connection_problem
from analysis.edits.scaffold.plan_common import Plan
from analysis.edits.scaffold.plan_options import provider_values
from analysis.edits.scaffold.statements import DagFile
from analysis.facts import TaskFacts

JOB_OPERATORS = frozenset({"BigQueryInsertJobOperator"})

_DEFAULTS = {"project_id": None, "location": None, "gcp_conn_id": DEFAULT_CONNECTION,
             "impersonation_chain": None, "force_rerun": True, "result_timeout": None}
"""The provider's options that change the job, with their defaults (10.x)."""
_IGNORED = frozenset({"job_id", "reattach_states", "cancel_on_kill", "result_retry", "deferrable", "poll_interval"})
"""Options that do not change what the job runs: how Airflow names the job (``job_id``: a
prefix of it), reattaches to it (only without ``force_rerun``), retries its polls, waits and
cancels it."""
IGNORED = {"BigQueryInsertJobOperator": _IGNORED}
TEMPLATED = frozenset({"configuration", "job_id", "impersonation_chain", "project_id"})
"""The operator's ``template_fields`` (10.x; 19.x adds ``gcp_conn_id``)."""
_TEMPLATE_EXT = (".json", ".sql")
PARAMETERS = frozenset({"configuration", *_DEFAULTS, *_IGNORED})
_OTHER_JOBS = ("load", "copy", "extract")


@dataclass(frozen=True, slots=True)
class BigQueryQuery:
    """A query job: its ``configuration`` as the provider sends it, and the job's project, location
    and wait (None: the client's, BigQuery's, none)."""

    configuration: dict
    project: object = None
    location: object = None
    timeout: object = None
    connection: str = DEFAULT_CONNECTION
    """The Airflow connection whose credentials run the job (``google_connection``)."""


def bigquery_job_plan(dag: DagFile, task: TaskFacts, call: ast.Call) -> Plan | str:
    name = f"task `{task.task_id}`"
    read = provider_values(dag, task, call, PARAMETERS, _DEFAULTS, "BigQueryInsertJobOperator as the Google "
                           "provider 10.x has it", templated=TEMPLATED, ignored=_IGNORED,
                           checked=lambda o, v: _template_file(name, o, v))
    if isinstance(read, str):
        return read
    values, variables = read
    query = _query(values, name)
    if isinstance(query, str):
        return query
    return Plan("BigQuery", task.operator, (), None, frozenset(), False, frozenset(), {}, frozenset(),
                bigquery=query, variables=variables)


def _query(values: dict, name: str) -> BigQueryQuery | str:
    credentials = connection_problem(values, name, "runs its job")
    if credentials:
        return credentials
    if values["force_rerun"] is not True:
        return (f"{name} has `force_rerun={values['force_rerun']!r}`: Airflow runs its job once per logical date "
                "(a second run reattaches or fails), which a Dagster run does not have: scaffold it by hand")
    configuration = values.get("configuration")
    if not isinstance(configuration, dict):
        return f"the `configuration` of {name} is not a dict (a job configuration of BigQuery's REST API)"
    other = next((kind for kind in _OTHER_JOBS if kind in configuration), None)
    if other is not None:
        return (f"{name} runs a `{other}` job: the scaffold writes query jobs (a `GCSToBigQueryOperator` "
                "writes loads); scaffold it by hand")
    query = configuration.get("query")
    if not isinstance(query, dict) or not isinstance(query.get("query"), str) or not query["query"].strip():
        return f"the `configuration` of {name} holds no `query.query` SQL: the provider raises on it"
    if not isinstance(query.get("useLegacySql"), bool):
        return (f"the `configuration` of {name} gives no `useLegacySql`: the provider sends none, and BigQuery "
                "then chooses the dialect (a `#standardSQL` first line, the project's default SQL dialect, else "
                "legacy SQL), where google-cloud-bigquery's client sends false; write `useLegacySql` in the "
                "task's configuration and scaffold again")
    if values["project_id"] == "":
        return f"the `project_id` of {name} is empty: the provider takes its connection's project; leave it out"
    timeout = values["result_timeout"]
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))):
        return f"the `result_timeout` of {name} is not a number of seconds"
    return BigQueryQuery(configuration, values["project_id"], values["location"], timeout, values["gcp_conn_id"])


def _template_file(name: str, option: str, value: object) -> str | None:
    """A string of a templated option ending in the operator's ``template_ext``: Airflow renders
    the file it names, not the string."""
    if option not in TEMPLATED:
        return None
    found = _ending(value)
    if found is None:
        return None
    return (f"the `{option}` of {name} holds {found!r}, which ends in `{found.rsplit('.', 1)[-1]}`: Airflow reads "
            "and renders that file (the operator's template_ext): scaffold it by hand")


def _ending(value: object) -> str | None:
    if isinstance(value, str):
        return value if value.endswith(_TEMPLATE_EXT) else None  # as Airflow reads it: no strip
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return next((found for found in map(_ending, items) if found is not None), None)
