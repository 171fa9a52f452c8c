"""Never break a DAG, the classes that corpus/migrate_all.py found on public projects: each one
reduced to a minimal fixture under tests/fixtures/safety/, edited through the CLI as a user
would, and judged by the real Airflow 2.11 with dagster-airlift's in-Airflow side (DagBag
import, the scheduler's serialization round trip, the class of every task).

Every test asserts the good outcome: the step refuses with a clear, one-line reason and writes
nothing, or the edited project loads and Airflow runs airlift's proxy operator exactly where the
state file says; and ``check`` has an error finding on a file Airflow refuses, and none on a file
it loads. Tests the tool still fails are ``xfail(strict=True)`` with the diagnosis: they turn
into failures (XPASS) as soon as the tool is fixed, and the mark is then removed.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import FIXTURES, airflow2_python, dagbag_of, run_cli

PROXY = "DefaultProxyTaskToDagsterOperator"
DAG_PROXY = "DefaultProxyDAGToDagsterOperator"
SAFETY = FIXTURES / "safety"

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def project(tmp_path: Path, name: str) -> Path:
    root = tmp_path / name
    shutil.copytree(SAFETY / name, root)
    return root


def bag_of(root: Path) -> dict:
    """Airflow 2.11's DagBag of the DAG folder; a ``vendor/`` folder of the fixture stands for
    libraries installed in the deployment (on Airflow's sys.path, outside the workspace's)."""
    env = {"PYTHONPATH": str(root / "vendor")} if (root / "vendor").is_dir() else None
    return dagbag_of(airflow2_python(), root / "airflow_dags", env=env)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts}


def error_findings(root: Path) -> list[dict]:
    result = run_cli("check", "--json", cwd=root)
    return [f for f in json.loads(result.stdout)["findings"] if f["severity"] == "error"]


def state_of(root: Path, dag_id: str) -> dict | None:
    path = root / "airflow_dags" / "proxied_state" / f"{dag_id}.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else None


def assert_readable_refusal(stderr: str) -> None:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("airlift-lsp: "), stderr
    reason = lines[-1].rstrip()
    assert not reason.endswith(":"), f"the refusal does not say why: {reason!r}"
    assert len(reason.split(": ", 1)[1]) > 20, reason


def assert_safe_step(root: Path, *args: str) -> dict | None:
    """Run one CLI step. A refusal: one readable line, nothing written. Otherwise: the project
    still loads in Airflow 2.11 + airlift, and every task the state file proxies (or the whole
    DAG, at DAG level) is airlift's proxy operator. Returns the DagBag after a written step."""
    before = tree(root)
    result = run_cli(*args, cwd=root)
    if result.returncode != 0:
        assert_readable_refusal(result.stderr)
        assert tree(root) == before, "a refused step wrote files"
        return None
    bag = bag_of(root)
    assert bag["import_errors"] == {}, bag["import_errors"]
    assert bag["serialization_errors"] == {}, bag["serialization_errors"]
    for dag_id, dag in bag["dags"].items():
        state = state_of(root, dag_id)
        if not state:
            continue
        if state.get("proxied") is True:
            assert set(dag["classes"].values()) == {DAG_PROXY}, (dag_id, dag["classes"])
            continue
        for item in state.get("tasks") or []:
            assert item["id"] in dag["classes"], f"the state names `{item['id']}`, which {dag_id} lacks"
            if item["proxied"]:
                assert dag["classes"][item["id"]] == PROXY, (dag_id, item, dag["classes"])
    return bag


# --------------------------------------------------------------------------- match statements
# The static model once read `match` as if it did nothing: the helper fell off its end and returned
# None, so f"vacuum{env_suffix(env)}" folded to `vacuumNone` for both environments (Airflow:
# `vacuum`, `vacuum-test`): a false duplicate-task-id error, and `vacuumNone` written by proxy.
def test_ids_from_a_helper_with_a_match_statement_are_no_duplicate_error(tmp_path: Path) -> None:
    root = project(tmp_path, "match_statement")
    bag = bag_of(root)
    assert bag["import_errors"] == {} and set(bag["dags"]["cleanup"]["tasks"]) == {"vacuum", "vacuum-test"}
    assert error_findings(root) == []


def test_ids_from_a_helper_with_a_match_statement_are_never_written_wrong(tmp_path: Path) -> None:
    root = project(tmp_path, "match_statement")
    assert_safe_step(root, "map", "cleanup")
    bag = assert_safe_step(root, "proxy", "cleanup")
    assert bag is not None and bag["dags"]["cleanup"]["classes"] == {"vacuum": PROXY, "vacuum-test": PROXY}


