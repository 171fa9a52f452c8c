"""Accuracy of the static model against Airflow's own DagBag, over Airflow's example DAGs.

    python bench/accuracy.py [--json] [--strict] [--refresh] [--ours DAGS_JSON] [--folder DIR]

Ground truth comes from bench/dagbag_dump.py, run with the Python of a separate Airflow venv
(``AIRFLOW3_PYTHON``, default ``.cache/airflow3/bin/python``) and cached in
``bench/out/dagbag-<airflow version>.json``. The static model is ``python -m server dags
FOLDER... --json`` run with this Python from the folder that holds the ``airflow`` package,
so both sides name files alike (``airflow/example_dags/tutorial.py``). Files that Airflow
itself cannot import, and files without DAGs that failed to import a module (their DAGs may
depend on it), are left out of every figure. ``--folder DIR`` compares on another DAG folder
instead (e.g. bench/out/corpus from bench/gen_corpus.py), run from its parent.

A DAG is keyed by (file, dag_id), a task by (file, dag_id, task_id), an edge by (file, dag_id,
upstream, downstream). Something the static model marks ``dynamic`` and that matches nothing
is listed as unresolved, not counted as invented: the model declined to guess.

Always exits 0 (it is a report), except with ``--strict``: 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tables import format_table, percent

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
DEFAULT_AIRFLOW3_PYTHON = REPO / ".cache" / "airflow3" / "bin" / "python"

# figure -> minimum value
TARGETS = {
    "task_precision": 1.0,
    "task_recall": 0.99,
    "dag_recall": 0.99,
    "edge_recall": 0.97,
}


class BenchError(Exception):
    """A side of the comparison could not be produced; the message says why."""


# --- ground truth ---------------------------------------------------------------------------


def airflow_python() -> str:
    python = os.environ.get("AIRFLOW3_PYTHON", str(DEFAULT_AIRFLOW3_PYTHON))
    if not Path(python).exists():
        raise BenchError(f"no Airflow python at {python} (set AIRFLOW3_PYTHON)")
    return python


def airflow_version(python: str) -> str:
    probe = "import importlib.metadata as m; print(m.version('apache-airflow'))"
    done = subprocess.run([python, "-c", probe], check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"apache-airflow is not installed for {python}: {last_line(done.stderr)}")
    return done.stdout.strip()


def ground_truth(refresh: bool, folder: Path | None) -> dict:
    """The DagBag dump of Airflow's example folders (cached), or of ``folder`` (not cached)."""
    python = airflow_python()
    cache = OUT / f"dagbag-{airflow_version(python)}.json"
    if cache.exists() and not refresh and folder is None:
        return json.loads(cache.read_text())
    dump = [python, str(REPO / "bench" / "dagbag_dump.py"), *([str(folder.resolve())] if folder else [])]
    done = subprocess.run(dump, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"dagbag_dump.py failed: {last_line(done.stderr)}")
    if folder is None:
        OUT.mkdir(parents=True, exist_ok=True)
        cache.write_text(done.stdout)
    return json.loads(done.stdout)


# --- static model ---------------------------------------------------------------------------


def static_model(truth: dict, saved: Path | None) -> dict:
    if saved is not None:
        return json.loads(saved.read_text())
    # -P: the cwd (Airflow's site-packages) must not shadow the dev venv's packages.
    command = [sys.executable, "-P", "-m", "server", "dags", *truth["folders"], "--json"]
    python_path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": python_path}
    done = subprocess.run(command, cwd=truth["root"], env=env, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"`python -m server dags` failed ({done.returncode}): {last_line(done.stderr)}")
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError as error:
        raise BenchError(f"`python -m server dags --json` printed invalid JSON: {error}") from None


# --- comparison -----------------------------------------------------------------------------


@dataclass
class Side:
    dags: set[tuple] = field(default_factory=set)
    tasks: set[tuple] = field(default_factory=set)
    edges: set[tuple] = field(default_factory=set)


