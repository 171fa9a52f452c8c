"""`make dist` (issue 17): a wheel and an sdist that install the server without this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO, TUTORIAL

UV = Path(sys.executable).parent / "uv"


@pytest.mark.slow
def test_make_dist_builds_a_wheel_that_runs_on_its_own(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    built = subprocess.run(["make", "--no-print-directory", "dist", f"DIST={dist}"], cwd=REPO,
                           capture_output=True, text=True, timeout=600, check=False)
    assert built.returncode == 0, built.stdout + built.stderr
    [wheel] = dist.glob("airlift_lsp-*-py3-none-any.whl")
    [sdist] = dist.glob("airlift_lsp-*.tar.gz")
    names = zipfile.ZipFile(wheel).namelist()
    assert "analysis/__init__.py" in names and "server/__init__.py" in names
    assert "server/cli/__init__.py" in names and "analysis/dags/budget.py" in names
    assert not any(name.startswith(("tests/", "examples/", "vscode-client/")) for name in names)
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert "airlift-lsp = server.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert any(m.endswith("/pyproject.toml") for m in members) and any(m.endswith("/server/app.py") for m in members)

    # A fresh environment with only the wheel (and its dependencies from the index): no checkout.
    venv = tmp_path / "venv"
    subprocess.run([str(UV), "venv", "--quiet", "--python", sys.executable, str(venv)], check=True, timeout=300)
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    subprocess.run([str(UV), "pip", "install", "--quiet", str(wheel)], env=env, check=True, timeout=600)
    command = venv / "bin" / "airlift-lsp"
    away = tmp_path / "elsewhere"
    away.mkdir()
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    helped = subprocess.run([str(command), "--help"], cwd=away, capture_output=True, text=True, env=clean,
                            timeout=120, check=False)
    assert helped.returncode == 0 and "usage: airlift-lsp" in helped.stdout, helped.stderr
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import server; print(server.__file__)"],
                           cwd=away, capture_output=True, text=True, env=clean, timeout=120, check=True)
    assert Path(where.stdout.strip()).is_relative_to(venv)  # the installed copy, not this checkout
    project = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, project)
    dags = subprocess.run([str(command), "dags", "airflow_dags"], cwd=project, capture_output=True, text=True,
                          env={**clean, "AIRFLOW_URL": ""}, timeout=120, check=False)
    assert dags.returncode == 0, dags.stderr
    assert "rebuild_customers_list  3 tasks" in dags.stdout
