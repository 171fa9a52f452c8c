"""The acceptance test of a migrated task: a pytest module that runs the task's code as Airflow
runs it and the task's Dagster asset as Dagster materializes it, each in a temporary folder of
its own, and compares what they left behind.

The Airflow side is the DAG file's code for the task, copied by the scaffold itself
(``scaffold_task`` into a throwaway module placed where the test goes, so the paths it writes
are relative to the test): the test's ``run_airflow_task`` is what "Generate Dagster
implementation" would write for the task today, frozen when the test is generated. The Dagster
side is the user's module as it is when the test runs, imported with
``build_defs_from_airflow_instance`` standing in as "return the Definitions given" (no Airflow
is asked for anything), the task's assets materialized with ``dagster.materialize``. So the test
passes as soon as the task is scaffolded and keeps the asset honest while it is rewritten the
Dagster way; the generated module's docstring says what it compares and what it cannot. The
upstream tasks of the DAG run first on both sides (their code copied the same way, in DAG
order), so that the task finds its inputs where a DAG run leaves them.

What each side writes is caught in its own folder: the current folder, and the environment
variables the copied code reads (through ``os.environ``/``os.getenv``, in the DAG file's code or
in the modules of the DAGs folder it imports) whose names say they hold a folder
(``..._DIR``, ``..._FOLDER``, ``..._DIRECTORY``): the tutorial's ``TUTORIAL_DATA_DIR``.
"""

from __future__ import annotations

import ast
import os
import re
import textwrap
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst
import libcst.helpers

from analysis.dags.dagfile import extract_file
from analysis.dagster.module import parse_dagster_module
from analysis.dagster.ports import PORTS
from analysis.edits.acceptance_module import RETURNING_KINDS, RUN_INSTANCE, WIDTH, quoted, render_module
from analysis.edits.result import EditResult, check_output
from analysis.edits.scaffold import ImportRoot, project_modules, scaffold_task
from analysis.edits.scaffold.derived import chosen
from analysis.edits.scaffold.families import runs_as, task_nothing_to_migrate
from analysis.edits.scaffold.imported import virtual_task
from analysis.edits.scaffold.asset_writers import DEFINITIONS
from analysis.edits.scaffold.plan import plan_task
from analysis.edits.scaffold.plan_common import COPIED_KINDS
from analysis.facts import DagFacts, TaskFacts

if TYPE_CHECKING:
    from analysis.dags.modules import ProjectCode

TEST_FOLDER = "tests"
_FOLDER_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*_(DIR|DIRECTORY|FOLDER)$")
_THROWAWAY_KEY = "airflow_task"


