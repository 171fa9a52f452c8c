"""The Dagster module's task mappings, read statically with libcst."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from analysis.dagster.module import (
    DagsterModule,
    looks_like_dagster_module,
    parse_dagster_module,
)
from analysis.facts import Range

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dagster"


def load(name: str) -> tuple[DagsterModule, str]:
    path = FIXTURES / name
    text = path.read_text(encoding="utf-8")
    return parse_dagster_module(str(path), text), text


def table(module: DagsterModule) -> list[tuple[str, str | None, list[str], bool]]:
    return [(m.dag_id, m.task_id, [a.key for a in m.assets], m.dynamic) for m in module.mappings]


def span(text: str, needle: str, occurrence: int = 0) -> Range:
    """Where ``needle`` is, found by plain text search (independently of libcst)."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    return Range(position(text, index), position(text, index + len(needle)))


def position(text: str, index: int):
    from analysis.facts import Position

    before = text[:index]
    return Position(before.count("\n"), index - (before.rfind("\n") + 1))


def test_tutorial_module():
    module, text = load("tutorial_definitions.py")
    assert module.error is None and module.calls_build_defs and module.unresolved == ()
    assert table(module) == [
        ("rebuild_customers_list", "load_raw_customers", ["raw_data/raw_customers"], False),
        ("rebuild_customers_list", "build_dbt_models", ["customers"], False),
    ]
    load_raw = module.mappings[0]
    assert load_raw.key_range == span(text, '"load_raw_customers"')
    assert load_raw.assets[0].range == span(text, 'AssetSpec(key=["raw_data", "raw_customers"])')
    call_start = text.index("assets_with_task_mappings(\n")
    call_end = text.index("            ),\n        ]") + len("            )")
    assert load_raw.call_range == Range(position(text, call_start), position(text, call_end))
    assert module.assets_for("rebuild_customers_list", "build_dbt_models") == ("customers",)
    assert module.assets_for("rebuild_customers_list", "missing") == ()


def test_ranges_are_libcst_position_provider_ranges():
    module, text = load("spec_variables.py")
    wrapper = MetadataWrapper(cst.parse_module(text))
    positions = wrapper.resolve(PositionProvider)
    expected = set()
    for node, code_range in positions.items():
        if isinstance(node, cst.SimpleString) and node.value == '"single"':
            expected.add(Range.of(code_range.start.line - 1, code_range.start.column,
                                  code_range.end.line - 1, code_range.end.column))
    single = next(m for m in module.mappings if m.task_id == "single")
    assert {single.key_range} == expected


def test_imports_resolve_whatever_their_alias():
    module, _ = load("aliased_imports.py")
    assert module.calls_build_defs
    assert table(module) == [("orders_dag", "extract", ["raw_orders"], False),
                             ("orders_dag", "load", ["orders"], False)]


def test_every_way_to_write_an_asset_key():
    module, _ = load("key_forms.py")
    assert {m.task_id: [a.key for a in m.assets] for m in module.mappings} == {
        "positional": ["a"],
        "keyword": ["b"],
        "list": ["schema/table"],
        "tuple": ["schema/other"],
        "asset_key": ["x/y"],
        "asset_key_string": ["single"],
        # AssetKey.from_coercible("a/b") is ONE part; its user string escapes the slash.
        "slash_is_one_part": ["a\\/b", "c\\/d"],
        "user_string": ["e/f"],
        "copy": ["g", "i"],
    }
    assert not any(m.dynamic for m in module.mappings)


def test_specs_and_ids_held_in_module_names():
    module, text = load("spec_variables.py")
    assert table(module) == [
        ("warehouse", "stg_load", ["stg_orders", "stg_payments"], False),
        ("warehouse", "build_marts", ["orders", "customers", "revenue"], False),
        ("warehouse", "everything", ["stg_orders", "stg_payments", "orders", "customers"], False),
        ("warehouse", "single", ["customers"], False),
    ]
    stg_load, build_marts = module.mappings[:2]
    assert stg_load.key_range == span(text, "LOAD", 1)
    assert [a.range for a in stg_load.assets] == [span(text, "staging", 1)] * 2
    assert [a.range for a in build_marts.assets] == [span(text, "*marts")] * 2 + [
        span(text, 'AssetSpec("revenue")')]


