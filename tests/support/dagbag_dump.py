"""Run in the Airflow venv (never the dev venv): print what Airflow's DagBag loads.

    python dagbag_dump.py FOLDER  ->  {"dags": {dag_id: {"file": name, "tasks": {task_id: [upstream]},
                                                "classes": {task_id: class name},
                                                "xcom_from": {task_id: [tasks whose XCom it is given]},
                                                "skips": [task_id that can skip the tasks after it]}},
                                       "import_errors": {name: message},
                                       "serialization_errors": {dag_id: message},
                                       "states": {folder: {dag_id: ...}}}

Every DAG goes through the scheduler's serialization round trip
(``SerializedDAG.from_dict(SerializedDAG.to_dict(dag))``): a DAG that fails it loads in the
DagBag but no scheduler or webserver can read it.

The folder goes on sys.path first, as Airflow's DAG processor does for a bundle.
"""

import json
import os
import sys
import tempfile
from pathlib import Path


def xcom_from(task) -> list[str]:
    """The ids of the tasks whose XCom ``task`` is given, as Airflow finds them: the XComArgs of
    its templated fields (a mapped task's partial arguments) and of a mapped task's expand input.
    (corpus/dagbag_truth.py records the same.)"""
    try:
        from airflow.models.xcom_arg import XComArg
    except ImportError:  # Airflow 3
        from airflow.sdk.definitions.xcom_arg import XComArg
    partial = getattr(task, "partial_kwargs", None)
    values = [(partial if isinstance(partial, dict) else {}).get(name, getattr(task, name, None))
              for name in getattr(task, "template_fields", ())]
    ids = set()
    try:
        expand = getattr(task, "_get_specified_expand_input", None)
        if expand is not None:
            ids.update(op.task_id for op, _ in expand().iter_references())
        for value in values:
            ids.update(op.task_id for op, _ in XComArg.iter_xcom_references(value))
    except Exception:  # noqa: BLE001 - a stub's odd attribute never stops the dump
        pass
    ids.discard(task.task_id)
    return sorted(ids)


def skips(task) -> bool:
    """Whether the task can skip the tasks after it, as its loaded objects show: its class can
    (``SkipMixin``: branches, short-circuits, latest-only), or it can skip itself (a sensor given
    ``soft_fail`` or ``never_fail``, given or from ``default_args``; a python callable, or a method of a class of the project's own, whose bytecode
    names ``AirflowSkipException``): what a proxy operator, which skips nothing, would change.
    Sensors are not counted for ``SkipMixin`` alone: Airflow 2's ``BaseSensorOperator`` mixes it
    in to skip itself, which only ``soft_fail`` does."""
    try:
        from airflow.models.skipmixin import SkipMixin
        from airflow.sensors.base import BaseSensorOperator
    except ImportError:  # Airflow 3
        try:
            from airflow.providers.standard.utils.skipmixin import SkipMixin
            from airflow.sdk import BaseSensorOperator
        except ImportError:
            return False
    cls = getattr(task, "operator_class", None)
    cls = cls if isinstance(cls, type) else type(task)
    if issubclass(cls, SkipMixin) and not issubclass(cls, BaseSensorOperator):
        return True
    partial = getattr(task, "partial_kwargs", None)
    given = partial if isinstance(partial, dict) else {}
    if issubclass(cls, BaseSensorOperator) and any(given.get(option, getattr(task, option, False)) is True
                                                   for option in ("soft_fail", "never_fail")):
        return True
    function = given.get("python_callable", getattr(task, "python_callable", None))
    codes = [getattr(_unwrapped(function), "__code__", None)]
    for klass in cls.__mro__:
        if not (klass.__module__ or "").startswith(("airflow", "builtins")):
            codes += [getattr(_unwrapped(getattr(v, "__func__", v)), "__code__", None) for v in vars(klass).values()]
    return any(code is not None and _names_skip(code) for code in codes)


_LITERALS = (str, int, float, bool, type(None))


