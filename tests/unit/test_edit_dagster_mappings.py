"""Adding task mappings to the Dagster module: before/after codemod tests on small snippets
(as LibCST's ``CodemodTest.assertCodemod``), real files under tests/fixtures/edits/dagster/,
idempotency, minimality, and the read-only parser as the oracle of what the module maps."""

from __future__ import annotations

import ast
import difflib
from pathlib import Path
from textwrap import dedent

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.dagster.module import parse_dagster_module
from analysis.edits import EditResult, NewMapping, add_task_mappings, new_module_text
from analysis.edits.layout import string_literal

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "edits" / "dagster"

HEADER = """\
from dagster import AssetSpec, Definitions
from dagster_airlift.core import assets_with_task_mappings, build_defs_from_airflow_instance
"""


def assert_codemod(before: str, after: str, dag_id: str, mappings: list[NewMapping],
                   hunks: int | None = None) -> EditResult:
    """The edit of ``before`` gives ``after`` exactly (both dedented), valid Python, in
    ``hunks`` changed blocks of lines; a second application changes nothing."""
    before, after = _dedent(before), _dedent(after)
    result = add_task_mappings(before, dag_id, mappings)
    assert result.reason is None, result.reason
    assert result.changed
    assert result.text == after, "\n" + "".join(difflib.unified_diff(
        after.splitlines(True), result.text.splitlines(True), "expected", "got"))
    ast.parse(result.text)
    if hunks is not None:
        assert changed_blocks(before, result.text) == hunks
    again = add_task_mappings(result.text, dag_id, mappings)
    assert again == EditResult(result.text, False, again.reason) and again.reason
    return result


def _dedent(text: str) -> str:
    """Dedent a snippet, after the unindented HEADER it may start with."""
    head = HEADER if text.startswith(HEADER) else ""
    return head + dedent(text[len(head):])


def changed_blocks(before: str, after: str) -> int:
    """Contiguous runs of changed lines: every line outside them is byte-identical."""
    matcher = difflib.SequenceMatcher(None, before.splitlines(True), after.splitlines(True),
                                      autojunk=False)
    return sum(1 for op, *_ in matcher.get_opcodes() if op != "equal")


def mapped(text: str) -> list[tuple[str, str | None, list[str]]]:
    """What the module maps, read back by the read-only parser."""
    module = parse_dagster_module("defs.py", text)
    assert module.error is None and module.unresolved == ()
    return [(m.dag_id, m.task_id, [a.key for a in m.assets]) for m in module.mappings]


# -- adding to an existing task_mappings dict --------------------------------------------------


def test_tutorial_module_gets_export_customers_on_one_new_line():
    before = (FIXTURES / "tutorial.py").read_text()
    expected = (FIXTURES / "tutorial+export_customers.py").read_text()
    mapping = NewMapping("export_customers", ("customers_export",), (("customers",),))
    result = add_task_mappings(before, "rebuild_customers_list", [mapping])
    assert result == EditResult(expected, True)
    added = [line for line in difflib.ndiff(before.splitlines(), expected.splitlines())
             if line.startswith(("+ ", "- "))]
    new_line = '"export_customers": [AssetSpec(key="customers_export", deps=["customers"])],'
    assert added == ["+ " + " " * 20 + new_line]
    assert mapped(result.text)[-1] == ("rebuild_customers_list", "export_customers",
                                       ["customers_export"])


def test_key_and_deps_print_as_strings_or_lists_by_their_length():
    assert_codemod(
        HEADER + """
        m = assets_with_task_mappings(
            dag_id="d",
            task_mappings={
                "a": [AssetSpec(key="a")],
            },
        )
        """,
        HEADER + """
        m = assets_with_task_mappings(
            dag_id="d",
            task_mappings={
                "a": [AssetSpec(key="a")],
                "b": [AssetSpec(key=["raw", "b"], deps=["a", ["raw", "x"]])],
                "c": [AssetSpec(key="c")],
            },
        )
        """,
        "d",
        [NewMapping("b", ("raw", "b"), (("a",), ("raw", "x"))), NewMapping("c", ("c",))],
        hunks=1,
    )


