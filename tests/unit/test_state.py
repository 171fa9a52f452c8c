"""Proxied-state files: judged as dagster-airlift judges them, and edited exactly.

PyYAML is the reference: dagster-airlift loads these files with ``yaml.safe_load``, so every
verdict here is compared with what PyYAML plus airlift's rules (restated in
``airlift_reading``) make of the same text.
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from analysis.facts import Range, Severity
from analysis.state.safe_yaml import Constructor, SafeYamlError, compose
from analysis.state.proxied_state import parse_state_file
from analysis.edits.state_edits import new_state_file, set_dag_proxied, set_task_proxied, yaml_scalar

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "state"
STATE = "proxied_state/my_dag.yaml"


def fixture(name: str) -> tuple[str, str]:
    path = FIXTURES / name
    return str(path), path.read_bytes().decode("utf-8")


def airlift_reading(text: str):
    """What ``load_proxied_state_from_yaml`` then ``proxying_to_dagster`` make of one file:
    ("refused",) when the loader raises, else ("loaded", {id: proxied}, dag_proxied)."""
    try:
        document = yaml.safe_load(text)
        if not isinstance(document, dict):
            return ("refused",)
        if ("tasks" in document) == ("proxied" in document):
            return ("refused",)
        tasks = {}
        for entry in document.get("tasks", ()):
            if set(entry.keys()) != {"id", "proxied"} or entry["proxied"] not in [True, False]:
                return ("refused",)
            tasks[entry["id"]] = entry["proxied"]
        if document.get("proxied") not in [True, False, None]:
            return ("refused",)
        return ("loaded", tasks, document.get("proxied"))
    except Exception:  # noqa: BLE001 - airlift wraps every exception the same way
        return ("refused",)


def assert_agrees_with_airlift(text: str) -> None:
    state = parse_state_file(STATE, text)
    reading = airlift_reading(text)
    if reading[0] == "refused":
        assert state.error and state.breaks_folder, (text, state)
        assert state.tasks == () and state.dag_proxied is None
        return
    _, tasks, dag_proxied = reading
    assert not state.breaks_folder, (text, state.error)
    assert {t.task_id: t.proxied for t in state.tasks} == {
        k: bool(v) for k, v in tasks.items() if isinstance(k, str)}
    assert (state.error is not None) == any(not isinstance(k, str) for k in tasks), text
    # airlift skips a DAG only when its flag ``is False``; any other non-None value proxies it.
    assert state.dag_proxied == (None if dag_proxied is None else dag_proxied is not False)


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.iterdir()))
def test_every_fixture_is_judged_as_airlift_judges_it(name):
    assert_agrees_with_airlift(fixture(name)[1])


# -- verdicts on real files --------------------------------------------------------------------

def test_task_level_file_gives_each_task_with_ranges():
    path, text = fixture("task_level.yaml")
    state = parse_state_file(path, text)
    assert state.error is None and state.warnings == () and not state.is_dag_level
    assert state.dag_id == "task_level"
    assert [(t.task_id, t.proxied) for t in state.tasks] == [
        ("load_raw_customers", True), ("build_dbt_models", False), ("export_customers", False)]
    first = state.task("load_raw_customers")
    assert first.range == Range.of(2, 2, 3, 17)  # from the dash to the end of `true`
    assert first.id_range == Range.of(2, 8, 2, 26)
    assert first.proxied_range == Range.of(3, 13, 3, 17)
    assert state.task("build_dbt_models").id_range == Range.of(4, 8, 4, 26)  # with its quotes
    assert state.task("nope") is None


def test_an_item_whose_mapping_starts_on_the_next_line_still_starts_at_its_dash():
    state = parse_state_file(STATE, "tasks:\n  -\n    id: a\n    proxied: true\n")
    assert state.task("a").range == Range.of(1, 2, 3, 17)


def test_dag_level_file():
    path, text = fixture("dag_level.yaml")
    state = parse_state_file(path, text)
    assert state.is_dag_level and state.dag_proxied is True and state.tasks == ()
    assert state.proxied_range == Range.of(1, 9, 1, 13)


def test_yaml_1_1_booleans_are_booleans():
    state = parse_state_file(*fixture("yaml11_booleans.yaml"))
    assert state.error is None
    assert [(t.task_id, t.proxied) for t in state.tasks] == [
        ("a", True), ("b", True), ("c", True), ("d", True), ("e", False), ("f", False)]


def test_a_yaml_1_2_directive_does_not_change_pyyaml_rules():
    state = parse_state_file(*fixture("yaml12_directive.yaml"))
    assert state.error is None and state.task("a").proxied is True


@pytest.mark.parametrize(("name", "says", "at"), [
    ("y_is_a_string.yaml", "is the string 'y', not true or false", Range.of(2, 13, 2, 14)),
    ("quoted_true.yaml", "task entry at line 4 is the string 'true'", Range.of(4, 13, 4, 19)),
    ("wrong_key.yaml", "task entry at line 4 has key `proxy` (expected exactly `id` and "
                       "`proxied`)", Range.of(4, 4, 4, 9)),
    ("missing_proxied.yaml", "has no `proxied`", Range.of(1, 4, 1, 9)),
    ("both_keys.yaml", "both `tasks` and `proxied`", Range.of(1, 0, 1, 5)),
    ("neither_key.yaml", "neither a `tasks` nor a `proxied`", Range.of(0, 0, 0, 5)),
    ("top_level_list.yaml", "it is a list, not a mapping", Range.of(0, 0, 0, 7)),
    ("empty.yaml", "it is empty", Range.of(0, 0, 0, 0)),
    ("comments_only.yaml", "it is empty", Range.of(0, 0, 0, 0)),
    ("tab_indent.yaml", "YAML forbids tabs", Range.of(1, 0, 1, 1)),
    ("unclosed_flow.yaml", "not valid YAML at line 2", Range.of(1, 0, 1, 0)),
    ("list_id.yaml", "has a list as its id", Range.of(1, 8, 1, 14)),
    ("tasks_null.yaml", "`tasks` is null", Range.of(0, 0, 0, 5)),
    ("unknown_tag.yaml", "could not determine a constructor for the tag '!task'",
     Range.of(1, 8, 1, 15)),
    ("two_documents.yaml", "expected a single document", Range.of(3, 0, 3, 3)),
    ("duplicate_anchor.yaml", "found duplicate anchor 'name'", Range.of(3, 8, 3, 13)),
])
def test_refused_files_say_what_airlift_will_do_and_where(name, says, at):
    state = parse_state_file(*fixture(name))
    assert state.breaks_folder
    assert state.error.startswith("dagster-airlift will refuse this file: ")
    assert state.error.endswith("; every DAG that loads state/ fails to import")
    assert says in state.error
    assert state.error_range == at


def test_error_names_the_folder_the_file_is_in():
    state = parse_state_file("dags/proxied_state/d.yaml", "tasks:\n")
    assert state.error.endswith("every DAG that loads proxied_state/ fails to import")


@pytest.mark.parametrize("name", ["numeric_id.yaml", "date_id.yaml"])
def test_a_non_string_id_fails_only_this_dags_import(name):
    state = parse_state_file(*fixture(name))
    assert not state.breaks_folder
    assert state.error.startswith(f"dagster-airlift will fail to import DAG `{name[:-5]}`")
    assert "quote it" in state.error
    line = 3 if name == "numeric_id.yaml" else 1
    assert state.error_range.start.line == line


def test_non_string_ids_are_left_out_of_tasks():
    state = parse_state_file(*fixture("numeric_id.yaml"))
    assert [t.task_id for t in state.tasks] == ["a"]


def warnings_of(name: str) -> list[str]:
    state = parse_state_file(*fixture(name))
    assert state.error is None
    assert all(w.severity is Severity.WARNING and w.code == "invalid-proxied-state"
               for w in state.warnings)
    return [w.message for w in state.warnings]


def test_duplicate_keys_keep_the_last_value_with_a_warning():
    assert parse_state_file(*fixture("duplicate_keys.yaml")).task("a").proxied is False
    assert warnings_of("duplicate_keys.yaml") == [
        "duplicate key 'proxied' in the task entry at line 2 (first at line 3): PyYAML keeps "
        "this last one"]


def test_a_repeated_task_uses_the_last_entry():
    state = parse_state_file(*fixture("duplicate_task.yaml"))
    assert state.task("a").proxied is True and state.task("a").range.start.line == 3
    assert warnings_of("duplicate_task.yaml") == [
        "task `a` is listed again (first at line 2): dagster-airlift uses this last entry"]


def test_numbers_pass_as_flags_with_a_warning():
    state = parse_state_file(*fixture("numeric_proxied.yaml"))
    assert [(t.task_id, t.proxied) for t in state.tasks] == [("a", True), ("b", False)]
    assert len(warnings_of("numeric_proxied.yaml")) == 2


def test_dag_level_zero_proxies_the_whole_dag():
    state = parse_state_file(*fixture("dag_level_zero.yaml"))
    assert state.dag_proxied is True
    assert "proxies the whole DAG unless it is exactly `false`" in warnings_of("dag_level_zero.yaml")[0]


def test_dag_proxied_null_is_task_level_without_tasks():
    state = parse_state_file(*fixture("dag_proxied_null.yaml"))
    assert state.dag_proxied is None and not state.is_dag_level and state.tasks == ()
    assert warnings_of("dag_proxied_null.yaml") == [
        "`proxied: null` makes this a task-level file with no tasks: nothing is proxied"]


def test_unknown_top_level_keys_are_reported_but_merge_sources_are_not():
    assert warnings_of("ignored_key.yaml") == ["top-level key 'proxie' is ignored by dagster-airlift"]
    assert warnings_of("merge_key.yaml") == []
    assert [(t.task_id, t.proxied) for t in parse_state_file(*fixture("merge_key.yaml")).tasks] == [
        ("a", False), ("b", True)]


def test_empty_task_list_is_valid():
    state = parse_state_file(*fixture("tasks_empty.yaml"))
    assert state.error is None and state.tasks == () and warnings_of("tasks_empty.yaml") == []


def test_crlf_file_ranges_count_lines_like_lsp():
    state = parse_state_file(*fixture("crlf.yaml"))
    assert state.task("b").proxied_range == Range.of(4, 13, 4, 17)


def test_columns_count_code_points():
    state = parse_state_file(*fixture("unicode.yml"))
    task = state.task("😀é")
    assert task.id_range == Range.of(1, 9, 1, 13)
    assert task.proxied_range == Range.of(1, 24, 1, 28)
    assert task.range == Range.of(1, 2, 1, 29)  # from the dash


def test_yaml_only_line_breaks_do_not_shift_lsp_lines():
    # PyYAML counts U+2028 as a line break (and keeps it in the quoted id); LSP does not.
    state = parse_state_file(STATE, 'tasks:\n  - id: "a\u2028b"\n    proxied: true\n')
    assert state.task("a\u2028b").proxied_range == Range.of(2, 13, 2, 17)


@pytest.mark.parametrize("word", [
    "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "true", "True",
    "TRUE", "false", "False", "FALSE", "y", "Y", "n", "N", "yEs", "1", "0", "1.0", "0.0", "0x1",
    "0b0", "1:0", "~", "null", "''", "'yes'", "!!bool yes", "!!str true", "!!int 1", "2",
    "!!float 0", ".inf", "[true]", "{a: 1}", "", "=", "<<", "!!bool maybe"])
def test_each_flag_spelling_is_read_as_pyyaml_reads_it(word):
    assert_agrees_with_airlift(f"tasks:\n  - id: a\n    proxied: {word}\n")
    assert_agrees_with_airlift(f"proxied: {word}\n")


@pytest.mark.parametrize("spelling", ["a", "'a'", '"a"', "123", "1.5", "true", "~", "", "y",
                                      "2020-01-01", "2020-13-45", "[a]", "{a: 1}", "!!str 1",
                                      "!!binary aGk=", "0o7", "1e3", "!!set {a}"])
def test_each_id_spelling_is_read_as_pyyaml_reads_it(spelling):
    assert_agrees_with_airlift(f"tasks:\n  - id: {spelling}\n    proxied: true\n")


def test_parse_never_raises_on_deeply_nested_text():
    state = parse_state_file(STATE, "[" * 5000 + "]" * 5000)
    assert state.error and state.breaks_folder


# -- the loader agrees with PyYAML on arbitrary text ----------------------------------------------

PIECES = ["a", "id", "tasks", "proxied", ":", ": ", "- ", "-", "\n", "\n  ", "\n    ", "\n- ",
          " ", "\t", "[", "]", "{", "}", ",", "#", " #c", "'", '"', "yes", "y", "On", "0", "010",
          "0x1f", "1:30", "1.5", "1e3", "~", "2020-01-01", "!!bool", "!!str", "!!int", "!foo",
          "!", "&x ", "*x", "<<: ", "=", "|", "|-\n  ", ">+\n ", "? ", "%YAML 1.2\n---\n", "---",
          "...", "\\", "é", "\x85", "\u2028", "!!set", "!!omap", "!!binary", "!!!str", "\r\n",
          "\r", '"\\x41"', "'a''b'", "%TAG !e! tag:e.com,2000:\n---\n", "!e!x ", "\x07", "\ufeff"]


def pyyaml_value(text: str):
    try:
        return ("ok", repr(yaml.safe_load(text)))
    except Exception:  # noqa: BLE001 - any failure is a refusal
        return ("error",)


def our_value(text: str):
    try:
        node = compose(text)
        return ("ok", repr(Constructor().construct(node) if node is not None else None))
    except (SafeYamlError, RecursionError):
        return ("error",)


@pytest.mark.parametrize("text", [
    "a: y\nb: n\n",                       # ruamel's YAML 1.1 reads y/n as booleans
    "a: 1e3\n",                           # and this as a float
    "%YAML 1.2\n---\na: yes\n",           # and switches rules on a directive
    "a: &x 1\nb: &x 2\n",                  # and only warns about a reused anchor
    "? \x85On0",                           # and does not count U+0085 as a line break
    "&x!!setOn1e3|!!binary",               # and allows any character in an anchor name
    "!!!str",                              # and reads !!! as a handle
    "%YAML 1.2\n---\n>\n \n  ",            # and refuses deeper blank lines in a block scalar
    "{=::}",                               # and ends a flow plain scalar at the first ':'
    "[\tOn]",                              # and skips tabs in flow context
])
def test_loading_agrees_with_pyyaml_where_ruamel_alone_does_not(text):
    assert our_value(text) == pyyaml_value(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PIECES), min_size=1, max_size=20).map("".join))
def test_loading_agrees_with_pyyaml_safe_load(text):
    theirs = pyyaml_value(text)
    assume("nan" not in theirs[-1])  # nan != nan
    assert our_value(text) == theirs


FLAGS = ["true", "false", "yes", "Off", "TRUE", "y", "1", "0", "'true'", "~", "", "[true]", "2"]
IDS = ["a", "b", "'a'", '"b.c"', "123", "[x]", "~", "yes", "2024-01-01", "{k: v}"]
KEYS = ["id", "proxied", "proxy", "extra"]


@st.composite
def state_like_files(draw) -> str:
    def entry() -> str:
        keys = draw(st.lists(st.sampled_from(KEYS), min_size=0, max_size=3))
        values = {"id": IDS, "proxied": FLAGS, "proxy": FLAGS, "extra": IDS}
        fields = [f"{k}: {draw(st.sampled_from(values[k]))}" for k in keys or ["id"]]
        return "\n    ".join(fields)

    entries = [entry() for _ in range(draw(st.integers(0, 3)))]
    tasks = "tasks:" + "".join(f"\n  - {e}" for e in entries) if entries else "tasks: []"
    top = draw(st.lists(st.sampled_from(["tasks", "proxied", "other"]), min_size=0, max_size=2))
    parts = {"tasks": tasks, "proxied": f"proxied: {draw(st.sampled_from(FLAGS))}",
             "other": "other: 1"}
    return "\n".join(parts[p] for p in top) + "\n" if top else draw(
        st.sampled_from(["", "- a\n", "x\n"]))


@settings(max_examples=300, deadline=None)
@given(state_like_files())
def test_verdict_agrees_with_airlift_on_state_like_files(text):
    assert_agrees_with_airlift(text)


# -- edits ---------------------------------------------------------------------------------------

def test_set_task_proxied_rewrites_only_the_flag():
    _, text = fixture("task_level.yaml")
    result = set_task_proxied(text, ["build_dbt_models"], True)
    assert result == text.replace('"build_dbt_models"\n    proxied: false',
                                  '"build_dbt_models"\n    proxied: true')


def test_set_task_proxied_keeps_a_trailing_comment():
    _, text = fixture("task_level.yaml")
    result = set_task_proxied(text, ["load_raw_customers"], False)
    assert "    proxied: false   # moved to Dagster on 2024-06-01\n" in result


def test_every_task_when_ids_are_none():
    _, text = fixture("task_level.yaml")
    state = parse_state_file(STATE, set_task_proxied(text, None, True))
    assert all(t.proxied for t in state.tasks) and len(state.tasks) == 3


def test_bool_spelling_follows_the_file():
    text = "tasks:\n  - id: a\n    proxied: yes\n  - id: b\n    proxied: OFF\n  - id: c\n    proxied: False\n"
    assert set_task_proxied(text, None, False) == text.replace("yes", "no").replace("False", "False")
    assert set_task_proxied(text, None, True) == text.replace("OFF", "ON").replace("False", "True")
    assert set_task_proxied(text, ["new"], True).endswith("  - id: new\n    proxied: yes\n")


def test_flow_style_is_edited_in_place_and_appended_to():
    _, text = fixture("flow_style.yaml")
    assert set_task_proxied(text, ["transform.step"], True) == (
        'tasks: [{id: extract, proxied: true}, {id: "transform.step", proxied: true}]\n')
    assert set_task_proxied(text, ["load"], False) == (
        'tasks: [{id: extract, proxied: true}, {id: "transform.step", proxied: false}, '
        '{id: "load", proxied: false}]\n')
    assert set_task_proxied("tasks: []\n", ["a", "b"], True) == (
        "tasks: [{id: a, proxied: true}, {id: b, proxied: true}]\n")
    assert set_task_proxied("{tasks: [ { id: a, proxied: off } ]}", ["b"], True) == (
        "{tasks: [ { id: a, proxied: off }, { id: b, proxied: on } ]}")


@pytest.mark.parametrize(("text", "added"), [
    ("tasks:\n  - id: a\n    proxied: false\n", "  - id: b\n    proxied: true\n"),
    ("tasks:\n- id: a\n  proxied: false\n", "- id: b\n  proxied: true\n"),
    ("tasks:\n    -   proxied: false\n        id: 'a'\n", "    -   proxied: true\n        id: 'b'\n"),
    ("tasks:\n  - {id: a, proxied: false}\n", "  - {id: b, proxied: true}\n"),
])
def test_appended_entries_copy_the_last_entrys_layout(text, added):
    assert set_task_proxied(text, ["b"], True) == text + added


def test_appending_keeps_following_comments_and_keys_after_the_entry():
    text = "tasks:\n  - id: a\n    proxied: false  # a\n# the end\n"
    assert set_task_proxied(text, ["b"], False) == (
        "tasks:\n  - id: a\n    proxied: false  # a\n  - id: b\n    proxied: false\n# the end\n")


def test_appending_keeps_crlf_and_a_missing_final_newline():
    text = "tasks:\r\n  - id: a\r\n    proxied: false"
    assert set_task_proxied(text, ["b"], True) == text + "\r\n  - id: b\r\n    proxied: true"


def test_appended_ids_are_quoted_when_yaml_would_read_them_otherwise():
    text = "tasks:\n  - id: a\n    proxied: false\n"
    result = set_task_proxied(text, ["123", "yes", "y", "1e3", "a b", "x: y"], False)
    assert result.endswith('- id: "123"\n    proxied: false\n  - id: "yes"\n    proxied: false\n'
                           '  - id: "y"\n    proxied: false\n  - id: "1e3"\n    proxied: false\n'
                           '  - id: "a b"\n    proxied: false\n  - id: "x: y"\n    proxied: false\n')


def test_an_empty_flag_is_filled_in():
    assert set_task_proxied("tasks:\n  - id: a\n    proxied:\n", ["a"], True) == (
        "tasks:\n  - id: a\n    proxied: true\n")


def test_an_invalid_flag_is_replaced_by_a_boolean():
    result = set_task_proxied("tasks:\n  - id: a\n    proxied: 'true'\n", ["a"], False)
    assert result == "tasks:\n  - id: a\n    proxied: false\n"
    assert parse_state_file(STATE, result).error is None


def test_flags_shared_through_an_alias_are_left_alone():
    text = "tasks:\n  - id: a\n    proxied: &off false\n  - id: b\n    proxied: *off\n"
    assert set_task_proxied(text, ["a", "b"], True) == text


@pytest.mark.parametrize("text", ["proxied: false\n", "tasks: [\n", "- a\n", "", "tasks: ~\n", "tasks:\n"])
def test_set_task_proxied_leaves_files_it_cannot_edit_unchanged(text):
    assert set_task_proxied(text, ["a"], True) == text


@pytest.mark.parametrize("text", ["\ufeff# head\ntasks: ''\n", "tasks: {}\n", "tasks: \"\"  # none\n"])
def test_tasks_that_airlift_reads_as_none_become_a_list(text):
    result = set_task_proxied(text, ["a", "b"], True)
    state = parse_state_file(STATE, result)
    assert state.error is None
    assert [(t.task_id, t.proxied) for t in state.tasks] == [("a", True), ("b", True)]
    assert result.startswith(text.split("tasks")[0])


def test_set_dag_proxied():
    assert set_dag_proxied("# dag\nproxied: false  # off\n", True) == "# dag\nproxied: true  # off\n"
    assert set_dag_proxied("proxied: Yes\n", False) == "proxied: No\n"
    assert set_dag_proxied("proxied: 0\n", False) == "proxied: false\n"
    assert set_dag_proxied("proxied:\n", True) == "proxied: true\n"
    assert set_dag_proxied("proxied: true\n", True) == "proxied: true\n"
    _, text = fixture("task_level.yaml")
    assert set_dag_proxied(text, True) == text
    assert set_dag_proxied("tasks: [\n", True) == "tasks: [\n"


def test_new_state_file():
    assert new_state_file(["b", "a", "123", "b"]) == (
        'tasks:\n  - id: "123"\n    proxied: false\n  - id: a\n    proxied: false\n'
        "  - id: b\n    proxied: false\n")
    assert new_state_file([]) == "tasks: []\n"
    assert parse_state_file(STATE, new_state_file([])).error is None


ANY_ID = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(st.lists(ANY_ID, max_size=6))
def test_new_state_file_round_trips_any_ids(ids):
    text = new_state_file(ids)
    state = parse_state_file(STATE, text)
    assert state.error is None
    assert [(t.task_id, t.proxied) for t in state.tasks] == [(i, False) for i in sorted(set(ids))]
    assert yaml.safe_load(text) == {"tasks": [{"id": i, "proxied": False} for i in sorted(set(ids))]}


@settings(max_examples=200, deadline=None)
@given(ANY_ID, st.sampled_from([None, "'", '"']))
def test_yaml_scalar_reads_back_as_the_same_string(value, quote):
    assert yaml.safe_load(f"k: {yaml_scalar(value, quote)}") == {"k": value}
    assert yaml.safe_load(f"[{yaml_scalar(value, quote)}]") == [value]


# Ids that YAML reads as strings when written plain (``no``, ``on``, ``null`` are not).
PLAIN_IDS = st.from_regex(r"[a-z][a-z0-9_.]{0,5}", fullmatch=True).filter(
    lambda i: yaml.safe_load(i) == i)
WORDS = ["true", "false", "yes", "no", "on", "off", "True", "False", "TRUE", "OFF"]


@st.composite
def task_level_files(draw) -> tuple[str, list[str], bool]:
    ids = draw(st.lists(PLAIN_IDS, max_size=5, unique=True))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    quote = draw(st.sampled_from(["", "'", '"']))
    flags = [draw(st.sampled_from(WORDS)) for _ in ids]
    flow = draw(st.booleans()) or not ids
    if flow:
        items = ", ".join(f"{{id: {quote}{i}{quote}, proxied: {f}}}" for i, f in zip(ids, flags))
        return f"# state{eol}tasks: [{items}]{eol}", ids, True
    dash, gap = draw(st.sampled_from([0, 2, 4])), draw(st.sampled_from([1, 3]))
    id_first = draw(st.booleans())
    lines = ["# state", "tasks:"]
    for task_id, flag in zip(ids, flags):
        fields = [f"id: {quote}{task_id}{quote}", f"proxied: {flag}"]
        first, second = fields if id_first else fields[::-1]
        comment = draw(st.sampled_from(["", "  # note"]))
        lines.append(" " * dash + "-" + " " * gap + first + comment)
        lines.append(" " * (dash + 1 + gap) + second + draw(st.sampled_from(["", "  # x"])))
        if draw(st.booleans()):
            lines.append(" " * dash + "# between")
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    return text, ids, False


def split_lines(text: str) -> list[str]:
    return re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)


@settings(max_examples=300, deadline=None)
@given(task_level_files(), st.data())
def test_set_task_proxied_changes_only_the_flags_and_is_idempotent(file, data):
    text, ids, flow = file
    before = parse_state_file(STATE, text)
    assert before.error is None, text
    proxied = data.draw(st.booleans())
    chosen = data.draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    new = data.draw(st.lists(PLAIN_IDS.filter(lambda i: i not in ids), unique=True, max_size=3))
    targets = data.draw(st.sampled_from([None, chosen + new]))

    in_place = set_task_proxied(text, None if targets is None else chosen, proxied)
    result = set_task_proxied(text, targets, proxied)
    assert set_task_proxied(result, targets, proxied) == result

    wanted = set(ids) if targets is None else set(chosen)
    appended = [] if targets is None else new
    after = parse_state_file(STATE, result)
    assert after.error is None
    assert [(t.task_id, t.proxied) for t in after.tasks] == [
        (t.task_id, proxied if t.task_id in wanted else t.proxied) for t in before.tasks
    ] + [(i, proxied) for i in appended]

    # In place: the same lines, differing only on the lines of the targeted flags.
    old_lines, new_lines = split_lines(text), split_lines(in_place)
    assert len(old_lines) == len(new_lines)
    flag_lines = {t.proxied_range.start.line for t in before.tasks if t.task_id in wanted}
    assert {i for i, (a, b) in enumerate(zip(old_lines, new_lines)) if a != b} <= flag_lines

    # Appending only inserts whole lines (block) or extends the line with the list (flow).
    edited, final = split_lines(in_place), split_lines(result)
    matcher = difflib.SequenceMatcher(a=edited, b=final, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    if not appended:
        assert changes == []
    elif flow:
        assert len(final) == len(edited) and len(changes) == 1 and changes[0][2] - changes[0][1] == 1
    else:
        inserted = sum(j2 - j1 for _, i1, i2, j1, j2 in changes) - sum(i2 - i1 for _, i1, i2, *_ in changes)
        assert inserted == 2 * len(appended)
        # Only a last line without a line break may be touched (it gains one).
        touched = [i for op in changes for i in range(op[1], op[2])]
        assert touched in ([], [len(edited) - 1]) and (not touched or not text.endswith(("\n", "\r")))


@settings(max_examples=100, deadline=None)
@given(st.lists(PLAIN_IDS, max_size=4, unique=True), st.lists(ANY_ID, max_size=3, unique=True),
       st.booleans())
def test_appended_ids_round_trip_whatever_their_characters(ids, new, proxied):
    text = new_state_file(ids)
    new = [i for i in new if i not in ids]
    state = parse_state_file(STATE, set_task_proxied(text, new, proxied))
    assert state.error is None
    assert [(t.task_id, t.proxied) for t in state.tasks] == [
        (i, False) for i in sorted(ids)] + [(i, proxied) for i in new]


def test_pyyaml_reference_itself_reads_yaml_1_1():
    # Guards the oracle: if this fails, the reference stopped meaning what these tests assume.
    assert yaml.safe_load("a: yes\nb: y\nc: 1e3\n") == {"a": True, "b": "y", "c": "1e3"}
    assert math.isnan(yaml.safe_load(".nan"))
