"""verify's comparison, without Airflow or Dagster: the static model of each fixture project
against what the real probes printed for it (recorded by ``tests/support/record_probes.py``
from Airflow 2.11.2 + dagster-airlift 0.29.27, Airflow 3.3.2 and Dagster 1.13)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from analysis.facts import Finding, Range, Severity
from analysis.project import Layout, Project, discover
from analysis.verify import (
    AirflowReport,
    BadReport,
    DagsterReport,
    airflow_structure,
    compare_airflow,
    compare_dagster,
    moved,
    new_findings,
)
from tests.conftest import FIXTURES, TUTORIAL, run_cli

VERIFY = FIXTURES / "verify"
RECORDED = VERIFY / "recorded"


def copy(source: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(source, root)
    return root


def project_of(root: Path) -> Project:
    from server.settings import load_settings

    settings, _ = load_settings(str(root))
    return discover(Layout(str(root), settings.dag_folders, settings.dagster_module))


def recorded(name: str, root: Path) -> dict:
    return json.loads((RECORDED / name).read_text().replace("{root}", str(root)))


def airflow(name: str, root: Path) -> AirflowReport:
    return AirflowReport.from_json(recorded(f"{name}.airflow.json", root))


def fixture(name: str, tmp_path: Path) -> tuple[Project, AirflowReport, Path]:
    root = copy(VERIFY / name, tmp_path)
    return project_of(root), airflow(name, root), root


def codes(findings: list[Finding]) -> list[str]:
    return sorted(f.code for f in findings)


# -- the tutorial: everything agrees ------------------------------------------------------------

def test_the_tutorial_agrees_with_airflow_and_dagster(tmp_path: Path) -> None:
    root = copy(TUTORIAL, tmp_path)
    project = project_of(root)
    report = airflow("tutorial", root)
    assert compare_airflow(project, report) == []
    assert report.airlift_version == "0.29.27"
    dagster = DagsterReport.from_json(recorded("tutorial.dagster.json", root))
    assert compare_dagster(project, dagster) == []


def test_a_proxied_task_mapped_only_to_asset_specs_has_nothing_to_run(tmp_path: Path) -> None:
    root = copy(TUTORIAL, tmp_path)
    assert run_cli("proxy", "rebuild_customers_list", "load_raw_customers", cwd=root).returncode == 0
    project = project_of(root)
    report = airflow("tutorial_proxied_task", root)
    assert compare_airflow(project, report) == []
    proxied = {t.task_id: t.proxy for t in report.dag("rebuild_customers_list").tasks}
    assert proxied == {"load_raw_customers": "task", "build_dbt_models": None, "export_customers": None}
    [finding] = compare_dagster(project, DagsterReport.from_json(recorded("tutorial_proxied_task.dagster.json", root)))
    assert finding.code == "verify-dagster"
    assert finding.path == str(root / "airflow_dags" / "proxied_state" / "rebuild_customers_list.yaml")
    assert "`load_raw_customers` is proxied" in finding.message
    assert "only AssetSpecs" in finding.message and "No asset nodes found to trigger" in finding.message
    assert finding.related and finding.related[0].path.endswith("definitions.py")


# -- the four classes of hand-edited YAML ---------------------------------------------------------

def test_a_state_file_naming_a_conditional_task_is_an_import_error(tmp_path: Path) -> None:
    project, report, root = fixture("conditional_task", tmp_path)
    [finding] = compare_airflow(project, report)
    assert finding.code == "verify-import-error" and finding.severity is Severity.ERROR
    assert finding.path == str(root / "dags" / "reports.py")
    assert finding.range == Range.of(18, 0, 19, 0)  # the proxying_to_dagster call
    assert "Task with id `extra` not found in dag `reports`" in finding.message
    assert "only when `os.environ.get('AIRLIFT_VERIFY_FIXTURE_EXTRA')` holds" in finding.message


def test_a_proxied_task_in_a_task_group_breaks_serialization(tmp_path: Path) -> None:
    project, report, _ = fixture("task_group", tmp_path)
    [task] = [t for t in report.dag("grouped").tasks if t.proxy == "task"]
    assert (task.task_id, task.registered_as) == ("grp.grp.a", ("grp.a",))
    serialization, renamed = sorted(compare_airflow(project, report), key=lambda f: f.range.start)
    assert serialization.code == "verify-serialization"
    assert "the scheduler and webserver cannot read DAG `grouped`" in serialization.message
    assert "cannot read it back (KeyError: 'grp.a')" in serialization.message
    assert "named it `grp.grp.a`" in serialization.message
    assert renamed.code == "verify-model-mismatch" and "`grp.grp.a`, not `grp.a`" in renamed.message
    assert project.entry("grouped").dag.task("grp.a").id_range == renamed.range


def test_a_dag_hidden_by_a_later_binding_is_not_proxied(tmp_path: Path) -> None:
    project, report, root = fixture("rebound_dag", tmp_path)
    [finding] = compare_airflow(project, report)
    assert finding.code == "verify-not-proxied"
    assert "the state file proxies `load`, but Airflow still runs its BashOperator" in finding.message
    assert "not held by a module-level name" in finding.message
    assert finding.range == project.entry("first").dag.task("load").id_range
    assert finding.related[0].path == str(root / "dags" / "proxied_state" / "first.yaml")


def test_a_proxied_task_without_the_proxying_call_is_not_proxied(tmp_path: Path) -> None:
    project, report, _ = fixture("missing_hook", tmp_path)
    [finding] = compare_airflow(project, report)
    assert finding.code == "verify-not-proxied"
    assert "`extract`" in finding.message and "never calls `proxying_to_dagster`" in finding.message


def test_without_airlift_in_the_interpreter_proxying_is_not_judged(tmp_path: Path) -> None:
    project, report, _ = fixture("missing_hook", tmp_path)
    assert compare_airflow(project, replace(report, airlift_version=None)) == []


# -- the model against Airflow --------------------------------------------------------------------

def test_tasks_the_model_reads_wrong_are_reported_both_ways(tmp_path: Path) -> None:
    project, report, _ = fixture("prefixed_ids", tmp_path)
    messages = sorted(f.message for f in compare_airflow(project, report))
    assert codes(compare_airflow(project, report)) == ["verify-model-mismatch"] * 4
    assert messages == [
        "Airflow's DAG `prefixed` has a task `etl_extract` (PrefixedBashOperator) that the static model does not see",
        "Airflow's DAG `prefixed` has a task `etl_load` (PrefixedBashOperator) that the static model does not see",
        "Airflow's DAG `prefixed` has no task `extract`, which the static model reads here",
        "Airflow's DAG `prefixed` has no task `load`, which the static model reads here",
    ]


def test_a_dag_the_processor_cannot_serialize(tmp_path: Path) -> None:
    root = copy(VERIFY / "unregistered_timetable", tmp_path)
    project = project_of(root)
    report = airflow("unregistered_timetable.airflow3", root)
    assert report.airflow_version.startswith("3.")
    [finding] = compare_airflow(project, report)
    assert finding.code == "verify-serialization"
    assert "Airflow's DAG processor cannot serialize it" in finding.message
    assert "Timetable class 'morning_report.EveryMorning' is not registered" in finding.message  # unmangled


def test_dags_only_one_side_has(tmp_path: Path) -> None:
    root = copy(TUTORIAL, tmp_path)
    project = project_of(root)
    report = airflow("tutorial", root)
    gone = replace(report, dags=tuple(d for d in report.dags if d.dag_id != "daily_orders"))
    [missing] = compare_airflow(project, gone)
    assert missing.code == "verify-model-mismatch" and "Airflow loads no DAG `daily_orders`" in missing.message
    assert missing.path.endswith("daily_orders.py")
    extra = replace(report.dag("daily_orders"), dag_id="generated_daily_orders")
    [unknown] = compare_airflow(project, replace(report, dags=(*report.dags, extra)))
    assert "Airflow loads DAG `generated_daily_orders` from this file" in unknown.message


def test_edges_that_differ(tmp_path: Path) -> None:
    root = copy(TUTORIAL, tmp_path)
    project = project_of(root)
    report = airflow("tutorial", root)
    dag = report.dag("rebuild_customers_list")
    rewired = tuple(replace(t, upstream=()) if t.task_id == "export_customers" else t for t in dag.tasks)
    [finding] = compare_airflow(project, replace(report, dags=tuple(
        replace(d, tasks=rewired) if d is dag else d for d in report.dags)))
    assert finding.message == ("Airflow runs `export_customers` after no task; the static model reads it after "
                               "`build_dbt_models`")


def test_proxy_operators_the_state_does_not_ask_for(tmp_path: Path) -> None:
    root = copy(TUTORIAL, tmp_path)
    project = project_of(root)
    report = airflow("tutorial", root)
    dag = report.dag("rebuild_customers_list")
    tasks = tuple(replace(t, proxy="task", operator="DefaultProxyTaskToDagsterOperator")
                  if t.task_id == "build_dbt_models" else t for t in dag.tasks)
    [finding] = compare_airflow(project, replace(report, dags=tuple(
        replace(d, tasks=tasks) if d is dag else d for d in report.dags)))
    assert finding.code == "verify-unexpected-proxy"
    assert "hands `build_dbt_models` to Dagster" in finding.message


def test_a_dag_level_state_needs_the_dag_replaced(tmp_path: Path) -> None:
    root = copy(TUTORIAL, tmp_path)
    (root / "airflow_dags" / "proxied_state" / "rebuild_customers_list.yaml").write_text("proxied: true\n")
    project = project_of(root)
    report = replace(airflow("tutorial", root), state_folders=())  # recorded with the task-level file
    [finding] = compare_airflow(project, report)
    assert finding.code == "verify-not-proxied"
    assert "proxies the whole DAG `rebuild_customers_list`, but Airflow runs 3 tasks" in finding.message
    assert "switched off" in finding.message  # the tutorial's PROXYING = False
    override = replace(report.dag("rebuild_customers_list"), tasks=(replace(
        report.dag("rebuild_customers_list").tasks[0], task_id="DAGSTER_OVERRIDE_DAG_rebuild_customers_list",
        proxy="dag", upstream=()),))
    replaced = replace(report, dags=tuple(override if d.dag_id == override.dag_id else d for d in report.dags))
    assert compare_airflow(project, replaced) == []


def test_state_folders_airlift_refuses_or_reads_otherwise(tmp_path: Path) -> None:
    root = copy(TUTORIAL, tmp_path)
    project = project_of(root)
    report = airflow("tutorial", root)
    [folder] = report.state_folders
    state = str(root / "airflow_dags" / "proxied_state" / "rebuild_customers_list.yaml")
    broken = replace(folder, error="Exception: Expected a dictionary", error_file=state, dags={})
    [finding] = compare_airflow(project, replace(report, state_folders=(broken,)))
    assert finding.code == "verify-proxied-state" and finding.path == state
    assert "every DAG file that loads the folder fails to import" in finding.message
    loaded = folder.dags["rebuild_customers_list"]
    differs = replace(folder, dags={"rebuild_customers_list": replace(
        loaded, tasks={**loaded.tasks, "export_customers": True})})
    [finding] = compare_airflow(project, replace(report, state_folders=(differs,)))
    assert finding.code == "verify-model-mismatch" and "reads this state file differently" in finding.message


# -- Dagster ----------------------------------------------------------------------------------------

def test_dagster_module_errors_and_missing_assets(tmp_path: Path) -> None:
    root = copy(TUTORIAL, tmp_path)
    project = project_of(root)
    module = str(root / "tutorial_dagster" / "definitions.py")
    failed = DagsterReport(module, "1.13", error="NameError: name 'AssetSpek' is not defined", error_line=31)
    [finding] = compare_dagster(project, failed)
    assert (finding.code, finding.path, finding.range) == ("verify-dagster", module, Range.of(30, 0, 31, 0))
    report = DagsterReport.from_json(recorded("tutorial.dagster.json", root))
    without = replace(report, assets=tuple(a for a in report.assets if a.key != "customers"))
    [finding] = compare_dagster(project, without)
    assert "no asset `customers`" in finding.message and finding.path == module


def test_the_fake_airflow_serves_what_airflow_loaded_else_the_model(tmp_path: Path) -> None:
    root = copy(TUTORIAL, tmp_path)
    project = project_of(root)
    structure = airflow_structure(project, airflow("tutorial", root))
    assert structure["rebuild_customers_list"] == ["load_raw_customers", "build_dbt_models", "export_customers"]
    assert sorted(airflow_structure(project, None)["daily_orders"]) == sorted(structure["daily_orders"])


# -- records and the gate -----------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    [], {"dags": {}}, {"dags": [{"dag_id": 1}]}, {"dags": [{"dag_id": "d", "tasks": [{"task_id": "t", "proxy": "x"}]}]},
    {"import_errors": [{"file": "f", "message": "m", "line": 0}]}, {"state_folders": [{"folder": "f", "dags": []}]},
])
def test_malformed_reports_are_refused(data) -> None:
    with pytest.raises(BadReport):
        AirflowReport.from_json(data)


def test_the_gate_counts_only_what_the_edit_adds() -> None:
    old = Finding("verify-import-error", Severity.ERROR, "Airflow cannot import this file: X at 0x7f01",
                  "/copy/dags/a.py", Range.point(3))
    same_elsewhere = Finding("verify-import-error", Severity.ERROR, "Airflow cannot import this file: X at 0x7f99",
                             "/work/dags/a.py", Range.point(9))
    back = moved(old, "/copy", "/work")
    assert back.path == "/work/dags/a.py"
    assert new_findings([same_elsewhere], [back]) == []
    added = replace(same_elsewhere, code="verify-not-proxied")
    assert new_findings([same_elsewhere], [back, added]) == [added]
