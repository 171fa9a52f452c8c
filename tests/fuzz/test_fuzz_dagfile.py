"""Fuzz (1): DAG files, generated from the grammar or mutated from real ones, through
``extract_file`` and ``check_project``: no exception, no hang, well-formed facts and findings.

Oracles beyond "does not crash": Python's own parser decides whether a file is a syntax
error; every range lies inside the text (LSP lines, code-point columns); an id range covers an
expression; upstream ids are tasks of the same DAG; every finding's related information points
into a file of the project.
"""

from __future__ import annotations

import os

from hypothesis import given
from hypothesis import strategies as st

from analysis.checks import check_project
from analysis.dags.dagfile import extract_file
from analysis.dagster.module import parse_dagster_module
from analysis.describe import dag_markdown, dag_status, task_markdown, task_status
from analysis.edits.proxying_hook import add_proxying_hook
from analysis.project import Layout, Project, link, state_dir_for
from analysis.state.proxied_state import parse_state_file
from tests.fuzz.strategies import (
    ANALYSIS_SECONDS,
    DAG_SEEDS,
    STATE_SEEDS,
    EDIT_SECONDS,
    any_dag_source,
    any_dagster_module,
    check_dag_facts,
    check_dagster,
    check_finding,
    check_state,
    dag_sources,
    dagster_modules,
    fuzz_settings,
    mutated,
    python_accepts,
    python_lines_kept,
    state_files,
    time_limit,
)

ROOT = "/fuzz/project"


def read_dag_file(text: str, path: str = f"{ROOT}/dags/fuzzed.py"):
    with time_limit(ANALYSIS_SECONDS, "extract_file"):
        facts = extract_file(path, text)
    check_dag_facts(path, text, facts)
    return facts


def hook_is_added_once(text: str) -> None:
    """``add_proxying_hook`` (what "enable proxying" runs) on any file Python accepts."""
    with time_limit(EDIT_SECONDS, "add_proxying_hook"):
        result = add_proxying_hook(text)
    if result.text is None:
        assert result.reason, "a refusal without a reason"
        return
    if not result.changed:
        assert result.text == text
        return
    assert python_accepts(result.text), "the hook edit produced a file Python rejects"
    python_lines_kept(text, result.text, allowance=2)
    with time_limit(EDIT_SECONDS, "add_proxying_hook again"):
        again = add_proxying_hook(result.text)
    assert not again.changed and again.text == result.text, "adding the hook is not idempotent"
    hook = extract_file("/fuzz/hooked.py", result.text).proxying
    assert hook is not None and hook.enabled is not False, "the added hook is not seen as enabled"


@fuzz_settings(1500)
@given(dag_sources())
def test_generated_dag_files(text: str) -> None:
    read_dag_file(text)


@fuzz_settings(3000)
@given(mutated(DAG_SEEDS, dag_sources()))
def test_mutated_dag_files(text: str) -> None:
    read_dag_file(text)


@fuzz_settings(300)
@given(any_dag_source())
def test_enabling_proxying_on_fuzzed_dag_files(text: str) -> None:
    facts = read_dag_file(text)
    if facts.error is None:
        hook_is_added_once(text)


def fuzzed_project(data) -> tuple[Project, dict[str, str]]:
    """A project in memory: fuzzed DAG files, state files beside them (named after their DAGs,
    or not), and Dagster modules mapping their tasks (or others). Each file is checked as read."""
    draw = data.draw
    layout = Layout(ROOT, ("dags",), draw(st.sampled_from([None, "definitions.py"])))
    project = Project(layout)
    texts: dict[str, str] = {}
    for index in range(draw(st.integers(1, 3))):
        path = f"{ROOT}/dags/{'sub/' if index == 2 else ''}dag_{index}.py"
        text = draw(any_dag_source())
        texts[path] = text
        project.files[path] = read_dag_file(text, path)
    dag_ids = sorted({d.dag_id for f in project.files.values() for d in f.dags})
    task_ids = sorted({t.task_id for f in project.files.values() for d in f.dags for t in d.tasks})
    folders = sorted({state_dir_for(f) for f in project.files.values()})
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(dag_ids)) if dag_ids and draw(st.booleans()) else draw(
            st.sampled_from(["orphan", "x y", "dag.v2", "é"]))
        path = os.path.join(draw(st.sampled_from(folders)), name + draw(st.sampled_from([".yaml", ".yml"])))
        generated = state_files(task_ids=task_ids)
        text = draw(generated if draw(st.integers(0, 3)) else mutated(STATE_SEEDS, generated))
        texts[path] = text
        with time_limit(ANALYSIS_SECONDS, "parse_state_file"):
            project.states[path] = parse_state_file(path, text)
        check_state(path, text, project.states[path])
    for index in range(draw(st.integers(0, 2))):
        path = f"{ROOT}/{'definitions' if index == 0 else 'more_defs'}.py"
        text = draw(dagster_modules(dag_ids, task_ids) if draw(st.integers(0, 3)) else any_dagster_module())
        texts[path] = text
        with time_limit(ANALYSIS_SECONDS, "parse_dagster_module"):
            project.dagster_modules[path] = parse_dagster_module(path, text)
        check_dagster(path, text, project.dagster_modules[path])
    link(project)
    return project, texts


def check_fuzzed_project(data) -> None:
    project, texts = fuzzed_project(data)
    with time_limit(ANALYSIS_SECONDS, "check_project"):
        findings = check_project(project)
    for finding in findings:
        check_finding(finding, texts, "check_project")
    assert findings == sorted(findings, key=lambda f: (f.path, f.range.start, f.code))
    # What hovers, lenses and the CLI say about each DAG and task.
    with time_limit(ANALYSIS_SECONDS, "describe"):
        for entry in project.entries:
            status = dag_status(project, entry)
            assert 0 <= status.proxied <= status.total and 0 <= status.mapped <= status.total, status
            assert status.label and dag_markdown(project, entry)
            for task in entry.dag.tasks:
                assert task_status(project, entry, task).label
                assert task_markdown(project, entry, task, markdown=False)


@fuzz_settings(300)
@given(st.data())
def test_check_project_on_fuzzed_projects(data) -> None:
    check_fuzzed_project(data)
