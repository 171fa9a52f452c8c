"""Compare our static DAG model with Airflow's DagBag over the corpus.

    .venv/bin/python corpus/compare.py [--strict] [NAME...]

For each manifest entry, runs ``airlift-lsp dags <dag folders...> --json`` (with the entry's
sys_path as ``--import-root``s and its ``env`` as ``--env``s) from the entry's
materialized repo root (.cache/corpus/src/<name>/; paths in its output are relative to that root,
as in the truth files), then compares it with every truth file of the entry
(.cache/corpus/truth/<name>-af<2|3>.json, written by corpus/dagbag_truth.py) on the files that
DagBag scanned and loaded without an import error:

* DAG recall: DAGs of the truth (file, dag_id) that we report in the same file;
* task precision: tasks we report (not ``dynamic``, not ``conditional``), in a DAG we report
  with a resolved id in such a file, that the truth does not have;
* task recall and edge recall (edge = file, dag_id, upstream, downstream) over the truth.

Prints a table (entry | Airflow | files | DAGs truth | DAG recall | task P | task R | edge R) and
writes .cache/corpus/compare.json with the figures and every miss (file, dag_id, task_id, kind),
plus, for each file where DagBag has DAGs and we find none, what our output has for that file.
Exits 0 (it is a report); with ``--strict``, exits 1 when the overall figures are below the
targets (DAG recall >= 99 %, task precision 100 %, task recall >= 99 %, edge recall >= 98 %).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "corpus" / "manifest.json"
SRC = ROOT / ".cache" / "corpus" / "src"
TRUTH = ROOT / ".cache" / "corpus" / "truth"
STATIC = ROOT / ".cache" / "corpus" / "static"
OUT = ROOT / ".cache" / "corpus" / "compare.json"
AIRLIFT = ROOT / ".venv" / "bin" / "airlift-lsp"
TARGETS = {"dag_recall": 0.99, "task_precision": 1.0, "task_recall": 0.99, "edge_recall": 0.98}


def env_flags(entry: dict) -> list[str]:
    """``--env NAME=VALUE`` for each variable of the entry's ``env`` (``{root}``: the materialized
    repo root), the deployment's environment the DagBag truth runs with too; and the Airflow
    Variables of its ``variables_file`` as ``AIRFLOW_VAR_<KEY>`` (a string as it is, any other
    value as JSON), which is how the truth's ``Variable.get`` reads them."""
    root = str((SRC / entry["name"]).resolve())
    variables = {}
    if entry.get("variables_file"):
        try:
            loaded = json.loads((SRC / entry["name"] / entry["variables_file"]).read_text())
        except (OSError, ValueError):
            loaded = {}
        variables = {f"AIRFLOW_VAR_{key.upper()}": value if isinstance(value, str) else json.dumps(value)
                     for key, value in (loaded.items() if isinstance(loaded, dict) else ())}
    environment = {**variables, **{name: str(value).replace("{root}", root)
                                   for name, value in entry.get("env", {}).items()}}
    return [arg for name, value in environment.items() for arg in ("--env", f"{name}={value}")]


