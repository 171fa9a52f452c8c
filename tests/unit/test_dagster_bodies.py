"""The Dagster module read with its assets' bodies set aside (``analysis.dagster.bodies``): the
same mappings, keys and ranges as the whole text gives, and the bodies kept where they matter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import analysis.dagster.module as module_reader
from analysis.dagster.bodies import without_bodies
from analysis.dagster.module import parse_dagster_module

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

HEAD = '''import dagster as dg
from dagster_airlift.core import assets_with_task_mappings, build_defs_from_airflow_instance


'''

ASSET = '''@dg.multi_asset(specs=[dg.AssetSpec(key=["{dag}", "{task}"])], name="{dag}__{task}")
def {dag}__{task}(context: dg.AssetExecutionContext):
    """Task `{task}` of DAG `{dag}`, run by Dagster."""
    rows = [line.split(",") for line in open("in.csv")]
    with open("out.csv", "w") as out:
        out.write("\\n".join(",".join(r) for r in rows))
    yield dg.MaterializeResult(asset_key=["{dag}", "{task}"])


'''

TAIL = '''defs = build_defs_from_airflow_instance(
    airflow_instance=None,
    defs=dg.Definitions(assets=[
        *assets_with_task_mappings(dag_id="{dag}", task_mappings={{
            "{task}": [{dag}__{task}],
            "other": [dg.AssetSpec(key=["{dag}", "other"])],
        }}),
    ]),
)
'''


def module_text(dag: str = "sales", task: str = "load", head: str = HEAD) -> str:
    return head + ASSET.format(dag=dag, task=task) + TAIL.format(dag=dag, task=task)


def read_whole(text: str, monkeypatch: pytest.MonkeyPatch, path: str = "definitions.py"):
    with monkeypatch.context() as patch:
        patch.setattr(module_reader, "without_bodies", lambda text: None)
        return parse_dagster_module(path, text)


def test_a_body_becomes_one_string_over_the_same_lines() -> None:
    text = module_text()
    pruned = without_bodies(text)
    assert pruned is not None and pruned != text
    assert pruned.count("\n") == text.count("\n")
    assert "rows = " not in pruned and "out.write" not in pruned
    kept = [line for line in text.split("\n") if not line.startswith("    ")]
    assert [line for line in pruned.split("\n") if not line.startswith("    ")
            and line not in ('"""', "")] == [line for line in kept if line]
    ast.parse(pruned)


def test_the_mappings_ranges_and_keys_are_those_of_the_whole_text(monkeypatch) -> None:
    text = module_text()
    pruned = parse_dagster_module("definitions.py", text)
    assert pruned == read_whole(text, monkeypatch)
    mapping = next(m for m in pruned.mappings if m.task_id == "load")
    assert [a.key for a in mapping.assets] == ["sales/load"] and mapping.assets[0].executable
    line = text.split("\n")[mapping.key_range.start.line]
    assert line[mapping.key_range.start.character:mapping.key_range.end.character] == '"load"'


@pytest.mark.parametrize("head, body_line", [
    # a mapping made inside an asset function: its body is read
    (HEAD, "    assets_with_task_mappings(dag_id='x', task_mappings={})"),
    ("import dagster as dg\nfrom dagster_airlift.core import assets_with_task_mappings as tasks, "
     "build_defs_from_airflow_instance\n\n", "    tasks(dag_id='x', task_mappings={})"),
    ("import dagster as dg\nimport dagster_airlift.core as airlift\nfrom dagster_airlift.core import "
     "build_defs_from_airflow_instance, assets_with_task_mappings\n\n",
     "    airlift.assets_with_dag_mappings(dag_mappings={})"),
    ("import dagster as dg\nfrom dagster_airlift import core\nfrom dagster_airlift.core import "
     "build_defs_from_airflow_instance, assets_with_task_mappings\n\n",
     "    core.build_defs_from_airflow_instance"),
    # a body that binds module names
    (HEAD, "    global specs"),
])
def test_a_body_that_may_matter_is_kept(head: str, body_line: str, monkeypatch) -> None:
    text = module_text(head=head).replace('    rows = [', body_line + "\n    rows = [", 1)
    pruned = without_bodies(text)
    assert pruned is None or body_line in pruned
    assert parse_dagster_module("definitions.py", text) == read_whole(text, monkeypatch)


