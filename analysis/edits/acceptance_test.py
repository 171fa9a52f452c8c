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
Dagster way; the generated module's docstring says what it compares and what it cannot.

What each side writes is caught in its own folder: the current folder, and the environment
variables the copied code reads (through ``os.environ``/``os.getenv``, in the DAG file's code or
in the modules of the DAGs folder it imports) whose names say they hold a folder
(``..._DIR``, ``..._FOLDER``, ``..._DIRECTORY``): the tutorial's ``TUTORIAL_DATA_DIR``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import textwrap
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import libcst as cst

from analysis.dags.dagfile import extract_file
from analysis.dagster.module import parse_dagster_module
from analysis.edits.result import EditResult, check_output
from analysis.edits.scaffold import ImportRoot, scaffold_task
from analysis.edits.scaffold.families import nothing_to_migrate
from analysis.edits.scaffold.places import HELPERS
from analysis.edits.scaffold.plan import plan_task
from analysis.facts import DagFacts, TaskFacts

TEST_FOLDER = "tests"
_RETURNING_KINDS = frozenset({"PythonOperator", "@task"})
"""Whose last statement is the call whose value Airflow pushes as XCom."""
_FOLDER_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*_(DIR|DIRECTORY|FOLDER)$")
_THROWAWAY_KEY = "airflow_task"


def acceptance_test_name(dag_id: str, task_id: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_]", "_", f"{dag_id}__{task_id}")
    return f"test_acceptance_{name}.py"


def acceptance_test_path(package_parent: str, dag_id: str, task_id: str) -> str:
    """Where the test goes: ``tests/`` in the folder holding the Dagster module's top package
    (the module's own folder when it is no package), as ``dagster project scaffold`` lays out."""
    return os.path.join(package_parent, TEST_FOLDER, acceptance_test_name(dag_id, task_id))


def imported_modules(dag_text: str, task_id: str, dag_path: str, dag_id: str) -> frozenset[str]:
    """The top-level modules the task's copied code imports (to read those of the DAGs folder
    for the environment variables they use); empty when the task cannot be copied."""
    dag = extract_file(dag_path, dag_text).dag(dag_id)
    task = dag.task(task_id) if dag is not None else None
    plan = plan_task(dag_text, task) if task is not None else "no task"
    return frozenset() if isinstance(plan, str) else plan.imported


def acceptance_test(dag_text: str, dag_path: str, dag_id: str, task_id: str, module_text: str,
                    module_path: str, test_file: str, *, import_roots: Sequence[ImportRoot] = (),
                    imported_texts: Iterable[str] = ()) -> EditResult:
    """The acceptance test module's text for task ``task_id``, to be written at ``test_file``;
    refused, with the reason, when the task's mapping holds no executable definition yet or its
    Airflow side cannot be copied. ``imported_texts``: the modules of the DAGs folder that the
    task's code imports, read for the folder variables they use."""
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
    keys = list(dict.fromkeys(a.key for m in mappings for a in m.assets if a.executable))
    if not keys:
        return EditResult.refuse(f"task `{task_id}` is mapped to AssetSpecs only, which Dagster cannot "
                                 "run: scaffold it first (Generate Dagster implementation)")
    dag = extract_file(dag_path, dag_text).dag(dag_id)
    task = dag.task(task_id) if dag is not None else None
    if task is None:
        return EditResult.refuse(f"the DAG file defines no task `{task_id}` in `{dag_id}`")
    side = _CopiedCode(dag_text, dag_path, dag_id, test_file, import_roots)
    function = side.function(task, "run_airflow_task")
    if isinstance(function, str):
        return EditResult.refuse(f"the Airflow side of task `{task_id}` cannot be run outside Airflow "
                                 f"({function}): write its acceptance test by hand")
    upstream, skipped = [], []
    for before in _ancestors(dag, task):
        if nothing_to_migrate(before.operator) is not None:
            continue
        name = "run_upstream_" + re.sub(r"[^A-Za-z0-9_]", "_", before.task_id)
        while name in {n for _, n, _ in upstream}:
            name += "_"
        copied = side.function(before, name)
        if isinstance(copied, str):
            skipped.append(before.task_id)
        else:
            upstream.append((before.task_id, name, copied.text))
    function = function.text
    variables = folder_variables([function, *(c for _, _, c in upstream), *imported_texts])
    text = _render(dag_id, task_id, side.kinds[task_id], _relative(dag_path, test_file),
                   _relative(module_path, test_file), keys, variables, sorted(side.imports),
                   list(side.helpers.values()), function, upstream, skipped)
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
            name = _environment_read(node)
            if name is not None and _FOLDER_VARIABLE.match(name):
                names.add(name)
    return sorted(names)


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


