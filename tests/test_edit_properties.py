"""Properties of every migration step, over the tutorial and Airflow's own example DAGs:
each edit parses, applying it twice changes nothing the second time, and lines outside the
changed blocks stay byte-identical."""

import ast
import difflib
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from analysis.plans import Plan, Refused, plan_enable_proxying, plan_map, plan_proxy, plan_rollback
from analysis.project import Layout, discover
from analysis.state.proxied_state import parse_state_file
from tests.conftest import REPO, TUTORIAL

EXAMPLES = REPO / ".cache" / "airflow3" / "lib" / "python3.11" / "site-packages" / "airflow" / "example_dags"


def apply(plan: Plan) -> None:
    for change in plan.changes:
        Path(change.path).parent.mkdir(parents=True, exist_ok=True)
        Path(change.path).write_text(change.new_text, encoding="utf-8")


def read(path: str) -> str | None:
    return Path(path).read_text(encoding="utf-8") if os.path.exists(path) else None


def check_change(old: str | None, new: str, path: str, allowance: int = 12) -> None:
    if path.endswith(".py"):
        ast.parse(new)
    else:
        assert parse_state_file(path, new).error is None
    if old is None:
        return
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(None, old_lines, new_lines, autojunk=False)
    if not path.endswith(".py"):
        # State files: only `proxied:` flags change; entries may be added, never removed.
        for tag, i1, i2, _, _ in matcher.get_opcodes():
            assert tag in ("equal", "insert") or all("proxied:" in line for line in old_lines[i1:i2]), path
        return
    kept = sum(size for _, _, size in matcher.get_matching_blocks())
    assert kept >= len(old_lines) - allowance, f"{path}: an edit rewrote {len(old_lines) - kept} lines"


def step(root: Path, make) -> Plan | None:
    project = discover(Layout(str(root), ("dags",), "definitions.py"))
    try:
        plan = make(project)
    except Refused:
        return None
    for change in plan.changes:
        # Binding DAGs to names touches one line per DAG of the file; nothing else may.
        dags = len(project.files[change.path].dags) if change.path in project.files else 0
        check_change(change.old_text, change.new_text, change.path, 12 + dags)
    apply(plan)
    again = make(discover(Layout(str(root), ("dags",), "definitions.py")))
    assert again.changes == (), f"not idempotent: {[c.path for c in again.changes]}"
    return plan


def example_files() -> list[Path]:
    """Airflow's examples that define at least one statically known DAG with tasks."""
    from analysis.dags.dagfile import extract_file

    if not EXAMPLES.exists():
        return [EXAMPLES / "missing: run `make airflow3`"]
    return [path for path in sorted(EXAMPLES.glob("example_*.py"))
            if any(not d.dynamic and d.tasks for d in extract_file(str(path), path.read_text()).dags)]


@pytest.mark.parametrize("source", example_files() + sorted((TUTORIAL / "airflow_dags").glob("*.py")),
                         ids=lambda p: p.name)
def test_every_step_on_every_example_dag(source: Path, tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(source, dags / source.name)
    if source.parent.name == "airflow_dags":
        shutil.copytree(source.parent / "tutorial_shared", dags / "tutorial_shared")
    project = discover(Layout(str(tmp_path), ("dags",), "definitions.py"))
    static = [e.dag_id for e in project.entries if not e.dag.dynamic and e.dag.tasks]
    assert static, "no statically known DAG with tasks"
    # A DAG that proxying_to_dagster cannot see (an @asset's) is refused, not "proxied".
    static = [d for d in static if (e := project.entry(d)).dag.global_name or e.dag.binding]
    for dag_id in static:
        step(tmp_path, lambda p, d=dag_id: plan_map(p, read, d))
        step(tmp_path, lambda p, d=dag_id: plan_enable_proxying(p, read, d))
        step(tmp_path, lambda p, d=dag_id: plan_proxy(p, read, d))
        step(tmp_path, lambda p, d=dag_id: plan_rollback(p, read, d))
    step(tmp_path, lambda p: plan_rollback(p, read, None))
    final = discover(Layout(str(tmp_path), ("dags",), "definitions.py"))
    for dag_id in static:
        entry = final.entry(dag_id)
        assert entry is not None and entry.file.proxying is not None
        assert entry.state is not None and not any(t.proxied for t in entry.state.tasks)
        mapped = [t for t in entry.dag.tasks if final.assets_for(dag_id, t.task_id)]
        assert len(mapped) == len(entry.dag.tasks)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["load_raw_customers", "build_dbt_models", "export_customers"]), max_size=6),
       st.lists(st.booleans(), min_size=6, max_size=6))
def test_any_sequence_of_proxy_and_rollback_keeps_files_valid(tmp_path_factory, tasks, directions) -> None:
    root = tmp_path_factory.mktemp("seq")
    shutil.copytree(TUTORIAL / "airflow_dags", root / "dags")
    shutil.copy(TUTORIAL / "tutorial_dagster" / "definitions.py", root / "definitions.py")
    step(root, lambda p: plan_map(p, read, "rebuild_customers_list"))
    for task, forward in zip(tasks, directions):
        if forward:
            step(root, lambda p, t=task: plan_proxy(p, read, "rebuild_customers_list", [t]))
        else:
            step(root, lambda p, t=task: plan_rollback(p, read, "rebuild_customers_list", [t]))
    state = parse_state_file("s.yaml", (root / "dags" / "proxied_state" / "rebuild_customers_list.yaml").read_text())
    expected = {}
    for task, forward in zip(tasks, directions):
        expected[task] = forward
    assert {t.task_id: t.proxied for t in state.tasks if t.task_id in expected} == expected
