"""The share of real tasks that have a scaffold or nothing to migrate (issue 16), on the corpus.

    .venv/bin/python bench/scaffold_share.py [--json] [--strict] [--cached] [--top N] [NAME...]

For each entry of corpus/manifest.json checked out under .cache/corpus/src/<name>/ (`make
corpus`; corpus/README.md), runs our static model over its DAG folders as corpus/compare.py does
(``airlift-lsp dags <folders> --import-root ... --json`` from the checkout; ``--cached`` reads the
output compare.py last saved in .cache/corpus/static/ instead) and sorts every task it reports by
its operator, as ``TaskFacts.operator`` spells it (or, for a project class that only hands
arguments on to one of Airflow's operators, as that operator: ``families.runs_as``, read from the
checkout's facts cache), against analysis/edits/scaffold/families.py loaded now (so a family added
there counts at the next run):

* a scaffold family (``SCAFFOLDED``: "Generate Dagster implementation" writes its asset);
* nothing to migrate (``NOTHING_TO_MIGRATE``: ``EmptyOperator``..., left in Airflow);
* no scaffold: the ``no-scaffold`` finding of ``airlift-lsp check``, to port by hand.

Prints the tasks and share per family, per entry, overall (target: >= 90 % have a scaffold or
nothing to migrate), and the operators without a scaffold that hold the most tasks. Per entry,
also the classes its team would port once (``AIRFLOW_OPERATOR_PORTS``; the most-used first) for
its share by operator to reach the target: what is left, as work (a port reaches only the tasks
a call in the DAG file makes: ``bench/scaffold_accepted.py --ported`` counts those). A task whose
id is only known at run time (a placeholder for the ids a loop makes) counts once. Skips, with one
line (and ``{"skipped": ...}`` in JSON), when no entry is checked out. Exits 0 (a report);
``--strict``: 1 below the target.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import re
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]
FAMILIES = REPO / "analysis" / "edits" / "scaffold" / "families.py"
TARGET = 0.90
NOTHING = "nothing to migrate"
NO_SCAFFOLD = "no scaffold"

sys.path.insert(0, str(REPO / "corpus"))
import compare as corpus  # corpus/compare.py: the manifest, the checkouts, run_static


def load_families() -> ModuleType:
    """families.py as it is on disk now, without importing the scaffold package around it."""
    spec = importlib.util.spec_from_file_location("scaffold_families", FAMILIES)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


def family_of(families: ModuleType, operator: str) -> str:
    if families.nothing_to_migrate(operator) is not None:
        return NOTHING
    return families.scaffold_family(operator) or NO_SCAFFOLD


def operators_of(static: dict, runs_as: dict[str, str] | None = None) -> Counter:
    """Tasks per operator in one ``dags --json`` answer; ``runs_as``: project classes that only hand
    arguments on to one of Airflow's operators, to that operator (``derived_classes``)."""
    runs_as = runs_as or {}
    return Counter(runs_as.get(task["operator"], task["operator"]) for file in static["files"]
                   for dag in file.get("dags", []) for task in dag["tasks"])


def derived_classes(families: ModuleType, entry: dict) -> dict[str, str]:
    """The entry's project classes that only hand arguments on to one of Airflow's or a provider's
    operators with a scaffold (``families.runs_as``; ``analysis.dags.derived``), to that operator:
    ``dags --json`` names a task's class, the model's facts also what it derives from. Read from
    the checkout's facts cache, as bench/scaffold_accepted.py reads it."""
    if str(REPO / "bench") not in sys.path:  # loaded by path (the tests), not run from bench/
        sys.path.insert(0, str(REPO / "bench"))
    from scaffold_accepted import project_of  # the analysis package, only when measuring

    found: dict[str, str] = {}
    for dag_entry in project_of(entry).entries:
        for task in dag_entry.dag.tasks:
            seen = families.runs_as(task)
            if seen != task.operator:
                found[task.operator] = seen
    return found


_CLASS = re.compile(r"^[ \t]*class[ \t]+(\w+)[ \t]*[(:]", re.MULTILINE)


