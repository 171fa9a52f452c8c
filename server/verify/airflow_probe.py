"""Run by ``airlift-lsp verify`` as a file, with the project's own Airflow interpreter (never in
the language server's process): load the project's DAG folders with Airflow's DagBag and say
what Airflow sees.

Reads one JSON request on stdin: ``{"root": str, "dag_folders": [str], "sys_path": [str],
"environment": {str: str}, "state_dirs": [str]}`` (absolute paths; ``environment``: the
deployment's variables DAG files read at import). Writes one JSON object on stdout; Airflow's logs and
anything the DAG files print go to stderr. Self-contained: it imports nothing of airlift-lsp
(the interpreter running it has none), only the standard library, Airflow and, when installed,
dagster-airlift. Keep it importable by the oldest Python an Airflow 2 deployment runs (3.8).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import traceback

NO_AIRFLOW = "no-airflow"


def main() -> int:
    # The folder of this script is sys.path[0]: the project's code must not import from it.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    request = json.load(sys.stdin)
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # Airflow and DAG files print to stdout
    sys.stdout = sys.stderr
    home = tempfile.mkdtemp(prefix="airlift-verify-home-")
    try:
        report = probe(request, home)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    json.dump(report, out)
    out.write("\n")
    out.close()
    return 0


def probe(request: dict, home: str) -> dict:
    folders = request["dag_folders"]
    # A throwaway Airflow home, and a database inside it whatever the environment says:
    # loading DAG files must never touch a deployment's metadata database.
    database = "sqlite:///" + os.path.join(home, "airflow.db")
    os.environ.update({str(k): str(v) for k, v in (request.get("environment") or {}).items()})
    os.environ.update({
        "AIRFLOW_HOME": home,
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": folders[0] if folders else request["root"],
        "AIRFLOW__CORE__PLUGINS_FOLDER": os.path.join(request["root"], "plugins"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__CORE__SQL_ALCHEMY_CONN": database,
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    })
    os.chdir(request["root"])
    for entry in reversed(request["sys_path"]):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    try:
        import airflow
    except Exception as error:  # noqa: BLE001 - reported to the caller as one line
        return {"fatal": NO_AIRFLOW, "detail": _one_line(error), "python": sys.executable}
    proxy_classes, airlift_version, airlift_error = _airlift()
    report = {
        "airflow_version": getattr(airflow, "__version__", None),
        "airlift_version": airlift_version,
        "airlift_error": airlift_error,
        "python": sys.executable,
        "dags": [],
        "import_errors": [],
        "state_folders": [],
    }
    dag_bag = _dag_bag_class()
    serializer = _serializer()
    for folder in folders:
        bag = dag_bag(dag_folder=folder)
        for path, message in sorted(bag.import_errors.items()):
            report["import_errors"].append({"file": path, "message": str(message),
                                            "line": _line_in(str(message), path)})
        for dag_id in sorted(bag.dags):
            report["dags"].append(_dag(bag.dags[dag_id], serializer, proxy_classes))
    for folder in request["state_dirs"]:
        report["state_folders"].append(_state_folder(folder))
    return report


def _dag_bag_class():
    try:  # Airflow 3.1+
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 2, 3.0
        from airflow.models.dagbag import DagBag
    return DagBag


def _serializer():
    """What the DAG processor writes and the scheduler and webserver read back: Airflow 2's
    ``SerializedDAG``; Airflow 3.1+ moved ``to_dict``/``from_dict`` to ``DagSerialization``
    (its ``SerializedDAG`` is the deserialized class)."""
    from airflow.serialization import serialized_objects

    for name in ("DagSerialization", "SerializedDAG"):
        candidate = getattr(serialized_objects, name, None)
        if candidate is not None and hasattr(candidate, "to_dict") and hasattr(candidate, "from_dict"):
            return candidate
    return None


def _airlift():
    try:
        from dagster_airlift.in_airflow.dag_proxy_operator import BaseProxyDAGToDagsterOperator
        from dagster_airlift.in_airflow.task_proxy_operator import BaseProxyTaskToDagsterOperator
    except Exception as error:  # noqa: BLE001 - without airlift, proxying cannot be checked
        return None, None, _one_line(error)
    try:
        from dagster_airlift.version import __version__ as version
    except Exception:  # noqa: BLE001
        version = "unknown"
    return (BaseProxyTaskToDagsterOperator, BaseProxyDAGToDagsterOperator), version, None


def _dag(dag, serializer, proxy_classes) -> dict:
    # A task registered under a key other than its id (airlift rebuilding a proxied task inside
    # its TaskGroup prefixes the id again) is reported once, with every key it is found under.
    tasks = {}
    for key, task in dag.task_dict.items():
        entry = tasks.get(id(task))
        if entry is None:
            entry = tasks[id(task)] = _task(task, proxy_classes)
        if key != task.task_id:
            entry.setdefault("registered_as", []).append(key)
    error = stage = None
    if serializer is None:
        error, stage = "this Airflow has no DAG serializer that verify knows", "serialize"
    else:
        try:
            stage = "serialize"
            data = serializer.to_dict(dag)
            stage = "deserialize"
            serializer.from_dict(data)
            stage = None
        except Exception as failure:  # noqa: BLE001 - the finding
            error = _one_line(failure)
    return {"dag_id": dag.dag_id, "fileloc": getattr(dag, "fileloc", None),
            "tasks": list(tasks.values()), "serialization_error": error, "serialization_stage": stage}


def _task(task, proxy_classes) -> dict:
    kind = type(task)
    proxy = None
    if proxy_classes is not None:
        if isinstance(task, proxy_classes[0]):
            proxy = "task"
        elif isinstance(task, proxy_classes[1]):
            proxy = "dag"
    return {"task_id": task.task_id, "upstream": sorted(task.upstream_task_ids),
            "operator": kind.__name__, "module": kind.__module__, "proxy": proxy}


def _state_folder(folder: str) -> dict:
    result = {"folder": folder, "error": None, "error_file": None, "dags": {}}
    try:
        from pathlib import Path

        from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml
    except Exception as error:  # noqa: BLE001
        result["error"] = "dagster-airlift is not installed here: " + _one_line(error)
        result["skipped"] = True
        return result
    try:
        state = load_proxied_state_from_yaml(Path(folder))
    except Exception as error:  # noqa: BLE001
        result["error"] = _one_line(error.__cause__ or error)
        result["error_file"] = _failing_file(folder, load_proxied_state_from_yaml)
        return result
    for dag_id, dag_state in sorted(state.dags.items()):
        result["dags"][dag_id] = {"proxied": dag_state.proxied,
                                  "tasks": {t: s.proxied for t, s in dag_state.tasks.items()}}
    return result


def _failing_file(folder: str, load):
    """The first state file that airlift's loader refuses on its own (it names none)."""
    from pathlib import Path

    for name in sorted(os.listdir(folder)):
        if not name.endswith((".yaml", ".yml")):
            continue
        alone = tempfile.mkdtemp(prefix="airlift-verify-state-")
        try:
            shutil.copyfile(os.path.join(folder, name), os.path.join(alone, name))
            load(Path(alone))
        except Exception:  # noqa: BLE001
            return os.path.join(folder, name)
        finally:
            shutil.rmtree(alone, ignore_errors=True)
    return None


def _line_in(message: str, path: str):
    """The last line of ``path`` that the traceback names (1-based), if any."""
    found = None
    for match in re.finditer(r'File "([^"]+)", line (\d+)', message):
        if os.path.realpath(match.group(1)) == os.path.realpath(path):
            found = int(match.group(2))
    return found


def _one_line(error: BaseException) -> str:
    lines = traceback.format_exception_only(type(error), error)
    text = " ".join(line.strip() for line in lines if line.strip())
    return text[:2000]


if __name__ == "__main__":
    sys.exit(main())