def run_static(entry: dict) -> dict:
    """Our model of the entry's DAG folders (cached per commit under .cache/corpus/static/)."""
    src = SRC / entry["name"]
    STATIC.mkdir(parents=True, exist_ok=True)
    out = STATIC / f"{entry['name']}.json"
    # The deployment's sys.path, as the manifest gives it (the DagBag truth runs with the same).
    roots = [arg for root in entry.get("sys_path", []) for arg in ("--import-root", root)]
    proc = subprocess.run([str(AIRLIFT), "dags", *entry["dag_folders"], *roots, *env_flags(entry), "--json"], cwd=src,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode not in (0, 1) or not proc.stdout.strip():
        raise RuntimeError(f"airlift-lsp dags failed ({proc.returncode}): "
                           f"{proc.stderr.strip().splitlines()[-1:] }")
    result = json.loads(proc.stdout)
    out.write_text(json.dumps(result) + "\n")
    return result


def run_check(entry: dict) -> set[str]:
    """Files with an ``unrecognized-dag-file`` finding (``check --json`` over the repo root, with
    the entry's sys.path as import roots)."""
    src = SRC / entry["name"]
    roots = [arg for root in entry.get("sys_path", []) for arg in ("--import-root", root)]
    proc = subprocess.run([str(AIRLIFT), "check", ".", *roots, *env_flags(entry), "--json"], cwd=src,
                          capture_output=True, text=True, timeout=1800)
    if not proc.stdout.strip():
        raise RuntimeError(f"airlift-lsp check failed ({proc.returncode}): "
                           f"{proc.stderr.strip().splitlines()[-1:]}")
    return {f["path"] for f in json.loads(proc.stdout)["findings"] if f["code"] == "unrecognized-dag-file"}


def ratio(found: int, total: int) -> float | None:
    return found / total if total else None


def compare(entry: dict, truth: dict, static: dict, unrecognized: set[str] = frozenset()) -> dict:
    af = truth["airflow_version"].split(".")[0]
    import_errors = truth["import_errors"]
    scanned = set(truth.get("scanned", []))
    loaded = scanned - set(import_errors)  # files DagBag read and loaded without an error
    ours = {f["path"]: f for f in static["files"]}
    misses: list[dict] = []
    no_dag_files: list[dict] = []

    def miss(kind, file, dag_id=None, task_id=None, **extra):
        misses.append({"entry": entry["name"], "airflow": af, "kind": kind, "file": file,
                       "dag_id": dag_id, "task_id": task_id, **extra})

    dags_total = dags_found = tasks_total = tasks_found = edges_total = edges_found = 0
    reported = wrong = 0
    # where each truth dag_id is reported by us, whatever the file
    our_dag_files: dict[str, list[str]] = {}
    for path, f in ours.items():
        for d in f.get("dags", []):
            our_dag_files.setdefault(d["dag_id"], []).append(path)

    for path, dags in truth["files"].items():
        f = ours.get(path)
        our_dags = {d["dag_id"]: d for d in (f or {}).get("dags", [])}
        if not set(dags) & set(our_dags):
            no_dag_files.append({
                "file": path, "truth_dags": len(dags),
                "ours": ("absent" if f is None else
                         f"error: {f['error']}" if f.get("error") else
                         "no DAG" if not our_dags else
                         "other DAG ids: " + ", ".join(sorted(our_dags)[:5])),
                "our_dynamic_dags": sum(1 for d in our_dags.values() if d.get("dynamic")),
                "our_tasks": sum(len(d["tasks"]) for d in our_dags.values()),
                # Shown as such: a DAG whose id is only known at run time, or the finding.
                "explained": path in unrecognized or any(d["dag_id"].startswith("{") or "{" in d["dag_id"]
                                                          for d in our_dags.values()),
            })
        for dag_id, dag in dags.items():
            dags_total += 1
            truth_tasks = dag["tasks"]
            n_edges = sum(len(t["upstream"]) for t in truth_tasks.values())
            tasks_total += len(truth_tasks)
            edges_total += n_edges
            ours_dag = our_dags.get(dag_id)
            if ours_dag is None:
                elsewhere = [p for p in our_dag_files.get(dag_id, []) if p != path]
                miss("dag_missing", path, dag_id, tasks=len(truth_tasks), edges=n_edges,
                     fileloc=dag.get("fileloc"), reported_in=elsewhere or None)
                continue
            dags_found += 1
            our_tasks = {t["task_id"]: t for t in ours_dag["tasks"]}
            for task_id, task in truth_tasks.items():
                ot = our_tasks.get(task_id)
                if ot is None:
                    miss("task_missing", path, dag_id, task_id, operator=task["operator"])
                    edges_missing = task["upstream"]
                else:
                    tasks_found += 1
                    edges_missing = [u for u in task["upstream"] if u not in ot["upstream"]]
                edges_found += len(task["upstream"]) - len(edges_missing)
                for up in edges_missing:
                    miss("edge_missing", path, dag_id, task_id, upstream=up,
                         task_found=ot is not None)

    # precision: what we claim in files DagBag loaded cleanly
    for path, f in ours.items():
        if path not in loaded:
            continue
        truth_dags = truth["files"].get(path, {})
        for d in f.get("dags", []):
            if d.get("dynamic") or d.get("source", "static") != "static":
                continue
            claimed = [t for t in d["tasks"] if not t.get("dynamic") and not t.get("conditional")]
            td = truth_dags.get(d["dag_id"])
            if td is None:
                miss("dag_extra", path, d["dag_id"], tasks=len(claimed))
            for t in claimed:
                reported += 1
                if td is None or t["task_id"] not in td["tasks"]:
                    wrong += 1
                    if td is not None:
                        miss("task_extra", path, d["dag_id"], t["task_id"],
                             operator=t.get("operator"))

    return {
        "entry": entry["name"], "airflow": af, "airflow_version": truth["airflow_version"],
        "files": len(truth["files"]), "dags": dags_total, "tasks": tasks_total,
        "edges": edges_total, "dags_found": dags_found, "tasks_found": tasks_found,
        "edges_found": edges_found, "tasks_reported": reported, "tasks_wrong": wrong,
        "dag_recall": ratio(dags_found, dags_total),
        "task_precision": ratio(reported - wrong, reported),
        "task_recall": ratio(tasks_found, tasks_total),
        "edge_recall": ratio(edges_found, edges_total),
        "import_errors": len(import_errors),
        "serialization_errors": len(truth.get("serialization_errors", {})),
        "static_errors": sum(1 for f in static["files"] if f.get("error")),
        "no_dag_files": no_dag_files,
        "unexplained_files": sum(1 for f in no_dag_files if not f["explained"] and path_loaded(f["file"], loaded)),
        "misses": misses,
    }


def path_loaded(path: str, loaded: set[str]) -> bool:
    return not loaded or path in loaded


def pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f} %"


