"""Differential fuzzing against Airflow itself: generated (static, mostly valid) DAG files
are read by the static model and imported by Airflow's own DagBag (in the Airflow 3 venv).

Where Airflow imports a file, every DAG it loads must be in the model with the same tasks and
edges, unless the model says the DAG is dynamic. Where Airflow refuses a file for a reason the
model claims to know (``DuplicateTaskIdFound``: the ``duplicate-task-id`` diagnostic; ``>>``
between two lists: no edges at all), the model must say so. Other import errors (names unbound
at run time, cycles, ids repeated across files) are the generator's sloppiness, not compared.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis.dags.dagfile import extract_file
from analysis.facts import Severity
from tests.fuzz.strategies import REPO, fuzz_settings, simple_dag_source

pytestmark = [pytest.mark.slow, pytest.mark.airflow]
DUMP = REPO / "tests" / "support" / "dagbag_dump.py"


def dagbag(python: str, folder: Path) -> dict:
    result = subprocess.run([python, str(DUMP), str(folder)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def compare(folder: Path, loaded: dict) -> list[str]:
    problems = []
    by_file: dict[str, dict] = {}
    for dag_id, dag in loaded["dags"].items():
        by_file.setdefault(dag["file"], {})[dag_id] = dag
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        facts = extract_file(str(path), text)
        error = loaded["import_errors"].get(path.name)
        if error is not None:
            if "DuplicateTaskIdFound" in error and "group_id" not in error:
                if not any(f.code == "duplicate-task-id" for f in facts.findings):
                    problems.append(f"{path.name}: Airflow raises {error}, the model has no duplicate-task-id")
            elif "unsupported operand type(s) for >>: 'list' and 'list'" in error or \
                    "unsupported operand type(s) for <<: 'list' and 'list'" in error:
                flagged = any(f.severity is Severity.ERROR for f in facts.findings) or any(d.dynamic for d in facts.dags)
                if not flagged:
                    problems.append(f"{path.name}: Airflow fails to import it ({error}); the model draws edges "
                                    "between the two lists and reports nothing")
            continue
        for dag_id, dag in by_file.get(path.name, {}).items():
            ours = facts.dag(dag_id)
            if ours is None:
                if not any(d.dynamic for d in facts.dags):
                    problems.append(f"{path.name}: Airflow loads DAG {dag_id!r}, the model does not see it")
                continue
            if ours.dynamic:
                continue
            theirs = {task: sorted(upstream) for task, upstream in dag["tasks"].items()}
            mine = {t.task_id: sorted(t.upstream) for t in ours.tasks}
            if mine != theirs:
                missing = sorted(set(theirs) - set(mine))
                extra = sorted(set(mine) - set(theirs))
                edges = sorted(t for t in set(mine) & set(theirs) if mine[t] != theirs[t])
                problems.append(f"{path.name}: DAG {dag_id!r} differs: tasks only in Airflow {missing}, only in "
                                f"the model {extra}, other upstream for {[(t, theirs[t], mine[t]) for t in edges]}")
    return problems


@fuzz_settings(20)
@given(st.lists(simple_dag_source(), min_size=6, max_size=6))
def test_the_model_agrees_with_airflow_on_generated_dags(sources) -> None:
    from tests.conftest import airflow3_python

    with tempfile.TemporaryDirectory(prefix="airlift-fuzz-airflow-") as folder:
        root = Path(folder)
        for index, (text, _) in enumerate(sources):
            (root / f"generated_{index}.py").write_text(text, encoding="utf-8")
        problems = compare(root, dagbag(airflow3_python(), root))
        assert not problems, "\n".join(problems)
