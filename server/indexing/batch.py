"""Facts for many files at once: what the cache holds, then worker processes, then this process.

A ``Batch`` is one run over a workspace (a CLI command, the server's index rebuild):

1. ``run_workers(jobs)``: the files the cache likely cannot answer — no entry, or the file's
   size or mtime moved since the entry was made (a hint for scheduling only: the key is the
   text's SHA-1) — are extracted in worker processes when there are enough of them to pay for
   the workers;
2. the caller then walks its files in its own order and asks: ``dag_file(path, explicit)``
   (``dags``: reads the file, answers the ``dags --json`` view or the facts), or ``known(path,
   text, code)`` (the hook ``discover`` calls with the text it read; None: extract it yourself);
   an answer holds only for the SHA-1 of the text and while every dependency (a module's or a
   data file's text, a folder's listing), as ``code`` sees it now (the editor's buffers in the
   server), is what the facts were read from (``ProjectCode.current``);
3. ``finish()`` stores what was extracted in this run.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Mapping, Sequence

from analysis.facts import FileFacts
from analysis.files import read_disk, walk_python_files
from server.indexing.cache import (
    KIND_DAG,
    KIND_EXPLICIT,
    KIND_NOT_DAG,
    Entry,
    FactCache,
    NewEntry,
    context_key,
)
from server.indexing.codec import decode_facts, encode_facts, text_sha1
from server.indexing.pool import extract_in_workers, should_use_pool, worker_count
from server.indexing.views import view_bytes
from server.indexing.worker import DAG, EXPLICIT, NOT_DAG, SKIPPED, Extracted, extract_text, file_stat

KIND_OF = {DAG: KIND_DAG, EXPLICIT: KIND_EXPLICIT, NOT_DAG: KIND_NOT_DAG}
"""The cache's kind of entry for each worker status that is worth keeping."""
COLLECT_EVERY = 32
"""In-process extractions between two collections of their garbage (the CLI runs with the
collector off; each extraction leaves ~150 KB of trees and scopes in reference cycles, which
is where 1.6 GB went when `dags` read 10,000 files in one process)."""


def normal_roots(roots: Iterable[str] | None) -> tuple[str, ...] | None:
    """Import roots as ``ProjectCode`` keeps them (absolute, normalised, first occurrence)."""
    if roots is None:
        return None
    return tuple(dict.fromkeys(os.path.normpath(os.path.abspath(r)) for r in roots))


def skipped_facts(path: str, skipped: str | None) -> FileFacts:
    return FileFacts(path=path, error=skipped, skipped=skipped)


