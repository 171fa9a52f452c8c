"""Cost of one peering poll against real Airflows, next to dagster-airlift's sensor.

    python bench/poll.py [--json] [--strict] [--sizes 1,50,500] [--repeats 3]
                         [--parse-limit 600] [--fallback 200] [--budget 3600]
                         [--only airflow3|airflow2] [--no-dagster] [--save FILE]
                         [--profile-dagster DIR]

For each Airflow, one installation on 127.0.0.1 with SQLite (bench/airflow_servers.py):
Airflow 3.3.2 (``.cache/airflow3``: api-server, scheduler, dag-processor; REST API ``/api/v2``
behind a JWT) and Airflow 2.11 (``.cache/airflow2``: webserver, scheduler; ``/api/v1`` behind
basic auth). It grows through ``--sizes``: generated trivial DAG files (three
``EmptyOperator`` tasks in a chain, ``schedule=None``) are added to its DAG folder, and once
the DAG processor has parsed them, each new DAG is triggered once through the REST API and
the scheduler finishes the run (empty tasks are marked success by the scheduler itself, no
task process: seconds even for 500 runs). At each size every DAG has one finished run with
three successful task instances; then:

(a) our poll, in this process: ``server.peering.fetch_history`` on an ``AirflowClient``
    (the poller's one poll), every HTTP exchange counted with a requests session hook.
    ``connect`` (version detection and login, once per client), ``cold`` (the first poll:
    runs plus every task instance, from an empty history) and ``warm`` (the next polls with
    nothing changed: the runs only); ``--repeats`` each, median wall time.
    Target: a poll makes <= 3 requests whatever the number of DAGs.
    Then the deployed DAGs (``server.peering.deployed.read_deployment``): the DAG list
    (``GET .../dags``, pages of up to ``[api] maximum_page_limit``, 100 by default) and, in
    the worst case where the static model reads none of the DAGs whole, the tasks of every
    DAG (one ``GET .../dags/{id}/tasks`` each): the first read, the next list read (nothing
    parsed again in between: the benchmark's DAG processor re-parses hourly) and a poll between
    list reads. No target: the tasks cost one request per DAG the model cannot read, once.
(b) on Airflow 2 only (dagster-airlift's core talks to ``/api/v1`` alone), what
    dagster-airlift 0.29 issues to learn the same runs and task instances, with the
    ``.cache/dagster`` venv (bench/dagster_side.py): the code location's definitions load
    (``list_dags``, ``get_task_infos`` per DAG, source code while there are < 50 DAGs), one
    tick of the real ``airflow_dag_status_sensor`` over a window holding every run
    (``get_dag_runs_batch`` pages of 100, then ``get_task_instance_batch`` per run), and the
    idle tick after it. No target: it is the comparison.

If the DAG processor has not parsed the largest size within ``--parse-limit`` seconds, that
size is measured with ``--fallback`` of the DAGs it did parse (and the report says so).
Every server runs in its own process group, killed at the end (also on Ctrl-C and SIGTERM);
every wait has a timeout; ``--budget`` bounds the whole run (sizes left are skipped). Always
exits 0 (it is a report), except with ``--strict``: 1 when a target is missed or a
measurement failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from airflow_servers import TASK_IDS, Airflow2Server, Airflow3Bench, dag_id_of, write_dags
from tables import format_table

from server.peering import AirflowClient, fetch_history

MAX_POLL_REQUESTS = 3
DAGSTER_PYTHON = REPO / ".cache" / "dagster" / "bin" / "python"
RUN_TIMEOUT = 600.0
"""Seconds for the scheduler to finish the runs of one size."""
DAGSTER_TIMEOUT = 1200.0


class BenchError(Exception):
    """A measurement could not be taken; the message says why."""


# --- (a) our poll ---------------------------------------------------------------------------


def counting(client: AirflowClient) -> list[str]:
    """Every HTTP exchange, as ``METHOD /path`` (with ``response.elapsed`` kept in ``elapsed``)."""
    seen: list[str] = []
    elapsed: list[float] = []

    def hook(response, *args, **kwargs):
        seen.append(f"{response.request.method} {response.request.path_url.split('?')[0]}")
        elapsed.append(response.elapsed.total_seconds())

    client._bench_elapsed = elapsed  # type: ignore[attr-defined]

    client.session.hooks["response"].append(hook)
    return seen


def our_poll(server, dag_ids: list[str], repeats: int) -> dict:
    client = AirflowClient(server.url, username=server.username, password=server.password)
    seen = counting(client)
    elapsed = client._bench_elapsed  # type: ignore[attr-defined]
    try:
        began = time.perf_counter()
        client.connect()
        connect = {"requests": len(seen), "seconds": time.perf_counter() - began, "calls": list(seen)}
        cold, warm, history = [], [], None
        for _ in range(repeats):
            seen.clear()
            elapsed.clear()
            began = time.perf_counter()
            history = fetch_history(client, dag_ids)
            cold.append((len(seen), time.perf_counter() - began, list(seen), list(elapsed)))
        for _ in range(repeats):
            seen.clear()
            elapsed.clear()
            began = time.perf_counter()
            again = fetch_history(client, dag_ids, previous=history)
            warm.append((len(seen), time.perf_counter() - began, list(seen), list(elapsed)))
            if not again.same_data(history):
                raise BenchError("a warm poll saw other runs than the cold one")
        deployed = deployed_rounds(client, seen)
    finally:
        client.close()
    assert history is not None
    runs = [run for runs in history.dag_runs.values() for run in runs]
    instances = [ti for tis in history.task_instances.values() for ti in tis]
    return {
        "api_version": client.api_version,
        "airflow_version": client.airflow_version,
        "connect": connect,
        "cold": summary(cold),
        "warm": summary(warm),
        "deployed": deployed,
        "seen": {"dags_with_runs": len(history.dag_runs), "runs": len(runs),
                 "finished_runs": sum(run.finished for run in runs),
                 "task_instances": len(instances),
                 "task_instance_states": dict(Counter(ti.state for ti in instances))},
    }


def deployed_rounds(client: AirflowClient, seen: list[str]) -> dict:
    """Requests of the deployed-DAG rounds: every DAG needs its tasks (the worst case)."""
    from server.peering.deployed import Need, read_deployment

    def every_dag(listing):
        return Need.TASKS, frozenset()

    def one(**kwargs) -> tuple[dict, object]:
        seen.clear()
        began = time.perf_counter()
        deployment = read_deployment(client, every_dag, checks=0, **kwargs)
        if deployment.error:
            raise BenchError(f"reading the deployed DAGs failed: {deployment.error}")
        pages = sum(1 for call in seen if call.endswith("/dags"))
        return {"list_requests": pages, "task_requests": len(seen) - pages,
                "seconds": time.perf_counter() - began}, deployment

    first, deployment = one()
    later, deployment = one(previous=deployment)
    between, _ = one(previous=deployment, relist=False)
    return {"dags": len(deployment.listings), "first": first, "next_list": later, "between": between}


def summary(samples: list[tuple[int, float, list[str], list[float]]]) -> dict:
    return {"requests": [sample[0] for sample in samples], "seconds": [sample[1] for sample in samples],
            "median_s": statistics.median(sample[1] for sample in samples),
            "median_http_s": statistics.median(sum(sample[3]) for sample in samples),
            "max_requests": max(sample[0] for sample in samples),
            "calls": dict(Counter(samples[0][2])),
            "call_seconds": [[call, round(s, 4)] for call, s in zip(samples[0][2], samples[0][3])]}


# --- (b) dagster-airlift ---------------------------------------------------------------------


def dagster_side(server, dag_ids: list[str], window: tuple[float, float], repeats: int,
                 timeout: float, profile: Path | None = None) -> dict:
    python = os.environ.get("DAGSTER_PYTHON") or str(DAGSTER_PYTHON)
    if not Path(python).exists():
        raise BenchError(f"dagster venv missing at {python}: run `make dagster`")
    ask = {"url": server.url, "username": server.username, "password": server.password,
           "dag_ids": dag_ids, "task_ids": list(TASK_IDS), "window_start": window[0],
           "window_end": window[1], "repeats": repeats}
    if profile is not None:
        profile.parent.mkdir(parents=True, exist_ok=True)
        ask["profile"] = str(profile)
    with tempfile.TemporaryFile("w+") as err, tempfile.TemporaryFile("w+") as out:
        began = time.monotonic()
        process = subprocess.Popen([python, str(Path(__file__).with_name("dagster_side.py"))],
                                   stdin=subprocess.PIPE, stdout=out, stderr=err, text=True,
                                   start_new_session=True, env={**os.environ, "DAGSTER_HOME": ""})
        try:
            process.communicate(json.dumps(ask), timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(process)
            raise BenchError(f"dagster-airlift side still running after {timeout:.0f}s") from None
        finally:
            kill_group(process)
        out.seek(0)
        err.seek(0)
        text = out.read()
        if process.returncode != 0 or not text:
            tail = err.read()[-1500:]
            raise BenchError(f"dagster-airlift side failed ({process.returncode}): {tail}")
        answer = json.loads(text)
        answer["process_s"] = time.monotonic() - began
        return answer


def kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


# --- one Airflow, growing through the sizes --------------------------------------------------


def bench_airflow(kind, sizes: list[int], args, deadline: float, log) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="airlift-bench-dags-"))
    result: dict = {"airflow": kind.name, "sizes": {}}
    server = kind(folder)
    triggered: dict[str, str] = {}
    window_start: float | None = None
    try:
        began = time.monotonic()
        log(f"{kind.name}: starting on {server.url}")
        server.start()
        result["startup_s"] = time.monotonic() - began
        log(f"{kind.name}: started in {result['startup_s']:.1f}s")
        for size in sizes:
            if time.monotonic() > deadline:
                result["sizes"][str(size)] = {"error": "skipped: --budget spent"}
                continue
            entry: dict = {"requested": size}
            result["sizes"][str(size)] = entry
            try:
                new = write_dags(folder, size)
                wanted = [dag_id_of(i) for i in range(size)]
                limit = min(args.parse_limit, max(30.0, deadline - time.monotonic()))
                parse_s, parsed = server.wait_parsed(wanted, limit)
                entry.update(new_files=len(new), parse_s=parse_s, parsed=len(parsed))
                log(f"{kind.name}: {len(parsed)}/{size} DAGs parsed, {len(new)} new files, in {parse_s:.1f}s")
                dag_ids = wanted
                if len(parsed) < size:
                    if len(parsed) < min(args.fallback, size):
                        raise BenchError(f"only {len(parsed)} of {size} DAGs parsed in {parse_s:.0f}s")
                    dag_ids = sorted(parsed)[:min(args.fallback, size)]
                    entry["fallback"] = len(dag_ids)
                    log(f"{kind.name}: falling back to {len(dag_ids)} DAGs")
                entry["dags"] = len(dag_ids)
                began = time.monotonic()
                if window_start is None:
                    window_start = time.time() - 5
                for dag_id in dag_ids:
                    if dag_id not in triggered:
                        triggered[dag_id] = server.trigger(dag_id)
                entry["trigger_s"] = time.monotonic() - began
                finish_s, states = server.wait_finished(len(triggered), RUN_TIMEOUT)
                entry.update(finish_s=finish_s, run_states=dict(states))
                log(f"{kind.name}: {len(triggered)} runs triggered in {entry['trigger_s']:.1f}s, "
                    f"finished {finish_s:.1f}s later ({dict(states)})")
                if states["success"] < len(triggered):
                    raise BenchError(f"the scheduler finished {states['success']} of {len(triggered)} runs "
                                     f"in {RUN_TIMEOUT:.0f}s")
                entry["ours"] = our_poll(server, dag_ids, args.repeats)
                seen = entry["ours"]["seen"]
                log(f"{kind.name}: our poll of {len(dag_ids)} DAGs: cold {entry['ours']['cold']['requests']} "
                    f"requests, warm {entry['ours']['warm']['requests']}; saw {seen['runs']} runs, "
                    f"{seen['task_instances']} task instances")
                if isinstance(server, Airflow2Server) and not args.no_dagster:
                    window = (window_start, time.time() + 5)
                    timeout = min(DAGSTER_TIMEOUT, max(60.0, deadline - time.monotonic()))
                    profile = (args.profile_dagster / f"dagster-tick-{len(dag_ids)}.pstats"
                               if args.profile_dagster else None)
                    entry["dagster"] = dagster_side(server, dag_ids, window, args.repeats, timeout, profile)
                    d = entry["dagster"]
                    log(f"{kind.name}: dagster-airlift: definitions {d['definitions']['requests']} requests, "
                        f"tick {d['tick']['requests']}, idle tick {d['idle_tick']['requests']}")
            except (BenchError, RuntimeError, TimeoutError, OSError, ValueError, KeyError) as error:
                entry["error"] = f"{type(error).__name__}: {error}"
                log(f"{kind.name}: size {size}: {entry['error']}")
            if "fallback" in entry or "error" in entry:
                break
    finally:
        began = time.monotonic()
        server.stop()
        result["stop_s"] = time.monotonic() - began
        for path in sorted(folder.glob("*.py")):
            path.unlink()
        folder.rmdir()
    return result


# --- report ---------------------------------------------------------------------------------


def column(size: str, entry: dict) -> str:
    dags = entry.get("dags", entry.get("requested", size))
    return f"{dags} DAG" + ("" if dags == 1 else "s") + (" *" if "fallback" in entry else "")


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def rows_for(result: dict, sizes: list[str]) -> tuple[list[str], list[list[str]]]:
    entries = [result["sizes"].get(size, {}) for size in sizes]
    header = ["figure", *[column(size, entry) for size, entry in zip(sizes, entries)], "target", ""]

    def cells(get) -> list[str]:
        out = []
        for entry in entries:
            try:
                out.append(get(entry))
            except (KeyError, TypeError, ValueError):
                out.append("n/a")
        return out

    def verdict(get) -> str:
        values = []
        for entry in entries:
            try:
                values.append(get(entry))
            except (KeyError, TypeError):
                return "MISS"
        return "PASS" if values and all(v <= MAX_POLL_REQUESTS for v in values) else "MISS"

    target = f"<= {MAX_POLL_REQUESTS}"
    cold = lambda e: e["ours"]["cold"]["max_requests"]
    warm = lambda e: e["ours"]["warm"]["max_requests"]
    rows = [
        ["DAG files parsed (new files)", *cells(lambda e: f"{e['parse_s']:.0f} s ({e['new_files']})"), "", ""],
        ["runs triggered + finished", *cells(lambda e: f"{e['trigger_s']:.0f} + {e['finish_s']:.0f} s"), "", ""],
        ["ours: connect, requests (once)", *cells(lambda e: str(e["ours"]["connect"]["requests"])), "", ""],
        ["ours: cold poll, requests", *cells(lambda e: str(cold(e))), target, verdict(cold)],
        ["ours: warm poll, requests", *cells(lambda e: str(warm(e))), target, verdict(warm)],
        ["ours: cold poll, median wall", *cells(lambda e: ms(e["ours"]["cold"]["median_s"])), "", ""],
        ["ours: warm poll, median wall", *cells(lambda e: ms(e["ours"]["warm"]["median_s"])), "", ""],
        ["ours: cold poll, of which HTTP", *cells(lambda e: ms(e["ours"]["cold"]["median_http_s"])), "", ""],
        ["ours: DAG list, requests (pages)", *cells(lambda e: str(e["ours"]["deployed"]["first"]["list_requests"])),
         "", ""],
        ["ours: deployed tasks, first / next list read / between", *cells(lambda e: "{} / {} / {}".format(
            *(e["ours"]["deployed"][k]["task_requests"] for k in ("first", "next_list", "between")))), "", ""],
        ["ours: deployed round, first / next list read wall", *cells(lambda e: "{} / {}".format(
            ms(e["ours"]["deployed"]["first"]["seconds"]), ms(e["ours"]["deployed"]["next_list"]["seconds"]))),
         "", ""],
        ["ours: runs / task instances seen", *cells(
            lambda e: f"{e['ours']['seen']['runs']} / {e['ours']['seen']['task_instances']}"), "", ""],
    ]
    if any("dagster" in entry for entry in entries):
        d = lambda e: e["dagster"]
        rows += [
            ["dagster-airlift: definitions load, requests", *cells(lambda e: str(d(e)["definitions"]["requests"])),
             "", ""],
            ["dagster-airlift: definitions load, wall", *cells(lambda e: ms(d(e)["definitions"]["seconds"])), "", ""],
            ["dagster-airlift: sensor tick, requests", *cells(lambda e: str(max(d(e)["tick"]["requests"]))), "", ""],
            ["dagster-airlift: sensor tick, median wall", *cells(lambda e: ms(d(e)["tick"]["median_s"])), "", ""],
            ["dagster-airlift: sensor tick, of which HTTP", *cells(lambda e: ms(d(e)["tick"]["median_http_s"])),
             "", ""],
            ["dagster-airlift: idle tick, requests", *cells(lambda e: str(max(d(e)["idle_tick"]["requests"]))),
             "", ""],
            ["dagster-airlift: idle tick, median wall", *cells(lambda e: ms(d(e)["idle_tick"]["median_s"])), "", ""],
            ["dagster-airlift: materializations in tick", *cells(lambda e: str(d(e)["tick"]["materializations"])),
             "", ""],
        ]
    return header, rows


def print_report(results: list[dict], total_s: float, repeats: int) -> None:
    for result in results:
        sizes = list(result["sizes"])
        if "error" in result:
            print(f"{result['airflow']}: not measured: {result['error']}")
            continue
        print(f"{result['airflow']}: started in {result.get('startup_s', float('nan')):.1f} s, "
              f"stopped in {result.get('stop_s', float('nan')):.1f} s; medians of {repeats} polls")
        for size, entry in result["sizes"].items():
            if "error" in entry:
                print(f"  {size} DAGs: not measured: {entry['error']}")
            if "fallback" in entry:
                print(f"  * {entry['parsed']} of {size} DAGs parsed within the limit ({entry['parse_s']:.0f} s): "
                      f"measured with {entry['fallback']}")
            ours = entry.get("ours")
            if ours:
                calls = ", ".join(f"{n}x {call}" for call, n in ours["cold"]["calls"].items())
                print(f"  {column(size, entry)}: cold poll = {calls}")
        print()
        header, rows = rows_for(result, sizes)
        print(format_table(header, rows))
        print()
    print(f"whole benchmark: {total_s:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--sizes", default="1,50,500", help="numbers of DAGs, ascending (default 1,50,500)")
    parser.add_argument("--repeats", type=int, default=3, help="polls and sensor ticks timed at each size")
    parser.add_argument("--parse-limit", type=float, default=600.0,
                        help="seconds the DAG processor gets to parse the new files of one size")
    parser.add_argument("--fallback", type=int, default=200,
                        help="DAGs to measure when the largest size is not parsed within the limit")
    parser.add_argument("--budget", type=float, default=3600.0, help="seconds for the whole run")
    parser.add_argument("--only", choices=("airflow3", "airflow2"), help="one Airflow only")
    parser.add_argument("--no-dagster", action="store_true", help="skip dagster-airlift's side")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.add_argument("--save", type=Path, help="also write the figures as JSON to this file")
    parser.add_argument("--profile-dagster", type=Path, metavar="DIR",
                        help="write cProfile stats of dagster-airlift's first sensor tick at each size here")
    args = parser.parse_args()
    sizes = sorted({int(size) for size in args.sizes.split(",") if size.strip()})

    def log(line: str) -> None:
        if not args.quiet:
            print(f"[{time.monotonic() - started:6.0f}s] {line}", file=sys.stderr, flush=True)

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    started = time.monotonic()
    deadline = started + args.budget
    kinds = [kind for name, kind in (("airflow3", Airflow3Bench), ("airflow2", Airflow2Server))
             if args.only in (None, name)]
    results = []
    for kind in kinds:
        try:
            results.append(bench_airflow(kind, sizes, args, deadline, log))
        except (RuntimeError, TimeoutError, OSError) as error:
            results.append({"airflow": kind.name, "sizes": {}, "error": f"{type(error).__name__}: {error}"})
            log(f"{kind.name}: {error}")
    total_s = time.monotonic() - started

    figures = {"total_s": total_s, "target_requests": MAX_POLL_REQUESTS, "repeats": args.repeats,
               "results": results}
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    else:
        print_report(results, total_s, args.repeats)
    passed = all(
        "error" not in result and result["sizes"]
        and all("error" not in entry and entry["ours"]["cold"]["max_requests"] <= MAX_POLL_REQUESTS
                and entry["ours"]["warm"]["max_requests"] <= MAX_POLL_REQUESTS
                for entry in result["sizes"].values())
        for result in results)
    return 1 if args.strict and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
