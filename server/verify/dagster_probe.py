"""Run by ``airlift-lsp verify --dagster-python`` as a file, with the project's own Dagster
interpreter: import the project's Dagster module as ``dagster dev -m`` would, with Airflow faked
(no network), and say which assets Dagster ends up with.

Reads one JSON request on stdin: ``{"root": str, "module": str, "airflow": {dag_id: [task_id]}}``.
``build_defs_from_airflow_instance`` asks Airflow for its DAGs and tasks while the module is
imported: every ``AirflowInstance`` answers from dagster-airlift's own test fake
(``dagster_airlift.test.make_instance``) holding those DAGs and tasks, and any HTTP request
fails the load. Everything else is the real code path, ending with Dagster's own validation
(``Definitions.get_repository_def()``, as ``dagster definitions validate`` does).

Writes one JSON object on stdout: ``{"module", "dagster_version", "error", "error_line",
"assets": [{"key", "executable", "tasks": [[dag_id, task_id]], "dags": [dag_id]}]}``. Logs and
prints go to stderr. Self-contained: imports nothing of airlift-lsp.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import sys
import tempfile
import traceback
import warnings

NO_DAGSTER = "no-dagster"
NO_AIRLIFT = "no-airlift"


def main() -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    request = json.load(sys.stdin)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    home = tempfile.mkdtemp(prefix="airlift-verify-dagster-home-")
    os.environ["DAGSTER_HOME"] = home
    try:
        report = probe(request)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    json.dump(report, out, default=str)
    out.write("\n")
    out.close()
    return 0


def probe(request: dict) -> dict:
    module_path = request["module"]
    os.chdir(request["root"])
    warnings.simplefilter("ignore")  # dagster-airlift's APIs are all @beta
    try:
        import dagster
    except Exception as error:  # noqa: BLE001
        return {"fatal": NO_DAGSTER, "detail": _one_line(error), "python": sys.executable}
    try:
        from dagster_airlift.core.airflow_instance import AirflowInstance  # noqa: F401
        from dagster_airlift.test import make_instance  # noqa: F401
    except Exception as error:  # noqa: BLE001
        return {"fatal": NO_AIRLIFT, "detail": _one_line(error), "python": sys.executable}
    report = {"module": module_path, "dagster_version": getattr(dagster, "__version__", None),
              "error": None, "error_line": None, "assets": []}
    _fake_airflow({str(k): [str(t) for t in v] for k, v in request["airflow"].items()})
    try:
        definitions = _load(module_path, request["root"])
        repository = definitions.get_repository_def()
        report["assets"] = _assets(repository.asset_graph)
    except BaseException as error:  # noqa: BLE001 - SystemExit from module code is a failure too
        if isinstance(error, KeyboardInterrupt):
            raise
        report["error"] = _one_line(error)
        report["error_line"] = _line_in(error, module_path)
    return report


def _fake_airflow(structure: dict) -> None:
    import requests
    from dagster_airlift.core.airflow_instance import AirflowInstance
    from dagster_airlift.test import make_instance

    fake = make_instance(structure)

    def list_dags(self, retrieval_filter=None):
        return fake.list_dags(retrieval_filter)

    def get_task_infos(self, *, dag_id):
        # The fake's own get_task_infos returns every DAG's tasks.
        return [fake.get_task_info(dag_id, task_id) for task_id in structure.get(dag_id, [])]

    def get_dag_source_code(self, file_token):
        return fake.get_dag_source_code(file_token)

    def get_all_datasets(self, **kwargs):
        return []

    def no_network(self, method, url, *args, **kwargs):
        raise RuntimeError(f"the module made an HTTP request while loading ({method} {url}); verify "
                           "answers Airflow's API from a fake and allows no other call")

    for name, function in [("list_dags", list_dags), ("get_task_infos", get_task_infos),
                           ("get_dag_source_code", get_dag_source_code), ("get_all_datasets", get_all_datasets)]:
        setattr(AirflowInstance, name, function)
    requests.Session.request = no_network


def _load(path: str, root: str):
    """Import the module by its dotted name (its package's parent on sys.path, as ``dagster
    dev -m package.module`` from the workspace) and return its Definitions."""
    from dagster import Definitions

    folder, name = os.path.split(os.path.splitext(os.path.abspath(path))[0])
    parts = [name]
    while os.path.exists(os.path.join(folder, "__init__.py")):
        folder, package = os.path.split(folder)
        parts.insert(0, package)
    for entry in (root, folder):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    module = importlib.import_module(".".join(parts))
    found = {key: value for key, value in vars(module).items() if isinstance(value, Definitions)}
    if len(found) == 1:
        return next(iter(found.values()))
    if "defs" in found:
        return found["defs"]
    raise RuntimeError(f"expected one module-level Definitions object, found {len(found) or 'none'}")


def _assets(graph) -> list:
    from dagster_airlift.constants import DAG_MAPPING_METADATA_KEY, TASK_MAPPING_METADATA_KEY

    assets = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.path):
        node = graph.get(key)
        metadata = node.metadata or {}
        tasks = [[h.get("dag_id"), h.get("task_id")] for h in _handles(metadata.get(TASK_MAPPING_METADATA_KEY))]
        dags = [h.get("dag_id") for h in _handles(metadata.get(DAG_MAPPING_METADATA_KEY))]
        assets.append({"key": _user_string(key), "executable": bool(node.is_executable),
                       "tasks": [t for t in tasks if all(isinstance(p, str) for p in t)],
                       "dags": [d for d in dags if isinstance(d, str)]})
    return assets


def _handles(value) -> list:
    value = getattr(value, "value", value)  # a JsonMetadataValue, or the list itself
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [h for h in value if isinstance(h, dict)] if isinstance(value, list) else []


def _user_string(key) -> str:
    escaped = getattr(key, "to_escaped_user_string", None)
    return escaped() if escaped else "/".join(key.path)


def _line_in(error: BaseException, path: str):
    """The last line of the module that the traceback (or, when Dagster wrapped the module's
    error, the chain of causes) names, 1-based."""
    real = os.path.realpath(path)
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        found = None
        for frame in traceback.extract_tb(error.__traceback__):
            if os.path.realpath(frame.filename) == real:
                found = frame.lineno
        if found is None and isinstance(error, SyntaxError) and error.filename \
                and os.path.realpath(error.filename) == real:
            found = error.lineno
        if found is not None:
            return found
        error = error.__cause__ or error.__context__
    return None


def _one_line(error: BaseException) -> str:
    lines = traceback.format_exception_only(type(error), error)
    text = " ".join(line.strip() for line in lines if line.strip())
    return re.sub(r"\s+", " ", text)[:2000]


if __name__ == "__main__":
    sys.exit(main())