@dataclass
class Comparison:
    truth: Side
    ours: Side
    lines: dict[tuple, int]
    """(file, dag_id[, task_id]) -> 1-based line where the static model found it."""
    unresolved: list[tuple]
    """(file, text): dynamic DAGs and tasks that match nothing in the truth."""
    static_errors: dict[str, str]
    excluded: dict[str, str]
    """File -> why it is left out."""
    scanned: int

    def figures(self) -> dict[str, float | None]:
        result = {}
        for kind in ("dag", "task", "edge"):
            truth, ours = getattr(self.truth, kind + "s"), getattr(self.ours, kind + "s")
            matched = len(truth & ours)
            result[f"{kind}_precision"] = matched / len(ours) if ours else None
            result[f"{kind}_recall"] = matched / len(truth) if truth else None
        return result

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            kind: {
                "airflow": len(getattr(self.truth, kind)),
                "static": len(getattr(self.ours, kind)),
                "matched": len(getattr(self.truth, kind) & getattr(self.ours, kind)),
            }
            for kind in ("dags", "tasks", "edges")
        }

    def targets(self) -> dict[str, dict]:
        figures = self.figures()
        return {
            name: {"target": minimum, "value": figures[name], "pass": (figures[name] or 0) >= minimum}
            for name, minimum in TARGETS.items()
        }

    def misses(self) -> dict[str, list[tuple[str, str]]]:
        """file -> [(kind, text)]; tasks of a missing DAG and edges of a missing task are implied."""
        truth, ours = self.truth, self.ours
        missing_dags, invented_dags = truth.dags - ours.dags, ours.dags - truth.dags
        missing_tasks, invented_tasks = truth.tasks - ours.tasks, ours.tasks - truth.tasks
        by_file: dict[str, list[tuple[str, str]]] = defaultdict(list)

        def line(key: tuple) -> str:
            return f"  (line {self.lines[key]})" if key in self.lines else ""

        for file, dag in sorted(missing_dags):
            size = sum(1 for t in truth.tasks if t[:2] == (file, dag))
            by_file[file].append(("missing DAG", f"{dag}  ({size} task{'' if size == 1 else 's'})"))
        for file, dag in sorted(invented_dags):
            by_file[file].append(("invented DAG", f"{dag}{line((file, dag))}"))
        for file, dag, task in sorted(missing_tasks):
            if (file, dag) not in missing_dags:
                by_file[file].append(("missing task", f"{dag}: {task}"))
        for file, dag, task in sorted(invented_tasks):
            if (file, dag) not in invented_dags:
                by_file[file].append(("invented task", f"{dag}: {task}{line((file, dag, task))}"))
        for kind, edges, skip in (
            ("missing edge", truth.edges - ours.edges, missing_tasks),
            ("invented edge", ours.edges - truth.edges, invented_tasks),
        ):
            for file, dag, up, down in sorted(edges):
                if (file, dag, up) not in skip and (file, dag, down) not in skip:
                    by_file[file].append((kind, f"{dag}: {up} >> {down}"))
        for file, text in self.unresolved:
            by_file[file].append(("unresolved", text))
        for file, error in self.static_errors.items():
            by_file[file].append(("static error", error))
        return dict(sorted(by_file.items()))


