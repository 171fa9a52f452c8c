"""Ground truth for bench/accuracy.py: what Airflow's own DagBag loads from its example DAGs.

Run with the Python of a venv that has apache-airflow installed (never the dev venv):

    AIRFLOW3_PYTHON bench/dagbag_dump.py [FOLDER] > dump.json

Without FOLDER, loads Airflow's example DAG folders; with it, that folder instead (paths are
then relative to its parent).

Prints one JSON object:

    {"airflow_version": str,
     "root": str,                           # the folder that holds the airflow package (or FOLDER)
     "folders": [str],                      # the DAG folders, relative to root
     "scanned": [path],                     # every file the DagBag read (safe mode)
     "files": {path: {dag_id: {task_id: [upstream task ids, sorted]}}},
     "import_errors": {path: str},
     "missing_modules": {path: [str]}}     # files without DAGs that failed to import a module

A file in ``missing_modules`` may create DAGs only when that module is installed (Airflow's
Kubernetes examples catch the ImportError and skip their DAG): its truth is unknown here.

``path`` is relative to the folder that holds the ``airflow`` package, e.g.
``airflow/example_dags/tutorial.py``, so that the static side, run from that folder, agrees.
Each example folder is loaded by its own DagBag (like a separate DAGs folder), in a
throwaway AIRFLOW_HOME, without Airflow's bundled examples.
"""

from __future__ import annotations

import builtins
import json
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # Airflow is imported only once AIRFLOW_HOME is set
    from airflow.dag_processing.dagbag import DagBag


def example_folders() -> tuple[Path, list[Path]]:
    """The folder that holds the ``airflow`` package, and the example folders under it."""
    import airflow
    import airflow.providers.standard

    return Path(airflow.__file__).parent.parent, [
        Path(airflow.__file__).parent / "example_dags",
        Path(airflow.providers.standard.__file__).parent / "example_dags",
    ]


@contextmanager
def recording_missing_modules(missing: set[str]):
    """Note every module an ``import`` fails to find, even when the code catches the error."""
    real_import = builtins.__import__

    def recording_import(name, *args, **kwargs):
        try:
            return real_import(name, *args, **kwargs)
        except ModuleNotFoundError as error:
            missing.add(error.name or name)
            raise

    builtins.__import__ = recording_import
    try:
        yield
    finally:
        builtins.__import__ = real_import


def load(folder: Path) -> tuple[DagBag, dict[str, set[str]]]:
    """A DagBag of ``folder`` and, per file path, the modules its import could not find."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=folder, safe_mode=True, collect_dags=False)
    missing: dict[str, set[str]] = {}
    process_file = bag.process_file

    def process_file_recording(filepath, *args, **kwargs):
        with recording_missing_modules(missing.setdefault(str(filepath), set())):
            return process_file(filepath, *args, **kwargs)

    bag.process_file = process_file_recording
    bag.collect_dags(dag_folder=folder, safe_mode=True)
    return bag, missing


def dump(dag_folder: Path | None) -> dict:
    import airflow

    root, folders = (dag_folder.parent, [dag_folder]) if dag_folder else example_folders()
    scanned: list[str] = []
    files: dict[str, dict] = {}
    import_errors: dict[str, str] = {}
    missing_modules: dict[str, list[str]] = {}
    for folder in folders:
        bag, missing = load(folder)
        scanned += [(folder / stat.file).relative_to(root).as_posix() for stat in bag.dagbag_stats]
        for dag in bag.dags.values():
            path = Path(dag.fileloc).resolve().relative_to(root).as_posix()
            files.setdefault(path, {})[dag.dag_id] = {
                task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks
            }
        for path, error in bag.import_errors.items():
            full = Path(path) if Path(path).is_absolute() else folder / path
            import_errors[full.resolve().relative_to(root).as_posix()] = error
        for path, modules in missing.items():
            relative = Path(path).resolve().relative_to(root).as_posix()
            if modules and relative not in files:
                missing_modules[relative] = sorted(modules)
    return {
        "airflow_version": airflow.__version__,
        "root": str(root),
        "folders": [folder.relative_to(root).as_posix() for folder in folders],
        "scanned": sorted(scanned),
        "files": {path: files[path] for path in sorted(files)},
        "import_errors": {path: import_errors[path] for path in sorted(import_errors)},
        "missing_modules": {path: missing_modules[path] for path in sorted(missing_modules)},
    }


def main() -> None:
    # Airflow logs to stdout: keep the real stdout for the JSON, send everything else to stderr.
    json_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    with tempfile.TemporaryDirectory(prefix="airflow-home-") as home:
        os.environ["AIRFLOW_HOME"] = home
        os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = os.path.join(home, "dags")
        result = dump(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else None)
    with json_out:
        json.dump(result, json_out, indent=1)
        json_out.write("\n")


if __name__ == "__main__":
    main()
