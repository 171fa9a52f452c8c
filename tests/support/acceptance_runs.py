"""What the tests of generated acceptance tests (tests/integration/test_acceptance_*.py) share: a
fixture DAG's tasks scaffolded with the CLI (``scaffold_runs.scaffolded_project``), "Generate
acceptance test" applied for some of them, and the generated tests run with pytest in the Dagster
venv as a user runs them (no Airflow asked)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from analysis.files import read_disk
from analysis.plans.acceptance import plan_acceptance_test
from analysis.project import Layout, discover
from tests.support.scaffold_runs import dagster_python, scaffolded_project


def with_acceptance_tests(root: Path, dag_file: Path, module_file: Path, dag_id: str, scaffolded: Iterable[str],
                   tested: Iterable[str]) -> Path:
    """``root`` with the tasks ``scaffolded`` and the acceptance tests of ``tested`` written."""
    root = scaffolded_project(root, dag_file, module_file, dag_id, scaffolded)
    layout = Layout(str(root), ("dags",), "definitions.py")
    for task_id in tested:
        [change] = plan_acceptance_test(discover(layout), _read, dag_id, task_id).changes
        Path(change.path).parent.mkdir(exist_ok=True)
        Path(change.path).write_text(change.new_text, encoding="utf-8")
    return root


def _read(path: str) -> str | None:
    return read_disk(path).text if os.path.exists(path) else None


def run_generated(root: Path, out: Path, variables: Mapping[str, str] | None = None) -> subprocess.CompletedProcess:
    """pytest over ``root``'s tests/ in the Dagster venv, ``AIRFLOW_VAR_OUT_DIR`` set to ``out``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("AIRFLOW", "DAGSTER"))}
    out.mkdir(exist_ok=True)
    return subprocess.run([dagster_python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "tests"],
                          cwd=root, capture_output=True, text=True, timeout=600, check=False,
                          env={**env, **(variables or {}), "AIRFLOW_VAR_OUT_DIR": str(out), "DAGSTER_HOME": str(root)})
