"""Load scaffolded Dagster modules of one corpus entry in real Dagster (run with the Dagster venv's
python; corpus/scaffold_judge.py drives it).

    scaffold_load.py JOB.json

JOB: ``{"entry": {manifest entry}, "root": src folder, "modules": [{"path": definitions.py,
"airflow": {dag_id: [task_id, ...]}, "assets": [[key part, ...], ...]}]}``. Each module is
loaded as tests/support/dagster_load.py loads one (its ``AirflowInstance`` answers from
dagster-airlift's fake; any HTTP request fails), in a subprocess of its own so that modules never
see each other's imports, with the stubs of corpus/dagbag_truth.py for the project's third-party
packages (installed last on the meta path, for imports made by the project's code or the
module's): Airflow is never stubbed, so a module that needs it fails, as it would in a Dagster
deployment without Airflow. Then, as the assets would when they run: every import statement
written inside the module's functions is run (the scaffolds import there what the task needs;
the project's code roots, ``code_roots``, on ``sys.path``), and every name a function reads as a
global must be bound by the module or a builtin. Prints one JSON line per module: ``{"path",
"ok", "error", "missing": [asset keys the Definitions lack], "not_executable": [...],
"imports": [{"function", "line", "error"}], "undefined": [{"function", "name"}], "stubbed": [...]}``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MODULE_TIMEOUT = 300


def load_one(job: dict, index: int) -> dict:
    """In this process: load module ``index`` of the job, stubs installed."""
    import warnings

    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(ROOT / "tests" / "support"))
    import dagbag_truth as truth
    from dagster_load import fake_airflow, load

    entry, root, module = job["entry"], Path(job["root"]).resolve(), job["modules"][index]
    path = Path(module["path"]).resolve()
    for key, value in entry.get("env", {}).items():
        os.environ[key] = str(value).replace("{root}", str(root))
    os.environ.update({"HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9"})
    stubs = truth.Stubs(root, truth._local_names(root, entry), set(entry.get("stub_packages", [])))
    stubs.root_prefix = (str(root) + os.sep, str(path.parent) + os.sep)  # the project's code and the module's
    truth.STUBS = stubs
    sys.meta_path.append(stubs)
    sys.meta_path.insert(0, truth._ForcedStubs())
    warnings.simplefilter("ignore")
    fake_airflow(module["airflow"])
    stubs.active = True
    result = {"path": str(path), "ok": False, "error": None, "missing": [], "not_executable": []}
    try:
        definitions = load(path)
        repository = definitions.get_repository_def()
        graph = repository.asset_graph
        keys = {tuple(spec.key.path) for spec in definitions.resolve_all_asset_specs()}
        for key in map(tuple, module["assets"]):
            if key not in keys:
                result["missing"].append(list(key))
            else:
                from dagster import AssetKey
                if not graph.get(AssetKey(list(key))).is_executable:
                    result["not_executable"].append(list(key))
        namespace = vars(sys.modules[path.stem])
        text = path.read_text(encoding="utf-8")
        for folder in reversed(job.get("code_roots", [])):
            if folder not in sys.path:
                sys.path.insert(1, folder)  # after the module's folder, as a deployment puts the project
        result["undefined"] = undefined_names(text, str(path), namespace)
        result["imports"] = body_imports(text, str(path), namespace)
        result["ok"] = not (result["missing"] or result["not_executable"] or result["undefined"] or result["imports"])
    except BaseException as error:  # noqa: BLE001 - what failed is the report
        lines = traceback.format_exception(error)
        result["error"] = "".join(lines[-3:]).strip()[-1500:]
    result["stubbed"] = sorted(stubs.stubbed)
    return result


def undefined_names(text: str, filename: str, namespace: dict) -> list[dict]:
    """Names a function of the module reads as globals that the loaded module does not bind: a
    NameError when the asset runs."""
    import builtins
    import symtable

    missing = []

    def visit(table, owner):
        for child in table.get_children():
            name = owner or child.get_name()  # a nested function's or a method's: its top-level owner's
            if child.get_type() == "function":
                for symbol in child.get_symbols():
                    if symbol.is_global() and symbol.is_referenced() and not symbol.is_assigned() \
                            and symbol.get_name() not in namespace and not hasattr(builtins, symbol.get_name()):
                        missing.append({"function": name, "name": symbol.get_name()})
            visit(child, name)

    visit(symtable.symtable(text, filename, "exec"), None)
    return missing


def _import_guards():
    """analysis/import_guards.py (standard library only), the scaffold check's rule of a caught
    import, loaded by its path: the repository's ``analysis`` package stays off ``sys.path``,
    where a project's own ``analysis`` would meet it."""
    import importlib.util

    path = ROOT / "analysis" / "import_guards.py"
    spec = importlib.util.spec_from_file_location("_airlift_import_guards", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def body_imports(text: str, filename: str, namespace: dict) -> list[dict]:
    """Run each import statement written inside the module's functions (the scaffolds import
    what they need when the asset runs), but in a ``try`` that catches ``ImportError`` (and does
    not raise it again): each must succeed with the stubs."""
    import ast

    tree = ast.parse(text, filename)
    guards = _import_guards()
    guarded = {id(node) for t in ast.walk(tree) if isinstance(t, ast.Try) and guards.guards_imports(t)
               for statement in t.body for node in ast.walk(statement)}
    failures = []
    for function in tree.body:
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in guarded \
                    and not getattr(node, "level", 0):
                statement = ast.Module(body=[ast.Import(names=node.names) if isinstance(node, ast.Import)
                                             else ast.ImportFrom(module=node.module, names=node.names, level=0)],
                                       type_ignores=[])
                ast.fix_missing_locations(statement)
                try:
                    exec(compile(statement, filename, "exec"), dict(namespace))  # noqa: S102 - the judge's probe
                except BaseException as error:  # noqa: BLE001 - what failed is the report
                    failures.append({"function": function.name, "line": node.lineno,
                                     "error": f"{type(error).__name__}: {error}{_where(error, filename)}"[:400]})
    return failures


def _where(error: BaseException, filename: str) -> str:
    """`` (at FILE:LINE)``: the last frame of the failure outside the import machinery and this
    module, i.e. the project's own line that imported what failed."""
    import traceback

    frames = [f for f in traceback.extract_tb(error.__traceback__)
              if not f.filename.startswith("<frozen") and f.filename not in (filename, __file__)]
    return f" (at {frames[-1].filename}:{frames[-1].lineno})" if frames else ""


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--one":  # a child: JOB.json's module N
        job = json.loads(Path(argv[2].split("#")[0]).read_text())
        print(json.dumps(load_one(job, int(argv[2].split("#")[1]))), flush=True)
        return 0
    job_path = argv[1]
    job = json.loads(Path(job_path).read_text())
    for index, module in enumerate(job["modules"]):
        try:
            child = subprocess.run([sys.executable, __file__, "--one", f"{job_path}#{index}"],
                                   capture_output=True, text=True, timeout=MODULE_TIMEOUT,
                                   cwd=str(Path(module["path"]).parent), check=False,
                                   env={**os.environ, "DAGSTER_HOME": str(Path(module["path"]).parent)})
            lines = [line for line in child.stdout.splitlines() if line.startswith("{")]
            result = json.loads(lines[-1]) if lines else {
                "path": module["path"], "ok": False, "missing": [], "not_executable": [],
                "error": f"loader exited {child.returncode}: {child.stderr.strip()[-1500:]}"}
        except subprocess.TimeoutExpired:
            result = {"path": module["path"], "ok": False, "missing": [], "not_executable": [],
                      "error": f"timed out after {MODULE_TIMEOUT} s"}
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
