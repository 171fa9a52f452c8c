"""``airlift-lsp verify`` and ``--verify`` against the real tools: Airflow 2.11.2 with
dagster-airlift 0.29.27 (proxying checked), Airflow 3.3.2 (model, imports, serialization) and
Dagster 1.13 with dagster-airlift's core side."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REPO, TUTORIAL, airflow2_python, airflow3_python, run_cli

VERIFY = FIXTURES / "verify"

pytestmark = [pytest.mark.airflow, pytest.mark.slow]


def dagster_python() -> str:
    python = os.environ.get("DAGSTER_PYTHON") or str(REPO / ".cache" / "dagster" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"Dagster venv missing at {python}: run `make dagster` (make test does it)")
    return python


@pytest.fixture(autouse=True)
def no_fixture_switches(monkeypatch) -> None:
    monkeypatch.delenv("AIRLIFT_VERIFY_FIXTURE_EXTRA", raising=False)


def project(source: Path, tmp_path: Path) -> Path:
    root = tmp_path / source.name
    shutil.copytree(source, root)
    return root


def verify(root: Path, python: str, *extra: str) -> tuple[int, dict]:
    result = run_cli("verify", "--airflow-python", python, "--json", *extra, cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def step(root: Path, *args: str) -> None:
    result = run_cli(*args, cwd=root)
    assert result.returncode == 0, result.stderr


def files_of(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_the_tutorial_verifies_at_every_stage_in_airflow2(tmp_path: Path) -> None:
    root = project(TUTORIAL, tmp_path)
    stages = [
        ("as is", []),
        ("map", ["map", "rebuild_customers_list", "export_customers"]),
        ("proxy a task", ["proxy", "rebuild_customers_list", "load_raw_customers"]),
        ("proxy the DAG's tasks", ["proxy", "rebuild_customers_list"]),
        ("rollback --all", ["rollback", "--all"]),
    ]
    for stage, args in stages:
        if args:
            step(root, *args)
        code, report = verify(root, airflow2_python())
        assert (stage, code, report["findings"]) == (stage, 0, []), stage
        assert report["airflow_version"] == "2.11.2" and report["summary"]["proxying_checked"]
        assert report["summary"]["dags"] == 2 and report["summary"]["import_errors"] == 0


def test_the_tutorial_proxied_at_dag_level_verifies_in_airflow2(tmp_path: Path) -> None:
    root = project(TUTORIAL, tmp_path)
    step(root, "map", "rebuild_customers_list", "--dag-level")
    step(root, "proxy", "rebuild_customers_list", "--dag-level")
    code, report = verify(root, airflow2_python())
    assert (code, report["findings"]) == (0, [])
    step(root, "rollback", "rebuild_customers_list", "--dag-level")
    assert verify(root, airflow2_python())[0] == 0


def test_the_tutorial_verifies_in_airflow3(tmp_path: Path) -> None:
    root = project(TUTORIAL, tmp_path)
    code, report = verify(root, airflow3_python())
    assert (code, report["findings"]) == (0, [])
    assert report["airflow_version"].startswith("3.") and not report["summary"]["proxying_checked"]
    step(root, "map", "rebuild_customers_list")
    assert verify(root, airflow3_python())[0] == 0


CLASSES = [
    # (a) the state names a task created only under `if os.environ.get(...)`
    ("conditional_task", "verify-import-error", "dags/reports.py", 19,
     ["Task with id `extra` not found in dag `reports`", "only when `os.environ.get("]),
    # (b) a proxied task in a TaskGroup: airlift's grp.grp.a cannot be read back
    ("task_group", "verify-serialization", "dags/grouped.py", 10,
     ["the scheduler and webserver cannot read DAG `grouped`", "KeyError: 'grp.a'", "`grp.grp.a`"]),
    # (c) two DAGs bound to `dag`: the first DAG's proxied task still runs its operator
    ("rebound_dag", "verify-not-proxied", "dags/two_dags.py", 10,
     ["proxies `load`, but Airflow still runs its BashOperator", "not held by a module-level name"]),
    # (d) no proxying_to_dagster call at all
    ("missing_hook", "verify-not-proxied", "dags/no_hook.py", 9,
     ["proxies `extract`", "never calls `proxying_to_dagster`"]),
]


@pytest.mark.parametrize(("fixture", "code", "path", "line", "words"), CLASSES, ids=[c[0] for c in CLASSES])
def test_hand_edited_state_fails_with_the_right_finding(tmp_path: Path, fixture, code, path, line, words) -> None:
    root = project(VERIFY / fixture, tmp_path)
    exit_code, report = verify(root, airflow2_python())
    assert exit_code == 1
    [finding] = [f for f in report["findings"] if f["code"] == code]
    assert (finding["path"], finding["range"]["start"]["line"] + 1) == (path, line)
    for word in words:
        assert word in finding["message"]


def test_airflow3_reports_import_and_serialization_failures(tmp_path: Path) -> None:
    root = project(VERIFY / "unregistered_timetable", tmp_path)
    code, report = verify(root, airflow3_python())
    [finding] = report["findings"]
    assert (code, finding["code"], finding["path"]) == (1, "verify-serialization", "dags/morning_report.py")
    assert "Timetable class 'morning_report.EveryMorning' is not registered" in finding["message"]
    root = project(VERIFY / "conditional_task", tmp_path)
    code, report = verify(root, airflow3_python())
    [finding] = report["findings"]
    assert (finding["code"], finding["range"]["start"]["line"]) == ("verify-import-error", 15)
    assert "No module named 'dagster_airlift'" in finding["message"]


def test_verify_refuses_an_edit_that_adds_a_failure_and_writes_nothing(tmp_path: Path) -> None:
    root = project(VERIFY / "prefixed_ids", tmp_path)  # the model misreads the ids on purpose
    step(root, "map", "prefixed", "load")
    before = files_of(root)
    args = ["proxy", "prefixed", "load", "--verify", "--airflow-python", airflow2_python()]
    dry = run_cli(*args, "--dry-run", cwd=root)
    assert dry.returncode == 1, dry.stderr
    assert "+proxying_to_dagster(" in dry.stdout and "b/dags/proxied_state/prefixed.yaml" in dry.stdout
    assert "dags/prefixed.py:24:1: verify-import-error" in dry.stderr
    assert "nothing would be written" in dry.stderr
    result = run_cli(*args, cwd=root)
    assert result.returncode == 1
    assert "Task with id `extract` not found in dag `prefixed`" in result.stderr
    assert "the edit adds 1 failure" in result.stderr and "nothing written" in result.stderr
    assert files_of(root) == before
    # The model's four pre-existing mismatches did not block the map above.
    code, report = verify(root, airflow2_python())
    assert code == 1 and {f["code"] for f in report["findings"]} == {"verify-model-mismatch"}


def test_verify_lets_a_sound_edit_through(tmp_path: Path) -> None:
    root = project(TUTORIAL, tmp_path)
    dry = run_cli("proxy", "rebuild_customers_list", "load_raw_customers", "--verify", "--dry-run",
                  "--airflow-python", airflow2_python(), cwd=root)
    assert dry.returncode == 0, dry.stderr
    assert "-PROXYING = False" in dry.stdout and "no new failure" in dry.stderr
    assert "PROXYING = False" in (root / "airflow_dags" / "rebuild_customers_list.py").read_text()
    result = run_cli("proxy", "rebuild_customers_list", "load_raw_customers", "--verify",
                     "--airflow-python", airflow2_python(), cwd=root)
    assert result.returncode == 0, result.stderr
    assert "no new failure" in result.stderr
    assert "PROXYING = True" in (root / "airflow_dags" / "rebuild_customers_list.py").read_text()
    state = (root / "airflow_dags" / "proxied_state" / "rebuild_customers_list.yaml").read_text()
    assert "id: load_raw_customers\n    proxied: true" in state


def test_the_dagster_side_loads_the_tutorial_module(tmp_path: Path) -> None:
    root = project(TUTORIAL, tmp_path)
    code, report = verify(root, airflow2_python(), "--dagster-python", dagster_python())
    assert (code, report["findings"]) == (0, [])
    assert report["summary"]["dagster_checked"] and report["dagster_version"].startswith("1.13")


def test_the_dagster_side_fails_a_proxied_task_with_only_asset_specs(tmp_path: Path) -> None:
    root = project(TUTORIAL, tmp_path)
    step(root, "proxy", "rebuild_customers_list", "load_raw_customers")
    code, report = verify(root, airflow2_python(), "--dagster-python", dagster_python())
    [finding] = report["findings"]
    assert (code, finding["code"]) == (1, "verify-dagster")
    assert finding["path"] == "airflow_dags/proxied_state/rebuild_customers_list.yaml"
    assert "No asset nodes found to trigger" in finding["message"]
