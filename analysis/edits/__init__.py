"""Rewrites of project files as pure functions: text in, ``EditResult`` out (see ``result``).

``dagster_mappings`` maps Airflow tasks to Dagster assets in the Dagster module (writing the
code of ``mapping_code``); ``scaffold``
turns a task's mapping into an executable ``@multi_asset`` doing what the task did;
``proxying_hook`` adds (or switches on) the ``proxying_to_dagster`` call of a DAG file, and
``dag_globals`` binds its DAGs to module-level names. ``layout`` and ``imports`` are the libcst
plumbing they share.
"""

from analysis.edits.dagster_mappings import add_dag_mapping, add_task_mappings
from analysis.edits.mapping_code import NewMapping, new_module_text
from analysis.edits.proxying_hook import add_proxying_hook
from analysis.edits.result import EditResult

__all__ = ["EditResult", "NewMapping", "add_dag_mapping", "add_proxying_hook", "add_task_mappings", "new_module_text"]
