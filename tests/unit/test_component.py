"""dagster-airlift components: mappings read from and written into a ``defs.yaml``."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from analysis.dagster.module import parse_dagster_module
from analysis.edits.component_mappings import add_component_dag_mapping, add_component_task_mappings
from analysis.edits.mapping_code import NewMapping
from tests.conftest import run_cli

HEAD = """\
# peered as a component
type: dagster_airlift.core.components.AirflowInstanceComponent
attributes:
  name: airflow  # the instance's name in Dagster
  auth:
    type: basic_auth
    webserver_url: '{{ env("AIRFLOW_URL") }}'
    username: admin
    password: '{{ env("AIRFLOW_PASSWORD") }}'
"""


def component(mappings: str = "") -> str:
    """The head, then ``mappings`` (written at column 0) under ``attributes:``."""
    return HEAD + textwrap.indent(textwrap.dedent(mappings), "  ")


def read(text: str):
    return parse_dagster_module("/w/defs/airflow/defs.yaml", text)


# -- reading ---------------------------------------------------------------------------------------

def test_reads_task_and_dag_level_mappings_with_their_ranges() -> None:
    module = read(component("""\
      mappings:
        - dag_id: rebuild
          task_mappings:
            - task_id: load
              assets:
                - spec:
                    key: raw/customers
                - by_key: dbt/customers
        - dag_id: orders
          assets:
            - spec: {key: orders, deps: [raw/customers]}
    """))
    assert module.error is None and module.calls_build_defs
    assert module.assets_for("rebuild", "load") == ("raw/customers", "dbt/customers")
    assert module.assets_for("orders", None) == ("orders",)
    load = next(m for m in module.mappings if m.task_id == "load")
    assert (load.key_range.start.line, load.key_range.start.character) == (12, 19)  # `load`
    spec, by_key = load.assets
    assert (spec.executable, spec.deps) == (False, ())
    assert by_key.executable, "by_key names an asset defined in Dagster (InDagsterAssetRef)"
    assert module.mappings[-1].assets[0].deps == ("raw/customers",)


def test_templates_and_list_keys_are_dynamic_never_guessed() -> None:
    module = read(component("""\
      mappings:
        - dag_id: '{{ env("DAG") }}'
          assets: [{spec: {key: x}}]
        - dag_id: rebuild
          task_mappings:
            - task_id: load
              assets:
                - spec: {key: [raw, customers]}
    """))
    assert [u.reason for u in module.unresolved] == ["the dag_id is a template Dagster evaluates"]
    (load,) = module.mappings
    assert load.dynamic and load.assets == (), "Dagster's schema wants a string key: not read"


@pytest.mark.parametrize("text, message", [
    ("type: my.Component\n", "its type is 'my.Component'"),
    ("type: [\n", "not valid YAML"),
    ("- a\n", "is a mapping"),
])
def test_not_a_component_says_why(text: str, message: str) -> None:
    module = read(text)
    assert module.mappings == () and message in (module.error or "")


# -- writing ---------------------------------------------------------------------------------------

def test_task_mappings_added_to_a_component_without_mappings() -> None:
    result = add_component_task_mappings(component(), "rebuild", [
        NewMapping("load", ("rebuild", "load")),
        NewMapping("build", ("rebuild", "build"), (("rebuild", "load"),))])
    assert result.changed and result.text == component("""\
      mappings:
        - dag_id: rebuild
          task_mappings:
            - task_id: load
              assets:
                - spec:
                    key: rebuild/load
            - task_id: build
              assets:
                - spec:
                    key: rebuild/build
                    deps: [rebuild/load]
    """)
    again = add_component_task_mappings(result.text, "rebuild", [NewMapping("load", ("rebuild", "load"))])
    assert (again.changed, again.text) == (False, result.text)


def test_added_to_the_dags_entry_keeping_comments_and_its_indentation() -> None:
    text = component("""\
      mappings:
      # the customers pipeline
      - dag_id: rebuild   # owned by data-eng
        task_mappings:
        - task_id: load
          assets:
          - by_key: raw/customers   # defined in defs/raw
      # the end
    """)
    result = add_component_task_mappings(text, "rebuild", [NewMapping("export", ("out",))])
    assert result.text == text.replace("# defined in defs/raw\n", "# defined in defs/raw\n"
                                       "    - task_id: export\n      assets:\n        - spec:\n"
                                       "            key: out\n")
    assert read(result.text).assets_for("rebuild", "export") == ("out",)


def test_a_new_dag_entry_and_a_dag_level_mapping_keep_crlf() -> None:
    text = component("""\
      mappings:
        - dag_id: rebuild
          task_mappings: []
    """).replace("\n", "\r\n")
    result = add_component_task_mappings(text, "rebuild", [NewMapping("load", ("a", "b"))])
    assert "\r\n      task_mappings:\r\n        - task_id: load\r\n" in result.text
    dag_level = add_component_dag_mapping(result.text, "orders", ("orders",))
    assert dag_level.text.endswith("\r\n    - dag_id: orders\r\n      assets:\r\n        - spec:\r\n"
                                   "            key: orders\r\n")
    assert "\n" not in dag_level.text.replace("\r\n", "")
    assert read(dag_level.text).assets_for("orders", None) == ("orders",)


def test_a_file_without_a_final_line_break() -> None:
    text = component("""\
      mappings:
        - dag_id: rebuild
          assets:
            - spec: {key: rebuild}""")
    result = add_component_task_mappings(text, "rebuild", [NewMapping("load", ("load",))])
    assert result.text == text + "\n      task_mappings:\n        - task_id: load\n          assets:\n" \
                                 "            - spec:\n                key: load"


@pytest.mark.parametrize("mappings, reason", [
    ("mappings: [{dag_id: other, assets: [{spec: {key: x}}]}]\n", "flow style"),
    ("mappings:\n  - &entry\n    dag_id: rebuild\n    task_mappings:\n      - task_id: a\n"
     "        assets: [{by_key: a}]\n", "the entry of `rebuild` is written through a YAML anchor"),
    ("base: &base\n  - task_id: a\n    assets: [{by_key: a}]\nmappings:\n  - dag_id: rebuild\n"
     "    task_mappings: *base\n", "`task_mappings` of `rebuild` is written through a YAML anchor"),
    ("mappings:\n  - {dag_id: rebuild, assets: [{by_key: a}]}\n", "the entry of `rebuild` is written in flow style"),
    ("mappings:\n  - dag_id: '{{ env(\"DAG\") }}'\n    assets: [{spec: {key: x}}]\n", "templated dag_id"),
    ("mappings:\n  - dag_id: rebuild\n    task_mappings:\n      - task_id: '{{ env(\"T\") }}'\n"
     "        assets: [{by_key: a}]\n", "templated task_id"),
    ("mappings: 3\n", "not a list"),
])
def test_refused_with_one_line(mappings: str, reason: str) -> None:
    text = HEAD + textwrap.indent(mappings, "  ")
    result = add_component_task_mappings(text, "rebuild", [NewMapping("load", ("load",))])
    assert result.text is None and reason in result.reason and "\n" not in result.reason


def test_refuses_what_is_not_a_component() -> None:
    result = add_component_task_mappings("type: other.Component\n", "d", [NewMapping("t", ("t",))])
    assert result.text is None and "not dagster-airlift's" in result.reason


# -- the project: check and map through the CLI --------------------------------------------------

DAG = """\
from datetime import datetime
from airflow import DAG
from airflow.operators.empty import EmptyOperator

