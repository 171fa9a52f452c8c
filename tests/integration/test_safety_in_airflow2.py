"""Never break a DAG: each class of real-project trouble, edited through the CLI, judged by the
real Airflow 2.11 with dagster-airlift's in-Airflow side (DagBag import, the scheduler's
serialization round trip, the class of every task).

Each fixture under tests/fixtures/safety/ is a minimal project of one class found on public
repositories: tasks under a runtime condition, ids from data read at run time, TaskGroups, two
DAGs bound to one name, mapping order, unfoldable ids, one DAG id in two files, Unicode ids.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, airflow2_python, dagbag_of, run_cli

PROXY = "DefaultProxyTaskToDagsterOperator"
SAFETY = FIXTURES / "safety"

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def project(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(SAFETY / name, root)
    return root


def cli(root: Path, *args: str, ok: bool = True) -> str:
    result = run_cli(*args, cwd=root)
    assert (result.returncode == 0) is ok, result.stderr
    return result.stderr


def loads(root: Path, **env: str) -> dict:
    """The DagBag of the project's DAG folder: no import error, every DAG serializable, every
    state folder read by airlift's own loader."""
    bag = dagbag_of(airflow2_python(), root / "airflow_dags", env=env)
    assert bag["import_errors"] == {}, bag["import_errors"]
    assert bag["serialization_errors"] == {}, bag["serialization_errors"]
    for folder, states in bag["states"].items():
        assert "error" not in states, (folder, states)
    return bag


def classes(bag: dict, dag_id: str) -> dict[str, str]:
    return bag["dags"][dag_id]["classes"]


def test_conditional_tasks_are_never_written_and_the_dag_imports_either_way(tmp_path: Path) -> None:
    root = project(tmp_path, "conditional")
    notes = cli(root, "map", "nightly")
    assert "left out tasks that exist only under a runtime condition: notify_oncall, load_refunds" in notes
    refusal = cli(root, "proxy", "nightly", "notify_oncall", ok=False)
    assert "`notify_oncall` exists only when `os.environ.get('ENV') == 'prod'` holds at import" in refusal
    cli(root, "proxy", "nightly")
    state = (root / "airflow_dags" / "proxied_state" / "nightly.yaml").read_text()
    assert "notify_oncall" not in state and "load_refunds" not in state
    for env in ({}, {"ENV": "prod", "EXTRA_TABLES": "yes"}):
        found = classes(loads(root, **env), "nightly")
        assert {t for t, c in found.items() if c == PROXY} == {"base", "load_orders", "load_customers"}
        assert set(found) - {"base", "load_orders", "load_customers"} == (
            {"notify_oncall", "load_refunds"} if env else set())
    json_check = json.loads(run_cli("check", "--json", cwd=root).stdout)
    assert not [f for f in json_check["findings"] if f["severity"] == "error"]


def test_a_state_entry_for_a_conditional_task_breaks_the_import_and_rollback_repairs_it(tmp_path: Path) -> None:
    """What dagster-airlift does with an entry for a task the DAG lacks at import (the bug the
    tool used to write): the import fails; `rollback` removes the entry instead of flipping it."""
    root = project(tmp_path, "conditional")
    cli(root, "map", "nightly")
    cli(root, "proxy", "nightly", "base")
    state = root / "airflow_dags" / "proxied_state" / "nightly.yaml"
    state.write_text(state.read_text() + "  - id: notify_oncall\n    proxied: false\n")
    bag = dagbag_of(airflow2_python(), root / "airflow_dags")
    assert "Task with id `notify_oncall` not found in dag `nightly`" in json.dumps(bag["import_errors"])
    check = json.loads(run_cli("check", "--json", cwd=root).stdout)
    assert any(f["code"] == "unknown-task-in-state" and "notify_oncall" in f["message"] for f in check["findings"])
    notes = cli(root, "rollback", "--all")
    assert "removed from nightly.yaml what breaks the DAG's import" in notes
    assert "notify_oncall" not in state.read_text()
    assert PROXY not in classes(loads(root), "nightly").values()


def test_placeholder_ids_of_dynamic_tasks_are_refused(tmp_path: Path) -> None:
    root = project(tmp_path, "dynamic")
    refusal = cli(root, "map", "sources", "load_{name}", ok=False)
    assert "`load_{name}` is dynamic: its id is only known when Airflow runs the file" in refusal
    assert "left out tasks whose ids are only known when Airflow runs the file: load_{name}" in cli(
        root, "map", "sources")
    cli(root, "proxy", "sources")
    found = classes(loads(root), "sources")
    assert found == {"start": PROXY, "load_crm": "BashOperator", "load_billing": "BashOperator"}


def test_tasks_inside_task_groups_are_not_proxied_one_by_one(tmp_path: Path) -> None:
    root = project(tmp_path, "groups")
    cli(root, "map", "grouped")
    refusal = cli(root, "proxy", "grouped", "grp.a", ok=False)
    assert "`grp.a` becomes `grp.grp.a`" in refusal and "DAG level" in refusal
    assert "left out tasks inside TaskGroups" in cli(root, "proxy", "grouped")
    found = classes(loads(root), "grouped")
    assert {t for t, c in found.items() if c == PROXY} == {"start", "c"}  # `c`: its group does not prefix


