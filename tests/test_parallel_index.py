"""The command line over many files: worker processes and the facts cache change nothing in what
it prints (byte for byte), a dry run writes no cache, and no worker imports workspace code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.describe import Stage, dag_status, task_status
from analysis.files import read_disk, walk_python_files
from analysis.project import Layout, discover
from analysis.source import might_contain_dag
from tests.conftest import FIXTURES, REPO, TUTORIAL

sys.path.insert(0, str(REPO / "bench"))
import gen_corpus

IN_PROCESS = {"AIRLIFT_LSP_JOBS": "1", "AIRLIFT_LSP_CACHE": "off"}
POOL = {"AIRLIFT_LSP_JOBS": "2", "AIRLIFT_LSP_CACHE": "off"}
CACHED = {"AIRLIFT_LSP_JOBS": "2", "AIRLIFT_LSP_CACHE": "on"}


def cli(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "server", *args], capture_output=True, cwd=cwd,
                            timeout=300, env={**os.environ, **env}, check=False)
    assert result.returncode in (0, 1), result.stderr.decode()
    return result


def reference_dags_json(cwd: Path, folder: str) -> bytes:
    """``dags FOLDER --json`` as the single-process code wrote it: extract each file here, render
    the contract's JSON with ``json.dumps``."""
    from server.cli.dags import dags_code

    previous = os.getcwd()
    os.chdir(cwd)
    try:
        code = dags_code([folder])
        stages = reference_stages(cwd, folder)
        files = []
        for path in walk_python_files(folder):
            decoded = read_disk(path)
            absolute = os.path.abspath(path)
            if decoded.text is None:
                files.append({"path": os.path.relpath(absolute), "error": decoded.skipped, "dags": []})
            elif might_contain_dag(decoded.text):
                files.append(file_json(extract_file(absolute, decoded.text, code), stages))
    finally:
        os.chdir(previous)
    return (json.dumps({"files": files}, ensure_ascii=False) + "\n").encode("utf-8")


def reference_stages(cwd: Path, folder: str):
    """(path, dag_id) -> (the DAG's stage, {task_id: stage}) from the project discovered here
    (docs/json.md: least advanced task with something to migrate, proxied as a whole; null for an
    id in two files)."""
    project = discover(Layout(str(cwd), (folder,), dagster_anywhere=False))
    files_of: dict[str, set[str]] = {}
    for entry in project.entries:
        files_of.setdefault(entry.dag_id, set()).add(entry.file.path)
    stages = {}
    for entry in project.entries:
        if len(files_of[entry.dag_id]) > 1:
            continue
        statuses = {t.task_id: task_status(project, entry, t) for t in entry.dag.tasks}
        tasks = {task_id: status.stage for task_id, status in statuses.items()}
        working = [s.stage for s in statuses.values() if s.nothing is None]  # nothing to migrate holds no DAG back
        least = min(working or tasks.values(), key=list(Stage).index, default=Stage.UNMAPPED)
        dag = Stage.PROXIED if dag_status(project, entry).dag_level_proxied else least
        stages[(entry.file.path, entry.dag_id)] = (dag.value, {k: v.value for k, v in tasks.items()})
    return stages


def file_json(file, stages) -> dict:
    error = file.error
    if error and file.error_range:
        error = f"line {file.error_range.start.line + 1}, column {file.error_range.start.character + 1}: {error}"
    return {"path": os.path.relpath(file.path).replace(os.sep, "/"), "error": error, "dags": [
        {"dag_id": d.dag_id, "range": d.range.to_json(),
         "tasks": [{"task_id": t.task_id, "operator": t.operator, "range": t.range.to_json(),
                    "upstream": list(t.upstream), "dynamic": t.dynamic, "conditional": t.conditional,
                    "stage": stages.get((file.path, d.dag_id), (None, {}))[1].get(t.task_id)}
                   for t in d.tasks],
         "dynamic": d.dynamic, "source": "static", "stage": stages.get((file.path, d.dag_id), (None,))[0]}
        for d in file.dags]}


