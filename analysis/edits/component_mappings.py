"""Add task and DAG mappings to a dagster-airlift component's ``defs.yaml``.

The text is spliced at node positions (as ``state_edits`` does for state files), never
re-dumped: comments, quoting, key order and line endings stay. New entries go at the end of the
list they join, indented like its last item; a missing ``mappings``, ``task_mappings`` or
``assets`` key is added at the end of its mapping. What cannot be extended safely is refused
with the reason: an anchored or aliased node (the edit would change other places), a flow-style
list that is not empty, a templated ``dag_id``/``task_id`` that would have to be evaluated to
know whether it is the one to extend. The result is read back: it must hold the new mapping.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from analysis.dagster.component import ComponentYaml, is_template, parse_component
from analysis.dagster.module import key_string
from analysis.edits.mapping_code import NewMapping
from analysis.edits.result import EditResult
from analysis.edits.state_edits import line_start, refcounts, yaml_scalar
from analysis.state.proxied_state import content_end
from analysis.state.pyyaml_compat import LINE_BREAK

_Splice = tuple[int, int, str]


def add_component_task_mappings(text: str | None, dag_id: str, mappings: Sequence[NewMapping]) -> EditResult:
    """Map each task to an asset spec (``spec: {key:, deps:}``) under the DAG's entry."""
    def task_item(new: NewMapping) -> dict:
        spec: dict = {"key": key_string(new.asset_key)}
        if new.deps:
            spec["deps"] = [key_string(d) for d in new.deps]
        return {"task_id": new.task_id, "assets": [{"spec": spec}]}

    return _edit(text, dag_id, "task_mappings", [task_item(m) for m in mappings],
                 lambda module: all(module.assets_for(dag_id, m.task_id) for m in mappings))


def add_component_dag_mapping(text: str | None, dag_id: str, asset_key: tuple[str, ...]) -> EditResult:
    """Map the whole DAG to an asset spec (the entry's ``assets``)."""
    return _edit(text, dag_id, "assets", [{"spec": {"key": key_string(asset_key)}}],
                 lambda module: bool(module.assets_for(dag_id, None)))


def _edit(text: str | None, dag_id: str, field: str, items: list[dict], done) -> EditResult:
    if not text:
        return EditResult.refuse("the component's defs.yaml is gone or empty: nothing to add the mapping to")
    try:
        component = ComponentYaml(text)
    except ValueError as error:
        return EditResult.refuse(f"cannot edit the component: {error}")
    before = parse_component("defs.yaml", text)
    if done(before):
        return EditResult.nothing_to_do(text, "already mapped in the component")
    try:
        splice = _Editor(component).splice(dag_id, field, items)
    except (ValueError, IndexError, TypeError):  # a layout the splices do not know (`? key`, ...)
        splice = "the YAML around the mappings is laid out in a way this edit does not know: add the mapping by hand"
    if isinstance(splice, str):
        return EditResult.refuse(splice)
    start, end, new = splice
    result = text[:start] + new + text[end:]
    after = parse_component("defs.yaml", result)
    if after.error or not done(after) or len(after.mappings) < len(before.mappings):
        return EditResult.refuse("the edited defs.yaml would not read back with the new mapping: "
                                 "add it by hand")
    return EditResult.done(result)


