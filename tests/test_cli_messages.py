"""Every message true (issue 17): what the command line says is what happened, in words a
newcomer reads right."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pytest

from tests.conftest import TUTORIAL, run_cli

STATE = "airflow_dags/proxied_state"


@pytest.fixture
def tutorial(tmp_path: Path) -> Path:
    project = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, project)
    return project


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_check_prints_the_severity_of_each_line_and_counts_in_words(tutorial: Path) -> None:
    (tutorial / STATE / "rebuild_customers_list.yaml").write_text(
        "tasks:\n  - id: load_raw_customers\n    proxied: maybe\n")
    result = run_cli("check", cwd=tutorial)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{STATE}/rebuild_customers_list.yaml:3:14: error invalid-proxied-state ")
               for line in lines), lines
    assert any(": info unmapped-task " in line for line in lines), lines
    notes = sum(": info " in line for line in lines)  # unmapped-task, and no-scaffold as families.py has it
    assert result.stderr.strip() == f"1 error, 0 warnings, {notes} note{'' if notes == 1 else 's'} in 2 DAG files"


def test_dags_counts_in_words(tutorial: Path) -> None:
    result = run_cli("dags", "airflow_dags/rebuild_customers_list.py", cwd=tutorial)
    assert result.returncode == 0, result.stderr
    assert "  rebuild_customers_list  3 tasks  " in result.stdout
    assert result.stderr.splitlines()[-1] == "1 DAG, 3 tasks in 1 file"


def test_dags_json_carries_the_stage_the_text_prints(tutorial: Path) -> None:
    assert run_cli("proxy", "rebuild_customers_list", "load_raw_customers", cwd=tutorial).returncode == 0
    data = json.loads(run_cli("dags", "airflow_dags", "--json", cwd=tutorial).stdout)
    dags = {d["dag_id"]: d for f in data["files"] for d in f["dags"]}
    rebuild = dags["rebuild_customers_list"]
    assert {t["task_id"]: t["stage"] for t in rebuild["tasks"]} == {
        "load_raw_customers": "proxied", "build_dbt_models": "observed", "export_customers": "unmapped"}
    assert rebuild["stage"] == "unmapped"  # its least advanced task
    text = run_cli("dags", "airflow_dags", cwd=tutorial).stdout
    assert "load_raw_customers  PythonOperator  proxied → Dagster" in text
    assert "build_dbt_models  BashOperator  ← load_raw_customers  observed → customers" in text
    # A DAG id defined twice has no stage: which file Airflow keeps is not known.
    outside = tutorial.parent / "elsewhere"
    outside.mkdir()
    shutil.copy(tutorial / "airflow_dags" / "rebuild_customers_list.py", outside / "other.py")
    data = json.loads(run_cli("dags", str(outside), "--json", cwd=tutorial).stdout)
    [dag] = data["files"][0]["dags"]
    assert dag["stage"] is None and {t["stage"] for t in dag["tasks"]} == {None}


def test_a_dag_id_in_two_files_is_a_finding_and_every_step_refuses_it(tutorial: Path) -> None:
    copy = tutorial / "airflow_dags" / "copies"
    copy.mkdir()
    shutil.copy(tutorial / "airflow_dags" / "daily_orders.py", copy / "daily_orders.py")
    check = run_cli("check", "--json", cwd=tutorial)
    assert check.returncode == 1
    duplicates = [f for f in json.loads(check.stdout)["findings"] if f["code"] == "duplicate-dag-id"]
    assert {f["path"] for f in duplicates} == {"airflow_dags/daily_orders.py", "airflow_dags/copies/daily_orders.py"}
    assert all(f["severity"] == "error" for f in duplicates)
    # The other file is named so that a newcomer can tell the two apart.
    assert any("also defined in airflow_dags/copies/daily_orders.py" in f["message"] for f in duplicates)
    status = run_cli("status", cwd=tutorial, env={**os.environ, "AIRFLOW_URL": f"http://127.0.0.1:{closed_port()}"})
    listed = [line for line in status.stdout.splitlines() if line.startswith("daily_orders  ")]
    assert len(listed) == 2 and all("also defined in" in line and "steps refuse this id" in line for line in listed)
    for step in (["map", "daily_orders", "extract_orders"], ["proxy", "daily_orders"],
                 ["rollback", "daily_orders"], ["scaffold", "daily_orders", "extract_orders"]):
        result = run_cli(*step, "--dry-run", cwd=tutorial)
        assert result.returncode == 1, step
        assert "`daily_orders` is defined in 2 files (airflow_dags/copies/daily_orders.py, " \
               "airflow_dags/daily_orders.py)" in result.stderr, step
        assert result.stdout == ""


def test_proxying_a_task_dagster_cannot_run_names_the_cli_fix(tutorial: Path) -> None:
    result = run_cli("proxy", "rebuild_customers_list", "load_raw_customers", cwd=tutorial)
    assert result.returncode == 0, result.stderr
    assert "No asset nodes found to trigger" in result.stderr
    assert "run `airlift-lsp scaffold rebuild_customers_list load_raw_customers`" in result.stderr
    check = run_cli("check", cwd=tutorial)
    [warning] = [line for line in check.stdout.splitlines() if "proxied-without-asset" in line]
    assert ": warning proxied-without-asset " in warning
    assert warning.endswith("(airlift-lsp scaffold rebuild_customers_list load_raw_customers)")
    # The fix it names works, and then nothing is left to warn about.
    assert run_cli("scaffold", "rebuild_customers_list", "load_raw_customers", cwd=tutorial).returncode == 0
    assert "proxied-without-asset" not in run_cli("check", cwd=tutorial).stdout


def test_rollback_with_a_dag_and_all_says_both_were_given(tutorial: Path) -> None:
    result = run_cli("rollback", "daily_orders", "--all", cwd=tutorial)
    assert result.returncode == 2
    assert result.stderr.strip() == \
        "airlift-lsp: give either a DAG_ID (and optionally TASK_IDs) or --all, not both"


@pytest.mark.parametrize("key", ["", "/", "//"])
def test_an_empty_asset_key_is_refused(tutorial: Path, key: str) -> None:
    result = run_cli("map", "daily_orders", "extract_orders", "--asset", key, "--dry-run", cwd=tutorial)
    assert result.returncode != 0 and result.stdout == ""
    assert "names no asset key" in result.stderr


@pytest.mark.parametrize(("content", "reason"), [
    (b"\x00\x01 not yaml", "binary file"),
    (b"tasks: []\n\xe9\xff\n", "not valid utf-8"),
    (b"tasks: [\n  - id: x\n", "not valid YAML"),
], ids=["binary", "not-utf8", "bad-yaml"])
def test_rollback_all_with_a_broken_state_file_exits_1_with_the_reason(tutorial: Path, content: bytes,
                                                                       reason: str) -> None:
    (tutorial / STATE / "daily_orders.yaml").write_bytes(content)
    before = (tutorial / STATE / "rebuild_customers_list.yaml").read_text()
    result = run_cli("rollback", "--all", cwd=tutorial)
    assert result.returncode == 1, result.stderr
    [error] = [line for line in result.stderr.splitlines() if line.startswith("airlift-lsp: error:")]
    assert error.startswith("airlift-lsp: error: cannot roll back daily_orders.yaml: dagster-airlift ")
    assert reason in error
    assert (tutorial / STATE / "daily_orders.yaml").read_bytes() == content  # left for the user
    assert (tutorial / STATE / "rebuild_customers_list.yaml").read_text() == before  # nothing proxied there


def test_unreadable_files_have_their_own_code(tmp_path: Path) -> None:
    (tmp_path / "binary_dag.py").write_bytes(b"airflow dag \x00\x01\x02")
    (tmp_path / "latin1_dag.py").write_bytes(b"# airflow dag\nname = '\xe9t\xe9'\n")
    (tmp_path / "huge_dag.py").write_bytes(b"# airflow dag\n" + b"x = 1\n" * 1_000_000)
    (tmp_path / "broken_dag.py").write_text("from airflow import DAG\nwith DAG('x'\n")
    result = run_cli("check", "--json", cwd=tmp_path)
    findings = {f["path"]: f for f in json.loads(result.stdout)["findings"]}
    for name, why in (("binary_dag.py", "binary file"), ("latin1_dag.py", "not valid UTF-8"),
                      ("huge_dag.py", "larger than the 5 MB limit")):
        assert findings[name]["code"] == "unreadable-file", name
        assert findings[name]["severity"] == "warning" and why in findings[name]["message"], name
    assert findings["broken_dag.py"]["code"] == "syntax-error"  # kept for real syntax errors
    assert result.returncode == 1  # the syntax error; unreadable files alone are warnings


def test_the_environment_beats_pyproject_for_the_airflow_url(tutorial: Path) -> None:
    assert 'url = "http://127.0.0.1:8080"' in (tutorial / "pyproject.toml").read_text()
    url = f"http://127.0.0.1:{closed_port()}"
    result = run_cli("status", "--json", cwd=tutorial, env={**os.environ, "AIRFLOW_URL": url})
    airflow = json.loads(result.stdout)["airflow"]
    assert airflow["url"] == url and airflow["reachable"] is False
    assert url in airflow["error"]
