"""Scaffold the Dagster asset that runs what an Airflow task ran: dagster-airlift's "migrate" step.

``scaffold_task`` replaces the task's ``AssetSpec`` list in ``assets_with_task_mappings(...)`` by
``[<function>]``, the function being an executable ``@multi_asset(specs=[<those specs, moved
verbatim>], name="<dag_id>__<task_id>")`` defined just above the statement holding the mapping
(the shape of dagster-airlift's migration tutorial). Its body does what the task did:

- ``PythonOperator(python_callable=f, op_args=[...], op_kwargs={...})``: calls ``f`` with the
  same arguments (literal lists and dicts spread out, others unpacked with ``*``/``**``);
- ``BashOperator(bash_command=..., env=..., append_env=..., cwd=...)``: runs ``bash -c`` on the
  same command, with ``check=True``, in the same folder (a new temporary one without ``cwd``,
  as Airflow does) and environment (``env`` replaces the process's unless ``append_env``);
- a ``@task`` function called with static arguments: the function without its Airflow
  decorators (others stay), then its call.

The DAG file is read, never imported or run. The names the task's expressions use are resolved
to the DAG file's module-level statements before the DAG (imports, assignments, ``def``s, and
statements like ``sys.path.insert(...)`` that change what is needed), transitively, and those
are copied in their original order, with their comments, into the asset function's body,
imports included. Inside the body rather than at the module's top: the Dagster module keeps
loading as it did whatever the DAG files import (their imports run when the asset does), and
the copies from several DAG files cannot clash over names like ``DATA_DIR``.

What the copied code needs from the DAG file's place is made explicit, only when it is needed,
through two documented module-level helpers that the body calls: ``_airflow_import_roots``
puts on ``sys.path`` the folders Airflow puts there (its DAGs folder, where the tutorial's
``tutorial_shared`` lives), ``_airflow_dag_file`` gives the DAG file's path for its
``__file__``. Which folders are import roots is not guessed from the DAG file's location (a
DAG can sit deep below its DAGs folder): the caller passes them, each with the modules it holds
(``ImportRoot.from_disk``), and a root goes on ``sys.path`` only when the copied code imports
one of its modules. Paths are written relative to the Dagster module (``module_path``), so the
project can move as a whole.

Anything else is refused with a one-line reason, never scaffolded as a stub: other operators,
mapped tasks, XCom inputs, names defined inside the DAG or only after it, code that needs
Airflow, Jinja (only Airflow renders it), the task context (``ti``, ``ds``, ``**kwargs``),
``global`` declarations, relative imports. Not checked, because it would mean reading other
files: the signature of a callable imported from another module (Airflow drops ``op_kwargs``
it does not accept; Python will not). The analysis runs on ``ast`` (``can_scaffold`` costs
about a millisecond a task, for code lenses and action lists); the rewrite on libcst.
"""

from __future__ import annotations

import ast
import builtins
import copy
import io
import keyword
import os
import re
import symtable
import textwrap
import tokenize
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import libcst as cst
from libcst.metadata import (
    MetadataWrapper,
    PositionProvider,
    ScopeProvider,
    WhitespaceInclusivePositionProvider,
)

from analysis.cst_values import StaticReader, arguments
from analysis.dagfile import extract_file
from analysis.edits.result import (
    LINE_WIDTH,
    EditResult,
    Group,
    Imports,
    absolute_indentation,
    add_imports,
    check_output,
    parse,
    preferred_quote,
    render,
    string_literal,
)
from analysis.facts import TaskFacts
from analysis.names import Imports as AstImports
from analysis.source import LineIndex

WHAT = "the Dagster module"
IMPORT_ROOTS_HELPER = "_airflow_import_roots"
DAG_FILE_HELPER = "_airflow_dag_file"


@dataclass(frozen=True, slots=True)
class ImportRoot:
    """A folder Airflow puts on ``sys.path`` (its DAGs folder, plugins folder), in the same
    coordinates as the DAG and module paths, and the top-level modules it holds."""

    folder: str
    modules: frozenset[str]

    @classmethod
    def from_disk(cls, folder: str) -> ImportRoot:
        """The modules ``folder`` holds: ``*.py`` files and package folders (one disk listing)."""
        names = set()
        for entry in os.listdir(folder):
            stem = entry.removesuffix(".py")
            if stem.isidentifier() and stem != "__pycache__" and (
                    entry.endswith(".py") or os.path.isdir(os.path.join(folder, entry))):
                names.add(stem)
        return cls(folder, frozenset(names))


# -- the public API --------------------------------------------------------------------------


def can_scaffold(dag_text: str, task: TaskFacts) -> str | None:
    """None when ``task`` can be scaffolded, else why not (one line). Reads the DAG file only:
    the Dagster module may still refuse (the task not mapped yet, say)."""
    plan = _plan(dag_text, task)
    return plan if isinstance(plan, str) else None


def scaffold_task(dag_text: str, dag_path: str, dag_id: str, task_id: str, module_text: str | None,
                  *, module_path: str | None = None,
                  import_roots: Sequence[ImportRoot] = ()) -> EditResult:
    """Define the Dagster asset that runs task ``task_id`` of ``dag_id`` in the Dagster module.

    ``module_path`` (the Dagster module's path, like ``dag_path``) is needed only when the body
    must find the DAG file's folder: its ``__file__`` is used, or it imports a module of one of
    ``import_roots``. Unchanged (``changed=False``) when the task's mapping already holds a
    definition; refused, with the reason, when the task is not mapped yet or cannot be copied.
    """
    if module_text is None:
        return EditResult.refuse(f"{WHAT} does not exist yet: map task `{task_id}` first")
    facts = extract_file(dag_path, dag_text)
    if facts.error is not None:
        return EditResult.refuse(f"the DAG file cannot be read ({facts.error}): fix it first")
    dag = facts.dag(dag_id)
    if dag is None:
        return EditResult.refuse(f"{os.path.basename(dag_path)} defines no DAG `{dag_id}`")
    task = dag.task(task_id)
    if task is None:
        return EditResult.refuse(f"DAG `{dag_id}` has no task `{task_id}`")
    module = parse(module_text, WHAT)
    if isinstance(module, str):
        return EditResult.refuse(module)
    try:
        edit = _ModuleEdit(module_text, module, dag_id, task_id)
        found = edit.find_mapping()
        if isinstance(found, EditResult):
            return found
        plan = _plan(dag_text, task)
        if isinstance(plan, str):
            return EditResult.refuse(plan)
        dag_module = parse(dag_text, "the DAG file")
        if isinstance(dag_module, str):
            return EditResult.refuse(dag_module)
        source = _DagSource(dag_text, dag_module, task)
        return edit.apply(found, plan, source, _Places(dag_path, module_path, import_roots))
    except RecursionError:
        return EditResult.refuse("the DAG file or the Dagster module nests too deeply to scaffold")


# -- reading the DAG file: what the body needs ----------------------------------------------

