"""Decommission a DAG in the Dagster module: a LibCST codemod.

The DAG's ``*assets_with_task_mappings(dag_id=...)`` element (or its entry of
``assets_with_dag_mappings``, the other DAGs' entries kept) leaves the ``Definitions``; the
assets it listed stay in that list as plain assets, run by a new asset job with the DAG's
schedule (``ScheduleDefinition``) and retries (``RetryPolicy``), defined just above the
statement that builds the ``Definitions`` and passed to it (``jobs=``, ``schedules=``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import RemoveImportsVisitor
from libcst.metadata import MetadataWrapper, ParentNodeProvider

from analysis.dagster.cst_values import StaticReader, arguments
from analysis.edits.bodies_aside import edit_with_bodies_aside
from analysis.edits.imports import Imports, add_imports, alias_for
from analysis.edits.layout import LINE_WIDTH, closing_whitespace, insert_elements, string_literal
from analysis.edits.pause_dag import append_keyword
from analysis.edits.result import EditResult, check_output, parse

WHAT = "the Dagster module"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")
_IMPORTED = ("AssetKey", "define_asset_job", "RetryPolicy", "ScheduleDefinition", "DagsterAssetKey",
             "dagster_define_asset_job", "DagsterRetryPolicy", "DagsterScheduleDefinition")
"""The names the job's code may import and the aliases ``alias_for`` gives them: a body naming
one stays in view of the edit (as one naming ``Definitions`` does for every edit,
``analysis.dagster.bodies``: the job goes into the one ``Definitions(...)``)."""


@dataclass(frozen=True, slots=True)
class NewJob:
    """The Dagster job and schedule that take over the DAG."""

    dag_id: str
    asset_keys: tuple[tuple[str, ...], ...]
    cron: str | None
    retries: int | None = None
    retry_delay: float | None = None
    comment: str = ""
    """One line above the job: why it is there."""
    timezone: str | None = None
    """The schedule's ``execution_timezone`` (None: Dagster's default, UTC)."""


def names_for(dag_id: str, text: str) -> tuple[str, str]:
    """Fresh module-level names for the job and its schedule: ``<dag_id>_job``, ``<dag_id>_schedule``
    (also the job's Dagster name; dagster-airlift names its own job of a peered DAG ``<dag_id>``)."""
    base = _NOT_NAME.sub("_", dag_id)
    base = base if base[:1].isalpha() or base[:1] == "_" else f"dag_{base}"
    job, schedule, counter = f"{base}_job", f"{base}_schedule", 1
    while re.search(rf"\b({re.escape(job)}|{re.escape(schedule)})\b", text):
        counter += 1
        job, schedule = f"{base}_job_{counter}", f"{base}_schedule_{counter}"
    return job, schedule


def decommission_dag(text: str, job: NewJob) -> EditResult:
    """The module without the DAG's mappings, its assets kept, and the job (and schedule) added;
    made with the assets' bodies set aside (``edit_with_bodies_aside``): a body naming the job's
    or the schedule's name stays in view, as one naming what the job's code imports."""
    job_name, schedule_name = names_for(job.dag_id, "")
    return edit_with_bodies_aside(text, lambda aside: _decommission(aside, job), WHAT,
                                  (*_IMPORTED, job_name, schedule_name))


def _decommission(text: str, job: NewJob) -> EditResult:
    module = parse(text, WHAT)
    if isinstance(module, str):
        return EditResult.refuse(module)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    finder = _Finder(job.dag_id)
    wrapper.visit(finder)
    parents = wrapper.resolve(ParentNodeProvider)
    if finder.refusal:
        return EditResult.refuse(finder.refusal)
    if not finder.task_calls and not finder.dag_entries:
        return EditResult.refuse(f"{WHAT} maps no task of `{job.dag_id}`")
    replacements: dict[cst.CSTNode, list[cst.BaseElement]] = {}  # starred element -> what takes its place
    removed_entries: set[cst.CSTNode] = set()
    kept: set[cst.CSTNode] = set()  # starred elements that stay, their assets after them
    containers: list[cst.CSTNode] = []
    for call, items in finder.task_calls:
        starred = parents.get(call)
        if not isinstance(starred, cst.StarredElement) or not isinstance(parents.get(starred), (cst.List, cst.Tuple)):
            return EditResult.refuse(f"the assets_with_task_mappings call of `{job.dag_id}` is not a `*...` element "
                                     f"of a list: move its assets into the Definitions by hand")
        replacements[starred] = items
        containers.append(parents[starred])
    for call, entry, items, only in finder.dag_entries:
        removed_entries.add(entry)
        starred = parents.get(call)
        if isinstance(starred, cst.StarredElement) and isinstance(parents.get(starred), (cst.List, cst.Tuple)):
            if not only:  # the other DAGs' entries keep the call: the assets go right after it
                kept.add(starred)
            replacements[starred] = [*replacements.get(starred, []), *items]
            containers.append(parents[starred])
        else:
            return EditResult.refuse(f"the assets_with_dag_mappings call that maps `{job.dag_id}` is not a `*...` "
                                     f"element of a list: move its assets into the Definitions by hand")
    definitions = _enclosing(containers[0], parents, lambda n: any(n is d for d in finder.definitions)) or (
        finder.definitions[0] if len(finder.definitions) == 1 else None)
    if definitions is None:
        return EditResult.refuse(f"no single Definitions(...) in {WHAT} to add the job of `{job.dag_id}` to")
    statement = _enclosing(definitions, parents, lambda n: isinstance(n, cst.SimpleStatementLine)
                           and parents.get(n) is module)
    if statement is None:
        return EditResult.refuse(f"the Definitions(...) of {WHAT} is not built at module level: add the job of "
                                 f"`{job.dag_id}` by hand")

    imports = Imports(module)
    needed: list[tuple[str, str, str]] = []

    def dagster(name: str) -> str:
        spelled = imports.reference(["dagster"], name)
        if spelled is not None:
            return spelled
        local = alias_for("dagster", name, text) if re.search(rf"(?<![\w.]){name}(?!\w)", text) else name
        needed.append(("dagster", name, local))
        return local

    job_name, schedule_name = names_for(job.dag_id, text)
    code = _job_code(job, job_name, schedule_name, dagster)
    new_statements = list(cst.parse_module(code, config=module.config_for_parsing).body)
    comment = [cst.EmptyLine(comment=cst.Comment(f"# {job.comment}"))] if job.comment else []
    new_statements[0] = new_statements[0].with_changes(leading_lines=[*statement.leading_lines, *comment])

    transformer = _Rewrite(replacements, kept, removed_entries, definitions,
                           [job_name] + ([schedule_name] if job.cron else []))
    rewritten = module.visit(transformer)
    index = _statement_index(module, statement)  # the rewrite keeps the module's statements in place
    body = list(rewritten.body)
    body[index] = body[index].with_changes(leading_lines=[cst.EmptyLine()] if statement.leading_lines else [])
    body[index:index] = new_statements
    rewritten = rewritten.with_changes(body=body)
    if needed:
        rewritten = add_imports(rewritten, needed)
    return check_output(_without_orphaned_imports(rewritten).code, WHAT)


def _without_orphaned_imports(module: cst.Module) -> cst.Module:
    """The mapping functions the edit left unused are no longer imported (linters flag them)."""
    context = CodemodContext()
    for source in ("dagster_airlift.core", "dagster_airlift"):
        for name in ("assets_with_task_mappings", "assets_with_dag_mappings"):
            RemoveImportsVisitor.remove_unused_import(context, source, name)
    return RemoveImportsVisitor(context).transform_module(module)


def _statement_index(module: cst.Module, statement: cst.CSTNode) -> int:
    for index, node in enumerate(module.body):
        if node is statement:
            return index
    raise ValueError("statement not at module level")


def _enclosing(node: cst.CSTNode, parents, wanted) -> cst.CSTNode | None:
    while node is not None:
        if wanted(node):
            return node
        node = parents.get(node)
    return None


def _job_code(job: NewJob, job_name: str, schedule_name: str, dagster) -> str:
    keys = [f"{dagster('AssetKey')}([{', '.join(string_literal(p) for p in key)}])" for key in job.asset_keys]
    lines = [f"{job_name} = {dagster('define_asset_job')}(", f"    {string_literal(job_name)},"]
    if len(", ".join(keys)) + 16 <= LINE_WIDTH:
        lines.append(f"    selection=[{', '.join(keys)}],")
    else:
        lines += ["    selection=[", *(f"        {key}," for key in keys), "    ],"]
    if job.retries:
        delay = f", delay={_number(job.retry_delay)}" if job.retry_delay else ""
        lines.append(f"    op_retry_policy={dagster('RetryPolicy')}(max_retries={job.retries}{delay}),")
    lines.append(")")
    if job.cron:
        arguments = [f"job={job_name}", f"cron_schedule={string_literal(job.cron)}"]
        arguments += [f"execution_timezone={string_literal(job.timezone)}"] if job.timezone else []
        line = f"{schedule_name} = {dagster('ScheduleDefinition')}({', '.join(arguments)})"
        lines += [line] if len(line) <= LINE_WIDTH else [
            f"{schedule_name} = {dagster('ScheduleDefinition')}(", *(f"    {a}," for a in arguments), ")"]
    return "\n".join(lines) + "\n"


def _number(value: float | None) -> str:
    return str(int(value)) if value is not None and value == int(value) else repr(value)


class _Finder(StaticReader):
    """The DAG's mapping calls, with the items of their lists (what stays in the Definitions)."""

    def __init__(self, dag_id: str) -> None:
        super().__init__()
        self.dag_id = dag_id
        self.task_calls: list[tuple[cst.Call, list[cst.BaseElement]]] = []
        self.dag_entries: list[tuple[cst.Call, cst.DictElement, list[cst.BaseElement], bool]] = []
        self.definitions: list[cst.Call] = []
        self.refusal: str | None = None
        self._calls: list[tuple[str, cst.Call]] = []

    def visit_Call(self, node: cst.Call) -> None:
        if self.is_definitions(node):
            self.definitions.append(node)
        for name in self.qualified(node.func):
            parts = name.split(".")
            if parts[0] == "dagster_airlift" and parts[-1] in ("assets_with_task_mappings", "assets_with_dag_mappings",
                                                                "assets_with_multiple_task_mappings"):
                self._calls.append((parts[-1], node))

    def leave_Module(self, original_node: cst.Module) -> None:
        for name, call in self._calls:
            if name == "assets_with_task_mappings":
                self._task_call(call)
            elif name == "assets_with_dag_mappings":
                self._dag_call(call)
            else:
                self._multiple(call)

    def is_definitions(self, node: cst.CSTNode | None) -> bool:
        return isinstance(node, cst.Call) and any(
            name.split(".")[0] == "dagster" and name.endswith(".Definitions") for name in self.qualified(node.func))

    def _task_call(self, call: cst.Call) -> None:
        dag_arg, mappings_arg = arguments(call, ("dag_id", "task_mappings"))
        if self.string(dag_arg) != self.dag_id:
            return
        mappings = self.deref(mappings_arg)
        if not isinstance(mappings, cst.Dict) or any(not isinstance(e, cst.DictElement) for e in mappings.elements):
            self.refusal = f"the task_mappings of `{self.dag_id}` are not a dict literal: decommission it by hand"
            return
        items = self._items([e.value for e in mappings.elements])
        if items is not None:
            self.task_calls.append((call, items))

    def _dag_call(self, call: cst.Call) -> None:
        (mappings_arg,) = arguments(call, ("dag_mappings",))
        mappings = self.deref(mappings_arg)
        if not isinstance(mappings, cst.Dict):
            return
        for element in mappings.elements:
            if isinstance(element, cst.DictElement) and self.string(element.key) == self.dag_id:
                items = self._items([element.value])
                if items is not None:
                    self.dag_entries.append((call, element, items, len(mappings.elements) == 1))

    def _multiple(self, call: cst.Call) -> None:
        handles = arguments(call, ("assets", "task_handles"))[1]
        for handle in self.sequence(handles) or ():
            value = self.deref(handle.value) if isinstance(handle, cst.Element) else None
            if isinstance(value, cst.Dict) and any(
                    isinstance(e, cst.DictElement) and self.string(e.key) == "dag_id"
                    and self.string(e.value) == self.dag_id for e in value.elements):
                self.refusal = (f"assets_with_multiple_task_mappings maps `{self.dag_id}` together with other "
                                f"tasks: split that mapping by hand first")

    def _items(self, lists: Sequence[cst.BaseExpression]) -> list[cst.BaseElement] | None:
        """The elements of the mappings' asset lists, each once (a multi_asset mapped to two tasks)."""
        items: list[cst.BaseElement] = []
        seen: set[str] = set()
        for value in lists:
            target = self.deref(value)
            if not isinstance(target, (cst.List, cst.Tuple)):
                self.refusal = (f"the assets mapped to `{self.dag_id}` are not list literals: move them into "
                                f"the Definitions by hand")
                return None
            for element in target.elements:
                code = cst.Module([]).code_for_node(element.value)
                if code not in seen:
                    seen.add(code)
                    items.append(element)
        return items


class _Rewrite(cst.CSTTransformer):
    """Each mapping element replaced by its assets; the job (and schedule) passed to Definitions."""

    def __init__(self, replacements, kept, removed_entries, definitions: cst.Call, new_names: list[str]) -> None:
        self.replacements = replacements
        self.kept = kept
        self.removed_entries = removed_entries
        self.definitions = definitions
        self.new_names = new_names

    def leave_Dict(self, original_node: cst.Dict, updated_node: cst.Dict) -> cst.Dict:
        if not any(e in self.removed_entries for e in original_node.elements):
            return updated_node
        kept = [u for o, u in zip(original_node.elements, updated_node.elements) if o not in self.removed_entries]
        return updated_node.with_changes(elements=_fix_last_comma(kept, updated_node.elements))

    def leave_List(self, original_node, updated_node):
        return self._sequence(original_node, updated_node)

    def leave_Tuple(self, original_node, updated_node):
        return self._sequence(original_node, updated_node)

    def _sequence(self, original_node, updated_node):
        if not any(e in self.replacements for e in original_node.elements):
            return updated_node
        elements = list(updated_node.elements)
        for index in reversed(range(len(original_node.elements))):
            original = original_node.elements[index]
            if original not in self.replacements:
                continue
            items = [_element(i) for i in self.replacements[original]]
            if original in self.kept:
                if items:
                    updated_node = updated_node.with_changes(elements=elements)
                    updated_node, elements = _insert(updated_node, index + 1, items)
            elif items:
                elements[index] = items[0].with_changes(comma=elements[index].comma)
                if len(items) > 1:
                    updated_node = updated_node.with_changes(elements=elements)
                    updated_node, elements = _insert(updated_node, index + 1, items[1:])
            else:
                elements = elements[:index] + elements[index + 1:]
                elements = _fix_last_comma(elements, updated_node.elements)
        return updated_node.with_changes(elements=elements)

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        if original_node is not self.definitions:
            return updated_node
        args = list(updated_node.args)
        for keyword, name in zip(("jobs", "schedules"), self.new_names):
            existing = next((i for i, a in enumerate(args) if a.keyword is not None and a.keyword.value == keyword), None)
            if existing is not None:
                value = args[existing].value
                new_value = (value.with_changes(elements=[*value.elements[:-1], value.elements[-1].with_changes(
                    comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))), cst.Element(cst.Name(name))])
                    if isinstance(value, cst.List) and value.elements
                    else cst.List([cst.Element(cst.Name(name))]) if isinstance(value, cst.List)
                    else cst.parse_expression(f"[*{cst.Module([]).code_for_node(value)}, {name}]"))
                args[existing] = args[existing].with_changes(value=new_value)
                continue
            updated_node = append_keyword(updated_node.with_changes(args=args), keyword,
                                          cst.List([cst.Element(cst.Name(name))]))
            args = list(updated_node.args)
        return updated_node.with_changes(args=args)


