"""The Dagster module's task mappings, read statically (the module is never imported).

dagster-airlift ties Airflow tasks to Dagster assets with ``assets_with_task_mappings(dag_id=,
task_mappings={task_id: [assets]})``, whole DAGs with ``assets_with_dag_mappings(dag_mappings=
{dag_id: [assets]})``, and one asset list to several tasks with
``assets_with_multiple_task_mappings(assets=, task_handles=[{"dag_id":, "task_id":}])``. Names
are recognised by what they import (``import dagster as dg``, aliases), and the assets by the
keys Dagster gives them. Whatever cannot be known without running the module is reported as
dynamic, never guessed.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper

from analysis.dagster.asset_keys import AssetKeyReader, key_string
from analysis.dagster.bodies import without_bodies
from analysis.dagster.cst_values import arguments
from analysis.dagster.dbt_assets import dbt_assets_description
from analysis.dagster.ports import read_bases, read_ports
from analysis.facts import Range
from analysis.source import split_lines


@dataclass(frozen=True, slots=True)
class AssetRef:
    key: str
    """Dagster's user string: ``a/b`` for ``AssetKey(["a", "b"])``; a slash inside one part
    is escaped (``a\\/b`` for ``AssetKey("a/b")``), as ``AssetKey.to_escaped_user_string``."""
    range: Range
    """The item of the mapping's list that brings the asset in (a spec, a name, ``*specs``)."""
    executable: bool = False
    """Brought in by an ``@asset``/``@multi_asset`` definition, which Dagster can run; a plain
    ``AssetSpec`` only describes an asset, so a proxied task mapped to specs has nothing to run."""
    deps: tuple[str, ...] | None = None
    """The keys of an ``AssetSpec(...)`` written in the mapping's list, when its ``deps=`` is
    absent or a literal list (the form an edit can keep in step with the DAG); None otherwise."""
    at_load: bool = False
    """An asset set whose keys Dagster derives only when it loads the module (dagster-dbt's
    ``@dbt_assets``: from the manifest). ``key`` then describes it (``dbt resources selected by
    "S" in P``, never a key Dagster accepts: it holds spaces); it is executable."""


@dataclass(frozen=True, slots=True)
class TaskMapping:
    dag_id: str
    task_id: str | None
    """None for a DAG-level mapping (``assets_with_dag_mappings``)."""
    assets: tuple[AssetRef, ...]
    key_range: Range
    """The dict key naming the task (the DAG for a DAG-level mapping; the ``task_id`` value of
    a task handle)."""
    call_range: Range
    dynamic: bool
    """Some assets of this mapping could not be read statically: ``assets`` is incomplete."""


@dataclass(frozen=True, slots=True)
class UnresolvedMapping:
    """A mapping whose task (or DAG) cannot be read statically."""

    dag_id: str | None
    """None when the DAG id itself is dynamic."""
    range: Range
    call_range: Range
    reason: str


@dataclass(frozen=True, slots=True)
class DagsterModule:
    path: str
    mappings: tuple[TaskMapping, ...] = ()
    error: str | None = None
    error_range: Range | None = None
    calls_build_defs: bool = False
    """Calls ``build_defs_from_airflow_instance``."""
    unresolved: tuple[UnresolvedMapping, ...] = ()
    ports: tuple[tuple[str, str], ...] = ()
    """``AIRFLOW_OPERATOR_PORTS``: operator classes to the function ported for them
    (``analysis.dagster.ports``)."""
    bases: tuple[tuple[str, str], ...] = ()
    """``AIRFLOW_OPERATOR_PORTS`` given a string: operator classes to the Airflow class the team
    chose to run them as (``analysis.dagster.ports.read_bases``)."""

    def asset_refs(self, dag_id: str, task_id: str | None) -> tuple[AssetRef, ...]:
        """The assets mapped to a task (``task_id=None``: to the whole DAG), as written."""
        return tuple(a for m in self.mappings if m.dag_id == dag_id and m.task_id == task_id
                     for a in m.assets)

    def assets_for(self, dag_id: str, task_id: str | None) -> tuple[str, ...]:
        """Asset keys mapped to a task (``task_id=None``: to the whole DAG), without repeats."""
        return tuple(dict.fromkeys(a.key for a in self.asset_refs(dag_id, task_id)))

    def named_keys(self, dag_id: str, task_id: str | None) -> tuple[str, ...]:
        """``assets_for`` without the asset sets known only at load: the keys an edit may write."""
        return tuple(dict.fromkeys(a.key for a in self.asset_refs(dag_id, task_id) if not a.at_load))