_PYTHON_TASKS = frozenset({"@task", "@task.python"})
_CONTEXT_KEYS = frozenset({
    "conf", "conn", "dag", "dag_run", "data_interval_end", "data_interval_start", "ds",
    "ds_nodash", "exception", "execution_date", "expanded_ti_count", "inlet_events", "inlets",
    "logical_date", "macros", "map_index_template", "next_ds", "next_ds_nodash",
    "next_execution_date", "outlet_events", "outlets", "params", "prev_data_interval_end_success",
    "prev_data_interval_start_success", "prev_ds", "prev_ds_nodash", "prev_end_date_success",
    "prev_execution_date", "prev_execution_date_success", "prev_start_date_success", "run_id",
    "task", "task_instance", "task_instance_key_str", "templates_dict", "test_mode", "ti",
    "tomorrow_ds", "tomorrow_ds_nodash", "triggering_asset_events", "triggering_dataset_events",
    "ts", "ts_nodash", "ts_nodash_with_tz", "var", "yesterday_ds", "yesterday_ds_nodash"})
"""What Airflow passes a python callable for a parameter of that name (or ``**kwargs``)."""
_MODULE_NAMES = frozenset({"__name__", "__doc__", "__spec__", "__loader__", "__package__",
                           "__builtins__", "__annotations__"})
"""Every module has them: the copy reads the Dagster module's, which is harmless."""
_BUILTINS = frozenset(dir(builtins))
_JINJA = ("{{", "{%", "{#")


@dataclass(frozen=True, slots=True)
class _Unit:
    """A top-level statement of the DAG file (statements sharing a line count as one, as they
    do in libcst), what it binds at module level and what it changes without binding."""

    index: int
    statements: tuple[ast.stmt, ...]
    first_line: int
    """1-based, decorators included."""
    last_line: int
    binds: frozenset[str]
    mutates: frozenset[str]
    airflow_line: int | None
    """The line of an import from Airflow in it."""


class _DagFile:
    """The DAG file's ``ast`` and top-level statements, kept per text (the editor asks for
    every task of a file at once)."""

    def __init__(self, text: str) -> None:
        self.text = text
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.tree = ast.parse(text)
        self.lines = LineIndex(text)
        self.units = _units(self.tree.body)
        self.imports = AstImports()
        self.star_lines: list[int] = []
        for unit in self.units:
            for statement in unit.statements:
                for node in _module_level(statement):
                    if isinstance(node, (ast.Import, ast.ImportFrom)):
                        self.imports.add(node)
                        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                            self.star_lines.append(node.lineno)
        self._free: dict[int, frozenset[str]] = {}

    def unit_at(self, line: int) -> _Unit | None:
        for unit in self.units:
            if unit.first_line <= line <= unit.last_line:
                return unit
        return None

    def free(self, unit: _Unit) -> frozenset[str]:
        if unit.index not in self._free:
            self._free[unit.index] = _free_names(unit.statements)
        return self._free[unit.index]

    def qualified(self, node: ast.expr) -> str:
        return self.imports.qualify(node) or ""

    def call_at(self, task: TaskFacts) -> ast.Call | None:
        for node in ast.walk(self.tree):  # `t.override(...)(...)`: both calls start there
            if isinstance(node, ast.Call) and node.lineno - 1 == task.range.start.line and \
                    self.lines.range_of(node) == task.range:
                return node
        return None


_DAG_FILES: dict[str, _DagFile] = {}


def _dag_file(text: str) -> _DagFile | str:
    cached = _DAG_FILES.get(text)
    if cached is None:
        try:
            cached = _DagFile(text)
        except (SyntaxError, ValueError) as error:
            return f"the DAG file cannot be parsed ({error}): fix it first"
        except (RecursionError, MemoryError):
            return "the DAG file nests too deeply to read"
        if len(_DAG_FILES) >= 8:
            _DAG_FILES.pop(next(iter(_DAG_FILES)))
        _DAG_FILES[text] = cached
    return cached


def _units(body: list[ast.stmt]) -> list[_Unit]:
    groups: list[list[ast.stmt]] = []
    for statement in body:
        if groups and statement.lineno == groups[-1][-1].end_lineno:
            groups[-1].append(statement)
        else:
            groups.append([statement])
    units = []
    for index, group in enumerate(groups):
        first = min([group[0].lineno, *(d.lineno for d in getattr(group[0], "decorator_list", ()))])
        binds: set[str] = set()
        airflow = None
        for statement in group:
            binds |= _bindings(statement)
            for node in _module_level(statement):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and airflow is None and \
                        any(_is_airflow(m) for m in _imported_modules(node)):
                    airflow = node.lineno
        units.append(_Unit(index, tuple(group), first, group[-1].end_lineno or group[-1].lineno,
                           frozenset(binds), frozenset(_mutations(group)), airflow))
    return units


def _is_airflow(module: str) -> bool:
    return module == "airflow" or module.startswith(("airflow.", "dagster_airlift.in_airflow"))


def _imported_modules(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    return ["." * node.level + (node.module or "")]


def _module_level(statement: ast.stmt) -> Iterable[ast.stmt]:
    """The statement and those nested in it that run at module level (not in defs/classes)."""
    yield statement
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        for child in getattr(statement, field, ()):
            if isinstance(child, (ast.ExceptHandler, ast.match_case)):
                for inner in child.body:
                    yield from _module_level(inner)
            elif isinstance(child, ast.stmt):
                yield from _module_level(child)


class _Bindings(ast.NodeVisitor):
    """Names a statement binds in the scope it runs in (not inside its defs and lambdas)."""

    def __init__(self) -> None:
        self.names: set[str] = set()

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.names.add(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.names.add(node.name)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        pass

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(a.asname or a.name.split(".")[0] for a in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self.names.update(a.asname or a.name for a in node.names if a.name != "*")

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_MatchAs(self, node: ast.MatchAs) -> None:
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)

    def visit_MatchStar(self, node: ast.MatchStar) -> None:
        if node.name:
            self.names.add(node.name)


def _bindings(statement: ast.stmt) -> set[str]:
    visitor = _Bindings()
    visitor.visit(statement)
    return visitor.names


def _all_bindings(node: ast.AST) -> set[str]:
    """Every name bound anywhere in ``node``, parameters included (for "inside the DAG")."""
    names = set()
    for child in ast.walk(node):
        if isinstance(child, ast.stmt):
            names |= _bindings(child)
        elif isinstance(child, ast.arg):
            names.add(child.arg)
    return names


def _bound_before(statements: Sequence[ast.stmt], call: ast.Call) -> set[str]:
    """Names the DAG's module-level code binds before ``call`` runs (``t = Op(python_callable=t)``
    reads the ``t`` of before, so the statement around the call does not count)."""
    names: set[str] = set()
    for statement in statements:
        for node in _module_level(statement):
            if (node.lineno, node.col_offset) >= (call.lineno, call.col_offset):
                continue
            around = (node.end_lineno, node.end_col_offset) >= (call.end_lineno, call.end_col_offset)
            if not around:
                names |= _bindings(node)
            elif isinstance(node, (ast.With, ast.AsyncWith)):  # `as` names bind before the body
                names.update(n.id for item in node.items if item.optional_vars is not None
                             for n in ast.walk(item.optional_vars) if isinstance(n, ast.Name))
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                names.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    return names


def _enclosing_locals(statements: Sequence[ast.stmt], target: ast.AST) -> set[str]:
    """Names bound by the functions around ``target`` (closures see them before the module's)."""

    def search(node: ast.AST, scopes: list[ast.AST]) -> list[ast.AST] | None:
        if node is target:
            return scopes
        inner = [*scopes, node] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                     ast.Lambda)) else scopes
        for child in ast.iter_child_nodes(node):
            found = search(child, inner)
            if found is not None:
                return found
        return None

    names: set[str] = set()
    for statement in statements:
        scopes = search(statement, [])
        if scopes is None:
            continue
        for scope in scopes:
            names.update(a.arg for a in ast.walk(scope.args) if isinstance(a, ast.arg))
            body = scope.body if isinstance(scope.body, list) else []
            for child in body:
                names |= _bindings(child)
    return names


