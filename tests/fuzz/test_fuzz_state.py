"""Fuzz (2): proxied-state YAML, generated and mutated, through ``parse_state_file`` and the
state edits.

The reference is PyYAML plus dagster-airlift's rules (what ``load_proxied_state_from_yaml``
does): the verdict must agree with it, and every edit result must load, with PyYAML, to the
same document but for the flipped flags and the appended entries. Edits are idempotent and
leave every line that holds no edited flag byte-identical (a line may only gain an appended
flow-style entry at its end).
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from analysis.state.proxied_state import parse_state_file
from analysis.edits.state_edits import new_state_file, set_dag_proxied, set_task_proxied
from tests.fuzz.strategies import (
    ANALYSIS_SECONDS,
    INVALID,
    STATE_IDS,
    STATE_SEEDS,
    changed_lines_only_grow_or_hold,
    check_state,
    fuzz_settings,
    lsp_lines,
    mutated,
    state_files,
    state_structure,
    time_limit,
)

PATH = "/fuzz/dags/proxied_state/my_dag.yaml"
_REFUSED = ("refused",)


def airlift_reading(document: Any) -> tuple:
    """What ``load_proxied_state_from_yaml`` then ``proxying_to_dagster`` make of a document
    PyYAML loaded: ``("refused",)`` when the loader raises, else ``("loaded", tasks, dag)``."""
    try:
        if not isinstance(document, dict) or ("tasks" in document) == ("proxied" in document):
            return _REFUSED
        tasks = {}
        for entry in document.get("tasks", ()):
            if set(entry.keys()) != {"id", "proxied"} or entry["proxied"] not in [True, False]:
                return _REFUSED
            tasks[entry["id"]] = entry["proxied"]
        if document.get("proxied") not in [True, False, None]:
            return _REFUSED
        return ("loaded", tasks, document.get("proxied"))
    except Exception:  # noqa: BLE001 - airlift wraps every exception alike
        return _REFUSED


def has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, dict):
        return any(has_nan(k) or has_nan(v) for k, v in value.items())
    if isinstance(value, list):
        return any(has_nan(v) for v in value)
    return False


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (``1 == True`` is not the same flag)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a.keys()) == list(b.keys()) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b or (isinstance(a, float) and math.isnan(a) and math.isnan(b))


def read_state(text: str):
    with time_limit(ANALYSIS_SECONDS, "parse_state_file"):
        state = parse_state_file(PATH, text)
    check_state(PATH, text, state)
    document = state_structure(text)
    reading = _REFUSED if document is INVALID else airlift_reading(document)
    if reading == _REFUSED:
        assert state.breaks_folder and state.error, f"airlift refuses this file, the model accepts it: {state}"
    elif not has_nan(document):
        assert not state.breaks_folder, f"airlift loads this file, the model refuses it: {state.error}"
        _, tasks, dag_proxied = reading
        assert {t.task_id: t.proxied for t in state.tasks} == {
            k: bool(v) for k, v in tasks.items() if isinstance(k, str)}
        assert state.dag_proxied == (None if dag_proxied is None else dag_proxied is not False)
    return state, document


def _aliased(text: str) -> bool:
    return "&" in text or "*" in text or "<<" in text


def check_task_edit(text: str, state, document, task_ids: list[str] | None, proxied: bool) -> None:
    with time_limit(ANALYSIS_SECONDS, "set_task_proxied"):
        new = set_task_proxied(text, task_ids, proxied)
    assert isinstance(new, str)
    with time_limit(ANALYSIS_SECONDS, "set_task_proxied again"):
        assert set_task_proxied(new, task_ids, proxied) == new, "set_task_proxied is not idempotent"
    tasks = document.get("tasks") if isinstance(document, dict) else None
    was_empty = isinstance(tasks, (str, dict)) and not tasks and "proxied" not in document \
        and not _aliased(text) and bool(task_ids) and not state.error
    if was_empty:
        tasks = []  # `tasks: ''` / `{}`: airlift reads no tasks; asked for tasks, the edit writes a list there
    if not isinstance(tasks, list) or "proxied" in document and "tasks" not in document:
        assert new == text, "a file without a task list was edited"
        return
    after, new_document = read_state(new)
    if not state.breaks_folder:
        assert not after.breaks_folder, f"the edit broke the file: {after.error}"
        assert (after.error is None) == (state.error is None)
    assert isinstance(new_document, dict) and isinstance(new_document.get("tasks"), list), new_document
    old_tasks, new_tasks = tasks, new_document["tasks"]
    assert len(new_tasks) >= len(old_tasks), "task entries were removed"

    def task_id(entry):
        return entry.get("id") if isinstance(entry, dict) else None

    listed = [task_id(e) for e in old_tasks if isinstance(task_id(e), str)]
    wanted = set(listed) if task_ids is None else set(task_ids)
    for old, now in zip(old_tasks, new_tasks):
        if isinstance(old, dict) and isinstance(task_id(old), str) and task_id(old) in wanted and "proxied" in old:
            assert isinstance(now, dict) and list(now) == list(old), f"keys changed: {old} -> {now}"
            assert all(same(old[k], now[k]) for k in old if k != "proxied"), f"{old} -> {now}"
            assert same(now["proxied"], proxied) or (same(now["proxied"], old["proxied"]) and _aliased(text)), \
                f"task {task_id(old)!r} not set to {proxied}: {now}"
        elif not _aliased(text):
            assert same(now, old), f"an entry that was not asked for changed: {old} -> {now}"
    missing = [] if task_ids is None else [t for t in dict.fromkeys(task_ids) if t not in listed]
    appended = new_tasks[len(old_tasks):]
    if appended or not _aliased(text):
        assert [(task_id(e), e.get("proxied")) for e in appended] == [(t, proxied) for t in missing], \
            f"appended {appended}, expected {missing}"
        assert all(type(e["proxied"]) is bool and set(e) == {"id", "proxied"} for e in appended)
    rest = {k: v for k, v in document.items() if k != "tasks"}
    assert same(rest, {k: v for k, v in new_document.items() if k != "tasks"}), "other keys changed"
    if was_empty:  # the empty value after `tasks:` gave way to the list: what comes before it stays
        assert new.startswith(text[:text.find("tasks")]), "text before `tasks` changed"
    elif not state.breaks_folder:  # (a refused file has no ranges; a bad flag may span lines)
        flag_lines = {line for t in state.tasks if t.task_id in wanted
                      for line in (t.proxied_range.start.line, t.proxied_range.end.line)}
        changed_lines_only_grow_or_hold(text, new, flag_lines)


def check_dag_edit(text: str, state, document, proxied: bool) -> None:
    with time_limit(ANALYSIS_SECONDS, "set_dag_proxied"):
        new = set_dag_proxied(text, proxied)
    with time_limit(ANALYSIS_SECONDS, "set_dag_proxied again"):
        assert set_dag_proxied(new, proxied) == new, "set_dag_proxied is not idempotent"
    if not isinstance(document, dict) or "tasks" in document or "proxied" not in document:
        assert new == text, "only a DAG-level file may be edited"
        return
    if new == text:
        assert same(document["proxied"], proxied) or _aliased(text) or state.breaks_folder, \
            f"a DAG-level flag was not set: {document}"
        return
    after, new_document = read_state(new)
    assert not after.breaks_folder and after.dag_proxied is not None, after.error
    assert same(new_document["proxied"], proxied) or _aliased(text), new_document
    assert same({k: v for k, v in document.items() if k != "proxied"},
                {k: v for k, v in new_document.items() if k != "proxied"}), "other keys changed"
    if state.proxied_range is not None:
        flag = state.proxied_range
        changed_lines_only_grow_or_hold(text, new, {flag.start.line, flag.end.line})


edits = st.tuples(st.sampled_from(["all", "some", "some", "dag"]), st.booleans(),
                  st.lists(st.integers(0, 20), max_size=4), st.lists(STATE_IDS, max_size=3))


def exercise(text: str, edit) -> None:
    state, document = read_state(text)
    kind, proxied, picks, new_ids = edit
    if kind == "dag":
        check_dag_edit(text, state, document, proxied)
        return
    ids = None
    if kind == "some":
        listed = [t.task_id for t in state.tasks]
        ids = [listed[i % len(listed)] for i in picks] if listed else []
        ids += new_ids
    check_task_edit(text, state, document, ids, proxied)


@fuzz_settings(2000)
@given(state_files(), edits)
def test_generated_state_files(text: str, edit) -> None:
    exercise(text, edit)


@fuzz_settings(2000)
@given(mutated(STATE_SEEDS, state_files()), edits)
def test_mutated_state_files(text: str, edit) -> None:
    exercise(text, edit)


@fuzz_settings(500)
@given(st.lists(STATE_IDS, max_size=6), edits)
def test_new_state_files_round_trip(ids: list[str], edit) -> None:
    text = new_state_file(ids)
    state, _ = read_state(text)
    assert state.error is None and [(t.task_id, t.proxied) for t in state.tasks] == [
        (i, False) for i in sorted(set(ids))]
    assert len(lsp_lines(text)) == 2 * len(set(ids)) + 2 or not ids
    exercise(text, edit)
