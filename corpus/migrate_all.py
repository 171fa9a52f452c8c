"""Never break a DAG (issue 12), over the corpus: migrate real projects with the CLI, the way a
user would, and let the real Airflow 2.11 + dagster-airlift judge every edit.

    .venv/bin/python corpus/migrate_all.py [--strict] [--max-dags N] [--jobs J] [--tool head|tree] [NAME...]

For every manifest entry whose truth is on Airflow 2 (dagster-airlift's in-Airflow side runs on
Airflow 2.11 here), under .cache/corpus/migrate/<name>/ (the materialized source in
.cache/corpus/src/<name>/ is never modified):

* ``pristine/``: a copy of the source with a ``[tool.airlift-lsp]`` table (``dagFolders`` = the
  entry's dag_folders, ``importRoots`` = its sys_path, ``environment`` = its env) merged into
  the project's own ``pyproject.toml`` (appended as a new table, the rest of the file untouched;
  checked with tomllib) or written as a new one;
* ``ws/``: the workspace the CLI runs in (cwd), a copy of ``pristine/``, always at the same path
  so that the facts cache (``facts/``, ``AIRLIFT_LSP_CACHE_DIR``) stays warm between phases and
  runs; every invocation's diff comes from a git index kept outside the workspace (``git/``).

The DAGs: ``airlift-lsp dags <dag folders> --json``; every DAG with a certain id (not
``dynamic``), one per id, sampled when there are more than ``--max-dags`` (default 30: the whole
run stays under an hour on 2 cores). The sample is stratified: DAGs are grouped by what makes
them a different case for the edits (a finding of ``check`` on the file, several DAGs in one file,
TaskGroups, conditional or dynamic tasks, no or one task), the rarest groups first, round robin,
one DAG per file first within a group, in a fixed pseudo-random order (``--seed`` for another
sample of the same size). Then,
each step one invocation per DAG, for all sampled DAGs before the next step:

  task-level phase (ws = pristine)
    map          ``map DAG_ID``                      (the whole DAG)
    proxy_task   ``proxy DAG_ID TASK``               (TASK: the first task in the model's order that
                                                     ``status --json`` shows mapped; else the first
                                                     certain task, to see the refusal)
    proxy_dag    ``proxy DAG_ID``                    (every task)
    rollback     ``rollback DAG_ID``
  DAG-level phase (ws reset to pristine: a separate copy, so that DAG-level proxying starts
  from an unmigrated project as a user who chooses it would)
    map_dag_level    ``map DAG_ID --dag-level``
    proxy_dag_level  ``proxy DAG_ID --dag-level``
    rollback_all     ``rollback --all``              (one invocation)

Each invocation records exit code, stderr (refusal reasons, notes), stdout, the files it changed
and its unified diff, and a verdict: ``ok``, ``refused`` (non-zero exit, one readable line
``airlift-lsp: <why>``), ``crash`` (internal error, traceback, timeout, signal), ``unreadable``
(non-zero exit without a readable reason), ``wrote-on-refusal`` (non-zero exit, files changed).

Judgements, after the untouched workspace (``base``) and after each step that writes (map,
proxy_task, proxy_dag, rollback, proxy_dag_level, rollback_all), with Airflow 2.11 +
dagster-airlift (``corpus/migrate_judge.py``: the DagBag run of corpus/dagbag_truth.py, same
stubs, same sandbox, all DAG folders at once), and ``airlift-lsp check --json``:

* NEW import errors: files DagBag fails to import that the base loaded (and ``lost DAGs``: a DAG
  the base loaded that is gone without an import error);
* NEW serialization errors: DAGs whose scheduler round trip fails that the base serialized;
* false proxies: for every ``proxied_state/<dag_id>.yaml`` in the workspace, a task marked
  ``proxied: true`` whose operator in DagBag is not dagster-airlift's
  ``DefaultProxyTaskToDagsterOperator`` (DAG level: ``proxied: true`` and the DAG is not one
  ``DefaultProxyDAGToDagsterOperator``); unexpected proxies (a proxy operator the state does not
  ask for) are reported too;
* XCom breaks: a task Airflow still runs that is given the output of a task the state proxies
  (the XComArgs DagBag finds in its templated fields, ``xcom_from`` of the truth record): the
  proxy operator pushes no XCom, so at run time it would get None; gate breaks: a task the state
  proxies one by one that can skip the tasks after it in the untouched DagBag (its class:
  ``SkipMixin``, branches and short-circuits; or skipping itself: ``AirflowSkipException`` in its
  callable's or project class's bytecode, a sensor's ``soft_fail``: tests/support/dagbag_dump.py's
  ``skips``): the proxy operator skips nothing, so Airflow would run every task after it;
* false errors: ``check`` findings of severity error on a DAG file DagBag loads cleanly (imported,
  every DAG serialized), or on the state file of a DAG in such a file; errors on other files
  (the Dagster module) are listed apart;
* missed refusals: a file with a NEW import error (or a DAG of it with a NEW serialization error)
  that no error finding names (on the file or on the state file of one of its DAGs).

Output: .cache/corpus/migrate.json (every invocation, every judgement, with the invocations that
touched what broke) and a table per entry. Exits 0 (a report); ``--strict`` exits 1 when any of
NEW import errors (+ lost DAGs), NEW serialization errors, false proxies, XCom or gate breaks, false errors is non-zero.

``--tool head`` (default) runs the CLI from a snapshot of the repository's committed HEAD
(``git archive``; other engineers' uncommitted edits neither change the figures mid-run nor
invalidate the facts cache); ``--tool tree`` runs ``.venv/bin/airlift-lsp`` (the working tree).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

import yaml

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "corpus" / "manifest.json"
SRC = ROOT / ".cache" / "corpus" / "src"
WORK = ROOT / ".cache" / "corpus" / "migrate"
OUT = ROOT / ".cache" / "corpus" / "migrate.json"
JUDGE = ROOT / "corpus" / "migrate_judge.py"
TRUTH_HOME = ROOT / ".cache" / "corpus" / "airflow-home-af2"
AIRFLOW2 = os.environ.get("AIRFLOW2_PYTHON") or str(ROOT / ".cache" / "airflow2" / "bin" / "python")
PROXY_TASK = "DefaultProxyTaskToDagsterOperator"
PROXY_DAG = "DefaultProxyDAGToDagsterOperator"
CLI_TIMEOUT = int(os.environ.get("MIGRATE_CLI_TIMEOUT", "600"))
JUDGE_TIMEOUT = int(os.environ.get("MIGRATE_JUDGE_TIMEOUT", "1500"))
DIFF_LIMIT = 20_000
WRITING_STEPS = ("map", "proxy_task", "proxy_dag", "rollback", "proxy_dag_level", "rollback_all")
_LAUNCH = "import sys; sys.path.insert(0, sys.argv.pop(1)); from server.cli import main; sys.exit(main(sys.argv[1:]))"
_PRINT = threading.Lock()


def log(*parts) -> None:
    with _PRINT:
        print(*parts, flush=True)


# --------------------------------------------------------------------------- the tool
def tool_command(kind: str) -> tuple[list[str], dict]:
    """The CLI to run and what it is (commit of the snapshot, or the working tree)."""
    python = ROOT / ".venv" / "bin" / "python"
    if kind == "tree":
        return [str(ROOT / ".venv" / "bin" / "airlift-lsp")], {"kind": "working tree"}
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    folder = WORK / "tool" / commit
    if not (folder / "server" / "__init__.py").is_file():
        tmp = folder.with_name(commit + ".part")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", commit, "analysis", "server"], cwd=ROOT,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
    subject = subprocess.run(["git", "log", "-1", "--format=%s", commit], cwd=ROOT, capture_output=True,
                             text=True).stdout.strip()
    return [str(python), "-c", _LAUNCH, str(folder)], {"kind": "HEAD snapshot", "commit": commit,
                                                        "subject": subject[:120]}


# --------------------------------------------------------------------------- workspace
def write_settings(folder: Path, entry: dict) -> str:
    """Merge the ``[tool.airlift-lsp]`` table into the copy's pyproject.toml; say what was done."""
    lines = ["[tool.airlift-lsp]",
             "dagFolders = " + json.dumps(entry["dag_folders"]),
             "importRoots = " + json.dumps(entry.get("sys_path", []))]
    if entry.get("env"):  # the deployment's variables, as the DagBag judge sets them ({root}: the workspace)
        lines.append("environment = { " + ", ".join(
            f"{json.dumps(name)} = {json.dumps(str(value).replace('{root}', '${workspaceFolder}'))}"
            for name, value in entry["env"].items()) + " }")
    table = "\n".join(lines) + "\n"
    path = folder / "pyproject.toml"
    if not path.exists():
        path.write_text(table)
        return "pyproject.toml written"
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        path.write_text(table)  # the copy's only: the project's own file is not valid TOML
        return f"project pyproject.toml is not valid TOML ({error}); replaced in the copy"
    if "airlift-lsp" in before.get("tool", {}):
        return "project pyproject.toml already has [tool.airlift-lsp]; left as is"
    merged = text + ("" if text.endswith("\n") else "\n") + "\n" + table
    after = tomllib.loads(merged)
    tool = after.get("tool", {})
    del tool["airlift-lsp"]
    assert after == before, "merging the table changed the project's own settings"
    path.write_text(merged, encoding="utf-8", errors="surrogateescape")
    return "[tool.airlift-lsp] appended to the project's pyproject.toml"


