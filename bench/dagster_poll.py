"""Cost of the Dagster side of one poll against a real ``dagster-webserver`` (Dagster 1.13).

    .venv/bin/python bench/dagster_poll.py [--json] [--sizes 1,50,500] [--repeats 3] [--save FILE]

Starts a webserver from the Dagster venv (``.cache/dagster``, tests/support/dagster_server.py)
on tests/fixtures/dagster_peering/definitions.py, launches one run of ``raw_data/raw_customers``
the way dagster-airlift's proxy operator does (its three run tags) for DAG ``dag_0``, then for
each size N: N DAGs with three tasks, all proxied, each with a finished last Airflow run, and
three mapped assets per task. ``server.peering.dagster_watch.DagsterWatcher`` polls:
``cold`` (nothing known: the polls until the runs of the N last Airflow runs were asked about,
one aliased ``runsOrError`` each and at most ``MAX_ASKED`` a poll, each poll with the last
materialization of the 9N assets; the slowest poll's time) and ``warm`` (the Airflow runs
finished and their Dagster runs known: the assets only). Every HTTP exchange is counted with a session hook.
Target: at most 2 requests per poll whatever N. Times are medians, on whatever the machine does
meanwhile. ``--save FILE`` also writes the figures there (bench/report.py's ``BENCH_POLL=saved`` reads
them); a webserver that cannot start gives ``{"error": why}`` and leaves that file as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server.peering.dagster_client import DAG_ID_TAG, DAG_RUN_ID_TAG, TASK_ID_TAG, DagsterClient
from server.peering.dagster_watch import DagInterest, DagsterWatcher
from server.peering.history import RunHistory
from server.peering.records import DagRun, TaskInstance
from server.settings import DagsterSettings
from tests.support.dagster_server import DEFAULT_PYTHON, DagsterServer

MODULE = REPO / "tests" / "fixtures" / "dagster_peering" / "definitions.py"
TASKS = ("extract", "transform", "load")
LAUNCH = """mutation Launch($params: ExecutionParams!) { launchRun(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } } }"""


def airflow_side(size: int) -> tuple[RunHistory, tuple[DagInterest, ...]]:
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    runs, instances, interest = {}, {}, []
    for i in range(size):
        dag_id = f"dag_{i}"
        run = DagRun(dag_id, "run_1", "success", start, start, start + timedelta(minutes=1))
        runs[dag_id] = (run,)
        instances[run.key] = tuple(TaskInstance(dag_id, "run_1", t, "success", start, start, 1) for t in TASKS)
        assets = tuple((t, tuple(f"{dag_id}/{t}/asset_{k}" for k in range(3))) for t in TASKS)
        if i == 0:
            assets = (("extract", ("raw_data/raw_customers",)), *assets[1:])
        interest.append(DagInterest(dag_id, TASKS, True, assets))
    return RunHistory("http://airflow.bench", "v2", start, runs, instances), tuple(interest)


def launch(server: DagsterServer) -> None:
    location = server.locations()[0]["name"]
    tags = [{"key": DAG_ID_TAG, "value": "dag_0"}, {"key": DAG_RUN_ID_TAG, "value": "run_1"},
            {"key": TASK_ID_TAG, "value": "extract"}]
    params = {"selector": {"repositoryLocationName": location, "repositoryName": "__repository__",
                           "jobName": "__ASSET_JOB", "assetSelection": [{"path": ["raw_data", "raw_customers"]}]},
              "runConfigData": {}, "executionMetadata": {"tags": tags}}
    assert server.graphql(LAUNCH, {"params": params})["launchRun"]["__typename"] == "LaunchRunSuccess"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if [r for r in server.runs({DAG_RUN_ID_TAG: "run_1"}) if r["status"] == "SUCCESS"]:
            return
        time.sleep(1)
    raise SystemExit("the Dagster run did not finish in 120 s")


def measure(url: str, size: int, repeats: int) -> dict:
    history, interest = airflow_side(size)
    figures: dict[str, list] = {"cold_requests": [], "cold_s": [], "warm_requests": [], "warm_s": [],
                                "cold_bytes": [], "cold_polls": []}
    sent: list[int] = []

    def factory(settings: DagsterSettings) -> DagsterClient:
        client = DagsterClient(settings.url)
        client.session.hooks["response"].append(lambda r, *a, **k: sent.append(len(r.request.body or b"")))
        return client

    for _ in range(repeats):

        watcher = DagsterWatcher(DagsterSettings(url=url), lambda: interest, client_factory=factory)
        polls, slowest, most, largest = 0, 0.0, 0, 0
        while len(watcher.view.runs) < size:  # cold: until every DAG's last run was asked about
            sent.clear()
            began = time.perf_counter()
            watcher.poll(history)
            slowest = max(slowest, time.perf_counter() - began)
            polls, most, largest = polls + 1, max(most, len(sent)), max(largest, sum(sent))
            assert watcher.view.reachable, watcher.view.error
        figures["cold_s"].append(slowest)
        figures["cold_requests"].append(most)
        figures["cold_bytes"].append(largest)
        figures["cold_polls"].append(polls)
        sent.clear()
        began = time.perf_counter()
        watcher.poll(history)
        figures["warm_s"].append(time.perf_counter() - began)
        figures["warm_requests"].append(len(sent))
        found = watcher.view.run_for(history, "dag_0", "extract")
        assert found is not None and found.status == "SUCCESS", found
        watcher.close()
    return {"dags": size, **{k: (max(v) if k.endswith(("requests", "bytes", "polls")) else
                                 round(statistics.median(v), 3))
                             for k, v in figures.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,50,500")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--save", type=Path, help="also write the figures as JSON to this file")
    args = parser.parse_args()
    began = time.monotonic()
    python = Path(os.environ.get("DAGSTER_PYTHON") or DEFAULT_PYTHON)
    if not python.exists():
        figures = {"error": f"no Dagster venv at {python}: run `make dagster` (or set DAGSTER_PYTHON)"}
        return report(figures, args)
    server = DagsterServer(MODULE, python=str(python), cwd=Path(tempfile.mkdtemp(prefix="bench-dagster-")))
    try:
        server.start()
        launch(server)
        rows = [measure(server.url, int(size), args.repeats) for size in args.sizes.split(",")]
    except (RuntimeError, OSError, AssertionError, SystemExit) as error:
        figures = {"error": f"the Dagster webserver: {str(error).splitlines()[0] if str(error) else type(error).__name__}"}
    else:
        met = all(row["cold_requests"] <= 2 and row["warm_requests"] <= 2 for row in rows)
        figures = {"rows": rows, "target_requests": 2, "target": "<= 2 requests per poll", "met": met,
                   "repeats": args.repeats, "total_s": round(time.monotonic() - began, 1)}
    finally:
        server.stop()
    return report(figures, args)


def report(figures: dict, args: argparse.Namespace) -> int:
    if args.save and "error" not in figures:  # a failed run keeps the last figures saved there
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(figures, indent=2) + "\n")
    if args.json:
        print(json.dumps(figures))
        return 0
    if "error" in figures:
        print(figures["error"], file=sys.stderr)
        return 1
    print(f"{'DAGs':>6} {'cold polls':>11} {'cold req/poll':>14} {'cold s/poll':>12} {'cold KB/poll':>13} "
          f"{'warm req':>9} {'warm s':>8}")
    for row in figures["rows"]:
        print(f"{row['dags']:>6} {row['cold_polls']:>11} {row['cold_requests']:>14} {row['cold_s']:>12.3f} "
              f"{row['cold_bytes'] / 1024:>13.1f} {row['warm_requests']:>9} {row['warm_s']:>8.3f}")
    print(f"target: <= 2 requests per poll whatever the number of DAGs: {'PASS' if figures['met'] else 'MISS'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