def test_several_assets_of_one_task_share_its_entry():
    result = assert_codemod(
        """
        from dagster import AssetSpec
        from dagster_airlift.core import assets_with_task_mappings as f
        m = f("d", {"a": [AssetSpec("a")]})
        """,
        """
        from dagster import AssetSpec
        from dagster_airlift.core import assets_with_task_mappings as f
        m = f("d", {"a": [AssetSpec("a")], "b": [AssetSpec(key="b1"), AssetSpec(key="b2")]})
        """,  # one line stays one line while it fits in 100 columns
        "d",
        [NewMapping("b", ("b1",)), NewMapping("b", ("b2",)), NewMapping("b", ("b1",))],
        hunks=1,
    )
    assert mapped(result.text) == [("d", "a", ["a"]), ("d", "b", ["b1", "b2"])]


def test_a_one_line_dict_that_would_grow_too_long_is_laid_out_one_entry_per_line():
    assert_codemod(
        HEADER + """
        m = assets_with_task_mappings(dag_id="d", task_mappings={"extract": [AssetSpec(key="raw_orders")]})
        """,
        HEADER + """
        m = assets_with_task_mappings(dag_id="d", task_mappings={
            "extract": [AssetSpec(key="raw_orders")],
            "load": [AssetSpec(key="orders", deps=["raw_orders"])],
        })
        """,
        "d", [NewMapping("load", ("orders",), (("raw_orders",),))], hunks=1,
    )


def test_an_empty_dict_gets_one_entry_per_line():
    assert_codemod(
        HEADER + """
        m = assets_with_task_mappings(
            dag_id="d",
            task_mappings={},
        )
        """,
        HEADER + """
        m = assets_with_task_mappings(
            dag_id="d",
            task_mappings={
                "a": [AssetSpec(key="a")],
            },
        )
        """,
        "d", [NewMapping("a", ("a",))], hunks=1,
    )


def test_a_missing_trailing_comma_is_added_and_comments_stay_where_they_were():
    assert_codemod(
        HEADER + """
        m = assets_with_task_mappings(
            dag_id="d",
            task_mappings={
                "a": [AssetSpec(key="a")],  # about a
                # the next one
                "b": [AssetSpec(key="b")]  # about b
                # last words
            },
        )
        """,
        HEADER + """
        m = assets_with_task_mappings(
            dag_id="d",
            task_mappings={
                "a": [AssetSpec(key="a")],  # about a
                # the next one
                "b": [AssetSpec(key="b")],  # about b
                # last words
                "c": [AssetSpec(key="c")],
            },
        )
        """,
        "d", [NewMapping("c", ("c",))], hunks=2,  # the comma of "b", then the new line
    )


def test_indentation_follows_the_dict_inside_a_function_with_two_space_indents():
    assert_codemod(
        HEADER + """
        def mapped():
          return assets_with_task_mappings(
            dag_id="d",
            task_mappings={
              "a": [AssetSpec(key="a")],
            },
          )
        """,
        HEADER + """
        def mapped():
          return assets_with_task_mappings(
            dag_id="d",
            task_mappings={
              "a": [AssetSpec(key="a")],
              "b": [
                AssetSpec(key="a_rather_long_asset_name_for_this_entry", deps=["a", "and_another_one"]),
              ],
            },
          )
        """,
        "d", [NewMapping("b", ("a_rather_long_asset_name_for_this_entry",),
                         (("a",), ("and_another_one",)))], hunks=1,
    )


def test_hanging_layout_keeps_the_column_of_the_first_entry():
    assert_codemod(
        HEADER + """
        m = assets_with_task_mappings(dag_id="d",
                                      task_mappings={"a": [AssetSpec(key="a")],
                                                     "b": [AssetSpec(key="b")]})
        """,
        HEADER + """
        m = assets_with_task_mappings(dag_id="d",
                                      task_mappings={"a": [AssetSpec(key="a")],
                                                     "b": [AssetSpec(key="b")],
                                                     "c": [AssetSpec(key="c")]})
        """,
        "d", [NewMapping("c", ("c",))], hunks=1,
    )


def test_names_resolve_through_aliases_and_positional_arguments():
    before = (FIXTURES / "aliased.py").read_text()
    once = add_task_mappings(before, "orders_dag", [NewMapping("load", ("orders",), (("raw_orders",),))])
    twice = add_task_mappings(once.text, "billing", [NewMapping("charge", ("billing", "charges"))])
    assert twice == EditResult((FIXTURES / "aliased+load+billing.py").read_text(), True)
    assert "dg.AssetSpec(key='orders'" in once.text  # the module's spelling and the dict's quotes
    assert "*map_tasks(\n" in twice.text
    assert mapped(twice.text) == [("orders_dag", "extract", ["raw_orders"]),
                                  ("orders_dag", "load", ["orders"]),
                                  ("billing", "charge", ["billing/charges"])]


