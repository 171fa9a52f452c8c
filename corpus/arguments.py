"""Are the values the model evaluates for an operator's arguments the values Airflow gives it? The
judge of the ports' factory path (``analysis.dags.arguments``: a task a project factory makes is
scaffolded as a call of its class's port with those values, written out as literals).

    .venv/bin/python corpus/arguments.py [--json] [NAME...]

For every task of a checked-out entry, each argument the model writes out as a literal (every DAG
file read with ``extract_file(..., arguments=True)``, the entry's import roots and environment as
compare.py runs the model; ``BaseOperator``'s own arguments left out, as a port is not given them)
is compared with the attribute of the same name on the operator Airflow's own DagBag loaded
(``attributes`` in .cache/corpus/truth/<name>-af<2|3>.json, written by corpus/dagbag_truth.py
with tests/support/dagbag_dump.py's ``attributes``: public attributes that hold a literal, tuples
as lists). Prints, per entry, the arguments compared, those equal and those that differ, then the
differences: a difference is a wrong value the scaffold would write, unless the class keeps
something else under that name (``self.sql = sql.strip()``), which the listed values show.
Figures are those of the stubbed-import DagBag (corpus/README.md). Exits 0 (a report).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "corpus"))
import compare as corpus  # the manifest, the checkouts
from xcom_reads import entry_rows, model_project  # the model as compare.py runs it

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold.plan_evaluated import BASE_OPERATOR

Argument = tuple[str, str, str, str]
"""(file relative to the checkout, dag_id, task_id, argument)."""


def _same(model: object, airflow: object) -> bool:
    """Equal once tuples are lists, as JSON has them (the model writes a tuple's items as a list)."""
    return json.loads(json.dumps(model)) == airflow


def measure(entry: dict) -> dict | None:
    truths = [corpus.TRUTH / f"{entry['name']}-af{af}.json" for af in ("2", "3")]
    truths = [json.loads(t.read_text()) for t in truths if t.is_file()]
    if not truths or not (corpus.SRC / entry["name"]).is_dir():
        return None
    held = {(path, dag_id, task_id): task["attributes"] for t in truths for path, dags in t["files"].items()
            for dag_id, dag in dags.items() for task_id, task in dag["tasks"].items() if "attributes" in task}
    if not held:
        return None  # a truth written before attributes were dumped: run corpus/dagbag_truth.py again
    project, src = model_project(entry)
    equal, differ, compared, literal = 0, [], 0, 0
    for path in sorted({e.file.path for e in project.entries}):
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        relative = str(Path(path).resolve().relative_to(src))
        for dag in extract_file(path, text, project.code, arguments=True).dags:
            for task in dag.tasks:
                attributes = held.get((relative, dag.dag_id, task.task_id))
                read = task.closure.bindings if task.closure is not None else ()  # a closure's cells too
                for name, known, value in [*(task.arguments or ()), *((f"closure:{n}", k, v) for n, k, v in read)]:
                    if not known or name in BASE_OPERATOR:
                        continue
                    literal += 1
                    if attributes is None or name not in attributes:
                        continue
                    compared += 1
                    if _same(value, attributes[name]):
                        equal += 1
                    else:
                        differ.append({"task": [relative, dag.dag_id, task.task_id, name],
                                       "model": repr(value)[:160], "airflow": repr(attributes[name])[:160]})
    return {"entry": entry["name"], "literal": literal, "compared": compared, "equal": equal, "differ": differ}


def main(argv: list[str]) -> int:
    rows, as_json = entry_rows(argv, __doc__, measure)
    if as_json:
        return 0
    print(f"{'entry':24} {'literal':>8} {'compared':>9} {'equal':>7} {'differ':>7}")
    for r in rows:
        print(f"{r['entry']:24} {r['literal']:>8,} {r['compared']:>9,} {r['equal']:>7,} {len(r['differ']):>7,}")
    literal, compared = sum(r["literal"] for r in rows), sum(r["compared"] for r in rows)
    equal = sum(r["equal"] for r in rows)
    print(f"\noverall: {literal:,} arguments the model writes out as literals, {compared:,} of them kept by the "
          f"operator under their name, {equal:,} equal to Airflow's"
          + (f" ({100 * equal / compared:.1f} %)" if compared else ""))
    for r in rows:
        for d in r["differ"][:6]:
            print(f"  differs {r['entry']}: {' '.join(d['task'])}: model {d['model']} / airflow {d['airflow']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
