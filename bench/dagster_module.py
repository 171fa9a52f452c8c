"""What a growing Dagster module costs: its read on every change, and the map and scaffold edits.

A team's Dagster module grows with every scaffolded task (each asset holds the task's copied code),
and the language server reads it again after every change of it (its mappings feed the lenses, the
hovers and the diagnostics of every DAG file). This script builds one as a user would: a generated
DAG file of ``--tasks`` PythonOperator tasks (each callable about 25 lines), every task mapped,
then scaffolded one after the other with the editor's own edits (``add_task_mappings``,
``scaffold_task``). At each checkpoint (``--at``) it times, best of ``--runs`` (2):

* the read of the module (``parse_dagster_module``), with the assets' bodies set aside
  (``analysis.dagster.bodies``) and without (the whole text, as before);
* mapping one more task, and scaffolding one more (the code actions' edit);
* bringing a mapped spec's ``deps=`` in step with the DAG's edges (``set_asset_deps``, the part of
  "Map" that follows a neighbour's new asset), and decommissioning the DAG (``decommission_dag``:
  its mappings out, its assets run by a new job).

Targets at the last checkpoint (60 assets, about 2,700 lines): the read <= 0.5 s, mapping one
more task <= 1 s, scaffolding one more <= 1 s, the deps <= 1 s, the decommission <= 2 s. Once,
on the DAG file itself (61 callables, about 1,650 lines): adding the proxying hook
(``add_proxying_hook``, its functions' bodies set aside) <= 0.5 s; and on a team's existing
Dagster module of as many plain ``@asset`` functions (the same bodies, about 1,600 lines): peering
it with Airflow (``peer_module``) <= 0.5 s. Prints a table;
``--json`` prints the figures; ``--strict`` exits 1 when a target is missed. About 1-5 minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import analysis.dagster.module as module_reader  # noqa: E402
from analysis.edits import NewMapping, add_task_mappings  # noqa: E402
from analysis.edits.asset_deps import set_asset_deps  # noqa: E402
from analysis.edits.decommission import NewJob, decommission_dag  # noqa: E402
from analysis.edits.peer_code import Peer  # noqa: E402
from analysis.edits.peering import peer_module  # noqa: E402
from analysis.edits.proxying_hook import add_proxying_hook  # noqa: E402
from analysis.edits.scaffold import scaffold_task  # noqa: E402

MAX_READ_S = 0.5
MAX_MAP_S = 1.0
MAX_SCAFFOLD_S = 1.0
MAX_DEPS_S = 1.0
MAX_DECOMMISSION_S = 2.0
MAX_HOOK_S = 0.5
MAX_PEER_S = 0.5
DAG_ID = "generated_sales"
DAG_PATH = "/bench/dags/generated_sales.py"
MODULE_PATH = "/bench/definitions.py"

CALLABLE = '''

def step_{n}(**context):
    """Step {n}: read the day's rows, keep the good ones, write them out."""
    source = Path(f"/data/in/{{context['ds']}}/part_{n}.csv")
    target = Path(f"/data/out/{{context['ds']}}/part_{n}.csv")
    kept, dropped = [], 0
    with source.open() as rows:
        header = next(rows).strip().split(",")
        for line in rows:
            fields = dict(zip(header, line.strip().split(",")))
            if not fields.get("id") or fields.get("amount", "").startswith("-"):
                dropped += 1
                continue
            fields["amount"] = f"{{float(fields['amount']):.2f}}"
            kept.append(fields)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w") as out:
        out.write(",".join(header) + "\\n")
        for fields in kept:
            out.write(",".join(fields.get(name, "") for name in header) + "\\n")
    summary = {{"kept": len(kept), "dropped": dropped, "part": {n}}}
    print(json.dumps(summary))
    if dropped > len(kept):
        raise ValueError(f"part {n}: more rows dropped than kept ({{dropped}} > {{len(kept)}})")
    return summary