def test_an_imported_alias_of_asset_spec_is_used():
    assert_codemod(
        """
        from dagster import AssetSpec as Spec
        from dagster_airlift.core import assets_with_task_mappings
        m = assets_with_task_mappings(dag_id="d", task_mappings={"a": [Spec("a")]})
        """,
        """
        from dagster import AssetSpec as Spec
        from dagster_airlift.core import assets_with_task_mappings
        m = assets_with_task_mappings(dag_id="d", task_mappings={"a": [Spec("a")], "b": [Spec(key="b")]})
        """,
        "d", [NewMapping("b", ("b",))], hunks=1,
    )


def test_a_dict_bound_to_a_module_name_is_edited_where_it_is_written():
    assert_codemod(
        HEADER + """
        MAPPINGS = {
            "a": [AssetSpec(key="a")],
        }
        m = assets_with_task_mappings(dag_id="d", task_mappings=MAPPINGS)
        """,
        HEADER + """
        MAPPINGS = {
            "a": [AssetSpec(key="a")],
            "b": [AssetSpec(key="b")],
        }
        m = assets_with_task_mappings(dag_id="d", task_mappings=MAPPINGS)
        """,
        "d", [NewMapping("b", ("b",))], hunks=1,
    )


def test_a_missing_asset_spec_import_joins_the_dagster_import():
    assert_codemod(
        """
        from dagster import Definitions
        from dagster_airlift.core import assets_with_task_mappings
        m = assets_with_task_mappings(dag_id="d", task_mappings={})
        """,
        """
        from dagster import AssetSpec, Definitions
        from dagster_airlift.core import assets_with_task_mappings
        m = assets_with_task_mappings(dag_id="d", task_mappings={
            "a": [AssetSpec(key="a")],
        })
        """,
        "d", [NewMapping("a", ("a",))], hunks=2,
    )


def test_crlf_line_endings_are_kept():
    before = (HEADER + 'm = assets_with_task_mappings(dag_id="d", task_mappings={\n'
              '    "a": [AssetSpec(key="a")],\n})\n').replace("\n", "\r\n")
    result = add_task_mappings(before, "d", [NewMapping("b", ("b",))])
    assert result.changed and "\n" not in result.text.replace("\r\n", "")
    assert '    "b": [AssetSpec(key="b")],\r\n})\r\n' in result.text


def test_tasks_already_in_the_dict_are_left_alone():
    text = (FIXTURES / "tutorial.py").read_text()
    result = add_task_mappings(text, "rebuild_customers_list",
                               [NewMapping("load_raw_customers", ("something_else",))])
    assert result == EditResult(text, False, "`load_raw_customers` of DAG `rebuild_customers_list` "
                                             "already mapped in the Dagster module")
    mixed = add_task_mappings(text, "rebuild_customers_list",
                              [NewMapping("build_dbt_models", ("x",)),
                               NewMapping("export_customers", ("customers_export",))])
    assert mixed.changed and "AssetSpec(key=\"x\")" not in mixed.text
    assert changed_blocks(text, mixed.text) == 1


# -- a new DAG: a new element of Definitions(assets=[...]) ------------------------------------


def test_a_new_dag_gets_its_own_call_in_the_definitions_assets():
    before = (FIXTURES / "tutorial.py").read_text()
    mappings = [NewMapping("extract_orders", ("raw_data", "orders")),
                NewMapping("transform.clean_orders", ("clean_orders",), (("raw_data", "orders"),)),
                NewMapping("transform.summarize_orders", ("orders_summary",), (("clean_orders",),))]
    result = add_task_mappings(before, "daily_orders", mappings)
    assert result == EditResult((FIXTURES / "tutorial+daily_orders.py").read_text(), True)
    assert changed_blocks(before, result.text) == 1
    assert mapped(result.text)[2:] == [
        ("daily_orders", "extract_orders", ["raw_data/orders"]),
        ("daily_orders", "transform.clean_orders", ["clean_orders"]),
        ("daily_orders", "transform.summarize_orders", ["orders_summary"])]
    assert add_task_mappings(result.text, "daily_orders", mappings).changed is False


