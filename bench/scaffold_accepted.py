"""Of the corpus tasks whose operator has a scaffold, how many "Generate Dagster implementation"
would write, and why it refuses the others (issue 16).

    .venv/bin/python bench/scaffold_accepted.py [--json] [--top N] [--ported] [NAME...]

``bench/scaffold_share.py`` counts a task as covered when its operator has a scaffold family;
a scaffold may still refuse the task for a reason of its own (Jinja only Airflow renders, a
value read at run time, an option the Dagster client does not carry). This script asks the
editor's own question for every such task: it discovers each checked-out entry of
corpus/manifest.json (under .cache/corpus/src/<name>/, `make corpus`) with the entry's DAG
folders, ``sys.path`` and environment, as corpus/compare.py runs the model, and calls
``can_scaffold`` (what the code lens and the code action call) on each task whose id is known
statically. Prints, per family, the tasks written and refused, and the refusal reasons that
hold the most tasks (reasons with their names and values masked, so that alike ones add up).
Reads the facts cache of each checkout and writes nothing. Exits 0 (a report).

``--ported``: as if each entry's team had ported every operator class without a scaffold once
(``AIRFLOW_OPERATOR_PORTS``; ``analysis.dagster.ports``): the tasks of those classes join, as the
"port" family, with what would still refuse them (a task made inside a project factory, Jinja,
an XCom input). What the ports would do is the team's; this counts the tasks they would reach.

``--as-base``: as if each entry's team had chosen to run every class of its own derived from an
Airflow or provider operator with a scaffold as that operator (``AIRFLOW_OPERATOR_PORTS =
{"GKEPodOperator": "GKEStartPodOperator"}``; ``analysis.edits.scaffold.derived``): those tasks join
their base's family, with what still refuses them (a constructor that sets ``self.x``, Jinja under
changed ``template_fields``, the base's own refusals).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "corpus"))
import compare as corpus  # corpus/compare.py: the manifest, the checkouts, the entry's environment

from analysis.edits.scaffold import can_scaffold, project_modules
from analysis.edits.scaffold.families import task_family, task_nothing_to_migrate
from analysis.files import read_disk
from analysis.project import Layout
from server.indexing.batch import discover_cached

_MASKS = ((re.compile(r"`[^`]*`"), "`…`"), (re.compile(r"'[^']*'|\"[^\"]*\""), "'…'"),
          (re.compile(r"\(\d+ [^)]*\)"), "(…)"))


def masked(reason: str) -> str:
    """A refusal with its task ids, names and values masked: alike refusals count together."""
    for pattern, mask in _MASKS:
        reason = pattern.sub(mask, reason)
    return reason


def environment(entry: dict) -> tuple[tuple[str, str], ...]:
    """The entry's deployment environment as ``Layout`` takes it (compare.py's ``--env`` flags)."""
    flags = corpus.env_flags(entry)
    pairs = [flags[i + 1].split("=", 1) for i in range(0, len(flags), 2) if flags[i] == "--env"]
    return tuple((name, value) for name, value in pairs)


def project_of(entry: dict):
    """The entry's project as the model reads it, from the checkout's facts cache (written nothing)."""
    src = (corpus.SRC / entry["name"]).resolve()
    layout = Layout(str(src), tuple(entry["dag_folders"]), None, tuple(entry.get("sys_path", [])),
                    environment(entry), dagster_anywhere=False)
    return discover_cached(layout, read_disk, read_only=True)


PORT_FUNCTION = "_airlift_port"
"""The function every class is "ported" to under ``--ported`` (a name no DAG file binds)."""


def chosen_bases(project, ports=()) -> dict[str, str]:
    """``--as-base``: every class of the entry derived from an operator with a scaffold that
    changes it (and not ported), run as that operator."""
    return {t.operator: t.derived_from.rsplit(".", 1)[-1] for e in project.entries for t in e.dag.tasks
            if t.derived_from and t.derived_changes and t.operator not in ports}


def measure_entry(entry: dict, ported: bool = False, as_base: bool = False) -> dict[str, Counter]:
    """Per family: ``written`` and refusal reasons (masked), one count per task. ``ported``: every
    operator class without a scaffold that does work counts as ported; ``as_base``: every class
    derived from an operator with a scaffold counts as run as that operator."""
    project = project_of(entry)
    texts: dict[str, str | None] = {}
    modules = project_modules(project.code)  # where an imported @task is copied from, as the editor asks
    tally: dict[str, Counter] = defaultdict(Counter)
    seen = set()
    ports = {t.operator: PORT_FUNCTION for e in project.entries for t in e.dag.tasks
             if ported and task_family(t) is None and task_nothing_to_migrate(t) is None}
    bases = chosen_bases(project, ports) if as_base else {}
    for dag_entry in project.entries:
        path = dag_entry.file.path
        for task in dag_entry.dag.tasks:
            family = task_family(task, ports, bases)
            key = (path, dag_entry.dag_id, task.task_id)
            if family is None or key in seen:
                continue
            seen.add(key)
            if not task.certain:
                tally[family]["(its id or presence is only known at run time)"] += 1
                continue
            if path not in texts:
                try:
                    texts[path] = Path(path).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    texts[path] = None
            text = texts[path]
            reason = "(the DAG file cannot be read)" if text is None else can_scaffold(
                text, task, modules, ports, dag_path=path, code=project.code, dag_id=dag_entry.dag_id, bases=bases)
            tally[family]["written" if reason is None else masked(reason)] += 1
    return tally


def measure(names: set[str], top: int, ported: bool = False, as_base: bool = False) -> dict:
    manifest = json.loads(corpus.MANIFEST.read_text())
    entries = [e for e in manifest if (not names or e["name"] in names) and (corpus.SRC / e["name"]).is_dir()]
    if not entries:
        return {"skipped": "no manifest entry is checked out under .cache/corpus/src/ (`make corpus`)"}
    began = time.monotonic()
    families: dict[str, Counter] = defaultdict(Counter)
    per_entry = []
    for entry in entries:
        print(f"[scaffold_accepted] {entry['name']}", file=sys.stderr, flush=True)
        tally = measure_entry(entry, ported, as_base)
        for family, counts in tally.items():
            families[family].update(counts)
        tasks = sum(sum(c.values()) for c in tally.values())
        written = sum(c["written"] for c in tally.values())
        per_entry.append({"entry": entry["name"], "tasks": tasks, "written": written})
    reasons: Counter = Counter()
    for family, counts in families.items():
        for reason, n in counts.items():
            if reason != "written":
                reasons[f"{family}: {reason}"] += n
    tasks = sum(sum(c.values()) for c in families.values())
    written = sum(c["written"] for c in families.values())
    return {
        "tasks": tasks, "written": written, "share": written / tasks if tasks else None,
        "families": {f: {"tasks": sum(c.values()), "written": c["written"]}
                     for f, c in sorted(families.items(), key=lambda item: -sum(item[1].values()))},
        "entries": per_entry,
        "top_refusals": [{"reason": r, "tasks": n} for r, n in reasons.most_common(top)],
        "ported": ported,
        "as_base": as_base,
        "seconds": time.monotonic() - began,
    }


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "n/a"


def print_report(result: dict) -> None:
    if "skipped" in result:
        print(f"scaffold accepted: skipped: {result['skipped']}")
        return
    from tables import format_table  # bench/tables.py, beside this script
    ported = " (every class without a scaffold ported once: --ported)" if result.get("ported") else ""
    ported += " (every class derived from an operator with a scaffold run as it: --as-base)" if result.get("as_base") else ""
    print(f"Corpus tasks of an operator with a scaffold, written or refused ({result['tasks']:,} tasks){ported}\n")
    print(format_table(["family", "tasks", "written", "share"],
                       [[f, f"{v['tasks']:,}", f"{v['written']:,}", pct(v["written"], v["tasks"])]
                        for f, v in result["families"].items()]))
    print()
    print(format_table(["entry", "tasks", "written", "share"],
                       [[e["entry"], f"{e['tasks']:,}", f"{e['written']:,}", pct(e["written"], e["tasks"])]
                        for e in result["entries"]]))
    print()
    print(format_table(["refused because", "tasks"], [[r["reason"][:110], f"{r['tasks']:,}"]
                                                      for r in result["top_refusals"]]))
    print(f"\noverall: {result['written']:,} of {result['tasks']:,} tasks "
          f"({pct(result['written'], result['tasks'])}) are written by their scaffold; {result['seconds']:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="manifest entries (default: all)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--top", type=int, default=20, help="refusal reasons to list (default 20)")
    parser.add_argument("--ported", action="store_true",
                        help="count every operator class without a scaffold as ported once (AIRFLOW_OPERATOR_PORTS)")
    parser.add_argument("--as-base", action="store_true",
                        help="count every class derived from an operator with a scaffold as run as it "
                             "(AIRFLOW_OPERATOR_PORTS given the operator's name)")
    args = parser.parse_args()
    result = measure(set(args.names), args.top, args.ported, args.as_base)
    print(json.dumps(result, indent=1) if args.json else "", end="\n" if args.json else "")
    if not args.json:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
