"""Complete DAG and task ids where a migration file names them."""

from __future__ import annotations

import re

from lsprotocol import types

from analysis.describe import task_status
from analysis.facts import Position
from analysis.project import DagEntry
from analysis.source import split_lines
from analysis.wording import plural
from server.app import AirliftServer
from server.convert import Lines
from server.index import Snapshot, dag_for_state_file

_STATE_ID = re.compile(r"""(?:^|[{,\s])id:\s*["']?(?P<partial>[\w.\-]*)$""")
_DAG_ID_ARG = re.compile(r"""dag_id\s*=\s*["'](?P<partial>[\w.\-]*)$""")
_OPEN_KEY = re.compile(r"""["'](?P<partial>[\w.\-]*)$""")
_DAG_ID_VALUE = re.compile(r"""dag_id\s*=\s*["'](?P<dag>[^"']+)["']""")
_CALL = "assets_with_task_mappings("


def register(server: AirliftServer) -> None:
    @server.feature(types.TEXT_DOCUMENT_COMPLETION,
                    types.CompletionOptions(trigger_characters=['"', "'", " ", "."]))
    def completion(ls: AirliftServer, params: types.CompletionParams) -> types.CompletionList | None:
        snapshot = ls.index.snapshot if ls.index else None
        path = ls.path_of(params.text_document.uri)
        if snapshot is None or path is None:
            return None
        text = ls.document_text(params.text_document.uri)
        if text is None:
            return None  # neither open nor on disk
        position = Lines(text, ls.workspace.position_codec).from_client(params.position)
        items = completions_at(snapshot, path, text, position)
        if items is None:
            return None
        partial, candidates = items
        start = types.Position(params.position.line,
                               params.position.character - ls.workspace.position_codec.client_num_units(partial))
        edit_range = types.Range(start, params.position)
        return types.CompletionList(is_incomplete=False, items=[
            types.CompletionItem(label=label, kind=kind, detail=detail, filter_text=label,
                                 text_edit=types.TextEdit(edit_range, label))
            for label, kind, detail in candidates
        ])


def completions_at(snapshot: Snapshot, path: str, text: str, position: Position):
    """What to complete at a position of a file: the part of an id typed before it, and the
    candidates (label, kind, detail); None where no DAG or task id goes. Lines end as LSP
    ends them (``\\n``, ``\\r\\n``, ``\\r``)."""
    lines = split_lines(text)
    if not 0 <= position.line < len(lines):
        return None
    prefix = lines[position.line][: position.character]
    if path.endswith((".yaml", ".yml")):
        return _state_items(snapshot, path, prefix)
    if path.endswith(".py"):
        return _mapping_items(snapshot, "\n".join(lines[: position.line] + [prefix]))
    return None


def _state_items(snapshot: Snapshot, path: str, prefix: str):
    match = _STATE_ID.search(prefix)
    entry = dag_for_state_file(snapshot, path)
    if match is None or entry is None:
        return None
    listed = {t.task_id for t in snapshot.project.states[path].tasks} if path in snapshot.project.states else set()
    return match.group("partial"), [
        (task.task_id, types.CompletionItemKind.Value, f"{task.operator} · {'listed' if task.task_id in listed else 'not listed yet'}")
        for task in entry.dag.tasks if not task.mapped
    ]


def _mapping_items(snapshot: Snapshot, before: str):
    at = before.rfind(_CALL)
    if at < 0 or before.count(")", at) > before.count("(", at) - 1:
        return None
    chunk = before[at:]
    last_line = chunk.rsplit("\n", 1)[-1]
    if (match := _DAG_ID_ARG.search(last_line)) is not None:
        return match.group("partial"), [
            (entry.dag_id, types.CompletionItemKind.Module, plural(len(entry.dag.tasks), "task"))
            for entry in snapshot.project.entries
        ]
    dag = _DAG_ID_VALUE.search(chunk)
    if "task_mappings" not in chunk or dag is None:
        return None
    entry = snapshot.project.entry(dag.group("dag"))
    if entry is None or (match := _OPEN_KEY.search(last_line)) is None:
        return None
    return match.group("partial"), _task_candidates(snapshot, entry)


def _task_candidates(snapshot: Snapshot, entry: DagEntry):
    return [
        (task.task_id, types.CompletionItemKind.Value,
         f"{task.operator} · {task_status(snapshot.project, entry, task).label}")
        for task in entry.dag.tasks
    ]
