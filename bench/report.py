"""Every benchmark figure in one table, next to its target.

    python bench/report.py [--json] [--markdown] [--strict] [--poll run|saved|skip]
                           [--poll-file FILE] [--save FILE] [--from FILE]

Runs each benchmark as its own process with ``--json`` — bench/accuracy.py,
bench/scaffold_share.py and bench/scaffold_accepted.py (skipped when the corpus is not checked out), bench/speed.py,
bench/latency.py, then bench/poll.py and bench/dagster_poll.py — one after the other (never two at once: their timings
would disturb each other), collects their figures and prints one table: figure | value | target
| met?. A missed target says ``MISSED`` and by how much; a figure that could not be measured
says ``NOT MEASURED`` and why, below the table. Figures without a target are comparisons or
context. Ratios are taken within one run of one script (index vs floor vs DagBag in speed.py;
ours vs dagster-airlift in poll.py), so they hold better than absolute times on a busy machine.

Poll cost needs real Airflow servers and takes 10-25 minutes. ``--poll`` (default: the
``BENCH_POLL`` environment variable, else ``run``) chooses: ``run`` runs bench/poll.py and
saves its figures to ``--poll-file`` (default .cache/bench/poll.json); ``saved`` reads the
last figures saved there (by this script or by ``bench/poll.py --save``) and says when they
were written; ``skip`` leaves poll cost out. The Dagster side of a poll (bench/dagster_poll.py,
a real dagster-webserver, ~2 min) follows the same switch, saved in .cache/bench/dagster_poll.json.

Each script's output and the table's rows are saved to ``--save`` (default
bench/out/report.json); ``--from FILE`` prints the table of a saved report without measuring
(``--markdown`` for the README). Always exits 0 (it is a report), except with ``--strict``:
1 when a target is missed or a figure that has a target could not be measured.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tables import format_table, markdown_table

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
DEFAULT_POLL_FILE = REPO / ".cache" / "bench" / "poll.json"
DAGSTER_POLL_FILE = REPO / ".cache" / "bench" / "dagster_poll.json"
DEFAULT_SAVE = BENCH / "out" / "report.json"

# script -> (arguments, seconds before it is killed)
SCRIPTS = {
    "accuracy": ([], 1800.0),
    "scaffold_share": ([], 3600.0),  # runs the static model over the corpus, when it is checked out
    "scaffold_accepted": ([], 3600.0),  # asks each such task's scaffold, from the checkouts' facts caches
    "speed": ([], 2400.0),
    "dagster_module": ([], 1200.0),  # a Dagster module grown to 60 scaffolded assets, ~5 min
    "latency": ([], 1800.0),
    "poll": ([], 5400.0),  # poll.py's own --budget is 3600 s, then it stops its servers
    "dagster_poll": ([], 900.0),  # a dagster-webserver start (up to 3 min) and ~2 min of polls
}


# --- running the scripts ----------------------------------------------------------------------


def log(line: str) -> None:
    print(f"[report] {line}", file=sys.stderr, flush=True)


def run_script(name: str, extra: list[str] | None = None) -> dict:
    """``bench/NAME.py --json``: its JSON, or ``{"error": why}``. Its stderr goes to ours."""
    arguments, timeout = SCRIPTS[name]
    command = [sys.executable, str(BENCH / f"{name}.py"), "--json", *arguments, *(extra or [])]
    log(f"running bench/{name}.py {' '.join(command[2:])}")
    began = time.monotonic()
    process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
        return {"error": f"bench/{name}.py still running after {timeout:.0f} s: stopped"}
    except BaseException:
        os.killpg(process.pid, signal.SIGKILL)
        raise
    seconds = time.monotonic() - began
    log(f"bench/{name}.py done in {seconds:.0f} s (exit {process.returncode})")
    try:
        result = json.loads(out)
    except json.JSONDecodeError:
        tail = out.strip().splitlines()[-1:] or ["no output"]
        return {"error": f"bench/{name}.py printed no JSON (exit {process.returncode}): {tail[0]}"}
    if not isinstance(result, dict):
        return {"error": f"bench/{name}.py printed {type(result).__name__}, not an object"}
    result["_seconds"] = seconds
    return result


def poll_figures(mode: str, poll_file: Path, script: str = "poll") -> dict:
    if mode == "skip":
        return {"skipped": "left out (--poll skip / BENCH_POLL=skip)"}
    if mode == "run":
        result = run_script(script, ["--save", str(poll_file)])
        if "error" not in result:
            result["_source"] = f"measured in this run ({result.get('total_s', result['_seconds']):.0f} s)"
        return result
    if not poll_file.exists():
        return {"error": f"no saved poll figures at {rel(poll_file)}: run `bench/{script}.py --save "
                         f"{rel(poll_file)}` or `make bench` without BENCH_POLL=saved"}
    try:
        result = json.loads(poll_file.read_text())
    except json.JSONDecodeError as error:
        return {"error": f"{rel(poll_file)} is not JSON: {error}"}
    written = datetime.datetime.fromtimestamp(poll_file.stat().st_mtime, datetime.timezone.utc)
    total = result.get("total_s")
    took = "" if not isinstance(total, (int, float)) else (
        f", a {total:.0f}-second run" if total < 120 else f", a {total / 60:.0f}-minute run")
    result["_source"] = f"saved in {rel(poll_file)} at {written:%Y-%m-%d %H:%M} UTC{took}, not measured now"
    return result


def rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


# --- rows -------------------------------------------------------------------------------------


@dataclass
class Row:
    figure: str
    value: str = ""
    target: str = ""
    met: str = ""
    missed: bool = False
    """A target missed, or a figure with a target not measured."""


class Table:
    def __init__(self) -> None:
        self.rows: list[Row | str] = []
        self.notes: list[str] = []

    def section(self, title: str) -> None:
        self.rows.append(title)

    def add(self, figure: str, value: str = "", target: str = "", met: str = "", missed: bool = False) -> None:
        self.rows.append(Row(figure, value, target, met, missed))

    def not_measured(self, figure: str, why: str, target: str = "") -> None:
        self.rows.append(Row(figure, "NOT MEASURED", target, "NOT MEASURED" if target else "", bool(target)))
        self.notes.append(f"{figure}: not measured: {why}")

    def at_most(self, figure: str, value: float | None, target: float, show: Callable[[float], str],
                shown: str | None = None, target_text: str | None = None) -> None:
        """A figure that must stay <= target; ``shown`` replaces the value's text."""
        target_text = target_text or f"<= {show(target)}"
        if value is None:
            self.not_measured(figure, "no value", target_text)
            return
        text = shown if shown is not None else show(value)
        if value <= target:
            self.add(figure, text, target_text, "yes")
        else:
            self.add(figure, text, target_text, f"MISSED by {show(value - target)}", True)

    def at_least(self, figure: str, value: float | None, target: float, show: Callable[[float], str],
                 gap: Callable[[float], str]) -> None:
        target_text = f">= {show(target)}"
        if value is None:
            self.not_measured(figure, "no value", target_text)
            return
        if value >= target:
            self.add(figure, show(value), target_text, "yes")
        else:
            self.add(figure, show(value), target_text, f"MISSED by {gap(target - value)}", True)

    @property
    def missed(self) -> list[Row]:
        return [row for row in self.rows if isinstance(row, Row) and row.missed]

    @property
    def rated(self) -> list[Row]:
        """Rows judged against a target: met, missed or not measured."""
        return [row for row in self.rows if isinstance(row, Row) and (row.met == "yes" or row.missed)]


def ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def ms_pair(p50: float, p95: float) -> str:
    return f"{p50:.1f} / {p95:.1f} ms" if p95 < 100 else f"{p50:.0f} / {p95:.0f} ms"


def seconds(value: float) -> str:
    return f"{1000 * value:.0f} ms" if value < 1 else f"{value:.2f} s"


def pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def points(value: float) -> str:
    return f"{100 * value:.1f} points"


def times(value: float) -> str:
    return f"{value:.2f}x"


def mb(value: float) -> str:
    return f"{value:.0f} MB"


def plural(number: int, word: str) -> str:
    return f"{number:,} {word}{'' if number == 1 else 's'}"


def count(number: int | None) -> str:
    return "?" if number is None else f"{number:,}"


def requests(number: float) -> str:
    return plural(int(number), "request")


# --- sections ---------------------------------------------------------------------------------


def add_speed(table: Table, speed: dict) -> None:
    if "error" in speed:
        table.section("index speed")
        table.not_measured("bench/speed.py", speed["error"], "<= 3.0x")
        return
    index, dagbag, edit = speed.get("index", {}), speed.get("dagbag"), speed.get("edit", {})
    if "error" in index:
        table.section("index speed")
        table.not_measured("cold index / ast.parse floor", index["error"], "<= 3.0x")
    else:
        runs = len(index["server_s"])
        table.section(f"index speed: {index['files']:,} generated DAG files, {index['lines']:,} lines, "
                      f"fresh processes, best of {runs}")
        found = index["found"]
        table.add("floor: read + ast.parse every file", seconds(min(index["floor_s"])))
        table.add("`dags --json`", seconds(min(index["server_s"])))
        table.notes.append(f"`dags --json` found {found['dags']:,} DAGs, {found['tasks']:,} tasks, "
                           f"{found['edges']:,} edges in the generated corpus")
        table.at_most("`dags --json` / ast.parse floor", index["ratio"], index["target"], times,
                      target_text=f"<= {index['target']:.1f}x")
        if "warm_s" in index:
            table.add("`dags --json`, warm (facts cache present)", seconds(min(index["warm_s"])))
            if not index.get("warm_output_identical", True):
                table.add("warm output", "DIFFERS from the run without cache", "identical", "MISSED", True)
    if isinstance(dagbag, dict) and "error" not in dagbag:
        loaded = dagbag.get("loaded") or {}
        table.add(f"Airflow {dagbag.get('airflow_version')} DagBag, same files (best of {dagbag['runs']})",
                  seconds(min(dagbag["process_s"])), "comparison")
        if dagbag.get("ratio_to_ours"):
            table.add("DagBag / `dags --json`", ratio_text(dagbag["ratio_to_ours"]), "comparison")
        table.notes.append(f"DagBag loaded {count(loaded.get('dags'))} DAGs, {count(loaded.get('tasks'))} tasks "
                           f"from {count(loaded.get('files'))} files; Airflow's import took "
                           f"{loaded.get('import_s', 0):.1f} s of it, collecting {loaded.get('collect_s', 0):.1f} s")
        if dagbag.get("stopped"):
            table.notes.append(f"DagBag: {dagbag['stopped']}")
        if loaded.get("import_errors"):
            table.notes.append(f"DagBag: {loaded['import_errors']} import errors in the generated corpus")
    elif isinstance(dagbag, dict):
        table.not_measured("Airflow DagBag, same files", dagbag["error"])
    if "error" in edit:
        table.not_measured("edit to facts, 2,000-line DAG, p95", edit["error"], "<= 100 ms")
    else:
        table.at_most(f"edit to facts, {edit['lines']:,}-line DAG, p50 / p95 (in process)", edit["p95_ms"],
                      edit["target_ms"], ms, shown=ms_pair(edit["p50_ms"], edit["p95_ms"]),
                      target_text=f"p95 <= {edit['target_ms']:.0f} ms")


