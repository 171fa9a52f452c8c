"""Extracting one file into what the cache keeps, here or in a worker process.

A worker is a fresh interpreter (``python -c``, started by ``server.indexing.pool`` in our own
package's folder, so no workspace module can shadow the ones it imports) that reads framed
requests on stdin — first its settings (``sys.path``, import roots, environment), then chunks of paths — and answers each chunk with
its results on stdout. It reads the files itself (only paths cross the pipe), keeps no facts
and frees each chunk's garbage before the next: its memory stays flat whatever the corpus.
"""

from __future__ import annotations

import gc
import os
import pickle
import struct
import sys
from dataclasses import dataclass

DAG = "dag"
EXPLICIT = "explicit"
"""Facts of a file named explicitly although the text does not look like a DAG file."""
NOT_DAG = "not-dag"
SKIPPED = "skipped"
FAILED = "failed"

_FRAME = struct.Struct("<Q")


@dataclass(frozen=True, slots=True)
class Extracted:
    """One file, read and extracted now (by a worker or this process)."""

    path: str
    status: str
    """``dag`` (facts), ``explicit`` (facts of a file that does not look like a DAG file),
    ``not-dag`` (not a DAG file: no facts), ``skipped`` (not readable as text) or ``failed``
    (extraction raised: the parent extracts it again, to report it its own way)."""
    sha1: str | None = None
    stat: tuple[int, int] | None = None
    dependencies: tuple[tuple[str, str], ...] = ()
    facts: bytes | None = None
    """Encoded ``FileFacts`` (``server.indexing.codec``)."""
    view: bytes | None = None
    """The ``dags --json`` view (``server.indexing.views``), UTF-8."""
    skipped: str | None = None
    """Why the file is not text (``skipped``), or the error (``failed``)."""


def file_stat(path: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except (OSError, ValueError):
        return None
    return stat.st_size, stat.st_mtime_ns


def extract_one(path: str, explicit: bool, code) -> Extracted:
    """Read ``path`` from disk and extract it (unless it is no DAG file and not ``explicit``)."""
    from analysis.files import read_disk

    stat = file_stat(path)  # before reading: a change after it shows as a changed stat next time
    decoded = read_disk(path)
    if decoded.text is None:
        return Extracted(path, SKIPPED, skipped=decoded.skipped)
    return extract_text(path, decoded.text, explicit, code, stat)[0]


def extract_text(path: str, text: str, explicit: bool, code, stat: tuple[int, int] | None):
    """(what the cache keeps, the facts themselves or None when it is no DAG file)."""
    from analysis.dags.dagfile import extract_file
    from analysis.source import might_contain_dag
    from server.indexing.codec import encode_facts, text_sha1
    from server.indexing.views import view_bytes

    sha1 = text_sha1(text)
    looks_like_dag = might_contain_dag(text)
    if not explicit and not looks_like_dag:
        return Extracted(path, NOT_DAG, sha1, stat), None
    facts = extract_file(path, text, code)
    return Extracted(path, DAG if looks_like_dag else EXPLICIT, sha1, stat, facts.dependencies,
                     encode_facts(facts), view_bytes(facts)), facts


def project_code(roots: tuple[str, ...] | None, environment: dict[str, str] | None = None):
    """A ``ProjectCode`` over the disk for these import roots (None: imports not followed) and
    the deployment's environment variables (the ``environment`` setting)."""
    if roots is None:
        return None
    from analysis.dags.modules import ProjectCode
    from analysis.files import read_disk

    return ProjectCode(roots, lambda path: read_disk(path).text, environment=environment)


def free_chunk_garbage() -> None:
    """The interpreter's trees and records live in reference cycles: collect them per chunk
    (a worker runs with the collector off, so collecting costs only what the chunk made), and
    drop ``extract_file``'s per-path cache, which serves editors, not a worker that sees each
    file once."""
    from analysis.dags import dagfile

    cache = getattr(dagfile, "_cache", None)
    if isinstance(cache, dict):
        cache.clear()
    gc.collect()


# -- the worker process --------------------------------------------------------------------


def write_frame(stream, data: bytes) -> None:
    stream.write(_FRAME.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_frame(stream) -> bytes | None:
    """One frame, or None at the end of the stream (the other side is gone). ``stream`` is
    buffered: its ``read(n)`` returns n bytes unless the stream ends."""
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        return None
    (size,) = _FRAME.unpack(head)
    data = stream.read(size)
    return data if len(data) == size else None


def main() -> None:
    """The worker loop: settings, then chunks, until an empty frame or the end of stdin."""
    requests, replies = sys.stdin.buffer, os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a stray print must not corrupt the replies
    gc.disable()
    first = read_frame(requests)
    if first is None:
        return
    settings = pickle.loads(first)  # from our parent, the only writer of this pipe
    sys.path[:] = settings["sys_path"]
    code = project_code(settings["roots"], settings.get("environment"))
    # Imported before the freeze: what start-up makes lives as long as the worker, and then no
    # collection walks it again.
    import analysis.dags.dagfile
    import analysis.files
    import analysis.source  # noqa: F401
    import server.indexing.codec
    import server.indexing.views  # noqa: F401

    gc.freeze()
    while (frame := read_frame(requests)):
        results = []
        for path, explicit in pickle.loads(frame):
            try:
                results.append(extract_one(path, explicit, code))
            except Exception as error:  # noqa: BLE001 - the parent extracts it again and reports
                results.append(Extracted(path, FAILED, skipped=f"{type(error).__name__}: {error}"[:300]))
        write_frame(replies, pickle.dumps(results, protocol=5))
        free_chunk_garbage()