@dataclass(frozen=True, slots=True)
class _Code:
    text: str


class _CopiedCode:
    """Tasks' code as the scaffold copies it, each as a function of the test; the imports and
    helpers they need, gathered once."""

    def __init__(self, dag_text: str, dag_path: str, dag_id: str, test_file: str,
                 import_roots: Sequence[ImportRoot]) -> None:
        self.dag_text, self.dag_path, self.dag_id = dag_text, dag_path, dag_id
        self.test_file, self.import_roots = test_file, import_roots
        self.imports: set[str] = set()
        self.helpers: dict[str, str] = {}
        self.kinds: dict[str, str] = {}

    def function(self, task: TaskFacts, name: str) -> _Code | str:
        """The function ``name`` running ``task``'s code, or why it cannot be copied (one line)."""
        plan = plan_task(self.dag_text, task)
        if isinstance(plan, str):
            return plan
        throwaway = ("from dagster import AssetSpec\n"
                     "from dagster_airlift.core import assets_with_task_mappings\n\n"
                     f"MAPPED = assets_with_task_mappings(dag_id={_quoted(self.dag_id)}, task_mappings="
                     f"{{{_quoted(task.task_id)}: [AssetSpec({_quoted(_THROWAWAY_KEY)})]}})\n")
        result = scaffold_task(self.dag_text, self.dag_path, self.dag_id, task.task_id, throwaway,
                               module_path=self.test_file, import_roots=self.import_roots)
        if result.text is None or not result.changed:
            return result.reason or "the scaffold wrote nothing"
        scaffolded = cst.parse_module(result.text)
        function = None
        for statement in scaffolded.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value in HELPERS:
                self.helpers[statement.name.value] = scaffolded.code_for_node(
                    statement.with_changes(leading_lines=())).strip()
            elif isinstance(statement, cst.FunctionDef):
                function = _renamed(statement, name, plan.kind in _RETURNING_KINDS, task.task_id,
                                    _relative(self.dag_path, self.test_file), plan.label)
            elif isinstance(statement, cst.SimpleStatementLine) and \
                    isinstance(statement.body[0], cst.Import):
                self.imports.add(scaffolded.code_for_node(statement.with_changes(leading_lines=())).strip())
        if function is None:
            return "the scaffold wrote no function"
        self.kinds[task.task_id] = plan.kind
        return _Code(scaffolded.code_for_node(function).strip())


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


def _quoted(value: str) -> str:
    return json.dumps(value)


def _renamed(function: cst.FunctionDef, name: str, returns: bool, task_id: str, dag_file: str,
             label: str) -> cst.FunctionDef:
    """The scaffolded asset function as a function of the test: no decorator, its own
    docstring, and ``return`` before the callable's call (the value Airflow pushes as XCom)."""
    body = list(function.body.body)
    summary = f"Task `{task_id}` as Airflow runs it ({label}), copied from {dag_file}."
    lines = textwrap.wrap(summary, _WIDTH - 7, break_long_words=False, break_on_hyphens=False)
    docstring = cst.parse_statement('"""' + "\n    ".join(lines) + '"""\n')
    if body and isinstance(body[0], cst.SimpleStatementLine) and \
            isinstance(body[0].body[0], cst.Expr) and isinstance(body[0].body[0].value, cst.SimpleString):
        body[0] = docstring
    last = body[-1]
    if returns and isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 and \
            isinstance(last.body[0], cst.Expr):
        body[-1] = last.with_changes(body=[cst.Return(value=last.body[0].value)])
    return function.with_changes(name=cst.Name(name), decorators=(), returns=None,
                                 leading_lines=(), body=function.body.with_changes(body=body))