def main(argv: list[str]) -> int:
    strict = "--strict" in argv
    names = {a for a in argv if not a.startswith("--")}
    entries = [e for e in json.loads(MANIFEST.read_text()) if not names or e["name"] in names]
    rows = []
    for entry in entries:
        wanted = {"2": ["2"], "3": ["3"]}.get(entry.get("airflow", "both"), ["2", "3"])
        truths = [TRUTH / f"{entry['name']}-af{af}.json" for af in wanted]
        truths = [t for t in truths if t.is_file()]
        if not truths or not (SRC / entry["name"]).is_dir():
            print(f"{entry['name']}: no truth or no source (run make corpus)", file=sys.stderr)
            continue
        try:
            static = run_static(entry)
            unrecognized = run_check(entry)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
            print(f"{entry['name']}: {error}", file=sys.stderr)
            continue
        for truth_file in truths:
            rows.append(compare(entry, json.loads(truth_file.read_text()), static, unrecognized))

    total = {k: sum(r[k] for r in rows) for k in (
        "files", "dags", "tasks", "edges", "dags_found", "tasks_found", "edges_found",
        "tasks_reported", "tasks_wrong", "import_errors", "serialization_errors", "unexplained_files")}
    overall = {
        "dag_recall": ratio(total["dags_found"], total["dags"]),
        "task_precision": ratio(total["tasks_reported"] - total["tasks_wrong"],
                                total["tasks_reported"]),
        "task_recall": ratio(total["tasks_found"], total["tasks"]),
        "edge_recall": ratio(total["edges_found"], total["edges"]),
    }
    header = ["entry", "Airflow", "files", "DAGs truth", "DAG recall", "task P", "task R",
              "edge R", "unexplained"]
    table = [header] + [[r["entry"], r["airflow_version"], str(r["files"]), str(r["dags"]),
                         pct(r["dag_recall"]), pct(r["task_precision"]), pct(r["task_recall"]),
                         pct(r["edge_recall"]), str(r["unexplained_files"])] for r in rows]
    table.append(["overall", "", str(total["files"]), str(total["dags"]),
                  pct(overall["dag_recall"]), pct(overall["task_precision"]),
                  pct(overall["task_recall"]), pct(overall["edge_recall"]), str(total["unexplained_files"])])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print(" | ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0 or i == len(table) - 2:
            print("-+-".join("-" * w for w in widths))
    distinct = {}
    for r in rows:  # an entry loaded by both Airflows counts once, with its larger DagBag
        distinct[r["entry"]] = max(distinct.get(r["entry"], 0), r["dags"])
    print(f"{len(distinct)} projects, {sum(distinct.values())} distinct DAGs by DagBag "
          f"({total['dags']} DAG loads over {len(rows)} entry x Airflow runs)")
    OUT.write_text(json.dumps({"targets": TARGETS, "overall": overall, "totals": total,
                               "distinct_dags": sum(distinct.values()),
                               "entries": rows}, indent=1) + "\n")
    print(f"details and every miss: {OUT.relative_to(ROOT)}")
    if strict:
        below = [k for k, target in TARGETS.items()
                 if overall[k] is not None and overall[k] < target]
        if below:
            print("below target: " + ", ".join(f"{k} {pct(overall[k])} < {pct(TARGETS[k])}"
                                              for k in below))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