def _element(item: cst.BaseElement) -> cst.BaseElement:
    if isinstance(item, cst.StarredElement):
        return cst.StarredElement(item.value)
    return cst.Element(item.value)


def _fix_last_comma(kept: list, before: Sequence) -> list:
    """After removing elements: the last one keeps the comma layout the old last one had."""
    if not kept or not before:
        return kept
    old_last = before[-1]
    if kept[-1] is old_last:
        return kept
    return [*kept[:-1], kept[-1].with_changes(comma=old_last.comma)]


def _insert(node, index: int, new: list) -> tuple[cst.CSTNode, list]:
    """``new`` elements at ``index`` of a list or parenthesized tuple, in its layout."""
    elements = list(node.elements)
    if isinstance(node, cst.List):
        opening, bracket = node.lbracket.whitespace_after, node.rbracket.whitespace_before
    elif node.lpar and node.rpar:
        opening, bracket = node.lpar[0].whitespace_after, node.rpar[-1].whitespace_before
    else:
        opening, bracket = cst.SimpleWhitespace(""), cst.SimpleWhitespace("")
    closing = closing_whitespace(elements[-1], bracket)
    multiline = isinstance(closing, cst.ParenthesizedWhitespace) or isinstance(opening, cst.ParenthesizedWhitespace)
    opening, elements, closing = insert_elements(opening, elements, closing, index, new, multiline=multiline,
                                                 trailing_comma=True if multiline else None)
    if isinstance(node, cst.List):
        node = node.with_changes(elements=elements, lbracket=node.lbracket.with_changes(whitespace_after=opening),
                                 rbracket=node.rbracket.with_changes(whitespace_before=closing))
    elif node.lpar and node.rpar:
        node = node.with_changes(elements=elements,
                                 lpar=[node.lpar[0].with_changes(whitespace_after=opening), *node.lpar[1:]],
                                 rpar=[*node.rpar[:-1], node.rpar[-1].with_changes(whitespace_before=closing)])
    else:
        node = node.with_changes(elements=elements)
    return node, elements
