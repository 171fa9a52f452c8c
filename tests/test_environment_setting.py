"""The ``environment`` setting and ``--env`` everywhere the model runs: the command line (``dags``,
``check``), the worker processes, the facts cache and the server's index. The DAG reads
``os.environ["ENV"]`` at import; Airflow's own DagBag, run with ENV set, says which ids are right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.files import read_disk
from analysis.project import Layout
from server.index import WorkspaceIndex
from server.indexing.batch import Batch, dag_file_candidates, discover_cached
from server.indexing.cache import FactCache
from tests.conftest import airflow3_python, dagbag_of

REPORT = '''\
import os
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator

ENV = os.environ["ENV"]

with DAG(dag_id=f"report_{ENV}", start_date=datetime(2024, 1, 1), schedule=None):
    extract = EmptyOperator(task_id=f"extract_{ENV}")
    load = EmptyOperator(task_id="load_" + os.getenv("ENV", "local"))
    extract >> load
'''

DUPLICATE = '''\
import os
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG(dag_id="publish", start_date=datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id="push_prod")
    EmptyOperator(task_id="push_" + os.environ["ENV"])
'''


def expected(env: str) -> dict:
    return {f"report_{env}": {f"extract_{env}": [], f"load_{env}": [f"extract_{env}"]}}


def workspace(root: Path, setting: str | None = None, copies: int = 0) -> Path:
    """``dags/report.py`` (and ``copies`` more DAG files like it, ids ``report<n>_<ENV>``)."""
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "report.py").write_text(REPORT)
    for n in range(copies):
        (root / "dags" / f"report{n}.py").write_text(REPORT.replace('"report_{ENV}"', f'"report{n}_{{ENV}}"'))
    if setting is not None:
        (root / "pyproject.toml").write_text(f'[tool.airlift-lsp]\ndagFolders = ["dags"]\n'
                                             f'environment = {{ ENV = "{setting}" }}\n')
    return root


def cli(root: Path, *args: str, jobs: str = "1", cache: str = "off") -> subprocess.CompletedProcess:
    env = {**os.environ, "AIRLIFT_LSP_JOBS": jobs, "AIRLIFT_LSP_CACHE": cache}
    env.pop("ENV", None)  # the model reads the settings, never the process's environment
    result = subprocess.run([sys.executable, "-m", "server", *args], capture_output=True, text=True,
                            cwd=root, timeout=300, env=env, check=False)
    assert result.returncode in (0, 1), result.stderr
    return result


def model(root: Path, *args: str, **kwargs) -> dict:
    """``dags dags --json``: {dag_id: {task_id: upstream}} of the certain DAGs, and the dynamic ids."""
    files = json.loads(cli(root, "dags", "dags", "--json", *args, **kwargs).stdout)["files"]
    dags = [dag for file in files for dag in file["dags"]]
    assert all(not dag["dynamic"] and not any(t["dynamic"] for t in dag["tasks"]) for dag in dags), dags
    return {dag["dag_id"]: {t["task_id"]: t["upstream"] for t in dag["tasks"]} for dag in dags}


def facts_ids(project_or_files) -> dict:
    files = getattr(project_or_files, "files", project_or_files)
    return {dag.dag_id: {t.task_id: list(t.upstream) for t in dag.tasks}
            for facts in files.values() for dag in facts.dags}


@pytest.mark.airflow
def test_env_flag_gives_the_ids_airflow_loads(tmp_path: Path) -> None:
    root = workspace(tmp_path / "w")
    truth = dagbag_of(airflow3_python(), root / "dags", env={"ENV": "prod"})
    assert truth["import_errors"] == {}
    assert {d: data["tasks"] for d, data in truth["dags"].items()} == expected("prod")
    assert model(root, "--env", "ENV=prod") == expected("prod")
    # without it the id is unknown, never a guess
    [dag] = json.loads(cli(root, "dags", "dags", "--json").stdout)["files"][0]["dags"]
    assert dag["dynamic"] and dag["dag_id"] == "report_{ENV}"


def test_the_setting_in_pyproject_and_env_over_it(tmp_path: Path) -> None:
    root = workspace(tmp_path / "w", setting="staging")
    assert model(root) == expected("staging")
    assert model(root, "--env", "ENV=prod") == expected("prod")
    text = cli(root, "dags", "dags", "--env", "ENV=dev", "--env", "OTHER=x").stdout
    assert "report_dev  2 tasks" in text and "load_dev  EmptyOperator  ← extract_dev" in text


def test_check_reads_the_environment(tmp_path: Path) -> None:
    root = workspace(tmp_path / "w", setting="prod")
    (root / "dags" / "publish.py").write_text(DUPLICATE)

    def codes(*args: str) -> list[tuple[str, str]]:
        findings = json.loads(cli(root, "check", "--json", *args).stdout)["findings"]
        return [(f["code"], f["path"]) for f in findings if f["severity"] == "error"]

    assert codes() == [("duplicate-task-id", "dags/publish.py")]  # ENV = prod: push_prod twice
    assert codes("--env", "ENV=dev") == []


def test_a_bad_env_flag_is_one_usage_error(tmp_path: Path) -> None:
    root = workspace(tmp_path / "w")
    for bad in ("ENV", "=prod", " ENV=prod"):
        result = subprocess.run([sys.executable, "-m", "server", "dags", "dags", "--env", bad],
                                capture_output=True, text=True, cwd=root, timeout=60, check=False)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip().splitlines()[-1] == \
            f"airlift-lsp dags: error: argument --env: expected NAME=VALUE, got {bad!r}"


def test_worker_processes_get_the_environment(tmp_path: Path, monkeypatch) -> None:
    root = workspace(tmp_path / "w", setting="prod", copies=3)
    every = {**expected("prod"), **{f"report{n}_prod": {"extract_prod": [], "load_prod": ["extract_prod"]}
                                    for n in range(3)}}
    assert model(root, jobs="2") == model(root, jobs="1") == every
    # the pool really ran: every file came back from a worker process
    monkeypatch.setenv("AIRLIFT_LSP_JOBS", "2")
    monkeypatch.chdir(root)
    from server.cli.dags import dags_code

    code = dags_code(["dags"])
    batch = Batch(code.roots, None, code=code, workers=2)
    jobs = [(path, False) for path in dag_file_candidates([str(root / "dags")])]
    assert batch.run_workers(jobs) == 4
    files = {path: batch.dag_file(path, False) for path, _ in jobs}
    assert batch.stats["workers"] == 4 and batch.stats["here"] == 0
    assert facts_ids(files) == every


def test_the_cache_never_answers_with_another_environments_facts(tmp_path: Path, monkeypatch) -> None:
    root = workspace(tmp_path / "w", setting="prod")
    for env in ("prod", "dev", "prod", "dev"):
        assert model(root, "--env", f"ENV={env}", cache="on") == expected(env)
        assert model(root, "--env", f"ENV={env}", cache="on", jobs="2") == expected(env)
    assert model(root, cache="on") == expected("prod")
    # the same through discover (check, the steps, the server): a hit for the same environment only
    monkeypatch.setenv("AIRLIFT_LSP_CACHE", "on")
    monkeypatch.setenv("AIRLIFT_LSP_JOBS", "1")
    layout = Layout(str(root), ("dags",), environment=(("ENV", "dev"),))
    cache = FactCache.for_workspace(str(root))
    assert cache is not None
    assert facts_ids(discover_cached(layout, read_disk, cache=cache)) == expected("dev")
    for env in ("prod", "dev", "qa"):
        cache = FactCache.for_workspace(str(root))
        batch = Batch(layout.code_roots(), cache, environment={"ENV": env})
        hits = batch.entries
        cache.close()
        assert (env, bool(hits)) == (env, env != "qa")  # qa: never seen, nothing to answer


def test_the_servers_index_reads_the_environment(tmp_path: Path) -> None:
    root = workspace(tmp_path / "w")
    snapshot = WorkspaceIndex(Layout(str(root), ("dags",), environment=(("ENV", "qa"),))).rebuild()
    assert facts_ids(snapshot.project) == expected("qa")
