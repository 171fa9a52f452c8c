"""Materialize assets of a Dagster module for real, with no Airflow running.

Run with the Dagster venv's python (``make dagster``):

    dagster_materialize.py MODULE.py --airflow '{"dag_id": ["task_id", ...]}' --asset KEY ...

(``--asset a,b/c``: several keys in one run, as a multi-asset that cannot be subset needs;
``--record-pipes``: Docker and Kubernetes Pipes runs are recorded, not started, in
``pipes_calls``: see record_pipes.py.)

The module is loaded as ``dagster_load.py`` loads it (dagster-airlift's own fake answers for
Airflow; no HTTP request leaves the process), then each ``--asset`` (a user string, ``a/b``) is
materialized in turn, in its own run of the implicit asset job of the ``Definitions`` that
``build_defs_from_airflow_instance`` returned: what runs is the asset as airlift wrapped it,
in an ephemeral Dagster instance. What the assets print, and the commands they run, goes to
stderr.

Prints one JSON object: ``{"runs": [{"asset": str, "success": bool, "materialized": [str],
"metadata": {key: {name: value}}, "errors": [str]}]}`` (``materialized``: the keys the run
materialized; ``metadata``: their materializations' metadata values, JSON or else text;
``errors``: its step failures).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from pathlib import Path

import record_pipes
from dagster_load import fake_airflow, load


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("module", type=Path)
    parser.add_argument("--airflow", default="{}", help="JSON: {dag_id: [task_id, ...]}")
    parser.add_argument("--asset", action="append", default=[], help="asset key, a/b")
    parser.add_argument("--record-pipes", action="store_true",
                        help="record Docker/Kubernetes Pipes runs instead (record_pipes.py)")
    args = parser.parse_args()

    # What the assets print (and the commands they run) goes to stderr: stdout is the JSON's.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    warnings.simplefilter("ignore")  # dagster-airlift's APIs are all @beta
    from dagster import AssetKey, DagsterInstance

    fake_airflow(json.loads(args.airflow))
    pipes_calls = record_pipes.record() if args.record_pipes else []
    definitions = load(args.module)
    job = definitions.resolve_implicit_global_asset_job_def()
    runs = []
    with DagsterInstance.ephemeral() as instance:
        for key in args.asset:
            selection = [AssetKey.from_user_string(k) for k in key.split(",")]
            result = job.execute_in_process(asset_selection=selection,
                                            instance=instance, raise_on_error=False)
            materialized = sorted(event.asset_key.to_user_string()
                                  for event in result.get_asset_materialization_events())
            runs.append({
                "asset": key,
                "success": result.success,
                "materialized": materialized,
                "metadata": {event.asset_key.to_user_string(): {
                    name: getattr(value, "value", value) for name, value in
                    event.event_specific_data.materialization.metadata.items()}
                    for event in result.get_asset_materialization_events()},
                "errors": [str(event.event_specific_data.error)
                           for event in result.get_step_failure_events()],
            })
    json.dump({"runs": runs, "pipes_calls": pipes_calls}, out, indent=1, default=str)
    out.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
