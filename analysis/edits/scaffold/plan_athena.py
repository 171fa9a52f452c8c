"""The plan of an ``AthenaOperator`` task (the Amazon provider; ``AWSAthenaOperator`` is its old
name, which Airflow 2's ``airflow.contrib`` still hands on to it): the same query started in
Athena through dagster-aws's ``AthenaClientResource`` (``asset_athena``).

The provider 9.x (read from its source) starts the query with ``start_query_execution``: the
query, ``query_execution_context`` with the task's ``database`` (when given) and ``catalog``
(``AwsDataCatalog`` by default), ``result_configuration`` with its ``output_location`` (when
given), the ``workgroup`` (``primary``) and its ``client_request_token``; then polls the query
every ``sleep_time`` seconds (30), at most ``max_polling_attempts`` times, and fails the task
when Athena fails or cancels the query, or when it has not ended. It pushes the query
execution id to XCom. The asset does the same, with the options as given (the generated
helper merges them as the operator does, once Variables or the run's values are rendered).

Refused with the reason: values that cannot be read statically, Jinja other than Variables and
the run's values, a ``query`` that ends in ``.sql`` (the operator's ``template_ext``: Airflow
reads and renders that file), a ``region_name``, ``verify`` or ``botocore_config`` (dagster-aws's
resource takes them from boto3's environment), an ``execution_timeout`` (Airflow stops the query
when it passes), and options the scaffold does not carry. A templated string without Jinja is
sent as Airflow renders it all the same (line ends made newlines, one final newline dropped).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from analysis.edits.scaffold.plan_common import Plan
from analysis.edits.scaffold.plan_options import provider_values
from analysis.edits.scaffold.plan_sql import resource_key
from analysis.edits.scaffold.statements import DagFile
from analysis.facts import TaskFacts

ATHENA_OPERATORS = frozenset({"AthenaOperator", "AWSAthenaOperator"})

_DEFAULTS = {"database": None, "catalog": "AwsDataCatalog", "output_location": None, "workgroup": "primary",
             "client_request_token": None, "query_execution_context": None, "result_configuration": None,
             "sleep_time": 30, "max_polling_attempts": None, "aws_conn_id": "aws_default",
             "region_name": None, "verify": None, "botocore_config": None}
"""The provider's options that change the query or how it is waited for, with their defaults (9.x)."""
_IGNORED = frozenset({"log_query", "deferrable"})
"""Options that do not change the query: whether Airflow logs it, and waits in the triggerer."""
IGNORED = dict.fromkeys(ATHENA_OPERATORS, _IGNORED)
TEMPLATED = frozenset({"query", "database", "output_location", "workgroup", "catalog",
                       "aws_conn_id", "region_name", "verify"})
"""The operator's ``template_fields`` (9.x: its own and ``aws_template_fields``')."""
PARAMETERS = frozenset({"query", *_DEFAULTS, *_IGNORED})
HELPER_OPTIONS = ("database", "catalog", "output_location", "workgroup", "query_execution_context",
                  "result_configuration", "client_request_token", "sleep_time", "max_polling_attempts")
"""The options the generated helper takes, in its order: each given only when not the default."""
_ENVIRONMENT = ("region_name", "verify", "botocore_config")


@dataclass(frozen=True, slots=True)
class AthenaQuery:
    """The query, the connection's resource key, and the options given that are not defaults."""

    conn_id: str | None
    resource_key: str
    query: object
    options: tuple[tuple[str, object], ...]


def athena_plan(dag: DagFile, task: TaskFacts, call: ast.Call) -> Plan | str:
    name = f"task `{task.task_id}`"
    read = provider_values(dag, task, call, PARAMETERS, _DEFAULTS, "AthenaOperator as the Amazon provider 9.x "
                           "has it", templated=TEMPLATED, ignored=_IGNORED, checked=lambda o, v: _checked(name, o, v))
    if isinstance(read, str):
        return read
    values, variables = read
    given = {k.arg for k in call.keywords} | {n for n, _, _ in task.arguments or ()} | set(task.default_keys or ())
    if "execution_timeout" in given:  # the operator's own docstring sends users there
        return (f"{name} has an `execution_timeout`: Airflow stops its query when it passes (the operator's "
                "`on_kill`), which the scaffold does not carry: scaffold it by hand")
    query = values.get("query")
    if not isinstance(query, str) or not query.strip():
        return f"{name} has no `query` written out (a string)"
    conn_id = values["aws_conn_id"]
    if conn_id is not None and (not isinstance(conn_id, str) or "{{" in conn_id):
        return f"the `aws_conn_id` of {name} is not a connection id written out"
    key = "athena_" + resource_key(conn_id) if conn_id else "athena"
    options = tuple((option, values[option]) for option in HELPER_OPTIONS if values[option] != _DEFAULTS[option])
    return Plan("Athena", task.operator, (), None, frozenset(), False, frozenset(), {}, frozenset(),
                athena=AthenaQuery(conn_id, key, query, options), variables=variables)


def _checked(name: str, option: str, value: object) -> str | None:
    """Why a value cannot be carried before it is rendered, or None."""
    if option in _ENVIRONMENT and value is not None:
        return (f"{name} sets `{option}`: dagster-aws's AthenaClientResource takes the region and TLS "
                "settings from boto3's environment (AWS_DEFAULT_REGION, AWS_CA_BUNDLE): scaffold it by hand")
    if option in TEMPLATED and isinstance(value, str) and value.endswith(".sql"):  # as Airflow reads it: no strip
        return (f"the `{option}` of {name} is {value!r}, which ends in `.sql`: Airflow reads and renders that file "
                "(the operator's template_ext): scaffold it by hand")
    if option in ("query_execution_context", "result_configuration") and value is not None \
            and not isinstance(value, dict):
        return f"the `{option}` of {name} is not a dict (Athena's {_API_NAMES[option]})"
    if option == "sleep_time" and value is not None \
            and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
        return f"the `sleep_time` of {name} is not a number of seconds"
    if option == "max_polling_attempts" and value is not None \
            and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        return f"the `max_polling_attempts` of {name} is not a whole number of polls"
    return None


_API_NAMES = {"query_execution_context": "QueryExecutionContext", "result_configuration": "ResultConfiguration"}