def test_a_dag_with_task_groups_is_proxied_at_dag_level_and_switched_back(tmp_path: Path) -> None:
    """The way out the refusal names: the whole DAG handed to Dagster as one, then back to
    task level for the tasks that can go one by one."""
    root = project(tmp_path, "groups")
    assert "map `grouped` as a whole to a Dagster asset first" in cli(root, "proxy", "grouped", "--dag-level", ok=False)
    cli(root, "map", "grouped", "--dag-level")
    assert '"grouped": [AssetSpec(key="grouped")]' in (root / "definitions.py").read_text()
    cli(root, "proxy", "grouped", "--dag-level")
    state = root / "airflow_dags" / "proxied_state" / "grouped.yaml"
    assert state.read_text() == "proxied: true\n"
    assert classes(loads(root), "grouped") == {"DAGSTER_OVERRIDE_DAG_grouped": "DefaultProxyDAGToDagsterOperator"}
    cli(root, "rollback", "grouped", "--dag-level")
    assert state.read_text() == "proxied: false\n"
    assert "BashOperator" in classes(loads(root), "grouped").values()
    cli(root, "map", "grouped", "start")
    assert "switched grouped.yaml from DAG level to task level" in cli(root, "proxy", "grouped", "start")
    assert classes(loads(root), "grouped")["start"] == PROXY


def test_why_task_groups_are_refused_airlift_breaks_the_serialization(tmp_path: Path) -> None:
    """The refusal's reason, on the real thing: a hand-edited state file that proxies `grp.a`."""
    root = project(tmp_path, "groups")
    cli(root, "map", "grouped")
    cli(root, "proxy", "grouped", "start")
    state = root / "airflow_dags" / "proxied_state" / "grouped.yaml"
    state.write_text(state.read_text().replace("- id: grp.a\n    proxied: false", "- id: grp.a\n    proxied: true"))
    bag = dagbag_of(airflow2_python(), root / "airflow_dags")
    assert bag["import_errors"] == {}
    assert "grp.grp.a" in bag["dags"]["grouped"]["tasks"]
    assert "KeyError" in bag["serialization_errors"]["grouped"]
    check = json.loads(run_cli("check", "--json", cwd=root).stdout)
    [finding] = [f for f in check["findings"] if f["code"] == "proxy-breaks-serialization"]
    assert finding["severity"] == "error" and "grp.a" in finding["message"]


def test_a_dag_hidden_by_a_later_binding_is_bound_and_really_proxied(tmp_path: Path) -> None:
    root = project(tmp_path, "shadowed")
    cli(root, "map", "first")
    notes = cli(root, "proxy", "first", "extract")
    assert "bound the DAG to a module-level name of its own" in notes
    bag = loads(root)
    assert classes(bag, "first") == {"extract": PROXY, "load": "BashOperator"}
    assert classes(bag, "second") == {"report": "BashOperator"}


def test_asset_deps_follow_the_dag_whatever_the_order_of_mapping(tmp_path: Path) -> None:
    root = project(tmp_path, "deps_order")
    cli(root, "map", "chain", "load")
    cli(root, "map", "chain", "clean")
    module = (root / "definitions.py").read_text()
    assert '"load": [AssetSpec(key=["chain", "load"], deps=[["chain", "clean"]])]' in module
    check = json.loads(run_cli("check", "--json", cwd=root).stdout)
    assert not [f for f in check["findings"] if f["code"] == "mapping-deps-drift"]
    cli(root, "map", "chain", "extract")
    assert 'deps=[["chain", "extract"]]' in (root / "definitions.py").read_text()


def test_ids_the_model_cannot_fold_are_no_duplicate_errors(tmp_path: Path) -> None:
    root = project(tmp_path, "false_duplicates")
    loads(root)
    result = run_cli("check", cwd=root)
    assert result.returncode == 0, result.stdout
    assert "duplicate-task-id" not in result.stdout


def test_one_dag_id_in_two_files_is_an_error_and_edits_refuse_it(tmp_path: Path) -> None:
    root = project(tmp_path, "duplicate_dag_id")
    bag = dagbag_of(airflow2_python(), root / "airflow_dags")
    assert "AirflowDagDuplicatedIdException" in json.dumps(bag["import_errors"]) or \
        "already" in json.dumps(bag["import_errors"])
    result = run_cli("check", "--json", cwd=root)
    assert result.returncode == 1
    codes = {(f["path"], f["code"]) for f in json.loads(result.stdout)["findings"]}
    assert codes == {("airflow_dags/orders_v1.py", "duplicate-dag-id"), ("airflow_dags/orders_v2.py", "duplicate-dag-id")}
    assert "is defined in 2 files" in cli(root, "map", "orders", ok=False)


def test_every_dag_id_airflow_accepts_is_accepted(tmp_path: Path) -> None:
    root = project(tmp_path, "unicode_id")
    cli(root, "map", "daily_ü")
    cli(root, "proxy", "daily_ü")
    assert classes(loads(root), "daily_ü") == {"extract": PROXY}
    assert "Airflow accepts only letters" in cli(root, "map", "../escape", ok=False)
