"""Fuzz (4): every migration plan on small generated workspaces (temporary folders).

A workspace holds one or two DAG files (generated, real, or mutated), maybe state files, maybe
a Dagster module (generated, the tutorial's, or undecodable bytes), and a random sequence of
steps (map, enable proxying, proxy, roll back) with real or bogus DAG and task ids. Each plan
is either ``Refused`` or a set of changes that: stay inside the workspace, start from the file
as it is on disk (never "create" a file that exists), parse, touch only their lines, do what
the step says, and are idempotent (planning again after applying them changes nothing).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from analysis.checks import check_project
from analysis.dags.dagfile import extract_file
from analysis.dagster.module import parse_dagster_module
from analysis.describe import nothing_to_migrate_in
from analysis.files import read_disk
from analysis.plans import Refused, plan_enable_proxying, plan_map, plan_proxy, plan_rollback
from analysis.project import Layout, discover
from analysis.state.proxied_state import parse_state_file
from tests.fuzz.strategies import (
    DAG_SEEDS,
    DAGSTER_SEEDS,
    EDIT_SECONDS,
    ID_TEXT,
    TUTORIAL,
    any_dag_source,
    changed_lines_only_grow_or_hold,
    check_finding,
    dagster_modules,
    fuzz_settings,
    python_accepts,
    python_lines_kept,
    simple_dag_source,
    state_files,
    time_limit,
)

BOGUS_DAG_IDS = ["", "../evil", "a/b", "nope", "é", "x" * 300, ".", "proxied_state", "dag\n"]
STEP_KINDS = ["map", "map", "enable", "proxy", "proxy", "rollback", "rollback_all"]


def _ids_of(text: str) -> tuple[list[str], list[str]]:
    """DAG and task ids of a text, to write matching state files and modules (best effort)."""
    try:
        facts = extract_file("/fuzz/scenario.py", text)
    except BaseException:  # noqa: BLE001 - the DAG fuzz tests report it; here it only steers
        return [], []
    return [d.dag_id for d in facts.dags], [t.task_id for d in facts.dags for t in d.tasks]


@st.composite
def scenarios(draw) -> dict:
    layout = draw(st.sampled_from([("dags", "definitions.py"), ("dags", None), ("", None)]))
    folder = layout[0] or "."
    files: dict[str, str | bytes] = {}
    dag_ids: list[str] = []
    task_ids: list[str] = []
    for index in range(draw(st.integers(1, 2))):
        source = draw(st.sampled_from(["simple", "simple", "simple", "simple", "real", "fuzzed"]))
        text = {"simple": lambda: draw(simple_dag_source())[0], "real": lambda: draw(st.sampled_from(DAG_SEEDS)),
                "fuzzed": lambda: draw(any_dag_source())}[source]()
        files[f"{folder}/dag_{index}.py"] = text
        dags, tasks = _ids_of(text)
        dag_ids += dags
        task_ids += tasks
    for _ in range(draw(st.integers(0, 2))):
        name = draw(st.sampled_from(dag_ids)) if dag_ids and draw(st.integers(0, 4)) else draw(ID_TEXT)
        if not name.isprintable() or any(c in name for c in "/\\\ud800") or not name.strip(".") \
                or len(name) > 100 or any(0xD800 <= ord(c) <= 0xDFFF for c in name):
            continue
        content = draw(state_files(task_ids=task_ids)) if draw(st.integers(0, 9)) else draw(
            st.binary(min_size=1, max_size=20))
        files[f"{folder}/proxied_state/{name}.yaml"] = content
    module = draw(st.sampled_from(["none", "none", "generated", "generated", "generated", "seed", "seed", "bytes"]))
    module_path = layout[1] or "definitions.py"
    if module == "generated":
        files[module_path] = draw(dagster_modules(dag_ids, task_ids))
    elif module == "seed":
        files[module_path] = draw(st.sampled_from(DAGSTER_SEEDS))
    elif module == "bytes":
        files[module_path] = draw(st.sampled_from([b"\xff\xfe not utf-8 build_defs_from_airflow_instance",
                                                   b"assets_with_task_mappings\x00binary"]))
    tasks = st.one_of(st.none(), st.none(), st.lists(st.integers(0, 20), min_size=1, max_size=3), st.lists(
        st.one_of(st.integers(0, 20), st.sampled_from(["nope", "", "é"])), max_size=3))
    steps = []
    if draw(st.integers(0, 2)):  # the migration's own order, on one DAG
        dag = draw(st.integers(0, 5))
        journey = [("map", dag, None, None), ("enable", dag, None, None), ("proxy", dag, draw(tasks), None),
                   ("rollback", dag, draw(tasks), None)]
        steps += journey[:draw(st.integers(1, 4))]
    for _ in range(draw(st.integers(0 if steps else 1, 4))):
        kind = draw(st.sampled_from(STEP_KINDS))
        dag = draw(st.integers(0, 5)) if draw(st.integers(0, 7)) else draw(st.sampled_from(BOGUS_DAG_IDS))
        asset = None if draw(st.integers(0, 3)) else draw(st.sampled_from(["custom/key", "a", "é/ü", "x//y"]))
        steps.append((kind, dag, draw(tasks), asset))
    return {"layout": layout, "files": files, "steps": steps}


def _write(root: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            with open(path, "w", encoding="utf-8", errors="surrogatepass", newline="") as handle:
                handle.write(content)


def _read(path: str) -> str | None:
    return read_disk(path).text if os.path.exists(path) else None


def _inside(root: str, path: str) -> bool:
    real = os.path.realpath(root)
    return os.path.commonpath([real, os.path.realpath(path)]) == real


class Workspace:
    def __init__(self, root: Path, layout: tuple[str, str | None]) -> None:
        self.root = root
        self.layout = Layout(str(root), (layout[0],) if layout[0] else (), layout[1])

    def project(self):
        with time_limit(EDIT_SECONDS, "discover"):
            return discover(self.layout)

    def make(self, step, project):
        """The plan function of a step, with its ids resolved against the project."""
        kind, dag, tasks, asset = step
        entries = project.entries
        if isinstance(dag, int):
            dag_id = entries[dag % len(entries)].dag_id if entries else "nope"
        else:
            dag_id = dag
        entry = project.entry(dag_id)
        task_ids = None
        if tasks is not None:
            known = [t.task_id for t in entry.dag.tasks] if entry else []
            task_ids = [(known[t % len(known)] if known else "nope") if isinstance(t, int) else t for t in tasks]
        read = _read
        if kind == "map":
            return dag_id, task_ids, lambda p: plan_map(p, read, dag_id, task_ids, asset)
        if kind == "enable":
            return dag_id, task_ids, lambda p: plan_enable_proxying(p, read, dag_id)
        if kind == "proxy":
            return dag_id, task_ids, lambda p: plan_proxy(p, read, dag_id, task_ids)
        if kind == "rollback":
            return dag_id, task_ids, lambda p: plan_rollback(p, read, dag_id, task_ids)
        return None, None, lambda p: plan_rollback(p, read, None)

    def step(self, step) -> None:
        project = self.project()
        dag_id, task_ids, make = self.make(step, project)
        try:
            with time_limit(EDIT_SECONDS, f"plan {step[0]}"):
                plan = make(project)
        except Refused as refusal:
            assert str(refusal).strip(), "a refusal without a reason"
            return
        for change in plan.changes:
            self.check_change(project, change)
        for change in plan.changes:
            path = Path(change.path)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", errors="surrogatepass", newline="") as handle:
                handle.write(change.new_text)
        after = self.project()
        try:
            with time_limit(EDIT_SECONDS, f"plan {step[0]} again"):
                again = make(after)
        except Refused as refusal:
            raise AssertionError(f"planning {step} again after applying it is refused: {refusal}") from None
        assert again.changes == (), f"not idempotent: {step} changes {[c.path for c in again.changes]} again"
        self.check_effect(step[0], dag_id, task_ids, after, bool(plan.changes))

    def check_change(self, project, change) -> None:
        path = change.path
        assert _inside(str(self.root), path), f"a plan writes outside the workspace: {path}"
        on_disk = _read(path)
        if change.old_text is None:
            assert not os.path.exists(path), f"a plan creates {path}, which exists (it would be overwritten)"
        else:
            assert change.old_text == on_disk, f"a plan starts from text that is not {path}'s"
        new = change.new_text
        if path.endswith(".py"):
            assert python_accepts(new), f"the plan writes a Python file that does not parse: {path}"
            if path in project.files:
                facts = extract_file(path + ".check", new)
                assert facts.error is None
                dags = len(project.files[path].dags) if path in project.files else 0
                if change.old_text is not None:
                    python_lines_kept(change.old_text, new, allowance=dags + 3)
            else:
                module = parse_dagster_module(path, new)
                assert module.error is None, module.error
                if change.old_text is not None:
                    python_lines_kept(change.old_text, new, allowance=4, reindent_ok=True)
        else:
            state = parse_state_file(path, new)
            assert state.error is None, f"the plan writes an invalid state file: {state.error}"
            if change.old_text is not None:
                old = parse_state_file(path, change.old_text)
                flags = {line for t in old.tasks for line in (t.proxied_range.start.line, t.proxied_range.end.line)}
                if old.proxied_range is not None:
                    flags |= {old.proxied_range.start.line, old.proxied_range.end.line}
                changed_lines_only_grow_or_hold(change.old_text, new, flags)

    def check_effect(self, kind: str, dag_id, task_ids, project, changed: bool) -> None:
        entry = project.entry(dag_id) if dag_id else None
        if kind == "rollback_all":
            for state in project.states.values():
                if state.error is None:
                    assert not state.dag_proxied and not any(t.proxied for t in state.tasks), state.path
            return
        if entry is None:
            return
        # A whole-DAG step leaves out, with a note, the tasks it cannot take: ids only known at run
        # time (map, proxy) and tasks inside TaskGroups (proxy: airlift breaks their serialization).
        tasks = [t for t in entry.dag.tasks if t.task_id in task_ids] if task_ids is not None \
            else [t for t in entry.dag.tasks if t.certain and not (kind == "proxy" and t.group_prefixed)]
        if kind == "map":
            unmapped = [t.task_id for t in tasks if not project.assets_for(dag_id, t.task_id)]
            assert not unmapped, f"mapped, yet without an asset: {unmapped}"
        elif kind in ("proxy", "rollback") and entry.state is not None and entry.state.error is None:
            want = kind == "proxy"
            for task in tasks:
                if task.mapped or (want and nothing_to_migrate_in(project, dag_id, task)):
                    continue  # a task with nothing to migrate stays in Airflow as it was
                assert project.is_proxied(entry, task) == want, f"{task.task_id} is not {kind} after {kind}"
        if kind in ("enable", "proxy") and changed:
            hook = entry.file.proxying
            assert hook is not None and hook.enabled is not False, "proxying is not enabled after the step"
            assert entry.state is not None and entry.state.error is None


def run_scenario(scenario: dict) -> None:
    root = Path(tempfile.mkdtemp(prefix="airlift-fuzz-"))
    try:
        _write(root, scenario["files"])
        workspace = Workspace(root, scenario["layout"])
        for step in scenario["steps"]:
            workspace.step(step)
        project = workspace.project()
        texts = {}
        # (an undecodable Dagster module has an `unreadable-file` finding at its start)
        for path in [*project.files, *project.states, *project.dagster_modules, *project.unreadable_dagster_modules]:
            texts[path] = _read(path) or ""
        with time_limit(EDIT_SECONDS, "check_project"):
            findings = check_project(project)
        for finding in findings:
            check_finding(finding, texts, "check_project after the steps")
    finally:
        shutil.rmtree(root, ignore_errors=True)


@fuzz_settings(120)
@given(scenarios())
def test_migration_plans_on_generated_workspaces(scenario: dict) -> None:
    run_scenario(scenario)


def test_the_tutorial_module_is_among_the_seeds() -> None:
    assert (TUTORIAL / "tutorial_dagster" / "definitions.py").read_text(encoding="utf-8") in DAGSTER_SEEDS