def add_accuracy(table: Table, accuracy: dict) -> None:
    if "error" in accuracy:
        table.section("accuracy vs Airflow DagBag")
        table.not_measured("bench/accuracy.py", accuracy["error"], "task precision 100 %")
        return
    counts = accuracy["counts"]
    table.section(f"accuracy vs Airflow {accuracy['airflow_version']} DagBag, example DAGs "
                  f"({counts['dags']['airflow']} DAGs, {counts['tasks']['airflow']} tasks, "
                  f"{counts['edges']['airflow']} edges; {len(accuracy['files_excluded'])} files left out)")
    figures, targets = accuracy["figures"], accuracy["targets"]
    for kind in ("dag", "task", "edge"):
        for measure in ("precision", "recall"):
            name = f"{kind}_{measure}"
            figure = f"{kind.upper() if kind == 'dag' else kind} {measure}"
            if name in targets:
                table.at_least(figure, figures[name], targets[name]["target"], pct, points)
            else:
                table.add(figure, "n/a" if figures[name] is None else pct(figures[name]))
    misses = sum(len(items) for items in accuracy.get("misses", {}).values())
    if misses:
        table.notes.append(f"accuracy: {misses} misses listed by `bench/accuracy.py`")


def add_scaffold_share(table: Table, result: dict) -> None:
    """Issue 16: corpus tasks with a scaffold or nothing to migrate (bench/scaffold_share.py)."""
    if "skipped" in result or "error" in result:
        table.section("corpus tasks with a scaffold or nothing to migrate")
        if "skipped" in result:
            table.add("tasks with a scaffold or nothing to migrate", "left out", ">= 90.0 %")
            table.notes.append(f"scaffold share: {result['skipped']}")
        else:
            table.not_measured("bench/scaffold_share.py", result["error"], ">= 90.0 %")
        return
    table.section(f"corpus tasks with a scaffold or nothing to migrate ({len(result['entries'])} entries, "
                  f"{result['tasks']:,} tasks as `dags --json` reads them)")
    table.at_least("tasks with a scaffold or nothing to migrate", result["share"], result["target"], pct, points)
    if result.get("median_entry_share") is not None:
        table.add("the same, median over entries", pct(result["median_entry_share"]))
    if result.get("share_of_airflow_operators") is not None:
        table.add("the same, over tasks of Airflow's and providers' operators", pct(result["share_of_airflow_operators"]))
        table.notes.append(f"scaffold share: {result['project_operator_tasks']:,} tasks run the projects' own "
                           "operator classes, which no scaffold can know until the project ports them once "
                           "(AIRFLOW_OPERATOR_PORTS)")
    ports = [r["ports_to_target"] for r in result["entries"] if "ports_to_target" in r]
    if ports:
        table.add("operator classes to port once for every entry to reach the target by operator",
                  f"{sum(ports)} (median {sorted(ports)[len(ports) // 2]} per entry, at most {max(ports)})")
    for family, figures in result["families"].items():
        table.add(f"family: {family}", f"{figures['tasks']:,} tasks, {pct(figures['share'])}")
    top = result.get("top_without_scaffold", [])[:5]
    if top:
        table.notes.append("most tasks without a scaffold: " + ", ".join(
            f"{t['operator']} {t['tasks']:,}" for t in top) + " (bench/scaffold_share.py lists more)")
    for name, error in result.get("errors", {}).items():
        table.notes.append(f"scaffold share: {name} not measured: {error}")
    if result.get("missing"):
        table.notes.append(f"scaffold share: not checked out, left out: {', '.join(result['missing'])}")


