"""Bind DAGs to module-level names, so ``proxying_to_dagster(global_vars=globals())`` sees them.

Airflow registers a bare ``with DAG(...):`` or a called ``@dag`` function by itself, but
dagster-airlift looks for DAG objects in the module's globals: an unbound DAG is never
proxied, and a file with no bound DAG fails to import once the hook runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from analysis.edits.result import EditResult

_NOT_NAME = re.compile(r"\W")


def global_name_for(dag_id: str, text: str) -> str:
    """A fresh module-level name for a DAG: ``<dag_id>_dag``, made unique in the file."""
    base = _NOT_NAME.sub("_", dag_id)
    base = base if base[:1].isalpha() or base[:1] == "_" else f"dag_{base}"
    name, counter = f"{base}_dag", 1
    while re.search(rf"\b{re.escape(name)}\b", text):
        counter += 1
        name = f"{base}_dag_{counter}"
    return name


def bind_dags(text: str, names_by_line: Mapping[int, str]) -> EditResult:
    """Bind the DAG created on each 0-based line to the given name, where the creation is a
    module-level statement: ``my_dag()`` -> ``name = my_dag()``; ``with DAG(...):`` ->
    ``with DAG(...) as name:``. Lines that are not such statements are left alone."""
    if not names_by_line:
        return EditResult(text, False, "every DAG is already bound to a module-level name")
    try:
        wrapper = MetadataWrapper(cst.parse_module(text))
    except cst.ParserSyntaxError as error:
        return EditResult(None, False, f"the DAG file does not parse: {error.message}")
    positions = wrapper.resolve(PositionProvider)
    module = wrapper.module
    body = list(module.body)
    changed = False
    for index, statement in enumerate(body):
        if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 \
                and isinstance(statement.body[0], cst.Expr) and isinstance(statement.body[0].value, cst.Call):
            call = statement.body[0].value
            name = names_by_line.get(positions[call].start.line - 1)
            if name:
                body[index] = statement.with_changes(body=[cst.Assign(
                    targets=[cst.AssignTarget(cst.Name(name))], value=call)])
                changed = True
        elif isinstance(statement, cst.With):
            items = list(statement.items)
            for position, item in enumerate(items):
                name = names_by_line.get(positions[item.item].start.line - 1)
                if name and item.asname is None and isinstance(item.item, cst.Call):
                    items[position] = item.with_changes(asname=cst.AsName(cst.Name(name)))
                    changed = True
            body[index] = statement.with_changes(items=items)
    if not changed:
        return EditResult(text, False, "no unbound DAG creation at module level")
    return EditResult(module.with_changes(body=body).code, True)
