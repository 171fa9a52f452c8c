"""Replays every input the fuzz tests found a bug with (``tests/fixtures/fuzz_regressions/``)
through the same properties the fuzz tests check.

Each ``<target>-<what>.json`` holds ``target`` (dagfile, state, dagster, plan, server), ``bug``
(what goes wrong, and why), ``found_by`` and ``input``. A replay fails while its bug is open
and passes once it is fixed; the file stays, as a regression test.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from lsprotocol import types

from analysis.edits import NewMapping
from tests.fuzz import test_fuzz_dagfile, test_fuzz_dagster, test_fuzz_plans, test_fuzz_state
from tests.fuzz.strategies import REGRESSIONS

FILES = sorted(REGRESSIONS.glob("*.json"))


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _files(files: dict) -> dict[str, str | bytes]:
    """``{"latin-1": text}`` stands for bytes that are not UTF-8."""
    return {name: content["latin-1"].encode("latin-1") if isinstance(content, dict) else content
            for name, content in files.items()}


def replay_dagfile(given) -> None:
    facts = test_fuzz_dagfile.read_dag_file(given)
    if facts.error is None:
        test_fuzz_dagfile.hook_is_added_once(given)


def replay_state(given) -> None:
    test_fuzz_state.exercise(given["text"], tuple(given["edit"]))


def replay_dagster(given) -> None:
    mappings = [NewMapping(task, tuple(key), tuple(tuple(d) for d in deps)) for task, key, deps in given["mappings"]]
    test_fuzz_dagster.exercise((given["text"], given["dag_id"], mappings))


def replay_plan(given) -> None:
    test_fuzz_plans.run_scenario({"layout": tuple(given["layout"]), "files": _files(given["files"]),
                                  "steps": [tuple(step) for step in given["steps"]]})


PURE = {"dagfile": replay_dagfile, "state": replay_state, "dagster": replay_dagster, "plan": replay_plan}


@pytest.mark.parametrize("path", [p for p in FILES if load(p)["target"] in PURE], ids=lambda p: p.stem)
def test_pure_regression(path: Path) -> None:
    regression = load(path)
    assert regression["bug"] and regression["found_by"]
    PURE[regression["target"]](regression["input"])


# -- server sequences ------------------------------------------------------------------------


def replay_server(session, steps: list[dict]) -> None:
    client = session.client
    for step in steps:
        if "open" in step:
            uri = session.uri(step["open"])
            text = step["text"] if "text" in step else session.text_of(uri) + step["disk_plus"]
            language = "yaml" if step["open"].endswith((".yaml", ".yml")) else "python"
            if uri in session.documents:
                session.change(uri, text)
            else:
                session.open(uri, text, language)
        elif "wait" in step:
            time.sleep(step["wait"])
        elif "expect_task" in step:
            uri = session.uri(step["expect_task"])
            deadline = time.monotonic() + 10
            names: set = set()
            while time.monotonic() < deadline:
                symbols = session.request("documentSymbol", client.text_document_document_symbol_async(
                    types.DocumentSymbolParams(types.TextDocumentIdentifier(uri)))) or []
                names = {c.name for s in symbols for c in (s.children or [])}
                if step["task"] in names:
                    break
                time.sleep(0.05)
            assert step["task"] in names, f"{step['expect_task']} is open, yet its task {step['task']} never shows"
        elif "request" in step:
            identifier = types.TextDocumentIdentifier(session.uri(step["target"]))
            position = types.Position(*step["position"])
            kind = step["request"]
            if kind == "hover":
                session.request(kind, client.text_document_hover_async(types.HoverParams(identifier, position)))
            elif kind == "completion":
                session.request(kind, client.text_document_completion_async(types.CompletionParams(identifier, position)))
            elif kind == "definition":
                session.request(kind, client.text_document_definition_async(types.DefinitionParams(identifier, position)))
            else:
                session.request(kind, client.text_document_code_action_async(types.CodeActionParams(
                    identifier, types.Range(position, position), types.CodeActionContext(diagnostics=[]))))
        elif "resolve" in step:
            action = types.CodeAction(title="fuzz", data={"uri": session.uri("airflow_dags/daily_orders.py"),
                                                          "version": None, **step["resolve"]})
            session.request("codeAction/resolve", client.code_action_resolve_async(action))
        elif "command" in step:
            session.request(step["command"], client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=step["command"], arguments=step.get("arguments"))))
        else:
            raise AssertionError(f"unknown step {step}")


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in FILES if load(p)["target"] == "server"], ids=lambda p: p.stem)
def test_server_regression(path: Path, tmp_path: Path) -> None:
    from tests.fuzz.test_fuzz_server import Session, _workspace

    regression = load(path)
    session = Session(_workspace(tmp_path / "ws"))
    try:
        session.canary(timeout=60)  # indexed: handlers answer from a snapshot
        since = len(session.stderr)
        replay_server(session, regression["input"])
        session.canary(timeout=15)
        time.sleep(0.1)
        session.check(since)
    finally:
        session.stop()
