"""The parameters of an Airflow or provider operator that its scaffold reads (the families planned
from values: ``plan.BY_VALUES`` and the written-out ``PythonOperator``/``BashOperator``), with
every operator's own (``BaseOperator``'s).

A project class the team runs as its base (``analysis.edits.scaffold.derived``) may set attributes
of its own in ``__init__`` (``self.metric = metric``): the base never reads those, and they stay
in Airflow with the class's methods. One it sets under a name of these (``self.image = ...``
after handing arguments on) changes what the base runs with: refused.
"""

from __future__ import annotations

from analysis.edits.scaffold import plan_athena, plan_bigquery, plan_bigquery_job, plan_gke
from analysis.edits.scaffold.plan_containers import CONTAINER_OPERATORS, container_parameters
from analysis.edits.scaffold.plan_options import BASE_OPERATOR, BASH_PARAMETERS, PYTHON_PARAMETERS
from analysis.edits.scaffold.plan_sql import SQL_OPERATORS, sql_parameters

_BY_OPERATOR = {
    "BashOperator": BASH_PARAMETERS, "PythonOperator": PYTHON_PARAMETERS,
    **dict.fromkeys(plan_bigquery.BIGQUERY_OPERATORS, plan_bigquery.PARAMETERS),
    **dict.fromkeys(plan_bigquery_job.JOB_OPERATORS, plan_bigquery_job.PARAMETERS),
    **dict.fromkeys(plan_athena.ATHENA_OPERATORS, plan_athena.PARAMETERS),
    **dict.fromkeys(plan_gke.CLUSTER_OPERATORS, plan_gke.CLUSTER_PARAMETERS),
}


def operator_parameters(operator: str) -> frozenset[str] | None:
    """The parameters of ``operator`` its scaffold may read, with ``BaseOperator``'s; None for an
    operator whose parameters are not listed here (the sensors, ``TriggerDagRunOperator``)."""
    if operator in CONTAINER_OPERATORS:
        return container_parameters(operator) | BASE_OPERATOR
    if operator in SQL_OPERATORS:
        return sql_parameters(operator) | BASE_OPERATOR
    found = _BY_OPERATOR.get(operator)
    return found | BASE_OPERATOR if found is not None else None
