import json
import os
import shutil
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TUTORIAL = REPO / "examples" / "tutorial"

# The facts cache (server/indexing/cache.py) writes .cache/airlift-lsp/ into the workspace: off
# for every test and every CLI or server they start, so that trees compared file by file stay
# as the test made them; the cache's own tests turn it on. A cache that `make demo`, or the CLI
# run by hand in a fixture folder, left in the tutorial or a fixture would be copied into every
# test workspace made from it: gone too.
os.environ["AIRLIFT_LSP_CACHE"] = "off"
for _cache in [*TUTORIAL.glob(".cache/airlift-lsp"), *FIXTURES.glob("**/.cache/airlift-lsp")]:
    shutil.rmtree(_cache, ignore_errors=True)
    if not any(_cache.parent.iterdir()):
        _cache.parent.rmdir()


def airflow3_python() -> str:
    python = os.environ.get("AIRFLOW3_PYTHON") or str(REPO / ".cache" / "airflow3" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"Airflow 3 venv missing at {python}: run `make airflow3` (make test does it)")
    return python


def airflow2_python() -> str:
    python = os.environ.get("AIRFLOW2_PYTHON") or str(REPO / ".cache" / "airflow2" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"Airflow 2 venv missing at {python}: run `make airflow2` (make test does it)")
    return python


def dagbag_of(python: str, folder: str | Path, env: dict[str, str] | None = None) -> dict:
    """Run Airflow's own DagBag over a folder in an Airflow venv (see support/dagbag_dump.py);
    ``env``: variables the DAG files read at import (``ENV=prod``)."""
    result = subprocess.run(
        [python, str(Path(__file__).parent / "support" / "dagbag_dump.py"), str(folder)],
        capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@lru_cache(maxsize=None)
def _dagbag(folder: str) -> str:
    return json.dumps(dagbag_of(airflow3_python(), folder))


@pytest.fixture(scope="session")
def dagbag():
    """What Airflow's own DagBag loads from a folder (the ground truth of the static model)."""
    return lambda folder: json.loads(_dagbag(str(folder)))


def run_cli(*args: str, cwd: Path | str | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120, **kwargs)