def add_scaffold_accepted(table: Table, result: dict) -> None:
    """Issue 16: of the tasks with a scaffold, those it writes (bench/scaffold_accepted.py)."""
    if "skipped" in result or "error" in result:
        table.notes.append(f"scaffold accepted: {result.get('skipped') or result.get('error')}")
        return
    share = result["written"] / result["tasks"] if result["tasks"] else None
    table.add(f"tasks with a scaffold that it writes ({result['tasks']:,} asked)",
              "n/a" if share is None else f"{pct(share)} ({result['written']:,})")
    top = result.get("top_refusals", [])[:3]
    if top:
        table.notes.append("scaffolds refuse most for: " + "; ".join(
            f"{t['reason'][:90]} ({t['tasks']:,})" for t in top) + " (bench/scaffold_accepted.py lists more)")


def add_dagster_module(table: Table, result: dict) -> None:
    """A growing Dagster module: its read and the edits' cost (bench/dagster_module.py)."""
    table.section("A growing Dagster module (scaffolded PythonOperator tasks; best of 2)")
    if "error" in result:
        table.not_measured("bench/dagster_module.py", result["error"], "read <= 0.5 s")
        return
    rows = result["rows"]
    measures = (("read_s", "read", "read of the module"), ("read_whole_s", None,
                "read of the whole text (bodies not set aside)"), ("map_s", "map", "map one more task"),
                ("scaffold_s", "scaffold", "scaffold one more task"),
                ("deps_s", "deps", "bring a spec's deps in step with the DAG"),
                ("decommission_s", "decommission", "decommission the DAG (mappings out, a job in)"))
    for row in rows:
        size = f"{row['assets']} assets, {row['lines']:,} lines"
        for key, target, label in measures:
            if key not in row:  # figures saved before the measure was added
                continue
            if row is rows[-1] and target is not None:
                table.at_most(f"{label}, {size}", row[key], result[f"{target}_target_s"], seconds)
            else:
                table.add(f"{label}, {size}", seconds(row[key]))
    if "hook_s" in result:
        label = f"add the proxying hook to the DAG file ({result['hook_lines']:,} lines of callables and tasks)"
        table.at_most(label, result["hook_s"], result["hook_target_s"], seconds)
    if "peer_s" in result:
        label = f"peer a team's existing Dagster module with Airflow ({result['peer_lines']:,} lines of assets)"
        table.at_most(label, result["peer_s"], result["peer_target_s"], seconds)


