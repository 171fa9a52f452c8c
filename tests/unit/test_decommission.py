"""Decommission (issue 14): the schedule read from the DAG file, the Dagster module codemod, the
plan on small workspaces written to temporary folders, and what the CLI and the editor get."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.dags.schedule import read_timing
from analysis.edits.decommission import NewJob, decommission_dag
from analysis.files import read_disk
from analysis.plans import LastRun, Refused, Runs, plan_decommission
from analysis.project import Layout, discover
from server.apply import unified_diff, write_atomically
from server.peering.history import PeeringStatus, RunHistory
from server.peering.last_runs import runs_for
from server.peering.records import DagRun, TaskInstance
from tests.conftest import run_cli

HOOK = ('from dagster_airlift.in_airflow import proxying_to_dagster\n'
        'from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml\n'
        'proxying_to_dagster(global_vars=globals(),\n'
        '                    proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"))\n')


def orders_dag(schedule: str = '"@hourly"', extra: str = "", hook: str = HOOK) -> str:
    return ('from datetime import timedelta\nfrom pathlib import Path\n\nfrom airflow import DAG\n'
            'from airflow.operators.bash import BashOperator\nfrom airflow.operators.empty import EmptyOperator\n\n'
            f'with DAG(dag_id="orders", schedule={schedule}{extra}) as dag:\n'
            '    extract = EmptyOperator(task_id="extract")\n'
            '    load = BashOperator(task_id="load", bash_command="echo load")\n'  # work: it blocks while a spec
            '    extract >> load\n\n' + hook)


STATE = "tasks:\n  - id: extract\n    proxied: true\n  - id: load\n    proxied: true\n"
MODULE = '''from dagster import AssetSpec, Definitions, asset, multi_asset
from dagster_airlift.core import (
    AirflowBasicAuthBackend,
    AirflowInstance,
    assets_with_task_mappings,
    build_defs_from_airflow_instance,
)


@asset(key=["raw", "orders"])
def raw_orders() -> None:
    pass


@multi_asset(specs=[AssetSpec("orders", deps=[["raw", "orders"]])])
def load_orders() -> None:
    pass


defs = build_defs_from_airflow_instance(
    airflow_instance=AirflowInstance(
        auth_backend=AirflowBasicAuthBackend(webserver_url="http://localhost:8080", username="a", password="b"),
        name="airflow",
    ),
    defs=Definitions(
        assets=[
            *assets_with_task_mappings(
                dag_id="orders",
                task_mappings={"extract": [raw_orders], "load": [load_orders]},
            ),
            *assets_with_task_mappings(dag_id="other", task_mappings={"t": [AssetSpec("other")]}),
        ]
    ),
)
'''


def read(path: str) -> str | None:
    return read_disk(path).text if os.path.exists(path) else None


def workspace(root: Path, files: dict[str, str]) -> Layout:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return Layout(str(root), ("dags",), "definitions.py")


def project(root: Path, overrides: dict[str, str] | None = None):
    files = {"dags/orders.py": orders_dag(), "dags/proxied_state/orders.yaml": STATE, "definitions.py": MODULE}
    return discover(workspace(root, {**files, **(overrides or {})}))


def timing(schedule: str, extra: str = "", prefix: str = ""):
    text = prefix + orders_dag(schedule, extra)
    return read_timing(text, extract_file("orders.py", text).dags[0])


# -- the schedule -------------------------------------------------------------------------------


@pytest.mark.parametrize(("schedule", "cron"), [
    ('"@daily"', "0 0 * * *"), ('"@hourly"', "0 * * * *"), ('"@weekly"', "0 0 * * 0"),
    ('"@monthly"', "0 0 1 * *"), ('"@quarterly"', "0 0 1 */3 *"), ('"@yearly"', "0 0 1 1 *"),
    ('"30 4 * * MON-FRI"', "30 4 * * MON-FRI"), ("timedelta(hours=6)", "0 */6 * * *"),
    ("timedelta(minutes=15)", "*/15 * * * *"), ("timedelta(days=1)", "0 0 * * *"), ("SCHEDULE", "5 * * * *"),
])
def test_schedules_with_a_cron_equivalent(schedule: str, cron: str) -> None:
    read = timing(schedule, prefix='SCHEDULE = "5 * * * *"\n')
    assert (read.cron, read.refused) == (cron, None)


@pytest.mark.parametrize(("schedule", "note"), [
    ("None", "schedule=None"), ('"@once"', "@once"), ('[Dataset("s3://bucket/orders")]', "datasets"),
])
def test_schedules_without_a_recurring_run_write_no_schedule_and_say_so(schedule: str, note: str) -> None:
    read = timing(schedule)
    assert read.cron is None and read.refused is None and any(note in n for n in read.notes)


@pytest.mark.parametrize(("schedule", "reason"), [
    ("timedelta(hours=7)", "no cron equivalent"), ('"@continuous"', "sensor"),
    ('"every day"', "neither a cron expression"), ("make_timetable()", "cannot be read statically"),
])
def test_schedules_dagster_cannot_take_are_refused_with_the_reason(schedule: str, reason: str) -> None:
    read = timing(schedule)
    assert read.cron is None and reason in (read.refused or "")


def test_a_dag_without_schedule_is_refused_since_airflow_2_and_3_differ() -> None:
    text = orders_dag().replace(', schedule="@hourly"', "")
    read = read_timing(text, extract_file("orders.py", text).dags[0])
    assert "Airflow 2 runs it daily, Airflow 3 never" in read.refused


def test_retries_and_their_delay_come_from_default_args_through_a_module_name() -> None:
    read = timing('"@daily"', ", default_args=ARGS",
                  prefix='from datetime import timedelta\nARGS = {"retries": 3, "retry_delay": timedelta(minutes=2)}\n')
    assert (read.retries, read.retry_delay) == (3, 120)


def test_default_args_not_known_statically_leave_retries_out_with_a_note() -> None:
    read = timing('"@daily"', ", default_args=load_args()")
    assert read.retries is None and any("no RetryPolicy" in n for n in read.notes)


def test_the_schedule_of_a_dag_decorated_function() -> None:
    text = ('from airflow.decorators import dag, task\n\n@dag(schedule="@weekly", default_args=dict(retries=1))\n'
            'def weekly():\n    @task\n    def a():\n        pass\n    a()\n\nweekly()\n')
    read = read_timing(text, extract_file("weekly.py", text).dags[0])
    assert (read.cron, read.retries) == ("0 0 * * 0", 1)


# -- the Dagster module -------------------------------------------------------------------------


def test_the_mapping_leaves_its_assets_and_a_job_with_schedule_and_retries() -> None:
    result = decommission_dag(MODULE, NewJob("orders", (("raw", "orders"), ("orders",)), "0 * * * *", 3, 120.0, "why"))
    text = result.text
    assert text is not None, result.reason
    assert 'dag_id="orders"' not in text and 'dag_id="other"' in text  # the other DAG's mapping stays
    assert "            raw_orders,\n            load_orders,\n" in text
    assert ('orders_job = define_asset_job(\n    "orders_job",\n    selection=[AssetKey(["raw", "orders"]), '
            'AssetKey(["orders"])],\n    op_retry_policy=RetryPolicy(max_retries=3, delay=120),\n)\n') in text
    assert 'orders_schedule = ScheduleDefinition(job=orders_job, cron_schedule="0 * * * *")' in text
    assert "# why\norders_job" in text
    assert "        jobs=[orders_job],\n        schedules=[orders_schedule],\n" in text
    assert "from dagster import (\n    AssetKey," in text


def test_no_schedule_means_a_job_only_and_existing_jobs_are_kept() -> None:
    module = MODULE.replace("        ]\n    ),\n)", "        ],\n        jobs=[nightly],\n    ),\n)")
    text = decommission_dag(module, NewJob("orders", (("orders",),), None)).text
    assert text is not None
    assert "jobs=[nightly, orders_job]" in text and "ScheduleDefinition" not in text and "RetryPolicy" not in text


def test_a_dag_level_entry_goes_and_the_other_dags_entries_stay() -> None:
    module = MODULE.replace(
        '*assets_with_task_mappings(dag_id="other", task_mappings={"t": [AssetSpec("other")]}),',
        '*assets_with_dag_mappings(dag_mappings={"whole": [whole_asset], "other": [AssetSpec("other")]}),'
    ).replace("    assets_with_task_mappings,\n", "    assets_with_dag_mappings,\n    assets_with_task_mappings,\n")
    text = decommission_dag(module, NewJob("whole", (("whole",),), "0 0 * * *")).text
    assert text is not None
    assert '*assets_with_dag_mappings(dag_mappings={"other": [AssetSpec("other")]}),' in text
    assert "whole_asset," in text and "whole_job" in text


def test_names_the_module_already_uses_are_not_taken() -> None:
    module = MODULE.replace("defs = build", "orders_job = None\n\ndefs = build")
    text = decommission_dag(module, NewJob("orders", (("orders",),), "0 0 * * *")).text
    assert text is not None and "orders_job_2 = define_asset_job(" in text and "orders_schedule_2" in text


def test_a_mapping_that_is_not_a_starred_list_element_is_refused() -> None:
    module = MODULE.replace("            *assets_with_task_mappings(\n                dag_id=\"orders\",",
                            "            *list(assets_with_task_mappings(\n                dag_id=\"orders\",")
    module = module.replace('"load": [load_orders]},\n            ),', '"load": [load_orders]},\n            )),')
    result = decommission_dag(module, NewJob("orders", (("orders",),), None))
    assert result.text is None and "by hand" in result.reason


# -- the plan -----------------------------------------------------------------------------------


def test_decommission_writes_the_module_and_removes_the_dag_and_state_files(tmp_path: Path) -> None:
    plan = plan_decommission(project(tmp_path), read, "orders")
    changes = {os.path.relpath(c.path, tmp_path): c for c in plan.changes}
    assert set(changes) == {"definitions.py", "dags/orders.py", "dags/proxied_state/orders.yaml"}
    assert changes["dags/orders.py"].removed and changes["dags/proxied_state/orders.yaml"].removed
    assert 'cron_schedule="0 * * * *"' in changes["definitions.py"].new_text
    assert any("last runs were not checked" in n for n in plan.notes)
    diff = unified_diff(plan, lambda p: os.path.relpath(p, tmp_path))
    assert "--- a/dags/orders.py\n+++ /dev/null\n" in diff
    write_atomically(plan, read)
    assert not (tmp_path / "dags/orders.py").exists() and not (tmp_path / "dags/proxied_state/orders.yaml").exists()
    with pytest.raises(Refused, match="no DAG `orders`"):  # done: a second run has nothing to work on
        plan_decommission(discover(Layout(str(tmp_path), ("dags",), "definitions.py")), read, "orders")


def test_a_task_still_in_airflow_is_named_in_the_refusal(tmp_path: Path) -> None:
    with pytest.raises(Refused, match=r"`load` of `orders` still runs in Airflow"):
        plan_decommission(project(tmp_path, {"dags/proxied_state/orders.yaml": STATE.replace(
            "load\n    proxied: true", "load\n    proxied: false")}), read, "orders")


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"dags/proxied_state/orders.yaml": "proxied: false\n"}, "DAG level with `proxied: false`"),
    ({"dags/orders.py": orders_dag(hook="")}, "hook of orders.py is missing"),
    ({"definitions.py": MODULE.replace("[load_orders]", '[AssetSpec("orders")]')}, "only described (AssetSpec)"),
])
def test_refusals_say_what_still_runs_in_airflow(tmp_path: Path, overrides: dict, reason: str) -> None:
    with pytest.raises(Refused, match=reason.replace("(", r"\(").replace(")", r"\)")):
        plan_decommission(project(tmp_path, overrides), read, "orders")


def test_default_args_not_known_statically_are_a_note_not_a_refusal(tmp_path: Path) -> None:
    plan = plan_decommission(project(tmp_path, {"dags/orders.py": orders_dag(extra=", default_args=ARGS")}),
                             read, "orders")
    assert any("default_args cannot be read" in n for n in plan.notes)


def test_a_dag_state_file_without_proxying_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dags/proxied_state").mkdir(parents=True)
    workspace(tmp_path, {"dags/orders.py": orders_dag(), "definitions.py": MODULE})
    with pytest.raises(Refused, match="no proxied-state file"):
        plan_decommission(discover(Layout(str(tmp_path), ("dags",), "definitions.py")), read, "orders")


RUN = datetime(2026, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize(("runs", "reason"), [
    (Runs(None), "no finished run"),
    (Runs(LastRun("manual__1", "failed")), r"ended failed"),
    (Runs(LastRun("manual__1", "success", ("`load` (upstream_failed)",))), r"`load` \(upstream_failed\) did not"),
])
def test_the_last_run_must_have_succeeded_when_airflow_is_peered(tmp_path: Path, runs: Runs, reason: str) -> None:
    with pytest.raises(Refused, match=reason):
        plan_decommission(project(tmp_path), read, "orders", runs=runs)
    plan = plan_decommission(project(tmp_path), read, "orders", runs=Runs(LastRun("manual__2", "success")))
    assert not any("not checked" in n for n in plan.notes)


def test_pause_keeps_the_dag_file_paused_with_a_comment(tmp_path: Path) -> None:
    plan = plan_decommission(project(tmp_path), read, "orders", pause=True)
    dag = next(c for c in plan.changes if c.path.endswith("orders.py"))
    assert not dag.removed
    assert '# Decommissioned: `orders` runs in Dagster now' in dag.new_text
    assert 'schedule="@hourly", is_paused_upon_creation=True) as dag:' in dag.new_text
    assert any("airflow dags pause orders" in n for n in plan.notes)


def test_a_file_with_other_dags_is_not_removed(tmp_path: Path) -> None:
    two = orders_dag().replace("extract >> load\n", 'extract >> load\n\nwith DAG(dag_id="audit", schedule=None) '
                                                    'as audit:\n    EmptyOperator(task_id="check")\n')
    with pytest.raises(Refused, match=r"also defines `audit`.*--pause"):
        plan_decommission(project(tmp_path, {"dags/orders.py": two}), read, "orders")


# -- the peered Airflow's runs ------------------------------------------------------------------


def test_runs_for_weighs_the_newest_finished_run_and_its_task_instances() -> None:
    running = DagRun("orders", "manual__3", "running", RUN, RUN, None)
    done = DagRun("orders", "manual__2", "success", RUN, RUN, RUN)
    history = RunHistory(dag_runs={"orders": (running, done)}, task_instances={done.key: (
        TaskInstance("orders", "manual__2", "extract", "success", RUN, RUN, 1),
        TaskInstance("orders", "manual__2", "load", "failed", RUN, RUN, 2))})
    runs = runs_for(history, PeeringStatus("connected"), "orders")
    assert runs == Runs(LastRun("manual__2", "success", ("`load` (failed)",)))
    assert runs_for(history, PeeringStatus("unreachable"), "orders") is None
    assert runs_for(RunHistory(), PeeringStatus("connected"), "orders") == Runs(None)


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_dry_run_writes_nothing_and_a_refusal_is_one_line(tmp_path: Path) -> None:
    project(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n'
                                             'dagsterModule = "definitions.py"\n', encoding="utf-8")
    env = {**os.environ, "AIRFLOW_URL": ""}
    before = {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    result = run_cli("decommission", "orders", "--dry-run", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "+++ /dev/null" in result.stdout and "(dry run)" in result.stderr
    assert {p: p.read_text() for p in tmp_path.rglob("*") if p.is_file()} == before
    refused = run_cli("decommission", "other", cwd=tmp_path, env=env)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "no DAG `other`" in refused.stderr


def dag_level_module(other: str = "other") -> str:
    """MODULE with `orders` mapped as a whole, beside another DAG's DAG-level entry."""
    return MODULE.replace(
        '*assets_with_task_mappings(\n                dag_id="orders",\n                task_mappings={"extract": '
        '[raw_orders], "load": [load_orders]},\n            ),',
        f'*assets_with_dag_mappings(dag_mappings={{"orders": [raw_orders, load_orders], "{other}": [AssetSpec("x")]}}),',
    ).replace("    assets_with_task_mappings,\n", "    assets_with_dag_mappings,\n    assets_with_task_mappings,\n")


