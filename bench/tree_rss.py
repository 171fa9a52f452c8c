"""Peak resident memory of a process and everything it starts (Linux ``/proc``).

``ru_maxrss`` from ``os.wait4`` is the largest *single* process (the child or a descendant it
reaped), so a parent with two workers of 200 MB each reads 200 MB; and on Linux it also counts
what the process held before its ``exec`` — the forking parent's pages — so a benchmark that
has grown to 180 MB sees every child it starts at 180 MB at least. ``TreeRss`` samples the sum
of the RSS of a process and all its descendants every ``interval`` seconds, from a thread, and
keeps the largest sum (what the machine had to hold at once) and the largest single process
(sampling may miss a spike shorter than the interval).
"""

from __future__ import annotations

import os
import threading

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (``/proc/PID/task/TID/children``)."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as children:
                    stack.extend(int(child) for child in children.read().split())
            except (OSError, ValueError):
                continue
    return found


def rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as statm:
            return int(statm.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        return 0


def tree_rss_mb(pid: int) -> float:
    return sum(rss_bytes(p) for p in descendants(pid)) / (1024 * 1024)


class TreeRss:
    """``with TreeRss(pid) as sampler: ...`` then ``sampler.peak_mb`` (None off Linux)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_mb: float | None = None
        self.largest_mb: float | None = None
        """The largest single process seen."""
        self.processes = 0
        """The most processes seen at once (the parent and its workers)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tree-rss", daemon=True)

    def __enter__(self) -> TreeRss:
        if os.path.isdir(f"/proc/{self.pid}"):
            self.peak_mb = self.largest_mb = 0.0
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            sizes = [rss_bytes(p) / (1024 * 1024) for p in descendants(self.pid)]
            self.processes = max(self.processes, sum(1 for size in sizes if size))
            self.peak_mb = max(self.peak_mb or 0.0, sum(sizes))
            self.largest_mb = max(self.largest_mb or 0.0, *sizes)
            self._stop.wait(self.interval)