def add_latency(table: Table, latency: dict) -> None:
    table.section("LSP latency over stdio (real client, wire time p50 / p95; VS Code capabilities)")
    if "error" in latency:
        table.not_measured("bench/latency.py", latency["error"], "p95 <= 10 ms")
        return
    targets = latency.get("targets", {})
    p95_targets = targets.get("p95_ms", {})
    files = latency.get("files", {})
    label = {size: f"{info['lines']:,} lines" for size, info in files.items()}
    warm = latency.get("warm", {})
    if "error" in warm:
        table.not_measured("warm server session", warm["error"], "p95 <= 10 ms")
    else:
        for method, name in (("hover", "hover on a task id"), ("codeLens", "codeLens"),
                             ("codeAction", "codeAction listing"),
                             ("resolveMapTask", "codeAction resolve: map a task"),
                             ("resolveMapDag", "codeAction resolve: map a whole DAG"),
                             ("documentSymbol", "documentSymbol")):
            target = p95_targets.get(method)
            for size in files:
                figure = f"{name}, {label[size]}"
                target_text = f"p95 <= {target:.0f} ms" if target else ""
                if method in ("codeAction", "resolveMapTask", "resolveMapDag") and not warm.get("code_actions"):
                    table.not_measured(figure, "the server lists no code actions", target_text)
                    continue
                run = warm.get("requests", {}).get(size, {}).get(method)
                if run is None or "error" in run:
                    table.not_measured(figure, (run or {}).get("error", "not in the output"), target_text)
                    continue
                if target:
                    table.at_most(figure, run["p95_ms"], target, ms, shown=ms_pair(run["p50_ms"], run["p95_ms"]),
                                  target_text=target_text)
                else:
                    table.add(figure, ms_pair(run["p50_ms"], run["p95_ms"]))
                if run.get("problem"):
                    table.notes.append(f"{figure}: {run['problem']}")
        for size in files:
            figure = f"didChange -> diagnostics, {label[size]}"
            target = targets.get("did_change_p95_ms", {}).get(size)
            target_text = f"p95 <= {target:.0f} ms" if target else ""
            run = warm.get("did_change", {}).get(size)
            if run is None:
                table.not_measured(figure, "not in the output", target_text)
                continue
            table.at_most(figure, run["p95_ms"], target, ms, shown=ms_pair(run["p50_ms"], run["p95_ms"]),
                          target_text=target_text)
            if run.get("problem"):
                table.notes.append(f"{figure}: {run['problem']}")
        for run in warm.get("load", []):
            how = "1 per ms" if run.get("pace_ms") else "back to back"
            figure = f"hover during {run['burst']:,} didChange ({how}), {label.get('large', '')}"
            # No target (as in latency.py): a report; a hover left unanswered says STUCK.
            if run.get("n"):
                table.add(figure, ms_pair(run["p50_ms"], run["p95_ms"]), "report",
                          "" if run.get("responsive") else "STUCK")
            else:
                table.add(figure, "no answer", "report", "STUCK")
            if run.get("problem"):
                table.notes.append(f"{figure}: {run['problem']}")
    cold = latency.get("cold", {})
    target = targets.get("cold_start_s", 2.0)
    if "error" in cold:
        table.not_measured("initialize -> first diagnostics, tutorial", cold["error"], f"<= {target:.0f} s")
    else:
        table.at_most(f"initialize -> first diagnostics, tutorial, cold (median of {len(cold['runs_s'])})",
                      cold["median_s"], target, seconds, target_text=f"<= {target:.0f} s")


def add_memory(table: Table, speed: dict, latency: dict) -> None:
    memory = speed.get("memory") if "error" not in speed else None
    index = speed.get("index", {})
    files = f"{index['files']:,} files" if "files" in index else "the generated corpus"
    table.section(f"memory: peak RSS over {files}, the process and its workers (largest of its runs)")
    if not isinstance(memory, dict):
        table.not_measured("peak RSS", speed.get("error", "bench/speed.py gave no memory figures"), "<= 250 MB")
        return
    for name, figure in (("dags", "`dags --json`, cold"), ("dags_warm", "`dags --json`, warm"), ("check", "`check`")):
        entry = memory.get(name)
        if name == "dags_warm" and entry is None:
            continue
        if not isinstance(entry, dict):
            table.not_measured(figure, str(entry), "<= 250 MB")
            continue
        rss_row(table, figure, entry)
    dagbag = speed.get("dagbag")
    if isinstance(dagbag, dict) and "peak_rss_mb" in dagbag:
        table.add("Airflow DagBag, same files", mb(dagbag["peak_rss_mb"]), "comparison")
    warm = latency.get("warm", {}) if "error" not in latency else {}
    if warm.get("rss_start_mb") and warm.get("rss_end_mb"):
        table.add("language server RSS (latency session): indexed / at end",
                  f"{warm['rss_start_mb']:.0f} / {warm['rss_end_mb']:.0f} MB")