def test_a_dag_proxied_at_dag_level_keeps_the_other_dags_entries(tmp_path: Path) -> None:
    module = dag_level_module()
    assert "assets_with_dag_mappings(dag_mappings=" in module
    plan = plan_decommission(project(tmp_path, {"dags/proxied_state/orders.yaml": "proxied: true\n",
                                                "definitions.py": module}), read, "orders")
    text = next(c.new_text for c in plan.changes if c.path.endswith("definitions.py"))
    assert '*assets_with_dag_mappings(dag_mappings={"other": [AssetSpec("x")]}),\n            raw_orders,\n' \
           '            load_orders,\n' in text
    assert 'selection=[AssetKey(["raw", "orders"]), AssetKey(["orders"])]' in text


def test_the_offer_follows_the_refusals_without_reading_files(tmp_path: Path) -> None:
    from analysis.plans.decommission import blocker

    ready = project(tmp_path / "ready")
    assert blocker(ready, ready.entry("orders"), None) is None
    assert "ended failed" in blocker(ready, ready.entry("orders"), Runs(LastRun("r", "failed")))
    specs = project(tmp_path / "specs", {"definitions.py": MODULE.replace("[load_orders]", '[AssetSpec("orders")]')})
    assert "only described (AssetSpec)" in blocker(specs, specs.entry("orders"), None)


