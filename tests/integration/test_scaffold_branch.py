"""Branch and short-circuit scaffolds run for real: the tasks of
tests/fixtures/scaffold/branch_dag.py, scaffolded, materialize in real Dagster and only what the
callable chooses is materialized; an asset downstream of a short-circuited one is skipped in the
same run, as Airflow skips the downstream tasks. What Airflow would choose is the callables' own
return, computed here from the same arguments (``airflow tasks test`` keeps no task states to
read the skips from).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import scaffold_task
from tests.integration.test_scaffold_runs import MATERIALIZE, dagster_python

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
DAG = FIXTURES / "branch_dag.py"
SELECTIONS = {
    # pick_load(6) returns "full_load"
    "choose": ("load_choice,branch/choose/full_load,branch/choose/incremental_load",
               ["branch/choose/full_load", "load_choice"]),
    # len([]) > 0 is False: nothing, and orders_summary downstream is skipped
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
    text = (FIXTURES / "branch_module.py").read_text()
    for task_id in SELECTIONS:
        result = scaffold_task(DAG.read_text(), str(DAG), "branch", task_id, text)
        assert result.changed, result.reason
        text = result.text
    (root / "definitions.py").write_text(text)
    tasks = [t.task_id for t in extract_file(str(DAG), DAG.read_text()).dag("branch").tasks]
    result = subprocess.run(
        [dagster_python(), str(MATERIALIZE), str(root / "definitions.py"),
         "--airflow", json.dumps({"branch": tasks}),
         *(a for selection, _ in SELECTIONS.values() for a in ("--asset", selection))],
        capture_output=True, text=True, timeout=600, cwd=root, check=False,
        env={**os.environ, "DAGSTER_HOME": str(root)})
    assert result.returncode == 0, result.stderr[-4000:]
    return {run["asset"]: run for run in json.loads(result.stdout)["runs"]}


@pytest.mark.parametrize("task_id", list(SELECTIONS))
def test_only_what_the_callable_chooses_is_materialized(task_id, runs):
    selection, expected = SELECTIONS[task_id]
    run = runs[selection]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == expected