def acceptance_test_name(dag_id: str, task_id: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", f"{dag_id}__{task_id}")
    return f"test_acceptance_{name}.py"


def acceptance_test_path(package_parent: str, dag_id: str, task_id: str) -> str:
    """Where the test goes: ``tests/`` in the folder holding the Dagster module's top package
    (the module's own folder when it is no package), as ``dagster project scaffold`` lays out."""
    return os.path.join(package_parent, TEST_FOLDER, acceptance_test_name(dag_id, task_id))


def acceptance_test(dag_text: str, dag_path: str, dag_id: str, task_id: str, module_text: str,
                    module_path: str, test_file: str, *, import_roots: Sequence[ImportRoot] = (),
                    read_imported: Callable[[frozenset[str]], Iterable[str]] | None = None,
                    code: ProjectCode | None = None) -> EditResult:
    """The acceptance test module's text for task ``task_id``, to be written at ``test_file``;
    refused, with the reason, when the task's mapping holds no executable definition yet or its
    Airflow side cannot be copied. ``read_imported(modules)``: the texts of the modules of the
    DAGs folder among the top-level ``modules`` the task's code imports, read for the folder
    variables they use. ``code``: the project's importable code (the DAG file's imports followed,
    and a ``@task`` it imports copied from its module, as the scaffold does)."""
    module = parse_dagster_module(module_path, module_text)
    if module.error is not None:
        return EditResult.refuse(f"the Dagster module cannot be read ({module.error}): fix it first")
    mappings = [m for m in module.mappings if m.dag_id == dag_id and m.task_id == task_id]
    if not mappings:
        return EditResult.refuse(f"task `{task_id}` is not mapped to a Dagster asset: map it, then "
                                 "scaffold it first")
    if any(m.dynamic for m in mappings):
        return EditResult.refuse(f"the assets of task `{task_id}` cannot be read statically: write its "
                                 "acceptance test by hand")
    if any(a.at_load for m in mappings for a in m.assets):
        return EditResult.refuse(f"task `{task_id}` is mapped to dagster-dbt's assets, whose keys Dagster reads "
                                 "from the manifest when it loads: write its acceptance test by hand")
    keys = list(dict.fromkeys(a.key for m in mappings for a in m.assets if a.executable))
    if not keys:
        return EditResult.refuse(f"task `{task_id}` is mapped to AssetSpecs only, which Dagster cannot "
                                 "run: scaffold it first (Generate Dagster implementation)")
    dag = extract_file(dag_path, dag_text, code).dag(dag_id)
    task = dag.task(task_id) if dag is not None else None
    if task is None:
        return EditResult.refuse(f"the DAG file defines no task `{task_id}` in `{dag_id}`")
    if task.operator in dict(module.ports):
        return EditResult.refuse(f"task `{task_id}` runs `{task.operator}`, which the Dagster module ports "
                                 f"({PORTS}): its Airflow side is the class itself, which only runs with "
                                 "Airflow; compare the port's output with `airflow tasks test`, or write its "
                                 "acceptance test by hand")
    if chosen(task, dict(module.bases)):
        return EditResult.refuse(f"task `{task_id}` runs `{task.operator}`, which the Dagster module runs as "
                                 f"`{runs_as(task, dict(module.bases))}` ({PORTS}): its Airflow side is the class "
                                 "itself, whose own code stays in Airflow; compare with `airflow tasks test`, or "
                                 "write its acceptance test by hand")
    side = _CopiedCode(dag_text, dag_path, dag_id, test_file, import_roots, code)
    function = side.function(task, "run_airflow_task")
    if isinstance(function, str):
        return EditResult.refuse(f"the Airflow side of task `{task_id}` cannot be run outside Airflow "
                                 f"({function}): write its acceptance test by hand")
    upstream, skipped = [], []
    for before in _ancestors(dag, task):
        if task_nothing_to_migrate(before) is not None:
            continue
        name = "run_upstream_" + re.sub(r"[^A-Za-z0-9_]", "_", before.task_id)
        while name in {n for _, n, _ in upstream}:
            name += "_"
        copied = side.function(before, name)
        if isinstance(copied, str):
            skipped.append(before.task_id)
        else:
            upstream.append((before.task_id, name, copied.text))
    imported_texts = read_imported(function.imported) if read_imported is not None else ()
    variables = folder_variables([function.text, *(c for _, _, c in upstream), *imported_texts])
    text = render_module(dag_id, task_id, side.kinds[task_id], _relative(dag_path, test_file),
                         _relative(module_path, test_file), keys, variables, sorted(side.imports),
                         list(side.helpers.values()), function.text, upstream, skipped, side.reading_run)
    return check_output(text, "the acceptance test")


def folder_variables(texts: Iterable[str]) -> list[str]:
    """Environment variables read with a constant name that says it holds a folder, sorted."""
    names: set[str] = set()
    for text in texts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        for node in ast.walk(tree):
            name = _environment_read(node) or _variable_read(node)
            if name is not None and _FOLDER_VARIABLE.match(name):
                names.add(name)
    return sorted(names)


_TEMPLATE_VARIABLE = re.compile(r"\{\{\s*var\.(?:value|json)\.([A-Za-z_]\w*)")


def _variable_read(node: ast.AST) -> str | None:
    """``AIRFLOW_VAR_<KEY>``, where the copied code reads Airflow Variable ``key`` (the scaffold
    reads it from there): ``Variable.get("key")`` (any name bound to the module's
    ``_AirflowVariable``, read by its method), or ``{{ var.value.key }}`` in a templated string."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
            and isinstance(node.func.value, ast.Name) and "variable" in node.func.value.id.lower() \
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
        return f"AIRFLOW_VAR_{node.args[0].value.upper()}"
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        found = _TEMPLATE_VARIABLE.search(node.value)
        return f"AIRFLOW_VAR_{found[1].upper()}" if found else None
    return None


def _environment_read(node: ast.AST) -> str | None:
    """``X`` of ``os.environ.get("X")``, ``os.getenv("X")``, ``os.environ["X"]`` (``environ``
    and ``getenv`` imported by name too)."""
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
        func = node.func
        reads = (isinstance(func, ast.Attribute) and func.attr in ("get", "setdefault", "pop")
                 and _is_environ(func.value)) or _named(func, "getenv")
        return node.args[0].value if reads and isinstance(node.args[0].value, str) else None
    if isinstance(node, ast.Subscript) and _is_environ(node.value) and \
            isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
        return node.slice.value
    return None


def _is_environ(node: ast.expr) -> bool:
    return _named(node, "environ")


def _named(node: ast.expr, name: str) -> bool:
    return (isinstance(node, ast.Name) and node.id == name) or \
        (isinstance(node, ast.Attribute) and node.attr == name and isinstance(node.value, ast.Name)
         and node.value.id == "os")


def _relative(path: str, test_file: str) -> str:
    try:
        return os.path.relpath(path, os.path.dirname(test_file) or ".").replace(os.sep, "/")
    except ValueError:  # another drive: absolute, and the project cannot move
        return path.replace(os.sep, "/")


# -- the Airflow side, as the scaffold copies it ------------------------------------------------


_COPIED_HELPERS = frozenset(DEFINITIONS)
"""The scaffold's definitions that copied code calls, written once into the test as the Dagster
module has them: the import roots, the DAG file's path, the renderer of templated arguments,
Airflow's ``Variable`` read from the environment and its exceptions."""


@dataclass(frozen=True, slots=True)
class _Code:
    text: str
    imported: frozenset[str]
    """The top-level modules the copied code imports."""


class _CopiedCode:
    """Tasks' code as the scaffold copies it, each as a function of the test; the imports and
    helpers they need, gathered once."""

    def __init__(self, dag_text: str, dag_path: str, dag_id: str, test_file: str,
                 import_roots: Sequence[ImportRoot], code: ProjectCode | None = None) -> None:
        self.dag_text, self.dag_path, self.dag_id = dag_text, dag_path, dag_id
        self.test_file, self.import_roots, self.code = test_file, import_roots, code
        self.imports: set[str] = set()
        self.helpers: dict[str, str] = {}
        self.kinds: dict[str, str] = {}
        self.reading_run: set[str] = set()
        """The functions that read the Airflow run (``run_values``): called with the test's context."""

    def function(self, task: TaskFacts, name: str) -> _Code | str:
        """The function ``name`` running ``task``'s code, or why it cannot be copied (one line)."""
        copied = virtual_task(self.dag_text, task, project_modules(self.code))
        if isinstance(copied, str):
            return copied
        plan = plan_task(*copied[1:]) if copied is not None else plan_task(self.dag_text, task)
        if isinstance(plan, str):
            return plan
        if plan.sensor is not None:  # its asset waits: what it decides is when, not what it writes
            return (f"a `{plan.label}` task waits for something and writes nothing: the acceptance "
                    "test compares files, output and values; materialize its asset with and "
                    "without what it waits for")
        if plan.kind not in COPIED_KINDS:  # its scaffold runs through Dagster (Pipes, resources)
            return (f"a `{plan.label}` task is scaffolded as a Dagster run (Pipes, a resource), not "
                    "as a copy of its code, so there is no Airflow side to compare with yet")
        if plan.gate is not None:  # its asset yields only the chosen outputs: a choice, not files
            return (f"a `{plan.label}` task chooses which tasks run after it: the acceptance test"
                    " compares files, output and values, not that choice; check which "
                    "of its assets a Dagster run materializes")
        throwaway = ("from dagster import AssetSpec\n"
                     "from dagster_airlift.core import assets_with_task_mappings\n\n"
                     f"MAPPED = assets_with_task_mappings(dag_id={quoted(self.dag_id)}, task_mappings="
                     f"{{{quoted(task.task_id)}: [AssetSpec({quoted(_THROWAWAY_KEY)})]}})\n")
        if plan.reads_run:  # it reads the run that launched it: the test's `airflow_instance` answers the run
            throwaway += (f"\n{RUN_INSTANCE} = AirflowInstance(auth_backend=None, name={quoted(_THROWAWAY_KEY)})\n")
        result = scaffold_task(self.dag_text, self.dag_path, self.dag_id, task.task_id, throwaway,
                               module_path=self.test_file, import_roots=self.import_roots, code=self.code)
        if result.text is None or not result.changed:
            return result.reason or "the scaffold wrote nothing"
        scaffolded = cst.parse_module(result.text)
        function = None
        for statement in scaffolded.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)) and statement.name.value in _COPIED_HELPERS:
                self.helpers[statement.name.value] = scaffolded.code_for_node(
                    statement.with_changes(leading_lines=())).strip()
            elif isinstance(statement, cst.FunctionDef):
                function = _renamed(statement, name, plan.kind in RETURNING_KINDS, task.task_id,
                                    _relative(self.dag_path, self.test_file), plan.label)
            elif isinstance(statement, cst.SimpleStatementLine) and _plain_import(statement.body[0]):
                self.imports.add(scaffolded.code_for_node(statement.with_changes(leading_lines=())).strip())
        if function is None:
            return "the scaffold wrote no function"
        self.kinds[task.task_id] = plan.kind
        if plan.reads_run:  # called with the context the test gives the Airflow side
            self.reading_run.add(name)
        return _Code(scaffolded.code_for_node(function).strip(), plan.imported)


