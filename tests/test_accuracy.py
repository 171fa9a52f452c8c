"""Guard the accuracy figures of bench/accuracy.py in CI (the benchmark prints them)."""

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, airflow3_python


@pytest.mark.airflow
def test_static_model_matches_dagbag_on_airflows_example_dags() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "accuracy.py"), "--json", "--strict", "--refresh"],
        capture_output=True, text=True, timeout=900,
        env={**os.environ, "AIRFLOW3_PYTHON": airflow3_python()},
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    figures = json.loads(result.stdout)
    print(json.dumps(figures, indent=1)[:2000])