def test_a_body_that_names_only_other_airlift_things_is_set_aside() -> None:
    # the scaffold's docstrings name "this module's AirflowInstance"
    text = module_text().replace('    rows = [', '    """Read through this module\'s AirflowInstance."""\n'
                                 '    rows = [', 1)
    text = text.replace("import dagster as dg\n", "import dagster as dg\nfrom dagster_airlift.core import "
                        "AirflowInstance\n", 1)
    pruned = without_bodies(text)
    assert pruned is not None and "AirflowInstance.\"\"\"" not in pruned


@pytest.mark.parametrize("case", ["crlf", "cr", "form feed and line separator in a string", "tabs",
                                  "nested def first", "long signature", "body on the header line",
                                  "plain function", "async"])
def test_line_breaks_indentation_and_shapes(case: str, monkeypatch) -> None:
    text = module_text()
    if case == "crlf":
        text = text.replace("\n", "\r\n")
    elif case == "cr":
        text = text.replace("\n", "\r")
    elif case == "form feed and line separator in a string":
        text = text.replace('    rows = [', '    note = "a\\x0c\u2028b\x0cc\u2028d"\n    rows = [', 1)
    elif case == "tabs":
        asset = ASSET.format(dag="sales", task="load")
        text = text.replace(asset, asset.replace("\n    ", "\n\t"), 1)
    elif case == "nested def first":
        text = text.replace('    """Task', '    @staticmethod\n    def helper():\n        return 1\n    """Task', 1)
    elif case == "long signature":
        text = text.replace("(context: dg.AssetExecutionContext):", "(\n    context: dg.AssetExecutionContext,\n):", 1)
    elif case == "body on the header line":
        text = text.replace("(context: dg.AssetExecutionContext):\n", "(context: dg.AssetExecutionContext): "
                            "context.log.info('x'); \\\n    ", 1)
    elif case == "plain function":
        text = text.replace("@dg.multi_asset(", "SPECS = dict(", 1).replace(
            '"sales__load")\ndef', '"sales__load")\n\n\ndef', 1)
    elif case == "async":
        text = text.replace("def sales__load", "async def sales__load", 1)
    pruned = without_bodies(text)
    if case in ("body on the header line", "plain function"):
        assert pruned is None
    else:
        assert pruned is not None and "out.write" not in pruned
        ast.parse(pruned)
        assert len(pruned.encode()) < len(text.encode())
    assert parse_dagster_module("definitions.py", text) == read_whole(text, monkeypatch)


def test_nothing_to_set_aside_or_invalid_text() -> None:
    assert without_bodies(HEAD) is None
    assert without_bodies(module_text() + "def broken(:\n") is None


