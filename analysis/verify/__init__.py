"""``airlift-lsp verify``: what the project's own Airflow and Dagster load, against the static
model. The probes run elsewhere (``server/verify``); here are their records and the pure
comparisons, each disagreement one ``Finding`` with verify's own codes (source
``airlift-verify``, apart from the ``airlift`` diagnostics of ``check``)."""

from analysis.verify.airflow import (
    IMPORT_ERROR,
    MODEL_MISMATCH,
    NOT_PROXIED,
    PROXIED_STATE,
    SERIALIZATION,
    UNEXPECTED_PROXY,
    compare_airflow,
)
from analysis.verify.dagster import DAGSTER, airflow_structure, compare_dagster
from analysis.verify.gate import moved, new_findings, summary
from analysis.verify.records import AirflowReport, BadReport, DagsterReport

SOURCE = "airlift-verify"
CODES = (IMPORT_ERROR, SERIALIZATION, MODEL_MISMATCH, NOT_PROXIED, UNEXPECTED_PROXY, PROXIED_STATE, DAGSTER)

__all__ = [
    "CODES", "DAGSTER", "IMPORT_ERROR", "MODEL_MISMATCH", "NOT_PROXIED", "PROXIED_STATE", "SERIALIZATION", "SOURCE",
    "UNEXPECTED_PROXY", "AirflowReport", "BadReport", "DagsterReport", "airflow_structure", "compare_airflow",
    "compare_dagster", "moved", "new_findings", "summary",
]