def test_decorated_asset_functions():
    module, _ = load("asset_functions.py")
    assert table(module) == [
        ("functions", "load", ["raw_customers", "warehouse/core/orders", "staging/payments"], False),
        ("functions", "report", ["reports/daily"], False),
        ("functions", "split", ["left", "nested/right", "first", "out/second", "3rd"], False),
        # key= with name= is an error in Dagster; another decorator may change anything.
        ("functions", "unknowable", [], True),
    ]


def test_dynamic_parts_are_reported_never_guessed():
    module, text = load("dynamic.py")
    assert table(module) == [
        ("dynamic", "comprehension", [], True),
        ("dynamic", "local", [], True),
        ("dynamic", "call", [], True),
        ("dynamic", "partly", ["known"], True),
    ]
    assert [(u.dag_id, u.reason) for u in module.unresolved] == [
        ("dynamic", "a key is not a string constant"),  # TASK is assigned twice
        ("dynamic", "a key is not a string constant"),
        ("dynamic", "`**` unpacking is dynamic"),
        (None, "the DAG id is not a string constant"),
        ("from_function", "the mapping is not a dict literal"),
    ]
    assert module.unresolved[0].range == span(text, "TASK", 2)
    assert module.unresolved[3].range == span(text, 'os.environ["DAG"]')


def test_dag_level_mappings():
    module, text = load("dag_mappings.py")
    assert table(module) == [("nightly", None, ["nightly_table"], False),
                             ("hourly", None, ["hourly_a", "hourly_b"], False)]
    assert module.mappings[0].key_range == span(text, '"nightly"')
    assert module.assets_for("hourly", None) == ("hourly_a", "hourly_b")
    assert module.assets_for("hourly", "any_task") == ()


def test_multiple_task_mappings():
    module, text = load("multiple_task_mappings.py")
    assert table(module) == [("weekly", "refresh", ["scheduled_twice"], False),
                             ("daily", "refresh", ["scheduled_twice"], False)]
    assert module.mappings[1].key_range == span(text, '"refresh"', 1)


def test_functions_named_like_airlifts_are_not_airlifts():
    module, text = load("not_airlift.py")
    assert looks_like_dagster_module(text)
    assert module.mappings == () and module.unresolved == () and not module.calls_build_defs


def test_syntax_error_is_reported_where_python_places_it():
    module, _ = load("syntax_error.py")
    assert module.mappings == ()
    assert module.error == ("syntax error: closing parenthesis ')' does not match opening "
                            "parenthesis '{' on line 5 (line 6)")
    assert module.error_range == Range.of(5, 0, 5, 1)


@pytest.mark.parametrize(("text", "where"), [
    ("ééé é\n", Range.of(0, 4, 0, 5)),           # columns count code points, not bytes
    ('x = "😀😀" y\n', Range.of(0, 9, 0, 10)),
    ("def f(:\n    pass\n", Range.of(0, 6, 0, 7)),
    ("x = 1\n  y = 2\n", Range.of(1, 1, 1, 2)),  # where Python puts "unexpected indent"
    ("x = (\n", Range.of(0, 4, 0, 5)),
    ("x = \x00\n", Range.of(0, 0, 0, 1)),
])
def test_syntax_error_positions(text, where):
    module = parse_dagster_module("m.py", text)
    assert module.error and module.error.startswith(("syntax error: ", "source code"))
    assert module.error_range == where


@pytest.mark.parametrize("text", [
    "x = " + "(" * 30000 + ")" * 30000 + "\n",
    "x = a" + ".b" * 20000 + "\n",
    "x = " + "-" * 20000 + "1\n",
    "x = 1" + "+1" * 20000 + "\n",
])
def test_deep_nesting_is_refused_before_libcst_crashes_on_it(text):
    # libcst's native parser dies with SIGSEGV on these: the process, not just the parse.
    module = parse_dagster_module("m.py", text)
    assert module.error == "the module nests too deeply to read" and module.mappings == ()


def test_code_point_columns_in_ranges():
    text = ('from dagster import AssetSpec\nfrom dagster_airlift.core import assets_with_task_mappings\n'
            'm = assets_with_task_mappings(dag_id="d", task_mappings={"é😀": [AssetSpec("ü")]})\n')
    module = parse_dagster_module("m.py", text)
    (mapping,) = module.mappings
    assert mapping.task_id == "é😀"
    assert mapping.key_range == span(text, '"é😀"')
    assert mapping.assets[0].range == span(text, 'AssetSpec("ü")')


