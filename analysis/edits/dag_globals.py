"""Bind DAGs to module-level names, so ``proxying_to_dagster(global_vars=globals())`` sees them.

Airflow registers a bare ``with DAG(...):`` or a called ``@dag`` function by itself, but
dagster-airlift looks for DAG objects in the module's globals: an unbound DAG is never
proxied, and a file with no bound DAG fails to import once the hook runs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from analysis.edits.bodies_aside import edit_with_bodies_aside
from analysis.edits.result import EditResult

_NOT_NAME = re.compile(r"\W")


Binding = tuple[str, int, "str | int | None", str]
"""(kind, 0-based line of the module-level statement, detail, the new name): ``("call", line,
None, name)`` makes ``make_dag()`` into ``name = make_dag()``; ``("with", line, item, name)`` adds
``as name`` to that item of ``with DAG(...):``; ``("alias", line, variable, name)`` inserts
``name = variable`` after the statement that bound the DAG to ``variable`` (a later statement
rebinds it to another DAG, which hides this one from ``globals()``)."""


def global_name_for(dag_id: str, text: str, taken: set[str] | None = None) -> str:
    """A fresh module-level name for a DAG: ``<dag_id>_dag``, made unique in the file."""
    base = _NOT_NAME.sub("_", dag_id)
    base = base if base[:1].isalpha() or base[:1] == "_" else f"dag_{base}"
    name, counter = f"{base}_dag", 1
    while re.search(rf"\b{re.escape(name)}\b", text) or name in (taken or ()):
        counter += 1
        name = f"{base}_dag_{counter}"
    return name


def bind_dags(text: str, bindings: Sequence[Binding]) -> EditResult:
    """Bind each DAG to its own module-level name where its ``Binding`` says. A binding whose
    statement is no longer what it says changes nothing."""
    if not bindings:
        return EditResult(text, False, "every DAG is already bound to a module-level name")
    # the statements bound are module-level: the file's function bodies are set aside
    return edit_with_bodies_aside(text, lambda aside: _bind(aside, bindings), "the DAG file", every_function=True)


def _bind(text: str, bindings: Sequence[Binding]) -> EditResult:
    try:
        wrapper = MetadataWrapper(cst.parse_module(text))
    except cst.ParserSyntaxError as error:
        return EditResult(None, False, f"the DAG file does not parse: {error.message}")
    positions = wrapper.resolve(PositionProvider)
    module = wrapper.module
    by_line: dict[int, list[Binding]] = {}
    for binding in bindings:
        by_line.setdefault(binding[1], []).append(binding)
    body: list[cst.BaseStatement] = []
    changed = False
    for statement in module.body:
        todo = by_line.get(positions[statement].start.line - 1, [])
        after: list[cst.BaseStatement] = []
        for kind, _, detail, name in todo:
            if kind == "call" and isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 \
                    and isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.Call):
                statement = statement.with_changes(body=[cst.Assign(
                    targets=[cst.AssignTarget(cst.Name(name))], value=statement.body[0].value)])
                changed = True
            elif kind == "with" and isinstance(statement, cst.With) and isinstance(detail, int) \
                    and detail < len(statement.items) and statement.items[detail].asname is None:
                items = list(statement.items)
                items[detail] = items[detail].with_changes(asname=cst.AsName(cst.Name(name)))
                statement = statement.with_changes(items=items)
                changed = True
            elif kind == "alias" and isinstance(detail, str):
                after.append(cst.SimpleStatementLine(body=[cst.Assign(
                    targets=[cst.AssignTarget(cst.Name(name))], value=cst.Name(detail))]))
                changed = True
        body.append(statement)
        body.extend(after)
    if not changed:
        return EditResult(text, False, "no unbound DAG creation at module level")
    return EditResult(module.with_changes(body=body).code, True)
