"""The VS Code extension (vscode-client/): its unit tests, its type check, and the end-to-end run
of the packaged .vsix in code-server driven through headless Chromium.

Prerequisites come from ``scripts/vscode-deps.sh``; when they are missing these tests fail (they
never skip), saying what to run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "vscode-client"
DEPS = "bash scripts/vscode-deps.sh"


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    if shutil.which(command[0]) is None:
        pytest.fail(f"`{command[0]}` is not on PATH; run `{DEPS}`")
    if not (CLIENT / "node_modules").is_dir():
        pytest.fail(f"vscode-client/node_modules is missing; run `{DEPS}`")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW_")}
    try:
        return subprocess.run(command, cwd=CLIENT, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, env=environment)
    except subprocess.TimeoutExpired as expired:
        pytest.fail(f"{' '.join(command)} took more than {timeout} s:\n{expired.stdout or ''}{expired.stderr or ''}")


def _check(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-8000:]}\n{result.stderr[-4000:]}"


def test_extension_type_checks() -> None:
    _check(_run(["npm", "run", "--silent", "typecheck"], timeout=300))


def test_extension_unit_tests() -> None:
    result = _run(["npm", "test", "--silent"], timeout=300)
    _check(result)
    assert "# fail 0" in result.stdout


@pytest.mark.slow
def test_vscode_end_to_end() -> None:
    """In real VS Code: first use from a clean profile with no settings (lenses within 60 s from the
    server wheel in the .vsix), the failure path with no package index (the error and its Open
    Settings / Show Output / Retry), dormancy in a project without Airflow, then lenses, hover, a
    quick fix, "Airlift: Roll back task to Airflow", the report view and Restricted Mode;
    screenshots in artifacts/vscode-e2e/. The runner bounds every wait itself."""
    result = _run(["node", "test/e2e/run.mjs"], timeout=1200)
    _check(result)
    assert "0 failed" in result.stdout