def rss_row(table: Table, figure: str, entry: dict) -> None:
    """All processes together and the largest one (sampled from /proc) where measured, else
    ``ru_maxrss``."""
    tree = entry.get("tree_rss_mb")
    if tree is None:
        table.at_most(figure, entry["peak_rss_mb"], entry["target_mb"], mb)
        return
    largest = entry.get("largest_rss_mb")
    table.at_most(figure, tree, entry["target_mb"], mb,
                  shown=f"{tree:.0f} MB" + (f" (largest process {largest:.0f} MB)" if largest else ""))


def add_scale(table: Table, speed: dict) -> None:
    """Issue 13: 10,000 DAG files, cold and warm, the CLI and the server."""
    scale = speed.get("scale")
    if scale is None or "error" in speed:
        return
    files = f"{scale.get('files', 0):,}"
    if "error" in scale:
        table.section(f"{files} DAG files")
        table.not_measured(f"{files} files", scale["error"], "<= 1.5x")
        return
    index, server, memory = scale.get("index", {}), scale.get("server", {}), scale.get("memory", {})
    if "error" in index:
        table.section(f"{files} DAG files: `dags --json`")
        table.not_measured("cold `dags --json` / ast.parse floor", index["error"], "<= 1.5x")
    else:
        runs = len(index["server_s"])
        table.section(f"{files} generated DAG files ({index['lines']:,} lines), {scale.get('cpus') or '?'} CPUs, "
                      f"fresh processes, best of {runs}")
        table.add("floor: read + ast.parse every file, one core", seconds(min(index["floor_s"])))
        table.add("`dags --json`, cold (empty facts cache, worker processes)", seconds(min(index["server_s"])))
        table.at_most("cold `dags --json` / ast.parse floor", index["ratio"], index["target"], times,
                      target_text=f"<= {index['target']:.1f}x")
        table.at_most("`dags --json`, warm (cache present, nothing changed)", min(index["warm_s"]),
                      index["warm_target_s"], seconds)
        if not index.get("warm_output_identical", True):
            table.add("warm output", "DIFFERS from the run without cache", "identical", "MISSED", True)
    for name, figure in (("dags", "peak RSS, `dags --json` cold, all processes"),
                         ("dags_warm", "peak RSS, `dags --json` warm, all processes")):
        if isinstance(memory.get(name), dict):
            rss_row(table, figure, memory[name])
    if "error" in server:
        table.not_measured("server initialize -> first diagnostics, warm", server["error"], "<= 5 s")
    elif server:
        table.add("server initialize -> first diagnostics, cold", seconds(server["cold"]["first_diagnostics_s"]))
        table.at_most(f"server initialize -> first diagnostics, warm (median of {len(server['warm'])})",
                      server["warm_median_s"], server["target_s"], seconds)
        table.at_most("peak RSS, server and its workers (cold and warm starts)", server["tree_rss_mb"],
                      server["rss_target_mb"], mb)
        indexed = [run.get("rss_indexed_mb") for run in (server["cold"], *server["warm"]) if run.get("rss_indexed_mb")]
        if indexed:
            table.add("server RSS once indexed", f"{min(indexed):.0f} - {max(indexed):.0f} MB")