BUILD = """\
import dagster as dg
from dagster_airlift.core import AirflowInstance, build_defs_from_airflow_instance

instance = AirflowInstance(auth_backend=None, name="prod")
"""


@pytest.mark.parametrize("definitions, expected", [
    pytest.param(
        "defs = build_defs_from_airflow_instance(airflow_instance=instance, defs=dg.Definitions())\n",
        """\
        defs = build_defs_from_airflow_instance(airflow_instance=instance, defs=dg.Definitions(
            assets=[
                *assets_with_task_mappings(
                    dag_id="new_dag",
                    task_mappings={
                        "t": [dg.AssetSpec(key="t")],
                    },
                ),
            ],
        ))
        """, id="no assets"),
    pytest.param(
        "defs = build_defs_from_airflow_instance(\n"
        "    airflow_instance=instance,\n"
        "    defs=dg.Definitions(\n"
        "        sensors=[],\n"
        "    ),\n"
        ")\n",
        """\
        defs = build_defs_from_airflow_instance(
            airflow_instance=instance,
            defs=dg.Definitions(
                sensors=[],
                assets=[
                    *assets_with_task_mappings(
                        dag_id="new_dag",
                        task_mappings={
                            "t": [dg.AssetSpec(key="t")],
                        },
                    ),
                ],
            ),
        )
        """, id="other arguments"),
    pytest.param(
        "defs = build_defs_from_airflow_instance(\n    airflow_instance=instance\n)\n",
        """\
        defs = build_defs_from_airflow_instance(
            airflow_instance=instance,
            defs=dg.Definitions(
                assets=[
                    *assets_with_task_mappings(
                        dag_id="new_dag",
                        task_mappings={
                            "t": [dg.AssetSpec(key="t")],
                        },
                    ),
                ],
            ),
        )
        """, id="no defs"),
    pytest.param(
        "ASSETS = []\n"
        "DEFS = dg.Definitions(assets=ASSETS)\n"
        "defs = build_defs_from_airflow_instance(airflow_instance=instance, defs=DEFS)\n",
        """\
        ASSETS = [
            *assets_with_task_mappings(
                dag_id="new_dag",
                task_mappings={
                    "t": [dg.AssetSpec(key="t")],
                },
            ),
        ]
        DEFS = dg.Definitions(assets=ASSETS)
        defs = build_defs_from_airflow_instance(airflow_instance=instance, defs=DEFS)
        """, id="through module names"),
    pytest.param(
        "defs = build_defs_from_airflow_instance(\n"
        "    airflow_instance=instance,\n"
        "    defs=dg.Definitions(assets=dg.load_assets_from_modules([])),\n"
        ")\n",
        """\
        defs = build_defs_from_airflow_instance(
            airflow_instance=instance,
            defs=dg.Definitions(assets=[
                *dg.load_assets_from_modules([]),
                *assets_with_task_mappings(
                    dag_id="new_dag",
                    task_mappings={
                        "t": [dg.AssetSpec(key="t")],
                    },
                ),
            ]),
        )
        """, id="computed assets"),
])
def test_definitions_without_a_list_of_assets_get_one(definitions, expected):
    before = BUILD + "\n" + definitions
    result = add_task_mappings(before, "new_dag", [NewMapping("t", ("t",))])
    # one line would pass 100 columns: one name per line
    import_line = ("from dagster_airlift.core import (\n    AirflowInstance,\n"
                   "    assets_with_task_mappings,\n    build_defs_from_airflow_instance,\n)\n")
    assert result.text == (BUILD.replace(BUILD.splitlines(True)[1], import_line) + "\n"
                           + dedent(expected)), result.text
    assert mapped(result.text) == [("new_dag", "t", ["t"])]
    assert add_task_mappings(result.text, "new_dag", [NewMapping("t", ("t",))]).changed is False


