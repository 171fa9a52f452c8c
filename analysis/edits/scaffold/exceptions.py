"""Airflow's exceptions in what a scaffold copies: code that raises or catches
``AirflowException`` (``from airflow.exceptions import AirflowException``) to fail its task.

Raised in the task, it fails it, and Airflow retries it as its ``retries`` say; raised in the asset,
it fails the Dagster run, which fails the proxied task, which Airflow retries the same. So the
asset's body binds the name to a class of the Dagster module (``DEFINITIONS``) instead of the
import: ``AirflowException = _AirflowException``, the class raised and caught by the copied code
alone. Catching it (``except``, ``isinstance``) around code of a module beyond the standard library
is refused: that code may raise Airflow's own, which the module's class would not catch
(``caught_exception``, ``plan_builder``). Subclasses of it that Airflow gives no other meaning are
carried too (``AirflowNotFoundException``, ``AirflowBadRequest``).

The others stay refused, as any import from Airflow is: ``AirflowSkipException`` (Airflow skips
the task and what follows), ``AirflowFailException`` (Airflow fails the task without its retries,
while a failed proxied task is retried), the sensors' and the scheduler's own.
"""

from __future__ import annotations

import ast

from analysis.edits.scaffold.statements import sole_import

CLASSES = {"AirflowException": "_AirflowException", "AirflowNotFoundException": "_AirflowNotFoundException",
           "AirflowBadRequest": "_AirflowBadRequest"}
"""Airflow's exception classes carried, to the Dagster module's class that stands for each."""
MODULES = {"airflow.exceptions": frozenset(CLASSES),
           "airflow.sdk.exceptions": frozenset({"AirflowException", "AirflowNotFoundException"})}
"""Where ``from ... import AirflowException`` gives Airflow's (Airflow 2 and 3; in Airflow 3 the
Task SDK's are the same classes), with the classes each gives."""
DEFINITIONS = {
    "_AirflowException": ('''\
class _AirflowException(Exception):
    """Airflow's AirflowException for code copied from Airflow: raised, it fails the asset (and the
    proxied Airflow task, which Airflow then retries as it would have retried the task)."""

    status_code = 500
''', ()),
    "_AirflowNotFoundException": ('''\
class _AirflowNotFoundException(_AirflowException):
    """Airflow's AirflowNotFoundException (an AirflowException) for code copied from Airflow."""

    status_code = 404
''', ()),
    "_AirflowBadRequest": ('''\
class _AirflowBadRequest(_AirflowException):
    """Airflow's AirflowBadRequest (an AirflowException) for code copied from Airflow."""

    status_code = 400
''', ()),
}
"""The module-level classes, with the modules their text uses (none)."""


def imports_exception(statements: list[ast.stmt], name: str) -> str | None:
    """The Airflow exception class (of ``CLASSES``) that binds ``name`` among ``statements``
    (``from airflow.exceptions import AirflowException [as name]``), when nothing else there binds it."""
    imported = sole_import(statements, name)
    return imported[1] if imported is not None and imported[1] in MODULES.get(imported[0], ()) else None


def caught_exception(nodes: list[ast.AST], names: set[str]) -> tuple[str, int] | None:
    """One of ``names`` (bound to Airflow's exceptions) that ``nodes`` catch (``except``,
    ``isinstance``, ``issubclass``), with its line, or None."""
    for node in (n for root in nodes for n in ast.walk(root)):
        if isinstance(node, ast.ExceptHandler) and node.type is not None:
            tested = node.type
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("isinstance", "issubclass") \
                and len(node.args) == 2:
            tested = node.args[1]
        else:
            continue
        found = next((n.id for n in ast.walk(tested) if isinstance(n, ast.Name) and n.id in names), None)
        if found is not None:
            return found, node.lineno
    return None


def definitions(classes: list[str]) -> list[str]:
    """The module's classes that the Airflow ``classes`` need, each after its base."""
    needed = [CLASSES[c] for c in classes]
    return [d for d in DEFINITIONS if d in needed or (d == "_AirflowException" and needed)]