# -- the test module ------------------------------------------------------------------------


def _render(dag_id: str, task_id: str, kind: str, dag_file: str, module_file: str, keys: list[str],
            variables: list[str], imports: list[str], helpers: list[str], function: str,
            upstream: list[tuple[str, str, str]], skipped: list[str]) -> str:
    lines = [(f"Acceptance test of task `{task_id}` of Airflow DAG `{dag_id}`: run it before you proxy "
             "the task to Dagster (`proxied: true`), with the Python that runs your Dagster code "
             "(`pytest path/to/this_file.py`)."), "",
             ("Generated by airlift-lsp. It runs, each in a temporary folder of its own (the current "
             "folder, and each environment variable of FOLDER_VARIABLES set to a folder inside it):"),
             (f"- the Airflow side: `run_airflow_task` below, the task's code ({kind}) copied from "
             f"{dag_file} when this file was generated, run in this process without Airflow;"),
             (f"- the Dagster side: asset(s) {', '.join(keys)} of {module_file} as the module defines "
             "them when the test runs, materialized with `dagster.materialize`.")]
    if upstream:
        lines.append("Before each side, the upstream tasks run as the Airflow side does (their code "
                     "copied too), to leave their outputs where the task reads them: "
                     + ", ".join(f"`{t}`" for t, _, _ in upstream) + ".")
    if skipped:
        lines.append("Upstream tasks that cannot run outside Airflow, whose outputs are missing: "
                     + ", ".join(f"`{t}`" for t in skipped) + ".")
    lines += ["", "It compares:",
              "- the files in each side's folder after it ran: the same names, byte for byte;",
              ("- what each side printed on its standard output (its folder's path replaced by "
              "`<folder>`);")]
    if kind in _RETURNING_KINDS:
        lines.append("- the value the task returns (Airflow's XCom) with the asset's value, when the "
                     "asset returns one (a scaffolded asset returns none: it is compared once you make "
                     "it return its data);")
    lines += [("and it fails when the Airflow side left no file and printed nothing (nothing to "
              "compare)."), "",
              ("What it cannot compare: files written outside the temporary folders (absolute paths in "
              "the code, folder variables it did not find: add them to FOLDER_VARIABLES), tables, "
              "services and anything else outside this process; Airflow's own part (templating, the "
              "task context, XCom from upstream tasks, the worker's Python and environment: both "
              "sides run in this Python). The Dagster module is imported with "
              "`build_defs_from_airflow_instance` (imported from `dagster_airlift.core`) returning the "
              "Definitions it is given: no Airflow is asked, the asset runs as you wrote it. The "
              "Airflow side is frozen: when the DAG changes, delete this file and generate it again.")]
    doc = '"""' + "\n".join(_wrapped(lines)) + '\n"""'
    wanted = {"import importlib", "import os", "import sys", *imports}
    standard = sorted(wanted, key=lambda line: line.split()[1])
    calls = "".join(f"\n    {name}()" for _, name, _ in upstream) or "\n    pass"
    body = _BODY.format(module=module_file, keys=", ".join(_quoted(k) for k in keys),
                        variables=", ".join(_quoted(v) for v in variables),
                        test=re.sub(r"[^A-Za-z0-9_]", "_", f"{dag_id}__{task_id}"),
                        upstream=calls)
    parts = [doc + "\n\n" + "\n".join(standard) + "\nfrom pathlib import Path\n\nimport dagster as dg\n"
             "import dagster_airlift.core\nimport pytest\n", body, *helpers, function,
             *(code for _, _, code in upstream), _RUNNERS]
    return "\n\n\n".join(p.strip("\n") for p in parts) + "\n"