def test_computed_assets_over_several_lines_move_one_level_deeper_into_the_new_list():
    before = dedent("""\
        from dagster import AssetSpec, Definitions
        from dagster_airlift.core import assets_with_dag_mappings, build_defs_from_airflow_instance

        defs = build_defs_from_airflow_instance(
            airflow_instance=None,
            defs=Definitions(
                assets=assets_with_dag_mappings(
                    dag_mappings={
                        "nightly": [AssetSpec("nightly_table")],
                    }
                )
            ),
        )
        """)
    result = add_task_mappings(before, "hourly", [NewMapping("t", ("x",))])
    assert result.text == dedent("""\
        from dagster import AssetSpec, Definitions
        from dagster_airlift.core import (
            assets_with_dag_mappings,
            assets_with_task_mappings,
            build_defs_from_airflow_instance,
        )

        defs = build_defs_from_airflow_instance(
            airflow_instance=None,
            defs=Definitions(
                assets=[
                    *assets_with_dag_mappings(
                        dag_mappings={
                            "nightly": [AssetSpec("nightly_table")],
                        }
                    ),
                    *assets_with_task_mappings(
                        dag_id="hourly",
                        task_mappings={
                            "t": [AssetSpec(key="x")],
                        },
                    ),
                ]
            ),
        )
        """), result.text  # the import grew past 100 columns: one name per line
    assert mapped(result.text) == [("nightly", None, ["nightly_table"]), ("hourly", "t", ["x"])]
    multiline_string = before.replace('"nightly_table"', '"""nightly\ntable"""')
    assert add_task_mappings(multiline_string, "hourly", [NewMapping("t", ("x",))]).refused


def test_module_alias_of_dagster_airlift_core_spells_the_new_call():
    before = dedent("""\
        import dagster as dg
        import dagster_airlift.core as airlift

        defs = airlift.build_defs_from_airflow_instance(
            airflow_instance=airlift.AirflowInstance(auth_backend=None, name="prod"),
            defs=dg.Definitions(
                assets=[],
            ),
        )
        """)
    result = add_task_mappings(before, "d", [NewMapping("t", ("t",))])
    assert "            *airlift.assets_with_task_mappings(\n" in result.text
    assert result.text.count("import") == 2 and changed_blocks(before, result.text) == 1


# -- names the module already uses: imports never change what its code means ---------------------


UNIMPORTED_CALL = """\
from dagster import AssetSpec, Definitions
from dagster_airlift.core import build_defs_from_airflow_instance

MAPPINGS = {**OTHER}
mapped = assets_with_task_mappings(dag_id="bc", task_mappings=MAPPINGS)
defs = build_defs_from_airflow_instance(airflow_instance=None, defs=Definitions(assets=[*mapped]))
"""


@pytest.mark.parametrize("text, line, name, source", [
    # tests/fixtures/fuzz_regressions/dagster-import-rebinds-unimported-calls.json: importing
    # the name for the new call made line 5 a second, unreadable mapping of the DAG
    (UNIMPORTED_CALL, 5, "assets_with_task_mappings", "dagster_airlift.core"),
    (HEADER.replace("AssetSpec, ", "") + dedent("""\
        m = assets_with_task_mappings(dag_id="bc", task_mappings={})


        def spec():
            return AssetSpec(key="s")
        """), 7, "AssetSpec", "dagster"),
])
def test_a_name_the_module_uses_without_importing_it_is_refused_with_the_line(text, line, name,
                                                                            source):
    result = add_task_mappings(text, "bc", [NewMapping("t", ("k",))])
    assert result.refused and result.reason == (
        f"line {line} of the Dagster module uses `{name}` without importing or defining it (a "
        f"NameError when that line runs): add `from {source} import {name}` yourself first, as "
        "importing it for the new mapping would change what that line does")


def test_once_the_user_imports_it_the_call_is_the_dags_mapping():
    fixed = UNIMPORTED_CALL.replace("import build_defs", "import assets_with_task_mappings, build_defs")
    result = add_task_mappings(fixed, "bc", [NewMapping("t", ("k",))])
    assert result.refused and "keys that cannot be read statically" in result.reason


def test_a_name_the_module_binds_to_something_else_is_imported_under_another_name():
    assert_codemod(
        """
        from dagster import AssetSpec, Definitions
        from dagster_airlift.core import build_defs_from_airflow_instance
        from my_helpers import assets_with_task_mappings

        legacy = assets_with_task_mappings("old")
        defs = build_defs_from_airflow_instance(airflow_instance=None, defs=Definitions(assets=[*legacy]))
        """,
        """
        from dagster import AssetSpec, Definitions
        from dagster_airlift.core import (
            assets_with_task_mappings as airlift_assets_with_task_mappings,
            build_defs_from_airflow_instance,
        )
        from my_helpers import assets_with_task_mappings

        legacy = assets_with_task_mappings("old")
        defs = build_defs_from_airflow_instance(airflow_instance=None, defs=Definitions(assets=[
            *legacy,
            *airlift_assets_with_task_mappings(
                dag_id="d",
                task_mappings={
                    "t": [AssetSpec(key="k")],
                },
            ),
        ]))
        """,
        "d", [NewMapping("t", ("k",))],
    )


