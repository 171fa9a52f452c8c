"""Write the scaffolded ``@multi_asset`` into the Dagster module.

``ModuleEdit`` finds the task's ``AssetSpec`` list in ``assets_with_task_mappings(...)`` (``asset_mapping``),
defines the asset function just above the statement holding it (its specs moved verbatim, its
body the copied code then the task's call or command), puts ``[<function>]`` in the list's
place, adds the helpers of ``places`` that the body calls, and the imports it needs.
"""

from __future__ import annotations

import keyword
import os
import re
import textwrap

import libcst as cst
from libcst.metadata import (
    MetadataWrapper,
    PositionProvider,
    ScopeProvider,
    WhitespaceInclusivePositionProvider,
)

from analysis.edits.imports import Imports, add_imports, add_module_import
from analysis.edits.layout import (
    LINE_WIDTH,
    Group,
    absolute_indentation,
    preferred_quote,
    render,
    string_literal,
)
from analysis.edits.result import EditResult, check_output
from analysis.edits.scaffold import asset_sensors, run_values
from analysis.edits.scaffold.asset_commands import command_tail, fresh, run_reading, star, top_level_names
from analysis.edits.scaffold.asset_gates import gate_specs, gate_tail
from analysis.edits.scaffold.asset_mapping import WHAT, Mapping, find_mapping
from analysis.edits.scaffold.asset_writers import DEFINITIONS, WRITERS, is_helper, owner
from analysis.edits.scaffold.dag_source import (
    DagSource,
    Transplant,
    expression_code,
    kept_leading_lines,
    line_offsets,
)
from analysis.edits.scaffold.exceptions import CLASSES as EXCEPTION_CLASSES
from analysis.edits.scaffold.exceptions import definitions as exception_definitions
from analysis.edits.scaffold.plan_bash import BASH_TASK
from analysis.edits.scaffold.places import DAG_FILE_HELPER, IMPORT_ROOTS_HELPER, Places
from analysis.edits.scaffold.plan import Plan
from analysis.edits.scaffold.statements import is_import
from analysis.edits.scaffold.variables import CLASS as VARIABLE_CLASS
from analysis.edits.scaffold.variables import HELPER as RENDER_HELPER

