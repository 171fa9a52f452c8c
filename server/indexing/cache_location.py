"""Where the facts cache of a workspace lives (``cache``): ``.cache/airlift-lsp/`` in the
workspace when it can be written (with a ``.gitignore`` and a ``CACHEDIR.TAG``), else
``$XDG_CACHE_HOME/airlift-lsp/<hash of the workspace path>``. ``AIRLIFT_LSP_CACHE=off`` turns it
off; ``AIRLIFT_LSP_CACHE_DIR`` puts it elsewhere.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

DATABASE = "facts.sqlite3"
DISABLED = ("off", "0", "false", "no")


def cache_enabled() -> bool:
    return os.environ.get("AIRLIFT_LSP_CACHE", "").strip().lower() not in DISABLED


def cache_folder(root: str, *, create: bool) -> Path | None:
    """Where the cache of the workspace at ``root`` lives (see the module docstring); with
    ``create=False`` only a folder that already holds a cache, and nothing is written."""
    configured = os.environ.get("AIRLIFT_LSP_CACHE_DIR")
    root = os.path.abspath(root)
    candidates = [Path(configured)] if configured else [Path(root, ".cache", "airlift-lsp"), _user_folder(root)]
    for folder in candidates:
        if (folder / DATABASE).is_file() and os.access(folder, os.W_OK if create else os.R_OK):
            return folder
    if not create:
        return None
    for folder in candidates:
        try:
            if folder.parent.name == ".cache" and not folder.exists() and not os.access(root, os.W_OK):
                continue
            folder.mkdir(parents=True, exist_ok=True)
            _mark(folder, workspace=not configured and folder.parent.parent == Path(root))
        except OSError:
            continue
        if os.access(folder, os.W_OK):
            return folder
    return None


def _user_folder(root: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    name = hashlib.sha1(root.encode("utf-8", "surrogateescape")).hexdigest()[:16]
    return Path(base, "airlift-lsp", name)


def _mark(folder: Path, *, workspace: bool) -> None:
    """Keep the cache out of version control and backups."""
    tag = folder / "CACHEDIR.TAG"
    if not tag.exists():
        tag.write_text("Signature: 8a477f597d28d172789f06886806bc55\n"
                       "# The facts cache of airlift-lsp: safe to delete.\n", encoding="ascii")
    ignore = folder / ".gitignore"
    if workspace and not ignore.exists():
        ignore.write_text("# The facts cache of airlift-lsp: safe to delete.\n*\n", encoding="ascii")
