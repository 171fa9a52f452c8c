"""Real Dagster judges the scaffolds (issue 16): over the corpus, write every asset "Generate Dagster
implementation" accepts, as a user would, and load the Dagster modules in real Dagster.

    .venv/bin/python corpus/scaffold_judge.py [--per-module N] [--max-tasks N] [NAME...]

For every checked-out manifest entry (.cache/corpus/src/<name>/, ``make corpus``), the model is
read as bench/scaffold_accepted.py reads it (the entry's DAG folders, ``sys.path`` and
environment, from its facts cache). Every task that ``can_scaffold`` accepts (what the code lens
offers) is taken through the editor's own plans, in DAG file order: ``plan_map`` maps the DAG's
accepted tasks, then ``plan_scaffold`` writes each one's asset into the same Dagster module, up
to ``--per-module`` tasks (default 6) per module, so that assets scaffolded from different DAG
files share a module as they do in a team's ``definitions.py``. Each scaffold reparses the module
(libcst), so a whole entry takes long (ttd's 382 tasks: hours): by default an entry gives a sample
of ``--max-tasks`` tasks (150), one task of each family in turn, within a family one DAG file in
turn; ``--max-tasks 0`` takes them all. ``--as-base``: only the tasks of the entry's classes derived
from an operator with a scaffold that changes it, each class chosen to run as that operator with
the editor's code action ("Run `X` as `Y` in Dagster", ``plan_port_base``) once its first task is
mapped, as bench/scaffold_accepted.py ``--as-base`` counts them (written under
``<name>-as-base/``). The modules are written under
.cache/corpus/scaffold/<name>/<k>/definitions.py (the checkout is never modified) and loaded by
corpus/scaffold_load.py in the Dagster venv (``DAGSTER_PYTHON``, else .cache/dagster; ``make
dagster``): imported, validated as ``dagster definitions validate`` does, and every scaffolded
asset looked up (present and executable). The project's third-party packages are stubbed as in
corpus/dagbag_truth.py; Airflow is not, so a module that needs Airflow fails.

Verdicts, per task: ``loaded`` (its module loaded and its asset is there, executable, the
imports written in its function run and every global name it reads is bound); ``fails-when-run``
(the module loads, but an import inside the asset's function fails, Airflow's for one, or it
reads a name nothing binds: the asset would fail when it runs); ``asset-missing``;
``refused-after-accept`` (``plan_scaffold`` refused a task ``can_scaffold`` accepted: the lens
would offer what the action refuses); ``waits-for-unmapped`` (an ``ExternalTaskSensor`` whose
upstream task is not in the project, so that it cannot be mapped first: its refusal says so; when
the upstream's DAG is in the project, it is mapped first, as the refusal asks, and the sensor
scaffolded); ``crash`` (an exception in a plan); ``module-failed`` (its
module does not load, the error given per module). Prints the figures and each failure; exits 0
(a report), 1 with ``--strict`` when a task failed (``waits-for-unmapped`` is not a failure).
Writes .cache/corpus/scaffold/report-<name>.json per entry, with the commit judged.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
import traceback
from collections import Counter, defaultdict, deque
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "corpus"))
import compare as corpus  # noqa: E402 - the manifest and the checkouts
from scaffold_accepted import chosen_bases, project_of  # noqa: E402 - the model as the bench reads it

from analysis.dagster.module import parse_dagster_module  # noqa: E402
from analysis.edits.scaffold import can_scaffold, project_modules  # noqa: E402
from analysis.edits.scaffold.families import task_family  # noqa: E402
from analysis.files import read_disk  # noqa: E402
from analysis.plans import Refused, plan_map, plan_scaffold  # noqa: E402
from analysis.plans.port_bases import plan_port_base  # noqa: E402

OUT = ROOT / ".cache" / "corpus" / "scaffold"


def dagster_python() -> str:
    python = os.environ.get("DAGSTER_PYTHON") or str(ROOT / ".cache" / "dagster" / "bin" / "python")
    if not Path(python).exists():
        raise SystemExit(f"scaffold judge: no Dagster venv at {python}: run `make dagster` or set DAGSTER_PYTHON")
    return os.path.abspath(python)


def accepted_tasks(project, max_tasks: int | None, bases: dict[str, str] | None = None
                   ) -> list[tuple[str, str, list[str]]]:
    """(DAG file, dag_id, [task ids]) of the tasks the scaffold accepts, in DAG file order; with
    ``max_tasks``, a sample of that many, taken in turn from each family and, within a family,
    from each DAG file, so that the sample holds every family and as many files as it can.
    ``bases``: only the tasks of those classes, each run as its base."""
    modules = project_modules(project.code)
    ids = Counter(e.dag_id for e in project.entries)
    by_family: dict[str, dict[tuple[str, str], list[str]]] = defaultdict(lambda: defaultdict(list))
    order: list[tuple[str, str]] = []
    for entry in sorted(project.entries, key=lambda e: (e.file.path, e.dag_id)):
        if ids[entry.dag_id] > 1:
            continue  # a DAG id in two files: Airflow keeps one, and every plan refuses it
        text = read_disk(entry.file.path).text
        if text is None:
            continue
        order.append((entry.file.path, entry.dag_id))
        for task in entry.dag.tasks:
            family = task_family(task, {}, bases) if task.certain and (not bases or task.operator in bases) else None
            if family is not None and can_scaffold(text, task, modules, {}, dag_path=entry.file.path,
                                                   code=project.code, dag_id=entry.dag_id, bases=bases) is None:
                by_family[family][(entry.file.path, entry.dag_id)].append(task.task_id)
    chosen: dict[tuple[str, str], list[str]] = defaultdict(list)
    queues = [deque((dag, list(tasks)) for dag, tasks in dags.items()) for _, dags in sorted(by_family.items())]
    left = sum(len(tasks) for queue in queues for _, tasks in queue)
    limit = min(left, max_tasks) if max_tasks is not None else left
    taken = 0
    while taken < limit:
        for queue in queues:  # one task of each family in turn; within it, one DAG in turn
            if queue and taken < limit:
                dag, tasks = queue.popleft()
                chosen[dag].append(tasks.pop(0))
                taken += 1
                if tasks:
                    queue.append((dag, tasks))
    return [(path, dag_id, chosen[(path, dag_id)]) for path, dag_id in order if chosen.get((path, dag_id))]


_WAITS = re.compile(r"^map `(.+)` first: ExternalTaskSensor waits for it")


def waited_for(project, refusal: str) -> tuple[str, list[str]] | None:
    """(dag_id, [task_id]) of the task a sensor's scaffold asks to map first, when the project
    has its DAG (once in one file); None otherwise."""
    found = _WAITS.search(refusal)
    if found is None:
        return None
    handle = found.group(1)
    for cut in (i for i, c in enumerate(handle) if c == "."):
        dag_id, task_id = handle[:cut], handle[cut + 1:]
        entries = project.entries_for(dag_id)
        if len(entries) == 1 and entries[0].dag.task(task_id) is not None:
            return dag_id, [task_id]
    return None


def write_modules(project, work: list[tuple[str, str, list[str]]], folder: Path, per_module: int,
                  as_base: bool = False):
    """Map and scaffold ``work`` through the plans into modules of at most ``per_module`` tasks
    (``as_base``: each task's class chosen to run as its base, with the editor's code action, after
    it is mapped). Returns the modules ({path, airflow, assets, tasks}) and the per-task verdicts so far."""
    modules, verdicts = [], {}
    chunks: list[list[tuple[str, str, list[str]]]] = [[]]
    for item in work:
        if chunks[-1] and sum(len(t) for _, _, t in chunks[-1]) + len(item[2]) > per_module:
            chunks.append([])
        chunks[-1].append(item)
    for number, chunk in enumerate(c for c in chunks if c):
        path = folder / str(number) / "definitions.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        overlay: dict[str, str] = {}
        # the texts the facts came from (the DAG files', read at discovery; the module's): the plans reuse them
        sources: dict[str, str] = {dag_path: read_disk(dag_path).text for dag_path, _, _ in chunk}

        def read(p: str) -> str | None:
            return overlay[p] if p in overlay else read_disk(p).text

        current = replace(project, layout=replace(project.layout, dagster_module=str(path)),
                          dagster_modules={}, _mapped=None)

        def apply(plan):
            nonlocal current
            for change in plan.changes:
                overlay[change.path] = change.new_text
            if str(path) in overlay and sources.get(str(path)) != overlay[str(path)]:
                sources[str(path)] = overlay[str(path)]
                current = replace(current, dagster_modules={str(path): parse_dagster_module(str(path), overlay[str(path)])},
                                  _mapped=None)

        airflow, written = {}, []
        for _, dag_id, task_ids in chunk:
            entry = current.entry(dag_id)
            airflow[dag_id] = [t.task_id for t in entry.dag.tasks if t.certain]
            try:
                apply(plan_map(current, read, dag_id, task_ids, sources=sources))
                for task_id in task_ids if as_base else ():  # the code action "Run `X` as `Y` in Dagster"
                    if current.entry(dag_id).dag.task(task_id).operator not in current.port_bases:
                        apply(plan_port_base(current, read, dag_id, task_id, sources=sources))
            except Refused as refusal:
                for task_id in task_ids:
                    verdicts[(dag_id, task_id)] = ("refused-after-accept", f"map: {refusal}")
                continue
            for task_id in task_ids:
                try:
                    try:
                        apply(plan_scaffold(current, read, dag_id, task_id, sources=sources))
                    except Refused as refusal:
                        upstream = waited_for(current, str(refusal))
                        if upstream is None:
                            raise
                        # a sensor's upstream task, mapped first as its refusal asks (a user would)
                        apply(plan_map(current, read, *upstream, sources=sources))
                        airflow.setdefault(upstream[0], [t.task_id for t in current.entry(upstream[0]).dag.tasks
                                                         if t.certain])
                        apply(plan_scaffold(current, read, dag_id, task_id, sources=sources))
                    written.append((dag_id, task_id))
                except Refused as refusal:
                    verdict = "waits-for-unmapped" if _WAITS.search(str(refusal)) else "refused-after-accept"
                    verdicts[(dag_id, task_id)] = (verdict, str(refusal))
                except Exception:  # noqa: BLE001 - a crash is a finding
                    verdicts[(dag_id, task_id)] = ("crash", traceback.format_exc(limit=-3)[-1200:])
        if str(path) not in overlay:
            continue
        path.write_text(overlay[str(path)], encoding="utf-8")
        module = current.dagster_modules[str(path)]
        assets = {}
        for dag_id, task_id in written:
            assets[(dag_id, task_id)] = [key_parts(key) for key in module.named_keys(dag_id, task_id)]
        modules.append({"path": str(path), "airflow": airflow, "tasks": written,
                        "assets": [key for keys in assets.values() for key in keys], "by_task": assets})
    return modules, verdicts


def asset_functions(text: str) -> dict[str, set[tuple[str, ...]]]:
    """The module's top-level functions that define assets, with the keys their decorators'
    ``AssetSpec(key=[...])`` (or ``key=...`` of ``@asset``) write."""
    import ast

    found: dict[str, set[tuple[str, ...]]] = {}
    for node in ast.parse(text).body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.decorator_list:
            keys = set()
            for decorator in node.decorator_list:
                for call in ast.walk(decorator):
                    for keyword in getattr(call, "keywords", ()):
                        if keyword.arg == "key":
                            try:
                                value = ast.literal_eval(keyword.value)
                            except ValueError:
                                continue
                            keys.add(tuple(value) if isinstance(value, (list, tuple)) else tuple(key_parts(value)))
            if keys:
                found[node.name] = keys
    return found


def key_parts(key: str) -> list[str]:
    """``a/b`` (Dagster's user string, ``\\/`` a slash inside a part) as the key's parts."""
    return [part.replace("\\/", "/") for part in re.split(r"(?<!\\)/", key)]


def judge_entry(entry: dict, per_module: int, max_tasks: int | None, as_base: bool = False) -> dict:
    began = time.monotonic()
    project = project_of(entry)
    folder = OUT / (entry["name"] + ("-as-base" if as_base else ""))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    work = accepted_tasks(project, max_tasks, chosen_bases(project) if as_base else None)
    modules, verdicts = write_modules(project, work, folder, per_module, as_base)
    job = {"entry": entry, "root": str((corpus.SRC / entry["name"]).resolve()),
           "code_roots": project.layout.code_roots(),
           "modules": [{k: m[k] for k in ("path", "airflow", "assets")} for m in modules]}
    (folder / "job.json").write_text(json.dumps(job), encoding="utf-8")
    loaded = subprocess.run([dagster_python(), str(ROOT / "corpus" / "scaffold_load.py"), str(folder / "job.json")],
                            capture_output=True, text=True, check=False)
    results = {r["path"]: r for r in (json.loads(line) for line in loaded.stdout.splitlines() if line.startswith("{"))}
    failures = []
    for module in modules:
        result = results.get(str(Path(module["path"]).resolve())) or {"ok": False, "error": f"not loaded: {loaded.stderr.strip()[-800:]}",
                                                  "missing": [], "not_executable": []}
        if result.get("error"):
            failures.append({"module": module["path"], "error": result["error"], "tasks": len(module["tasks"])})
        bad = {tuple(k) for k in result.get("missing", []) + result.get("not_executable", [])}
        keys_of = asset_functions(Path(module["path"]).read_text(encoding="utf-8"))
        at_run: dict[tuple, list[str]] = defaultdict(list)  # asset key: what fails when it runs
        for problem in result.get("imports", []) + result.get("undefined", []):
            what = (f"line {problem['line']}: {problem['error']}" if "error" in problem
                    else f"NameError: `{problem['name']}` is not defined")
            function_keys = keys_of.get(problem["function"])
            if function_keys is None:  # a helper of the module (a class, a function): any asset may call it
                function_keys = {tuple(k) for k in module["assets"]}
                what = f"{problem['function']}: {what}"
            for key in function_keys:
                at_run[key].append(what)
        for task, keys in module["by_task"].items():
            problems = [p for k in keys for p in at_run.get(tuple(k), [])]
            if result.get("error"):
                verdicts[task] = ("module-failed", result["error"].splitlines()[-1][:300])
            elif not keys or any(tuple(k) in bad for k in keys):
                verdicts[task] = ("asset-missing", f"asset {keys} missing or not executable")
            elif problems:
                verdicts[task] = ("fails-when-run", "; ".join(dict.fromkeys(problems))[:400])
            else:
                verdicts[task] = ("loaded", None)
    counts = Counter(v for v, _ in verdicts.values())
    return {"entry": entry["name"], "accepted": sum(len(t) for _, _, t in work), "modules": len(modules),
            "verdicts": dict(counts), "module_failures": failures,
            "task_failures": [{"dag_id": d, "task_id": t, "verdict": v, "why": w}
                              for (d, t), (v, w) in sorted(verdicts.items()) if v != "loaded"],
            "seconds": round(time.monotonic() - began, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME")
    parser.add_argument("--per-module", type=int, default=6, help="tasks scaffolded into one module (default 6)")
    parser.add_argument("--max-tasks", type=int, default=150,
                        help="a sample of at most this many tasks per entry, across families and files (default 150; 0: all)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a task fails")
    parser.add_argument("--as-base", action="store_true",
                        help="only the tasks of the classes derived from an operator with a scaffold, each class "
                             "chosen to run as that operator with the editor's code action (AIRFLOW_OPERATOR_PORTS)")
    args = parser.parse_args()
    dagster_python()
    manifest = json.loads(corpus.MANIFEST.read_text())
    entries = [e for e in manifest if (not args.names or e["name"] in args.names) and (corpus.SRC / e["name"]).is_dir()]
    if not entries:
        print("scaffold judge: no manifest entry is checked out under .cache/corpus/src/ (`make corpus`)")
        return 0
    reports, totals = [], Counter()
    for entry in entries:
        print(f"[scaffold_judge] {entry['name']}", file=sys.stderr, flush=True)
        report = judge_entry(entry, args.per_module, args.max_tasks or None, args.as_base)
        reports.append(report)
        totals.update(report["verdicts"])
        print(f"{report['entry']}: {report['accepted']} accepted, {report['modules']} modules, "
              f"{report['verdicts']} ({report['seconds']} s)", flush=True)
        for failure in report["module_failures"]:
            print(f"  module {failure['module']} ({failure['tasks']} tasks) fails:\n    "
                  + failure["error"].replace("\n", "\n    "), flush=True)
        for failure in report["task_failures"]:
            if failure["verdict"] != "module-failed":
                print(f"  {failure['verdict']}: {failure['dag_id']}.{failure['task_id']}: {failure['why']}", flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    for report in reports:  # one file per entry, so that a run of some entries keeps the others'
        (OUT / f"report-{report['entry']}{'-as-base' if args.as_base else ''}.json").write_text(json.dumps({**report, "commit": commit}, indent=1),
                                                            encoding="utf-8")
    accepted = sum(r["accepted"] for r in reports)
    print(f"\noverall: {accepted:,} tasks accepted by the scaffold; {dict(totals)}")
    failed = accepted - totals["loaded"] - totals["waits-for-unmapped"]  # the sensors' refusals are right
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
