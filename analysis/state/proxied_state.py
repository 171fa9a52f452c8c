"""Proxied-state files (``proxied_state/<dag_id>.yaml``), judged as dagster-airlift judges them.

``load_proxied_state_from_yaml`` reads *every* ``.yaml``/``.yml`` file of the folder with
``yaml.safe_load`` and raises on the first one it dislikes, so one bad file breaks the import
of every DAG file that loads that folder. Its rules, mirrored here in the order it applies
them: the document is a mapping; it has ``tasks`` or ``proxied``, never both; ``tasks`` is
iterated, each entry a mapping with exactly the keys ``id`` and ``proxied``, ``proxied`` ``in
[True, False]`` (so ``0``/``1`` pass), ``id`` hashable; a top-level ``proxied`` is ``in [True,
False, None]``. Then ``proxying_to_dagster`` fails the DAG's import when a listed task id is
not one of the DAG's task ids, which a non-string id never is.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Hashable
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from analysis.facts import Finding, Position, Range, Severity
from analysis.state.pyyaml_compat import LINE_BREAKS
from analysis.state.safe_yaml import Constructor, SafeYamlError, compose, flattened_pairs

CODE = "invalid-proxied-state"


@dataclass(frozen=True, slots=True)
class TaskState:
    task_id: str
    proxied: bool
    range: Range
    """The whole ``- id: ...`` item, from its dash (block style) or brace (flow style)."""
    id_range: Range
    proxied_range: Range


@dataclass(frozen=True, slots=True)
class StateFile:
    path: str
    dag_id: str
    """The file's stem, as airlift names the DAG it applies to."""
    dag_proxied: bool | None = None
    """DAG-level state. airlift tests ``proxied is False``, so ``proxied: 0`` means True."""
    tasks: tuple[TaskState, ...] = ()
    """Every entry with a string id, in file order (a repeated id appears twice)."""
    error: str | None = None
    """What airlift will do with this file when it fails: one sentence."""
    error_range: Range | None = None
    breaks_folder: bool = False
    """The error makes ``load_proxied_state_from_yaml`` raise: every DAG that loads this
    folder fails to import, not only this file's DAG."""
    warnings: tuple[Finding, ...] = ()
    """What airlift accepts but probably not as meant (duplicate keys, ``proxied: 1``, ...)."""
    proxied_range: Range | None = None
    """The top-level ``proxied`` value of a DAG-level file."""

    def task(self, task_id: str) -> TaskState | None:
        """The entry airlift uses for a task: the last one when the id is repeated."""
        found = None
        for task in self.tasks:
            if task.task_id == task_id:
                found = task
        return found

    @property
    def is_dag_level(self) -> bool:
        return self.dag_proxied is not None


class LineIndex:
    """Code-point offsets to LSP positions; lines end at ``\\n``, ``\\r\\n`` or ``\\r`` only
    (YAML 1.1 also breaks at U+0085, U+2028 and U+2029, LSP does not)."""

    __slots__ = ("_starts",)

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def position(self, index: int) -> Position:
        line = bisect.bisect_right(self._starts, index) - 1
        return Position(line, index - self._starts[line])

    def range(self, start: int, end: int) -> Range:
        return Range(self.position(start), self.position(end))


def content_end(text: str, node: Node) -> int:
    """Where a node's own text ends. A block collection's end mark is the start of the next
    token, possibly lines later; an alias's node is the anchored one, written earlier."""
    if isinstance(node, ScalarNode) or node.flow_style or not node.value:
        return node.end_mark.index
    if isinstance(node, MappingNode):
        key, value = node.value[-1]
        if value.start_mark.index < key.end_mark.index:
            return _alias_end(text, text.find(":", key.end_mark.index) + 1)
        return content_end(text, value)
    last = node.value[-1]
    if last.start_mark.index < node.start_mark.index:
        return _alias_end(text, text.rfind("-", 0, node.end_mark.index) + 1)
    return content_end(text, last)


_ALIAS_AFTER = re.compile(f"[ \t{LINE_BREAKS}]*(\\*[^ \t{LINE_BREAKS},\\]}}]+)")


def _alias_end(text: str, index: int) -> int:
    """The end of the ``*alias`` that follows ``index`` (past spaces and line breaks)."""
    match = _ALIAS_AFTER.match(text, index)
    return match.end(1) if match else index


def item_start(text: str, node: Node) -> int:
    """The dash of a block-sequence item, or the node's start when there is none."""
    index = node.start_mark.index
    before = index
    while before > 0 and text[before - 1] in " \t" + LINE_BREAKS:
        before -= 1
    if before > 0 and text[before - 1] == "-":
        return before - 1
    return index


