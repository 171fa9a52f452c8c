"""The plan of a ``GCSToBigQueryOperator`` task (the Google provider): a BigQuery load job of the
task's Cloud Storage objects into its table, scaffolded as the same job run through dagster-gcp's
``BigQueryResource`` (``asset_bigquery``).

The job's configuration is the one the provider sends (``_use_existing_table`` of the Google
provider 10.x, read from its source): ``autodetect``, the create and write dispositions, the
source format, ``ignoreUnknownValues``, the schema (``schema_fields``), the time partitioning (DAY
for a ``$`` partition of the table), clustering, schema update options, ``maxBadRecords``,
encryption, labels and description, and the source format's own options, taken from
``src_fmt_configs`` or else from the task's options (``skip_leading_rows``, ``field_delimiter``,
``quote_character``, ``allow_quoted_newlines``, ``encoding``...). The sources are
``gs://<bucket>/<object>``; the destination ``<project>.<dataset>.<table>``, or the client's
project when the task names none (the provider takes its connection's). Airflow Variables in
the templated options are rendered when the asset runs (``variables``).

Refused with the reason: values that cannot be read statically, other Jinja, an option the
provider raises on (an unknown format, a source format option the format does not take), a
schema read from Cloud Storage at run time (``schema_object``), an external table, ``max_id_key``
(an XCom), a ``gcp_conn_id`` that is no string, and impersonation. Another connection than
``google_cloud_default`` runs the job with its credentials (``google_connection``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from analysis.edits.scaffold.google_connection import DEFAULT as DEFAULT_CONNECTION
from analysis.edits.scaffold.google_connection import connection_problem
from analysis.edits.scaffold.plan_common import Plan
from analysis.edits.scaffold.plan_options import provider_values
from analysis.edits.scaffold.statements import DagFile
from analysis.edits.scaffold.variables import Rendered, RenderedInRun
from analysis.facts import TaskFacts

BIGQUERY_OPERATORS = frozenset({"GCSToBigQueryOperator"})

_DEFAULTS = {"source_format": "CSV", "create_disposition": "CREATE_IF_NEEDED", "write_disposition": "WRITE_EMPTY",
             "field_delimiter": ",", "max_bad_records": 0, "quote_character": None, "ignore_unknown_values": False,
             "allow_quoted_newlines": False, "allow_jagged_rows": False, "encoding": "UTF-8",
             "skip_leading_rows": None, "autodetect": True, "schema_update_options": (), "src_fmt_configs": None,
             "time_partitioning": None, "cluster_fields": None, "encryption_configuration": None, "labels": None,
             "description": None, "location": None, "project_id": None, "schema_fields": None,
             "gcp_conn_id": DEFAULT_CONNECTION, "impersonation_chain": None, "schema_object": None,
             "schema_object_bucket": None, "external_table": False, "max_id_key": None}
"""The provider's options that change the job, with their defaults (10.x)."""
_IGNORED = frozenset({"compression", "deferrable", "result_retry", "result_timeout", "cancel_on_kill", "job_id",
                      "force_rerun", "reattach_states"})
"""Options that do not change what the job loads: ``compression`` (10.x does not send it; BigQuery
reads the objects' own), how Airflow waits, retries, cancels and names the job."""
IGNORED = {"GCSToBigQueryOperator": _IGNORED}
TEMPLATED = frozenset({"bucket", "source_objects", "schema_object", "schema_object_bucket",
                       "destination_project_dataset_table", "impersonation_chain", "src_fmt_configs"})