@pytest.mark.parametrize("own, reference", [
    ("def AssetSpec(key):\n    return key\n", "DagsterAssetSpec"),  # the module's own
    ("from my_helpers import *\nx = AssetSpec\n", "DagsterAssetSpec"),  # maybe the helpers'
    ("DagsterAssetSpec = 1\nAssetSpec = 2\n", "DagsterAssetSpec_2"),
    ("def f(AssetSpec):\n    return AssetSpec\n", "AssetSpec"),  # a local: not affected
])
def test_asset_spec_is_imported_under_another_name_only_where_the_module_has_its_own(own, reference):
    before = ("from dagster_airlift.core import assets_with_task_mappings\n" + own
              + 'm = assets_with_task_mappings(dag_id="d", task_mappings={})\n')
    result = add_task_mappings(before, "d", [NewMapping("t", ("k",))])
    assert f'"t": [{reference}(key="k")]' in result.text
    import_line = "from dagster import AssetSpec" + ("" if reference == "AssetSpec" else f" as {reference}")
    assert import_line + "\n" in result.text
    assert set(own.splitlines()) <= set(result.text.splitlines())  # the module's own code stays
    assert mapped(result.text)[-1] == ("d", "t", ["k"])
    assert add_task_mappings(result.text, "d", [NewMapping("t", ("k",))]).text == result.text


# -- the template ---------------------------------------------------------------------------------


def test_no_module_yet_gives_the_template_with_the_mappings():
    result = add_task_mappings(None, "daily_orders", [
        NewMapping("extract_orders", ("raw_data", "orders")),
        NewMapping("publish_report", ("orders_report",), (("raw_data", "orders"),))])
    assert result == EditResult((FIXTURES / "template+daily_orders.py").read_text(), True)
    assert changed_blocks(new_module_text(), result.text) == 1
    assert mapped(result.text) == [("daily_orders", "extract_orders", ["raw_data/orders"]),
                                   ("daily_orders", "publish_report", ["orders_report"])]


def test_the_template_peers_with_airflow_from_the_environment():
    text = new_module_text("prod_airflow")
    module = parse_dagster_module("defs.py", text)
    assert module.calls_build_defs and module.mappings == () and module.error is None
    for variable in ("AIRFLOW_URL", "AIRFLOW_USERNAME", "AIRFLOW_PASSWORD"):
        assert f'os.environ.get("{variable}"' in text
    assert 'name="prod_airflow"' in text
    with pytest.raises(ValueError):
        new_module_text("prod-airflow")  # Dagster's check_valid_name rejects it at load time
    with pytest.raises(ValueError):
        new_module_text("input")


# -- refusals: a reason, never an exception ------------------------------------------------------


@pytest.mark.parametrize("text, reason", [
    ("defs = (\n", "the Dagster module has a syntax error on line 1"),
    ("from dagster import Definitions\ndefs = Definitions()\n",
     "the Dagster module has no `build_defs_from_airflow_instance(...)` call"),
    ("from dagster_airlift.core import build_defs_from_airflow_instance as b\na = b()\nc = b()\n",
     "the Dagster module calls `build_defs_from_airflow_instance` more than once (lines 2, 3)"),
    (("from dagster_airlift.core import build_defs_from_airflow_instance as b\n"
      "a = b(airflow_instance=None, defs=make_defs())\n"),
     "the `defs=` of `build_defs_from_airflow_instance` (line 2) is not a `Definitions(...)` call"),
    (HEADER + "m = assets_with_task_mappings(dag_id='d', task_mappings=dict(a=[]))\n",
     "the task mappings of DAG `d` (line 3) are not a dict literal"),
    (HEADER + "m = assets_with_task_mappings(dag_id='d', task_mappings={**OTHER})\n",
     "the task mappings of DAG `d` (line 3) have keys that cannot be read statically"),
    (HEADER + "m = assets_with_task_mappings(dag_id='other', task_mappings={'x': [AssetSpec('t')]})\n",
     "asset `t` is already mapped to task `x` of DAG `other`"),
])
def test_what_cannot_be_edited_safely_is_refused_with_a_reason(text, reason):
    result = add_task_mappings(text, "d", [NewMapping("t", ("t",))])
    assert result.text is None and not result.changed and result.refused
    assert result.reason.startswith(reason), result.reason


