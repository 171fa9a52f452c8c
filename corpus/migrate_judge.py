"""The judge of corpus/migrate_all.py: what Airflow 2.11 with dagster-airlift's in-Airflow side
makes of one copy of a corpus entry, with the same stubs as corpus/dagbag_truth.py.

Run with the Airflow 2 venv's python (never the dev venv), one process per judgement:

    .cache/airflow2/bin/python corpus/migrate_judge.py NAME ROOT OUT.json

ROOT is a copy of the entry's materialized repo (.cache/corpus/src/NAME/), possibly edited by
airlift-lsp. Writes the truth record of ``dagbag_truth.load_entry`` (files -> DAGs -> tasks with
their operator class, import errors, serialization errors, stubbed modules, scanned files) plus:

    "hooks":  [{"file": relpath, "dags_in_globals": [dag_id], "state_dags": [dag_id],
                "state_folder": relpath|null, "error": str|null}]
              every call of dagster-airlift's ``proxying_to_dagster`` while the DAG files were
              imported (which DAGs the hook saw in the module's globals, which DAGs its state has);
    "states": {folder relpath: {dag_id: {"proxied": bool|null, "tasks": {task_id: bool}}}
               | {"error": str}}
              every ``proxied_state`` folder under the DAG folders, read by airlift's own
              ``load_proxied_state_from_yaml``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dagbag_truth  # noqa: E402  (the stubs, the environment and the DagBag run of the truth)

HOOKS: list[dict] = []
STATE_FOLDERS: dict[int, str] = {}


def _patch_airlift(root: Path) -> None:
    """Record each call of the proxying hook; the hook itself runs unchanged."""
    try:
        import dagster_airlift.in_airflow as in_airflow
        import dagster_airlift.in_airflow.proxied_state as proxied_state
        import dagster_airlift.in_airflow.proxying_fn as proxying_fn
    except ImportError as error:  # the venv lacks airlift: nothing is proxied
        HOOKS.append({"file": None, "error": f"dagster_airlift not importable: {error}"})
        return
    original_load = proxied_state.load_proxied_state_from_yaml
    original_hook = proxying_fn.proxying_to_dagster

    def load(proxied_yaml_path, *args, **kwargs):
        state = original_load(proxied_yaml_path, *args, **kwargs)
        STATE_FOLDERS[id(state)] = dagbag_truth._relative(proxied_yaml_path, root)
        return state

    def hook(*args, **kwargs):
        global_vars = kwargs.get("global_vars", {})
        state = kwargs.get("proxied_state")
        from airflow import DAG
        record = {
            "file": dagbag_truth._relative(global_vars.get("__file__", "?"), root),
            "dags_in_globals": sorted({v.dag_id for v in global_vars.values() if isinstance(v, DAG)}),
            "state_dags": sorted(getattr(state, "dags", {}) or {}),
            "state_folder": STATE_FOLDERS.get(id(state)),
            "error": None,
        }
        HOOKS.append(record)
        try:
            return original_hook(*args, **kwargs)
        except BaseException as error:
            record["error"] = f"{type(error).__name__}: {error}".splitlines()[0][:500]
            raise

    proxied_state.load_proxied_state_from_yaml = load
    proxying_fn.proxying_to_dagster = hook
    in_airflow.proxying_to_dagster = hook


def _states(root: Path, entry: dict) -> dict:
    try:
        from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml
    except ImportError:
        return {}
    states = {}
    for folder_rel in entry["dag_folders"]:
        for dirpath, dirnames, _ in os.walk(root / folder_rel):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            if os.path.basename(dirpath) != "proxied_state":
                continue
            rel = dagbag_truth._relative(dirpath, root)
            try:
                loaded = load_proxied_state_from_yaml(Path(dirpath))
                states[rel] = {dag_id: {"proxied": s.proxied,
                                        "tasks": {t: v.proxied for t, v in s.tasks.items()}}
                               for dag_id, s in loaded.dags.items()}
            except Exception as error:  # noqa: BLE001 - reported
                cause = error.__cause__ or error
                states[rel] = {"error": f"{type(cause).__name__}: {cause}".splitlines()[0][:500]}
    return states


def main(argv: list[str]) -> int:
    name, root, out = argv[0], Path(argv[1]).resolve(), Path(argv[2])
    entry = next(e for e in json.loads(dagbag_truth.MANIFEST.read_text()) if e["name"] == name)
    json_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # Airflow and projects print to stdout
    os.environ.setdefault("DAGSTER_URL", "http://127.0.0.1:9")  # read by airlift's operator at run time only
    result = dagbag_truth.load_entry(entry, root, before_load=lambda: _patch_airlift(root))
    result["hooks"] = HOOKS
    result["states"] = _states(root, entry)
    tmp = out.with_suffix(".part")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.rename(out)
    print(f"{name}: {sum(len(d) for d in result['files'].values())} DAGs, "
          f"{len(result['import_errors'])} import errors, {result['seconds']} s", file=json_out)
    json_out.flush()
    os._exit(0)  # project code may leave threads behind


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
