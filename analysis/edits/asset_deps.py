"""Keep a mapped ``AssetSpec``'s ``deps=`` in step with the DAG's edges: a LibCST codemod.

Mapping ``load`` before ``clean`` (with ``extract >> clean >> load``) leaves ``load``'s asset
without a dep on ``clean``'s; mapping ``clean`` later must add it. ``set_asset_deps`` rewrites
the ``deps=`` of ``AssetSpec(...)`` calls written in a DAG's ``task_mappings`` lists (adding the
argument where there is none, removing it when nothing is left) and touches nothing else.
Specs whose deps are not a literal list, or assets that are not inline specs, are left alone:
``analysis.dagster.module`` reads their deps as unknown, so no plan asks for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper

from analysis.dagster.cst_values import StaticReader, arguments
from analysis.dagster.module import key_string
from analysis.edits.bodies_aside import edit_with_bodies_aside
from analysis.edits.layout import string_literal
from analysis.edits.result import EditResult, check_output, parse

WHAT = "the Dagster module"

Key = tuple[str, ...]


class _Specs(StaticReader):
    """The inline ``AssetSpec(...)`` calls of one DAG's task mappings, by (task id, key)."""

    def __init__(self, dag_id: str) -> None:
        super().__init__()
        self.dag_id = dag_id
        self.calls: list[cst.Call] = []
        self.specs: dict[tuple[str, str], cst.Call] = {}
        self.quotes: list[str] = []

    def visit_Call(self, node: cst.Call) -> None:
        if any(name.split(".")[0] == "dagster_airlift" and name.endswith(".assets_with_task_mappings")
               for name in self.qualified(node.func)):
            self.calls.append(node)

    def leave_Module(self, original_node: cst.Module) -> None:
        for call in self.calls:
            dag_arg, mappings_arg = arguments(call, ("dag_id", "task_mappings"))
            mappings = self.deref(mappings_arg)
            if self.string(dag_arg) != self.dag_id or not isinstance(mappings, cst.Dict):
                continue
            for element in mappings.elements:
                task_id = self.string(element.key) if isinstance(element, cst.DictElement) else None
                if task_id is None or not isinstance(element.value, (cst.List, cst.Tuple)):
                    continue
                for item in element.value.elements:
                    spec = item.value
                    if isinstance(item, cst.Element) and isinstance(spec, cst.Call) and any(
                            name.split(".")[0] == "dagster" and name.endswith(".AssetSpec")
                            for name in self.qualified(spec.func)):
                        key = self._key(arguments(spec, ("key",))[0])
                        if key is not None:
                            self.specs[(task_id, key)] = spec

    def _key(self, node: cst.BaseExpression | None) -> str | None:
        node = self.deref(node)
        text = self.string(node)
        if text is not None:
            if isinstance(node, cst.SimpleString):
                self.quotes.append(node.quote)
            return key_string([text])
        if isinstance(node, (cst.List, cst.Tuple)):
            parts = [self.string(e.value) for e in node.elements if isinstance(e, cst.Element)]
            if parts and None not in parts and len(parts) == len(node.elements):
                return key_string(parts)  # type: ignore[arg-type]
        return None


def set_asset_deps(module_text: str, dag_id: str, deps: Mapping[tuple[str, str], Sequence[Key]]) -> EditResult:
    """Set the ``deps=`` of the specs named by (task id, asset key string) to these keys; made with
    the assets' bodies set aside (``edit_with_bodies_aside``: the specs are in the mappings, and
    the keys written import nothing)."""
    return edit_with_bodies_aside(module_text, lambda text: _set_deps(text, dag_id, deps), WHAT)


def _set_deps(module_text: str, dag_id: str, deps: Mapping[tuple[str, str], Sequence[Key]]) -> EditResult:
    module = parse(module_text, WHAT)
    if isinstance(module, str):
        return EditResult.refuse(module)
    reader = _Specs(dag_id)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(reader)
    quote = reader.quotes[0] if reader.quotes and reader.quotes[0] in ('"', "'") else '"'
    replacements: dict[cst.Call, cst.Call] = {}
    for (task_id, key), keys in deps.items():
        spec = reader.specs.get((task_id, key))
        if spec is None:
            return EditResult.refuse(f"the asset `{key}` of task `{task_id}` is not an `AssetSpec(...)` written "
                                     f"in the task_mappings of `{dag_id}`: update its deps by hand")
        replacements[spec] = _with_deps(spec, keys, quote)
    updated = module
    for old, new in replacements.items():
        if not old.deep_equals(new):
            updated = updated.deep_replace(old, new)
    if updated is module:
        return EditResult.nothing_to_do(module_text, "the assets' deps already follow the DAG")
    return check_output(updated.code, WHAT)


def _with_deps(spec: cst.Call, keys: Sequence[Key], quote: str) -> cst.Call:
    args = [a for a in spec.args if not (a.keyword is not None and a.keyword.value == "deps")]
    old = next((a for a in spec.args if a.keyword is not None and a.keyword.value == "deps"), None)
    if not keys:
        if old is None:
            return spec
        return spec.with_changes(args=_commas(args, spec.args))
    value = cst.parse_expression("[" + ", ".join(_key_code(k, quote) for k in dict.fromkeys(keys)) + "]")
    if old is not None:
        return spec.with_changes(args=[a.with_changes(value=value) if a is old else a for a in spec.args])
    new = cst.Arg(keyword=cst.Name("deps"), value=value, equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
    return spec.with_changes(args=_commas([*args, new], spec.args))


def _commas(args: list[cst.Arg], original: Sequence[cst.Arg]) -> list[cst.Arg]:
    """Commas between arguments as the call had them; the last keeps its trailing comma (or not)."""
    trailing = bool(original) and original[-1].comma != cst.MaybeSentinel.DEFAULT
    separator = next((a.comma for a in original[:-1] if isinstance(a.comma, cst.Comma)),
                     cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    result = []
    for index, arg in enumerate(args):
        last = index == len(args) - 1
        if last:
            comma = original[-1].comma if trailing else cst.MaybeSentinel.DEFAULT
        else:
            comma = arg.comma if isinstance(arg.comma, cst.Comma) else separator
        result.append(arg.with_changes(comma=comma))
    return result


def _key_code(key: Key, quote: str) -> str:
    if len(key) == 1:
        return string_literal(key[0], quote)
    return "[" + ", ".join(string_literal(part, quote) for part in key) + "]"
