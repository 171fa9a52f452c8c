"""The server with a real Neovim (0.7+, Debian's) as its LSP client, headless.

`nvim/lsp_session.lua` starts the server with `vim.lsp.start_client`, opens the tutorial DAG,
hovers, asks for code lenses, edits the buffer, and writes what Neovim saw as JSON.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import TUTORIAL

SCRIPT = Path(__file__).resolve().parent / "nvim" / "lsp_session.lua"
DAG = "airflow_dags/rebuild_customers_list.py"
WAIT_MS = 15000
"""Upper bound of each wait inside Neovim; the whole run is bounded by TIMEOUT."""
TIMEOUT = 150


def nvim() -> str:
    binary = shutil.which("nvim")
    if binary is None:
        pytest.fail("Neovim (nvim) is not installed: run `make system-deps`")
    return binary


def line_of(text: str, needle: str) -> int:
    """0-based number of the first line containing needle."""
    for number, line in enumerate(text.splitlines()):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in the DAG file")


def log_tail(path: Path, size: int = 6000) -> str:
    return path.read_text(errors="replace")[-size:] if path.exists() else f"(no log at {path})"


@pytest.fixture(scope="module")
def session(tmp_path_factory) -> dict:
    """One Neovim run shared by the tests below: what the editor saw, as recorded by the script."""
    binary = nvim()
    tmp = tmp_path_factory.mktemp("neovim")
    root = tmp / "tutorial"
    shutil.copytree(TUTORIAL, root)
    result = tmp / "result.json"
    env = {
        **os.environ,
        "AIRLIFT_PYTHON": sys.executable,
        "AIRLIFT_ROOT": str(root),
        "AIRLIFT_RESULT": str(result),
        "AIRLIFT_WAIT_MS": str(WAIT_MS),
        # Hermetic editor: its LSP log (with the server's stderr) lands in tmp.
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "XDG_CACHE_HOME": str(tmp / "cache"),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_STATE_HOME": str(tmp / "state"),
    }
    log = tmp / "cache" / "nvim" / "lsp.log"
    command = [binary, "--headless", "--clean", "-n", "-u", "NONE", "-c", f"luafile {SCRIPT}"]
    try:
        run = subprocess.run(command, env=env, cwd=root, stdin=subprocess.DEVNULL,
                             capture_output=True, text=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired as timeout:
        pytest.fail(f"Neovim did not finish in {TIMEOUT}s\nstderr: {timeout.stderr!r}\n"
                    f"LSP log:\n{log_tail(log)}")
    if not result.exists():
        pytest.fail(f"Neovim wrote no result (exit {run.returncode})\nstdout: {run.stdout[-3000:]}\n"
                    f"stderr: {run.stderr[-3000:]}\nLSP log:\n{log_tail(log)}")
    data = json.loads(result.read_text())
    data["dag_text"] = (TUTORIAL / DAG).read_text()
    data["context"] = (f"steps: {data.get('steps')}\nerror: {data.get('error')}\n"
                       f"server stderr: {data.get('stderr')}\nexit: {data.get('exit')}\n"
                       f"nvim stderr: {run.stderr[-2000:]}\nLSP log:\n{log_tail(log)}")
    return data


def test_the_session_ran_to_the_end(session):
    assert "error" not in session, session["context"]
    failed = [step["name"] for step in session["steps"] if not step["ok"]]
    assert not failed, f"{failed}\n{session['context']}"
    assert [step["name"] for step in session["steps"]] == [
        "start_client", "buf_attach_client", "initialized", "diagnostics", "hover", "codeLens",
        "codelens.refresh", "duplicate-task-id", "server exited after stop"], session["context"]
    assert session["filetype"] == "python"
    assert session["server_capabilities"]["offset_encoding"] == "utf-16"


def test_the_server_speaks_only_what_neovim_understands(session):
    # Neovim 0.7 has no handler for e.g. workspace/codeLens/refresh: it would answer MethodNotFound.
    assert session["unhandled"] == [], session["context"]
    assert session["client_errors"] == [], session["context"]
    # Neovim offers no dynamic registration: the server must not ask for it.
    assert "client/registerCapability" not in session["server_messages"]
    # Neovim offers work-done progress: indexing is reported through it.
    assert session["server_messages"][0] == "window/workDoneProgress/create", session["server_messages"]
    assert "$/progress" in session["server_messages"]
    # Neovim logs each chunk of the server's stderr (at its own ERROR level): no failures in them.
    chunks = [line.partition('"stderr"')[2] for line in session["stderr"]]
    assert not [c for c in chunks if any(word in c for word in ("Traceback", "ERROR", "CRITICAL"))], \
        session["stderr"]


def test_diagnostics_from_the_background_index(session):
    text = session["dag_text"]
    diagnostics = session["diagnostics"]
    assert diagnostics, session["context"]
    assert {d["source"] for d in diagnostics} == {"airlift"}
    assert [(d["code"], d["lnum"]) for d in diagnostics] == [
        ("unmapped-task", line_of(text, 'task_id="export_customers"')),
        ("missing-proxying-call", line_of(text, "    proxying_to_dagster(")),
    ]
    assert "export_customers" in diagnostics[0]["message"]


def test_hover_on_a_task_reference(session):
    text = session["dag_text"]
    edge = line_of(text, "load_raw_customers >> run_dbt_model >> export_customers")
    assert session["hover_position"]["line"] == edge
    hover = session.get("hover")
    assert hover, session.get("hover_error") or session["context"]
    assert "**Task** `build_dbt_models` · BashOperator" in hover
    assert "observed" in hover and "`customers`" in hover
    # Neovim turns it into the lines of its hover window.
    assert session["hover_rendered"][0].startswith("**Task** `build_dbt_models`")


def test_code_lenses_show_each_task_stage(session):
    text = session["dag_text"]
    lenses = {(lens["line"], lens["title"]) for lens in session["lenses"]}
    assert (line_of(text, "load_raw_customers = PythonOperator("),
            "observed → raw_data/raw_customers · Proxy to Dagster") in lenses
    assert (line_of(text, "run_dbt_model = BashOperator("),
            "observed → customers · Proxy to Dagster") in lenses
    assert (line_of(text, "export_customers = PythonOperator("),
            "unmapped · Map to a Dagster asset") in lenses
    dag_line = line_of(text, "with DAG(")
    assert (dag_line, "rebuild_customers_list: 2/3 tasks mapped · 0 proxied") in lenses
    by_title = {lens["title"]: lens["command"] for lens in session["lenses"]}
    assert by_title["observed → customers · Proxy to Dagster"] == "airlift.proxyTask"
    assert by_title["unmapped · Map to a Dagster asset"] == "airlift.mapTask"
    # The same lenses through Neovim's own codelens module (vim.lsp.codelens.refresh / get).
    displayed = {(lens["line"], lens["title"], lens["command"]) for lens in session["displayed_lenses"]}
    assert displayed == {(lens["line"], lens["title"], lens["command"]) for lens in session["lenses"]}


def test_an_edit_in_the_buffer_is_analysed(session):
    text = session["dag_text"]
    inserted = session["duplicate_line"]
    assert inserted == line_of(text, "load_raw_customers >> run_dbt_model >> export_customers")
    after = session["diagnostics_after_edit"]
    assert {d["source"] for d in after} == {"airlift"}
    duplicates = [d for d in after if d["code"] == "duplicate-task-id"]
    assert len(duplicates) == 1, after
    assert duplicates[0]["lnum"] == inserted
    assert duplicates[0]["severity"] == 1  # vim.diagnostic.severity.ERROR
    assert "build_dbt_models" in duplicates[0]["message"]
    # Findings below the inserted line moved with it: the server reads the buffer, not the disk.
    assert ("missing-proxying-call", line_of(text, "    proxying_to_dagster(") + 1) in \
        {(d["code"], d["lnum"]) for d in after}
    last = session["publishes"][-1]
    assert last["version"] == session["changedtick"], session["publishes"]


def test_the_server_exits_cleanly_on_shutdown(session):
    assert session["exit"] == {"code": 0, "signal": 0, "ms": session["exit"]["ms"]}, session["context"]
