"""Peer the Dagster module with Airflow: create it, or complete the one the project has.

``peer_module`` returns the module that ``build_defs_from_airflow_instance`` ties to the
configured Airflow. With no module (or an empty one) it writes ``peer_code.new_peer_module``.
An existing module is completed, never duplicated:

- it calls ``build_defs_from_airflow_instance`` already: nothing to do (idempotent);
- it has an ``AirflowInstance`` bound to a module-level name: that instance is used, whatever
  its auth backend (a note says so when another was asked for); else one is added after the
  module's imports;
- its one module-level ``name = Definitions(...)`` is wrapped into
  ``build_defs_from_airflow_instance(airflow_instance=..., defs=Definitions(...))``, keeping
  every mapping in it; with no ``Definitions``, the mapping calls bound to module-level names
  (``orders = assets_with_task_mappings(...)``) become the assets of a new one.

What cannot be wired without guessing (a ``Definitions`` built in a function, several of them,
a mapping call that no name holds) is refused with the line to fix by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider, ScopeProvider

from analysis.dagster.cst_values import StaticReader, arguments
from analysis.edits.bodies_aside import edit_with_bodies_aside
from analysis.edits.imports import Imports, add_imports, add_module_import, alias_for, other_uses
from analysis.edits.layout import has_multiline_string, quote_of
from analysis.edits.peer_code import (
    BACKENDS,
    Names,
    Peer,
    instance_code,
    instance_comment,
    new_peer_module,
    peer_problem,
)
from analysis.edits.result import EditResult, check_output, parse

WHAT = "the Dagster module"
_CORE = "dagster_airlift.core"
_MAPPINGS = ("assets_with_task_mappings", "assets_with_dag_mappings", "assets_with_multiple_task_mappings")
_WORDS = ("AirflowInstance", "DagsterAirlift", "DagsterDefinitions", "airlift_", "airflow_instance", "defs")
"""A body naming what the peering reads, the aliases it may import its names as, or the names it
gives new variables, stays in view of the edit (one building a ``Definitions(...)``, a
``@definitions`` function's, stays for every edit: ``analysis.dagster.bodies``). (Its imports are
read at the top level, and a body reading a name the module does not bind stays anyway.)"""


def peer_module(text: str | None, peer: Peer) -> EditResult:
    """The module peered with ``peer``'s Airflow (``text=None``: there is none yet)."""
    problem = peer_problem(peer)
    if problem is not None:
        return EditResult.refuse(problem)
    if text is None or not text.strip():
        return EditResult.done(new_peer_module(peer))
    # the assets' bodies set aside: a team's existing Dagster module can be thousands of lines
    return edit_with_bodies_aside(text, lambda aside: _peer(aside, peer), WHAT, _WORDS)


def _peer(text: str, peer: Peer) -> EditResult:
    module = parse(text, WHAT)
    if isinstance(module, str):
        return EditResult.refuse(module)
    try:
        return _Completion(text, module, peer).apply()
    except RecursionError:
        return EditResult.refuse(f"{WHAT} nests too deeply to edit")


@dataclass(slots=True)
class _Call:
    kind: str
    """``AirflowInstance``, ``build_defs``, ``Definitions`` or ``mapping``."""
    node: cst.Call
    statement: int
    """Index of the module-level statement it is in."""