class _Refused(Exception):
    """airlift's loader raises: ``reason`` says why, at ``start``..``end`` of the text."""

    def __init__(self, reason: str, start: int, end: int) -> None:
        super().__init__(reason)
        self.reason, self.start, self.end = reason, start, end


def describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    names = {list: "a list", dict: "a mapping", set: "a set", bytes: "binary data"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"  # date, datetime


def own_entries(node: MappingNode, constructor: Constructor) -> dict[Any, tuple[Node, Node]]:
    """Each key's effective (key node, value node): merges applied, the last duplicate wins."""
    entries: dict[Any, tuple[Node, Node]] = {}
    for key_node, value_node in flattened_pairs(node):
        entries[constructor.key(key_node)] = (key_node, value_node)
    return entries


def parse_state_file(path: str, text: str) -> StateFile:
    """Judge one state file's text; never raises."""
    dag_id = PurePath(path).stem
    folder = PurePath(path).parent.name or "."
    lines = LineIndex(text)
    try:
        return _Judge(path, dag_id, text, lines).run()
    except _Refused as refused:
        return StateFile(
            path, dag_id,
            error=(f"dagster-airlift will refuse this file: {refused.reason}; every DAG that "
                   f"loads {folder}/ fails to import"),
            error_range=lines.range(refused.start, refused.end), breaks_folder=True)


class _Judge:
    def __init__(self, path: str, dag_id: str, text: str, lines: LineIndex) -> None:
        self.path, self.dag_id, self.text, self.lines = path, dag_id, text, lines
        self.constructor = Constructor()
        self.warnings: list[Finding] = []

    def line_of(self, node: Node) -> int:
        return self.lines.position(node.start_mark.index).line + 1

    def span(self, node: Node) -> Range:
        return self.lines.range(node.start_mark.index, content_end(self.text, node))

    def token_end(self, start: int, end: int | None) -> int:
        """Where to end a squiggle: the known end on the same line, else the word at ``start``
        (at least one character, so that a tab or a bracket is visible)."""
        line_break = re.compile(r"\r|\n").search(self.text, start)
        line_end = line_break.start() if line_break else len(self.text)
        if end is None:
            end = start
            while end < line_end and self.text[end] not in " \t,[]{}":
                end += 1
        return min(max(end, start + 1), line_end) if start < line_end else start

    def refuse(self, reason: str, node: Node) -> _Refused:
        """Point at the node's first line only: a whole list squiggled helps nobody."""
        start = node.start_mark.index
        return _Refused(reason, start, self.token_end(start, content_end(self.text, node)))

    def warn(self, node: Node, message: str) -> None:
        self.warnings.append(Finding(CODE, Severity.WARNING, message, self.path, self.span(node)))

    def run(self) -> StateFile:
        try:
            root = compose(self.text)
            document = self.constructor.construct(root) if root is not None else None
        except SafeYamlError as error:
            at = min(error.index, len(self.text))
            line = self.lines.position(at).line + 1
            hint = " (YAML forbids tabs for indentation)" if "'\\t'" in error.message else ""
            raise _Refused(f"it is not valid YAML at line {line}: {error.message}{hint}",
                           at, self.token_end(at, error.end)) from None
        except RecursionError:
            raise _Refused("it nests or merges into itself too deeply to load", 0, 0) from None
        if document is None:
            raise _Refused("it is empty (expected a mapping with `tasks` or `proxied`)", 0, 0)
        if not isinstance(document, dict):
            raise self.refuse(f"it is {describe(document)}, not a mapping with `tasks` or "
                              "`proxied`", root)
        entries = own_entries(root, self.constructor)
        self.warn_duplicates(root, "at the top level")
        if "tasks" not in document and "proxied" not in document:
            raise self.refuse("it has neither a `tasks` nor a `proxied` top-level key", root)
        if "tasks" in document and "proxied" in document:
            later = max(entries["tasks"][0], entries["proxied"][0], key=lambda n: n.start_mark.index)
            raise self.refuse("it has both `tasks` and `proxied` at the top level (airlift "
                              "allows only one)", later)
        for key, (key_node, value_node) in entries.items():
            # An anchored value is a merge source (``defaults: &d``), ignored on purpose.
            if key not in ("tasks", "proxied") and value_node.anchor is None:
                self.warn(key_node, f"top-level key {key!r} is ignored by dagster-airlift")
        tasks, error, error_range = (), None, None
        if "tasks" in document:
            tasks, error, error_range = self.judge_tasks(document["tasks"], *entries["tasks"])
        dag_proxied, proxied_range = None, None
        if "proxied" in document:
            dag_proxied, proxied_range = self.judge_dag_proxied(document["proxied"],
                                                                *entries["proxied"])
        return StateFile(self.path, self.dag_id, dag_proxied, tasks, error, error_range,
                         False, tuple(self.warnings), proxied_range)

    def judge_tasks(self, value: Any, key_node: Node,
                    node: Node) -> tuple[tuple[TaskState, ...], str | None, Range | None]:
        if not hasattr(value, "__iter__"):
            raise self.refuse(f"`tasks` is {describe(value)}, not a list of `id`/`proxied` "
                              "entries", node if node.end_mark.index > node.start_mark.index
                              else key_node)
        items = node.value if isinstance(node, SequenceNode) and isinstance(value, list) else None
        if items is None and value:
            raise self.refuse(f"`tasks` is {describe(value)}, not a list of `id`/`proxied` "
                              "entries", node)
        if items is None:
            self.warn(node, f"`tasks` is {describe(value)}: dagster-airlift reads it as no tasks")
            return (), None, None
        states: list[TaskState] = []
        seen: dict[str, int] = {}
        dag_error: tuple[str, Range] | None = None
        for item_node, entry in zip(items, value):
            line = self.line_of(item_node)
            if not isinstance(entry, dict):
                raise self.refuse(f"task entry at line {line} is {describe(entry)}, not a mapping "
                                  "with `id` and `proxied`", item_node)
            fields = own_entries(item_node, self.constructor)
            self.warn_duplicates(item_node, f"in the task entry at line {line}")
            extra = [k for k in fields if k not in ("id", "proxied")]
            missing = [k for k in ("id", "proxied") if k not in fields]
            if extra:
                listed = ", ".join(f"`{k}`" for k in extra)
                raise self.refuse(f"task entry at line {line} has key {listed} (expected exactly "
                                  "`id` and `proxied`)", fields[extra[0]][0])
            if missing:
                raise self.refuse(f"task entry at line {line} has no `{missing[0]}` (expected "
                                  "exactly `id` and `proxied`)", item_node)
            (_, id_node), (_, proxied_node) = fields["id"], fields["proxied"]
            task_id, proxied = entry["id"], entry["proxied"]
            if proxied not in [True, False]:
                raise self.refuse(f"`proxied` of the task entry at line {line} is "
                                  f"{describe(proxied)}, not true or false", proxied_node)
            if not isinstance(task_id, Hashable):
                raise self.refuse(f"task entry at line {line} has {describe(task_id)} as its id",
                                  id_node)
            if not isinstance(proxied, bool):
                self.warn(proxied_node, f"`proxied: {proxied_node.value}` is a number: "
                          f"dagster-airlift reads it as {str(bool(proxied)).lower()}; write "
                          f"`{str(bool(proxied)).lower()}`")
            if not isinstance(task_id, str):
                if dag_error is None:
                    dag_error = (f"dagster-airlift will fail to import DAG `{self.dag_id}`: the "
                                 f"task entry at line {line} has the id {id_node.value}, which "
                                 f"YAML reads as {describe(task_id)} and no Airflow task id "
                                 f"equals; quote it: `id: \"{id_node.value}\"`", self.span(id_node))
                continue
            if task_id in seen:
                self.warn(id_node, f"task `{task_id}` is listed again (first at line "
                                   f"{seen[task_id]}): dagster-airlift uses this last entry")
            seen[task_id] = line
            states.append(TaskState(
                task_id, bool(proxied),
                self.lines.range(item_start(self.text, item_node), content_end(self.text, item_node)),
                self.span(id_node), self.span(proxied_node)))
        return tuple(states), *(dag_error or (None, None))

    def judge_dag_proxied(self, value: Any, key_node: Node,
                          node: Node) -> tuple[bool | None, Range]:
        if value not in [True, False, None]:
            raise self.refuse(f"top-level `proxied` is {describe(value)}, not true, false or null",
                              node)
        if value is not None and not isinstance(value, bool):
            # airlift skips a DAG only when ``proxied is False``: 0 proxies the whole DAG.
            self.warn(node, f"`proxied: {node.value}` is a number, and dagster-airlift "
                            "proxies the whole DAG unless it is exactly `false`; write "
                            f"`{'false' if not value else 'true'}`")
        if value is None:
            self.warn(key_node, "`proxied: null` makes this a task-level file with no tasks: "
                                "nothing is proxied")
            return None, self.span(key_node if node.value == "" else node)
        return value is not False, self.span(node)

    def warn_duplicates(self, node: MappingNode, where: str) -> None:
        first: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, ScalarNode) or str(key_node.tag).endswith(":merge"):
                continue
            key = self.constructor.key(key_node)
            if key in first:
                self.warn(key_node, f"duplicate key {key!r} {where} (first at line "
                                    f"{self.line_of(first[key])}): PyYAML keeps this last one")
            else:
                first[key] = key_node