with DAG("rebuild", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="load") >> EmptyOperator(task_id="build")
"""


def test_check_and_map_through_the_dagster_module_setting(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "rebuild.py").write_text(DAG, encoding="utf-8")
    (tmp_path / "orchestration").mkdir()
    defs = tmp_path / "orchestration" / "airflow.yaml"
    defs.write_text(component("""\
      mappings:
        - dag_id: rebuild
          task_mappings:
            - task_id: lod
              assets: [{spec: {key: raw}}]
    """), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n'
                                             'dagsterModule = "orchestration/airflow.yaml"\n', encoding="utf-8")
    checked = run_cli("check", "--json", cwd=tmp_path)
    found = [d for d in json.loads(checked.stdout)["findings"] if d["path"].endswith("airflow.yaml")]
    assert [(d["code"], d["range"]["start"]["line"]) for d in found] == [("mapping-unknown-task", 12)], checked.stdout
    mapped = run_cli("map", "rebuild", "load", "--asset", "raw/load", cwd=tmp_path)
    assert mapped.returncode == 0, mapped.stderr
    assert defs.read_text(encoding="utf-8").endswith(
        "assets: [{spec: {key: raw}}]\n        - task_id: load\n          assets:\n            - spec:\n"
        "                key: raw/load\n")
    status = json.loads(run_cli("status", "--json", cwd=tmp_path).stdout)
    assert "raw/load" in json.dumps(status)


def test_steps_that_write_python_say_so_for_a_component(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "rebuild.py").write_text(DAG, encoding="utf-8")
    (tmp_path / "defs" / "airflow").mkdir(parents=True)
    (tmp_path / "defs" / "airflow" / "defs.yaml").write_text(component(), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n'
                                             'airflow = { url = "http://127.0.0.1:9" }\n', encoding="utf-8")
    assert run_cli("map", "rebuild", cwd=tmp_path).returncode == 0
    scaffold = run_cli("scaffold", "rebuild", "load", cwd=tmp_path)
    assert scaffold.returncode == 1 and "the component defs.yaml: scaffold writes into a Python" in scaffold.stderr
    peer = run_cli("peer", cwd=tmp_path)
    assert peer.returncode == 0 and "already peered: the component defs.yaml" in peer.stderr
    assert not (tmp_path / "definitions.py").exists()


def test_the_server_index_follows_a_component_buffer(tmp_path: Path) -> None:
    from analysis.project import Layout
    from server.features.lookup import target_at
    from server.index import Buffer, WorkspaceIndex

    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "rebuild.py").write_text(DAG, encoding="utf-8")
    defs = tmp_path / "defs" / "airflow" / "defs.yaml"
    defs.parent.mkdir(parents=True)
    defs.write_text(component(), encoding="utf-8")
    index = WorkspaceIndex(Layout(str(tmp_path), ("dags",)))
    assert index.rebuild().project.dagster_modules[str(defs)].mappings == ()
    mapped = add_component_task_mappings(component(), "rebuild", [NewMapping("load", ("raw", "load"))]).text
    index.buffers[str(defs)] = Buffer(mapped, 2)
    snapshot = index.update_files([str(defs)])
    assert snapshot.project.assets_for("rebuild", "load") == ("raw/load",)
    mapping = snapshot.project.dagster_modules[str(defs)].mappings[0]
    target = target_at(snapshot, str(defs), mapping.key_range.start, mapped)
    assert target is not None and target.task.task_id == "load"
    index.buffers[str(defs)] = Buffer("type: something.Else\n", 3)
    assert str(defs) not in index.update_files([str(defs)]).project.dagster_modules


def test_dags_json_stage_sees_a_component_in_the_dag_folders(tmp_path: Path) -> None:
    (tmp_path / "dags" / "defs").mkdir(parents=True)
    (tmp_path / "dags" / "rebuild.py").write_text(DAG, encoding="utf-8")
    (tmp_path / "dags" / "defs" / "defs.yaml").write_text(component("""\
      mappings:
        - dag_id: rebuild
          task_mappings:
            - task_id: load
              assets: [{spec: {key: raw/load}}]
    """), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n', encoding="utf-8")
    listed = json.loads(run_cli("dags", "dags", "--json", cwd=tmp_path).stdout)
    stages = {t["task_id"]: t["stage"] for f in listed["files"] for d in f["dags"] for t in d["tasks"]}
    assert stages == {"load": "observed", "build": "unmapped"}


def test_a_defs_yaml_holding_several_components() -> None:
    other = "type: dagster.DefsFolderComponent\nattributes: {}\n---\n"
    text = other + component("""\
      mappings:
        - dag_id: rebuild
          assets: [{by_key: rebuild}]
    """) + "---\ntype: my.Other\n"
    assert read(text).assets_for("rebuild", None) == ("rebuild",)
    result = add_component_task_mappings(text, "rebuild", [NewMapping("load", ("load",))])
    assert result.text == text.replace("[{by_key: rebuild}]\n", "[{by_key: rebuild}]\n      task_mappings:\n"
                                       "        - task_id: load\n          assets:\n            - spec:\n"
                                       "                key: load\n")
    twice = text + "---\n" + component()
    assert "holds 2 AirflowInstanceComponents" in read(twice).error


def test_mutated_components_never_crash_and_writes_read_back() -> None:
    """Random insertions of YAML punctuation and deletions: the reader and the edits never raise,
    a refusal is one line, and a written text reads back as a component holding the new mapping,
    the old text kept around one inserted block."""
    import random

    base = component("""\
      mappings:
        - dag_id: rebuild   # comment
          task_mappings:
            - task_id: load
              assets:
                - spec: {key: raw/load}
                - by_key: dbt/x
        - dag_id: other
          assets: [{spec: {key: other}}]
    """)
    pieces = [":", "-", " ", "\n", "&a ", "*a", "[", "]", "{", "}", "#", "'", '"', "? ", "<<: ", "\t",
              "---\n", "dag_id: rebuild", "task_mappings:", "\r\n", "{{ x }}"]
    rng = random.Random(14)
    written = 0
    for _ in range(400):
        text = base
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text) + 1)
            text = text[:at] + rng.choice(pieces) + text[at:] if rng.random() < 0.5 \
                else text[:at] + text[at + rng.randint(1, 5):]
        read(text)
        result = add_component_task_mappings(text, "rebuild", [NewMapping("build", ("b",), (("raw", "load"),))])
        if result.text is None:
            assert result.reason and "\n" not in result.reason
            continue
        if not result.changed:
            continue
        written += 1
        assert read(result.text).assets_for("rebuild", "build") == ("b",)
        same = next(i for i, (a, b) in enumerate(zip(text + "\0", result.text)) if a != b)
        rest = len(text) - same
        assert result.text[len(result.text) - rest:] == text[same:] if rest else True
    assert written > 50


def test_check_names_the_component_for_a_dag_it_maps_that_is_not_there(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "rebuild.py").write_text(DAG, encoding="utf-8")
    (tmp_path / "defs.yaml").write_text(component("""\
      mappings:
        - dag_id: gone
          assets: [{spec: {key: gone}}]
    """), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n', encoding="utf-8")
    findings = json.loads(run_cli("check", "--json", cwd=tmp_path).stdout)["findings"]
    (gone,) = [f for f in findings if f["path"] == "defs.yaml"]
    assert gone["code"] == "mapping-unknown-task" and "the AirflowInstanceComponent will not find it" in gone["message"]
    assert gone["range"]["start"]["line"] == 10, "the DAG's entry in the YAML"
