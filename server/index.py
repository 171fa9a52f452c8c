"""The workspace index: the project model, kept current from buffers and the disk.

Open editor buffers are the truth; closed files are read from disk and re-read when the
client reports them changed. Every update builds a new immutable ``Snapshot`` that
handlers read without locks; updates run on one worker thread, one at a time. A file whose
analysis raises keeps its last good facts (and the text they came from): one bad file never
stops the index.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from analysis.checks import check_project
from analysis.dags.dagfile import extract_file
from analysis.dagster.component import COMPONENT_FILE_NAMES, looks_like_component
from analysis.dagster.module import looks_like_dagster_module, parse_dagster_module
from analysis.deployed import DeployedDag
from analysis.facts import DagFacts, FileFacts, Finding
from analysis.files import read_disk
from analysis.project import (
    STATE_SUFFIXES,
    Layout,
    Project,
    discover,
    is_unreadable_dagster_module,
    link,
    state_dir_for,
    unreadable_state_file,
)
from analysis.source import Decoded, might_contain_dag
from analysis.state.proxied_state import parse_state_file
from server.indexing.batch import Batch, prepared_discovery
from server.indexing.cache import FactCache
from server.snapshot import Snapshot, dag_for_state_file, state_of

log = logging.getLogger("airlift-lsp")

STATE_FOLDER_NAME = "proxied_state"


@dataclass(slots=True)
class Buffer:
    text: str
    version: int | None


@dataclass(slots=True)
class WorkspaceIndex:
    layout: Layout
    on_snapshot: Callable[[Snapshot], None] = lambda snapshot: None
    buffers: dict[str, Buffer] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _texts: dict[str, str] = field(default_factory=dict)
    _versions: dict[str, int | None] = field(default_factory=dict)
    _generation: int = 0
    _failing: set[str] = field(default_factory=set)
    """Files whose analysis raised last time (logged once, until they analyse again)."""
    _cache: FactCache | None = None
    _cache_opened: bool = False
    _unstored: Batch | None = None
    """The last discovery's new facts, stored in the cache once its snapshot is out."""
    deployed: tuple[DeployedDag, ...] = ()
    """The peered Airflow's DAGs known by their tasks (``set_deployed``): every project links them."""

    # -- reading -------------------------------------------------------------------------

    def read(self, path: str) -> Decoded:
        """A file's text: its open buffer if there is one, else the disk."""
        buffer = self.buffers.get(path)
        if buffer is not None:
            decoded = Decoded(buffer.text)
            self._versions[path] = buffer.version
        else:
            decoded = read_disk(path)
            self._versions.pop(path, None)
        if decoded.text is not None:
            self._texts[path] = decoded.text
        else:
            self._texts.pop(path, None)  # facts from no text (unreadable): none to list
        return decoded

    def version_of(self, path: str) -> int | None:
        buffer = self.buffers.get(path)
        return buffer.version if buffer else None

    # -- updates (worker thread) -----------------------------------------------------------

    def rebuild(self, progress: Callable[[str, int], None] | None = None) -> Snapshot:
        """Discover everything again (start-up, settings changed)."""
        with self._lock:
            project = self._discover()
            if progress:
                progress(f"{len(project.files)} DAG files", 100)
            snapshot = self._publish(project)
            self._store()
            return snapshot

    def update_files(self, paths: Iterable[str]) -> Snapshot | None:
        """Re-read changed files (buffers or disk) and publish a new snapshot."""
        with self._lock:
            current = self.snapshot
            if current is None:
                return None
            previous = current.project
            project = Project(previous.layout, dict(previous.files), dict(previous.states),
                              dict(previous.dagster_modules),
                              unreadable_dagster_modules=dict(previous.unreadable_dagster_modules),
                              code=previous.code, deployed=self.deployed)
            needs_rebuild = False
            changed = list(dict.fromkeys(paths))
            if project.code is not None:
                # A workspace module changed: the DAG files read through it are read again.
                project.code.forget(changed)
                touched = set(changed)
                folders = {os.path.dirname(path) for path in touched}  # listed by a DAG file, maybe
                changed += [f.path for f in previous.files.values() if f.path not in touched
                            and any(dependency in touched or dependency in folders
                                    for dependency, _ in f.dependencies)]
            for path in changed:
                text, version = self._texts.get(path), self._versions.get(path)
                try:
                    needs_rebuild |= self._apply(project, path)
                except Exception as error:  # noqa: BLE001 - one bad file must not stop the index
                    self._restore_text(path, text, version)
                    self._failed(path, error)
                else:
                    self._analysed(path)
            if needs_rebuild:
                project = self._discover()
            else:
                link(project)
            snapshot = self._publish(project)
            self._store()
            return snapshot

    def set_deployed(self, deployed: Iterable[DeployedDag]) -> Snapshot | None:
        """The peered Airflow's DAGs changed: link them into the project and publish."""
        with self._lock:
            self.deployed = tuple(deployed)
            if self.snapshot is None:
                return None  # the rebuild under way links them
            project = replace(self.snapshot.project, deployed=self.deployed)
            link(project)
            return self._publish(project)

    def _discover(self) -> Project:
        """``discover`` over buffers and disk; a file whose analysis raises keeps the facts
        (and text) of the last snapshot."""
        previous = self.snapshot.project if self.snapshot else None
        texts, versions = self._texts, dict(self._versions)
        self._texts = {}
        failed: list[str] = []

        def on_error(path: str, error: Exception) -> None:
            failed.append(path)
            self._failed(path, error)

        batch = self._prepare(previous)
        project = discover(self.layout, self.read, open_paths=list(self.buffers), on_error=on_error,
                           known=batch.known if batch is not None else None)
        self._unstored = batch
        if batch is not None:
            stats = batch.stats
            log.info("%d DAG files: %d unchanged, %d from the facts cache, %d extracted by worker processes, "
                     "%d here", len(project.files), stats["previous"], stats["cached"], stats["workers"],
                     stats["here"])
        for path in self._failing - set(failed):
            self._analysed(path)
        if failed:
            for path in failed:
                self._restore_text(path, texts.get(path), versions.get(path))
                if previous is None:
                    continue
                for ours, theirs in ((project.files, previous.files), (project.states, previous.states),
                                     (project.dagster_modules, previous.dagster_modules)):
                    if path in theirs:
                        ours[path] = theirs[path]  # type: ignore[index]
            link(project)
        if self.deployed:
            project.deployed = self.deployed
            link(project)
        return project

    def _prepare(self, previous: Project | None) -> Batch | None:
        """What discovery may take without extracting here: the last snapshot's facts, the
        cache's, and (start-up, many files changed) worker processes' for what neither has."""
        try:
            if not self._cache_opened:
                self._cache_opened = True
                self._cache = FactCache.for_workspace(self.layout.root)
            dagster = self.layout.dagster_module_path
            return prepared_discovery(self.layout.dag_roots(), self.layout.code_roots(), self._cache,
                                      exclude=[*self.buffers, *([dagster] if dagster else [])],
                                      previous=previous.files if previous is not None else None,
                                      previous_texts=self.snapshot.texts if self.snapshot is not None else None,
                                      environment=dict(self.layout.environment))
        except Exception as error:  # without cache or workers, discovery extracts everything
            log.warning("facts cache and worker processes unavailable (%s); analysing here", one_line(error))
            log.debug("preparing the discovery failed", exc_info=error)
            return None

    def _store(self) -> None:
        batch, self._unstored = self._unstored, None
        if batch is None or self.snapshot is None:
            return
        try:
            batch.finish(self.snapshot.project.files)
        except Exception as error:  # a cache that cannot be written costs time only
            log.debug("storing facts in the cache failed", exc_info=error)

    def _restore_text(self, path: str, text: str | None, version: int | None) -> None:
        """Back to the text (and version) the file's kept facts were computed from."""
        if text is None:
            self._texts.pop(path, None)
        else:
            self._texts[path] = text
        if version is None:
            self._versions.pop(path, None)
        else:
            self._versions[path] = version

    def _failed(self, path: str, error: Exception) -> None:
        if path not in self._failing:
            self._failing.add(path)
            log.warning("cannot analyse %s (%s); keeping its last analysis", path, one_line(error))
        log.debug("analysing %s failed", path, exc_info=error)

    def _analysed(self, path: str) -> None:
        if path in self._failing:
            self._failing.discard(path)
            log.info("%s analyses again", path)

    def _apply(self, project: Project, path: str) -> bool:
        """Update one file in ``project``; True when the change needs a full rediscovery."""
        exists = path in self.buffers or os.path.isfile(path)
        if path.endswith(STATE_SUFFIXES) and (path in project.dagster_modules or self._is_configured_dagster_module(
                path) or os.path.basename(path) in COMPONENT_FILE_NAMES):
            return self._apply_component(project, path, exists)
        if path.endswith(STATE_SUFFIXES):
            if not exists:
                project.states.pop(path, None)
                self._texts.pop(path, None)
                return False
            if self._is_state_file(project, path):
                decoded = self.read(path)
                project.states[path] = parse_state_file(path, decoded.text) if decoded.text is not None \
                    else unreadable_state_file(path, decoded.skipped)
            return False
        if not path.endswith(".py"):
            return False
        if not exists:
            removed = project.files.pop(path, None) or project.dagster_modules.pop(path, None)
            project.unreadable_dagster_modules.pop(path, None)
            self._texts.pop(path, None)
            return removed is not None and isinstance(removed, FileFacts) and removed.proxying is not None
        decoded = self.read(path)
        if decoded.text is None:
            if project.dagster_modules.pop(path, None) is not None:
                self._texts.pop(path, None)
            if is_unreadable_dagster_module(self.layout, path, decoded):
                # Plans must refuse to write a module they cannot read, not create one over it.
                project.unreadable_dagster_modules[path] = decoded.skipped or "cannot be read"
            else:
                project.unreadable_dagster_modules.pop(path, None)
            if self._in_dag_folders(path):
                project.files[path] = FileFacts(path=path, skipped=decoded.skipped)
            return False
        project.unreadable_dagster_modules.pop(path, None)
        if path in project.dagster_modules or self._is_configured_dagster_module(path) or (
                not self.layout.dagster_module and looks_like_dagster_module(decoded.text)):
            project.dagster_modules[path] = parse_dagster_module(path, decoded.text)
            project.files.pop(path, None)
            return False
        before = project.files.get(path)
        if not (self._in_dag_folders(path) if before is not None else self.layout.walks_to(path)):
            return False
        if not might_contain_dag(decoded.text) and before is None:
            return False
        facts = extract_file(path, decoded.text, project.code)
        if facts.error and before is not None and before.dags:
            # Mid-edit breakage: keep the last good DAGs for navigation, show the error.
            facts = replace(before, error=facts.error, error_range=facts.error_range,
                            findings=facts.findings)
        project.files[path] = facts
        # A new state folder (the hook's argument changed) means new state files to find.
        old_dir = state_dir_for(before) if before else None
        return old_dir != state_dir_for(facts) and bool(facts.dags)

    def _is_state_file(self, project: Project, path: str) -> bool:
        folder = os.path.dirname(path)
        return path in project.states or any(state_dir_for(f) == folder for f in project.files.values()) \
            or os.path.basename(folder) == STATE_FOLDER_NAME

    def _apply_component(self, project: Project, path: str, exists: bool) -> bool:
        """A dagster-airlift component's ``defs.yaml`` (configured, or one that declares the
        ``AirflowInstanceComponent``) is the Dagster side, read again; any other is dropped."""
        decoded = self.read(path) if exists else None
        text = decoded.text if decoded is not None else None
        configured = self._is_configured_dagster_module(path)
        if text is not None and (configured or (not self.layout.dagster_module and looks_like_component(text))):
            module = parse_dagster_module(path, text)
            if configured or module.error is None:
                project.dagster_modules[path] = module
                return False
        if project.dagster_modules.pop(path, None) is not None:
            self._texts.pop(path, None)
        return False

    def _is_configured_dagster_module(self, path: str) -> bool:
        return path == self.layout.dagster_module_path

    def _in_dag_folders(self, path: str) -> bool:
        return any(path == root or path.startswith(root + os.sep) for root in self.layout.dag_roots())

    def _publish(self, project: Project) -> Snapshot:
        by_path: dict[str, list[Finding]] = {}
        try:
            for finding in check_project(project):
                by_path.setdefault(finding.path, []).append(finding)
            findings = {p: tuple(f) for p, f in by_path.items()}
        except Exception as error:  # the facts are new; the findings may wait
            log.warning("checking the project failed (%s); keeping the last findings", one_line(error))
            log.debug("checking the project failed", exc_info=error)
            findings = dict(self.snapshot.findings) if self.snapshot else {}
        self._generation += 1
        snapshot = Snapshot(project, findings, dict(self._texts), dict(self._versions), self._generation)
        self.snapshot = snapshot
        self.on_snapshot(snapshot)
        return snapshot


def one_line(error: BaseException) -> str:
    """An exception for a log line: its type and the first line of its message."""
    message = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {message[:200]}" if message else type(error).__name__


__all__ = ["DagFacts", "Snapshot", "WorkspaceIndex", "dag_for_state_file", "replace", "state_of"]
