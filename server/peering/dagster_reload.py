"""Reloading Dagster's code locations when a Dagster module changes on disk, so that the
webserver serves the code the editor (or the user) just wrote: without it, a scaffolded asset
stays "not executable" and a proxy launched now fails ("No asset nodes found to trigger").

Runs on the poller thread, from ``DagsterWatcher.poll``, before that poll's reads (which then see
the new code). Not with an API token (Dagster+): Dagster+ serves the code deployed to it, not the
file on this disk, so a reload would load the same code again. Each poll stats the project's Dagster modules (no request); a module whose
signature (mtime, size, inode) moved, and was last written more than ``SETTLE`` seconds ago
(a burst of saves is one change), is reloaded: one ``reloadRepositoryLocation`` mutation per
code location that loads it, outside the poll's request budget. Which locations: those whose
definitions of the module's assets the last poll read; else the ones remembered from an earlier
reload of the module; else one ``workspaceOrError`` request, and the location whose
``python_file`` is the module, the only location, or those that failed to load.

Shapes follow Dagster 1.13's schema (``dagster_graphql``): ``reloadRepositoryLocation(
repositoryLocationName: String!): ReloadRepositoryLocationMutationResult!``, a union of
``WorkspaceLocationEntry`` (``locationOrLoadError``: the ``RepositoryLocation``, or the
``PythonError`` raised while loading the new code), ``ReloadNotSupported``,
``RepositoryLocationNotFound``, ``UnauthorizedError`` and ``PythonError``. The mutation returns
once the location has loaded (a few seconds: Dagster starts a new code server).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from analysis.readiness import AssetDefinition
from server.peering.transport import PeeringError, RequestPolicy, one_line

log = logging.getLogger("airlift-lsp.peering")

SETTLE = 0.5
"""Seconds a changed module must have stayed unwritten before it is reloaded."""
RELOAD_POLICY = RequestPolicy(connect_timeout=3.0, read_timeout=120.0, retries=0)
"""A reload waits for the new code server to load the module: no retry, a long read."""
CLI_POLICY = RequestPolicy(connect_timeout=3.0, read_timeout=10.0, retries=0)
CLI_RELOAD_POLICY = RequestPolicy(connect_timeout=3.0, read_timeout=60.0, retries=0)

PYTHON_ERROR = "... on PythonError { message errorChain { error { message } } }"
RELOAD_MUTATION = ("""mutation AirliftReload($name: String!) {
  reloadRepositoryLocation(repositoryLocationName: $name) { __typename
    ... on WorkspaceLocationEntry { name locationOrLoadError { __typename """ + PYTHON_ERROR + """ } }
    ... on ReloadNotSupported { message } ... on RepositoryLocationNotFound { message }
    ... on UnauthorizedError { message } """ + PYTHON_ERROR + " } }")
LOCATIONS_QUERY = """query AirliftLocations { workspaceOrError { __typename
    ... on Workspace { locationEntries { name displayMetadata { key value }
      locationOrLoadError { __typename } } }
    ... on PythonError { message } } }"""

HINTS = {
    "ReloadNotSupported": " (reload it where it runs, e.g. restart its code server)",
    "UnauthorizedError": " (a read-only webserver, or a token without that permission: reload it where Dagster runs)",
}
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt)\b.*")
_FILE_LINE = re.compile(r'File "([^"]+)", line (\d+)')


@dataclass(frozen=True, slots=True)
class ReloadNote:
    """A reload that did not leave the location loaded: the line shown in the Output, and on
    the lens of the tasks the changed modules map (as last read without a syntax error)."""

    location: str
    message: str
    keys: frozenset[str] = frozenset()
    tasks: frozenset[tuple[str, str | None]] = frozenset()
    """``(dag_id, task_id)``; ``task_id`` None for a DAG-level mapping."""


@dataclass(frozen=True, slots=True)
class ModuleMap:
    """What one Dagster module maps: asset keys and the tasks they are mapped to."""

    keys: frozenset[str] = frozenset()
    tasks: frozenset[tuple[str, str | None]] = frozenset()

    def __or__(self, other: ModuleMap) -> ModuleMap:
        return ModuleMap(self.keys | other.keys, self.tasks | other.tasks)


@dataclass(frozen=True, slots=True)
class LocationEntry:
    name: str
    python_file: str | None
    failed: bool
    """Its code did not load (``locationOrLoadError`` is a ``PythonError``)."""


def python_error_line(error: Any) -> str:
    """The line that says what went wrong in a ``PythonError`` (with ``errorChain``): the
    innermost cause's exception line (``SyntaxError: '(' was never closed``) with its file and
    line when the message has them, else the outer message's first line."""
    if not isinstance(error, Mapping):
        return "no detail"
    messages = [error.get("message")]
    for link in error.get("errorChain") or []:
        if isinstance(link, Mapping) and isinstance(link.get("error"), Mapping):
            messages.append(link["error"].get("message"))
    texts = [m for m in messages if isinstance(m, str) and m.strip()]
    if not texts:
        return "no detail"
    innermost = texts[-1]
    lines = [line.strip() for line in innermost.splitlines() if line.strip()]
    line = next((candidate for candidate in lines if _EXCEPTION_LINE.match(candidate)), lines[0])
    where = _FILE_LINE.search(innermost)
    if where and f"line {where[2]}" not in line:
        line += f" ({os.path.basename(where[1])}, line {where[2]})"
    return one_line(line, 200)


def reload_outcome(location: str, answer: Any) -> str | None:
    """None when Dagster reloaded ``location`` and loaded its code; else the line to show."""
    if not isinstance(answer, Mapping):
        return f"Dagster could not reload `{location}`: an answer without `reloadRepositoryLocation`"
    kind = answer.get("__typename")
    if kind == "WorkspaceLocationEntry":
        loaded = answer.get("locationOrLoadError")
        if isinstance(loaded, Mapping) and loaded.get("__typename") == "PythonError":
            return f"Dagster could not load `{location}`: {python_error_line(loaded)}"
        return None  # RepositoryLocation (null: still loading, the next polls say)
    if kind == "PythonError":
        detail = python_error_line(answer)
    else:
        message = answer.get("message")
        detail = one_line(message, 200) if isinstance(message, str) and message.strip() else str(kind)
    return f"Dagster could not reload `{location}`: {detail}{HINTS.get(str(kind), '')}"


def reload_location(client, location: str, policy: RequestPolicy = RELOAD_POLICY) -> tuple[str | None, str | None]:
    """One mutation: the answer's type (None when there was no answer) and None when reloaded
    and loaded, else the line to show. Never raises."""
    try:
        data = client.query(RELOAD_MUTATION, {"name": location}, f"reload the code location `{location}`",
                            policy=policy)
    except PeeringError as error:
        return None, f"Dagster could not reload `{location}`: {error}"
    answer = data.get("reloadRepositoryLocation")
    kind = answer.get("__typename") if isinstance(answer, Mapping) else None
    return kind, reload_outcome(location, answer)


def location_entries(client) -> list[LocationEntry]:
    """The webserver's code locations (one request); a PeeringError when they cannot be read."""
    data = client.query(LOCATIONS_QUERY, {}, "list the code locations")
    workspace = client.typed(data, "workspaceOrError", "Workspace", "workspaceOrError")
    found = []
    for entry in workspace.get("locationEntries") or []:
        if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
            continue
        metadata = {m.get("key"): m.get("value") for m in entry.get("displayMetadata") or [] if isinstance(m, Mapping)}
        loaded = entry.get("locationOrLoadError")
        found.append(LocationEntry(entry["name"], metadata.get("python_file"),
                                   isinstance(loaded, Mapping) and loaded.get("__typename") == "PythonError"))
    return found


def _same_file(one: str, other: str) -> bool:
    return os.path.normcase(os.path.realpath(one)) == os.path.normcase(os.path.realpath(other))


def pick_locations(path: str, entries: list[LocationEntry]) -> tuple[str, ...]:
    """The locations that load ``path`` when no asset says so: the one(s) started on that very
    file (``dagster dev -f path``), else the only one, else those whose code failed to load."""
    by_file = [e.name for e in entries if e.python_file and _same_file(e.python_file, path)]
    if by_file:
        return tuple(by_file)
    if len(entries) == 1:
        return (entries[0].name,)
    return tuple(e.name for e in entries if e.failed)


def reload_after_write(settings, paths: list[str]) -> list[str]:
    """For the CLI, once it wrote Dagster modules (``paths``) with ``dagster.url`` set: the
    locations listed (one request), then one reload each of those that load the files; the
    lines to print, a warning each for what failed."""
    from server.peering.dagster_client import DagsterClient

    client = DagsterClient.from_settings(settings, policy=CLI_POLICY)
    try:
        try:
            entries = location_entries(client)
        except PeeringError as error:
            return [f"warning: Dagster could not reload the code location: {error}"]
        names = sorted({name for path in paths for name in pick_locations(path, entries)})
        if not names:
            files = ", ".join(os.path.basename(p) for p in paths)
            return [f"warning: no code location of Dagster at {client.base_url} loads {files}: reload it in Dagster's UI"]
        lines = []
        for name in names:
            outcome = reload_location(client, name, CLI_RELOAD_POLICY)[1]
            lines.append(f"Dagster reloaded `{name}`" if outcome is None else f"warning: {outcome}")
        return lines
    finally:
        client.close()


def signature(path: str) -> tuple[int, int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size, stat.st_ino)


class CodeReloader:
    """What the poller thread reloads. ``modules()`` gives the project's Dagster modules (path →
    ``ModuleMap``); it runs on the poller thread and must be cheap and thread-safe."""

    def __init__(self, modules: Callable[[], Mapping[str, ModuleMap]], *, settle: float = SETTLE,
                 clock: Callable[[], float] = time.time) -> None:
        self._modules = modules
        self._settle = settle
        self._clock = clock
        self._seen: dict[str, tuple[int, int, int] | None] = {}
        self._locations: dict[str, tuple[str, ...]] = {}
        """Each module's locations, from its last reload: a module broken then fixed has no
        loaded definitions to tell."""
        self._maps: dict[str, ModuleMap] = {}
        """Each module's last map that was not empty (a module with a syntax error maps nothing)."""
        self._notes: dict[str, ReloadNote] = {}
        self._since: float | None = None
        """When the modules were first seen: a module appearing later counts as written if its
        file was written since."""
        self.reloads = 0
        """Mutations sent."""

    @property
    def notes(self) -> tuple[ReloadNote, ...]:
        return tuple(self._notes[name] for name in sorted(self._notes))

    def changed(self) -> dict[str, ModuleMap]:
        """The modules whose file changed since the last call, and the new ones written since
        the first (the modules then are only remembered); one still being written waits for the
        next call."""
        modules = self._modules()
        now, found = self._clock(), {}
        initial = self._since is None and bool(modules)
        if initial:
            self._since = now
        for path, mapped in modules.items():
            if mapped.keys or mapped.tasks:
                self._maps[path] = mapped
            current = signature(path)
            if path in self._seen:
                moved = current != self._seen[path]
            else:  # a module the first "Map task to asset" created, or one the index just found
                moved = not initial and current is not None and current[0] / 1e9 > (self._since or now)
                if not moved:
                    self._seen[path] = current
            if not moved or (current is not None and now - current[0] / 1e9 < self._settle):
                continue
            self._seen[path] = current
            found[path] = self._maps.get(path, mapped)
        for path in [p for p in self._seen if p not in modules]:
            del self._seen[path]
            self._maps.pop(path, None)
        return found

    def reload(self, client, definitions: Mapping[str, AssetDefinition | None]) -> bool:
        """Reload the locations of the modules changed on disk; True when one was asked."""
        changed = self.changed()
        if not changed:
            return False
        wanted: dict[str, ModuleMap] = {}
        entries: list[LocationEntry] | None = None
        for path, mapped in changed.items():
            self._notes.pop(path, None)
            names = {d.location for key in mapped.keys if (d := definitions.get(key)) is not None and d.location}
            names = names or set(self._locations.get(path, ()))
            if not names:
                try:
                    entries = location_entries(client) if entries is None else entries
                except PeeringError as error:
                    self._note(path, f"Dagster could not reload the code location of `{os.path.basename(path)}`: "
                                     f"{error}", mapped)
                    continue
                names = set(pick_locations(path, entries))
            if not names:
                log.warning("no code location of Dagster at %s loads `%s`: reload it in Dagster's UI",
                            client.base_url, path)
                continue
            self._locations[path] = tuple(sorted(names))
            for name in names:
                wanted[name] = wanted.get(name, ModuleMap()) | mapped
        for name in sorted(wanted):
            self.reloads += 1
            began = time.monotonic()
            kind, outcome = reload_location(client, name)
            if outcome is None:
                self._notes.pop(name, None)
                log.info("Dagster reloaded code location `%s` (%.1f s)", name, time.monotonic() - began)
            else:
                self._note(name, outcome, wanted[name])
                if kind == "RepositoryLocationNotFound":  # renamed or removed: ask again next time
                    for path, names in list(self._locations.items()):
                        self._locations[path] = tuple(n for n in names if n != name)
        return True

    def _note(self, name: str, message: str, mapped: ModuleMap) -> None:
        self._notes[name] = ReloadNote(name, message, mapped.keys, mapped.tasks)
        log.warning("%s", message)
