"""Load a Dagster module in a real Dagster + dagster-airlift, with no Airflow running.

Run with the Dagster venv's python (``make dagster``):

    dagster_load.py MODULE.py --airflow '{"dag_id": ["task_id", ...]}'

``build_defs_from_airflow_instance`` asks Airflow for its DAGs and tasks while the module is
imported. Here the ``AirflowInstance`` the module builds (whatever its auth backend) answers
from dagster-airlift's own test fake, ``dagster_airlift.test.make_instance``, holding the DAGs
and tasks given with ``--airflow``; any other HTTP request fails the load. Everything else is
the real code path: the module's imports, ``assets_with_task_mappings``, the Definitions that
``build_defs_from_airflow_instance`` builds, and Dagster's own validation of them
(``get_repository_def``, as ``dagster definitions validate`` does).

Prints one JSON object: ``{"instances": [{"name", "webserver_url"}], "assets": [{"key": [str],
"deps": [[str]], "airlift": {metadata key: value}}], "jobs": [{"name", "assets": [[str]],
"retries": int|null}], "schedules": [{"name", "cron", "job", "timezone"}]}`` (``airlift`` holds the asset's
``dagster-airlift/*`` metadata, e.g. ``dagster-airlift/task-mapping``; ``retries``: the job's
``op_retry_policy``).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import warnings
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("module", type=Path)
    parser.add_argument("--airflow", default="{}", help="JSON: {dag_id: [task_id, ...]}")
    args = parser.parse_args()
    structure: dict[str, list[str]] = json.loads(args.airflow)

    warnings.simplefilter("ignore")  # dagster-airlift's APIs are all @beta
    instances = fake_airflow(structure)
    definitions = load(args.module)
    repository = definitions.get_repository_def()  # Dagster's validation of the whole graph
    assets = []
    for spec in definitions.resolve_all_asset_specs():
        assets.append({
            "key": list(spec.key.path),
            "deps": [list(dep.asset_key.path) for dep in spec.deps],
            "airlift": {key: plain(value) for key, value in spec.metadata.items()
                        if key.startswith("dagster-airlift/")},
        })
    assert repository.asset_graph is not None
    jobs = [{"name": job.name, "assets": sorted(list(key.path) for key in job.asset_layer.executable_asset_keys),
             "retries": getattr(job.op_retry_policy, "max_retries", None)}
            for job in repository.get_all_jobs() if not job.name.startswith("__")]
    schedules = [{"name": schedule.name, "cron": schedule.cron_schedule, "job": schedule.job_name,
                  "timezone": schedule.execution_timezone}
                 for schedule in repository.schedule_defs]
    json.dump({"instances": instances, "assets": sorted(assets, key=lambda a: a["key"]),
               "jobs": sorted(jobs, key=lambda j: j["name"]), "schedules": sorted(schedules, key=lambda s: s["name"])},
              sys.stdout, indent=1, default=str)
    return 0


def fake_airflow(structure: dict[str, list[str]]) -> list[dict]:
    """Make every ``AirflowInstance`` answer from dagster-airlift's fake, and record each
    instance the module peers with (its name and the URL it would have called)."""
    import requests
    from dagster_airlift.core.airflow_instance import AirflowInstance
    from dagster_airlift.test import make_instance

    fake = make_instance(structure)
    peered: list[dict] = []

    def list_dags(self, retrieval_filter=None):
        peered.append({"name": self.name, "webserver_url": self.auth_backend.get_webserver_url()})
        return fake.list_dags(retrieval_filter)

    def get_task_infos(self, *, dag_id):
        # AirflowInstanceFake.get_task_infos returns every DAG's tasks (`if dag_id == dag_id`).
        return [fake.get_task_info(dag_id, task_id) for task_id in structure[dag_id]]

    def get_dag_source_code(self, file_token):
        return fake.get_dag_source_code(file_token)

    def get_all_datasets(self, **kwargs):
        return []

    def no_network(self, method, url, *args, **kwargs):
        raise AssertionError(f"the module made an HTTP request while loading: {method} {url}")

    for name, function in [("list_dags", list_dags), ("get_task_infos", get_task_infos),
                           ("get_dag_source_code", get_dag_source_code),
                           ("get_all_datasets", get_all_datasets)]:
        setattr(AirflowInstance, name, function)
    requests.Session.request = no_network
    return peered


def load(path: Path):
    """Import the module as Dagster would (its folder on sys.path) and return its one
    ``Definitions``."""
    from dagster import Definitions

    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    found = [value for value in vars(module).values() if isinstance(value, Definitions)]
    if len(found) != 1:
        raise SystemExit(f"{path}: expected one Definitions object, found {len(found)}")
    return found[0]


def plain(value):
    """Metadata as JSON: a MetadataValue's payload, else the value itself."""
    value = getattr(value, "value", value)
    return json.loads(json.dumps(value, default=str))


if __name__ == "__main__":
    sys.exit(main())
