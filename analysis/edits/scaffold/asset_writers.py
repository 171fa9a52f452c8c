"""Which code a scaffold adds besides the asset: the family writers by ``Plan.kind`` (the end of
the body, the signature, the decorator's options and the module-level definitions each needs),
and the module-level definitions no family owns (``places``, ``variables``, ``run_values``,
``exceptions``). ``asset.ModuleEdit`` writes with them."""

from __future__ import annotations

from types import ModuleType

from analysis.edits.scaffold import (
    asset_athena,
    asset_bigquery,
    asset_containers,
    asset_dbt,
    asset_gke,
    asset_pipes,
    asset_sensors,
    asset_sql,
    google_connection,
    run_values,
)
from analysis.edits.scaffold.exceptions import DEFINITIONS as EXCEPTION_DEFINITIONS
from analysis.edits.scaffold.places import HELPERS
from analysis.edits.scaffold.variables import CLASS as VARIABLE_CLASS
from analysis.edits.scaffold.variables import CLASS_DEFINITION as VARIABLE_DEFINITION
from analysis.edits.scaffold.variables import DEFINITION as RENDER_DEFINITION
from analysis.edits.scaffold.variables import HELPER as RENDER_HELPER

DEFINITIONS = {**{name: (text, ("os", "sys")) for name, text in HELPERS.items()},
               RENDER_HELPER: RENDER_DEFINITION, VARIABLE_CLASS: VARIABLE_DEFINITION, **EXCEPTION_DEFINITIONS,
               run_values.HELPER: run_values.HELPER_DEFINITION, run_values.RENDER: run_values.RENDER_DEFINITION,
               google_connection.HELPER: google_connection.DEFINITION}
"""The module-level definitions no family writer owns: their text and the modules it uses."""

WRITERS = {"Pipes": asset_pipes, "Container": asset_containers, "SQL": asset_sql, "BigQuery": asset_bigquery,
           "Athena": asset_athena, "GKE cluster": asset_gke, "Sensor": asset_sensors, "dbt": asset_dbt}
"""The families whose asset takes resources, by ``Plan.kind``."""


def owner(name: str) -> ModuleType | None:
    """The family writer whose module-level definition ``name`` is, if any."""
    return next((w for w in WRITERS.values() if w.owns(name)), None)


def is_helper(name: str) -> bool:
    """Whether a top-level name is one of the definitions scaffolds add to the module."""
    return name in DEFINITIONS or owner(name) is not None
