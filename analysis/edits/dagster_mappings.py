"""Map Airflow tasks to Dagster assets in the Dagster module: a LibCST codemod.

``add_task_mappings`` adds ``"task_id": [AssetSpec(key=..., deps=...)]`` entries to the
``task_mappings`` dict of the module's ``assets_with_task_mappings(dag_id=...)`` call, or, when
the DAG has none yet, a new ``*assets_with_task_mappings(...)`` element to the
``Definitions(assets=[...])`` that ``build_defs_from_airflow_instance`` receives. Names are
recognised by what they import (``import dagster as dg`` means ``dg.AssetSpec``), the dict keeps
its layout, and only the lines that must change do. ``new_module_text`` is the module that the
first mapping of a project creates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, ScopeProvider

from analysis.dagster.cst_values import arguments
from analysis.dagster.module import key_string, read_mappings
from analysis.edits.bodies_aside import edit_with_bodies_aside
from analysis.edits.containers import ContainerWriter
from analysis.edits.imports import Imports, add_imports, alias_for, other_uses
from analysis.edits.layout import Group, NewCode, has_multiline_string, quote_of
from analysis.edits.mapping_code import (
    NewMapping,
    call_doc,
    entry_doc,
    group,
    new_module_text,
)
from analysis.edits.module_calls import ModuleCalls
from analysis.edits.result import EditResult, check_output, parse

WHAT = "the Dagster module"
_DAGSTER = ("dagster",)
_AIRLIFT_CORE = ("dagster_airlift.core",)
_IMPORTED = ("AssetSpec", "Definitions", "DagsterAssetSpec", "DagsterDefinitions", "airlift_")
"""The names these edits may import (``_references``) and the aliases ``alias_for`` gives them:
a body using one stays in view of the edit (dagster-airlift's functions always do)."""


def add_task_mappings(module_text: str | None, dag_id: str,
                      mappings: Sequence[NewMapping]) -> EditResult:
    """Map tasks of ``dag_id`` to new assets; ``module_text=None`` creates the module.

    A task the DAG's ``task_mappings`` already has is left alone (``changed=False`` when that
    leaves nothing to add). Refused, with the reason: a module that does not parse, a mapping
    that cannot be read statically, an asset key the module already defines, no
    ``build_defs_from_airflow_instance`` call to add a new DAG's mappings to, a name the new
    code needs (``AssetSpec``, ...) that the module uses without importing it (importing it
    would give that code a meaning). Where the module binds such a name to something else, the
    new code imports it under another (``DagsterAssetSpec``).
    """
    problem = _invalid_request(dag_id, mappings)
    if problem is not None:
        return EditResult.refuse(problem)
    if not mappings:
        return EditResult.nothing_to_do(module_text, "no task mappings were given")
    if module_text is None:
        return _add_mappings(new_module_text(), dag_id, mappings)
    # the assets' bodies set aside: a large module is edited in a fraction of the time
    return edit_with_bodies_aside(module_text, lambda text: _add_mappings(text, dag_id, mappings), WHAT,
                                  _IMPORTED)


def _add_mappings(text: str, dag_id: str, mappings: Sequence[NewMapping],
                  dag_level: bool = False) -> EditResult:
    module = parse(text, WHAT)
    if isinstance(module, str):
        return EditResult.refuse(module)
    try:
        return _Edit(text, module, dag_id, dag_level=dag_level).apply(mappings)
    except RecursionError:
        return EditResult.refuse(f"{WHAT} nests too deeply to edit")


def add_dag_mapping(module_text: str | None, dag_id: str, asset_key: tuple[str, ...]) -> EditResult:
    """Map a whole DAG to a new asset (dagster-airlift's DAG-level migration): an entry in the
    ``dag_mappings`` dict of the module's ``assets_with_dag_mappings(...)`` call, or a new
    ``*assets_with_dag_mappings(dag_mappings={...})`` element of ``Definitions(assets=[...])``.
    A DAG mapped already is left alone; refusals as ``add_task_mappings``."""
    mapping = NewMapping(dag_id, asset_key)
    problem = _invalid_request(dag_id, [mapping])
    if problem is not None:
        return EditResult.refuse(problem)
    if module_text is None:
        return _add_mappings(new_module_text(), dag_id, [mapping], dag_level=True)
    return edit_with_bodies_aside(
        module_text, lambda text: _add_mappings(text, dag_id, [mapping], dag_level=True), WHAT, _IMPORTED)


def _invalid_request(dag_id: object, mappings: Sequence[NewMapping]) -> str | None:
    if not isinstance(dag_id, str) or not dag_id:
        return "the DAG id must be a non-empty string"
    for mapping in mappings:
        if not isinstance(mapping.task_id, str) or not mapping.task_id:
            return f"a task id of DAG `{dag_id}` is empty"
        for key in (mapping.asset_key, *mapping.deps):
            if isinstance(key, str) or not key or not all(isinstance(p, str) and p for p in key):
                return (f"asset key {key!r} of task `{mapping.task_id}` must be a tuple of "
                        "non-empty strings")
    return None


@dataclass(frozen=True, slots=True)
class _Target:
    """The node that the new code goes into (or, for "wrap", replaces)."""

    kind: str
    """"dict": the DAG's task_mappings; "list": the assets of Definitions; "wrap": assets that
    are not a list literal; "call-assets": a Definitions without assets; "call-defs": a
    build_defs_from_airflow_instance call without defs."""
    node: cst.CSTNode


class _Edit:
    """One parse of the module, one resolution of its metadata (positions, scopes, qualified
    names) for everything the edit reads, and the new code printed into it as rendered."""

    def __init__(self, text: str, module: cst.Module, dag_id: str, *, dag_level: bool = False) -> None:
        self.text = text
        self.dag_id = dag_id
        self.dag_level = dag_level
        self.function = "assets_with_dag_mappings" if dag_level else "assets_with_task_mappings"
        # Freshly parsed and held by nobody else: the defensive deep copy would only cost time.
        self.wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.module = module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.lines = re.split(r"\r\n|\r|\n", text)
        self.imports = Imports(self.module)
        self.unit = self.module.default_indent
        self.newline = self.module.default_newline
        self.new_code = NewCode(text)
        self.writer = ContainerWriter(module, self.positions, self.lines, self.new_code)
        self.needed_imports: list[tuple[str, str, str]] = []

    # -- deciding -------------------------------------------------------------------------------

    def apply(self, mappings: Sequence[NewMapping]) -> EditResult:
        finder = ModuleCalls()
        with finder.resolve(self.wrapper):
            self.module.visit(finder)
            self.quote = quote_of(finder.quotes)
            self.star_imports = finder.star_imports
            dicts = self._mapping_dicts(finder)
            if isinstance(dicts, str):
                return EditResult.refuse(dicts)
            mapped = {finder.string(e.key) for node in dicts for e in node.elements}
            new = group(m for m in mappings if m.task_id not in mapped)
            if not new:
                if self.dag_level:
                    return EditResult.nothing_to_do(self.text, f"DAG `{self.dag_id}` is already mapped as a whole")
                tasks = ", ".join(f"`{t}`" for t in dict.fromkeys(m.task_id for m in mappings))
                return EditResult.nothing_to_do(
                    self.text, f"{tasks} of DAG `{self.dag_id}` already mapped in {WHAT}")
            clash = self._clash(new)
            if clash is not None:
                return EditResult.refuse(clash)
            target = _Target("dict", dicts[0]) if dicts else self._definitions_target(finder)
            if isinstance(target, str):
                return EditResult.refuse(target)
        if target.kind == "dict":  # new keys look like their neighbours
            keys = [e.key for e in target.node.elements if isinstance(e.key, cst.SimpleString)]
            self.quote = keys[0].quote if keys and keys[0].quote in ('"', "'") else self.quote
        names = self._references(target.kind)
        if isinstance(names, str):
            return EditResult.refuse(names)
        entries = [entry_doc(task, specs, names["AssetSpec"], self.quote)
                   for task, specs in new.items()]
        if target.kind == "dict":
            updated = self.writer.insert(target.node, entries, "dict")
        else:
            call = call_doc(names[self.function], None if self.dag_level else self.dag_id, entries, self.quote)
            updated = self._insert_call(target, call, names.get("Definitions"))
        module = self.module.deep_replace(target.node, updated)
        module = add_imports(module, self.needed_imports)
        code = self.new_code.fill(module.code)
        if code is None:
            return EditResult.refuse(f"the edit of {WHAT} lost track of its new code; please report this")
        return check_output(code, WHAT)

    def _mapping_dicts(self, finder: ModuleCalls) -> list[cst.Dict] | str:
        """The literal ``task_mappings`` dicts of this DAG's calls, first one first."""
        dicts = []
        if self.dag_level:
            for call in finder.dag_mapping_calls:
                target = finder.deref(arguments(call, ("dag_mappings",))[0])
                if isinstance(target, cst.Dict) and all(
                        isinstance(e, cst.DictElement) and finder.string(e.key) is not None for e in target.elements):
                    dicts.append(target)
            return dicts
        for call in finder.mapping_calls:
            dag_arg, mappings_arg = arguments(call, ("dag_id", "task_mappings"))
            if finder.string(dag_arg) != self.dag_id:
                continue
            target = finder.deref(mappings_arg)
            line = self._line(call)
            if not isinstance(target, cst.Dict):
                return (f"the task mappings of DAG `{self.dag_id}` (line {line}) are not a dict "
                        "literal: add the mapping by hand")
            if any(isinstance(e, cst.StarredDictElement) or finder.string(e.key) is None
                   for e in target.elements):
                return (f"the task mappings of DAG `{self.dag_id}` (line {line}) have keys that "
                        "cannot be read statically (`**` or computed keys): add the mapping by hand")
            dicts.append(target)
        return dicts

    def _clash(self, new: dict[str, list[NewMapping]]) -> str | None:
        """Dagster rejects two different specs with one key: refuse before writing one."""
        owners = {}
        for mapping in read_mappings(self.wrapper):
            for asset in mapping.assets:
                owners.setdefault(asset.key, (mapping.dag_id, mapping.task_id))
        for task_id, specs in new.items():
            for spec in specs:
                key = key_string(spec.asset_key)
                mine = (self.dag_id, None if self.dag_level else task_id)
                owner = owners.setdefault(key, mine)
                if owner != mine:
                    dag, task = owner
                    where = f"task `{task}` of DAG `{dag}`" if task else f"DAG `{dag}`"
                    return (f"asset `{key}` is already mapped to {where}: an asset key can be "
                            "defined once (map several tasks to one asset with "
                            "assets_with_multiple_task_mappings)")
        return None

    def _definitions_target(self, finder: ModuleCalls) -> _Target | str:
        calls = finder.build_defs_calls
        if not calls:
            return (f"{WHAT} has no `build_defs_from_airflow_instance(...)` call to add the "
                    f"mappings of DAG `{self.dag_id}` to")
        if len(calls) > 1:
            lines = ", ".join(str(self._line(c)) for c in calls)
            return (f"{WHAT} calls `build_defs_from_airflow_instance` more than once (lines {lines}): "
                    f"add the mappings of DAG `{self.dag_id}` by hand")
        build_defs = calls[0]
        defs_arg = next((a.value for a in build_defs.args
                         if a.keyword is not None and a.keyword.value == "defs"), None)
        if defs_arg is None:
            return _Target("call-defs", build_defs)
        definitions = finder.deref(defs_arg)
        if not finder.is_definitions(definitions):
            return (f"the `defs=` of `build_defs_from_airflow_instance` (line {self._line(defs_arg)}) "
                    f"is not a `Definitions(...)` call: add the mappings of `{self.dag_id}` by hand")
        (assets,) = arguments(definitions, ("assets",))
        if assets is None:
            return _Target("call-assets", definitions)
        target = finder.deref(assets)
        if isinstance(target, cst.List):
            return _Target("list", target)
        if has_multiline_string(assets):  # moving its lines would change the string
            return (f"the assets of `Definitions(...)` (line {self._line(assets)}) are not a list "
                    f"literal: add the mappings of `{self.dag_id}` by hand")
        return _Target("wrap", assets)

    # -- names ----------------------------------------------------------------------------------

    def _references(self, kind: str) -> dict[str, str] | str:
        """How the new code spells each name it uses, or why it cannot use one. A name the
        module does not import yet is imported; under another name when the module uses its
        own for something else, since importing it would change what that code means."""
        wanted = [(_DAGSTER, "AssetSpec")]
        if kind != "dict":
            wanted.append((_AIRLIFT_CORE, self.function))
        if kind == "call-defs":
            wanted.append((_DAGSTER, "Definitions"))
        references = {}
        for sources, name in wanted:
            reference = self.imports.reference(sources, name)
            if reference is None:
                source = sources[0]
                bound, unbound = other_uses(self.wrapper.resolve(ScopeProvider), self.module,
                                            self.text, source, name)
                if unbound and not bound and not self.star_imports:
                    line = min(self._line(node) for node in unbound)
                    return (f"line {line} of {WHAT} uses `{name}` without importing or defining "
                            f"it (a NameError when that line runs): add `from {source} import "
                            f"{name}` yourself first, as importing it for the new mapping would "
                            "change what that line does")
                reference = alias_for(source, name, self.text) if bound or unbound else name
                self.needed_imports.append((source, name, reference))
            references[name] = reference
        return references

    # -- writing --------------------------------------------------------------------------------

    def _insert_call(self, target: _Target, call: Group, definitions: str | None) -> cst.CSTNode:
        if target.kind == "list":
            return self.writer.insert(target.node, [call], "list")
        if target.kind == "wrap":  # `assets=load_assets(...)` -> `assets=[*load_assets(...), *...]`
            code = self.module.code_for_node(target.node)
            # one level deeper, as an element of the new list (safe: no multi-line string)
            lines = re.split(r"(\r\n|\r|\n)", code)
            code = "".join(self.unit + part if i and i % 2 == 0 and part.strip() else part
                           for i, part in enumerate(lines))
            return self.writer.expression_at(Group("[", ("*" + code, call), "]", broken=True), target.node)
        assets = Group("assets=[", (call,), "]", broken=True)
        if target.kind == "call-assets":
            return self.writer.insert(target.node, [assets], "call")
        definitions = Group(f"defs={definitions}(", (assets,), ")", broken=True)
        return self.writer.insert(target.node, [definitions], "call")

    def _line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line
