"""The command line as CI and shell users meet it: contracts, exit codes, bad input."""

import json
import shutil
from pathlib import Path

from tests.conftest import FIXTURES, TUTORIAL, run_cli


def test_dags_json_follows_the_contract() -> None:
    result = run_cli("dags", "airflow_dags", "--json", cwd=TUTORIAL)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    files = {f["path"]: f for f in data["files"]}
    assert set(files) == {"airflow_dags/daily_orders.py", "airflow_dags/rebuild_customers_list.py"}
    rebuild = files["airflow_dags/rebuild_customers_list.py"]
    assert rebuild["error"] is None
    [dag] = rebuild["dags"]
    assert set(dag) == {"dag_id", "range", "tasks", "dynamic", "source", "stage"}
    assert dag["dag_id"] == "rebuild_customers_list" and dag["dynamic"] is False and dag["source"] == "static"
    assert dag["stage"] == "unmapped"  # its least advanced task; the text output prints each
    assert [(t["task_id"], t["operator"], t["upstream"]) for t in dag["tasks"]] == [
        ("load_raw_customers", "PythonOperator", []),
        ("build_dbt_models", "BashOperator", ["load_raw_customers"]),
        ("export_customers", "PythonOperator", ["build_dbt_models"]),
    ]
    task = dag["tasks"][1]
    assert set(task) == {"task_id", "operator", "range", "upstream", "dynamic", "conditional", "stage"}
    assert task["conditional"] is False
    assert [t["stage"] for t in dag["tasks"]] == ["observed", "observed", "unmapped"]
    assert set(task["range"]) == {"start", "end"} and set(task["range"]["start"]) == {"line", "character"}
    source_line = (TUTORIAL / "airflow_dags/rebuild_customers_list.py").read_text().splitlines()[
        task["range"]["start"]["line"]]
    assert source_line[task["range"]["start"]["character"]:].startswith("BashOperator(")


def test_dags_reports_broken_and_unreadable_files_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "broken_dag.py").write_text("from airflow import DAG\nwith DAG('x'\n")
    (tmp_path / "latin1_dag.py").write_bytes(b"# airflow dag\nname = '\xe9t\xe9'\n")
    (tmp_path / "binary_dag.py").write_bytes(b"airflow dag \x00\x01\x02")
    (tmp_path / "huge_dag.py").write_bytes(b"# airflow dag\n" + b"x = 1\n" * 2_000_000)
    result = run_cli("dags", ".", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    errors = {f["path"]: f["error"] for f in json.loads(result.stdout)["files"]}
    assert errors["broken_dag.py"].startswith("line 2, column 9: invalid Python")
    assert "not valid UTF-8" in errors["latin1_dag.py"]
    assert "binary" in errors["binary_dag.py"]
    assert "larger than" in errors["huge_dag.py"]


def test_missing_path_is_one_line_on_stderr_and_exit_2(tmp_path: Path) -> None:
    result = run_cli("dags", "nope.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "airlift-lsp: nope.py: no such file or directory"
    assert run_cli("check", "nowhere", cwd=tmp_path).returncode == 2


def test_check_on_the_tutorial_has_no_error(tmp_path: Path) -> None:
    result = run_cli("check", "--json", cwd=TUTORIAL)
    assert result.returncode == 0, result.stdout + result.stderr
    findings = json.loads(result.stdout)["findings"]
    # What is left to port by hand follows the scaffold registry (families.py), which grows.
    from analysis.edits.scaffold.families import scaffold_family

    for note in (f for f in findings if f["code"] == "no-scaffold"):
        operator = note["message"].split("`")[1]
        assert note["severity"] == "information" and scaffold_family(operator) is None, note
    assert {(f["code"], f["severity"], f["path"]) for f in findings if f["code"] != "no-scaffold"} == {
        ("unmapped-task", "information", "airflow_dags/rebuild_customers_list.py"),
        ("missing-proxying-call", "information", "airflow_dags/rebuild_customers_list.py"),
    }
    [switched_off] = [f for f in findings if f["code"] == "missing-proxying-call"]
    assert "guard is false" in switched_off["message"]
    assert switched_off["related"][0]["path"] == "airflow_dags/proxied_state/rebuild_customers_list.yaml"


def test_check_finds_migration_mistakes_and_exits_1(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(TUTORIAL, project)
    state = project / "airflow_dags" / "proxied_state"
    (state / "rebuild_customers_list.yaml").write_text(
        "tasks:\n  - id: load_raw_customers\n    proxied: true\n"
        "  - id: export_customers\n    proxied: true\n  - id: load_old\n    proxied: false\n")
    (state / "retired_dag.yaml").write_text("proxied: false\n")
    result = run_cli("check", cwd=project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    state_file = "airflow_dags/proxied_state/rebuild_customers_list.yaml"
    assert f"{state_file}:6:9: warning unknown-task-in-state" in "\n".join(lines)
    assert any(line.startswith(f"{state_file}:5:14: error proxied-without-asset") for line in lines)
    assert any(line.startswith("airflow_dags/rebuild_customers_list.py:") and "error missing-proxying-call" in line
               for line in lines)
    assert any("retired_dag.yaml:1:1: warning state-for-unknown-dag" in line for line in lines)


def test_invalid_state_file_is_reported_at_its_line(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(TUTORIAL, project)
    (project / "airflow_dags" / "proxied_state" / "rebuild_customers_list.yaml").write_text(
        "tasks:\n  - id: load_raw_customers\n    proxied: maybe\n")
    result = run_cli("check", "--json", cwd=project)
    assert result.returncode == 1
    [finding] = [f for f in json.loads(result.stdout)["findings"] if f["code"] == "invalid-proxied-state"]
    assert finding["range"]["start"]["line"] == 2


def test_dags_folder_of_fixtures_in_human_form() -> None:
    result = run_cli("dags", str(FIXTURES / "dags"))
    assert result.returncode == 0
    assert "groups  11 tasks" in result.stdout
    assert "per_item.add_one  @task [mapped]" in result.stdout