def add_poll(table: Table, poll: dict) -> None:
    source = poll.get("_source")
    table.section("poll cost against real Airflows, ours vs dagster-airlift" + (f" ({source})" if source else ""))
    if "skipped" in poll:
        table.add("poll cost", "left out", "<= 3 requests", "")
        table.notes.append(f"poll cost: {poll['skipped']}")
        return
    if "error" in poll:
        table.not_measured("poll cost", poll["error"], "<= 3 requests")
        return
    target = poll.get("target_requests", 3)
    table.notes.append(f"poll cost: requests are the most any of {poll.get('repeats', '?')} polls made, wall "
                       f"times their median; first = from an empty history, later = nothing changed")
    for result in poll.get("results", []):
        airflow = result.get("airflow", "Airflow")
        if "error" in result:
            table.not_measured(f"{airflow}: poll", result["error"], f"<= {target}")
            continue
        for size, entry in result.get("sizes", {}).items():
            ours = entry.get("ours") or {}
            version = ours.get("airflow_version")
            name = f"Airflow {version}" if version else airflow
            where = f"{name}, {plural(entry.get('dags', int(size)), 'DAG')}"
            if "fallback" in entry:
                where += "*"
                table.notes.append(f"{where}: {entry['parsed']} of {size} DAGs parsed within poll.py's limit "
                                   f"({entry['parse_s']:.0f} s): measured with {entry['fallback']}")
            if not ours:
                table.not_measured(f"{where}: requests per poll", entry.get("error", "no figures"), f"<= {target}")
                continue
            cold, warm = ours["cold"], ours["warm"]
            worst = max(cold["max_requests"], warm["max_requests"])
            table.at_most(f"{where}: requests per poll, first / later", worst, target, requests,
                          shown=f"{cold['max_requests']} / {warm['max_requests']}", target_text=f"<= {target}")
            table.add(f"{where}: poll wall, first / later",
                      f"{seconds(cold['median_s'])} / {seconds(warm['median_s'])}")
            theirs = entry.get("dagster")
            if "error" in entry:  # ours was measured; what came after it was not
                figure = f"{where}: dagster-airlift" if "dagster" in entry["error"] else f"{where}: the rest"
                table.not_measured(figure, entry["error"])
            if not theirs:
                continue
            tick, idle, definitions = theirs["tick"], theirs["idle_tick"], theirs["definitions"]
            table.add(f"{where}: dagster-airlift requests, load / tick / idle",
                      f"{definitions['requests']} / {max(tick['requests'])} / {max(idle['requests'])}", "comparison")
            ratio = tick["median_s"] / cold["median_s"]
            table.add(f"{where}: dagster-airlift tick wall / our first poll",
                      f"{seconds(tick['median_s'])} / {seconds(cold['median_s'])} = {ratio_text(ratio)}",
                      "comparison")
    if any(entry.get("dagster") for result in poll.get("results", []) for entry in result.get("sizes", {}).values()):
        table.notes.append("dagster-airlift (Airflow 2 only): load = its code location's definitions load, tick = "
                           "one airflow_dag_status_sensor tick over every run, idle = the tick after it")


def add_dagster_poll(table: Table, poll: dict) -> None:
    source = poll.get("_source")
    table.section("the Dagster side of a poll, real dagster-webserver" + (f" ({source})" if source else ""))
    target = poll.get("target_requests", 2)
    if "skipped" in poll:
        table.add("Dagster poll cost", "left out", f"<= {target} requests", "")
        return
    if "error" in poll:
        table.not_measured("Dagster requests per poll", poll["error"], f"<= {target}")
        return
    for row in poll.get("rows", []):
        where = f"Dagster, {plural(row['dags'], 'DAG')}"
        worst = max(row["cold_requests"], row["warm_requests"])
        table.at_most(f"{where}: requests per poll, first / later", worst, target, requests,
                      shown=f"{row['cold_requests']} / {row['warm_requests']}", target_text=f"<= {target}")
        table.add(f"{where}: poll wall, slowest first / later",
                  f"{seconds(row['cold_s'])} / {seconds(row['warm_s'])}")
    table.notes.append(f"Dagster poll: requests are the most any poll made over {poll.get('repeats', '?')} repeats; "
                       "first = until every DAG's last Airflow run was asked about (at most 40 a poll), later = the "
                       "assets' materializations only; 9 mapped assets per DAG")


def ratio_text(value: float) -> str:
    return f"{value:.1f}x" if value < 10 else f"{value:.0f}x"


def build_table(figures: dict) -> Table:
    table = Table()
    speed, latency = figures.get("speed", {}), figures.get("latency", {})
    add_speed(table, speed)
    add_scale(table, speed)
    add_accuracy(table, figures.get("accuracy", {}))
    if "scaffold_share" in figures:
        add_scaffold_share(table, figures["scaffold_share"])
    if "scaffold_accepted" in figures:
        add_scaffold_accepted(table, figures["scaffold_accepted"])
    add_latency(table, latency)
    if "dagster_module" in figures:
        add_dagster_module(table, figures["dagster_module"])
    add_memory(table, speed, latency)
    if "poll" in figures:
        add_poll(table, figures["poll"])
    if "dagster_poll" in figures:
        add_dagster_poll(table, figures["dagster_poll"])
    return table