def looks_like_dagster_module(text: str | bytes) -> bool:
    """Cheap test for workspace discovery; ``parse_dagster_module`` decides for real."""
    if isinstance(text, bytes):
        return b"assets_with_task_mappings" in text or b"build_defs_from_airflow_instance" in text
    return "assets_with_task_mappings" in text or "build_defs_from_airflow_instance" in text


def is_component_path(path: str) -> bool:
    """The Dagster side is a component's YAML (a configured or discovered ``defs.yaml``)."""
    return path.endswith((".yaml", ".yml"))


def parse_dagster_module(path: str, text: str) -> DagsterModule:
    """Every mapping the module makes; never raises. A ``defs.yaml`` (a dagster-airlift
    component) is read as YAML by ``analysis.dagster.component``."""
    if is_component_path(path):
        from analysis.dagster.component import parse_component

        return parse_component(path, text)
    unencodable = _unencodable(text)
    if unencodable is not None:
        # libcst and compile() read UTF-8; a lone surrogate (an editor buffer can hold one,
        # from a JSON "\ud800" escape) has none, and no Python file can contain one.
        return DagsterModule(path, error=unencodable[0], error_range=unencodable[1])
    python_error = _python_syntax_error(text)
    if python_error is _TOO_DEEP:
        return DagsterModule(path, error="the module nests too deeply to read",
                             error_range=Range.point(0))
    try:
        # the assets' bodies set aside: the same ranges, read in a fraction of the time
        wrapper = MetadataWrapper(cst.parse_module((python_error is None and without_bodies(text)) or text))
        reader = _MappingReader()
        wrapper.visit(reader)
    except cst.ParserSyntaxError as error:
        # Python places errors exactly (libcst's native parser says "ééé é" fails at 1:0);
        # libcst's own position only serves when Python accepted what libcst did not.
        message, where = python_error or (error.message, Range.point(
            max(error.raw_line - 1, 0), max(error.raw_column, 0)))
        return DagsterModule(path, error=f"syntax error: {message}", error_range=where)
    except (RecursionError, MemoryError):
        return DagsterModule(path, error="the module nests too deeply to read",
                             error_range=Range.point(0))
    return DagsterModule(path, tuple(reader.mappings), calls_build_defs=reader.calls_build_defs,
                         unresolved=tuple(reader.unresolved), ports=read_ports(text),
                         bases=read_bases(text))


_TOO_DEEP = ("too deep", Range.point(0))


def read_mappings(wrapper: MetadataWrapper) -> tuple[TaskMapping, ...]:
    """The mappings of a module that is parsed already (for an edit, which has resolved the
    metadata this needs and would otherwise parse the module twice)."""
    reader = _MappingReader()
    wrapper.visit(reader)
    return tuple(reader.mappings)


