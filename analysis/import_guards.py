"""When a failed import is caught: the rule the scaffold's check (``analysis.edits.scaffold.
airflow_imports``) and the corpus judge's loader (``corpus/scaffold_load.py``) share.

Standard library only: the loader runs in Dagster's venv, where ``analysis.edits`` (libcst) is not
installed, and loads this file by its path.
"""

from __future__ import annotations

import ast

CATCHING = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
"""Exception classes whose handler catches a failed import."""


def catches_import_error(caught: ast.expr | None) -> bool:
    """A handler's class(es) catch a failed import (a bare ``except:`` too)."""
    if caught is None:
        return True
    names = caught.elts if isinstance(caught, ast.Tuple) else [caught]
    return any((n.id if isinstance(n, ast.Name) else getattr(n, "attr", None)) in CATCHING for n in names)


def guards_imports(statement: ast.Try) -> bool:
    """A ``try`` one of whose handlers catches a failed import and does not raise it again: an
    import in its body that fails does not fail the code around it."""
    return any(catches_import_error(h.type) and not any(isinstance(n, ast.Raise) for n in ast.walk(h))
               for h in statement.handlers)