HEADER = ("import dagster as dg\nfrom dagster import AssetSpec, asset\n"
          "from dagster_airlift.core import assets_with_task_mappings as m\n")


def mapping_of(body: str) -> tuple[list[tuple[str | None, list[str], bool]], DagsterModule]:
    module = parse_dagster_module("m.py", HEADER + body)
    return [(x.task_id, [a.key for a in x.assets], x.dynamic) for x in module.mappings], module


@pytest.mark.parametrize(("body", "expected"), [
    ('m("d", {"t": [AssetSpec("a")]})', [("t", ["a"], False)]),
    ('m(task_mappings={"t": (dg.AssetSpec("a"),)}, dag_id="d")', [("t", ["a"], False)]),
    ('m("d", dict(t=[AssetSpec("a")]))', [("t", ["a"], False)]),
    ('m("d", {"t": [AssetSpec(f"{X}")]})\nX = "late"', [("t", ["late"], False)]),
    ('m("d", {f"{P}_x": []})\nP = "pre"', [("pre_x", [], False)]),
    ('m("d", {r"a\\b": []})', [("a\\b", [], False)]),
    ('m("d", {"t": [AssetSpec(**kw)]})', [("t", [], True)]),
    ('m("d", {"t": AssetSpec("a")})', [("t", [], True)]),  # not a list: airlift would fail
    ('m("d", {"t": [dg.AssetSpec(key=K)]})\nK = ["a", "b"]', [("t", ["a/b"], False)]),
    ('m("d", {"t": [S]})\nS = AssetSpec("a")\nS = AssetSpec("b")', [("t", [], True)]),
    ('m("d", {"t": [a]})\n@asset\ndef a(): ...', [("t", ["a"], False)]),
    ('m("d", {"t": [a]})\n@asset()\ndef a(): ...', [("t", ["a"], False)]),
    ('m("d", {"t": [a]})\n@asset(name=N)\ndef a(): ...\nN = "n"', [("t", ["n"], False)]),
    ('m("d", {"t": [a]})\n@asset(key_prefix=["", "p"])\ndef a(): ...', [("t", ["p/a"], False)]),
    ('m("d", {"t": [a]})\n@other\ndef a(): ...', [("t", [], True)]),
    ('m("d", {"t": [a]})\ndef a(): ...', [("t", [], True)]),
    ('m("d", {"t": [x.spec]})', [("t", [], True)]),
    ('def f(S):\n    return m("d", {"t": [S]})\nS = AssetSpec("global")', [("t", [], True)]),
    ('def f():\n    return m("d", {"t": [S]})\nS = AssetSpec("global")', [("t", ["global"], False)]),
])
def test_small_snippets(body, expected):
    assert mapping_of(body)[0] == expected


def test_bytes_string_keys_are_not_task_ids():
    rows, module = mapping_of('m("d", {b"t": []})')
    assert rows == [] and module.unresolved[0].reason == "a key is not a string constant"


def test_calls_build_defs_is_false_without_the_call():
    _, module = mapping_of('m("d", {})')
    assert not module.calls_build_defs


def test_assets_for_removes_repeats_across_mappings():
    _, module = mapping_of('m("d", {"t": [AssetSpec("a")]})\nm("d", {"t": [AssetSpec("a"), AssetSpec("b")]})')
    assert module.assets_for("d", "t") == ("a", "b")


@pytest.mark.parametrize(("text", "expected"), [
    ("from dagster_airlift.core import assets_with_task_mappings", True),
    ("defs = build_defs_from_airflow_instance(...)", True),
    ("from dagster import Definitions", False),
    ("", False),
])
def test_looks_like_dagster_module(text, expected):
    assert looks_like_dagster_module(text) is expected
    assert looks_like_dagster_module(text.encode()) is expected


def test_empty_module():
    module = parse_dagster_module("m.py", "")
    assert module == DagsterModule("m.py")


def test_positions_do_not_depend_on_line_endings():
    text = HEADER + 'x = m("d", {"t": [AssetSpec("a")]})\n'
    crlf = parse_dagster_module("m.py", text.replace("\n", "\r\n"))
    lf = parse_dagster_module("m.py", text)
    assert crlf.mappings == lf.mappings and len(lf.mappings) == 1
