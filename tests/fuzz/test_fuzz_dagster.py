"""Fuzz (3): Dagster modules, generated and mutated from the fixtures and the tutorial's
module, through ``parse_dagster_module`` and ``add_task_mappings``.

Reading never raises and its ranges lie inside the text. Mapping either refuses with a reason,
changes nothing (and says so), or returns a module that Python and the reader accept, that
keeps every mapping it had, maps each new task to its asset, is left unchanged by the same
request again, and rewrites at most a few of the old lines.
"""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from analysis.dagster.module import parse_dagster_module
from analysis.edits import NewMapping, add_task_mappings
from analysis.edits.result import EditResult
from tests.fuzz.strategies import (
    ANALYSIS_SECONDS,
    ASSET_KEYS,
    DAGSTER_SEEDS,
    EDIT_SECONDS,
    ID_TEXT,
    IDENT,
    check_dagster,
    dagster_modules,
    fuzz_settings,
    mutated,
    python_accepts,
    python_lines_kept,
    time_limit,
)

PATH = "/fuzz/project/definitions.py"
SEED_DAG_IDS = ["rebuild_customers_list", "daily_orders", "my_dag", "dag_a", "orders"]
SEED_TASK_IDS = ["load_raw_customers", "build_dbt_models", "export_customers", "extract", "t1"]
REWRITE_ALLOWANCE = 3
"""Old lines an edit may rewrite: the previous last element (its comma), a one-line container
laid out anew, the ``assets=`` wrapped into a list."""


@st.composite
def new_mappings(draw, task_ids: list[str]) -> list[NewMapping]:
    tasks = st.sampled_from(task_ids) if task_ids else ID_TEXT
    return [NewMapping(draw(st.one_of(tasks, ID_TEXT)), draw(ASSET_KEYS),
                       tuple(draw(st.lists(ASSET_KEYS, max_size=2))))
            for _ in range(draw(st.integers(1, 3)))]


@st.composite
def generated_cases(draw):
    dag_ids = draw(st.lists(IDENT, min_size=1, max_size=3, unique=True))
    task_ids = draw(st.lists(st.one_of(IDENT, ID_TEXT), min_size=1, max_size=5, unique=True))
    text = draw(dagster_modules(dag_ids, task_ids))
    dag_id = draw(st.one_of(st.sampled_from(dag_ids), ID_TEXT))
    return text, dag_id, draw(new_mappings(task_ids))


@st.composite
def mutated_cases(draw):
    text = draw(mutated(DAGSTER_SEEDS, dagster_modules(SEED_DAG_IDS, SEED_TASK_IDS)))
    dag_id = draw(st.one_of(st.sampled_from(SEED_DAG_IDS), ID_TEXT))
    return text, dag_id, draw(new_mappings(SEED_TASK_IDS))


def _mapped(module, dag_id: str) -> set:
    return {m.task_id for m in module.mappings if m.dag_id == dag_id}


def _key_string(parts) -> str:
    return "/".join(part.replace("/", "\\/") for part in parts)


def exercise(case) -> None:
    text, dag_id, mappings = case
    with time_limit(ANALYSIS_SECONDS, "parse_dagster_module"):
        module = parse_dagster_module(PATH, text)
    check_dagster(PATH, text, module)
    with time_limit(EDIT_SECONDS, "add_task_mappings"):
        result = add_task_mappings(text, dag_id, mappings)
    assert isinstance(result, EditResult)
    if result.text is None:
        assert result.reason and not result.changed, result
        return
    if not result.changed:
        assert result.text == text, "nothing changed, yet the text differs"
        return
    new = result.text
    assert python_accepts(new), "the mapping edit produced a module Python rejects"
    with time_limit(ANALYSIS_SECONDS, "parse_dagster_module after the edit"):
        after = parse_dagster_module(PATH, new)
    check_dagster(PATH, new, after)
    assert after.error is None, after.error
    before = Counter((m.dag_id, m.task_id, tuple(a.key for a in m.assets)) for m in module.mappings)
    now = Counter((m.dag_id, m.task_id, tuple(a.key for a in m.assets)) for m in after.mappings)
    kept = {(d, t) for d, t, _ in now}
    lost = [m for m in before if (m[0], m[1]) not in kept]
    assert not lost, f"mappings lost: {lost}"
    previously = _mapped(module, dag_id)
    for mapping in mappings:
        if mapping.task_id in previously:
            continue
        keys = after.assets_for(dag_id, mapping.task_id)
        assert _key_string(mapping.asset_key) in keys, \
            f"task {mapping.task_id!r} is not mapped to {mapping.asset_key} after the edit: {keys}"
    with time_limit(EDIT_SECONDS, "add_task_mappings again"):
        again = add_task_mappings(new, dag_id, mappings)
    assert not again.changed and again.text == new, f"not idempotent: {again.reason}"
    python_lines_kept(text, new, REWRITE_ALLOWANCE, reindent_ok=True)


@fuzz_settings(300)
@given(generated_cases())
def test_generated_dagster_modules(case) -> None:
    exercise(case)


@fuzz_settings(400)
@given(mutated_cases())
def test_mutated_dagster_modules(case) -> None:
    exercise(case)