def project_classes(entry: dict) -> set[str]:
    """Names of the classes the entry's checkout defines in its own Python files: a task of one
    of them runs the project's own operator, which no scaffold can know."""
    names: set[str] = set()
    texts = []
    root = corpus.SRC / entry["name"]
    for path in root.rglob("*.py"):
        if ".cache" in path.relative_to(root).parts:
            continue
        try:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        names.update(_CLASS.findall(texts[-1]))
    for text in texts:  # `MessageOperator = (LogMessageOperator if dev else SlackMessageOperator)`: theirs too
        names.update(_aliases(text, names))
    return names


_ALIAS = re.compile(r"^([A-Za-z_]\w*)[ \t]*=", re.MULTILINE)


def _aliases(text: str, classes: set[str]) -> set[str]:
    """Module-level names bound to one of ``classes``, or to a conditional choice between them."""
    if not _ALIAS.search(text) or not any(c in text for c in classes):
        return set()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return set()

    def chosen(node: ast.expr) -> bool:
        if isinstance(node, ast.IfExp):
            return chosen(node.body) and chosen(node.orelse)
        return isinstance(node, ast.Name) and node.id in classes

    return {s.targets[0].id for s in tree.body if isinstance(s, ast.Assign) and len(s.targets) == 1
            and isinstance(s.targets[0], ast.Name) and chosen(s.value)}


def static_of(entry: dict, cached: bool) -> dict:
    if not cached:
        return corpus.run_static(entry)
    saved = corpus.STATIC / f"{entry['name']}.json"
    if not saved.exists():
        raise RuntimeError(f"no saved model at {rel(saved)}: run corpus/compare.py, or drop --cached")
    return json.loads(saved.read_text())


def ports_to_target(families: ModuleType, counts: Counter) -> int:
    """How many operator classes without a scaffold, the most-used first, a team would port once
    for its share by operator to reach the target."""
    total = sum(counts.values())
    covered = sum(n for op, n in counts.items() if family_of(families, op) != NO_SCAFFOLD)
    ports = 0
    for _, n in sorted(((op, n) for op, n in counts.items() if family_of(families, op) == NO_SCAFFOLD),
                       key=lambda item: -item[1]):
        if covered >= TARGET * total:
            break
        covered, ports = covered + n, ports + 1
    return ports


def share(covered: int, total: int) -> float | None:
    return covered / total if total else None


def measure(names: set[str], cached: bool, top: int) -> dict:
    families = load_families()
    manifest = json.loads(corpus.MANIFEST.read_text())
    entries = [e for e in manifest if not names or e["name"] in names]
    if not entries:
        raise SystemExit(f"scaffold_share: no manifest entry named {', '.join(sorted(names))}")
    present = [e for e in entries if (corpus.SRC / e["name"]).is_dir()]
    if not present:
        return {"skipped": f"the corpus is not fetched: no checkout under {rel(corpus.SRC)}/ "
                           f"(fetch the manifest's repositories, then `make corpus`; corpus/README.md)"}
    began = time.monotonic()
    operators: Counter = Counter()
    where: dict[str, set[str]] = {}
    rows, errors = [], {}
    own_tasks = 0
    for entry in present:
        print(f"[scaffold_share] {entry['name']}", file=sys.stderr, flush=True)
        try:
            counts = operators_of(static_of(entry, cached), derived_classes(families, entry))
        except (RuntimeError, OSError, ValueError) as error:  # one entry's failure is reported, not fatal
            errors[entry["name"]] = str(error)
            continue
        own = project_classes(entry)
        own_tasks += sum(n for op, n in counts.items() if op in own and family_of(families, op) == NO_SCAFFOLD)
        operators.update(counts)
        for operator in counts:
            where.setdefault(operator, set()).add(entry["name"])
        total = sum(counts.values())
        covered = sum(n for op, n in counts.items() if family_of(families, op) != NO_SCAFFOLD)
        rows.append({"entry": entry["name"], "tasks": total, "covered": covered, "share": share(covered, total),
                     "ports_to_target": ports_to_target(families, counts)})
    by_family: Counter = Counter()
    for operator, count in operators.items():
        by_family[family_of(families, operator)] += count
    total = sum(by_family.values())
    covered = total - by_family[NO_SCAFFOLD]
    uncovered = [(op, n) for op, n in operators.most_common() if family_of(families, op) == NO_SCAFFOLD]
    return {
        "entries": rows, "missing": sorted(e["name"] for e in entries if e not in present), "errors": errors,
        "tasks": total, "covered": covered, "share": share(covered, total), "target": TARGET,
        "median_entry_share": median([r["share"] for r in rows if r["share"] is not None]),
        "families": {family: {"tasks": n, "share": share(n, total),
                              "operators": sorted(op for op in operators if family_of(families, op) == family)}
                     for family, n in sorted(by_family.items(), key=lambda item: -item[1])},
        "project_operator_tasks": own_tasks,
        "share_of_airflow_operators": share(covered, total - own_tasks),
        "operators": len(operators),
        "operators_without_scaffold": len(uncovered),
        "top_without_scaffold": [{"operator": op, "tasks": n, "entries": len(where[op])} for op, n in uncovered[:top]],
        "source": "saved by corpus/compare.py" if cached else "airlift-lsp dags, run now",
        "seconds": time.monotonic() - began,
    }


