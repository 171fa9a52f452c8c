"""``status --json``: each DAG's migration level (docs/json.md: ``"level": "task"|"dag"``) and each
task's ``dagster_run`` (null until the Dagster side is peered)."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

from tests.conftest import run_cli

DAG = """\
from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("{dag_id}", start_date=datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="load") >> EmptyOperator(task_id="report")
"""

MODULE = '''\
from dagster import AssetSpec, Definitions
from dagster_airlift.core import assets_with_dag_mappings, assets_with_task_mappings

defs = Definitions(assets=[
    *assets_with_task_mappings(dag_id="by_task", task_mappings={"load": [AssetSpec("loaded")]}),
    *assets_with_dag_mappings(dag_mappings={"mapped_whole": [AssetSpec("whole")]}),
])
'''


def status(workspace: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_")}
    result = run_cli("status", "--json", cwd=workspace, env=env)
    assert result.returncode == 0, result.stderr
    return {dag["dag_id"]: dag for dag in json.loads(result.stdout)["dags"]}


def test_level_is_dag_for_a_dag_level_state_file_or_mapping_and_task_otherwise(tmp_path):
    dags = tmp_path / "dags"
    (dags / "proxied_state").mkdir(parents=True)
    for dag_id in ("by_task", "plain", "proxied_whole", "rolled_back_whole", "mapped_whole"):
        (dags / f"{dag_id}.py").write_text(DAG.format(dag_id=dag_id), encoding="utf-8")
    (dags / "proxied_state" / "by_task.yaml").write_text(
        "tasks:\n  - id: load\n    proxied: true\n  - id: report\n    proxied: false\n", encoding="utf-8")
    (dags / "proxied_state" / "proxied_whole.yaml").write_text("proxied: true\n", encoding="utf-8")
    (dags / "proxied_state" / "rolled_back_whole.yaml").write_text("proxied: false\n", encoding="utf-8")
    (tmp_path / "definitions.py").write_text(MODULE, encoding="utf-8")

    dags = status(tmp_path)
    assert {dag_id: dag["level"] for dag_id, dag in dags.items()} == {
        "by_task": "task", "plain": "task", "proxied_whole": "dag", "rolled_back_whole": "dag",
        "mapped_whole": "dag"}
    assert [(t["task_id"], t["proxied"], t["dagster_run"]) for t in dags["by_task"]["tasks"]] == [
        ("load", True, None), ("report", False, None)]
    assert list(dags["by_task"]) == ["dag_id", "file", "level", "last_run", "tasks"]
    assert [t["proxied"] for t in dags["proxied_whole"]["tasks"]] == [True, True]


def test_an_unreadable_state_file_does_not_make_a_level(tmp_path):
    (tmp_path / "proxied_state").mkdir()
    (tmp_path / "broken.py").write_text(DAG.format(dag_id="broken"), encoding="utf-8")
    (tmp_path / "proxied_state" / "broken.yaml").write_text(textwrap.dedent("""\
        proxied: true
        tasks: []
        """), encoding="utf-8")
    assert status(tmp_path)["broken"]["level"] == "task"