class Workspace:
    """The copy the CLI runs in, its git index (outside it) and the facts cache."""

    def __init__(self, entry: dict, tool: list[str], jobs: int):
        self.entry = entry
        self.name = entry["name"]
        self.base = WORK / self.name
        self.pristine = self.base / "pristine"
        self.ws = self.base / "ws"
        self.git_dir = self.base / "git"
        self.judgements = self.base / "judge"
        self.facts = self.base / "facts"
        self.tool = tool
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRLIFT_"))}
        self.env.update({"AIRLIFT_LSP_CACHE_DIR": str(self.facts), "PYTHONDONTWRITEBYTECODE": "1"})
        if jobs > 1:
            self.env["AIRLIFT_LSP_JOBS"] = "1"  # entries run side by side: one core each

    def prepare(self) -> str:
        for folder in (self.pristine, self.ws, self.git_dir, self.judgements):
            shutil.rmtree(folder, ignore_errors=True)
        self.base.mkdir(parents=True, exist_ok=True)
        self.facts.mkdir(exist_ok=True)
        self.judgements.mkdir()
        shutil.copytree(SRC / self.name, self.pristine, symlinks=True,
                        ignore=shutil.ignore_patterns(".git"))
        note = write_settings(self.pristine, self.entry)
        self.reset()
        return note

    def reset(self) -> None:
        shutil.rmtree(self.ws, ignore_errors=True)
        shutil.copytree(self.pristine, self.ws, symlinks=True)
        if not self.git_dir.exists():
            self.git("init", "-q")
            self.git("config", "user.email", "corpus@localhost")
            self.git("config", "user.name", "corpus")
            self.git("config", "core.autocrlf", "false")
            self.git("config", "core.quotepath", "off")
        self.snapshot("reset to pristine")

    def git(self, *args: str, text: bool = True) -> str:
        proc = subprocess.run(["git", f"--git-dir={self.git_dir}", f"--work-tree={self.ws}",
                               "-c", "core.excludesFile=/dev/null", *args],
                              cwd=self.ws, capture_output=True, text=text, check=True,
                              **({"errors": "replace"} if text else {}))
        return proc.stdout

    def snapshot(self, message: str) -> tuple[list[list[str]], str]:
        """Stage everything (ignored files too), return (changes, diff) and commit."""
        self.git("add", "-A", "-f", ".")
        status = self.git("diff", "--cached", "--name-status", "--no-renames", "-z") if \
            self._has_head() else ""
        parts = [p for p in status.split("\0") if p]
        changes = [[parts[i], parts[i + 1]] for i in range(0, len(parts) - 1, 2)]
        diff = ""
        if changes:
            diff = self.git("diff", "--cached", "--no-renames", "--no-color")
            if len(diff) > DIFF_LIMIT:
                diff = diff[:DIFF_LIMIT] + f"\n... ({len(diff) - DIFF_LIMIT} more characters)\n"
        if changes or not self._has_head():
            self.git("commit", "-q", "--no-verify", "-m", message)
        return changes, diff

    def _has_head(self) -> bool:
        return subprocess.run(["git", f"--git-dir={self.git_dir}", "rev-parse", "-q", "--verify", "HEAD"],
                              capture_output=True).returncode == 0

    def cli(self, *args: str, timeout: int = CLI_TIMEOUT) -> dict:
        started = time.monotonic()
        try:
            proc = subprocess.run([*self.tool, *args], cwd=self.ws, env=self.env, capture_output=True,
                                  text=True, errors="replace", timeout=timeout)
            rc, out, err = proc.returncode, proc.stdout, proc.stderr
        except subprocess.TimeoutExpired as error:
            rc, out, err = None, _text(error.stdout), _text(error.stderr) + f"\n(timed out after {timeout}s)"
        return {"argv": ["airlift-lsp", *args], "rc": rc, "stdout": out, "stderr": err,
                "seconds": round(time.monotonic() - started, 2)}


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


