"""Extraction spread over worker processes (the parent never parses).

Each worker is a fresh ``python -c`` (the "spawn" model: nothing forked from a process that runs
threads), started in the folder our own package comes from, so the interpreter's ``sys.path[0]``
is our code and never the workspace (a DAG folder's ``pickle.py`` is not imported, let alone
run). ``multiprocessing``'s spawn starts its children in the parent's current folder, which
for the server and the CLI is the workspace, and imports half the standard library from there
before it sets ``sys.path``: hence our own small pool.

The file list is cut into chunks; one thread per worker sends it a chunk, waits for the
answer and takes the next (one request in flight: neither side can block on a full pipe while
the other does). A worker that dies leaves its chunk ``failed``: the caller extracts those
files itself.
"""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from server.indexing.worker import FAILED, Extracted, read_frame, write_frame

POOL_MIN_FILES = 48
"""Below this, starting workers (~0.1 s each) costs more than it saves."""
MAX_CHUNK = 64

_BOOT = "from server.indexing.worker import main; main()"
_HOME = str(Path(__file__).resolve().parents[2])
"""The folder that holds our ``server`` package: a trusted ``sys.path[0]`` for the workers."""


def configured_workers() -> int | None:
    """``AIRLIFT_LSP_JOBS``: 1 means no worker processes; N > 1 means N workers for any batch
    of two files or more (tests use it to force the pool onto small inputs)."""
    configured = os.environ.get("AIRLIFT_LSP_JOBS", "").strip()
    return int(configured) if configured.isdigit() and int(configured) > 0 else None


def worker_count() -> int:
    """``AIRLIFT_LSP_JOBS`` if set, else the CPUs this process may use."""
    configured = configured_workers()
    if configured is not None:
        return configured
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def should_use_pool(files: int, workers: int) -> bool:
    if workers <= 1:
        return False
    return files >= (2 if configured_workers() is not None else POOL_MIN_FILES)


def chunks(jobs: Sequence[tuple[str, bool]], workers: int) -> list[list[tuple[str, bool]]]:
    """Small enough for every worker to get several (the last ones finish together), large
    enough that a chunk's round trip is a rounding error next to its work."""
    size = max(1, min(MAX_CHUNK, math.ceil(len(jobs) / (workers * 8))))
    return [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]


def extract_in_workers(jobs: Sequence[tuple[str, bool]], roots: tuple[str, ...] | None,
                       workers: int, environment: Mapping[str, str] | None = None) -> list[Extracted]:
    """Every ``(path, explicit)`` extracted by ``workers`` processes, in no particular order,
    each worker's ``ProjectCode`` built on ``roots`` and ``environment`` (the deployment's
    variables, the ``environment`` setting)."""
    pending = chunks(jobs, workers)
    pending.reverse()  # pop() from the end hands them out in order
    results: list[Extracted] = []
    lock = threading.Lock()
    settings = pickle.dumps({"sys_path": list(sys.path), "roots": roots,
                             "environment": dict(environment or {})}, protocol=5)
    threads = [threading.Thread(target=_drive, args=(settings, pending, results, lock),
                                name=f"airlift-extract-{n}", daemon=True) for n in range(min(workers, len(pending)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for chunk in pending:  # every worker was lost
        results.extend(lost(chunk))
    return results


def _drive(settings: bytes, pending: list, results: list[Extracted], lock: threading.Lock) -> None:
    """One worker's life: start it, feed it chunks until none is left, stop it. A worker that
    cannot start takes no chunk; one that dies leaves its chunk ``lost``."""
    process = _start(settings)
    try:
        while process is not None:
            with lock:
                if not pending:
                    break
                chunk = pending.pop()
            try:
                write_frame(process.stdin, pickle.dumps(chunk, protocol=5))
                reply = read_frame(process.stdout)
            except OSError:
                reply = None
            done = lost(chunk) if reply is None else pickle.loads(reply)  # our own worker's answer
            with lock:
                results.extend(done)
            if reply is None:
                break
    finally:
        _stop(process)


def _start(settings: bytes) -> subprocess.Popen | None:
    try:
        process = subprocess.Popen([sys.executable, "-c", _BOOT], cwd=_HOME, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=None)
    except OSError:
        return None
    try:
        write_frame(process.stdin, settings)
    except OSError:
        _stop(process)
        return None
    return process


def lost(chunk: list[tuple[str, bool]]) -> list[Extracted]:
    """Files no worker extracted: the caller extracts them itself."""
    return [Extracted(path, FAILED, skipped="worker process lost") for path, _ in chunk]


def _stop(process: subprocess.Popen | None) -> None:
    if process is None:
        return
    try:
        write_frame(process.stdin, b"")
        process.stdin.close()
    except OSError:
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()