def _plain_import(node: cst.BaseSmallStatement) -> bool:
    """``import x`` (the modules the scaffold's code calls), not the throwaway's Dagster imports."""
    if isinstance(node, cst.Import):
        return not any(cst.helpers.get_full_name_for_node(a.name).startswith("dagster") for a in node.names)
    return False


def _ancestors(dag: DagFacts, task: TaskFacts) -> list[TaskFacts]:
    """The tasks that run before ``task`` in a DAG run, each after its own upstream tasks
    (ties in the DAG file's order)."""
    wanted: set[str] = set()
    pending = list(task.upstream)
    while pending:
        task_id = pending.pop()
        if task_id not in wanted and dag.task(task_id) is not None:
            wanted.add(task_id)
            pending.extend(dag.task(task_id).upstream)
    ordered: list[TaskFacts] = []
    done: set[str] = set()
    while len(ordered) < len(wanted):
        ready = [t for t in dag.tasks if t.task_id in wanted and t.task_id not in done
                 and all(u in done or u not in wanted for u in t.upstream)]
        if not ready:  # a cycle, which Airflow rejects: what is left, in file order
            ready = [t for t in dag.tasks if t.task_id in wanted and t.task_id not in done]
        ordered.append(ready[0])
        done.add(ready[0].task_id)
    return ordered


def _renamed(function: cst.FunctionDef, name: str, returns: bool, task_id: str, dag_file: str,
             label: str) -> cst.FunctionDef:
    """The scaffolded asset function as a function of the test: no decorator, its own
    docstring, and ``return`` before the callable's call (the value Airflow pushes as XCom)."""
    body = list(function.body.body)
    summary = f"Task `{task_id}` as Airflow runs it ({label}), copied from {dag_file}."
    lines = textwrap.wrap(summary, WIDTH - 7, break_long_words=False, break_on_hyphens=False)
    docstring = cst.parse_statement('"""' + "\n    ".join(lines) + '"""\n')
    if body and isinstance(body[0], cst.SimpleStatementLine) and \
            isinstance(body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, cst.SimpleString):
        body[0] = docstring
    last = body[-1]
    if returns and isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 and \
            isinstance(last.body[0], cst.Expr):
        body[-1] = last.with_changes(body=[cst.Return(value=last.body[0].value)])
    params = function.params.with_changes(  # `context` (the run's tags), without Dagster's annotation
        params=[p.with_changes(annotation=None) for p in function.params.params])
    return function.with_changes(name=cst.Name(name), decorators=(), returns=None, params=params,
                                 leading_lines=(), body=function.body.with_changes(body=body))