@pytest.mark.parametrize(("schedule", "start", "cron", "zone"), [
    ('CronTriggerTimetable("0 3 * * *", timezone="Europe/Paris")', "", "0 3 * * *", "Europe/Paris"),
    ('"@daily"', ', start_date=pendulum.datetime(2024, 1, 1, tz="America/New_York")', "0 0 * * *", "America/New_York"),
    ('"@daily"', ', start_date=pendulum.datetime(2024, 1, 1, tz="UTC")', "0 0 * * *", None),
    ("None", ', start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Tokyo")', None, None),
])
def test_the_cron_runs_in_the_dags_time_zone(schedule: str, start: str, cron: str | None, zone: str | None) -> None:
    read = timing(schedule, start)
    assert (read.cron, read.timezone, read.refused) == (cron, zone, None)


def test_the_time_zone_goes_to_the_schedule() -> None:
    text = decommission_dag(MODULE, NewJob("orders", (("orders",),), "0 3 * * *", timezone="Europe/Paris")).text
    assert ('orders_schedule = ScheduleDefinition(\n    job=orders_job,\n    cron_schedule="0 3 * * *",\n'
            '    execution_timezone="Europe/Paris",\n)\n') in text


def test_a_mapping_function_left_unused_is_no_longer_imported() -> None:
    one_dag = MODULE.replace('            *assets_with_task_mappings(dag_id="other", task_mappings={"t": '
                             '[AssetSpec("other")]}),\n', "")
    text = decommission_dag(one_dag, NewJob("orders", (("orders",),), None)).text
    assert "assets_with_task_mappings" not in text and "    build_defs_from_airflow_instance,\n" in text
    kept = decommission_dag(MODULE, NewJob("orders", (("orders",),), None)).text
    assert "    assets_with_task_mappings,\n" in kept  # the other DAG still maps with it


def test_tasks_with_their_own_retries_are_named_in_a_note(tmp_path: Path) -> None:
    from analysis.dags.schedule import own_retries

    text = ('from airflow import DAG\nfrom airflow.decorators import task\nfrom airflow.operators.empty import '
            'EmptyOperator\n\nwith DAG(dag_id="o", schedule=None) as dag:\n    a = EmptyOperator(task_id="a", '
            'retries=5)\n    c = EmptyOperator(task_id="c")\n\n    @task(retries=2)\n    def b():\n        pass\n\n'
            '    b()\n')
    assert own_retries(text, extract_file("o.py", text).dags[0]) == ["a", "b"]
    dag = orders_dag().replace('bash_command="echo load")', 'bash_command="echo load", retries=4)')
    notes = plan_decommission(project(tmp_path, {"dags/orders.py": dag}), read, "orders").notes
    assert any(note.startswith("`load` sets its own retries in Airflow") for note in notes)
