"""Rewrites of project files as pure functions: text in, ``EditResult`` out (see ``result``).

``dagster_mappings`` maps Airflow tasks to Dagster assets in the Dagster module;
``proxying_hook`` adds (or switches on) the ``proxying_to_dagster`` call of a DAG file.
"""

from analysis.edits.dagster_mappings import NewMapping, add_task_mappings, new_module_text
from analysis.edits.proxying_hook import add_proxying_hook
from analysis.edits.result import EditResult

__all__ = ["EditResult", "NewMapping", "add_proxying_hook", "add_task_mappings", "new_module_text"]