"""The operator's ``template_fields``: Airflow Variables there are rendered (``variables``)."""
PARAMETERS = frozenset({"bucket", "source_objects", "destination_project_dataset_table", *_DEFAULTS, *_IGNORED})
_FORMATS = {
    "CSV": ("allowJaggedRows", "allowQuotedNewlines", "autodetect", "fieldDelimiter", "skipLeadingRows",
            "ignoreUnknownValues", "nullMarker", "quote", "encoding"),
    "DATASTORE_BACKUP": ("projectionFields",),
    "NEWLINE_DELIMITED_JSON": ("autodetect", "ignoreUnknownValues"),
    "PARQUET": ("autodetect", "ignoreUnknownValues"),
    "AVRO": ("useAvroLogicalTypes",),
}
"""Per source format, the load options the provider lets it take (its ``src_fmt_to_configs_mapping``)."""
_BACKWARD = {"skipLeadingRows": "skip_leading_rows", "fieldDelimiter": "field_delimiter",
             "ignoreUnknownValues": "ignore_unknown_values", "quote": "quote_character",
             "allowQuotedNewlines": "allow_quoted_newlines", "encoding": "encoding"}
"""The format options the provider takes from the task's own options when ``src_fmt_configs``
does not give them."""


@dataclass(frozen=True, slots=True)
class BigQueryLoad:
    """A load job: its sources, its destination (``dataset.table`` or ``project.dataset.table``,
    a ``Rendered`` string when a Variable gives it), its ``configuration.load`` without them, and
    the job's own project and location (None: the client's)."""

    source_uris: tuple[object, ...]
    destination: object
    load: dict
    project: object = None
    location: object = None
    connection: str = DEFAULT_CONNECTION
    """The Airflow connection whose credentials run the job (``google_connection``)."""


def bigquery_plan(dag: DagFile, task: TaskFacts, call: ast.Call) -> Plan | str:
    name = f"task `{task.task_id}`"
    read = provider_values(dag, task, call, PARAMETERS, _DEFAULTS, "GCSToBigQueryOperator as the Google "
                           "provider 10.x has it", templated=TEMPLATED, ignored=_IGNORED)
    if isinstance(read, str):
        return read
    values, variables = read
    load = _load(values, name)
    if isinstance(load, str):
        return load
    return Plan("BigQuery", task.operator, (), None, frozenset(), False, frozenset(), {}, frozenset(),
                bigquery=load, variables=variables)


def _load(values: dict, name: str) -> BigQueryLoad | str:
    refused = _refused(values, name)
    if refused:
        return refused
    for option in ("bucket", "destination_project_dataset_table"):
        if not isinstance(values.get(option), str) or not values[option]:
            return f"the `{option}` of {name} is not a string"
    objects = values.get("source_objects")
    objects = [objects] if isinstance(objects, str) else objects
    if not (isinstance(objects, list) and objects and all(isinstance(o, str) for o in objects)):
        return f"the `source_objects` of {name} is neither a string nor a list of strings"
    source_format = values["source_format"].upper() if isinstance(values["source_format"], str) else None
    if source_format not in _FORMATS:
        return f"the `source_format` of {name} ({values['source_format']!r}) is not one the provider 10.x loads"
    bucket = values["bucket"]
    uris = tuple(_joined("gs://", bucket, "/", o) for o in objects)
    table = values["destination_project_dataset_table"]
    destination = _destination(table)
    if destination is None:
        return f"the `destination_project_dataset_table` of {name} ({table!r}) is not `(project.)dataset.table`"
    load = {"autodetect": values["autodetect"], "createDisposition": values["create_disposition"],
            "sourceFormat": source_format, "writeDisposition": values["write_disposition"],
            "ignoreUnknownValues": values["ignore_unknown_values"]}
    partitioning = {"type": "DAY"} if "$" in table and not isinstance(table, Rendered) else {}
    partitioning.update(values["time_partitioning"] or {})
    extra = [("timePartitioning", partitioning), ("clustering", {"fields": values["cluster_fields"]}
                                                   if values["cluster_fields"] else None),
             ("schema", {"fields": values["schema_fields"]} if values["schema_fields"] else None)]
    options = values["schema_update_options"]
    if options:
        if not set(options) <= {"ALLOW_FIELD_ADDITION", "ALLOW_FIELD_RELAXATION"} or \
                values["write_disposition"] not in ("WRITE_APPEND", "WRITE_TRUNCATE"):
            return f"the `schema_update_options` of {name} are refused by the provider 10.x: scaffold it by hand"
        extra.append(("schemaUpdateOptions", list(options)))
    extra += [("maxBadRecords", values["max_bad_records"] or None),
              ("destinationEncryptionConfiguration", values["encryption_configuration"] or None)]
    properties = {k: values[o] for k, o in (("labels", "labels"), ("description", "description")) if values[o]}
    extra.append(("destinationTableProperties", properties or None))
    load.update((k, v) for k, v in extra if v)
    formats = values["src_fmt_configs"] or {}
    if not isinstance(formats, dict) or any(k not in _FORMATS[source_format] for k in formats):
        return (f"the `src_fmt_configs` of {name} holds options that {source_format} does not take in the "
                "provider 10.x, which raises on them: scaffold it by hand")
    formats = {**{k: values[o] for k, o in _BACKWARD.items() if k in _FORMATS[source_format]}, **formats}
    load.update((k, v) for k, v in formats.items() if v is not None)  # None: BigQuery's default
    if values["allow_jagged_rows"]:
        load["allowJaggedRows"] = values["allow_jagged_rows"]
    return BigQueryLoad(uris, destination, load, values["project_id"], values["location"], values["gcp_conn_id"])