class _Editor:
    def __init__(self, component: ComponentYaml) -> None:
        self.c = component
        self.text = component.text
        line_break = LINE_BREAK.search(self.text)
        self.eol = line_break.group() if line_break else "\n"
        self.refcounts = refcounts(component.root) if component.root is not None else Counter()

    def shared(self, node: Node | None) -> bool:
        """Anchored or aliased (or merged in with ``<<``): an edit there changes other places."""
        return node is not None and (self.refcounts[id(node)] > 1 or node.anchor is not None)

    def refusal(self, node: Node, what: str) -> str:
        if self.shared(node):
            return (f"{what} is written through a YAML anchor or alias: an edit there would change every "
                    "place that uses it; add the mapping by hand")
        return f"{what} is written in flow style ({{...}} or [...]): add the mapping by hand"

    def splice(self, dag_id: str, field: str, items: list[dict]) -> _Splice | str:
        c = self.c
        if not isinstance(c.attributes, MappingNode):
            return "the component has no `attributes:` mapping to add `mappings` to"
        if c.attributes.flow_style or self.shared(c.attributes):
            return self.refusal(c.attributes, "`attributes`")
        entry_value = {"dag_id": dag_id, field: items}
        if c.mappings_key is None:
            return self.add_key(c.attributes, "mappings", [entry_value])
        if self.shared(c.mappings):
            return self.refusal(c.mappings, "`mappings`")
        if not isinstance(c.mappings, SequenceNode):
            if c.value(c.mappings) not in (None, "", {}):
                return "`mappings` is not a list"
            return self.replace_empty(c.mappings_key, c.mappings, [entry_value])
        for item, fields in c.dag_entries():
            value = c.value(fields.get("dag_id", (None, None))[1])
            if is_template(value):
                return (f"the mappings hold a templated dag_id ({value}) that Dagster evaluates at load: "
                        f"add the mapping of `{dag_id}` by hand")
        entry = next((item for item, fields in c.dag_entries()
                      if c.value(fields.get("dag_id", (None, None))[1]) == dag_id), None)
        if entry is None:
            return self.append(c.mappings_key, c.mappings, [entry_value])
        if entry.flow_style or self.shared(entry):
            return self.refusal(entry, f"the entry of `{dag_id}`")
        fields = c.fields(entry)
        if field not in fields:
            return self.add_key(entry, field, items)
        key, target = fields[field]
        if self.shared(target):
            return self.refusal(target, f"`{field}` of `{dag_id}`")
        if field == "task_mappings" and isinstance(target, SequenceNode):
            for task in target.value:
                task_id = c.value(c.fields(task).get("task_id", (None, None))[1]) \
                    if isinstance(task, MappingNode) else None
                if is_template(task_id):
                    return (f"`{dag_id}` has a templated task_id ({task_id}) that Dagster evaluates at load: "
                            "add the mapping by hand")
        if isinstance(target, SequenceNode):
            return self.append(key, target, items)
        if c.value(target) not in (None, "", {}):
            return f"`{field}` of `{dag_id}` is not a list"
        return self.replace_empty(key, target, items)

    # -- splices ---------------------------------------------------------------------------------

    def append(self, key: Node, seq: SequenceNode, items: list[dict]) -> _Splice | str:
        """New items after the last one of a block list (an empty ``[]`` becomes a block list)."""
        if not seq.value:
            return self._replace_flow_empty(seq, items, key)
        if seq.flow_style:
            return "a list written in flow style ([...]) cannot be extended keeping its layout: add the entry by hand"
        last = seq.value[-1]
        dash = self._dash(last)
        if dash is None:
            return "the list's last item is not on a `- ` line of its own"
        indent = dash - line_start(self.text, dash)
        return self._after_line(content_end(self.text, last), self._items(items, indent))

    def add_key(self, mapping: MappingNode, key: str, value: list[dict]) -> _Splice | str:
        """``key:`` with a block list, added as the mapping's last key."""
        if mapping.flow_style or not mapping.value:
            return self.refusal(mapping, "the mapping to add a key to")
        first_key = mapping.value[0][0]
        indent = first_key.start_mark.index - line_start(self.text, first_key.start_mark.index)
        if self.text[line_start(self.text, first_key.start_mark.index):first_key.start_mark.index].strip(" -"):
            return "the mapping's keys do not start their lines"
        lines = [" " * indent + f"{key}:" + self.eol, *self._items(value, indent + 2)]
        return self._after_line(content_end(self.text, mapping), lines)

    def replace_empty(self, key: Node, value: Node, items: list[dict]) -> _Splice | str:
        """``key:`` / ``key: []`` / ``key: ~`` becomes ``key:`` and a block list."""
        if isinstance(value, SequenceNode) and value.flow_style:
            return self._replace_flow_empty(value, items, key)
        colon = self.text.index(":", content_end(self.text, key)) + 1
        end = content_end(self.text, value) if value.end_mark.index > value.start_mark.index else colon
        if end < colon:
            return "cannot find the value after the key"
        indent = key.start_mark.index - line_start(self.text, key.start_mark.index)
        return colon, end, self.eol + "".join(self._items(items, indent + 2)).removesuffix(self.eol)

    def _replace_flow_empty(self, seq: SequenceNode, items: list[dict], key: Node) -> _Splice:
        colon = self.text.index(":", content_end(self.text, key)) + 1
        indent = key.start_mark.index - line_start(self.text, key.start_mark.index)
        return colon, seq.end_mark.index, self.eol + "".join(self._items(items, indent + 2)).removesuffix(self.eol)

    def _after_line(self, end: int, lines: list[str]) -> _Splice:
        line_break = LINE_BREAK.search(self.text, end)
        if line_break is None:
            return len(self.text), len(self.text), self.eol + "".join(lines).removesuffix(self.eol)
        return line_break.end(), line_break.end(), "".join(lines)

    def _dash(self, node: Node) -> int | None:
        index = node.start_mark.index
        while index > 0 and self.text[index - 1] in " \t":
            index -= 1
        return index - 1 if index > 0 and self.text[index - 1] == "-" else None

    def _items(self, items: list[dict], indent: int) -> list[str]:
        lines: list[str] = []
        for item in items:
            lines.extend(_block_item(item, indent, self.eol))
        return lines


def _block_item(value: dict, indent: int, eol: str) -> list[str]:
    """``- key: value`` lines of one list item (dicts and lists nest in block style; a list of
    strings is written in flow style, like ``deps: [a/b]``)."""
    lines = _block_mapping(value, indent + 2, eol)
    lines[0] = " " * indent + "- " + lines[0][indent + 2:]
    return lines


def _block_mapping(value: dict, indent: int, eol: str) -> list[str]:
    lines = []
    pad = " " * indent
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:{eol}")
            lines.extend(_block_mapping(item, indent + 2, eol))
        elif isinstance(item, list) and all(isinstance(i, str) for i in item):
            lines.append(f"{pad}{key}: [{', '.join(_key_scalar(i) for i in item)}]{eol}")
        elif isinstance(item, list):
            lines.append(f"{pad}{key}:{eol}")
            for element in item:
                lines.extend(_block_item(element, indent + 2, eol))
        else:
            lines.append(f"{pad}{key}: {_key_scalar(item) if key == 'key' else yaml_scalar(item)}{eol}")
    return lines


def _key_scalar(key: str) -> str:
    """An asset key ``a/b`` plain when each part is (a ``/`` has no meaning in a plain scalar)."""
    parts = key.split("/")
    if len(parts) > 1 and all(part and yaml_scalar(part) == part for part in parts):
        return key
    return yaml_scalar(key)