def _wrapped(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        indent = "  " if line.startswith("- ") else ""
        out.extend(textwrap.wrap(line, _WIDTH, subsequent_indent=indent, break_long_words=False,
                                 break_on_hyphens=False) or [""])
    return out


_WIDTH = 99
_BODY = '''\
pytestmark = pytest.mark.filterwarnings("ignore::dagster.BetaWarning")

HERE = Path(__file__).resolve().parent
DAGSTER_MODULE = HERE / "{module}"
ASSET_KEYS = [{keys}]
FOLDER_VARIABLES = [{variables}]
"""Environment variables naming a folder the task reads or writes: each side gets its own."""


def test_{test}_does_what_the_airflow_task_did(tmp_path, monkeypatch, capfd):
    definitions = load_definitions(monkeypatch)
    airflow = run_side(tmp_path / "airflow", monkeypatch, capfd, run_airflow_task)
    dagster = run_side(tmp_path / "dagster", monkeypatch, capfd, lambda: materialize(definitions))
    if not airflow["files"] and not airflow["printed"].strip():
        pytest.fail("the Airflow side left no file in its folder and printed nothing: nothing to "
                    "compare (does it write elsewhere? add its folder variable to FOLDER_VARIABLES)")
    assert sorted(dagster["files"]) == sorted(airflow["files"]), "not the same files"
    for name, content in airflow["files"].items():
        assert dagster["files"][name] == content, f"{{name}} differs from what the Airflow task wrote"
    assert dagster["printed"] == airflow["printed"], "not the same output printed"
    for key, value in dagster["returned"].items():
        assert value == airflow["returned"], f"asset {{key}} is not the value the Airflow task returned"


def run_upstream():
    """The upstream tasks, as the Airflow side runs them: their outputs are the task's inputs."""{upstream}'''
_RUNNERS = '''\
def run_side(folder, monkeypatch, capfd, run):
    """Run one side in ``folder``; what it wrote there, printed and returned."""
    folder.mkdir()
    with monkeypatch.context() as scope:
        scope.chdir(folder)
        for variable in FOLDER_VARIABLES:
            scope.setenv(variable, str(folder / variable.lower()))
        run_upstream()
        capfd.readouterr()
        returned = run()
        printed = capfd.readouterr().out
    files = {path.relative_to(folder).as_posix(): path.read_bytes()
             for path in sorted(folder.rglob("*")) if path.is_file()}
    return {"files": files, "printed": printed.replace(str(folder), "<folder>"), "returned": returned}


def load_definitions(monkeypatch):
    """The Dagster module's Definitions, imported as Dagster imports it (as a module of its
    package), with no Airflow asked for its DAGs."""
    monkeypatch.setattr(dagster_airlift.core, "build_defs_from_airflow_instance",
                        lambda *, defs=None, **_: defs if defs is not None else dg.Definitions())
    root, parts = DAGSTER_MODULE.resolve().parent, [DAGSTER_MODULE.stem]
    while (root / "__init__.py").is_file():
        root, parts = root.parent, [root.name, *parts]
    monkeypatch.syspath_prepend(str(root))
    name = ".".join(parts)
    monkeypatch.delitem(sys.modules, name, raising=False)  # imported again, without Airflow
    module = importlib.import_module(name)
    found = {id(v): v for v in vars(module).values() if isinstance(v, dg.Definitions)}
    if len(found) != 1:
        pytest.fail(f"{DAGSTER_MODULE}: expected one Definitions object, found {len(found)}")
    return next(iter(found.values()))


def materialize(definitions):
    """Materialize the task's assets; the value each returns, for those that return one."""
    assets = {}
    for key in ASSET_KEYS:
        asset = definitions.resolve_assets_def(dg.AssetKey.from_user_string(key))
        assets[id(asset)] = asset
    result = dg.materialize(list(assets.values()), resources=definitions.resources)
    done = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
    assert done >= set(ASSET_KEYS), f"materialized {sorted(done)}, not {ASSET_KEYS}"
    returned = {}
    for asset in assets.values():
        for output, key in asset.keys_by_output_name.items():
            if not asset.node_def.output_def_named(output).dagster_type.is_nothing:
                returned[key.to_user_string()] = result.asset_value(key)
    return returned'''
