"""``--verify`` for a migration step: apply the plan to a throwaway copy of the workspace, verify
the copy and the untouched workspace side by side, and tell which findings the edit adds.

The copy holds real copies of what the step edits and what verify reads of the migration (the
DAG folders, state folders, the Dagster module's package, ``pyproject.toml``, ``plugins/``);
everything else at each level is a symlink to the original, so the project's other code still
imports (read-only) without being copied. Version control, virtualenvs and caches are left out.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from analysis.facts import Finding
from analysis.plans import Plan
from analysis.project import Project, discover
from analysis.verify import moved, new_findings
from server.verify.engine import Outcome, Pythons, verify_project
from server.verify.probes import DEFAULT_TIMEOUT, VerifyError

SKIPPED = (".git", ".hg", ".svn", ".venv", ".cache", "node_modules", "__pycache__", ".tox", ".nox",
           ".mypy_cache", ".pytest_cache", ".ruff_cache")


@dataclass(frozen=True, slots=True)
class Verdict:
    before: Outcome
    after: Outcome
    """The edited copy's outcome, its paths moved back to the workspace."""
    added: tuple[Finding, ...]
    """What the edit would break: the copy's findings the workspace did not have."""

    @property
    def accepted(self) -> bool:
        return not self.added


def verify_plan(project: Project, plan: Plan, pythons: Pythons, timeout: float = DEFAULT_TIMEOUT) -> Verdict:
    root = project.layout.root
    for folder in project.layout.dag_roots():
        if not _inside(folder, root):
            raise VerifyError(f"--verify copies the workspace, but the DAG folder {folder} is outside it")
    for change in plan.changes:
        if not _inside(change.path, root):
            raise VerifyError(f"--verify copies the workspace, but the step edits {change.path} outside it")
    scratch = tempfile.mkdtemp(prefix="airlift-verify-")
    try:
        copy_root = os.path.join(scratch, os.path.basename(root) or "workspace")
        os.mkdir(copy_root)
        mirror(root, copy_root, _copied(project, plan))
        for change in plan.changes:
            if change.new_text is None:  # removed by the step
                copied = moved_path(change.path, root, copy_root)
                if os.path.lexists(copied):
                    os.unlink(copied)
                continue
            _write(moved_path(change.path, root, copy_root), change.new_text, scratch)
        copy = discover(replace(project.layout, root=copy_root))  # the same layout, every field kept
        with ThreadPoolExecutor(max_workers=2, thread_name_prefix="airlift-verify") as pool:
            untouched = pool.submit(verify_project, project, pythons, timeout)
            edited = pool.submit(verify_project, copy, pythons, timeout)
            before, after = untouched.result(), edited.result()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    after_findings = tuple(moved(f, copy_root, root) for f in after.findings)
    after = Outcome(after_findings, after.airflow, after.dagster, after.notes)
    return Verdict(before, after, tuple(new_findings(before.findings, after_findings)))


def moved_path(path: str, old_root: str, new_root: str) -> str:
    return os.path.join(new_root, os.path.relpath(path, old_root))


def _inside(path: str, root: str) -> bool:
    path = os.path.normpath(path)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _copied(project: Project, plan: Plan) -> set[str]:
    root = project.layout.root
    paths = {*project.layout.dag_roots(), os.path.join(root, "pyproject.toml"), os.path.join(root, "plugins"),
             *(e.state_dir for e in project.entries), *(c.path for c in plan.changes)}
    for module in project.dagster_modules:
        folder = os.path.dirname(module)
        paths.add(module if folder == root else folder)
    return {os.path.normpath(p) for p in paths if _inside(p, root)}


def mirror(root: str, dest: str, copied: Iterable[str]) -> None:
    """Make ``dest`` look like ``root``: ``copied`` paths (and the folders above them) real,
    every other entry a symlink to the original, ``SKIPPED`` names and virtualenvs absent."""
    copied = set(copied)
    if root in copied:
        shutil.rmtree(dest)
        shutil.copytree(root, dest, symlinks=True, ignore=_ignore)
        return
    above = {os.path.dirname(p) for p in copied}
    for path in list(above):
        while path != root and _inside(path, root):
            path = os.path.dirname(path)
            above.add(path)
    _mirror_folder(root, dest, copied, above)


def _mirror_folder(folder: str, dest: str, copied: set[str], above: set[str]) -> None:
    for name in sorted(os.listdir(folder)):
        source, target = os.path.join(folder, name), os.path.join(dest, name)
        if name in SKIPPED or _is_virtualenv(source):
            continue
        if source in copied:
            if os.path.isdir(source) and not os.path.islink(source):
                shutil.copytree(source, target, symlinks=True, ignore=_ignore)
            else:
                shutil.copy2(source, target, follow_symlinks=False)
        elif source in above and os.path.isdir(source) and not os.path.islink(source):
            os.mkdir(target)
            _mirror_folder(source, target, copied, above)
        else:
            os.symlink(source, target, target_is_directory=os.path.isdir(source))


def _ignore(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIPPED or _is_virtualenv(os.path.join(folder, n))}


def _is_virtualenv(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyvenv.cfg"))


def _write(path: str, text: str, scratch: str) -> None:
    if os.path.islink(path):
        os.unlink(path)  # never write through a symlink to the workspace
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not _inside(os.path.realpath(os.path.dirname(path)), os.path.realpath(scratch)):
        raise VerifyError(f"--verify would write {path} outside its copy of the workspace; stopped")
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
