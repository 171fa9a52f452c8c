"""Which corpus tasks read another task's XCom: the model (``TaskFacts.xcom_from``) against what
Airflow's own DagBag finds (the XComArgs of each task's templated fields and expand input, in
.cache/corpus/truth/<name>-af<2|3>.json, ``xcom_from``; written by corpus/dagbag_truth.py).

    .venv/bin/python corpus/xcom_reads.py [--json] [NAME...]

Why it matters: a proxied task pushes no XCom (dagster-airlift's operator returns nothing), so a
task left in Airflow that reads it gets None at run time; ``proxy`` refuses a task whose readers
stay in Airflow, which is only as safe as this reading is complete. Prints, per entry, the
reads Airflow finds (task, producer), how many the model finds (recall; target 100 %), the
reads the model sees that the DagBag's XComArgs do not (``xcom_pull`` with ids written out in
Jinja or in a callable, run-time reads no DagBag shows; and XComArgs given to the templated
arguments of a provider operator the truth stubs, which declares no ``template_fields``: austin-atd's
``DockerOperator(environment=get_env_vars_task(...))``), the tasks with an ``xcom_pull`` whose
ids only run time knows (computed, or none given: they may read every task upstream of them,
``xcom_upstream``), and the tasks whose proxy alone is refused because a task reads, or may
read, their XCom. Figures are those of the stubbed-import
DagBag (corpus/README.md). Reads the facts cache of each checkout; writes nothing. Exits 1 when
recall misses the target on an entry that has reads.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "corpus"))
import compare as corpus  # the manifest, the checkouts, the entry's environment

from analysis.files import read_disk
from analysis.project import Layout
from server.indexing.batch import discover_cached

Read = tuple[str, str, str, str]
"""(file relative to the checkout, dag_id, reader task_id, producer task_id)."""


def model_project(entry: dict):
    """The model of a checked-out entry, as compare.py runs it (import roots, environment), read
    from the checkout's facts cache; and the checkout's folder."""
    src = (corpus.SRC / entry["name"]).resolve()
    flags = corpus.env_flags(entry)
    env = tuple(tuple(flags[i + 1].split("=", 1)) for i in range(0, len(flags), 2) if flags[i] == "--env")
    layout = Layout(str(src), tuple(entry["dag_folders"]), None, tuple(entry.get("sys_path", [])),
                    env, dagster_anywhere=False)
    return discover_cached(layout, read_disk, read_only=True), src


def model_reads(entry: dict) -> tuple[set[Read], set[Read]]:
    """The reads the model names (``xcom_from``), and those it assumes (``xcom_upstream``: every
    task upstream of one whose ``xcom_pull`` names its tasks only at run time)."""
    project, src = model_project(entry)
    named, assumed = set(), set()
    for e in project.entries:
        path = str(Path(e.file.path).resolve().relative_to(src))
        for t in e.dag.tasks:
            named.update((path, e.dag_id, t.task_id, p) for p in t.xcom_from)
            assumed.update((path, e.dag_id, t.task_id, p) for p in t.xcom_upstream)
    return named, assumed


def truth_reads(truth: dict) -> set[Read] | None:
    """None for a truth written before ``xcom_from`` was recorded."""
    reads: set[Read] = set()
    for path, dags in truth["files"].items():
        for dag_id, dag in dags.items():
            for task_id, task in dag["tasks"].items():
                if "xcom_from" not in task:
                    return None
                reads.update((path, dag_id, task_id, p) for p in task["xcom_from"])
    return reads


def measure(entry: dict) -> dict | None:
    truths = [corpus.TRUTH / f"{entry['name']}-af{af}.json" for af in ("2", "3")]
    truths = [json.loads(t.read_text()) for t in truths if t.is_file()]
    if not truths or not (corpus.SRC / entry["name"]).is_dir():
        return None
    truth_sets = [r for t in truths if (r := truth_reads(t)) is not None]
    if not truth_sets:
        return None
    truth = set().union(*truth_sets)
    loaded = {(path, dag_id) for t in truths for path, dags in t["files"].items() for dag_id in dags}
    named, assumed = model_reads(entry)
    model = {r for r in named if (r[0], r[1]) in loaded}
    assumed = {r for r in assumed if (r[0], r[1]) in loaded}
    found = truth & model
    producers = {(path, dag_id, producer) for path, dag_id, _, producer in model | assumed}
    return {"entry": entry["name"], "truth": len(truth), "found": len(found),
            "missed": sorted(truth - model), "beyond": sorted(model - truth),
            "run_time_readers": len({r[:3] for r in assumed}), "held_producers": len(producers)}


def entry_rows(argv: list[str], doc: str, measure) -> tuple[list[dict], bool]:
    """``[--json] [NAME...]`` read from ``argv`` (``doc``: the script's docstring), and what
    ``measure(entry)`` gives for each manifest entry named (every entry by default) that it
    measures (None: not checked out, or no truth)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = [r for e in json.loads(corpus.MANIFEST.read_text())
            if not args.names or e["name"] in args.names if (r := measure(e)) is not None]
    if args.json:
        print(json.dumps(rows, indent=1))
    return rows, args.json


def main(argv: list[str]) -> int:
    rows, as_json = entry_rows(argv, __doc__, measure)
    if not as_json:
        print(f"{'entry':24} {'reads (DagBag)':>14} {'found':>6} {'recall':>7} {'beyond':>7} {'held':>5}")
        for r in rows:
            recall = f"{100 * r['found'] / r['truth']:.1f} %" if r["truth"] else "-"
            print(f"{r['entry']:24} {r['truth']:>14,} {r['found']:>6,} {recall:>7} {len(r['beyond']):>7,} "
                  f"{r['held_producers']:>5,}")
        total, found = sum(r["truth"] for r in rows), sum(r["found"] for r in rows)
        print(f"\noverall: {found:,} of {total:,} XCom reads Airflow finds are in the model"
              + (f" ({100 * found / total:.1f} %)" if total else "")
              + f"; {sum(len(r['beyond']) for r in rows):,} more (xcom_pull ids written out, stubbed operators' arguments); "
              f"{sum(r['run_time_readers'] for r in rows):,} tasks pull ids only known at run time (they may read "
              f"every task upstream); {sum(r['held_producers'] for r in rows):,} tasks have readers (proxy alone refused)")
        for r in rows:
            for miss in r["missed"][:5]:
                print(f"  missed {r['entry']}: {' '.join(miss)}")
    return 1 if any(r["found"] < r["truth"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
