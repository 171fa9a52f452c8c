"""dagster-airlift's side of bench/poll.py: what a Dagster deployment asks Airflow 2 to learn
the same DAG runs and task instances. Runs with the ``.cache/dagster`` venv's Python
(dagster 1.13, dagster-airlift 0.29), never imported by the project.

    .cache/dagster/bin/python bench/dagster_side.py < request.json > answer.json

The request (JSON on stdin): ``url``, ``username``, ``password``, ``dag_ids`` (the DAGs to
map), ``task_ids`` (each DAG's tasks), ``window_start`` / ``window_end`` (POSIX seconds around
the finished runs), ``repeats``, and optionally ``profile`` (a file for the cProfile stats of
one more tick, run first and left out of the timings).

Every HTTP exchange is counted with a response hook on each session that
``AirflowBasicAuthBackend.get_session()`` hands out (it makes a new ``requests.Session`` for
every call, so every request opens a new connection); ``http_s`` adds up their
``response.elapsed`` (request sent to headers read). Measured, each in this process after
dagster is imported:

- ``definitions``: ``build_defs_from_airflow_instance`` with every task of every DAG mapped to
  an asset: ``list_dags`` (pages of 100), ``get_task_infos`` per mapped DAG, and
  ``get_dag_source_code`` per DAG while Airflow has fewer than 50 DAGs. Done when the code
  location loads, not on each sensor tick.
- ``tick``: one evaluation of the real ``airflow_dag_status_sensor`` whose cursor window
  holds every run: ``get_dag_runs_batch`` (``POST dags/~/dagRuns/list``, pages of 100 runs,
  successful runs that ended in the window) and one ``get_task_instance_batch``
  (``POST dags/~/dagRuns/~/taskInstances/list`` for one run) per run found.
- ``idle_tick``: the next evaluation, from the cursor the first one left: nothing ended since.
"""

from __future__ import annotations

import cProfile
import json
import statistics
import sys
import time
from collections import Counter

import requests
from dagster import AssetSpec, DagsterInstance, Definitions, build_sensor_context
from dagster._serdes import serialize_value
from dagster_airlift.core import (
    AirflowBasicAuthBackend,
    AirflowInstance,
    assets_with_task_mappings,
    build_defs_from_airflow_instance,
)
from dagster_airlift.core.sensor.sensor_builder import AirflowPollingSensorCursor


class CountingBasicAuth(AirflowBasicAuthBackend):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[str] = []
        self.http_s = 0.0
        self.sessions = 0

    def get_session(self) -> requests.Session:
        session = super().get_session()
        self.sessions += 1

        def hook(response, *args, **kwargs):
            request = response.request
            self.seen.append(f"{request.method} {request.path_url.split('?')[0]}")
            self.http_s += response.elapsed.total_seconds()

        session.hooks["response"].append(hook)
        return session


def endpoint_counts(seen: list[str], dag_ids: list[str]) -> dict[str, int]:
    """Requests by endpoint, with DAG ids replaced by ``{dag_id}``."""
    counts: Counter[str] = Counter()
    for line in seen:
        for dag_id in dag_ids:
            line = line.replace(f"/dags/{dag_id}/", "/dags/{dag_id}/").replace(f"/{dag_id}", "/{dag_id}")
        if "/dagSources/" in line:
            line = line.split("/dagSources/")[0] + "/dagSources/{file_token}"
        counts[line] += 1
    return dict(counts)


def main() -> int:
    ask = json.load(sys.stdin)
    dag_ids: list[str] = ask["dag_ids"]
    task_ids: list[str] = ask["task_ids"]
    wanted = set(dag_ids)
    auth = CountingBasicAuth(webserver_url=ask["url"], username=ask["username"], password=ask["password"])
    instance = AirflowInstance(auth_backend=auth, name="bench")
    answer: dict = {"dagster_airlift": _version()}

    mapped = [
        spec
        for dag_id in dag_ids
        for spec in assets_with_task_mappings(
            dag_id=dag_id,
            task_mappings={task_id: [AssetSpec(f"{dag_id}__{task_id}")] for task_id in task_ids})
    ]
    auth.http_s = 0.0
    began = time.perf_counter()
    defs = build_defs_from_airflow_instance(
        airflow_instance=instance, defs=Definitions(assets=mapped),
        dag_selector_fn=lambda dag: dag.dag_id in wanted)
    repository = defs.get_repository_def()
    answer["definitions"] = {"requests": len(auth.seen), "sessions": auth.sessions,
                             "seconds": time.perf_counter() - began, "http_s": auth.http_s,
                             "by_endpoint": endpoint_counts(auth.seen, dag_ids)}
    sensor = repository.get_sensor_def(f"{instance.name}__airflow_dag_status_sensor")

    ticks, idle = [], []
    with DagsterInstance.ephemeral() as dagster_instance:
        def full_window() -> str:
            return serialize_value(AirflowPollingSensorCursor(
                end_date_gte=ask["window_start"], end_date_lte=ask["window_end"], dag_query_offset=0))

        if ask.get("profile"):  # an extra tick, profiled, kept out of the timings
            profiled = _tick(sensor, repository, dagster_instance, auth, full_window(), dag_ids, ask["profile"])
            answer["profiled_tick_s"] = profiled["seconds"]
        for _ in range(max(1, int(ask.get("repeats", 1)))):
            ticks.append(_tick(sensor, repository, dagster_instance, auth, full_window(), dag_ids))
            idle.append(_tick(sensor, repository, dagster_instance, auth, ticks[-1].pop("cursor"), dag_ids))
            idle[-1].pop("cursor")
    answer["tick"] = _summary(ticks)
    answer["idle_tick"] = _summary(idle)
    json.dump(answer, sys.stdout)
    return 0


def _tick(sensor, repository, dagster_instance, auth: CountingBasicAuth, cursor: str, dag_ids: list[str],
          profile_to: str | None = None) -> dict:
    context = build_sensor_context(instance=dagster_instance, repository_def=repository, cursor=cursor)
    auth.seen.clear()
    auth.http_s = 0.0
    profile = cProfile.Profile() if profile_to else None
    began = time.perf_counter()
    if profile is not None:
        profile.enable()
    result = sensor(context)
    seconds = time.perf_counter() - began
    if profile is not None:
        profile.disable()
        profile.dump_stats(profile_to)
    events = list(result.asset_events or [])
    return {"requests": len(auth.seen), "seconds": seconds, "http_s": auth.http_s,
            "materializations": len(events),
            "by_endpoint": endpoint_counts(auth.seen, dag_ids), "cursor": context.cursor}


def _summary(ticks: list[dict]) -> dict:
    first = ticks[0]
    return {"requests": [t["requests"] for t in ticks], "seconds": [t["seconds"] for t in ticks],
            "median_s": statistics.median(t["seconds"] for t in ticks),
            "median_http_s": statistics.median(t["http_s"] for t in ticks),
            "materializations": first["materializations"], "by_endpoint": first["by_endpoint"]}


def _version() -> str:
    from importlib.metadata import version

    return version("dagster-airlift")


if __name__ == "__main__":
    sys.exit(main())