def dag_file_candidates(dag_roots: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """The files ``discover`` reads as possible DAG files (before it reads them)."""
    skip = set(exclude)
    return [path for folder in dag_roots for path in walk_python_files(folder) if path not in skip]


class Batch:
    def __init__(self, roots: Iterable[str] | None, cache: FactCache | None, payload: str = "facts", *,
                 workers: int | None = None, code=None,
                 previous: Mapping[str, FileFacts] | None = None,
                 previous_texts: Mapping[str, str] | None = None,
                 environment: Mapping[str, str] | None = None) -> None:
        """``roots``: the import roots extraction follows (None: it follows none); ``environment``:
        the deployment's variables DAG files read at import (the ``environment`` setting; by
        default ``code``'s), part of the cache's context and given to every worker; ``payload``:
        ``"facts"`` or ``"view"`` (the ``dags --json`` object), what answers carry; ``code``:
        the ``ProjectCode`` for extracting here and reading dependencies in ``dag_file``;
        ``previous``/``previous_texts``: facts already in memory and the texts they came from
        (the server's last snapshot), reused before anything is decoded."""
        assert payload in ("facts", "view")
        self.roots = normal_roots(roots)
        self.cache = cache
        self.payload = payload
        if environment is None:
            environment = getattr(code, "environment", None)
        self.environment = dict(environment or {})
        self.context = context_key(self.roots, self.environment)
        self.workers = worker_count() if workers is None else workers
        self.code = code
        self.previous = previous or {}
        self.previous_texts = previous_texts or {}
        self.fresh: dict[str, Extracted] = {}
        """Extracted by workers in this run, not yet asked for."""
        self.stats = {"cached": 0, "previous": 0, "workers": 0, "here": 0}
        self._entries: dict[str, Entry] | None = None
        self._new: dict[str, NewEntry] = {}
        self._restat: list[tuple[str, str, tuple[int, int]]] = []
        self._misses: dict[str, str] = {}
        self._disk = None
        """A ``ProjectCode`` over the disk: guesses which entries hold, to schedule the workers."""
        self._extracted_here = 0

    # -- the cache's entries -------------------------------------------------------------------

    @property
    def entries(self) -> dict[str, Entry]:
        if self._entries is None:
            self._entries = self.cache.entries(self.context, self.payload) if self.cache is not None else {}
        return self._entries

    def _likely_hit(self, path: str, explicit: bool) -> bool:
        """The entry will probably hold: the file's stat has not moved and its dependencies'
        texts on disk are the recorded ones (a changed shared module sends every DAG file read
        through it to the workers)."""
        entry = self.entries.get(path)
        if entry is None or entry.stat is None or (explicit and entry.kind == KIND_NOT_DAG):
            return False
        return file_stat(path) == entry.stat and self.current(entry.dependencies, self._disk_code())

    def _disk_code(self):
        if self._disk is None:
            from analysis.dags.modules import ProjectCode

            self._disk = ProjectCode(self.roots or (), lambda path: read_disk(path).text,
                                     environment=self.environment)
        return self._disk

    @staticmethod
    def current(dependencies: Sequence[tuple[str, str]], code) -> bool:
        """Every dependency (a module's or a data file's text, a folder's listing) is still what
        the facts were read from, as ``code`` sees it now (the editor's buffers in the server)."""
        return not dependencies or (code is not None and code.current(dependencies))

    # -- 1. workers --------------------------------------------------------------------------

    def run_workers(self, jobs: Iterable[tuple[str, bool]]) -> int:
        """Extract in worker processes the files that the cache or the previous facts likely
        cannot answer, if there are enough of them; returns how many were sent."""
        misses = [(path, explicit) for path, explicit in jobs
                  if path not in self.previous and not self._likely_hit(path, explicit)]
        if not should_use_pool(len(misses), self.workers):
            return 0
        for result in extract_in_workers(misses, self.roots, self.workers, self.environment):
            self.fresh[result.path] = result
        return len(misses)

    # -- 2a. ``dags``: read and answer ---------------------------------------------------------

    def dag_file(self, path: str, explicit: bool) -> bytes | FileFacts | None:
        """The ``dags`` answer for one file: its view (``payload="view"``; facts when no view
        could be kept) or its facts; None when it is no DAG file and not named ``explicit``ly."""
        fresh = self.fresh.pop(path, None)
        if fresh is not None:
            if fresh.status == SKIPPED:
                return skipped_facts(path, fresh.skipped)
            if fresh.status in KIND_OF and self.current(fresh.dependencies, self.code):
                self._keep(fresh)
                self.stats["workers"] += 1
                if fresh.status == NOT_DAG or (fresh.status == EXPLICIT and not explicit):
                    return None
                answer = self._answer(fresh.facts, fresh.view, path)
                if answer is not None:
                    return answer
            # failed in the worker, or a dependency changed since: extract it here
        stat = file_stat(path)
        decoded = read_disk(path)
        if decoded.text is None:
            return skipped_facts(path, decoded.skipped)
        text = decoded.text
        sha1 = text_sha1(text)
        entry = self.entries.get(path)
        if entry is not None and entry.sha1 == sha1 and self.current(entry.dependencies, self.code):
            if entry.kind != KIND_DAG and not explicit:
                self._restat_if_moved(entry, stat)
                return None
            if entry.kind != KIND_NOT_DAG and entry.payload is not None:
                answer = entry.payload if self.payload == "view" else decode_facts(entry.payload, path)
                if answer is not None:
                    self._restat_if_moved(entry, stat)
                    self.stats["cached"] += 1
                    return answer
        result, facts = self._extract_here(path, text, explicit, stat)
        if facts is None:
            return None
        return facts if self.payload == "facts" or result.view is None else result.view

    def _answer(self, facts: bytes | None, view: bytes | None, path: str) -> bytes | FileFacts | None:
        if self.payload == "view" and view is not None:
            return view
        return decode_facts(facts, path)

    def _extract_here(self, path: str, text: str, explicit: bool,
                      stat: tuple[int, int] | None) -> tuple[Extracted, FileFacts | None]:
        result, facts = extract_text(path, text, explicit, self.code, stat)
        self._keep(result)
        self.stats["here"] += 1
        self._extracted_here += 1
        if self._extracted_here % COLLECT_EVERY == 0:
            gc.collect(0)  # only what was made since the last one: cheap
        return result, facts

    # -- 2b. ``discover``: the text is read, the facts may be known ---------------------------

    def known(self, path: str, text: str, code) -> FileFacts | None:
        """The facts of ``path`` for ``text`` if this batch knows them (``discover``'s hook);
        None: the caller extracts the file (and ``finish`` stores what it got)."""
        facts = self.previous.get(path)
        if facts is not None and facts.error is None and self.previous_texts.get(path) == text \
                and self.current(facts.dependencies, code):
            self.stats["previous"] += 1
            return facts
        sha1 = text_sha1(text)
        fresh = self.fresh.pop(path, None)
        if fresh is not None and fresh.status == DAG and fresh.sha1 == sha1 \
                and self.current(fresh.dependencies, code):
            facts = decode_facts(fresh.facts, path)
            if facts is not None:
                self._keep(fresh)
                self.stats["workers"] += 1
                return facts
        entry = self.entries.get(path)
        if entry is not None and entry.kind == KIND_DAG and entry.sha1 == sha1 \
                and self.current(entry.dependencies, code):
            facts = decode_facts(entry.payload, path)
            if facts is not None:
                self._restat_if_moved(entry, file_stat(path))
                self.stats["cached"] += 1
                return facts
        self._misses[path] = sha1
        self.stats["here"] += 1
        return None

    # -- 3. storing ----------------------------------------------------------------------------

    def _keep(self, result: Extracted) -> None:
        if result.status in KIND_OF and result.sha1 is not None:
            self._new[result.path] = NewEntry(result.path, result.sha1, KIND_OF[result.status], result.dependencies,
                                              result.facts, result.view, result.stat)

    def _restat_if_moved(self, entry: Entry, stat: tuple[int, int] | None) -> None:
        if stat is not None and stat != entry.stat:
            self._restat.append((entry.path, entry.sha1, stat))

    def finish(self, files: Mapping[str, FileFacts] | None = None) -> bool:
        """Store this run's new facts: what workers extracted (asked for or not: a helper module
        that is no DAG file need not be read again), what ``dag_file`` extracted here, and,
        from ``files`` (``discover``'s result), the facts of every ``known`` miss."""
        for result in self.fresh.values():
            self._keep(result)
        self.fresh.clear()
        for path, sha1 in self._misses.items():
            facts = (files or {}).get(path)
            # Not the previous facts: those were kept because extracting this text raised.
            if facts is not None and facts.path == path and not facts.skipped \
                    and facts is not self.previous.get(path):
                # No stat: the text may have been an editor's buffer, not the file on disk.
                self._new[path] = NewEntry(path, sha1, KIND_DAG, facts.dependencies, encode_facts(facts),
                                           view_bytes(facts))
        self._misses.clear()
        new, restat = list(self._new.values()), self._restat
        self._new, self._restat = {}, []
        if self.cache is None:
            return False
        return self.cache.put(self.context, new, restat)


def prepared_discovery(dag_roots: Iterable[str], roots: Iterable[str] | None, cache: FactCache | None, *,
                       exclude: Iterable[str] = (), previous: Mapping[str, FileFacts] | None = None,
                       previous_texts: Mapping[str, str] | None = None,
                       environment: Mapping[str, str] | None = None) -> Batch:
    """A batch for ``discover``: the likely misses among the DAG folders' files already
    extracted by workers; pass ``batch.known`` to ``discover`` and call ``batch.finish``.
    ``environment``: the layout's (``Layout.environment``), as ``discover``'s code has it."""
    batch = Batch(roots, cache, "facts", previous=previous, previous_texts=previous_texts,
                  environment=environment)
    batch.run_workers((path, False) for path in dag_file_candidates(dag_roots, exclude))
    return batch



def discover_cached(layout, read, *, read_only: bool = False, cache: FactCache | None = None):
    """``discover`` for the command line: the workspace's cache (written unless ``read_only``:
    a dry run writes nothing) and worker processes for what it lacks."""
    from analysis.project import discover

    if cache is None:
        cache = FactCache.for_workspace(layout.root, read_only=read_only)
    try:
        exclude = [layout.dagster_module_path] if layout.dagster_module_path else []
        batch = prepared_discovery(layout.dag_roots(), layout.code_roots(), cache, exclude=exclude,
                                   environment=dict(layout.environment))
        project = discover(layout, read, known=batch.known)
        batch.finish(project.files)
    finally:
        if cache is not None:
            cache.close()
    return project