# --------------------------------------------------------------------------- calls with task_id= that make no task
# An unknown library class called with task_id= inside the DAG (JobBuilder(task_id=...), mozilla's
# DataProcJobBuilder) was read as an operator: the operator that really has the id became a
# certain duplicate, an error on a file Airflow loads. It is now a guess the operator wins over.
def test_a_library_call_with_task_id_is_no_duplicate_error(tmp_path: Path) -> None:
    root = project(tmp_path, "non_operator_task_id")
    bag = bag_of(root)
    assert bag["import_errors"] == {}
    assert bag["dags"]["spark_job"]["classes"] == {"run_pyspark": "PythonOperator"}
    assert error_findings(root) == []


# --------------------------------------------------------------------------- one DAG under two global names
# airlift's proxying_to_dagster walks globals().values(): a DAG bound to two names (globals()[dag_id]
# = dag, and the loop variable) is proxied twice; at DAG level the second pass adds
# DAGSTER_OVERRIDE_DAG_<id> again and Airflow raises DuplicateTaskIdFound. The step is refused, and
# check has an error for a state file that does it.


def test_dag_level_proxying_of_a_dag_bound_to_two_names(tmp_path: Path) -> None:
    root = project(tmp_path, "dag_bound_twice")
    assert_safe_step(root, "map", "refresh_audio", "--dag-level")
    refused = run_cli("proxy", "refresh_audio", "--dag-level", cwd=root)
    assert refused.returncode != 0 and "DAGSTER_OVERRIDE_DAG_refresh_audio" in refused.stderr, refused.stderr
    assert_safe_step(root, "proxy", "refresh_audio", "--dag-level")  # one readable line, nothing written


def test_check_flags_a_dag_level_state_that_breaks_a_dag_bound_to_two_names(tmp_path: Path) -> None:
    root = project(tmp_path, "dag_bound_twice")
    assert run_cli("map", "refresh_audio", "--dag-level", cwd=root).returncode == 0  # mapped: no other error
    dag_file = root / "airflow_dags" / "refresh.py"
    dag_file.write_text(dag_file.read_text() + (
        "\nfrom pathlib import Path\n"
        "from dagster_airlift.in_airflow import proxying_to_dagster\n"
        "from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml\n"
        "proxying_to_dagster(global_vars=globals(),\n"
        "                    proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / \"proxied_state\"))\n"))
    (root / "airflow_dags" / "proxied_state").mkdir()
    (root / "airflow_dags" / "proxied_state" / "refresh_audio.yaml").write_text("proxied: true\n")
    bag = bag_of(root)
    assert "DuplicateTaskIdFound" in bag["import_errors"]["refresh.py"]
    flagged = {f["path"] for f in error_findings(root)}
    assert flagged & {"airflow_dags/refresh.py", "airflow_dags/proxied_state/refresh_audio.yaml"}, flagged


def test_task_level_proxying_of_a_dag_bound_to_two_names_loads(tmp_path: Path) -> None:
    """At task level the second pass wraps the proxy again, which Airflow accepts: the edit is safe."""
    root = project(tmp_path, "dag_bound_twice")
    assert run_cli("map", "refresh_audio", cwd=root).returncode == 0
    bag = assert_safe_step(root, "proxy", "refresh_audio")
    assert bag is not None and bag["dags"]["refresh_audio"]["classes"] == {"create_view": PROXY, "drop_view": PROXY}


# --------------------------------------------------------------------------- a DAG with no task known statically
def test_a_dag_with_no_task_known_statically_gets_a_reason(tmp_path: Path) -> None:
    """A DAG whose tasks the static model cannot see (made by an installed library): `map` once said
    'every task is already mapped', `proxy` refused with no reason after its colon."""
    root = project(tmp_path, "unseen_tasks")
    assert bag_of(root)["dags"]["report"]["classes"] == {"report": "EmptyOperator"}
    for step in ("map", "proxy"):
        result = run_cli(step, "report", cwd=root)
        assert result.returncode != 0 and "every task is already mapped" not in result.stderr, result.stderr
        assert "`add_report_task(...)`" in result.stderr and "--dag-level" in result.stderr, result.stderr
        assert_safe_step(root, step, "report")


def test_a_dag_with_no_task_known_statically_is_proxied_at_dag_level(tmp_path: Path) -> None:
    """The way out that works today: the whole DAG handed to Dagster."""
    root = project(tmp_path, "unseen_tasks")
    assert run_cli("map", "report", "--dag-level", cwd=root).returncode == 0
    bag = assert_safe_step(root, "proxy", "report", "--dag-level")
    assert bag is not None and bag["dags"]["report"]["classes"] == {"DAGSTER_OVERRIDE_DAG_report": DAG_PROXY}