@pytest.fixture(scope="module")
def fixtures_workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fixtures") / "w"
    shutil.copytree(FIXTURES, root / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "dags" / "bad_bytes_dag.py").write_bytes(b"# airflow dag\nname = '\xe9t\xe9'\n")
    (root / "dags" / "unicode_dag.py").write_text(
        'from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n'
        'with DAG(dag_id="données_été") as dag:\n    EmptyOperator(task_id="étape_✓")\n', encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def corpus_workspace(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("corpus") / "w"
    gen_corpus.generate(root / "dags", 300, seed=11, big=root / "big_dag.py")
    (root / "dags" / "broken_dag.py").write_text("from airflow import DAG\nwith DAG('x'\n")
    return root


@pytest.mark.parametrize("workspace", ["fixtures_workspace", "corpus_workspace"])
def test_dags_json_is_the_same_bytes_in_process_with_workers_and_from_the_cache(request, workspace: str) -> None:
    root = request.getfixturevalue(workspace)
    expected = reference_dags_json(root, "dags")
    assert cli(root, IN_PROCESS, "dags", "dags", "--json").stdout == expected
    assert cli(root, POOL, "dags", "dags", "--json").stdout == expected
    shutil.rmtree(root / ".cache", ignore_errors=True)
    assert cli(root, CACHED, "dags", "dags", "--json").stdout == expected  # cold: workers, then stored
    assert (root / ".cache" / "airlift-lsp" / "facts.sqlite3").is_file()
    assert cli(root, CACHED, "dags", "dags", "--json").stdout == expected  # warm: every view cached
    assert cli(root, {**CACHED, "AIRLIFT_LSP_JOBS": "1"}, "dags", "dags", "--json").stdout == expected
    shutil.rmtree(root / ".cache")


def test_check_and_the_text_listing_agree_in_process_with_workers_and_from_the_cache(corpus_workspace: Path) -> None:
    root = corpus_workspace
    for command in (["check", "--json"], ["dags", "dags"], ["status", "--json"]):
        expected = cli(root, IN_PROCESS, *command).stdout
        assert cli(root, POOL, *command).stdout == expected, command
        assert cli(root, CACHED, *command).stdout == expected, command
        assert cli(root, CACHED, *command).stdout == expected, command
    shutil.rmtree(root / ".cache")


def test_two_commands_filling_one_cache_at_once_both_print_the_truth(corpus_workspace: Path) -> None:
    root = corpus_workspace
    expected = reference_dags_json(root, "dags")
    env = {**os.environ, **CACHED}
    runs = [subprocess.Popen([sys.executable, "-m", "server", "dags", "dags", "--json"], cwd=root, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err.decode()
        assert out == expected
    assert cli(root, CACHED, "dags", "dags", "--json").stdout == expected
    shutil.rmtree(root / ".cache")


def test_a_damaged_cache_file_is_rebuilt_by_the_next_command(corpus_workspace: Path) -> None:
    root = corpus_workspace
    expected = reference_dags_json(root, "dags")
    cli(root, CACHED, "dags", "dags", "--json")
    database = root / ".cache" / "airlift-lsp" / "facts.sqlite3"
    data = bytearray(database.read_bytes())
    for offset in range(0, len(data), 509):
        data[offset] ^= 0xA5
    database.write_bytes(bytes(data))
    result = cli(root, CACHED, "dags", "dags", "--json")
    assert result.stdout == expected and b"Traceback" not in result.stderr
    assert cli(root, CACHED, "dags", "dags", "--json").stdout == expected
    shutil.rmtree(root / ".cache")


def test_a_dry_run_writes_no_cache_and_a_real_step_does(tmp_path: Path) -> None:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    result = cli(root, CACHED, "map", "rebuild_customers_list", "export_customers", "--dry-run")
    assert result.stdout.startswith(b"---"), result.stderr
    assert not (root / ".cache").exists()
    cli(root, CACHED, "check")
    assert (root / ".cache" / "airlift-lsp" / "facts.sqlite3").is_file()
    before = {p: p.read_bytes() for p in (root / ".cache").rglob("*") if p.is_file()}
    again = cli(root, CACHED, "map", "rebuild_customers_list", "export_customers", "--dry-run")
    assert again.stdout == result.stdout
    assert {p: p.read_bytes() for p in (root / ".cache").rglob("*") if p.is_file()} == before


def test_no_worker_imports_a_module_of_the_workspace(corpus_workspace: Path, tmp_path: Path) -> None:
    """Workers start in our own package's folder: a workspace's ``pickle.py`` (which the worker
    imports) or ``socket.py`` (which multiprocessing's spawn would) is never run."""
    root = tmp_path / "w"
    shutil.copytree(corpus_workspace / "dags", root)
    sentinels = tmp_path / "sentinels"
    sentinels.mkdir()
    for name in ("pickle", "socket", "struct", "selectors", "multiprocessing"):
        (root / f"{name}.py").write_text(f"open({str(sentinels / name)!r}, 'w').write('executed')\n")
    result = cli(root, POOL, "dags", ".", "--json")
    assert len(json.loads(result.stdout)["files"]) == 301  # the generated files and broken_dag.py
    assert sorted(p.name for p in sentinels.iterdir()) == []