def _mutations(statements: Iterable[ast.stmt]) -> set[str]:
    """Names whose objects a statement changes without binding them: ``sys.path.append(x)``,
    ``CONFIG["a"] = 1``. Such statements are copied along with the names they change."""
    roots = set()
    for statement in statements:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call) and \
                isinstance(statement.value.func, ast.Attribute):
            roots.add(_root(statement.value.func))
        targets = statement.targets if isinstance(statement, ast.Assign) else \
            [statement.target] if isinstance(statement, (ast.AugAssign, ast.AnnAssign)) else \
            statement.targets if isinstance(statement, ast.Delete) else []
        roots.update(_root(t) for t in targets if isinstance(t, (ast.Attribute, ast.Subscript)))
    return {r for r in roots if r}


def _root(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _free_names(nodes: Sequence[ast.AST]) -> frozenset[str]:
    """Names the code reads from its module's scope (those it binds itself included, so that
    ``x = x + 1`` needs the earlier ``x``). Python's own ``symtable`` decides the scoping."""
    body = [n if isinstance(n, ast.stmt) else ast.Expr(n) for n in nodes]
    source = ast.unparse(ast.Module(body=body, type_ignores=[]))
    table = symtable.symtable(source, "<scaffold>", "exec")
    names = {s.get_name() for s in table.get_symbols() if s.is_referenced()}
    pending = list(table.get_children())
    while pending:
        child = pending.pop()
        pending.extend(child.get_children())
        names.update(s.get_name() for s in child.get_symbols() if s.is_global() and s.is_referenced())
    return frozenset(names)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the asset's body is made of, found in the DAG file's ``ast``."""

    kind: str
    """"PythonOperator", "BashOperator" or "@task"."""
    label: str
    """The operator as the docstring names it."""
    units: tuple[_Unit, ...]
    function: ast.FunctionDef | None
    """The ``@task`` function to copy."""
    dropped_decorators: frozenset[int]
    """Indexes of the function's Airflow decorators."""
    uses_file: bool
    imported: frozenset[str]
    """Top-level modules the copied code imports."""
    bound: dict[str, frozenset[str]]
    """Names the copied code binds in the body: to the modules ``import x`` binds, else ``""``."""
    mentioned: frozenset[str]
    """Every name the copied code and arguments use or bind (new locals must differ)."""
    append_env: bool = False


def _plan(dag_text: str, task: TaskFacts) -> _Plan | str:
    try:
        return _read_plan(dag_text, task)
    except (SyntaxError, ValueError, RecursionError) as error:  # symtable on odd code, say
        return f"task `{task.task_id}` cannot be read statically ({error})"


def _read_plan(dag_text: str, task: TaskFacts) -> _Plan | str:
    dag = _dag_file(dag_text)
    if isinstance(dag, str):
        return dag
    label = f"task `{task.task_id}`"
    if task.mapped:
        return (f"{label} is mapped (`.expand`): Airflow runs it once per input, which one "
                "Dagster asset cannot do as scaffolded")
    if task.dynamic:
        return f"{label} has an id that cannot be read statically"
    call = dag.call_at(task)
    dag_unit = dag.unit_at(task.range.start.line + 1)
    if call is None or dag_unit is None:
        return f"the call that creates {label} was not found"
    if task.operator in _PYTHON_TASKS:
        return _taskflow_plan(dag, task, call, dag_unit)
    if task.operator.startswith("@"):
        return (f"{label} is a `{task.operator}` task: only PythonOperator, BashOperator and "
                "@task tasks are scaffolded")
    qualified = dag.qualified(call.func)
    kind = qualified.rsplit(".", 1)[-1] if qualified.startswith("airflow.") else ""
    if kind not in ("PythonOperator", "BashOperator"):
        return (f"{label} uses `{task.operator}`: only PythonOperator, BashOperator and "
                "@task tasks are scaffolded")
    if call.args or any(k.arg is None for k in call.keywords):
        return f"{label} passes arguments by position or `**`: they cannot be read statically"
    options = {k.arg: k.value for k in call.keywords
               if not (isinstance(k.value, ast.Constant) and k.value.value is None)}
    builder = _PlanBuilder(dag, task, call, dag_unit, kind, kind)
    return builder.python(options) if kind == "PythonOperator" else builder.bash(options)


def _taskflow_plan(dag: _DagFile, task: TaskFacts, call: ast.Call, dag_unit: _Unit) -> _Plan | str:
    label = f"task `{task.task_id}`"
    function = None
    if task.definition_range is not None:
        line = task.definition_range.start.line + 1
        function = next((n for n in ast.walk(dag.tree)
                         if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                         and n.lineno == line and n.name == task.callable_name), None)
    if function is None:
        return f"the function of {label} was not found"
    if isinstance(function, ast.AsyncFunctionDef):
        return f"{label} is an `async` function: scaffold it by hand"
    dropped = frozenset(i for i, d in enumerate(function.decorator_list)
                        if _is_airflow(dag.qualified(d.func if isinstance(d, ast.Call) else d)))
    builder = _PlanBuilder(dag, task, call, dag_unit, "@task", task.operator)
    return builder.taskflow(function, dropped)


class _PlanBuilder:
    def __init__(self, dag: _DagFile, task: TaskFacts, call: ast.Call, dag_unit: _Unit,
                 kind: str, label: str) -> None:
        self.dag, self.call, self.dag_unit = dag, call, dag_unit
        self.kind, self.label = kind, label
        self.name = f"task `{task.task_id}`"
        self.units: set[int] = set()
        self.resolved: set[tuple[str, str]] = set()
        self.module_names: set[str] = set()
        """Resolved names that module-level statements bind."""
        at_call = _bound_before(dag_unit.statements, call) | _enclosing_locals(dag_unit.statements, call)
        self.hidden = {"argument": at_call, "callable": at_call, "function": dag_unit.binds,
                       "module": dag_unit.binds}
        """Per role, the names that the DAG's own code binds where they are read: the call's
        arguments are read when the DAG is built, functions' globals when the task runs."""
        self.uses_file = False
        self._dag_names: set[str] | None = None

    # -- the three kinds ----------------------------------------------------------------------

    def python(self, options: dict[str, ast.expr]) -> _Plan | str:
        if "python_callable" not in options:
            return f"{self.name} has no `python_callable`"
        for option in ("templates_dict", "templates_exts"):
            if option in options:
                return f"{self.name} uses `{option}`, which only Airflow renders"

        function = options["python_callable"]
        op_args, op_kwargs = options.get("op_args"), options.get("op_kwargs")
        problem = (self._templates([op_args, op_kwargs], "the arguments")
                   or self._callable_signature(function, op_args, op_kwargs)
                   or self.need([function], "callable")
                   or self.need([n for n in (op_args, op_kwargs) if n is not None], "argument"))
        return problem or self.finish([function, op_args, op_kwargs])

    def bash(self, options: dict[str, ast.expr]) -> _Plan | str:
        command = options.get("bash_command")
        if command is None:
            return f"{self.name} has no `bash_command`"
        for option in ("skip_on_exit_code", "skip_exit_code"):
            if option in options:
                return (f"{self.name} uses `{option}`: a skipped run is Airflow's, scaffold it "
                        "by hand")
        append_env = options.get("append_env")
        if append_env is not None and not (isinstance(append_env, ast.Constant)
                                           and isinstance(append_env.value, bool)):
            return f"the `append_env` of {self.name} is not a constant True or False"
        tail = _last_text(command)
        if tail is not None and tail.endswith((".sh", ".bash")):
            return (f"the bash command of {self.name} names a script ({tail.split()[-1]!r}) that "
                    "Airflow reads as a Jinja template")
        values = [options[k] for k in ("bash_command", "env", "cwd") if k in options]
        problem = self._templates(values, "the command, environment or folder") or \
            self.need(values, "argument")
        return problem or self.finish(values, append_env=bool(append_env and append_env.value))

    def taskflow(self, function: ast.FunctionDef, dropped: frozenset[int]) -> _Plan | str:
        call_args = [*self.call.args, *(k.value for k in self.call.keywords)]
        kept = [d for i, d in enumerate(function.decorator_list) if i not in dropped]
        bare = copy.copy(function)
        bare.decorator_list = []
        free = _free_names([bare]) - {function.name}
        self.hidden["function"] = self.hidden["function"] | \
            _enclosing_locals(self.dag_unit.statements, function)
        problem = (self._templates(call_args, "the arguments")
                   or self._signature(function.args, self.call.args, self.call.keywords, "function")
                   or self.need_names(free | _free_names(kept), "function")
                   or self.need(call_args, "argument"))
        if problem:
            return problem
        return self.finish([*call_args, *kept], function=function, dropped=dropped)

    # -- checks -----------------------------------------------------------------------------

    def _templates(self, nodes: Iterable[ast.AST | None], what: str) -> str | None:
        for node in nodes:
            text = _jinja(node)
            if text is not None:
                return (f"{what} of {self.name} use Jinja ({text!r}), which only Airflow "
                        "renders")
        return None

    def _callable_signature(self, function: ast.expr, op_args: ast.expr | None,
                            op_kwargs: ast.expr | None) -> str | None:
        args = None
        if isinstance(function, ast.Lambda):
            args = function.args
        elif isinstance(function, ast.Name):
            definition = self._module_function(function.id)
            args = definition.args if definition is not None else None
        if args is None:  # imported: its signature is not read (that would mean reading its file)
            return None
        positional = op_args.elts if isinstance(op_args, (ast.List, ast.Tuple)) else \
            [] if op_args is None else None
        keywords = None
        if op_kwargs is None:
            keywords = []
        elif isinstance(op_kwargs, ast.Dict) and all(isinstance(k, ast.Constant) for k in op_kwargs.keys):
            keywords = [ast.keyword(arg=str(k.value), value=v)
                        for k, v in zip(op_kwargs.keys, op_kwargs.values)]
        if positional is None or keywords is None:
            return self._signature(args, [ast.Starred()], [ast.keyword(arg=None)], "callable")
        return self._signature(args, positional, keywords, "callable")

    def _signature(self, args: ast.arguments, positional: Sequence[ast.expr],
                   keywords: Sequence[ast.keyword], what: str) -> str | None:
        """Refuse what Airflow would fill from the task context: ``**kwargs``, or parameters
        named like context variables that the call does not pass."""
        if args.kwarg is not None:
            return (f"the {what} of {self.name} takes `**{args.kwarg.arg}`, through which Airflow "
                    "passes the task context (ti, ds, ...): Dagster has none")
        if any(isinstance(a, ast.Starred) for a in positional) or any(k.arg is None for k in keywords):
            return None  # unpacked arguments: which parameters they fill is not known
        params = [*args.posonlyargs, *args.args]
        given = {p.arg for p in params[:len(positional)]} | {k.arg for k in keywords}
        defaults = {p.arg for p in params[len(params) - len(args.defaults):]} if args.defaults else set()
        defaults |= {p.arg for p, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
        for param in [*params, *args.kwonlyargs]:
            if param.arg in given:
                continue
            if param.arg in _CONTEXT_KEYS:
                return (f"the {what} of {self.name} takes `{param.arg}` from the Airflow task "
                        "context, which Dagster does not have")
            if param.arg not in defaults:
                return f"the {what} of {self.name} gets no value for parameter `{param.arg}`"
        return None

    def _module_function(self, name: str) -> ast.FunctionDef | None:
        """The last module-level ``def name`` before the DAG."""
        found = None
        for unit in self.dag.units[:self.dag_unit.index]:
            for statement in unit.statements:
                if isinstance(statement, ast.FunctionDef) and statement.name == name:
                    found = statement
        return found

    # -- resolving names to module-level statements ------------------------------------------------

    def need(self, nodes: Sequence[ast.AST], role: str) -> str | None:
        return self.need_names(_free_names(nodes) if nodes else frozenset(), role)

    def need_names(self, names: Iterable[str], role: str) -> str | None:
        """Add the module-level statements that bind ``names``, transitively; or say why not.

        ``role`` says where the names are read: "argument" (the task's arguments), "callable"
        or "function" (what the task runs), "module" (the DAG file's module-level code)."""
        before = self.dag.units[:self.dag_unit.index]
        pending = [(name, role, None) for name in sorted(names, reverse=True)]
        while True:
            while pending:
                name, why, needed_by = pending.pop()
                if (name, why) in self.resolved:
                    continue
                self.resolved.add((name, why))
                if name in self.hidden[why]:  # the DAG's code rebinds it: not the module's value
                    return self._inside_dag(name, why)
                if name == "__file__":
                    self.uses_file = True
                    continue
                binding = [u for u in before if name in u.binds]
                if binding:
                    self.module_names.add(name)
                else:
                    problem = self._unbound(name, why)
                    if problem:
                        return problem
                    continue
                for unit in binding:
                    if unit.index in self.units:
                        continue
                    if why == "argument" and _creates_task(unit):
                        return (f"{self.name} gets `{name}`, another task or its output (an XCom "
                                "value): only module-level values can be copied to Dagster")
                    if unit.airflow_line is not None:
                        chain = f" (for `{needed_by}`)" if needed_by else ""
                        return (f"{self.name} needs `{name}`{chain}, which comes from Airflow (the "
                                f"import on line {unit.airflow_line}): Dagster cannot run it")
                    self.units.add(unit.index)
                    pending.extend((n, "module", name)
                                   for n in sorted(self.dag.free(unit), reverse=True))
            # statements like ``sys.path.append(...)`` go along with what they change
            changed = [u for u in before if u.index not in self.units
                       and u.airflow_line is None and u.mutates & self.module_names]
            if not changed:
                return None
            for unit in changed:
                self.units.add(unit.index)
                pending.extend((n, "module", None) for n in sorted(self.dag.free(unit)))

    def _inside_dag(self, name: str, role: str) -> str:
        if role == "argument":
            return (f"{self.name} gets `{name}` from inside the DAG (another task or its output, "
                    "an XCom value): only module-level values can be copied to Dagster")
        return (f"`{name}`, used by {self.name}, is defined inside the DAG: move it to module "
                "level to scaffold the task")

    def _unbound(self, name: str, role: str) -> str | None:
        """Why a name with no module-level binding before the DAG cannot be copied (None when it
        is a builtin)."""
        if name in self._names_inside_dag():
            return self._inside_dag(name, role)
        if name in _BUILTINS or name in _MODULE_NAMES:
            return None
        later = next((u for u in self.dag.units[self.dag_unit.index + 1:] if name in u.binds), None)
        if later is not None:
            return (f"`{name}`, used by {self.name}, is defined after the DAG (line "
                    f"{later.first_line}): move it above to scaffold the task")
        if self.dag.star_lines:
            return (f"`{name}`, used by {self.name}, may come from the `import *` on line "
                    f"{self.dag.star_lines[0]}: import it by name to scaffold the task")
        return f"`{name}`, used by {self.name}, is not defined in the DAG file"

    def _names_inside_dag(self) -> set[str]:
        """Every name the DAG's statement binds, in any scope."""
        if self._dag_names is None:
            self._dag_names = set()
            for statement in self.dag_unit.statements:
                self._dag_names |= _all_bindings(statement)
        return self._dag_names

    # -- the plan ---------------------------------------------------------------------------

    def finish(self, expressions: Sequence[ast.AST | None], *, function: ast.FunctionDef | None = None,
               dropped: frozenset[int] = frozenset(), append_env: bool = False) -> _Plan | str:
        units = tuple(u for u in self.dag.units if u.index in self.units)
        copied: list[ast.AST] = [s for u in units for s in u.statements]
        if function is not None:
            copied.append(function)
        imported = set()
        for node in copied:
            for child in ast.walk(node):
                if isinstance(child, ast.Global):
                    return (f"the code of {self.name} declares `global {', '.join(child.names)}` "
                            f"(line {child.lineno}), which in Dagster would be the Dagster module's")
                if isinstance(child, ast.ImportFrom) and child.level:
                    return (f"{self.name} needs a relative import (line {child.lineno}), which "
                            "does not work from the Dagster module")
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    imported.update(m.split(".")[0] for m in _imported_modules(child))
        jinja = next((_jinja(s) for u in units for s in u.statements
                      if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                      and _jinja(s) is not None), None)
        if jinja is not None:
            return (f"{self.name} uses a module-level value with Jinja ({jinja!r}), which only "
                    "Airflow renders")
        bound: dict[str, set[str]] = {}
        for unit in units:
            for statement in unit.statements:
                for name in _bindings(statement):
                    bound.setdefault(name, set()).add(_import_binding(statement, name))
        if function is not None:
            bound.setdefault(function.name, set()).add("")
        mentioned = set(bound)
        for node in [*copied, *(e for e in expressions if e is not None)]:
            mentioned |= _all_bindings(node)
            mentioned.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
        return _Plan(self.kind, self.label, units, function, dropped, self.uses_file,
                     frozenset(imported), {k: frozenset(v) for k, v in bound.items()},
                     frozenset(mentioned), append_env)


def _import_binding(statement: ast.stmt, name: str) -> str:
    """The module ``name`` is bound to when ``statement`` is a plain ``import name``, else ""."""
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.asname is None and alias.name == name:
                return name
    return ""


def _jinja(node: ast.AST | None) -> str | None:
    """A string constant with Jinja markup in ``node`` (f-strings included, by their value)."""
    if node is None:
        return None
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str) and \
                any(mark in child.value for mark in _JINJA):
            return child.value
    return None


def _last_text(node: ast.expr) -> str | None:
    """The end of a string expression when it is literal text (where Airflow looks for a
    template file's ``.sh`` suffix)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[-1], ast.Constant):
        return str(node.values[-1].value)
    return None


# -- the DAG file in libcst: the text to copy ---------------------------------------------------


class _DagSource:
    """The DAG file's libcst tree, for the statements and expressions the body copies."""

    def __init__(self, text: str, module: cst.Module, task: TaskFacts) -> None:
        self.text = text
        self.wrapper = MetadataWrapper(module)
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.spans = self.wrapper.resolve(WhitespaceInclusivePositionProvider)
        self.offsets = _line_offsets(text)
        start, end = task.range.start, task.range.end
        self.call = next((n for n, p in self.positions.items() if isinstance(n, cst.Call)
                          and (p.start.line, p.start.column) == (start.line + 1, start.character)
                          and (p.end.line, p.end.column) == (end.line + 1, end.character)), None)

    def statements(self, unit: _Unit) -> list[cst.CSTNode]:
        return [s for s in self.module.body
                if unit.first_line <= self.positions[s].start.line <= unit.last_line]

    def function(self, function: ast.FunctionDef) -> cst.FunctionDef | None:
        return next((n for n, p in self.positions.items() if isinstance(n, cst.FunctionDef)
                     and n.name.value == function.name and p.start.line == function.lineno), None)

    def code(self, node: cst.CSTNode, file_name: str | None, indent: int, newline: str) -> str:
        """The node's code as written, ``__file__`` renamed to ``file_name``."""
        renames = [(self.positions[n].start, "__file__", file_name)
                   for n in _file_names(node)] if file_name is not None else []
        return _expression_code(self.text, self.offsets, self.spans[node], indent, newline, renames)


def _line_offsets(text: str) -> list[int]:
    offsets = [0]
    offsets.extend(m.end() for m in re.finditer(r"\r\n|\r|\n", text))
    return offsets


def _expression_code(text: str, offsets: list[int], span, indent: int, newline: str,
                     renames: Sequence[tuple[object, str, str]] = ()) -> str:
    """An expression's code as written (parentheses and comments included), for a first line
    indented by ``indent``; ``renames``: (position, old, new) of names to rename."""
    start = offsets[span.start.line - 1] + span.start.column
    code = text[start:offsets[span.end.line - 1] + span.end.column]
    for position, old, new in sorted(renames, key=lambda r: (r[0].line, r[0].column), reverse=True):
        at = offsets[position.line - 1] + position.column - start
        code = code[:at] + new + code[at + len(old):]
    line = text[offsets[span.start.line - 1]:start]
    return _reindent(code.strip(), indent - (len(line) - len(line.lstrip())), newline)


def _file_names(node: cst.CSTNode) -> list[cst.Name]:
    found = []

    class Find(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            if name.value == "__file__":
                found.append(name)

    node.visit(Find())
    return found


def _reindent(code: str, shift: int, newline: str) -> str:
    """Shift the continuation lines of an expression's code, unless a string spans lines
    (moving those would change it; inside brackets the result parses either way), and end its
    lines like the module's (Python reads every line ending as ``\\n``, strings included)."""
    lines = re.split(r"\r\n|\r|\n", code)
    if shift and len(lines) > 1 and not _has_multiline_string(code):
        lines[1:] = [line if not line.strip() else " " * shift + line if shift > 0
                     else line[min(-shift, len(line) - len(line.lstrip(" "))):] for line in lines[1:]]
    return newline.join(lines)


def _has_multiline_string(code: str) -> bool:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(f"(\n{code}\n)").readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return True
    string_types = {tokenize.STRING, getattr(tokenize, "FSTRING_MIDDLE", tokenize.STRING)}
    return any(t.type in string_types and ("\n" in t.string or "\r" in t.string) for t in tokens)


class _Transplant(cst.CSTTransformer):
    """Fit copied statements to the Dagster module: ``__file__`` renamed (``file_name``), the
    line endings inside strings made the module's (Python reads them all as ``\\n``)."""

    def __init__(self, file_name: str | None, newline: str) -> None:
        super().__init__()
        self.file_name, self.newline = file_name, newline

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.Name:
        if original_node.value == "__file__" and self.file_name is not None:
            return updated_node.with_changes(value=self.file_name)
        return updated_node

    def leave_SimpleString(self, original_node, updated_node):
        return updated_node.with_changes(value=self._newlines(updated_node.value))

    def leave_FormattedStringText(self, original_node, updated_node):
        return updated_node.with_changes(value=self._newlines(updated_node.value))

    def _newlines(self, text: str) -> str:
        return re.sub(r"\r\n|\r|\n", self.newline, text)


# -- writing the Dagster module ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Places:
    dag_path: str
    module_path: str | None
    import_roots: Sequence[ImportRoot]

    def relative(self, path: str) -> str | None:
        """``path`` relative to the Dagster module's folder, with ``/``; None without one."""
        if self.module_path is None:
            return None
        try:
            relative = os.path.relpath(path, os.path.dirname(self.module_path) or ".")
        except ValueError:  # another drive
            return None
        return relative.replace(os.sep, "/")


@dataclass(frozen=True, slots=True)
class _Mapping:
    """The task's list of assets in ``task_mappings``, and the statement that holds it."""

    node: cst.List | cst.Tuple
    specs: tuple[cst.BaseExpression, ...]
    statement: cst.BaseStatement


class _Finder(StaticReader):
    def __init__(self) -> None:
        super().__init__()
        self.mapping_calls: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        if any(n.split(".")[0] == "dagster_airlift" and n.endswith(".assets_with_task_mappings")
               for n in self.qualified(node.func)):
            self.mapping_calls.append(node)

    def dagster_name(self, node: cst.CSTNode) -> str | None:
        for name in self.qualified(node):
            if name.split(".")[0] == "dagster":
                return name.rsplit(".", 1)[-1]
        return None


class _ModuleEdit:
    def __init__(self, text: str, module: cst.Module, dag_id: str, task_id: str) -> None:
        self.text, self.dag_id, self.task_id = text, dag_id, task_id
        self.wrapper = MetadataWrapper(module)
        self.module = self.wrapper.module
        self.positions = self.wrapper.resolve(PositionProvider)
        self.spans = self.wrapper.resolve(WhitespaceInclusivePositionProvider)
        self.scopes = self.wrapper.resolve(ScopeProvider)
        self.offsets = _line_offsets(text)
        self.imports = Imports(self.module)
        self.unit = self.module.default_indent
        self.newline = self.module.default_newline
        self.quote = preferred_quote(self.module)
        self.label = f"task `{task_id}` of DAG `{dag_id}`"
        self.needed_names: list[tuple[str, str]] = []
        self.needed_modules: list[str] = []
        self.clashes: list[str] = []

    # -- the task's mapping ---------------------------------------------------------------

    def find_mapping(self) -> _Mapping | EditResult:
        finder = _Finder()
        with finder.resolve(self.wrapper):
            self.module.visit(finder)
            lists = []
            for call in finder.mapping_calls:
                dag_arg, mappings_arg = arguments(call, ("dag_id", "task_mappings"))
                mappings = finder.deref(mappings_arg)
                if finder.string(dag_arg) != self.dag_id or not isinstance(mappings, cst.Dict):
                    continue
                lists.extend(e.value for e in mappings.elements if isinstance(e, cst.DictElement)
                             and finder.string(e.key) == self.task_id)
            if not lists:
                return EditResult.refuse(f"{self.label} is not mapped to an asset in {WHAT}: "
                                         "map it first")
            if len(lists) > 1:
                return EditResult.refuse(f"{self.label} is mapped more than once in {WHAT}")
            node = lists[0]
            if not isinstance(node, (cst.List, cst.Tuple)) or not node.elements:
                return EditResult.refuse(f"the mapping of {self.label} is not a list of AssetSpecs "
                                         "written out: scaffold it by hand")
            for element in node.elements:
                if not self._is_spec(finder, element.value, isinstance(element, cst.StarredElement)):
                    code = self.module.code_for_node(element.value)
                    return EditResult.nothing_to_do(
                        self.text, f"{self.label} already has a Dagster definition in its "
                        f"mapping (`{code}`)")
        statement = next(s for s in self.module.body if self._contains(s, node))
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            return EditResult.refuse(f"the mapping of {self.label} is inside `{statement.name.value}`:"
                                     " scaffold it by hand")
        return _Mapping(node, tuple(node.elements), statement)

    def _is_spec(self, finder: _Finder, node: cst.BaseExpression, starred: bool, depth: int = 0) -> bool:
        if depth > 8:
            return False
        target = finder.deref(node)
        if starred:
            return isinstance(target, (cst.List, cst.Tuple)) and all(
                self._is_spec(finder, e.value, isinstance(e, cst.StarredElement), depth + 1)
                for e in target.elements)
        if not isinstance(target, cst.Call):
            return False
        if finder.dagster_name(target.func) == "AssetSpec":
            return True
        return isinstance(target.func, cst.Attribute) and target.func.attr.value in (
            "replace_attributes", "merge_attributes", "with_io_manager_key") and \
            self._is_spec(finder, target.func.value, False, depth + 1)

    def _contains(self, outer: cst.CSTNode, inner: cst.CSTNode) -> bool:
        a, b = self.positions[outer], self.positions[inner]
        return (a.start.line, a.start.column) <= (b.start.line, b.start.column) and \
            (b.end.line, b.end.column) <= (a.end.line, a.end.column)

    # -- the edit -------------------------------------------------------------------------

    def apply(self, mapping: _Mapping, plan: _Plan, source: _DagSource, places: _Places) -> EditResult:
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
            header.append(f"{IMPORT_ROOTS_HELPER}({', '.join(self._str(r) for r in relative)})")
            helpers.append(IMPORT_ROOTS_HELPER)
        file_name = None
        if plan.uses_file:
            relative = places.relative(places.dag_path)
            if relative is None:
                return EditResult.refuse("the Dagster module's path is needed to give the copied "
                                         "code the DAG file's `__file__`")
            file_name = _fresh("dag_file", plan.mentioned)
            header.append(f"{file_name} = {DAG_FILE_HELPER}({self._str(relative)})")
            helpers.append(DAG_FILE_HELPER)
        for helper in helpers:
            if helper in plan.bound:
                return EditResult.refuse(f"the DAG file's `{helper}` would hide {WHAT}'s helper")
        tail = self._tail(plan, source, file_name)
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
        body[index:index + 1] = [function.with_changes(leading_lines=blank),
                                 target.with_changes(leading_lines=blank + kept)]
        # helpers stay together: after those the module has, else before the new asset
        existing = [i for i, s in enumerate(body) if isinstance(s, cst.FunctionDef)
                    and s.name.value in _HELPERS]
        at = existing[-1] + 1 if existing else index
        body[at:at] = [self._helper(h).with_changes(leading_lines=blank) for h in helpers
                       if not self._defines(h)]
        module = module.with_changes(body=body)
        module = add_imports(module, self.needed_names)
        for name_ in self.needed_modules:
            module = _add_module_import(module, name_)
        return check_output(module.code, WHAT)

    def _tail(self, plan: _Plan, source: _DagSource, file_name: str | None) -> list[str] | str:
        """The statements after the copied code: the call, or the command."""
        if source.call is None:
            return "the call that creates the task was not found in the DAG file's syntax tree"
        unit = len(self.unit)
        args = {a.keyword.value: a.value for a in source.call.args
                if a.keyword is not None and not _is_none(a.value)}

        def code(node: cst.CSTNode, indent: int = 2 * unit) -> str:
            return source.code(node, file_name, indent, self.newline)

        if plan.kind == "PythonOperator":
            function = args["python_callable"]
            callee = code(function, unit)
            if not isinstance(function, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
                callee = f"({callee})"
            items = self._python_arguments(args.get("op_args"), args.get("op_kwargs"), code)
            return [self._render(Group(callee + "(", tuple(items), ")"), unit)]
        if plan.kind == "@task":
            items = [_star(a) + (f"{a.keyword.value}=" if a.keyword else "") + code(a.value)
                     for a in source.call.args]
            return [self._render(Group(plan.function.name + "(", tuple(items), ")"), unit)]
        run = self._module_reference("subprocess", plan)
        command = _fresh("bash_command", plan.mentioned)
        lines = [f"{command} = {code(args['bash_command'], unit)}"]
        options = [f"[{self._str('bash')}, {self._str('-c')}, {command}]", "check=True"]
        if "cwd" in args:
            options.append(f"cwd={code(args['cwd'])}")
        if "env" in args:
            env = code(args["env"])
            if plan.append_env:  # else the given environment replaces the process's, as in Airflow
                env = f"{{**{self._module_reference('os', plan)}.environ, **{env}}}"
            options.append(f"env={env}")
        if "cwd" in args:
            lines.append(self._render(Group(f"{run}.run(", tuple(options), ")"), unit))
        else:  # Airflow runs a command without `cwd` in a new temporary folder
            folder = _fresh("tmp_dir", plan.mentioned)
            options.insert(2, f"cwd={folder}")
            temporary = self._module_reference("tempfile", plan)
            lines.append(f"with {temporary}.TemporaryDirectory(prefix={self._str('airflowtmp')}) "
                         f"as {folder}:")
            lines.append(self.unit + self._render(Group(f"{run}.run(", tuple(options), ")"), 2 * unit))
        return f"the DAG file binds {self.clashes[0]}" if self.clashes else lines

    def _python_arguments(self, op_args, op_kwargs, code) -> list[str]:
        """``op_args`` and ``op_kwargs`` as call arguments: spread out when they are literals."""
        items = []
        if isinstance(op_args, (cst.List, cst.Tuple)):
            items += [_star(e) + code(e.value) for e in op_args.elements]
        elif op_args is not None:
            items.append("*" + code(op_args))
        if isinstance(op_kwargs, cst.Dict) and _keyword_dict(op_kwargs):
            items += ["**" + code(e.value) if isinstance(e, cst.StarredDictElement)
                      else f"{e.key.evaluated_value}={code(e.value)}" for e in op_kwargs.elements]
        elif op_kwargs is not None:
            items.append("**" + code(op_kwargs))
        return items

    def _module_reference(self, module: str, plan: _Plan | None = None) -> str:
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

    def _render(self, doc: Group, indent: int) -> str:
        """A call, one argument per line when it is too long or an argument spans lines."""
        broken = any("\n" in item or "\r" in item for item in doc.items if isinstance(item, str))
        return render(Group(doc.head, doc.items, doc.close, broken), " " * indent, self.unit,
                      self.newline)

    def _str(self, value: str) -> str:
        return string_literal(value, self.quote)

    def _function(self, name: str, mapping: _Mapping, plan: _Plan, source: _DagSource,
                  header: list[str], tail: list[str], where: str,
                  file_name: str | None) -> cst.FunctionDef:
        """The ``@multi_asset`` function: written as text around a marker line, parsed, and the
        marker replaced by the statements copied from the DAG file (libcst nodes, which take
        the indentation of wherever they are put)."""
        u = self.unit
        operator = plan.label if plan.kind != "@task" else f"{plan.label} function"
        about = (f"Scaffolded by airlift-lsp from {where} ({operator}), with the module-level "
                 "code it needs, imported here so that these definitions load without it.")
        summary = f"Task `{self.task_id}` of Airflow DAG `{self.dag_id}`, run by Dagster."
        doc = [*_wrap(summary, u + '"""', u), "", *_wrap(about, u, u), f'{u}"""']
        copied = self._copied(plan, source, file_name)
        marker = [u + _MARK, ""] if copied else []
        lines = [self._decorator(name, mapping), f"def {name}() -> None:", *doc,
                 *(u + line for line in header), *marker, *(u + line for line in tail)]
        function = cst.parse_statement(self.newline.join(lines) + self.newline,
                                       config=self.module.config_for_parsing)
        body = []
        for statement in function.body.body:
            is_marker = isinstance(statement, cst.SimpleStatementLine) and \
                self.module.code_for_node(statement).strip() == _MARK
            body.extend(copied if is_marker else [statement])
        return function.with_changes(body=function.body.with_changes(body=body))

    def _decorator(self, name: str, mapping: _Mapping) -> str:
        """``@multi_asset(specs=[...], name=...)``, the specs' code moved as it is written."""
        specs = tuple(_star(e) + _expression_code(self.text, self.offsets, self.spans[e.value],
                                                  2 * len(self.unit), self.newline)
                      for e in mapping.specs)
        broken = any("\n" in spec or "\r" in spec for spec in specs)
        options = (Group("specs=[", specs, "]", broken), f"name={self._str(name)}")
        return render(Group(f"@{self._name('dagster', 'multi_asset')}(", options, ")", broken),
                      "", self.unit, self.newline)

    def _copied(self, plan: _Plan, source: _DagSource, file_name: str | None) -> list[cst.CSTNode]:
        """The DAG file's statements the body needs, in their order, then the task function."""
        statements, blank_before, previous = [], [], None
        for unit in plan.units:  # a blank line where statements were left out, not among imports
            for statement in source.statements(unit):
                blank_before.append(previous is None or (
                    unit.index - 1 != previous.index and not (_is_import(unit) and _is_import(previous))))
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
        transplant = _Transplant(file_name, self.newline)
        return [statement.visit(transplant).with_changes(
                    leading_lines=_leading(statement.leading_lines, blank))
                for statement, blank in zip(statements, blank_before)]

    def _name(self, source: str, name: str) -> str:
        reference = self.imports.reference((source,), name)
        if reference is None:
            self.needed_names.append((source, name))
            reference = name
        return reference

    def _defines(self, name: str) -> bool:
        return any(isinstance(s, cst.FunctionDef) and s.name.value == name for s in self.module.body)

    def _helper(self, name: str) -> cst.FunctionDef:
        text = _HELPERS[name].replace("os.", self._module_reference("os") + ".")
        if name == IMPORT_ROOTS_HELPER:
            text = text.replace("sys.", self._module_reference("sys") + ".")
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

_HELPERS = {
    IMPORT_ROOTS_HELPER: '''\
def _airflow_import_roots(*folders: str) -> None:
    """Put folders that Airflow puts on sys.path (its DAGs folder) on this process's too, so
    that code copied from DAG files imports what it did in Airflow. Relative to this file."""
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in folders:
        path = os.path.normpath(os.path.join(here, folder))
        if path not in sys.path:
            sys.path.append(path)
''',
    DAG_FILE_HELPER: '''\
def _airflow_dag_file(path: str) -> str:
    """An Airflow DAG file's path (given relative to this file): the `__file__` of code copied
    from it."""
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), path))
''',
}


def _leading(lines: Sequence[cst.EmptyLine], blank: bool) -> list[cst.EmptyLine]:
    """A copied statement keeps the comments right above it (not those a blank line away),
    after one blank line where it had some or where statements between were left out."""
    kept: list[cst.EmptyLine] = []
    for line in reversed(lines):
        if line.comment is None:
            break
        kept.insert(0, line)
    blank = blank or any(line.comment is None for line in lines)
    return ([cst.EmptyLine(indent=False)] if blank else []) + kept


def _wrap(text: str, first: str, then: str) -> list[str]:
    return textwrap.wrap(text, LINE_WIDTH, initial_indent=first, subsequent_indent=then,
                         break_on_hyphens=False, break_long_words=False)


def _creates_task(unit: _Unit) -> bool:
    """Whether a statement calls something with ``task_id=``: what Airflow takes for a task."""
    return any(isinstance(n, ast.Call) and any(k.arg == "task_id" for k in n.keywords)
               for statement in unit.statements for n in ast.walk(statement))


def _is_import(unit: _Unit) -> bool:
    return all(isinstance(s, (ast.Import, ast.ImportFrom)) for s in unit.statements)


def _star(node: cst.Arg | cst.BaseElement) -> str:
    if isinstance(node, cst.Arg):
        return node.star if isinstance(node.star, str) else ""
    return "*" if isinstance(node, cst.StarredElement) else ""


def _is_none(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _keyword_dict(node: cst.Dict) -> bool:
    """Whether a dict literal can become keyword arguments: identifier keys, none twice."""
    keys = []
    for element in node.elements:
        if isinstance(element, cst.StarredDictElement):
            continue
        value = element.key.evaluated_value if isinstance(element.key, cst.SimpleString) else None
        if not isinstance(value, str) or not value.isidentifier() or keyword.iskeyword(value):
            return False
        keys.append(value)
    return len(keys) == len(set(keys))


def _asset_name(dag_id: str, task_id: str) -> str:
    """``<dag_id>__<task_id>`` with what Dagster and Python reject in names made ``_``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", f"{dag_id}__{task_id}")
    return "_" + name if name[0].isdigit() or keyword.iskeyword(name) else name


def _fresh(name: str, taken: frozenset[str]) -> str:
    while name in taken:
        name += "_"
    return name


def _add_module_import(module: cst.Module, name: str) -> cst.Module:
    """``import name`` among the module's plain ``import x`` lines, in sorted order; before its
    first import when it has none (stdlib first, as isort does)."""
    body = list(module.body)
    imports = Imports(module)
    if name in imports.modules:
        return module
    plain = [i for i, s in enumerate(body) if _plain_import(s) is not None]
    new = cst.parse_statement(f"import {name}{module.default_newline}")
    if plain:
        run = [plain[0]]
        for i in plain[1:]:
            if i == run[-1] + 1:
                run.append(i)
        names = [_plain_import(body[i]) for i in run]
        index = next((i for i, n in zip(run, names) if n > name), None) \
            if names == sorted(names) else None
        if index is None:
            body.insert(run[-1] + 1, new)
        else:
            body[index:index + 1] = [new.with_changes(leading_lines=body[index].leading_lines),
                                     body[index].with_changes(leading_lines=())]
        return module.with_changes(body=body)
    first = next((i for i, s in enumerate(body) if isinstance(s, cst.SimpleStatementLine)
                  and any(isinstance(x, (cst.Import, cst.ImportFrom)) for x in s.body)), None)
    if first is None:
        from libcst.codemod import CodemodContext
        from libcst.codemod.visitors import AddImportsVisitor
        context = CodemodContext()
        AddImportsVisitor.add_needed_import(context, name)
        return AddImportsVisitor(context).transform_module(module)
    body[first:first + 1] = [new.with_changes(leading_lines=body[first].leading_lines),
                             body[first].with_changes(leading_lines=[cst.EmptyLine()])]
    return module.with_changes(body=body)


def _plain_import(statement: cst.CSTNode) -> str | None:
    """``x`` for a line that is exactly ``import x`` (one name, no alias, no dots)."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        node = statement.body[0]
        if isinstance(node, cst.Import) and len(node.names) == 1 and node.names[0].asname is None \
                and isinstance(node.names[0].name, cst.Name):
            return node.names[0].name.value
    return None