# --------------------------------------------------------------------------- invocations
def normalize_reason(line: str) -> str:
    line = re.sub(r"^airlift-lsp:\s*", "", line.strip())
    line = re.sub(r"`[^`]*`", "`…`", line)
    line = re.sub(r"'[^']*'", "'…'", line)
    line = re.sub(r'"[^"]*"', '"…"', line)
    line = re.sub(r"\b\d+\b", "N", line)
    line = re.sub(r"(`…`(, )?)+", "`…`", line)
    line = re.sub(r": [^:]*$", lambda m: m.group(0) if len(m.group(0)) < 120 else ": …", line)
    return line[:240]


def verdict(run: dict, changed: list) -> tuple[str, str | None, list[str]]:
    """(verdict, normalized reason, notes) of one invocation."""
    err_lines = [line for line in run["stderr"].splitlines() if line.strip()]
    tool_lines = [line for line in err_lines if line.startswith("airlift-lsp:")]
    notes = [line for line in tool_lines]
    if run["rc"] is None:
        return "crash", "timeout", notes
    if run["rc"] == 3 or "internal error" in run["stderr"] or "Traceback (most recent call last)" in run["stderr"]:
        last = (tool_lines or err_lines or ["?"])[-1]
        return "crash", normalize_reason(last), notes
    if run["rc"] < 0:
        return "crash", f"killed by signal {-run['rc']}", notes
    if run["rc"] == 0:
        return "ok", None, notes
    if changed:
        return "wrote-on-refusal", normalize_reason((tool_lines or ["?"])[-1]), notes
    if not tool_lines or len(err_lines) > 6 or len(tool_lines[-1]) < len("airlift-lsp: ") + 8:
        return "unreadable", normalize_reason((err_lines or ["(no message)"])[-1]), notes
    return "refused", normalize_reason(tool_lines[-1]), notes[:-1]