# --- output -----------------------------------------------------------------------------------

HEADER = ["figure", "value", "target", "met?"]


def render(table: Table, markdown: bool) -> str:
    rows: list[list[str]] = []
    for row in table.rows:
        if isinstance(row, str):
            if markdown:
                rows.append([f"**{row}**", "", "", ""])
            else:
                if rows:
                    rows.append(["", "", "", ""])
                rows.append([f"== {row}", "", "", ""])
        else:
            met = f"**{row.met}**" if markdown and row.missed else row.met
            rows.append([row.figure, row.value, row.target, met])
    if markdown:
        return markdown_table(HEADER, rows)
    # Section titles are long: let them overflow instead of widening the figure column.
    titles = {i for i, row in enumerate(rows) if row[0].startswith("== ")}
    body = [["" if i in titles else cell for cell in row[:1]] + row[1:] for i, row in enumerate(rows)]
    lines = format_table(HEADER, body, align="lrrl").split("\n")
    out = lines[:2]
    for i, line in enumerate(lines[2:]):
        out.append(rows[i][0] if i in titles else line)
    return "\n".join(out)


def summary(table: Table) -> list[str]:
    missed = table.missed
    rated = table.rated
    lines = [f"{len(rated) - len(missed)} of {len(rated)} figures with a target met."]
    for row in missed:
        gap = row.met.removeprefix("MISSED ") if row.met.startswith("MISSED") else "not measured"
        lines.append(f"MISSED  {row.figure}: {row.value}, target {row.target}: {gap}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the collected figures and rows as JSON")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when a target is missed or a figure with a target was not measured")
    parser.add_argument("--poll", choices=("run", "saved", "skip"),
                        default=os.environ.get("BENCH_POLL") or "run",
                        help="poll cost: run bench/poll.py (10-25 min), read the saved figures, or leave "
                             "them out (default: $BENCH_POLL, else run)")
    parser.add_argument("--poll-file", type=Path, default=DEFAULT_POLL_FILE,
                        help=f"where poll figures are saved and read (default {rel(DEFAULT_POLL_FILE)})")
    parser.add_argument("--save", type=Path, default=DEFAULT_SAVE,
                        help=f"write everything collected here (default {rel(DEFAULT_SAVE)})")
    parser.add_argument("--from", dest="source", type=Path, help="print the table of a saved report, measure nothing")
    args = parser.parse_args()
    if args.poll not in ("run", "saved", "skip"):
        parser.error(f"BENCH_POLL must be run, saved or skip, not {args.poll!r}")

    figures: dict[str, Any]
    if args.source:
        figures = json.loads(args.source.read_text())["figures"]
    else:
        began = time.monotonic()
        figures = {"started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                   "python": sys.version.split()[0], "cpus": os.cpu_count()}
        for name in ("accuracy", "scaffold_share", "scaffold_accepted", "speed", "latency", "dagster_module"):
            figures[name] = run_script(name)
        figures["poll"] = poll_figures(args.poll, args.poll_file)
        figures["dagster_poll"] = poll_figures(args.poll, args.poll_file.with_name(DAGSTER_POLL_FILE.name), "dagster_poll")
        figures["total_s"] = time.monotonic() - began

    table = build_table(figures)
    if not args.source and args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        args.save.write_text(json.dumps({"figures": figures, "rows": [
            row.__dict__ if isinstance(row, Row) else {"section": row} for row in table.rows]},
            indent=1, default=str) + "\n")
    if args.json:
        print(json.dumps({"rows": [row.__dict__ if isinstance(row, Row) else {"section": row}
                                   for row in table.rows],
                          "notes": table.notes, "summary": summary(table)}, indent=2))
    else:
        started = figures.get("started", "?")
        took = f", {figures['total_s'] / 60:.0f} min" if isinstance(figures.get("total_s"), (int, float)) else ""
        print(f"airlift-lsp benchmarks, run started {started}{took}; Python "
              f"{figures.get('python', sys.version.split()[0])}, {figures.get('cpus', os.cpu_count())} CPUs")
        print()
        print(render(table, args.markdown))
        if table.notes:
            print()
            for note in table.notes:
                print(f"- {note}")
        print()
        for line in summary(table):
            print(line)
    return 1 if args.strict and table.missed else 0


if __name__ == "__main__":
    sys.exit(main())
