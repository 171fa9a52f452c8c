"""Running a probe script with the project's own interpreter: in its own process group, with a
timeout, killed whole when it overruns; one JSON object in, one out."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
AIRFLOW_PROBE = HERE / "airflow_probe.py"
DAGSTER_PROBE = HERE / "dagster_probe.py"
DEFAULT_TIMEOUT = 300.0
"""Seconds for one probe: DagBag imports every DAG file (each under Airflow's own 30 s limit)."""


_running: set[subprocess.Popen] = set()
_lock = threading.Lock()


@atexit.register
def stop_all() -> None:
    """A process that exits (the language server) takes its probes with it."""
    with _lock:
        running = list(_running)
    for process in running:
        _kill(process)


class VerifyError(Exception):
    """Verification could not run (no interpreter, no Airflow there, a probe that crashed or
    overran): one line for the user."""


def resolve_python(value: str, root: str, setting: str) -> str:
    """An interpreter named by a flag or setting: a path (``~`` expanded, relative to the
    workspace) or a command on PATH."""
    expanded = os.path.expanduser(value.replace("${workspaceFolder}", root))
    if os.sep in expanded or (os.altsep and os.altsep in expanded):
        path = expanded if os.path.isabs(expanded) else os.path.join(root, expanded)
    else:
        path = shutil.which(expanded) or os.path.join(root, expanded)
    if not os.path.exists(path):
        raise VerifyError(f"`{value}` does not exist (set by {setting})")
    if os.path.isdir(path) or not os.access(path, os.X_OK):
        raise VerifyError(f"`{value}` is not an executable Python interpreter (set by {setting})")
    return path


def run_probe(python: str, script: Path, request: dict, cwd: str, timeout: float) -> dict:
    """Run ``script`` with ``python``, hand it ``request``, return the JSON it prints."""
    try:
        process = subprocess.Popen(
            [python, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=cwd, start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1",
                                                  "PYTHONDONTWRITEBYTECODE": "1"})
    except OSError as error:
        raise VerifyError(f"cannot run `{python}`: {error.strerror or error}") from None
    with _lock:
        _running.add(process)
    try:
        out, err = process.communicate(json.dumps(request).encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        _stop(process)
        raise VerifyError(f"the {_name(script)} gave no answer within {timeout:g} s (a DAG file "
                          "or module that never finishes importing?); stopped it") from None
    except BaseException:
        _stop(process)
        raise
    finally:
        with _lock:
            _running.discard(process)
    text = out.decode("utf-8", "replace").strip()
    try:
        report = json.loads(text.splitlines()[-1]) if text else None
    except ValueError:
        report = None
    if process.returncode != 0 or not isinstance(report, dict):
        raise VerifyError(f"`{python}` could not run the {_name(script)} "
                          f"(exit {process.returncode}): {_last_line(err) or 'no output'}")
    return report


def _kill(process: subprocess.Popen) -> None:
    """The probe and everything it started (DAG files may start processes)."""
    try:
        if sys.platform != "win32":
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _stop(process: subprocess.Popen) -> None:
    """Kill the probe's process group, then reap it; a process that left the group and still
    holds the pipes is not waited for."""
    _kill(process)
    try:
        process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        process.wait(timeout=5)


def _name(script: Path) -> str:
    return {"airflow_probe": "Airflow probe", "dagster_probe": "Dagster probe"}.get(script.stem, script.stem)


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""