def compare(truth: dict, ours: dict) -> Comparison:
    excluded = {path: "Airflow import error" for path in truth["import_errors"]}
    for path, modules in truth.get("missing_modules", {}).items():
        excluded[path] = f"no DAG without {', '.join(modules)}, which the Airflow venv lacks"
    expected = Side()
    for file, dags in truth["files"].items():
        if file in excluded:
            continue
        for dag_id, tasks in dags.items():
            expected.dags.add((file, dag_id))
            for task_id, upstream in tasks.items():
                expected.tasks.add((file, dag_id, task_id))
                expected.edges.update((file, dag_id, up, task_id) for up in upstream)

    found, lines, unresolved, static_errors = Side(), {}, [], {}
    for entry in ours["files"]:
        file = entry["path"]
        if file in excluded:
            continue
        if entry.get("error"):
            static_errors[file] = entry["error"]
        for dag in entry["dags"]:
            dag_key = (file, dag["dag_id"])
            if dag.get("dynamic") and dag_key not in expected.dags:
                unresolved.append((file, f"DAG {dag['dag_id']}{human_line(dag)}"))
                continue
            found.dags.add(dag_key)
            lines[dag_key] = human_line_number(dag)
            unresolved_ids = set()
            for task in dag["tasks"]:
                task_key = (*dag_key, task["task_id"])
                if task.get("dynamic") and task_key not in expected.tasks:
                    unresolved_ids.add(task["task_id"])
                    unresolved.append((file, f"{dag['dag_id']}: task {task['task_id']}{human_line(task)}"))
                    continue
                found.tasks.add(task_key)
                lines[task_key] = human_line_number(task)
            for task in dag["tasks"]:
                if task["task_id"] in unresolved_ids:
                    continue
                found.edges.update(
                    (*dag_key, up, task["task_id"]) for up in task["upstream"] if up not in unresolved_ids
                )
    return Comparison(
        truth=expected,
        ours=found,
        lines=lines,
        unresolved=unresolved,
        static_errors=static_errors,
        excluded=dict(sorted(excluded.items())),
        scanned=len(truth.get("scanned", ())),
    )


def human_line_number(item: dict) -> int:
    return item["range"]["start"]["line"] + 1


def human_line(item: dict) -> str:
    return f"  (line {human_line_number(item)})" if "range" in item else ""


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


# --- report ---------------------------------------------------------------------------------


def print_report(truth: dict, comparison: Comparison) -> None:
    print(f"Static model vs Airflow {truth['airflow_version']} DagBag over {', '.join(truth['folders'])}")
    print(f"{comparison.scanned} files scanned by Airflow, {len(comparison.excluded)} left out")
    for path, reason in comparison.excluded.items():
        print(f"  {path}: {reason}")
    print()
    counts = comparison.counts()
    figures = comparison.figures()
    targets = comparison.targets()
    rows = []
    for kind in ("dag", "task", "edge"):
        count = counts[kind + "s"]
        for measure in ("precision", "recall"):
            name = f"{kind}_{measure}"
            target = targets.get(name)
            rows.append([
                f"{kind} {measure}",
                str(count["airflow"]),
                str(count["static"]),
                str(count["matched"]),
                percent(figures[name]),
                f">= {percent(target['target'])}" if target else "",
                ("PASS" if target["pass"] else "MISS") if target else "",
            ])
    print(format_table(["figure", "airflow", "static", "matched", "value", "target", ""], rows))

    misses = comparison.misses()
    if not misses:
        print("\nNo misses.")
        return
    print(f"\nMisses by file ({sum(len(m) for m in misses.values())}):")
    for file, items in misses.items():
        print(f"\n{file}")
        for kind, text in items:
            print(f"  {kind:<14} {text}")


def report_json(truth: dict, comparison: Comparison) -> dict:
    return {
        "airflow_version": truth["airflow_version"],
        "folders": truth["folders"],
        "files_scanned": comparison.scanned,
        "files_excluded": comparison.excluded,
        "counts": comparison.counts(),
        "figures": comparison.figures(),
        "targets": comparison.targets(),
        "misses": {
            file: [{"kind": kind, "text": text} for kind, text in items]
            for file, items in comparison.misses().items()
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--refresh", action="store_true", help="rebuild the cached DagBag dump")
    parser.add_argument("--ours", type=Path, help="a saved `dags --json` output to use instead of the CLI")
    parser.add_argument("--folder", type=Path, help="a DAG folder to use instead of Airflow's examples")
    args = parser.parse_args()

    try:
        truth = ground_truth(args.refresh, args.folder)
        comparison = compare(truth, static_model(truth, args.ours))
    except BenchError as error:
        print(f"accuracy: {error}", file=sys.stderr)
        return 1 if args.strict else 0

    if args.json:
        print(json.dumps(report_json(truth, comparison), indent=2))
    else:
        print_report(truth, comparison)
    missed = any(not target["pass"] for target in comparison.targets().values())
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
