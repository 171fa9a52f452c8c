"""Proxied-state files read and edited by PyYAML's rules where they differ from ruamel's:
``%YAML`` directives of any 1.x version, and YAML 1.1's extra line breaks (U+0085, U+2028,
U+2029), which decide where an appended entry goes and how it is indented."""

from __future__ import annotations

import pytest
import yaml

from analysis.state.proxied_state import parse_state_file
from analysis.edits.state_edits import set_dag_proxied, set_task_proxied

PATH = "proxied_state/my_dag.yaml"
TASKS = "tasks:\n  - id: a\n    proxied: false\n"


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2", "1.3", "1.99"])
def test_any_yaml_1_x_directive_loads_as_pyyaml_loads_it(version: str) -> None:
    text = f"%YAML {version}\n---\n{TASKS}"
    assert yaml.safe_load(text) == {"tasks": [{"id": "a", "proxied": False}]}
    state = parse_state_file(PATH, text)
    assert state.error is None and [(t.task_id, t.proxied) for t in state.tasks] == [("a", False)]
    assert yaml.safe_load(set_task_proxied(text, None, True)) == {"tasks": [{"id": "a", "proxied": True}]}
    dag_level = f"%YAML {version}\n---\nproxied: false\n"
    assert yaml.safe_load(set_dag_proxied(dag_level, True)) == {"proxied": True}


@pytest.mark.parametrize(("directives", "says"), [
    ("%YAML 2.0\n", "found incompatible YAML document (version 1.* is required)"),
    ("%YAML 1.1\n%YAML 1.1\n", "found duplicate YAML directive"),
    ("%TAG !e! tag:e,2000:\n%TAG !e! tag:f,2000:\n", "duplicate tag handle '!e!'"),
])
def test_directives_pyyaml_refuses_are_refused(directives: str, says: str) -> None:
    text = f"{directives}---\n{TASKS}"
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(text)
    state = parse_state_file(PATH, text)
    assert state.breaks_folder and says in state.error
    assert set_task_proxied(text, ["b"], True) == text


@pytest.mark.parametrize("line_break", ["\u2028", "\u2029", "\x85", "\r", "\r\n"])
@pytest.mark.parametrize("final_break", [True, False])
def test_an_entry_appended_to_a_file_with_yaml_1_1_line_breaks_loads(line_break: str,
                                                                      final_break: bool) -> None:
    text = TASKS.replace("\n", line_break)
    if not final_break:
        text = text.removesuffix(line_break)
    assert yaml.safe_load(text) == {"tasks": [{"id": "a", "proxied": False}]}
    new = set_task_proxied(text, ["b"], True)
    assert yaml.safe_load(new) == {"tasks": [{"id": "a", "proxied": False}, {"id": "b", "proxied": True}]}
    assert new.startswith(text) and "\n" not in new.replace("\r\n", "").replace(line_break, "")
    assert set_task_proxied(new, ["b"], True) == new
    state = parse_state_file(PATH, new)
    assert state.error is None and [t.task_id for t in state.tasks] == ["a", "b"]
