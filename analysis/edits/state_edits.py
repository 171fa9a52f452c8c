"""Exact-text edits of proxied-state files: flip ``proxied`` flags, add task entries.

Each function returns the new text. Only the changed scalars are rewritten and new entries
are inserted as whole lines, so comments, key order, quoting, indentation and line endings
survive, and applying the same edit twice changes nothing the second time. A file that does
not load (see ``analysis.state.proxied_state``) is returned unchanged: there is no structure to edit safely.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from analysis.state.proxied_state import content_end, item_start, own_entries
from analysis.state.pyyaml_compat import LINE_BREAK, LINE_BREAKS, PyYamlResolver
from analysis.state.safe_yaml import Constructor, SafeYamlError, compose

_BOOL_FAMILIES = {"true": ("true", "false"), "false": ("true", "false"), "yes": ("yes", "no"),
                  "no": ("yes", "no"), "on": ("on", "off"), "off": ("on", "off")}
_STR = "tag:yaml.org,2002:str"
# A plain id must read as a string to PyYAML (what airlift uses) and to YAML 1.1/1.2 tools
# that differ from it (``y``, ``1e3``, ``0o7``), so every reader agrees on it.
_RESOLVERS = (PyYamlResolver(), VersionedResolver(version=(1, 1)), VersionedResolver(version=(1, 2)))
_PLAIN_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


@dataclass(frozen=True, slots=True)
class _Entry:
    node: MappingNode
    task_id: Any
    id_node: Node | None
    proxied_key: Node | None
    proxied_node: Node | None


class _Layout:
    """The nodes an edit needs, read from text that loads as a mapping."""

    def __init__(self, text: str, root: MappingNode, document: dict, constructor: Constructor):
        self.text = text
        self.entries_by_key = own_entries(root, constructor)
        self.dag_level = "proxied" in document and "tasks" not in document
        self.refcounts = refcounts(root)
        self.tasks_key, tasks = self.entries_by_key.get("tasks", (None, None))
        self.tasks_node = tasks if isinstance(tasks, SequenceNode) else None
        # ``tasks: ''`` or ``tasks: {}``: airlift iterates it and reads no tasks; an edit writes a
        # list there. (``tasks:``/``~`` is None, which airlift cannot iterate: left to the user.)
        value = document.get("tasks")
        self.empty_tasks = tasks if self.tasks_node is None and tasks is not None \
            and isinstance(value, (str, dict)) and not value else None
        self.entries: list[_Entry] = []
        for item in self.tasks_node.value if self.tasks_node is not None else ():
            if not isinstance(item, MappingNode):
                continue
            fields = own_entries(item, constructor)
            id_node = fields.get("id", (None, None))[1]
            proxied_key, proxied_node = fields.get("proxied", (None, None))
            task_id = constructor.construct(id_node) if id_node is not None else None
            self.entries.append(_Entry(item, task_id, id_node, proxied_key, proxied_node))

    @classmethod
    def read(cls, text: str) -> _Layout | None:
        constructor = Constructor()
        try:
            root = compose(text)
            document = constructor.construct(root) if root is not None else None
        except (SafeYamlError, RecursionError):
            return None
        if not isinstance(root, MappingNode) or not isinstance(document, dict):
            return None
        return cls(text, root, document, constructor)

    def owned(self, node: Node, bounds: tuple[int, int]) -> bool:
        """Written once, inside ``bounds``: editing it changes nothing else (no alias, merge)."""
        return self.refcounts[id(node)] == 1 and bounds[0] <= node.start_mark.index <= bounds[1]

    def bool_style(self) -> str | None:
        """The first boolean word the file spells a flag with, to spell new ones alike."""
        for entry in self.entries:
            node = entry.proxied_node
            if isinstance(node, ScalarNode) and node.value.lower() in _BOOL_FAMILIES:
                return node.value
        return None

    def set_flag(self, key: Node, value: Node, bounds: tuple[int, int], proxied: bool,
                 like: str | None) -> tuple[int, int, str] | None:
        if not self.owned(value, bounds):
            return None
        if isinstance(value, ScalarNode) and str(value.tag).endswith(":bool"):
            if Constructor().construct(value) is proxied:
                return None
            start = _token_start(self.text, value)
            return start, value.end_mark.index, _bool_word(proxied, value.value)
        if value.start_mark.index == value.end_mark.index and value.value == "":
            # ``proxied:`` with nothing after: the empty scalar's mark is not at the colon.
            colon = self.text.index(":", content_end(self.text, key)) + 1
            return colon, colon, " " + _bool_word(proxied, like)
        return value.start_mark.index, content_end(self.text, value), _bool_word(proxied, like)

    def append(self, task_ids: list[str], proxied: bool, like: str | None) -> tuple[int, int, str] | None:
        if self.empty_tasks is not None:
            return self.replace_empty(task_ids, proxied, like)
        seq = self.tasks_node
        if seq is None or self.refcounts[id(seq)] != 1:
            return None
        last = seq.value[-1] if seq.value else None
        order, quote = ("id", "proxied"), None
        if isinstance(last, MappingNode):
            keys = [k.value for k, _ in last.value if isinstance(k, ScalarNode)]
            order = tuple(sorted(("id", "proxied"), key=lambda k: keys.index(k) if k in keys else 9))
            id_node = next((v for k, v in last.value if getattr(k, "value", None) == "id"), None)
            quote = getattr(id_node, "style", None)
        flag = _bool_word(proxied, like)

        def fields(task_id: str, separator: str) -> str:
            values = {"id": yaml_scalar(task_id, quote), "proxied": flag}
            return separator.join(f"{key}: {values[key]}" for key in order)

        if seq.flow_style:
            pad = " " if last is not None and self.text[last.start_mark.index + 1: last.start_mark.index + 2] == " " else ""
            new = ", ".join(f"{{{pad}{fields(t, ', ')}{pad}}}" for t in task_ids)
            if last is None:
                at = seq.end_mark.index - 1  # before the closing bracket
                return at, at, new
            return content_end(self.text, last), content_end(self.text, last), ", " + new
        eol = _eol(self.text)
        dash = item_start(self.text, last)
        if self.text[dash:dash + 1] != "-":
            return None
        indent = " " * (dash - line_start(self.text, dash))
        # The gap between the dash and the item's first key ("- id" or "-   id") is kept.
        between = self.text[dash + 1:last.start_mark.index]
        after_dash = between if between.strip(" ") == "" and between else " "
        if isinstance(last, MappingNode) and last.flow_style:
            lines = [f"{indent}-{after_dash}{{{fields(t, ', ')}}}{eol}" for t in task_ids]
        else:
            key_indent = indent + " " * (1 + len(after_dash))
            lines = [f"{indent}-{after_dash}{fields(t, eol + key_indent)}{eol}" for t in task_ids]
        end = content_end(self.text, last)
        line_break = LINE_BREAK.search(self.text, end)
        if line_break is None:
            return len(self.text), len(self.text), eol + "".join(lines).removesuffix(eol)
        return line_break.end(), line_break.end(), "".join(lines)


    def replace_empty(self, task_ids: list[str], proxied: bool, like: str | None) -> tuple[int, int, str] | None:
        """``tasks: ''`` (or ``{}``, or nothing) becomes a block list of the new entries."""
        value, key = self.empty_tasks, self.tasks_key
        if value is None or key is None or self.refcounts[id(value)] != 1 or value.anchor is not None:
            return None
        colon = self.text.index(":", content_end(self.text, key)) + 1
        end = content_end(self.text, value) if value.end_mark.index > value.start_mark.index else colon
        if end < colon:
            return None
        eol, flag = _eol(self.text), _bool_word(proxied, like)
        indent = " " * (key.start_mark.index - line_start(self.text, key.start_mark.index))
        return colon, end, "".join(f"{eol}{indent}  - id: {yaml_scalar(t)}{eol}{indent}    proxied: {flag}"
                                   for t in task_ids)


def set_task_proxied(text: str, task_ids: Iterable[str] | None, proxied: bool) -> str:
    """Set ``proxied`` of the given tasks (None: every task listed in the file).

    A task the file does not list is appended as a new entry in the style of the last one.
    Left unchanged: a DAG-level file (top-level ``proxied:``; the caller decides whether to
    convert it), a file without a ``tasks`` list, an entry without a ``proxied`` key, and a
    flag written through an alias or merge key (editing it would change other entries).
    """
    layout = _Layout.read(text)
    if layout is None or layout.dag_level or (layout.tasks_node is None and layout.empty_tasks is None):
        return text
    wanted = None if task_ids is None else list(dict.fromkeys(task_ids))
    like = layout.bool_style()
    edits, listed = [], set()
    for entry in layout.entries:
        if not isinstance(entry.task_id, str) or (wanted is not None and entry.task_id not in wanted):
            continue
        listed.add(entry.task_id)
        if entry.proxied_node is not None:
            bounds = (entry.node.start_mark.index, content_end(text, entry.node))
            edits.append(layout.set_flag(entry.proxied_key, entry.proxied_node, bounds,
                                         proxied, like))
    missing = [t for t in wanted or () if t not in listed]
    if missing:
        edits.append(layout.append(missing, proxied, like))
    return _apply(text, edits)


def remove_task_entries(text: str, task_ids: Iterable[str]) -> str | None:
    """Remove the entries of these tasks, whole lines at a time (None when an entry does not sit
    on lines of its own, or is written in flow style: it must be removed by hand). Removing
    every entry leaves ``tasks: []`` (airlift's loader refuses ``tasks:`` with nothing)."""
    layout = _Layout.read(text)
    wanted = set(task_ids)
    if layout is None or layout.tasks_node is None:
        return text
    targets = [e for e in layout.entries if e.task_id in wanted]
    if not targets:
        return text
    seq = layout.tasks_node
    if seq.flow_style or layout.refcounts[id(seq)] != 1:
        return None
    edits: list[tuple[int, int, str] | None] = []
    for entry in targets:
        dash = item_start(text, entry.node)
        start = line_start(text, dash)
        end = content_end(text, entry.node)
        line_break = LINE_BREAK.search(text, end)
        stop = line_break.end() if line_break else len(text)
        rest = text[end:line_break.start() if line_break else len(text)]
        if text[dash:dash + 1] != "-" or text[start:dash].strip(" \t") or rest.strip(" \t")[:1] not in ("", "#"):
            return None
        edits.append((start, stop, ""))
    if len(targets) == len(seq.value):
        key = layout.entries_by_key["tasks"][0]
        colon = text.index(":", content_end(text, key)) + 1
        edits.append((colon, colon, " []"))
    return _apply(text, edits)


def set_dag_proxied(text: str, proxied: bool) -> str:
    """Set the top-level ``proxied`` of a DAG-level file; any other file is returned unchanged."""
    layout = _Layout.read(text)
    if layout is None or not layout.dag_level:
        return text
    key, value = layout.entries_by_key["proxied"]
    return _apply(text, [layout.set_flag(key, value, (0, len(text)), proxied, None)])


def switch_level(text: str | None, *, dag_proxied: bool | None, task_ids: Iterable[str] = ()) -> str:
    """The state file at the other level: DAG level (``proxied: <dag_proxied>``) or, with
    ``dag_proxied=None``, task level listing ``task_ids`` unproxied. airlift refuses a file with
    both keys, so the old level goes; the comment lines that head the file stay."""
    eol = _eol(text or "")
    head = []
    for line in (text or "").splitlines(keepends=True):
        if line.strip() and not line.lstrip().startswith("#"):
            break
        head.append(line.rstrip("\r\n") + eol)
    body = new_state_file(task_ids) if dag_proxied is None else f"proxied: {'true' if dag_proxied else 'false'}\n"
    return "".join(head) + body.replace("\n", eol)


def new_state_file(task_ids: Iterable[str]) -> str:
    """A task-level state file listing every task unproxied, sorted by id (as airlift's
    ``dagster-airlift proxy scaffold`` does)."""
    ids = sorted(set(task_ids))
    if not ids:
        return "tasks: []\n"
    return "tasks:\n" + "".join(f"  - id: {yaml_scalar(t)}\n    proxied: false\n" for t in ids)


def yaml_scalar(value: str, quote: str | None = None) -> str:
    """``value`` as a YAML scalar that every reader loads back as this exact string, in the
    requested quoting style (None: plain when safe) where that style can hold it."""
    plain_safe = _PLAIN_ID.fullmatch(value) and all(
        str(r.resolve(ScalarNode, value, (True, False))) == _STR for r in _RESOLVERS)
    if quote is None and plain_safe:
        return value
    if quote == "'" and value.isprintable():
        return "'" + value.replace("'", "''") + "'"
    return '"' + _UNSAFE_IN_DOUBLE_QUOTES.sub(_escape, value) + '"'


# Outside YAML's printable set, or a line break (YAML 1.1 also breaks at U+0085, U+2028 and
# U+2029), or what double quotes must escape anyway.
_UNSAFE_IN_DOUBLE_QUOTES = re.compile(
    '[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|["\\\\]')


def _escape(match: re.Match) -> str:
    char = match.group()
    if char in '"\\':
        return "\\" + char
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def refcounts(root: Node) -> Counter:
    counts: Counter = Counter()
    stack = [root]
    while stack:
        node = stack.pop()
        counts[id(node)] += 1
        if counts[id(node)] > 1 or isinstance(node, ScalarNode):
            continue
        for child in node.value:
            stack.extend(child if isinstance(child, tuple) else (child,))
    return counts


def _token_start(text: str, node: Node) -> int:
    """Skip a scalar's ``&anchor`` and ``!tag`` so that only the word itself is replaced."""
    index = node.start_mark.index
    while index < node.end_mark.index and text[index] in "&!":
        while index < len(text) and text[index] not in " \t" + LINE_BREAKS:
            index += 1
        while index < len(text) and text[index] in " \t":
            index += 1
    return index


def _bool_word(value: bool, like: str | None) -> str:
    """``true``/``false`` spelled like ``like`` (``True``, ``yes``, ``OFF``...)."""
    family = _BOOL_FAMILIES.get((like or "").lower(), ("true", "false"))
    word = family[0] if value else family[1]
    if like and like.isupper():
        return word.upper()
    if like and like[:1].isupper():
        return word.capitalize()
    return word


def line_start(text: str, index: int) -> int:
    """Where the YAML line holding ``index`` starts (PyYAML counts U+2028 etc. as breaks,
    so they decide an entry's indentation)."""
    while index > 0 and text[index - 1] not in LINE_BREAKS:
        index -= 1
    return index


def _eol(text: str) -> str:
    match = LINE_BREAK.search(text)
    return match.group() if match else "\n"


def _apply(text: str, edits: list[tuple[int, int, str] | None]) -> str:
    for start, end, replacement in sorted((e for e in edits if e), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text
