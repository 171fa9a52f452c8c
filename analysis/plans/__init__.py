"""Plans of the migration steps: which files change, and how, for map / proxy / roll back / decommission.

Pure: a plan is computed from the project model and the files' current texts (the
caller's ``read`` decides whether an editor buffer or the disk is the truth) and is
applied by the caller — atomically on disk by the CLI, as a ``WorkspaceEdit`` by the
server. A step that would break Airflow or Dagster at runtime is refused with a reason.

The project model says where things are (which file defines a DAG, which files are Dagster
modules); every fact a plan uses about a file it reads (a DAG's line, its tasks, a state
file's level, the mappings) is derived from the very text it reads, never from an older
one: a buffer typed into since the last analysis, or a file changed on disk without a
watcher event, would otherwise get an edit placed by positions of other code.
"""

from analysis.plans.files import (
    MAX_DAG_ID,
    FileChange,
    Plan,
    Read,
    Refused,
    Sources,
    check_dag_id,
    refuse_if_unreadable,
    state_path,
)
from analysis.plans.decommission import LastRun, Runs, plan_decommission
from analysis.plans.mapping import DEFAULT_DAGSTER_MODULE, derived_asset_key, plan_map, plan_scaffold
from analysis.plans.proxying import plan_enable_proxying, plan_proxy, plan_rollback

__all__ = [
    "DEFAULT_DAGSTER_MODULE", "MAX_DAG_ID", "FileChange", "LastRun", "Plan", "Read", "Refused", "Runs", "Sources",
    "check_dag_id", "derived_asset_key", "plan_decommission", "plan_enable_proxying", "plan_map", "plan_proxy",
    "plan_rollback", "plan_scaffold",
    "refuse_if_unreadable", "state_path",
]