def invoke(ws: Workspace, step: str, dag_id: str | None, *args: str) -> dict:
    run = ws.cli(*args)
    changes, diff = ws.snapshot(f"{step} {dag_id or ''}")
    kind, reason, notes = verdict(run, changes)
    record = {"step": step, "dag_id": dag_id, **run, "changed": changes, "diff": diff,
              "verdict": kind, "reason": reason, "notes": notes}
    record["stdout"] = record["stdout"][-2000:]
    record["stderr"] = record["stderr"][-4000:]
    return record


# --------------------------------------------------------------------------- judging
def judge(ws: Workspace, label: str) -> dict:
    """Airflow 2.11 + airlift on the workspace as it is now, and ``check --json``."""
    out = ws.judgements / f"{label}.json"
    logf = ws.judgements / f"{label}.log"
    sandbox = ["unshare", "-n"] if _unshare_works() else []
    started = time.monotonic()
    with open(logf, "w") as log_file:
        try:
            proc = subprocess.run(
                [*sandbox, AIRFLOW2, str(JUDGE), ws.name, str(ws.ws), str(out)],
                stdout=subprocess.PIPE, stderr=log_file, text=True, timeout=JUDGE_TIMEOUT, cwd=ws.ws,
                env={**{k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")},
                     "PYTHONDONTWRITEBYTECODE": "1",
                     "CORPUS_TEMPLATE_DB": str(TRUTH_HOME / "airflow.db")})
            ok = proc.returncode == 0 and out.is_file()
        except subprocess.TimeoutExpired:
            ok = False
    bag = json.loads(out.read_text()) if ok else None
    written, _ = ws.snapshot(f"judge {label}")  # anything the project's code wrote at import
    check = ws.cli("check", "--json")
    ws.snapshot(f"check {label}")
    try:
        findings = json.loads(check["stdout"])["findings"]
        check_error = None
    except (json.JSONDecodeError, KeyError):
        findings = []
        check_error = f"check --json exited {check['rc']}: {check['stderr'].strip()[-300:]}"
    return {"label": label, "bag": bag, "judge_failed": None if ok else f"see {logf}",
            "written_by_import": written, "findings": findings, "check_error": check_error,
            "check_seconds": check["seconds"], "judge_seconds": round(time.monotonic() - started, 1)}


_UNSHARE: list[bool] = []


def _unshare_works() -> bool:
    if not _UNSHARE:
        _UNSHARE.append(bool(shutil.which("unshare")) and subprocess.run(
            ["unshare", "-n", "true"], capture_output=True).returncode == 0)
    return _UNSHARE[0]


def dag_files(bag: dict) -> dict[str, str]:
    return {dag_id: path for path, dags in bag["files"].items() for dag_id in dags}


def read_states(ws: Workspace) -> dict[str, dict]:
    """Every proxied_state/<dag_id>.yaml under the DAG folders: {relpath: parsed or error}."""
    states = {}
    for folder in ws.entry["dag_folders"]:
        for dirpath, dirnames, filenames in os.walk(ws.ws / folder):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            if os.path.basename(dirpath) != "proxied_state":
                continue
            for name in filenames:
                if not name.endswith((".yaml", ".yml")):
                    continue
                path = Path(dirpath) / name
                rel = path.relative_to(ws.ws).as_posix()
                try:
                    states[rel] = {"dag_id": path.stem, "data": yaml.safe_load(path.read_text())}
                except Exception as error:  # noqa: BLE001
                    states[rel] = {"dag_id": path.stem, "error": str(error).splitlines()[0]}
    return states


def assess(ws: Workspace, j: dict, base: dict, invocations: list[dict], migration: bool) -> dict:
    """The figures of one judgement against the untouched workspace's."""
    bag, base_bag = j["bag"], base["bag"]
    result = {"label": j["label"], "judge_failed": j["judge_failed"], "check_error": j["check_error"],
              "new_import_errors": [], "lost_dags": [], "new_serialization_errors": [],
              "false_proxies": [], "unexpected_proxies": [], "xcom_breaks": [], "gate_breaks": [],
              "false_errors": [],
              "other_errors": [],
              "missed_refusals": [], "proxies_confirmed": 0, "written_by_import": j["written_by_import"],
              "judge_seconds": j["judge_seconds"], "check_seconds": j["check_seconds"]}
    if bag is None or base_bag is None:
        return result
    where = dag_files(bag)
    base_where = dag_files(base_bag)
    ser = {**bag["stub_serialization_errors"], **bag["serialization_errors"]}
    base_ser = set(base_bag["serialization_errors"]) | set(base_bag["stub_serialization_errors"])

    def culprits(path: str | None, dag_ids: set[str]) -> list[str]:
        found = []
        folder = str(Path(path).parent) if path else None
        for inv in invocations:
            touched = {c[1] for c in inv["changed"]}
            if (path and path in touched) or inv["dag_id"] in dag_ids or \
                    (folder and any(t.startswith(folder + "/proxied_state/") for t in touched)):
                found.append(" ".join(inv["argv"][1:]))
        return found

    for path, message in bag["import_errors"].items():
        if path in base_bag["import_errors"]:
            continue
        dags = {d for d, p in base_where.items() if p == path}
        result["new_import_errors"].append({"file": path, "error": message, "dags": sorted(dags),
                                            "culprits": culprits(path, dags)})
    for dag_id, path in base_where.items():
        if dag_id not in where and path not in bag["import_errors"]:
            result["lost_dags"].append({"dag_id": dag_id, "file": path,
                                        "culprits": culprits(path, {dag_id})})
    for dag_id, message in ser.items():
        if dag_id in base_ser:
            continue
        result["new_serialization_errors"].append({
            "dag_id": dag_id, "file": where.get(dag_id), "error": message,
            "stub": dag_id in bag["stub_serialization_errors"],
            "culprits": culprits(where.get(dag_id), {dag_id})})

    # proxies: what the state files say against the operator classes Airflow runs
    tasks = {dag_id: dags[dag_id]["tasks"] for dags in bag["files"].values() for dag_id in dags}
    states = read_states(ws)
    stated: dict[str, set[str]] = {}
    for rel, st in states.items():
        dag_id, data = st["dag_id"], st.get("data")
        if not isinstance(data, dict):
            continue
        dag_tasks = tasks.get(dag_id)
        if dag_tasks is None:
            path = base_where.get(dag_id)
            if path is None or path in bag["import_errors"]:
                continue  # Airflow does not load the DAG at all (before the edit either, or now)
        if data.get("proxied") is True:
            stated[dag_id] = {"*"}
            ops = {t["operator"] for t in (dag_tasks or {}).values()}
            if ops == {PROXY_DAG}:
                result["proxies_confirmed"] += 1
            else:
                result["false_proxies"].append({
                    "dag_id": dag_id, "task_id": None, "state": rel, "file": where.get(dag_id),
                    "operators": sorted(ops)[:8], "culprits": culprits(where.get(dag_id), {dag_id})})
            continue
        for item in data.get("tasks") or []:
            if not isinstance(item, dict) or item.get("proxied") is not True:
                continue
            task_id = item.get("id")
            stated.setdefault(dag_id, set()).add(task_id)
            op = (dag_tasks or {}).get(task_id, {}).get("operator")
            if op == PROXY_TASK:
                result["proxies_confirmed"] += 1
            else:
                result["false_proxies"].append({
                    "dag_id": dag_id, "task_id": task_id, "state": rel, "file": where.get(dag_id),
                    "operator": op or "(no such task in Airflow's DAG)",
                    "culprits": culprits(where.get(dag_id), {dag_id})})
    for dag_id, dag_tasks in tasks.items():
        for task_id, task in dag_tasks.items():
            if task["operator"] in (PROXY_TASK, PROXY_DAG):
                want = stated.get(dag_id, set())
                if "*" not in want and task_id not in want:
                    result["unexpected_proxies"].append({"dag_id": dag_id, "task_id": task_id,
                                                         "file": where.get(dag_id)})
    for dag_id, want in stated.items():
        for task_id, task in (tasks.get(dag_id) or {}).items():
            read = [p for p in task.get("xcom_from", []) if p in want]
            if "*" not in want and task_id not in want and read:
                result["xcom_breaks"].append({"dag_id": dag_id, "task_id": task_id, "reads": read,
                                              "file": where.get(dag_id),
                                              "culprits": culprits(where.get(dag_id), {dag_id})})
    base_tasks = {dag_id: dags[dag_id]["tasks"] for dags in base_bag["files"].values() for dag_id in dags}
    for dag_id, want in stated.items():
        for task_id in want - {"*"}:
            base_task = (base_tasks.get(dag_id) or {}).get(task_id, {})
            op = base_task.get("operator") or ""
            if base_task.get("skips", "Branch" in op or "ShortCircuit" in op):
                result["gate_breaks"].append({"dag_id": dag_id, "task_id": task_id, "operator": op,
                                              "file": where.get(dag_id),
                                              "culprits": culprits(where.get(dag_id), {dag_id})})
    result["hook_errors"] = [h for h in bag.get("hooks", []) if h.get("error")]

    # check --json against what Airflow did
    broken_files = set(bag["import_errors"]) | {where[d] for d in ser if d in where}
    loaded = set(bag.get("scanned", [])) - broken_files
    state_dag = {rel: st["dag_id"] for rel, st in states.items()}
    errors_by_file: dict[str, list[dict]] = defaultdict(list)
    for f in j["findings"]:
        if f.get("severity") != "error":
            continue
        path = f["path"]
        owner = path if path in loaded or path in broken_files else None
        if owner is None and path in state_dag:
            owner = where.get(state_dag[path]) or base_where.get(state_dag[path])
        record = {"path": path, "code": f["code"], "message": f["message"][:300]}
        if owner is None:
            result["other_errors"].append(record)
            continue
        errors_by_file[owner].append(record)
        if owner in loaded:
            result["false_errors"].append({**record, "dag_file": owner})
    if migration:
        new_broken = {e["file"] for e in result["new_import_errors"]} | \
            {e["file"] for e in result["new_serialization_errors"] if e["file"]}
        for path in sorted(new_broken):
            if not errors_by_file.get(path):
                result["missed_refusals"].append({"file": path})
    return result


# --------------------------------------------------------------------------- one entry
def features(dag: dict, dags_in_file: int, flagged: set[str]) -> tuple:
    """What makes a DAG a different case for the edits: the sample covers every combination."""
    tasks = dag["tasks"]
    return (
        "findings" if dag["path"] in flagged else "",        # check has an error or warning on the file
        "multi-dag file" if dags_in_file > 1 else "",        # globals() holds several DAGs
        "groups" if any("." in t["task_id"] for t in tasks) else "",
        "conditional" if any(t.get("conditional") for t in tasks) else "",
        "dynamic tasks" if any(t.get("dynamic") for t in tasks) else "",
        "no task" if not tasks else "",
        "one task" if len(tasks) == 1 else "",
    )


def sample_dags(static: dict, limit: int, flagged: set[str] = frozenset(), seed: str = "") -> tuple[list[dict], int]:
    """Every DAG with a certain id (one per id), or ``limit`` of them: stratified by
    ``features`` (the rarest combinations first, round robin), within a stratum one DAG per file
    in a fixed pseudo-random order of files (``seed`` changes it)."""
    by_id: dict[str, dict] = {}
    per_file: Counter = Counter()
    for f in static["files"]:
        for d in f.get("dags", []):
            per_file[f["path"]] += 1
            if d.get("dynamic") or d.get("source", "static") != "static":
                continue
            by_id.setdefault(d["dag_id"], {**d, "path": f["path"], "paths": []})["paths"].append(f["path"])
    dags = list(by_id.values())
    if limit <= 0 or len(dags) <= limit:
        return dags, len(dags)

    def order(d):
        return hashlib.sha1(f"{seed}{d['path']}\0{d['dag_id']}".encode()).hexdigest()

    strata: dict[tuple, list[dict]] = defaultdict(list)
    for d in sorted(dags, key=order):
        d["features"] = [x for x in features(d, per_file[d["path"]], flagged) if x]
        strata[features(d, per_file[d["path"]], flagged)].append(d)
    for key, members in strata.items():  # distinct files first within a stratum
        seen: set[str] = set()
        first = [d for d in members if not (d["path"] in seen or seen.add(d["path"]))]
        strata[key] = first + [d for d in members if d not in first]
    queues = sorted(strata.values(), key=lambda m: (len(m), order(m[0])))
    chosen: list[dict] = []
    depth = 0
    while len(chosen) < limit:
        for members in queues:
            if depth < len(members) and len(chosen) < limit:
                chosen.append(members[depth])
        depth += 1
    return chosen, len(dags)


def certain_tasks(dag: dict) -> list[str]:
    return [t["task_id"] for t in dag["tasks"] if not t.get("dynamic") and not t.get("conditional")]


def run_entry(entry: dict, tool: list[str], limit: int, jobs: int, seed: str = "") -> dict:
    started = time.monotonic()
    ws = Workspace(entry, tool, jobs)
    record: dict = {"entry": entry["name"], "invocations": [], "judgements": [], "error": None}
    try:
        record["pyproject"] = ws.prepare()
        folders = entry["dag_folders"]
        dags_run = ws.cli("dags", *folders, "--json", timeout=3600)
        ws.snapshot("dags")
        record["dags_seconds"] = dags_run["seconds"]
        try:
            static = json.loads(dags_run["stdout"])
        except json.JSONDecodeError:
            record["error"] = f"dags --json failed ({dags_run['rc']}): {dags_run['stderr'][-500:]}"
            return record
        pre = ws.cli("check", "--json")
        ws.snapshot("check before sampling")
        try:
            flagged = {f["path"] for f in json.loads(pre["stdout"])["findings"]
                       if f.get("severity") in ("error", "warning")}
        except (json.JSONDecodeError, KeyError):
            flagged = set()
        sample, certain = sample_dags(static, limit, flagged, seed)
        record["dags_model"] = sum(len(f.get("dags", [])) for f in static["files"])
        record["dags_certain"] = certain
        record["dags_tried"] = [d["dag_id"] for d in sample]
        record["dags_tried_features"] = {d["dag_id"]: d.get("features", []) for d in sample}
        log(f"{entry['name']}: {record['dags_model']} DAGs in the model, {certain} with a certain id, "
            f"{len(sample)} tried ({dags_run['seconds']} s)")

        base = judge(ws, "base")
        record["judgements"].append(assess(ws, base, base, [], migration=False))
        if base["bag"] is None:
            record["error"] = f"the judge failed on the untouched copy ({base['judge_failed']})"
            return record
        loaded = dag_files(base["bag"])
        record["dags_loaded"] = sum(1 for d in sample if d["dag_id"] in loaded)

        def step(name: str, argv_of, dags=sample, judged=True) -> list[dict]:
            done = []
            for d in dags:
                argv = argv_of(d)
                if argv is None:  # proxy_task of a DAG with no task of certain id: nothing to name
                    record.setdefault("skipped", []).append({"step": name, "dag_id": d["dag_id"],
                                                             "why": "no task with a certain id"})
                    continue
                inv = invoke(ws, name, d["dag_id"] if d else None, *argv)
                done.append(inv)
                record["invocations"].append(inv)
            if judged:
                j = judge(ws, name)
                record["judgements"].append(assess(ws, j, base, done, migration=True))
            counts = Counter(i["verdict"] for i in done)
            log(f"{entry['name']}: {name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
            return done

        # task-level phase
        step("map", lambda d: ["map", d["dag_id"]])
        status = ws.cli("status", "--json")
        ws.snapshot("status")
        mapped: dict[str, set[str]] = {}
        try:
            for d in json.loads(status["stdout"])["dags"]:
                mapped[d["dag_id"]] = {t["task_id"] for t in d["tasks"] if t.get("assets")}
        except (json.JSONDecodeError, KeyError):
            record["status_error"] = status["stderr"][-500:]

        def first_task(d):
            tasks = certain_tasks(d)
            chosen = [t for t in tasks if t in mapped.get(d["dag_id"], set())] or tasks
            return ["proxy", d["dag_id"], chosen[0]] if chosen else None

        step("proxy_task", first_task)
        step("proxy_dag", lambda d: ["proxy", d["dag_id"]])
        step("rollback", lambda d: ["rollback", d["dag_id"]])

        # DAG-level phase, from the pristine copy again
        ws.reset()
        step("map_dag_level", lambda d: ["map", d["dag_id"], "--dag-level"], judged=False)
        step("proxy_dag_level", lambda d: ["proxy", d["dag_id"], "--dag-level"])
        step("rollback_all", lambda d: ["rollback", "--all"], dags=[None])
    except Exception as error:  # noqa: BLE001 - one entry's trouble never stops the run
        import traceback
        record["error"] = f"{type(error).__name__}: {error}"
        record["traceback"] = traceback.format_exc()[-3000:]
        log(f"{entry['name']}: ERROR {record['error']}")
    finally:
        record["seconds"] = round(time.monotonic() - started, 1)
    return record


# --------------------------------------------------------------------------- summary
def summarize(record: dict) -> dict:
    invs = record["invocations"]
    js = [j for j in record["judgements"]]
    migration = [j for j in js if j["label"] != "base"]

    def unique(key, items, base_too=False):
        seen = {}
        for j in (js if base_too else migration):
            for item in j.get(items, []):
                seen.setdefault(key(item), item)
        return seen

    return {
        "dags_model": record.get("dags_model"),
        "dags_certain": record.get("dags_certain"),
        "dags_tried": len(record.get("dags_tried", [])),
        "dags_loaded": record.get("dags_loaded"),
        "proxies_confirmed": {j["label"]: j.get("proxies_confirmed", 0) for j in migration},
        "notes": dict(Counter(normalize_reason(n) for i in invs for n in i["notes"]).most_common()),
        "steps": len(invs),
        "skipped": len(record.get("skipped", [])),
        "ok": sum(1 for i in invs if i["verdict"] == "ok"),
        "refused": sum(1 for i in invs if i["verdict"] == "refused"),
        "crashes": sum(1 for i in invs if i["verdict"] in ("crash", "unreadable", "wrote-on-refusal")),
        "refusals_by_reason": dict(Counter(i["reason"] for i in invs if i["verdict"] == "refused").most_common()),
        "new_import_errors": len(unique(lambda e: e["file"], "new_import_errors")),
        "lost_dags": len(unique(lambda e: e["dag_id"], "lost_dags")),
        "new_serialization_errors": len(unique(lambda e: e["dag_id"], "new_serialization_errors")),
        "false_proxies": len(unique(lambda e: (e["dag_id"], e["task_id"]), "false_proxies")),
        "unexpected_proxies": len(unique(lambda e: (e["dag_id"], e["task_id"]), "unexpected_proxies")),
        "xcom_breaks": len(unique(lambda e: (e["dag_id"], e["task_id"]), "xcom_breaks")),
        "gate_breaks": len(unique(lambda e: (e["dag_id"], e["task_id"]), "gate_breaks")),
        "false_errors": len(unique(lambda e: (e["dag_file"], e["code"], e["message"]), "false_errors", True)),
        "missed_refusals": len(unique(lambda e: e["file"], "missed_refusals")),
        "judge_failures": sum(1 for j in js if j["judge_failed"]),
        "error": record.get("error"),
        "seconds": record.get("seconds"),
    }


COLUMNS = [("entry", "entry"), ("dags", "DAGs tried"), ("dags_loaded", "loaded"), ("steps", "steps"), ("ok", "ok"),
           ("refused", "refused"), ("crashes", "crash"), ("new_import_errors", "new import err"),
           ("lost_dags", "lost DAGs"), ("new_serialization_errors", "new serial. err"),
           ("false_proxies", "false proxies"), ("xcom_breaks", "XCom breaks"),
           ("gate_breaks", "gate breaks"), ("false_errors", "false errors"),
           ("missed_refusals", "missed refusals"), ("seconds", "s")]


def table(summaries: dict[str, dict]) -> str:
    rows = []
    totals: Counter = Counter()
    for name, s in summaries.items():
        dags = f"{s['dags_tried']}/{s['dags_certain']}" if s.get("dags_certain") is not None else "-"
        row = {"entry": name + (" (!)" if s.get("error") else ""), "dags": dags,
               **{k: s.get(k) or 0 for k, _ in COLUMNS[2:]}}
        for k, _ in COLUMNS[2:]:
            totals[k] += s.get(k) or 0
        totals["dags_tried"] += s.get("dags_tried") or 0
        totals["dags_certain"] += s.get("dags_certain") or 0
        rows.append(row)
    rows.append({"entry": "total", "dags": f"{totals['dags_tried']}/{totals['dags_certain']}",
                 **{k: round(totals[k], 1) if k == "seconds" else totals[k] for k, _ in COLUMNS[2:]}})
    widths = [max(len(h), *(len(str(r[k])) for r in rows)) for k, h in COLUMNS]
    lines = [" | ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, ((_, h), w) in enumerate(zip(COLUMNS, widths)))]
    lines.append("-+-".join("-" * w for w in widths))
    for r in rows:
        if r["entry"] == "total":
            lines.append("-+-".join("-" * w for w in widths))
        lines.append(" | ".join(str(r[k]).ljust(w) if i == 0 else str(r[k]).rjust(w)
                                for i, ((k, _), w) in enumerate(zip(COLUMNS, widths))))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME")
    parser.add_argument("--strict", action="store_true",
                        help="exit 1 when an edit broke a DAG, a proxy is false or an error finding is false")
    parser.add_argument("--max-dags", type=int, default=int(os.environ.get("MIGRATE_MAX_DAGS", "30")),
                        help="DAGs tried per entry, sampled when more (0: all; default 30)")
    parser.add_argument("--jobs", type=int, default=2, help="entries run side by side (default 2)")
    parser.add_argument("--seed", default="", help="another sample of the same size (default: the usual one)")
    parser.add_argument("--tool", choices=("head", "tree"), default="head",
                        help="the CLI of the committed HEAD (snapshot, default) or of the working tree")
    args = parser.parse_args(argv)
    entries = [e for e in json.loads(MANIFEST.read_text()) if e.get("airflow", "both") in ("2", "both")]
    unknown = set(args.names) - {e["name"] for e in json.loads(MANIFEST.read_text())}
    if unknown:
        print(f"unknown corpus entries: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if args.names:
        entries = [e for e in entries if e["name"] in args.names]
    missing = [e["name"] for e in entries if not (SRC / e["name"] / ".corpus-commit").is_file()]
    if missing:
        print(f"not materialized (run corpus/materialize.py): {', '.join(missing)}", file=sys.stderr)
        entries = [e for e in entries if e["name"] not in missing]
    if not (TRUTH_HOME / "airflow.db").is_file():
        subprocess.run([AIRFLOW2, "-c", "import sys; sys.path.insert(0, 'corpus'); import dagbag_truth; "
                        "dagbag_truth._template_db(2)"], cwd=ROOT, check=True)
    tool, tool_info = tool_command(args.tool)
    started = time.monotonic()
    log(f"migrate_all: {len(entries)} entries, at most {args.max_dags or 'all'} DAGs each, "
        f"{args.jobs} side by side, CLI: {tool_info}")
    # the biggest first, so that the side-by-side runs end together
    sizes = {e["name"]: sum(1 for _ in (SRC / e["name"]).rglob("*.py")) for e in entries}
    entries.sort(key=lambda e: -sizes[e["name"]])
    records: dict[str, dict] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(run_entry, e, tool, args.max_dags, args.jobs, args.seed): e["name"]
                   for e in entries}
        for future in concurrent.futures.as_completed(futures):
            name = futures[future]
            records[name] = future.result()
            s = summarize(records[name])
            log(f"{name}: done in {s['seconds']} s: {s['ok']} ok, {s['refused']} refused, {s['crashes']} crashes, "
                f"{s['new_import_errors']} new import errors, {s['new_serialization_errors']} new serialization "
                f"errors, {s['false_proxies']} false proxies, {s.get('xcom_breaks', 0)} XCom breaks, {s.get('gate_breaks', 0)} gate breaks, {s['false_errors']} false errors")
    order = [e["name"] for e in json.loads(MANIFEST.read_text()) if e["name"] in records]
    summaries = {name: summarize(records[name]) for name in order}
    reasons: Counter = Counter()
    for s in summaries.values():
        reasons.update(s["refusals_by_reason"])
    elapsed = round(time.monotonic() - started, 1)
    report = {"tool": tool_info, "max_dags": args.max_dags, "seed": args.seed, "jobs": args.jobs, "seconds": elapsed,
              "summary": summaries, "refusals_by_reason": dict(reasons.most_common()),
              "entries": {name: records[name] for name in order}}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".part")
    tmp.write_text(json.dumps(report, indent=1) + "\n")
    tmp.rename(OUT)
    print()
    print(table(summaries))
    print()
    print("refusals by reason:")
    for reason, n in reasons.most_common():
        print(f"  {n:5d}  {reason}")
    bad = sum(s["new_import_errors"] + s["lost_dags"] + s["new_serialization_errors"] + s["false_proxies"]
              + s.get("xcom_breaks", 0) + s.get("gate_breaks", 0) + s["false_errors"] for s in summaries.values())
    print(f"\n{elapsed} s; every invocation and judgement: {OUT.relative_to(ROOT)}")
    return 1 if args.strict and bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