'''


def dag_text(tasks: int) -> str:
    head = ("import json\nfrom datetime import datetime\nfrom pathlib import Path\n\n"
            "from airflow import DAG\nfrom airflow.operators.python import PythonOperator\n")
    body = "".join(CALLABLE.format(n=n) for n in range(tasks))
    dag = (f'\n\nwith DAG("{DAG_ID}", start_date=datetime(2024, 1, 1), schedule="@daily") as dag:\n'
           + "".join(f'    step_{n}_task = PythonOperator(task_id="step_{n}", python_callable=step_{n})\n'
                     for n in range(tasks)))
    return head + body + dag


def existing_module(assets: int) -> str:
    """A team's Dagster module before the migration: plain ``@asset`` functions with the callables'
    bodies, and their ``Definitions``."""
    functions = "".join("\n\n@asset\n" + CALLABLE.format(n=n).strip().replace("**context", "context")
                        .replace("context['ds']", "context.partition_key") + "\n" for n in range(assets))
    return ("import json\nfrom pathlib import Path\n\nfrom dagster import Definitions, asset\n" + functions
            + "\n\ndefs = Definitions(assets=[" + ", ".join(f"step_{n}" for n in range(assets)) + "])\n")


def best(runs: int, work) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return min(times), result


def read_times(text: str, runs: int) -> tuple[float, float]:
    pruned, _ = best(runs, lambda: module_reader.parse_dagster_module(MODULE_PATH, text))
    real = module_reader.without_bodies
    module_reader.without_bodies = lambda text: None
    try:
        whole, _ = best(runs, lambda: module_reader.parse_dagster_module(MODULE_PATH, text))
    finally:
        module_reader.without_bodies = real
    return pruned, whole


def measure(tasks: int, checkpoints: list[int], runs: int) -> list[dict]:
    dag = dag_text(tasks + 1)
    mapped = add_task_mappings(None, DAG_ID, [NewMapping(f"step_{n}", (DAG_ID, f"step_{n}"))
                                              for n in range(tasks + 1)])
    text, rows = mapped.text, []
    for n in range(tasks):
        if n in checkpoints:
            rows.append(checkpoint(dag, text, n, runs, tasks))
        result = scaffold_task(dag, DAG_PATH, DAG_ID, f"step_{n}", text, module_path=MODULE_PATH)
        if not result.changed:
            raise SystemExit(f"step_{n} was not scaffolded: {result.reason}")
        text = result.text
    if tasks in checkpoints:
        rows.append(checkpoint(dag, text, tasks, runs, tasks))
    return rows


def lifecycle_times(text: str, assets: int, tasks: int, runs: int) -> tuple[float, float]:
    """The deps of the last task's spec set to the task before it, and the DAG decommissioned."""
    spec = (f"step_{tasks}", f"{DAG_ID}/step_{tasks}")
    deps_s, deps = best(runs, lambda: set_asset_deps(text, DAG_ID, {spec: [(DAG_ID, f"step_{tasks - 1}")]}))
    job = NewJob(DAG_ID, tuple((DAG_ID, f"step_{n}") for n in range(tasks + 1)), "@daily", retries=2)
    decommission_s, decommissioned = best(runs, lambda: decommission_dag(text, job))
    for name, result in (("the deps", deps), ("the decommission", decommissioned)):
        if not result.changed:
            raise SystemExit(f"{name} at {assets} assets changed nothing: {result.reason}")
    return deps_s, decommission_s


def checkpoint(dag: str, text: str, assets: int, runs: int, tasks: int) -> dict:
    """The read, one more mapping, one more scaffold, the deps and the decommission, on the
    module holding ``assets`` assets."""
    pruned, whole = read_times(text, runs)
    new = [NewMapping("extra", (DAG_ID, "extra"))]
    map_s, _ = best(runs, lambda: add_task_mappings(text, DAG_ID, new))
    scaffold_s, result = best(runs, lambda: scaffold_task(dag, DAG_PATH, DAG_ID, f"step_{assets}", text,
                                                          module_path=MODULE_PATH))
    if not result.changed:
        raise SystemExit(f"step_{assets} was not scaffolded: {result.reason}")
    deps_s, decommission_s = lifecycle_times(text, assets, tasks, runs)
    return {"assets": assets, "lines": text.count("\n") + 1, "read_s": pruned, "read_whole_s": whole,
            "map_s": map_s, "scaffold_s": scaffold_s, "deps_s": deps_s, "decommission_s": decommission_s}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--at", default="0,20,40,60", help="checkpoints: assets scaffolded so far")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    checkpoints = sorted({min(int(x), args.tasks) for x in args.at.split(",")})
    rows = measure(args.tasks, checkpoints, args.runs)
    dag = dag_text(args.tasks + 1)
    hook_s, hooked = best(args.runs, lambda: add_proxying_hook(dag))
    if not hooked.changed:
        raise SystemExit(f"the proxying hook changed nothing: {hooked.reason}")
    existing = existing_module(args.tasks)
    peer_s, peered = best(args.runs, lambda: peer_module(existing, Peer("http://localhost:8080")))
    if not peered.changed:
        raise SystemExit(f"the peering changed nothing: {peered.reason}")
    last = rows[-1]
    result = {"rows": rows, "read_target_s": MAX_READ_S, "map_target_s": MAX_MAP_S,
              "scaffold_target_s": MAX_SCAFFOLD_S, "deps_target_s": MAX_DEPS_S,
              "decommission_target_s": MAX_DECOMMISSION_S, "read_pass": last["read_s"] <= MAX_READ_S,
              "map_pass": last["map_s"] <= MAX_MAP_S, "scaffold_pass": last["scaffold_s"] <= MAX_SCAFFOLD_S,
              "deps_pass": last["deps_s"] <= MAX_DEPS_S,
              "decommission_pass": last["decommission_s"] <= MAX_DECOMMISSION_S,
              "hook_s": hook_s, "hook_lines": dag.count("\n"), "hook_target_s": MAX_HOOK_S,
              "hook_pass": hook_s <= MAX_HOOK_S, "peer_s": peer_s, "peer_lines": existing.count("\n"),
              "peer_target_s": MAX_PEER_S, "peer_pass": peer_s <= MAX_PEER_S}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"A growing Dagster module: {args.tasks} PythonOperator tasks mapped, scaffolded one by one "
              f"(best of {args.runs})\n")
        print(f"{'assets':>6} {'lines':>6} {'read':>8} {'read whole':>11} {'map one':>8} "
              f"{'scaffold one':>13} {'deps':>7} {'decommission':>13}")
        for row in rows:
            print(f"{row['assets']:>6} {row['lines']:>6} {row['read_s']:>7.3f}s "
                  f"{row['read_whole_s']:>10.3f}s "
                  f"{row['map_s']:>7.3f}s {row['scaffold_s']:>12.3f}s "
                  f"{row['deps_s']:>6.3f}s {row['decommission_s']:>12.3f}s")
        print(f"\nread at {last['assets']} assets: {last['read_s']:.3f} s; target <= {MAX_READ_S} s: "
              f"{'PASS' if result['read_pass'] else 'MISS'}")
        print(f"map at {last['assets']} assets: {last['map_s']:.3f} s; target <= {MAX_MAP_S} s: "
              f"{'PASS' if result['map_pass'] else 'MISS'}")
        print(f"scaffold at {last['assets']} assets: {last['scaffold_s']:.3f} s; "
              f"target <= {MAX_SCAFFOLD_S} s: "
              f"{'PASS' if result['scaffold_pass'] else 'MISS'}")
        for name, target in (("deps", MAX_DEPS_S), ("decommission", MAX_DECOMMISSION_S)):
            print(f"{name} at {last['assets']} assets: {last[name + '_s']:.3f} s; target <= {target} s: "
                  f"{'PASS' if result[name + '_pass'] else 'MISS'}")
        print(f"proxying hook on the DAG file ({result['hook_lines']:,} lines): {hook_s:.3f} s; "
              f"target <= {MAX_HOOK_S} s: {'PASS' if result['hook_pass'] else 'MISS'}")
        print(f"peering an existing module ({result['peer_lines']:,} lines): {peer_s:.3f} s; "
              f"target <= {MAX_PEER_S} s: {'PASS' if result['peer_pass'] else 'MISS'}")
    met = all(result[f"{name}_pass"] for name in ("read", "map", "scaffold", "deps", "decommission", "hook", "peer"))
    return 1 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
