"""The task's mapping in the Dagster module, where its scaffolded asset goes (``asset``): its list
of ``AssetSpec``s in ``assets_with_task_mappings(...)``, and the top-level statement holding it.
Refused with why when the task is not mapped, mapped twice, not to specs written out, or inside a
function or class; "nothing to do" when the mapping already holds a definition."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper

from analysis.dagster.cst_values import arguments
from analysis.edits.module_calls import ModuleCalls
from analysis.edits.result import EditResult

WHAT = "the Dagster module"


@dataclass(frozen=True, slots=True)
class Mapping:
    """The task's list of assets in ``task_mappings``, and the statement that holds it."""

    node: cst.List | cst.Tuple
    specs: tuple[cst.BaseExpression, ...]
    statement: cst.BaseStatement


class _Finder(ModuleCalls):
    """The module's ``assets_with_task_mappings`` calls and the Dagster names it imports."""

    def dagster_name(self, node: cst.CSTNode) -> str | None:
        for name in self.qualified(node):
            if name.split(".")[0] == "dagster":
                return name.rsplit(".", 1)[-1]
        return None


def find_mapping(wrapper: MetadataWrapper, positions, text: str, dag_id: str,
                 task_id: str) -> Mapping | EditResult:
    """The mapping of ``task_id`` of ``dag_id`` in the module ``wrapper`` holds (``positions``:
    its ``PositionProvider``; ``text``: its code), or why the scaffold cannot go there."""
    module, label = wrapper.module, f"task `{task_id}` of DAG `{dag_id}`"
    finder = _Finder()
    with finder.resolve(wrapper):
        module.visit(finder)
        lists = []
        for call in finder.mapping_calls:
            dag_arg, mappings_arg = arguments(call, ("dag_id", "task_mappings"))
            mappings = finder.deref(mappings_arg)
            if finder.string(dag_arg) != dag_id or not isinstance(mappings, cst.Dict):
                continue
            lists.extend(e.value for e in mappings.elements if isinstance(e, cst.DictElement)
                         and finder.string(e.key) == task_id)
        if not lists:
            return EditResult.refuse(f"{label} is not mapped to an asset in {WHAT}: map it first")
        if len(lists) > 1:
            return EditResult.refuse(f"{label} is mapped more than once in {WHAT}")
        node = lists[0]
        if not isinstance(node, (cst.List, cst.Tuple)) or not node.elements:
            return EditResult.refuse(f"the mapping of {label} is not a list of AssetSpecs "
                                     "written out: scaffold it by hand")
        for element in node.elements:
            if not _is_spec(finder, element.value, isinstance(element, cst.StarredElement)):
                code = module.code_for_node(element.value)
                return EditResult.nothing_to_do(
                    text, f"{label} already has a Dagster definition in its mapping (`{code}`)")
    statement = next(s for s in module.body if _contains(positions, s, node))
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return EditResult.refuse(f"the mapping of {label} is inside `{statement.name.value}`:"
                                 " scaffold it by hand")
    return Mapping(node, tuple(node.elements), statement)


def _is_spec(finder: _Finder, node: cst.BaseExpression, starred: bool, depth: int = 0) -> bool:
    if depth > 8:
        return False
    target = finder.deref(node)
    if starred:
        return isinstance(target, (cst.List, cst.Tuple)) and all(
            _is_spec(finder, e.value, isinstance(e, cst.StarredElement), depth + 1) for e in target.elements)
    if not isinstance(target, cst.Call):
        return False
    if finder.dagster_name(target.func) == "AssetSpec":
        return True
    return isinstance(target.func, cst.Attribute) and target.func.attr.value in (
        "replace_attributes", "merge_attributes", "with_io_manager_key") and \
        _is_spec(finder, target.func.value, False, depth + 1)


def _contains(positions, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
    a, b = positions[outer], positions[inner]
    return (a.start.line, a.start.column) <= (b.start.line, b.start.column) and \
        (b.end.line, b.end.column) <= (a.end.line, a.end.column)