def attributes(task, limit: int = 400) -> dict:
    """The task's public attributes that hold a literal (strings, numbers, booleans, None, lists,
    tuples and dicts of them; tuples as lists), each at most ``limit`` characters of JSON: what
    the operator kept of its arguments, to judge the values the model evaluates for them
    (``analysis.dags.arguments``), and as ``closure:<name>`` the values its ``python_callable``
    reads from the function that defined it (``analysis.dags.closures``). An attribute of the same name as an argument is most often
    that argument, as given; a class may also transform what it keeps."""
    found = {}
    function = getattr(task, "python_callable", None)
    cells = zip(function.__code__.co_freevars, function.__closure__ or ()) \
        if callable(function) and hasattr(function, "__code__") else ()
    values = [*sorted(vars(task).items()), *((f"closure:{name}", _cell(cell)) for name, cell in cells)]
    for name, value in values:  # and what its callable reads from the function that defined it
        if name.startswith("_") or not _literal(value, 0):
            continue
        try:
            text = json.dumps(value)
        except (TypeError, ValueError):
            continue
        if len(text) <= limit:
            found[name] = json.loads(text)
    return found


def _cell(cell) -> object:
    try:
        return cell.cell_contents
    except ValueError:  # a name the function around it never bound
        return _cell


def _literal(value, depth: int) -> bool:
    if depth > 8:
        return False
    if isinstance(value, _LITERALS):
        return True
    if isinstance(value, (list, tuple)):
        return all(_literal(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _literal(v, depth + 1) for k, v in value.items())
    return False


def _unwrapped(function):
    """The function under its wrappers (Airflow wraps an operator's ``execute``)."""
    try:
        import inspect
        return inspect.unwrap(function) if callable(function) else function
    except ValueError:  # a cycle of __wrapped__
        return function


def _names_skip(code) -> bool:
    """``AirflowSkipException`` among the names a code object (or one nested in it) uses."""
    return "AirflowSkipException" in code.co_names or any(
        _names_skip(const) for const in code.co_consts if hasattr(const, "co_names"))


def main(folder: str) -> None:
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # Airflow logs to stdout
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        os.environ["AIRFLOW_HOME"] = home
        os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        sys.path.insert(0, folder)
        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow 2
            from airflow.models.dagbag import DagBag
        bag = DagBag(dag_folder=folder, safe_mode=True)
        dags = {
            dag.dag_id: {
                "file": Path(dag.fileloc).name,
                "tasks": {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks},
                "classes": {t.task_id: type(t).__name__ for t in dag.tasks},
                "xcom_from": {t.task_id: xcom_from(t) for t in dag.tasks},
                "skips": sorted(t.task_id for t in dag.tasks if skips(t)),
                "attributes": {t.task_id: attributes(t) for t in dag.tasks},
            }
            for dag in bag.dags.values()
        }
        errors = {Path(p).name: str(e).strip().splitlines()[-1] for p, e in bag.import_errors.items()}
        from airflow.serialization.serialized_objects import SerializedDAG

        serialization_errors = {}
        for dag in bag.dags.values():
            try:
                SerializedDAG.from_dict(SerializedDAG.to_dict(dag))
            except Exception as error:  # noqa: BLE001 - reported to the test
                serialization_errors[dag.dag_id] = f"{type(error).__name__}: {error}"
    state_dirs = {os.path.join(root, d) for root, dirs, _ in os.walk(folder) for d in dirs if d == "proxied_state"}
    states = {}
    for state_dir in sorted(state_dirs):
        try:  # airlift's own loader, where it is installed (the Airflow 2 venv)
            from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml
        except ImportError:
            break
        try:
            loaded = load_proxied_state_from_yaml(Path(state_dir))
            states[os.path.relpath(state_dir, folder)] = {
                dag_id: {"proxied": s.proxied, "tasks": {t: v.proxied for t, v in s.tasks.items()}}
                for dag_id, s in loaded.dags.items()}
        except Exception as error:  # noqa: BLE001 - reported to the test
            states[os.path.relpath(state_dir, folder)] = {"error": repr(error.__cause__ or error)}
    json.dump({"dags": dags, "import_errors": errors, "serialization_errors": serialization_errors,
               "states": states}, out, indent=1, sort_keys=True)
    out.write("\n")
    out.close()


if __name__ == "__main__":
    main(sys.argv[1])