def test_every_dagster_module_of_the_fixtures_reads_the_same(monkeypatch) -> None:
    read = 0
    for path in sorted(FIXTURES.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if not module_reader.looks_like_dagster_module(text) or without_bodies(text) is None:
            continue
        assert parse_dagster_module(str(path), text) == read_whole(text, monkeypatch, str(path)), path
        read += 1
    assert read >= 10


# -- edits made with the bodies set aside (analysis.edits.bodies_aside) ----------------------------

import analysis.edits.bodies_aside as bodies_aside  # noqa: E402
from analysis.dagster.bodies import set_aside  # noqa: E402
from analysis.edits import NewMapping, add_task_mappings  # noqa: E402
from analysis.edits.result import EditResult  # noqa: E402
from analysis.edits.scaffold import scaffold_task  # noqa: E402

GROWING_DAG = '''import json
from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator


def step(part):
    rows = [{"part": part, "n": n} for n in range(3)]
    print(json.dumps(rows))
    return len(rows)


with DAG("growing", start_date=datetime(2024, 1, 1), schedule=None) as dag:
''' + "".join(f'    t{n} = PythonOperator(task_id="t{n}", python_callable=step, op_args=[{n}])\n' for n in range(4))


def whole(monkeypatch: pytest.MonkeyPatch, edit):
    with monkeypatch.context() as patch:
        patch.setattr(bodies_aside, "set_aside", lambda *args, **kwargs: None)
        return edit()


def test_scaffolds_and_maps_write_the_same_bytes_as_on_the_whole_text(monkeypatch) -> None:
    text = add_task_mappings(None, "growing", [NewMapping(f"t{n}", ("growing", f"t{n}")) for n in range(4)]).text
    aside = 0
    for n in range(4):
        def scaffold(text=text, n=n):
            return scaffold_task(GROWING_DAG, "/p/dags/growing.py", "growing", f"t{n}", text,
                                 module_path="/p/definitions.py")

        def map_one(text=text):
            return add_task_mappings(text, "growing", [NewMapping("extra", ("growing", "extra"))])

        aside += set_aside(text, for_edit=True) is not None
        done = scaffold()
        assert done.changed and done == whole(monkeypatch, scaffold)
        assert map_one() == whole(monkeypatch, map_one)
        text = done.text
    assert aside == 3  # the first scaffold has no asset before it


def test_a_body_reading_a_name_the_module_does_not_bind_is_kept_for_an_edit(monkeypatch) -> None:
    # mapping adds `from dagster import AssetSpec`: a body reading an unbound `AssetSpec` is asked about
    text = module_text().replace("import dagster as dg\n", "import dagster as dg\nfrom dagster import Definitions\n", 1)
    text = text.replace('    rows = [', '    spec = AssetSpec("x")\n    rows = [', 1)
    assert set_aside(text) is not None and set_aside(text, for_edit=True) is None
    bound = text.replace("import dagster as dg\n", "import dagster as dg\nfrom dagster import AssetSpec\n", 1)
    assert set_aside(bound, for_edit=True) is not None

    def map_one(text=text):
        return add_task_mappings(text, "sales", [NewMapping("more", ("sales", "more"))])

    assert map_one() == whole(monkeypatch, map_one)


def test_an_edit_that_loses_a_body_is_made_on_the_whole_text() -> None:
    text = module_text()
    seen = []

    def edit(given):
        seen.append(given)
        if given == text:
            return EditResult.done(given + "# whole\n")
        return EditResult.done(given.replace('"""airlift-lsp', '"""gone', 1))  # the placeholder lost

    result = bodies_aside.edit_with_bodies_aside(text, edit, "the Dagster module")
    assert result == EditResult.done(text + "# whole\n") and len(seen) == 2 and seen[0] != text


def test_nothing_to_do_and_refusals_give_the_text_the_edit_was_given() -> None:
    text = module_text()
    nothing = bodies_aside.edit_with_bodies_aside(
        text, lambda given: EditResult.nothing_to_do(given, "mapped already"), "the Dagster module")
    assert nothing == EditResult.nothing_to_do(text, "mapped already")
    refused = bodies_aside.edit_with_bodies_aside(text, lambda given: EditResult.refuse("no"), "the Dagster module")
    assert refused == EditResult.refuse("no")


HELPED_DAG = '''from datetime import datetime

from airflow import DAG
from airflow.operators.python import PythonOperator


def helper(part):
    doubled = part * 2
    shifted = doubled + 1
    return shifted


def unrelated(part):
    tripled = part * 3
    shifted = tripled - 1
    return shifted


def step(part):
    value = helper(part)
    print(value)
    return value


with DAG("helped", start_date=datetime(2024, 1, 1), schedule=None) as dag:
    t0 = PythonOperator(task_id="t0", python_callable=step, op_args=[1])
'''


def test_the_dag_file_s_functions_the_asset_does_not_copy_are_set_aside(monkeypatch) -> None:
    import analysis.edits.scaffold as scaffold

    seen = []
    real = scaffold.set_aside_except

    def spy(text, needed):
        aside = real(text, needed)
        seen.append(aside)
        return aside

    module = add_task_mappings(None, "helped", [NewMapping("t0", ("helped", "t0"))]).text

    def scaffold_t0():
        return scaffold_task(HELPED_DAG, "/p/dags/helped.py", "helped", "t0", module, module_path="/p/definitions.py")

    monkeypatch.setattr(scaffold, "set_aside_except", spy)
    done = scaffold_t0()
    assert done.changed and "helper(part)" in done.text and "tripled" not in done.text
    assert seen and seen[0] is not None
    assert "tripled" not in seen[0].text and "doubled" in seen[0].text and "print(value)" in seen[0].text
    monkeypatch.setattr(scaffold, "set_aside_except", lambda text, needed: None)
    assert scaffold_t0() == done


ANNOTATED = '''{future}from dagster import Definitions, multi_asset
from dagster_airlift.core import build_defs_from_airflow_instance


@multi_asset(specs=[], name="old")
def old():
    {line}
    print('a')
    return None


defs = build_defs_from_airflow_instance(airflow_instance=None, defs=Definitions(assets=[old]))
'''


@pytest.mark.parametrize("future, line", [
    ("", 'spec: "AssetSpec" = None'),  # a string annotation reads `AssetSpec` too
    ("from __future__ import annotations\n", "spec: AssetSpec = None"),
    ("import typing\n", 'spec = typing.cast("AssetSpec", None)'),
    ("", "spec = AssetSpec"),
    ("", "DagsterAssetSpec = 1"),  # the alias a new import would take
])
def test_a_body_using_a_name_the_mapping_imports_stays_in_view(future, line, monkeypatch) -> None:
    text = ANNOTATED.format(future=future, line=line)

    def map_one():
        return add_task_mappings(text, "d", [NewMapping("t", ("d", "t"))])

    assert map_one() == whole(monkeypatch, map_one)


def test_new_code_takes_the_quote_of_the_bodies_set_aside_too(monkeypatch) -> None:
    # the bodies use single quotes, the rest of the module double ones: the whole text says single
    body = "    x = 'a'\n    y = 'b'\n    z = 'c'\n    return [x, y, z]\n"
    text = (HEAD + '@dg.asset(name="one")\ndef one():\n' + body + "\n\n"
            + '@dg.asset(name="two")\ndef two():\n' + body + "\n\n"
            + 'defs = build_defs_from_airflow_instance(airflow_instance=None, defs=dg.Definitions(assets=[one, two]))\n')
    assert set_aside(text, for_edit=True) is not None

    def map_one():
        return add_task_mappings(text, "d", [NewMapping("t", ("d", "t"))])

    done = map_one()
    assert done == whole(monkeypatch, map_one) and "dag_id='d'" in done.text


@pytest.mark.parametrize("fstring", [
    'f"{x}"', "f'{x}'", "f\"{x['a']}\"", "f'{x[\"a\"]}'", 'f"""{x}"""', "rf'{a}'", 'F"abc"', "f\"it's {x}\"",
    "f\"{'a' if b else 'c'}\"", 'f"{{x}}"', "f'''{d[\"k\"]} and {e}'''", 'f""', "f''", 'f"{x!r:>{w}}"',
])
def test_the_quotes_in_an_f_string_are_libcsts_without_parsing_most(fstring: str) -> None:
    """``_nested_quotes`` skips f-strings with no quote between their own; the rest it parses."""
    import libcst as cst

    from analysis.dagster.bodies import _nested_quotes

    expected = [n.quote for n in _simple_strings(cst.parse_expression(fstring)) if n.quote in ('"', "'")]
    assert _nested_quotes(fstring) == expected


def _simple_strings(node):
    import libcst as cst

    found = []

    class Strings(cst.CSTVisitor):
        def visit_SimpleString(self, string: cst.SimpleString) -> None:
            found.append(string)

    node.visit(Strings())
    return found