def median(values: list[float]) -> float | None:
    values = sorted(values)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f} %"


def print_report(result: dict) -> None:
    if "skipped" in result:
        print(f"scaffold share: skipped: {result['skipped']}")
        return
    from tables import format_table  # bench/tables.py, beside this script
    print(f"Corpus tasks with a scaffold or nothing to migrate ({len(result['entries'])} entries, "
          f"{result['tasks']:,} tasks, {result['operators']} operators; {result['source']})\n")
    print(format_table(["family", "tasks", "share"],
                       [[family, f"{f['tasks']:,}", pct(f["share"])] for family, f in result["families"].items()]))
    print()
    print(format_table(["entry", "tasks", "scaffold or nothing", "share", "ports to target"],
                       [[r["entry"], f"{r['tasks']:,}", f"{r['covered']:,}", pct(r["share"]), str(r["ports_to_target"])]
                        for r in result["entries"]]))
    print()
    print(format_table(["operator without a scaffold", "tasks", "entries"],
                       [[t["operator"], f"{t['tasks']:,}", str(t["entries"])] for t in result["top_without_scaffold"]]))
    print()
    met = result["share"] is not None and result["share"] >= result["target"]
    print(f"overall: {pct(result['share'])} ({result['covered']:,} of {result['tasks']:,} tasks) have a scaffold or "
          f"nothing to migrate; target >= {pct(result['target'])}: {'met' if met else 'MISSED'}; "
          f"median over entries {pct(result['median_entry_share'])}")
    print(f"tasks of the projects' own operator classes (defined in their code; no scaffold can know them): "
          f"{result['project_operator_tasks']:,}; share over the other tasks (Airflow's and providers' "
          f"operators): {pct(result['share_of_airflow_operators'])}")
    ports = [r["ports_to_target"] for r in result["entries"]]
    print(f"operator classes to port once (AIRFLOW_OPERATOR_PORTS) for every entry to reach the target by operator: "
          f"{sum(ports)} in all, median {median(ports) if ports else 'n/a'} per entry, at most {max(ports, default=0)}")
    for name in result["missing"]:
        print(f"not checked out, left out: {name}")
    for name, error in result["errors"].items():
        print(f"not measured: {name}: {error}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="manifest entries (default: all)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--strict", action="store_true", help="exit 1 below the target")
    parser.add_argument("--cached", action="store_true",
                        help="read the model corpus/compare.py saved in .cache/corpus/static/ instead of running it")
    parser.add_argument("--top", type=int, default=15, help="operators without a scaffold to list (default 15)")
    args = parser.parse_args()
    result = measure(set(args.names), args.cached, args.top)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_report(result)
    missed = "skipped" not in result and (result["share"] is None or result["share"] < TARGET)
    return 1 if args.strict and missed else 0


if __name__ == "__main__":
    sys.exit(main())
