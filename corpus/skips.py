"""Which corpus tasks decide which tasks after them run: the model (``families.gate_of``: branch and
short-circuit operators, project classes derived from them, tasks that can skip themselves) against
what Airflow's own DagBag finds (``skips`` in .cache/corpus/truth/<name>-af<2|3>.json, written by
corpus/dagbag_truth.py with tests/support/dagbag_dump.py's ``skips``: a ``SkipMixin`` class that is
no sensor, a sensor given ``soft_fail``, a callable or a method of a project class whose bytecode
names ``AirflowSkipException``).

    .venv/bin/python corpus/skips.py [--json] [NAME...]

Why it matters: dagster-airlift's proxy operator decides nothing and never skips, so ``proxy``
keeps such a task in Airflow while its DAG migrates task by task; that is only as safe as this
reading is complete. Prints, per entry, the tasks Airflow finds, how many the model finds (recall;
target 100 %) and the ones only the model names (precision), then the misses. A task the model
misses but never proxies one by one anyway (mapped: airlift cannot proxy it; nothing to migrate:
``LatestOnlyOperator``; its id only known at run time, as the model's placeholder that can skip in
the same DAG) is counted apart ("kept"), not as a miss: no proxy step can break it. Figures are those of
the stubbed-import DagBag (corpus/README.md): a stubbed module's code is no bytecode to read, so a
task whose skip lives there is in the model only. Reads the facts cache of each checkout; writes
nothing. Exits 1 on a miss.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "corpus"))
import compare as corpus  # the manifest, the checkouts
from xcom_reads import entry_rows, model_project  # the model as compare.py runs it; the CLI

from analysis.edits.scaffold.families import gate_of, nothing_to_migrate

Task = tuple[str, str, str]
"""(file relative to the checkout, dag_id, task_id)."""


def measure(entry: dict) -> dict | None:
    truths = [corpus.TRUTH / f"{entry['name']}-af{af}.json" for af in ("2", "3")]
    truths = [json.loads(t.read_text()) for t in truths if t.is_file()]
    if not truths or not (corpus.SRC / entry["name"]).is_dir():
        return None
    truth = {(path, dag_id, task_id) for t in truths for path, dags in t["files"].items()
             for dag_id, dag in dags.items() for task_id, task in dag["tasks"].items() if task.get("skips")}
    loaded = {(path, dag_id) for t in truths for path, dags in t["files"].items() for dag_id in dags}
    project, src = model_project(entry)
    tasks = {(str(Path(e.file.path).resolve().relative_to(src)), e.dag_id, t.task_id): t
             for e in project.entries for t in e.dag.tasks}
    kinds = {key: gate for key, t in tasks.items() if (gate := gate_of(t))}
    model = {task for task in kinds if task[:2] in loaded}
    kept = {key for key, t in tasks.items() if t.mapped or nothing_to_migrate(t.operator)} & (truth - model)
    # A task whose id the model only knows at run time is never named by a step: the truth's is
    # kept when the model has such a task that can skip, in the same DAG.
    unnamed = {key[:2] for key, t in tasks.items() if not t.certain and key in kinds}
    kept |= {key for key in truth - model if key[:2] in unnamed}
    return {"entry": entry["name"], "truth": len(truth), "found": len(truth & model), "kept": len(kept),
            "missed": sorted(truth - model - kept), "beyond": sorted(model - truth),
            "kinds": {kind: sum(1 for task in model if kinds[task] == kind) for kind in sorted(set(kinds.values()))}}


def main(argv: list[str]) -> int:
    rows, as_json = entry_rows(argv, __doc__, measure)
    if as_json:
        return 1 if any(r["missed"] for r in rows) else 0
    print(f"{'entry':24} {'skip (DagBag)':>13} {'found':>6} {'kept':>5} {'recall':>7} {'beyond':>7}  model's kinds")
    for r in rows:
        recall = f"{100 * (r['found'] + r['kept']) / r['truth']:.1f} %" if r["truth"] else "-"
        kinds = ", ".join(f"{k} {n}" for k, n in r["kinds"].items() if n)
        print(f"{r['entry']:24} {r['truth']:>13,} {r['found']:>6,} {r['kept']:>5,} {recall:>7} {len(r['beyond']):>7,}  {kinds}")
    total, found = sum(r["truth"] for r in rows), sum(r["found"] for r in rows)
    kept, beyond = sum(r["kept"] for r in rows), sum(len(r["beyond"]) for r in rows)
    print(f"\noverall: {found:,} of {total:,} tasks Airflow finds can skip the tasks after them are in the model, "
          f"{kept:,} more are never proxied one by one (mapped, nothing to migrate, id known at run time)"
          + (f": {100 * (found + kept) / total:.1f} %" if total else "") + f"; {beyond:,} in the model only")
    for r in rows:
        for miss in r["missed"][:5]:
            print(f"  missed {r['entry']}: {' '.join(miss)}")
        for more in r["beyond"][:3]:
            print(f"  model only {r['entry']}: {' '.join(more)}")
    return 1 if any(r["missed"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
