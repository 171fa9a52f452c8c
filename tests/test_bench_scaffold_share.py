"""bench/scaffold_share.py (issue 16's corpus figure) on a one-entry corpus made here: it runs the
real `airlift-lsp dags`, sorts tasks by families.py as that file is at run time, and skips in one
line when the corpus is not checked out."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DAG = '''\
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.empty import EmptyOperator
from airflow.providers.ssh.operators.ssh import SSHOperator

with DAG(dag_id="mini") as dag:
    EmptyOperator(task_id="start") >> BashOperator(task_id="run", bash_command="true")
    for host in ["a", "b"]:
        SSHOperator(task_id=f"ssh_{host}", command="ls")
'''


@pytest.fixture
def bench(tmp_path: Path, monkeypatch):
    spec = importlib.util.spec_from_file_location("scaffold_share_under_test", REPO / "bench" / "scaffold_share.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "src" / "mini" / "dags").mkdir(parents=True)
    (tmp_path / "src" / "mini" / "dags" / "mini.py").write_text(DAG)
    (tmp_path / "manifest.json").write_text(json.dumps([
        {"name": "mini", "repo": "example/mini", "commit": "0" * 40, "dag_folders": ["dags"], "sys_path": [],
         "stub_packages": [], "airflow": "2", "notes": ""},
        {"name": "absent", "repo": "example/absent", "commit": "0" * 40, "dag_folders": ["dags"], "sys_path": [],
         "stub_packages": [], "airflow": "2", "notes": ""}]))
    monkeypatch.setattr(module.corpus, "MANIFEST", tmp_path / "manifest.json")
    monkeypatch.setattr(module.corpus, "SRC", tmp_path / "src")
    monkeypatch.setattr(module.corpus, "STATIC", tmp_path / "static")
    monkeypatch.setattr(module.corpus, "AIRLIFT", Path(sys.executable).parent / "airlift-lsp")
    return module


def test_the_share_per_family_and_the_operators_left(bench) -> None:
    result = bench.measure(set(), cached=False, top=5)
    assert (result["tasks"], result["covered"]) == (4, 2) and result["share"] == 0.5
    assert [r["ports_to_target"] for r in result["entries"]] == [1]  # SSHOperator, ported once, covers both
    assert {family: f["tasks"] for family, f in result["families"].items()} == {
        "no scaffold": 2, "nothing to migrate": 1, "bash": 1}
    assert result["top_without_scaffold"] == [{"operator": "SSHOperator", "tasks": 2, "entries": 1}]
    assert result["missing"] == ["absent"] and result["errors"] == {}
    cached = bench.measure({"mini"}, cached=True, top=5)  # what the run above saved, as compare.py does
    assert (cached["tasks"], cached["covered"]) == (4, 2)


def test_a_family_added_to_families_py_counts_at_the_next_run(bench, tmp_path: Path, monkeypatch) -> None:
    families = tmp_path / "families.py"
    text = (REPO / "analysis" / "edits" / "scaffold" / "families.py").read_text()
    families.write_text(text.replace("SCAFFOLDED: dict[str, str] = {", 'SCAFFOLDED: dict[str, str] = {\n    "SSHOperator": "ssh",'))
    monkeypatch.setattr(bench, "FAMILIES", families)
    result = bench.measure(set(), cached=False, top=5)
    assert result["share"] == 1.0 and result["families"]["ssh"]["tasks"] == 2
    assert result["top_without_scaffold"] == []


def test_it_skips_in_one_line_without_the_corpus(bench, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench.corpus, "SRC", tmp_path / "nowhere")
    result = bench.measure(set(), cached=False, top=5)
    assert result["skipped"].startswith("the corpus is not fetched")
    bench.print_report(result)
    assert capsys.readouterr().out.count("\n") == 1


def test_tasks_of_a_projects_own_operator_class_are_counted_apart(bench, tmp_path: Path) -> None:
    (tmp_path / "src" / "mini" / "plugins").mkdir()
    (tmp_path / "src" / "mini" / "plugins" / "ops.py").write_text(
        "from airflow.models import BaseOperator\n\n\nclass CopyOperator(BaseOperator):\n    pass\n")
    (tmp_path / "src" / "mini" / "dags" / "own.py").write_text(
        "from airflow import DAG\nfrom ops import CopyOperator\n\nwith DAG(dag_id='own') as dag:\n"
        "    CopyOperator(task_id='copy')\n")
    result = bench.measure(set(), cached=False, top=5)
    assert (result["tasks"], result["covered"], result["project_operator_tasks"]) == (5, 2, 1)
    assert result["share_of_airflow_operators"] == 0.5  # 2 of the 4 tasks of Airflow's operators


def test_a_name_bound_to_a_choice_of_the_projects_classes_is_theirs_too(bench, tmp_path: Path) -> None:
    """amsterdam-dataservices' ``MessageOperator = (LogMessageOperator if dev else SlackMessageOperator)``."""
    (tmp_path / "src" / "mini" / "plugins").mkdir()
    (tmp_path / "src" / "mini" / "plugins" / "ops.py").write_text(
        "import os\nfrom airflow.models import BaseOperator\n\n\nclass LogOperator(BaseOperator):\n    pass\n\n\n"
        "class SlackOperator(BaseOperator):\n    pass\n\n\n"
        "MessageOperator = (\n    LogOperator if os.environ.get('ENV') == 'dev' else SlackOperator\n)\n"
        "Other = LogOperator if os.environ.get('ENV') else os.getenv\n")
    assert {"MessageOperator", "LogOperator", "SlackOperator"} <= bench.project_classes({"name": "mini"})
    assert "Other" not in bench.project_classes({"name": "mini"})


@pytest.fixture
def accepted(bench, tmp_path: Path):
    spec = importlib.util.spec_from_file_location("scaffold_accepted_under_test", REPO / "bench" / "scaffold_accepted.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in ("MANIFEST", "SRC"):
        setattr(module.corpus, name, getattr(bench.corpus, name))
    return module


def test_scaffold_accepted_asks_each_task_what_the_editor_asks(accepted, tmp_path: Path) -> None:
    (tmp_path / "src" / "mini" / "dags" / "more.py").write_text(
        "from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n\n"
        "with DAG(dag_id='more') as dag:\n"
        "    BashOperator(task_id='templated', bash_command='echo {{ next_ds }}')\n"
        "    BashOperator(task_id='other', bash_command='echo {{ next_ds_nodash }}')\n")
    result = accepted.measure(set(), top=5)
    assert (result["tasks"], result["written"]) == (3, 1)  # `run` of mini.py; the two Jinja commands refused
    assert result["families"] == {"bash": {"tasks": 3, "written": 1}}
    assert result["top_refusals"] == [{"reason": "bash: the command, environment or folder of task `…` use Jinja ('…'), "
                                                 "which only Airflow renders", "tasks": 2}]
    assert result["entries"] == [{"entry": "mini", "tasks": 3, "written": 1}]