@pytest.mark.parametrize("dag_id, mapping", [
    ("", NewMapping("t", ("a",))),
    ("d", NewMapping("", ("a",))),
    ("d", NewMapping("t", ())),
    ("d", NewMapping("t", ("a", ""))),
    ("d", NewMapping("t", "a/b")),  # type: ignore[arg-type]  a string is not a key's parts
    ("d", NewMapping("t", ("a",), (("",),))),
    (None, NewMapping("t", ("a",))),
])
def test_bad_requests_are_refused(dag_id, mapping):
    assert add_task_mappings(new_module_text(), dag_id, [mapping]).refused


def test_two_new_tasks_cannot_share_an_asset_key():
    result = add_task_mappings(None, "d", [NewMapping("a", ("k",)), NewMapping("b", ("k",))])
    assert result.refused and "asset `k` is already mapped to task `a` of DAG `d`" in result.reason


def test_nothing_to_add():
    assert add_task_mappings("x = 1\n", "d", []) == EditResult("x = 1\n", False,
                                                               "no task mappings were given")


# -- properties --------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=80), st.builds(lambda a, b: HEADER + a + "\n" + b, st.text(max_size=40),
                                                 st.sampled_from(["m = assets_with_task_mappings(",
                                                                  "{", "AssetSpec(", ")"]))))
def test_arbitrary_text_never_raises(text):
    result = add_task_mappings(text, "d", [NewMapping("t", ("a",))])
    assert result.refused or result.text is not None


@given(st.text(max_size=20), st.sampled_from(['"', "'"]))
def test_string_literals_read_back_as_the_same_string(value, quote):
    assert ast.literal_eval(string_literal(value, quote)) == value


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)


@st.composite
def modules(draw):
    """A Dagster module with one DAG's task mappings, in one of many layouts."""
    indent = draw(st.sampled_from(["    ", "  ", "\t"]))
    quote = draw(st.sampled_from(['"', "'"]))
    tasks = draw(st.lists(names, max_size=3, unique=True))
    layout = draw(st.sampled_from(["one line", "one per line", "no trailing comma"]))
    nested = draw(st.booleans())
    lit = lambda s: string_literal(s, quote)
    entries = [f"{lit(t)}: [AssetSpec(key=[{lit(t)}, 'old'])]" for t in tasks]
    base = indent if nested else ""
    if layout == "one line" or not entries:
        body = "{" + ", ".join(entries) + "}"
    else:
        inner = base + indent * 2
        lines = [f"{inner}{e}," for e in entries]
        if layout == "no trailing comma":
            lines[-1] = lines[-1][:-1]
        body = "{\n" + "\n".join(lines) + "\n" + base + indent + "}"
    call = (f"assets_with_task_mappings(\n{base}{indent}dag_id={lit('the dag')},\n"
            f"{base}{indent}task_mappings={body},\n{base})")
    text = HEADER + ("def mapped():\n" + indent + "return " + call if nested else "m = " + call)
    return text + "\n", tasks


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(modules(), st.lists(st.tuples(names, st.lists(names, min_size=1, max_size=3)),
                           min_size=1, max_size=3))
def test_any_layout_gets_the_new_tasks_and_nothing_else_changes(module, new):
    text, tasks = module
    mappings = [NewMapping(task, (*parts, str(i)), ((tasks[0], "old"),) if tasks else ())
                for i, (task, parts) in enumerate(new)]
    result = add_task_mappings(text, "the dag", mappings)
    fresh = [m for m in mappings if m.task_id not in tasks]
    if not fresh:
        assert result == EditResult(text, False, result.reason)
        return
    assert result.changed, result.reason
    ast.parse(result.text)
    expected = [("the dag", t, [f"{t.replace('/', chr(92) + '/')}/old"]) for t in tasks]
    for task in dict.fromkeys(m.task_id for m in fresh):
        keys = [m.asset_key for m in fresh if m.task_id == task]
        expected.append(("the dag", task, ["/".join(p.replace("/", "\\/") for p in k)
                                           for k in dict.fromkeys(keys)]))
    assert mapped(result.text) == expected
    assert changed_blocks(text, result.text) <= 2  # the last entry's comma, the new entries
    assert add_task_mappings(result.text, "the dag", mappings).changed is False
