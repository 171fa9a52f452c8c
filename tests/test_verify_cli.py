"""``verify``'s refusals are one line and exit 2, and a probe that hangs is killed with
everything it started (no Airflow needed: stand-in interpreters)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TUTORIAL, run_cli


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    return root


def one_line_error(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_without_an_interpreter_it_says_how_to_set_one(root: Path) -> None:
    line = one_line_error(run_cli("verify", cwd=root))
    assert line.startswith("airlift-lsp: verify: no Airflow interpreter to verify with: pass --airflow-python PY")
    assert "airflow.python" in line


def test_an_interpreter_that_is_not_there(root: Path) -> None:
    line = one_line_error(run_cli("verify", "--airflow-python", "nowhere/bin/python", cwd=root))
    assert line == "airlift-lsp: verify: `nowhere/bin/python` does not exist (set by --airflow-python)"


def test_the_setting_names_the_interpreter_relative_to_the_workspace(root: Path) -> None:
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(
        'username = "admin" }', 'username = "admin", python = ".venv/bin/python" }'))
    line = one_line_error(run_cli("verify", cwd=root))
    assert line == "airlift-lsp: verify: `.venv/bin/python` does not exist (set by the airflow.python setting)"


def test_an_interpreter_without_airflow(root: Path) -> None:
    line = one_line_error(run_cli("verify", "--airflow-python", sys.executable, cwd=root))  # the dev venv
    assert line.startswith(f"airlift-lsp: verify: `{sys.executable}` has no apache-airflow (")


def test_verify_on_a_step_needs_an_interpreter_too_and_writes_nothing(root: Path) -> None:
    before = (root / "tutorial_dagster" / "definitions.py").read_text()
    line = one_line_error(run_cli("map", "rebuild_customers_list", "export_customers", "--verify", cwd=root))
    assert "no Airflow interpreter to verify with" in line
    assert (root / "tutorial_dagster" / "definitions.py").read_text() == before


@pytest.mark.skipif(sys.platform == "win32", reason="process groups")
def test_a_probe_that_never_answers_is_killed_with_its_children(root: Path, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    hanging = tmp_path / "python"
    hanging.write_text(f"#!/bin/sh\nsleep 60 &\necho $! > {pids}\nsleep 60\n")
    hanging.chmod(0o755)
    started = time.monotonic()
    result = run_cli("verify", "--airflow-python", str(hanging), "--timeout", "1", cwd=root)
    line = one_line_error(result)
    assert time.monotonic() - started < 20
    assert line == ("airlift-lsp: verify: the Airflow probe gave no answer within 1 s (a DAG file or module "
                    "that never finishes importing?); stopped it")
    child = int(pids.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"the probe's child {child} is still running")


def test_a_probe_that_prints_no_report(root: Path, tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\necho 'Fatal Python error: init_fs_encoding' >&2\nexit 1\n")
    broken.chmod(0o755)
    line = one_line_error(run_cli("verify", "--airflow-python", str(broken), cwd=root))
    assert line == (f"airlift-lsp: verify: `{broken}` could not run the Airflow probe (exit 1): "
                    "Fatal Python error: init_fs_encoding")