class ModuleEdit:
    """The scaffold of one task in the Dagster module: ``find_mapping``, then ``apply``."""

    def __init__(self, text: str, module: cst.Module, dag_id: str, task_id: str) -> None:
        self.text, self.dag_id, self.task_id = text, dag_id, task_id
        self.wrapper = MetadataWrapper(module)
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.spans = self.wrapper.resolve(WhitespaceInclusivePositionProvider)
        self.scopes = self.wrapper.resolve(ScopeProvider)
        self.offsets = line_offsets(text)
        self.imports = Imports(self.module)
        self.unit = self.module.default_indent
        self.newline = self.module.default_newline
        self.quote = preferred_quote(self.module)
        self.label = f"task `{task_id}` of DAG `{dag_id}`"
        self.needed_names: list[tuple[str, str]] = []
        self.needed_modules: list[str] = []
        self.clashes: list[str] = []

    # -- the task's mapping ---------------------------------------------------------------

    def find_mapping(self) -> Mapping | EditResult:
        return find_mapping(self.wrapper, self.positions, self.text, self.dag_id, self.task_id)

    # -- the edit -------------------------------------------------------------------------

    def apply(self, mapping: Mapping, plan: Plan, source: DagSource, places: Places) -> EditResult:
        name = _asset_name(self.dag_id, self.task_id)
        if name in self.scopes[self.module]:
            return EditResult.refuse(f"`{name}` is already defined in {WHAT}: rename it to "
                                     f"scaffold {self.label}")
        roots = [r for r in places.import_roots if r.modules & plan.imported]
        helpers = []
        header = []
        if roots:
            relative = [places.relative(r.folder) for r in roots]
            if None in relative:
                return EditResult.refuse(f"the Dagster module's path is needed to put "
                                         f"{', '.join(r.folder for r in roots)} on sys.path")
            header.append(f"{IMPORT_ROOTS_HELPER}({', '.join(self.literal(r) for r in relative)})")
            helpers.append(IMPORT_ROOTS_HELPER)
        file_name = None
        if plan.uses_file:
            relative = places.relative(places.dag_path)
            if relative is None:
                return EditResult.refuse("the Dagster module's path is needed to give the copied "
                                         "code the DAG file's `__file__`")
            file_name = fresh("dag_file", plan.mentioned)
            header.append(f"{file_name} = {DAG_FILE_HELPER}({self.literal(relative)})")
            helpers.append(DAG_FILE_HELPER)
        writer = WRITERS.get(plan.kind)
        if writer is not None:
            problem = writer.problem(plan) or (writer.conflict(self, plan) if hasattr(writer, "conflict") else None)
            if problem:
                return EditResult.refuse(problem)
            helpers += writer.helpers(plan)
        elif plan.sensor is not None:  # a PythonSensor: its callable's call, waited for
            helpers += asset_sensors.helpers(plan)
        # templated arguments rendered as Airflow does, and the command a `@task.bash` returns
        if plan.renders_text or plan.renders_run or plan.kind == BASH_TASK:
            helpers.append(RENDER_HELPER)
        if plan.reads_run:  # and the Airflow run's values, read from the run that launched this one
            reading = run_reading(self, plan)
            if isinstance(reading, str):
                return EditResult.refuse(reading)
            helpers += reading[0]
            header.append(reading[1])
        if plan.variable_names:  # `Variable.get` in the copied code, read from the environment
            helpers.append(VARIABLE_CLASS)
            header += [f"{name} = {VARIABLE_CLASS}" for name in plan.variable_names]
        if plan.exception_names:  # Airflow's exceptions raised or caught by the copied code
            helpers += exception_definitions([cls for _, cls in plan.exception_names])
            header += [f"{name} = {EXCEPTION_CLASSES[cls]}" for name, cls in plan.exception_names]
        for helper in helpers + ([run_values.VALUES] if plan.reads_run else []):
            if helper in plan.bound:
                return EditResult.refuse(f"the DAG file's `{helper}` would hide {WHAT}'s helper")
        tail = self._tail(plan, source, file_name, places)
        if isinstance(tail, str):
            return EditResult.refuse(tail)
        where = places.relative(places.dag_path) or os.path.basename(places.dag_path)
        function = self._function(name, mapping, plan, source, header, tail, where, file_name)
        replaced = cst.List(elements=[cst.Element(cst.Name(name))])
        module = self.module.deep_replace(mapping.node, self._mapping_list(mapping.node, replaced))
        body = list(module.body)
        index = next(i for i, s in enumerate(self.module.body) if s is mapping.statement)
        target = body[index]
        kept = list(target.leading_lines)
        while kept and kept[0].comment is None:
            kept.pop(0)
        blank = [cst.EmptyLine(indent=False)] * 2
        after = []  # what follows the asset: a dbt asset's resource binding
        if hasattr(writer, "after"):
            after.append(cst.parse_statement(writer.after(self, plan, name) + self.newline,
                                             config=self.module.config_for_parsing).with_changes(
                leading_lines=[cst.EmptyLine(indent=False)]))
        body[index:index + 1] = [function.with_changes(leading_lines=blank), *after,
                                 target.with_changes(leading_lines=blank + kept)]
        # helpers stay together: after those the module has, else before the new asset
        existing = [i for i, s in enumerate(body)
                    if any(map(is_helper, top_level_names(cst.Module(body=[s]))))]
        at = existing[-1] + 1 if existing else index
        body[at:at] = [self._helper(h, plan).with_changes(leading_lines=blank) for h in helpers
                       if not self._defines(h)]
        module = module.with_changes(body=body)
        module = add_imports(module, self.needed_names)
        for name_ in self.needed_modules:
            module = add_module_import(module, name_)
        return check_output(module.code, WHAT)

    def _tail(self, plan: Plan, source: DagSource, file_name: str | None,
              places: Places) -> list[str] | str:
        """The statements after the copied code: the call, the command, or the Pipes run."""
        if source.call is None:
            return "the call that creates the task was not found in the DAG file's syntax tree"
        if plan.kind in WRITERS:
            lines = WRITERS[plan.kind].tail(self, plan, places)
        else:
            lines = command_tail(self, plan, source, file_name)
            if plan.gate is not None and not isinstance(lines, str):
                lines = gate_tail(self, plan, lines, self.dag_id, self.task_id)
            if plan.sensor is not None and not isinstance(lines, str):
                lines = asset_sensors.wait(self, plan, lines[0])
        if isinstance(lines, str):
            return lines
        return f"the DAG file binds {self.clashes[0]}" if self.clashes else lines

    def module_reference(self, module: str, plan: Plan | None = None) -> str:
        """How the Dagster module names a module it imports (importing it if need be). In an
        asset's body, the copied code must not bind that name to anything else."""
        reference = self.imports.modules.get(module)
        if reference is None:
            if module not in self.needed_modules:
                self.needed_modules.append(module)
            reference = module
        head = reference.split(".")[0]
        if plan is not None and head in plan.bound and plan.bound[head] != {module}:
            self.clashes.append(f"`{head}`, which the scaffolded body needs for the `{module}` module")
        return reference

    def render(self, doc: Group, indent: int) -> str:
        """A call, one argument per line when it is too long or an argument spans lines."""
        broken = any("\n" in item or "\r" in item for item in doc.items if isinstance(item, str))
        return render(Group(doc.head, doc.items, doc.close, broken), " " * indent, self.unit,
                      self.newline)

    def literal(self, value: str) -> str:
        return string_literal(value, self.quote)

    def _function(self, name: str, mapping: Mapping, plan: Plan, source: DagSource,
                  header: list[str], tail: list[str], where: str,
                  file_name: str | None) -> cst.FunctionDef:
        """The ``@multi_asset`` function: written as text around a marker line, parsed, and the
        marker replaced by the statements copied from the DAG file (libcst nodes, which take
        the indentation of wherever they are put)."""
        u = self.unit
        operator = f"{plan.label} function" if plan.function is not None else plan.label
        about = (f"Scaffolded by airlift-lsp from {where} ({operator}), with the module-level "
                 "code it needs, imported here so that these definitions load without it.")
        if plan.kind in WRITERS or plan.sensor is not None:
            about = WRITERS.get(plan.kind, asset_sensors).about(where, plan)
        if plan.port is not None:
            given = ("the values its arguments have when Airflow reads the DAG file, written out" if plan.port.literals
                     is not None else "the task's arguments, with the module-level code they need")
            about = (f"Scaffolded by airlift-lsp from {where} ({plan.label}): {given}, given to "
                     f"`{plan.port.function}`, the port of `{plan.label}` in AIRFLOW_OPERATOR_PORTS.")
        if plan.lifted is not None:
            function, reads = plan.lifted
            given = f", given as keyword arguments what it reads from that function ({_names(reads)})" if reads else ""
            about += f" `{function}` is defined inside a function there: it is written at its top level{given}."
        if plan.derived is not None and plan.left:
            about += (f" `{plan.derived}` derives from `{plan.label}` and runs here as it, as "
                      f"AIRFLOW_OPERATOR_PORTS chooses: these are the arguments its class hands on to it. What the "
                      f"class changes stays in Airflow and is not carried: {'; '.join(plan.left)}.")
        elif plan.derived is not None:
            about += (f" `{plan.derived}` is the project's `{plan.label}` with values of its own: these are the "
                      f"arguments its class hands on to `{plan.label}`.")
        if plan.evaluated:
            about += (" Its values are those the operator is given when Airflow reads the DAG file (by "
                      "the project's code, or computed), written out: scaffold it again after they change.")
        if plan.variable_names:
            about += (f" Its code's `{plan.variable_names[0]}.get(...)` reads Airflow Variables as Airflow reads them "
                      "from the environment (AIRFLOW_VAR_<KEY>); set them in Dagster's.")
        if plan.exception_names:
            about += (f" Its code's `{plan.exception_names[0][0]}` is a class of this module that stands for "
                      "Airflow's: raised, it fails the asset, and so the proxied task, which Airflow retries.")
        if plan.variable_keys:
            names = ", ".join(f"`{k}` (AIRFLOW_VAR_{k.upper()})" for k in plan.variable_keys)
            about += (f" Its templated arguments read Airflow Variables in Jinja: {names}, read here as Airflow "
                      "reads them from the environment; set them in Dagster's.")
        if plan.renders_run:
            about += (" Its templated arguments read the Airflow run's values in Jinja (`{{ ds }}`...): rendered "
                      "here from the Airflow run whose proxied task launched this one, read through this "
                      "module's AirflowInstance; materialized otherwise, the asset fails.")
        if plan.context_values:
            names = ", ".join(f"`{k}`" for k in plan.context_values)
            again = "too" if plan.renders_run else ("from the Airflow run whose proxied task launched this one, "
                                                    "read through this module's AirflowInstance; materialized "
                                                    "otherwise, the asset fails")
            about += (f" Its code takes {names} from Airflow's task context: given here as Airflow gives them, "
                      f"{again}.")
        if plan.params is not None:
            about += (" Its params are the DAG file's, updated with the Airflow run's conf as Airflow updates them "
                      "(`[core] dag_run_conf_overrides_params`, on unless changed).")
        summary = f"Task `{self.task_id}` of Airflow DAG `{self.dag_id}`, run by Dagster."
        doc = [*_wrap(_in_docstring(summary), u + '"""', u), "", *_wrap(_in_docstring(about), u, u), f'{u}"""']
        copied = self._copied(plan, source, file_name)
        marker = [u + _MARK, ""] if copied else []
        writer = WRITERS.get(plan.kind)
        signature = writer.signature(self, plan) if writer else "() -> None"
        if plan.gate is not None or plan.port is not None:
            signature = f"(context: {self.dagster_name('AssetExecutionContext')})"
        elif plan.reads_run and signature.startswith("()"):  # the run is read through the context
            signature = f"(context: {self.dagster_name('AssetExecutionContext')}){signature[2:]}"
        lines = [self._decorator(name, mapping, plan), f"def {name}{signature}:", *doc,
                 *(u + line for line in header), *marker, *(u + line for line in tail)]
        function = cst.parse_statement(self.newline.join(lines) + self.newline,
                                       config=self.module.config_for_parsing)
        body = []
        for statement in function.body.body:
            is_marker = isinstance(statement, cst.SimpleStatementLine) and \
                self.module.code_for_node(statement).strip() == _MARK
            body.extend(copied if is_marker else [statement])
        return function.with_changes(body=function.body.with_changes(body=body))

    def _decorator(self, name: str, mapping: Mapping, plan: Plan) -> str:
        """``@multi_asset(specs=[...], name=...)``, the specs' code moved as it is written."""
        if hasattr(WRITERS.get(plan.kind), "decorator"):  # dbt's: its keys are dbt's
            return WRITERS[plan.kind].decorator(self, plan, name)
        specs = tuple(star(e) + expression_code(self.text, self.offsets, self.spans[e.value],
                                                  2 * len(self.unit), self.newline)
                      for e in mapping.specs)
        broken = any("\n" in spec or "\r" in spec for spec in specs)
        if plan.gate is not None:
            specs = gate_specs(self, plan, specs, self.dag_id, self.task_id)
        if plan.sensor is not None and plan.sensor.upstream:
            specs = asset_sensors.upstream_specs(self, plan, specs)
        options = (Group("specs=[", specs, "]", broken), f"name={self.literal(name)}")
        if plan.kind in WRITERS:
            options += WRITERS[plan.kind].decorator_options(self, plan)
        return render(Group(f"@{self._name('dagster', 'multi_asset')}(", options, ")", broken),
                      "", self.unit, self.newline)

    def _copied(self, plan: Plan, source: DagSource, file_name: str | None) -> list[cst.CSTNode]:
        """The DAG file's statements the body needs, in their order, then the task function."""
        statements, blank_before, previous = [], [], None
        for unit in plan.units:  # a blank line where statements were left out, not among imports
            for statement in source.statements(unit):
                blank_before.append(previous is None or (
                    unit.index - 1 != previous.index and not (is_import(unit) and is_import(previous))))
                statements.append(statement)
            previous = unit
        if plan.function is not None:
            definition = source.function(plan.function)
            kept = [d for i, d in enumerate(definition.decorators) if i not in plan.dropped_decorators]
            definition = definition.with_changes(decorators=kept)
            if not kept:
                definition = definition.with_changes(lines_after_decorators=())
            blank_before.append(True)
            statements.append(definition)
        transplant = Transplant(file_name, self.newline)
        return [statement.visit(transplant).with_changes(
                    leading_lines=kept_leading_lines(statement.leading_lines, blank))
                for statement, blank in zip(statements, blank_before)]

    def dagster_name(self, name: str) -> str:
        """How the module names ``dagster.<name>`` (importing it if need be)."""
        return self._name("dagster", name)

    def imported_name(self, source: str, name: str) -> str:
        """How the module names ``<source>.<name>`` (importing it if need be)."""
        return self._name(source, name)

    def _name(self, source: str, name: str) -> str:
        reference = self.imports.reference((source,), name)
        if reference is None:
            self.needed_names.append((source, name))
            reference = name
        return reference

    def _defines(self, name: str) -> bool:
        """Whether the module defines ``name`` at its top (a helper added before)."""
        return name in top_level_names(self.module)

    def definition(self, name: str) -> str | None:
        """The code of the module's top-level function ``name``, if it defines one."""
        return next((self.module.code_for_node(s) for s in self.module.body
                     if isinstance(s, cst.FunctionDef) and s.name.value == name), None)

    def _helper(self, name: str, plan: Plan) -> cst.BaseStatement:
        writer = owner(name)
        if writer is not None and name not in writer.DEFINITIONS:
            return cst.parse_statement(writer.constant(self, name, plan),
                                       config=self.module.config_for_parsing)
        text, modules = writer.DEFINITIONS[name] if writer else DEFINITIONS[name]
        for module in modules:
            used = re.compile(rf"(?<![\w.]){re.escape(module)}\.")
            if used.search(text):
                text = used.sub(self.module_reference(module) + ".", text)
        text = text.replace("    ", self.unit).replace("\n", self.newline)
        return cst.parse_statement(text, config=self.module.config_for_parsing)

    def _mapping_list(self, old: cst.List | cst.Tuple, new: cst.List) -> cst.List:
        """``[name]`` on one line when it fits, else as black lays it out."""
        start = self.positions[old].start
        line = self.text[self.offsets[start.line - 1]:self.offsets[start.line - 1] + start.column]
        name = new.elements[0].value.value
        if len(line) + len(name) + 3 <= LINE_WIDTH:
            return new
        indent = " " * (len(line) - len(line.lstrip()))
        nl = self.newline
        return absolute_indentation(cst.parse_expression(
            f"[{nl}{indent}{self.unit}{name},{nl}{indent}]", config=self.module.config_for_parsing))


_MARK = "__airlift_copied_code__"


def _in_docstring(text: str) -> str:
    """``text`` as a docstring shows it: backslashes and triple quotes (of a path, an id) escaped."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _wrap(text: str, first: str, then: str) -> list[str]:
    return textwrap.wrap(text, LINE_WIDTH, initial_indent=first, subsequent_indent=then,
                         break_on_hyphens=False, break_long_words=False)


def _asset_name(dag_id: str, task_id: str) -> str:
    """``<dag_id>__<task_id>`` with what Dagster and Python reject in names made ``_``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", f"{dag_id}__{task_id}")
    return "_" + name if name[0].isdigit() or keyword.iskeyword(name) else name


def _names(names: tuple[str, ...]) -> str:
    return ", ".join(f"`{n}`" for n in names)