def _refused(values: dict, name: str) -> str | None:
    credentials = connection_problem(values, name, "loads")
    if credentials:
        return credentials
    if values["schema_object"] and not values["schema_fields"]:
        return (f"{name} reads its schema from Cloud Storage when it runs (`schema_object`): "
                "write it as `schema_fields` and scaffold again, or scaffold it by hand")
    if values["external_table"]:
        return f"{name} creates an external table (`external_table`): scaffold it by hand"
    if values["max_id_key"]:
        return f"{name} returns the greatest `max_id_key` as its XCom: scaffold it by hand"
    if not values["schema_fields"] and values["autodetect"] is False:
        return f"{name} has no schema and no `autodetect`: the provider raises"
    return None


def _joined(*parts: str) -> str:
    """Strings joined, a ``Rendered`` one when a part reads Variables (``RenderedInRun`` when one
    reads the run's values)."""
    text = "".join(parts)
    if any(isinstance(p, RenderedInRun) for p in parts):
        return RenderedInRun(text)
    return Rendered(text) if any(isinstance(p, Rendered) for p in parts) else text


def _destination(table: str) -> str | None:
    """``[project.]dataset.table`` as BigQuery's client takes it, from the provider's
    ``(project:|project.)dataset.table``; a ``Rendered`` one as it is (``asset_bigquery`` reads it
    when it runs, as below); None where the provider raises."""
    if isinstance(table, Rendered):
        return table
    split = split_table(table)
    return None if split is None else ".".join(p for p in split if p is not None)


def split_table(table: str) -> tuple[str | None, str, str] | None:
    """The project (None: the connection's), dataset and table of ``table`` as the Google
    provider's ``split_tablename`` reads ``(project:|project.)dataset.table``; None where it raises
    (or would send an empty name). ``asset_bigquery.TABLE_HELPER`` reads it the same way."""
    if "." not in table or table.count(".") + table.count(":") > 3:
        return None
    project, rest = None, table
    head, colon, tail = table.rpartition(":")
    if colon and head.count(":") > 1:
        return None
    if colon and tail.count(".") != 2:
        project, rest = head, tail
    parts = rest.split(".")
    if len(parts) == 3 and project is None:
        project, parts = parts[0], parts[1:]
    if len(parts) != 2 or not all(parts) or project == "" or "." in (project or ""):
        return None  # an empty name, or a project BigQuery's client would read as part of the dataset
    return project, parts[0], parts[1]
