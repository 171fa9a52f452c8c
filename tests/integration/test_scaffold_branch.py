"""Branch and short-circuit scaffolds run for real: the tasks of
tests/fixtures/scaffold/branch_dag.py, scaffolded, materialize in real Dagster and only what the
callable chooses is materialized; an asset downstream of a short-circuited one is skipped in the
same run, as Airflow skips the downstream tasks. What Airflow chooses is read from its own runs
of the same tasks (``airflow tasks test`` in Airflow 2.11: "Returned value was: ..." for a
branch's task ids, "Condition result is ..." for a short-circuit), and must agree with the
expected selections written here.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import airflow_tasks_test, materialize, runs_by_asset

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
DAG = FIXTURES / "branch_dag.py"
SELECTIONS = {
    # pick_load(6) returns "full_load"
    "choose": ("load_choice,branch/choose/full_load,branch/choose/incremental_load",
               ["branch/choose/full_load", "load_choice"]),
    # len([]) > 0 is False (the lambda takes `**context` and reads none of it: called without one):
    # nothing, and orders_summary downstream is skipped
    "has_orders": ("orders_present,orders_summary", []),
    # is_weekend(6) is True: the asset and the one downstream run
    "is_weekend": ("weekend,weekend_summary", ["weekend", "weekend_summary"]),
    # pick_region(["eu"]) returns ["load_eu"]
    "pick_region": ("regions,branch/pick_region/load_eu,branch/pick_region/load_us",
                    ["branch/pick_region/load_eu", "regions"]),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("branch")
    (root / "definitions.py").write_text(
        scaffold_every_task(DAG, "branch", SELECTIONS, (FIXTURES / "branch_module.py").read_text()))
    tasks = [t.task_id for t in extract_file(str(DAG), DAG.read_text()).dag("branch").tasks]
    return runs_by_asset(materialize(root / "definitions.py", {"branch": tasks},
                                     [selection for selection, _ in SELECTIONS.values()], cwd=root))


@pytest.fixture(scope="module")
def airflow_logs(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("branch_airflow")
    (root / "dags").mkdir()
    shutil.copy(DAG, root / "dags" / DAG.name)
    return airflow_tasks_test(root / "dags", "branch", SELECTIONS, home=root, cwd=root)


def airflow_choice(task_id: str, log: str) -> list[str]:
    """What Airflow's run materializes in Dagster terms: for a short-circuit, its assets (with
    the one downstream) or nothing; for a branch, its own asset and the branches followed."""
    selection, _ = SELECTIONS[task_id]
    keys = selection.split(",")
    condition = re.search(r"Condition result is (True|False)", log)
    if condition:
        return sorted(keys) if condition.group(1) == "True" else []
    returned = re.search(r"Returned value was: (.*)", log).group(1)  # a string bare, a list by repr
    if returned.startswith("["):
        returned = ast.literal_eval(returned)
    followed = [returned] if isinstance(returned, str) else list(returned)
    return sorted([keys[0], *(f"branch/{task_id}/{t}" for t in followed)])


@pytest.mark.parametrize("task_id", list(SELECTIONS))
def test_only_what_the_callable_chooses_is_materialized(task_id, runs, airflow_logs):
    selection, expected = SELECTIONS[task_id]
    run = runs[selection]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == expected
    assert airflow_choice(task_id, airflow_logs[task_id]) == expected
