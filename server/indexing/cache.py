"""The facts cache on disk: one SQLite database per workspace.

An entry is the facts of one file, found by (context, absolute path) and valid only for the
SHA-1 of the text it was read from and while every ``(path, SHA-1)`` of its
``FileFacts.dependencies`` still matches that file's current text (checked by the caller, who
knows the editor's buffers). The context is the tool version (the package version, the Python
that parsed, and a hash of the ``analysis`` package's and this package's source: a code change
invalidates everything) and the import roots (which change what extraction reads).

Why SQLite (WAL) rather than a file per shard: the server and several CLIs may write at once,
and SQLite serializes writers and lets readers read during a write without our own locking; one
changed file is one row, not a shard rewritten; and ``dags --json`` reads only the column it
prints. What SQLite does not check, we do: every row carries a BLAKE2 checksum over its key and
payload, a payload starts with a format header, and facts decode with an unpickler that can
build nothing but the classes of ``analysis.facts``. A row that fails any of these is ignored
(and dropped at the next write); a database SQLite cannot read is deleted and started afresh.
It is a cache: any failure means "extract again", never an error.

Where it lives, and how it is turned off: ``cache_location``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import sqlite3
import struct
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import analysis
from server.indexing.cache_location import DATABASE, cache_enabled, cache_folder

log = logging.getLogger("airlift-lsp")

SCHEMA = "2"

KIND_NOT_DAG = 0
"""The text does not mention both "airflow" and "dag": no facts."""
KIND_DAG = 1
KIND_EXPLICIT = 2
"""Facts of a text that does not look like a DAG file (``dags FILE`` names it): a DAG file only
where it is named."""
KINDS = (KIND_NOT_DAG, KIND_DAG, KIND_EXPLICIT)


# -- what an entry is keyed by -------------------------------------------------------------


@functools.cache
def tool_version() -> str:
    """Changes whenever extraction may change: the package version, the Python that parses, and
    the source of ``analysis`` and of this package (which renders the ``dags --json`` view)."""
    from server import __version__

    digest = hashlib.sha1(f"{__version__}\0{sys.implementation.cache_tag}\0{SCHEMA}".encode())
    for package in (Path(analysis.__file__).parent, Path(__file__).parent):
        for source in sorted(package.rglob("*.py")):
            digest.update(str(source.relative_to(package.parent)).encode("utf-8", "surrogateescape"))
            digest.update(b"\0")
            try:
                digest.update(source.read_bytes())
            except OSError:
                digest.update(b"?")
            digest.update(b"\0")
    return digest.hexdigest()


def context_key(roots: Sequence[str] | None, environment: Mapping[str, str] | None = None) -> str:
    """Tool version and the settings that change extraction: the import roots, in order, and
    the deployment's environment variables (facts read under another ``environment`` setting
    are another context's: they never answer)."""
    parts = [tool_version(), *(["-"] if roots is None else ["+", *roots])]
    if environment:
        parts += ["=", *(f"{name}={value}" for name, value in sorted(environment.items()))]
    return hashlib.sha1("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


# -- payloads ------------------------------------------------------------------------------


def encode_dependencies(dependencies: Iterable[tuple[str, str]]) -> bytes:
    return b"\0".join(os.fsencode(path) + b"\0" + digest.encode("ascii") for path, digest in dependencies)


def decode_dependencies(data: bytes) -> tuple[tuple[str, str], ...] | None:
    if not data:
        return ()
    parts = data.split(b"\0")
    if len(parts) % 2:
        return None
    try:
        return tuple((os.fsdecode(parts[i]), parts[i + 1].decode("ascii")) for i in range(0, len(parts), 2))
    except UnicodeDecodeError:
        return None


def _key_digest(context: str, path: bytes, sha1: str, kind: int, deps: bytes):
    """A BLAKE2 state over an entry's key fields (length-prefixed: no two keys hash alike), to
    be copied and finished with each payload."""
    parts = (context.encode(), path, sha1.encode(), kind.to_bytes(1, "little"), deps)
    return hashlib.blake2b(struct.pack("<5Q", *map(len, parts)) + b"".join(parts), digest_size=16)


def _checksum(key, payload: bytes | None) -> bytes:
    digest = key.copy()
    digest.update(b"\1" + payload if payload is not None else b"\0")
    return digest.digest()


# -- entries -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One file's cached result, checked against its checksum (not yet against the disk)."""

    path: str
    sha1: str
    kind: int
    dependencies: tuple[tuple[str, str], ...]
    payload: bytes | None
    """The encoded facts, or the ``dags --json`` view, whichever was asked for; None for a file
    that is not a DAG file, or when this payload was not stored."""
    stat: tuple[int, int] | None = None
    """(size, mtime in ns) when the text was read: a hint of what changed, never the key."""


@dataclass(frozen=True, slots=True)
class NewEntry:
    path: str
    sha1: str
    kind: int
    dependencies: tuple[tuple[str, str], ...] = ()
    facts: bytes | None = None
    view: bytes | None = None
    stat: tuple[int, int] | None = None


# -- the database --------------------------------------------------------------------------


_LOCKED_RETRIES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
"""Seconds between tries to open a database another process holds (about 3 s in all)."""


class _StillLocked(Exception):
    """The database stayed locked by another process: not cached this time, never discarded."""


def _locked(error: sqlite3.OperationalError) -> bool:
    text = str(error).lower()
    return "locked" in text or "busy" in text


class FactCache:
    """The workspace's facts database. Every method swallows database errors (a cache that
    fails is a cache that misses); the object is used from one thread at a time."""

    def __init__(self, folder: Path, *, read_only: bool = False) -> None:
        self.folder = folder
        self.path = folder / DATABASE
        self.read_only = read_only
        self._connection: sqlite3.Connection | None = None
        self._bad: dict[str, set[bytes]] = {}
        """Rows that failed their checksum, by context: deleted at the next write."""

    @classmethod
    def for_workspace(cls, root: str, *, read_only: bool = False) -> FactCache | None:
        if not cache_enabled():
            return None
        folder = cache_folder(root, create=not read_only)
        return cls(folder, read_only=read_only) if folder is not None else None

    # -- connection --------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection | None:
        if self._connection is not None:
            return self._connection
        try:
            self._connection = self._open_when_free()
        except _StillLocked as error:
            log.debug("facts cache %s busy (%s): not used this time", self.path, error)
            return None
        except sqlite3.DatabaseError as error:
            log.debug("facts cache %s unreadable (%s)", self.path, error)
            self._connection = None
            if self.read_only:
                return None
            self._discard()
            try:
                self._connection = self._open()
            except sqlite3.DatabaseError as again:
                log.info("facts cache %s unusable: %s", self.path, again)
                return None
        return self._connection

    def _open_when_free(self) -> sqlite3.Connection:
        """``_open``, tried again while another process holds the database (making it, or
        turning it to WAL: SQLite may answer "locked" there without waiting): a lock is no damage,
        and a database another process is writing must never be discarded."""
        for delay in _LOCKED_RETRIES:
            try:
                return self._open()
            except sqlite3.OperationalError as error:
                if not _locked(error):
                    raise
                time.sleep(delay)
        try:
            return self._open()
        except sqlite3.OperationalError as error:
            if _locked(error):  # busy for seconds: not cached this time, and nothing discarded
                raise _StillLocked(str(error)) from error
            raise

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            if not self.path.is_file():
                raise sqlite3.OperationalError("no cache yet")
            # immutable: no lock, no -shm or -wal file made (a dry run writes nothing). A write
            # under way is then not seen, or seen torn: rows that fail their checksum are misses.
            connection = sqlite3.connect(f"{self.path.as_uri()}?mode=ro&immutable=1", uri=True, timeout=5.0,
                                         isolation_level=None, check_same_thread=False)
        else:
            connection = sqlite3.connect(self.path, timeout=10.0, isolation_level=None,
                                         check_same_thread=False)
        try:
            connection.execute("PRAGMA synchronous=NORMAL")  # a cache: a lost write only costs time
            if not self.read_only:
                connection.execute("PRAGMA journal_mode=WAL")
                self._ensure_schema(connection)
            elif self._schema(connection) != SCHEMA:
                raise sqlite3.OperationalError("another cache format")
        except BaseException:
            connection.close()
            raise
        return connection

    @staticmethod
    def _schema(connection: sqlite3.Connection) -> str | None:
        try:
            row = connection.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.OperationalError:
            return None
        return row[0] if row else None

    def _ensure_schema(self, connection: sqlite3.Connection) -> None:
        if self._schema(connection) == SCHEMA:
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            if self._schema(connection) != SCHEMA:  # another process may have just made it
                connection.execute("DROP TABLE IF EXISTS facts")
                connection.execute("DROP TABLE IF EXISTS meta")
                connection.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
                connection.execute(
                    "CREATE TABLE facts (context TEXT NOT NULL, path BLOB NOT NULL, tool TEXT NOT NULL, "
                    "sha1 TEXT NOT NULL, size INTEGER, mtime_ns INTEGER, kind INTEGER NOT NULL, "
                    "deps BLOB NOT NULL, facts BLOB, facts_check BLOB NOT NULL, view BLOB, "
                    "view_check BLOB NOT NULL, PRIMARY KEY (context, path))")
                connection.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise

    def _discard(self) -> None:
        """Delete a database SQLite cannot read; another process holding it open keeps its own
        (deleted) copy, which is harmless."""
        log.info("facts cache %s is damaged: starting a new one", self.path)
        for suffix in ("", "-wal", "-shm", "-journal"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except OSError:
                pass

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except sqlite3.Error:
                pass
            self._connection = None

    # -- reading -----------------------------------------------------------------------------

    def entries(self, context: str, payload: str) -> dict[str, Entry]:
        """Every entry of ``context`` whose checksum holds, with the ``payload`` asked for
        (``"facts"`` or ``"view"``), by path."""
        assert payload in ("facts", "view")
        for attempt in (1, 2):
            connection = self._connect()
            if connection is None:
                return {}
            try:
                rows = connection.execute(
                    f"SELECT path, sha1, size, mtime_ns, kind, deps, {payload}, {payload}_check "
                    "FROM facts WHERE context = ?", (context,)).fetchall()
                break
            except sqlite3.OperationalError as error:  # locked too long, or read-only trouble
                log.debug("facts cache %s not read: %s", self.path, error)
                return {}
            except sqlite3.DatabaseError as error:
                log.debug("facts cache %s unreadable (%s)", self.path, error)
                self.close()
                if self.read_only or attempt == 2:
                    return {}
                self._discard()
        entries: dict[str, Entry] = {}
        bad = self._bad.setdefault(context, set())
        for raw_path, sha1, size, mtime_ns, kind, deps, data, check in rows:
            try:
                good = (isinstance(raw_path, bytes) and isinstance(sha1, str) and isinstance(deps, bytes)
                        and kind in KINDS and (data is None or isinstance(data, bytes))
                        and check == _checksum(_key_digest(context, raw_path, sha1, kind, deps), data))
            except (TypeError, UnicodeEncodeError):
                good = False
            dependencies = decode_dependencies(deps) if good else None
            if dependencies is None:
                bad.add(raw_path if isinstance(raw_path, bytes) else b"")
                continue
            path = os.fsdecode(raw_path)
            stat = (size, mtime_ns) if isinstance(size, int) and isinstance(mtime_ns, int) else None
            entries[path] = Entry(path, sha1, kind, dependencies, data, stat)
        return entries

    # -- writing -----------------------------------------------------------------------------

    def put(self, context: str, new: Sequence[NewEntry],
            restat: Sequence[tuple[str, str, tuple[int, int]]] = ()) -> bool:
        """Store entries in one transaction (and drop what is damaged or from another tool
        version); ``restat``: (path, sha1, stat) of entries that held for a file whose stat
        changed (touched, checked out again). False when the database could not be written
        (busy, read-only, full)."""
        bad = self._bad.pop(context, set())
        if self.read_only or not (new or bad or restat):
            return True
        connection = self._connect()
        if connection is None:
            return False
        tool = tool_version()
        rows = []
        for entry in new:
            raw_path = os.fsencode(entry.path)
            deps = encode_dependencies(entry.dependencies)
            key = _key_digest(context, raw_path, entry.sha1, entry.kind, deps)
            rows.append((context, raw_path, tool, entry.sha1, *(entry.stat or (None, None)), entry.kind, deps,
                         entry.facts, _checksum(key, entry.facts), entry.view, _checksum(key, entry.view)))
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.execute("DELETE FROM facts WHERE tool != ?", (tool,))
                connection.executemany("DELETE FROM facts WHERE context = ? AND path = ?",
                                       [(context, path) for path in bad])
                connection.executemany("INSERT OR REPLACE INTO facts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                       rows)
                connection.executemany("UPDATE facts SET size = ?, mtime_ns = ? "
                                       "WHERE context = ? AND path = ? AND sha1 = ?",
                                       [(*stat, context, os.fsencode(path), sha1) for path, sha1, stat in restat])
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as error:  # busy past the timeout, disk full, read-only
            log.debug("facts cache %s not written: %s", self.path, error)
            return False
        except sqlite3.DatabaseError as error:
            log.debug("facts cache %s not written (%s)", self.path, error)
            self.close()
            self._discard()
            return False
        return True
