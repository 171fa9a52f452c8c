"""Where the DAG file, its import roots and the Dagster module are, and the two helpers that
carry the DAG file's place into code copied from it.

Copied code may import modules from a folder Airflow puts on ``sys.path`` (an ``ImportRoot``),
or read its ``__file__``. The Dagster module gets, once, a documented helper for each need
(``HELPERS``), which the asset's body calls with paths relative to the Dagster module.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

IMPORT_ROOTS_HELPER = "_airflow_import_roots"
DAG_FILE_HELPER = "_airflow_dag_file"


@dataclass(frozen=True, slots=True)
class ImportRoot:
    """A folder Airflow puts on ``sys.path`` (its DAGs folder, plugins folder), in the same
    coordinates as the DAG and module paths, and the top-level modules it holds."""

    folder: str
    modules: frozenset[str]

    @classmethod
    def from_disk(cls, folder: str) -> ImportRoot:
        """The modules ``folder`` holds: ``*.py`` files and package folders (one disk listing)."""
        names = set()
        for entry in os.listdir(folder):
            stem = entry.removesuffix(".py")
            if stem.isidentifier() and stem != "__pycache__" and (
                    entry.endswith(".py") or os.path.isdir(os.path.join(folder, entry))):
                names.add(stem)
        return cls(folder, frozenset(names))


@dataclass(frozen=True, slots=True)
class Places:
    """Where the DAG file, the Dagster module (None when the caller does not say) and the
    import roots are, all in the same coordinates."""

    dag_path: str
    module_path: str | None
    import_roots: Sequence[ImportRoot]

    def relative(self, path: str) -> str | None:
        """``path`` relative to the Dagster module's folder, with ``/``; None without one."""
        if self.module_path is None:
            return None
        try:
            relative = os.path.relpath(path, os.path.dirname(self.module_path) or ".")
        except ValueError:  # another drive
            return None
        return relative.replace(os.sep, "/")


# The helpers as the Dagster module gets them, by name; ``os.``, ``sys.`` and the indentation
# are fitted to the module when one is added.
HELPERS = {
    IMPORT_ROOTS_HELPER: '''\
def _airflow_import_roots(*folders: str) -> None:
    """Put folders that Airflow puts on sys.path (its DAGs folder) on this process's too, so
    that code copied from DAG files imports what it did in Airflow. Relative to this file."""
    here = os.path.dirname(os.path.abspath(__file__))
    for folder in folders:
        path = os.path.normpath(os.path.join(here, folder))
        if path not in sys.path:
            sys.path.append(path)
''',
    DAG_FILE_HELPER: '''\
def _airflow_dag_file(path: str) -> str:
    """An Airflow DAG file's path (given relative to this file): the `__file__` of code copied
    from it."""
    return os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), path))
''',
}