def _python_syntax_error(text: str) -> tuple[str, Range] | None:
    """Python's verdict first: libcst's native parser crashes the process (SIGSEGV) or runs for
    minutes on nesting deeper than Python allows, so such text never reaches it. Text that
    Python rejects for an ordinary error still goes to libcst, which may know newer syntax."""
    try:
        with warnings.catch_warnings():  # invalid escapes etc. are the module's business
            warnings.simplefilter("ignore")
            compile(text, "<dagster module>", "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
    except (RecursionError, MemoryError):
        return _TOO_DEEP
    except SyntaxError as error:
        if "too many nested" in (error.msg or ""):
            return _TOO_DEEP
        line = max((error.lineno or 1) - 1, 0)
        lines = split_lines(text)
        width = len(lines[line]) if line < len(lines) else 0
        start = min(max((error.offset or 1) - 1, 0), width)  # 1-based code points
        end = start + 1
        if error.end_lineno == error.lineno and error.end_offset:
            end = max(end, error.end_offset - 1)
        return f"{error.msg} (line {line + 1})", Range.of(line, start, line, min(end, width))
    except ValueError as error:  # NUL bytes
        return str(error), Range.point(0)
    return None


def _unencodable(text: str) -> tuple[str, Range] | None:
    """A character UTF-8 cannot encode (a lone surrogate), and where it is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        lines = split_lines(text[:error.start])
        line, character = len(lines) - 1, len(lines[-1])
        code = ord(text[error.start])
        return (f"line {line + 1} holds a lone surrogate (U+{code:04X}), which no Python file can",
                Range.of(line, character, line, character + 1))
    return None


class _MappingReader(AssetKeyReader):
    def __init__(self) -> None:
        super().__init__()
        self.mappings: list[TaskMapping] = []
        self.unresolved: list[UnresolvedMapping] = []
        self.calls_build_defs = False
        self._calls: list[tuple[str, cst.Call]] = []

    # -- collecting ------------------------------------------------------------------------------

    def visit_Call(self, node: cst.Call) -> None:
        name = self._airlift_function(node.func)
        if name == "build_defs_from_airflow_instance":
            self.calls_build_defs = True
        elif name is not None:
            self._calls.append((name, node))

    def leave_Module(self, original_node: cst.Module) -> None:
        # Mappings are read once every module-level assignment is known, wherever it is.
        for name, call in self._calls:
            {"assets_with_task_mappings": self._task_mappings,
             "assets_with_dag_mappings": self._dag_mappings,
             "assets_with_multiple_task_mappings": self._multiple_task_mappings}[name](call)

    # -- the three mapping calls -------------------------------------------------------------

    def _task_mappings(self, call: cst.Call) -> None:
        dag_arg, mappings_arg = arguments(call, ("dag_id", "task_mappings"))
        dag_id = self.string(dag_arg)
        if dag_id is None:
            self._unresolved(None, dag_arg or call, call, "the DAG id is not a string constant")
            return
        for key, key_node, value in self.dict_items(mappings_arg, self._dynamic(dag_id, call)):
            self._add(dag_id, key, key_node, value, call)

    def _dag_mappings(self, call: cst.Call) -> None:
        (mappings_arg,) = arguments(call, ("dag_mappings",))
        for key, key_node, value in self.dict_items(mappings_arg, self._dynamic(None, call)):
            self._add(key, None, key_node, value, call)

    def _multiple_task_mappings(self, call: cst.Call) -> None:
        assets_arg, handles_arg = arguments(call, ("assets", "task_handles"))
        handles = self.sequence(handles_arg)
        if handles is None:
            self._unresolved(None, handles_arg or call, call, "the task handles are dynamic")
            return
        for handle in handles:
            handle = self.deref(handle.value) if isinstance(handle, cst.Element) else None
            fields = {key: (key_node, value) for key, key_node, value in self.dict_items(
                handle)} if isinstance(handle, cst.Dict) else {}
            dag_id = self.string(fields.get("dag_id", (None, None))[1])
            task_id = self.string(fields.get("task_id", (None, None))[1])
            if dag_id is None or task_id is None:
                self._unresolved(dag_id, handle or call, call, "a task handle is not a literal "
                                 "{'dag_id': ..., 'task_id': ...}")
                continue
            self._add(dag_id, task_id, fields["task_id"][1], assets_arg, call)

    def _add(self, dag_id: str, task_id: str | None, key_node: cst.CSTNode,
             value: cst.BaseExpression | None, call: cst.Call) -> None:
        refs, complete = self._asset_refs(value)
        self.mappings.append(TaskMapping(dag_id, task_id, tuple(refs), self.range(key_node),
                                         self.range(call), not complete))

    def _unresolved(self, dag_id: str | None, node: cst.CSTNode, call: cst.Call, reason: str):
        self.unresolved.append(UnresolvedMapping(dag_id, self.range(node), self.range(call),
                                                 reason))

    def _dynamic(self, dag_id: str | None, call: cst.Call):
        """What ``dict_items`` reports of a mapping it cannot read, as unresolved."""
        return lambda node, why: self._unresolved(dag_id, node or call, call, why)

    # -- assets --------------------------------------------------------------------------------

    def _asset_refs(self, value: cst.BaseExpression | None) -> tuple[list[AssetRef], bool]:
        """The assets of a mapping's list, each with the range of the item that brings it."""
        if isinstance(value, (cst.List, cst.Tuple)):
            refs, complete = [], True
            for element in value.elements:
                described = dbt_assets_description(self, element.value) \
                    if isinstance(element, cst.Element) else None
                if described is not None:
                    refs.append(AssetRef(described, self.range(element), True, at_load=True))
                    continue
                keys, ok = (self._sequence_keys(element.value, 0)
                            if isinstance(element, cst.StarredElement)
                            else self._item_keys(element.value, 0))
                executable = self.is_definition(element.value)
                deps = self.spec_deps(element.value) if len(keys) == 1 else None
                refs.extend(AssetRef(key_string(k), self.range(element), executable, deps) for k in keys)
                complete &= ok
            return refs, complete
        keys, ok = self._sequence_keys(value, 0) if value is not None else ([], False)
        return [AssetRef(key_string(k), self.range(value)) for k in keys], ok

    # -- names and values ------------------------------------------------------------------------

    def _airlift_function(self, node: cst.CSTNode) -> str | None:
        for name in self.qualified(node):
            parts = name.split(".")
            if parts[0] == "dagster_airlift" and len(parts) > 1:
                return parts[-1] if parts[-1] in _AIRLIFT_FUNCTIONS else None
        return None




_AIRLIFT_FUNCTIONS = frozenset({"assets_with_task_mappings", "assets_with_dag_mappings",
                                "assets_with_multiple_task_mappings",
                                "build_defs_from_airflow_instance"})