class _Scan(StaticReader):
    """The calls that matter, each with the module-level statement holding it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[_Call] = []
        self.quotes: dict[str, int] = {}
        self.statement = 0

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.quotes[node.quote] = self.quotes.get(node.quote, 0) + 1

    def visit_Call(self, node: cst.Call) -> None:
        for name in self.qualified(node.func):
            parts = name.split(".")
            kind = None
            if parts[0] == "dagster_airlift":
                kind = {"AirflowInstance": "AirflowInstance", "build_defs_from_airflow_instance": "build_defs",
                        **dict.fromkeys(_MAPPINGS, "mapping")}.get(parts[-1])
            elif parts[0] == "dagster" and (parts[-1] == "Definitions" or parts[-2:] == ["Definitions", "merge"]):
                kind = "Definitions"  # Definitions.merge(...) makes one too: never add a second beside it
            if kind is not None:
                self.calls.append(_Call(kind, node, self.statement))
                return


class _Completion:
    def __init__(self, text: str, module: cst.Module, peer: Peer) -> None:
        self.text = text
        self.module = module
        self.peer = peer
        self.wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.positions = self.wrapper.resolve(PositionProvider)
        self.scopes = self.wrapper.resolve(ScopeProvider)
        # Lines as libcst counts them: str.splitlines would also break at \f, \x1c, U+2028...
        self.lines = re.findall(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", text)
        self.newline = module.default_newline
        self.unit = module.default_indent
        self.notes: list[str] = []

    def apply(self) -> EditResult:
        scan = _Scan()
        with scan.resolve(self.wrapper):
            for index, statement in enumerate(self.module.body):
                scan.statement = index
                statement.visit(scan)
            return self._complete(scan)

    def _complete(self, scan: _Scan) -> EditResult:
        self.quote = quote_of(scan.quotes)
        calls = {kind: [c for c in scan.calls if c.kind == kind]
                 for kind in ("AirflowInstance", "build_defs", "Definitions", "mapping")}
        if calls["build_defs"]:
            line = self._line(calls["build_defs"][0].node)
            return EditResult.nothing_to_do(self.text, f"{WHAT} already peers with Airflow "
                                                       f"(build_defs_from_airflow_instance, line {line})")
        instance = self._existing_instance(calls["AirflowInstance"], scan)
        if isinstance(instance, str) and instance.startswith("!"):
            return EditResult.refuse(instance[1:])
        definitions = self._definitions(calls["Definitions"], calls["mapping"])
        if isinstance(definitions, str):
            return EditResult.refuse(definitions)
        anchor = definitions.statement if isinstance(definitions, _Call) else len(self.module.body)
        if instance is not None and calls["AirflowInstance"][0].statement > anchor:
            return EditResult.refuse(
                f"the AirflowInstance (line {self._line(calls['AirflowInstance'][0].node)}) comes after the "
                f"Definitions it would peer (line {self._line(definitions.node)}): move it above first")
        names = self._names(new_instance=instance is None, new_definitions=not isinstance(definitions, _Call))
        if isinstance(names, str):
            return EditResult.refuse(names)
        refs, needed, modules = names
        variable = instance or self._free_name("airflow_instance")
        edits: list[tuple[int, int, str]] = []  # (start offset, end offset, new text)
        if instance is None:
            backend = refs[BACKENDS[self.peer.auth][1]]
            code = instance_comment(self.peer).replace("\n", self.newline) + instance_code(
                self.peer, variable, Names(os=refs["os"], boto3=refs.get("boto3", "boto3"),
                                           AirflowInstance=refs["AirflowInstance"], backend=backend),
                self.quote, self.newline, self.unit)
            edits.append(self._instance_insertion(anchor, code))
        build_defs = refs["build_defs_from_airflow_instance"]
        if isinstance(definitions, _Call):
            edits.append(self._wrap(definitions.node, build_defs, variable))
        else:
            edits.append(self._new_definitions(definitions, build_defs, variable, refs["Definitions"]))
        code = self._splice(edits)
        module = parse(code, WHAT)
        if isinstance(module, str):
            return EditResult.refuse(f"the edit of {WHAT} would not parse ({module}); please report this")
        for name in modules:
            module = add_module_import(module, name)
        module = add_imports(module, needed)
        result = check_output(module.code, WHAT)
        return EditResult(result.text, result.changed, "; ".join(self.notes) or None) if result.text else result

    # -- deciding -------------------------------------------------------------------------------

    def _existing_instance(self, instances: list[_Call], scan: _Scan) -> str | None:
        """The module-level name of the module's AirflowInstance, None when it has none, or
        ``"!reason"`` when it has one that cannot be used."""
        if not instances:
            return None
        if len(instances) > 1:
            lines = ", ".join(str(self._line(c.node)) for c in instances)
            return f"!{WHAT} builds several AirflowInstances (lines {lines}): peer it by hand"
        call = instances[0]
        name = self._bound_name(call)
        if name is None:
            return (f"!the AirflowInstance on line {self._line(call.node)} is not assigned to a module-level name: "
                    "assign it (airflow_instance = AirflowInstance(...)) and run peer again")
        (backend,) = arguments(call.node, ("auth_backend",))
        backend = scan.deref(backend)
        wanted = BACKENDS[self.peer.auth][1]
        kinds = {q.split(".")[-1] for q in scan.qualified(backend.func)} if isinstance(backend, cst.Call) else set()
        if wanted not in kinds:
            self.notes.append(f"kept the AirflowInstance `{name}` of line {self._line(call.node)} and its own auth "
                              f"backend (not {wanted})")
        return name

    def _definitions(self, definitions: list[_Call], mappings: list[_Call]) -> _Call | list[str] | str:
        """The module-level ``Definitions`` to wrap, or (none) the names holding mappings."""
        # Definitions(...) passed to Definitions.merge(...) is part of the one it makes.
        definitions = [c for c in definitions if not any(o is not c and self._inside(c.node, o.node)
                                                          for o in definitions)]
        if len(definitions) > 1:
            lines = ", ".join(str(self._line(c.node)) for c in definitions)
            return (f"{WHAT} builds several Definitions (lines {lines}): wrap the one Dagster loads in "
                    "build_defs_from_airflow_instance by hand")
        if definitions:
            call = definitions[0]
            if self._bound_name(call) is None:
                return (f"the Definitions on line {self._line(call.node)} is not assigned to a module-level name "
                        "(built in a function?): wrap it in build_defs_from_airflow_instance by hand")
            used = {n.value for n in _names_in(call.node)}
            for mapping in mappings:
                name = self._bound_name(mapping, whole=False)
                if mapping.statement != call.statement and name not in used:
                    return (f"the mappings on line {self._line(mapping.node)} are not in the Definitions of line "
                            f"{self._line(call.node)}: add them to its assets first")
            return call
        names = []
        for mapping in mappings:
            name = self._bound_name(mapping, whole=False)
            if name is None:
                return (f"the mapping call on line {self._line(mapping.node)} is not assigned to a module-level "
                        "name: assign it (orders = assets_with_task_mappings(...)) and run peer again")
            if name not in names:
                names.append(name)
        return names

    def _bound_name(self, call: _Call, whole: bool = True) -> str | None:
        """``name`` when the call's statement is ``name = <the call>`` (``whole=False``: any
        value holding the call, ``name = [*call(...), ...]``)."""
        statement = self.module.body[call.statement]
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            return None
        small = statement.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target, value = small.targets[0].target, small.value
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            target, value = small.target, small.value
        else:
            return None
        if not isinstance(target, cst.Name):
            return None
        if value is call.node or (not whole and isinstance(value, (cst.List, cst.Tuple)) and any(
                element.value is call.node for element in value.elements)):
            return target.value
        return None

    def _names(self, *, new_instance: bool, new_definitions: bool):
        """How the new code spells each name, the imports to add, the modules to import; or
        why a name cannot be used."""
        imports = Imports(self.module)
        wanted = [(_CORE, "build_defs_from_airflow_instance")]
        if new_definitions:
            wanted.append(("dagster", "Definitions"))
        modules = []
        if new_instance:
            wanted += [(_CORE, "AirflowInstance"), BACKENDS[self.peer.auth]]
            modules = ["os", "boto3"] if self.peer.auth == "mwaa" else ["os"]
        refs, needed = {}, []
        for source, name in wanted:
            reference = imports.reference((source,), name)
            if reference is None:
                bound, unbound = other_uses(self.scopes, self.module, self.text, source, name)
                reference = alias_for(source, name, self.text) if bound or unbound else name
                needed.append((source, name, reference))
            refs[name] = reference
        to_import = []
        for name in modules:
            if name in imports.modules:
                refs[name] = imports.modules[name]
                continue
            bound, unbound = other_uses(self.scopes, self.module, self.text, name, name)
            if bound or unbound:
                return (f"{WHAT} uses the name `{name}` for something else: the peering code needs "
                        f"`import {name}`; rename yours first")
            refs[name] = name
            to_import.append(name)
        return refs, needed, to_import

    def _free_name(self, base: str) -> str:
        """``base``, numbered when the module has that word already (in code or text)."""
        name, number = base, 1
        while re.search(rf"(?<!\w){re.escape(name)}(?!\w)", self.text):
            number += 1
            name = f"{base}_{number}"
        return name

    # -- writing --------------------------------------------------------------------------------

    def _instance_insertion(self, anchor: int, code: str) -> tuple[int, int, str]:
        """The instance after the last module-level import above ``anchor`` (else just above
        ``anchor``), a blank line before it."""
        imports = [i for i, s in enumerate(self.module.body[:anchor]) if isinstance(s, cst.SimpleStatementLine)
                   and any(isinstance(x, (cst.Import, cst.ImportFrom)) for x in s.body)]
        if imports:
            offset = self._offset(self.positions[self.module.body[imports[-1]]].end.line + 1, 0)
            return offset, offset, self.newline + code
        if anchor < len(self.module.body):
            offset = self._offset(self.positions[self.module.body[anchor]].start.line, 0)
            return offset, offset, code + self.newline
        return self._end(), self._end(), self._separator() + code

    def _wrap(self, call: cst.Call, build_defs: str, variable: str) -> tuple[int, int, str]:
        start, end = self.positions[call].start, self.positions[call].end
        line = self.lines[start.line - 1]
        indent = line[:len(line) - len(line.lstrip())]
        inner = self.module.code_for_node(call)
        if not has_multiline_string(call):  # inside brackets, indentation is only for the reader
            inner = re.sub(r"(\r\n|\r|\n)(?=[^\r\n])", lambda m: m.group(1) + self.unit, inner)
        nl, unit = self.newline, indent + self.unit
        code = (f"{build_defs}({nl}{unit}airflow_instance={variable},{nl}{unit}defs={inner},{nl}{indent})")
        return self._offset(start.line, start.column), self._offset(end.line, end.column), code

    def _new_definitions(self, names: list[str], build_defs: str, variable: str, definitions: str
                         ) -> tuple[int, int, str]:
        nl, u = self.newline, self.unit
        if names:
            assets = f"assets=[{nl}" + "".join(f"{u * 3}*{n},{nl}" for n in names) + f"{u * 2}],"
        else:
            assets = "assets=[],"
        code = (f"{self._free_name('defs')} = {build_defs}({nl}{u}airflow_instance={variable},{nl}"
                f"{u}defs={definitions}({nl}{u * 2}{assets}{nl}{u}),{nl}){nl}")
        return self._end(), self._end(), self._separator() + code

    def _separator(self) -> str:
        """Two blank lines after the module's last statement."""
        tail = self.text[len(self.text.rstrip("\r\n")):]
        return (self.newline if not tail else "") + self.newline * 2

    def _end(self) -> int:
        return len(self.text)

    def _offset(self, line: int, column: int) -> int:
        """The text offset of a 1-based line and a 0-based column."""
        return sum(len(x) for x in self.lines[:line - 1]) + column

    def _splice(self, edits: list[tuple[int, int, str]]) -> str:
        code = self.text
        # From the end, so offsets hold; at one offset the later edit first, so the earlier
        # one's text comes first.
        for _, (start, end, new) in sorted(enumerate(edits), key=lambda e: (e[1][0], e[0]), reverse=True):
            code = code[:start] + new + code[end:]
        return code

    def _inside(self, node: cst.CSTNode, outer: cst.CSTNode) -> bool:
        inner, around = self.positions[node], self.positions[outer]
        return ((around.start.line, around.start.column) <= (inner.start.line, inner.start.column)
                and (inner.end.line, inner.end.column) <= (around.end.line, around.end.column))

    def _line(self, node: cst.CSTNode) -> int:
        return self.positions[node].start.line


def _names_in(node: cst.CSTNode) -> list[cst.Name]:
    found: list[cst.Name] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.append(name)

    node.visit(Names())
    return found
