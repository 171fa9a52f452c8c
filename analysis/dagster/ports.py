"""Operator ports: a project's own Dagster implementation of an operator class, written once,
that every task of that class is scaffolded to call.

Platform teams build their DAGs from operators of their own library (``TtdEmrAddStepsOperator``,
``PostgresTableCopyOperator``): no scaffold can know what those do, but each is one class with
hundreds of tasks. The team writes the class's Dagster implementation once, as a function of the
Dagster module taking the asset's context and the operator's arguments by name, and declares it:

```python
def table_copy(context: dg.AssetExecutionContext, *, source: str, target: str) -> None:
    ...

AIRFLOW_OPERATOR_PORTS = {"PostgresTableCopyOperator": table_copy}
```

``scaffold`` then writes, for a task of that class, an asset calling ``table_copy(context,
source=..., target=...)`` with the arguments the task's call gives (``analysis.edits.scaffold.
plan_ports``). Keys are class names as ``TaskFacts.operator`` spells them; values are names (or
``module.name``) the Dagster module can call. Read with ``ast``: a literal dict assigned once at
module level, anything else in it ignored.

A value may instead be a string: the name of the Airflow or provider operator class the project
class derives from (``{"GKEPodOperator": "GKEStartPodOperator"}``). That is the team's choice to
run the class as its base (``read_bases``): its tasks are scaffolded as that class's, with the
arguments the project class hands on, and what the project class changes (its own methods, hooks
it hands on) stays in Airflow, named in the asset's docstring (``analysis.edits.scaffold.derived``).
"""

from __future__ import annotations

import ast
import functools

PORTS = "AIRFLOW_OPERATOR_PORTS"


def read_ports(text: str) -> tuple[tuple[str, str], ...]:
    """``(operator class, function as written)`` of the module's ``AIRFLOW_OPERATOR_PORTS``, in
    order; empty when there is none or the module cannot be parsed."""
    return tuple((key, ast.unparse(value)) for key, value in _entries(text) if _callable_name(value))


def read_bases(text: str) -> tuple[tuple[str, str], ...]:
    """``(operator class, the Airflow class it is run as)`` of the module's
    ``AIRFLOW_OPERATOR_PORTS`` whose value is a string: the classes the team chose to run as the
    Airflow or provider class they derive from."""
    return tuple((key, value.value.rsplit(".", 1)[-1]) for key, value in _entries(text)  # a dotted path: its class
                 if isinstance(value, ast.Constant) and isinstance(value.value, str)
                 and all(part.isidentifier() for part in value.value.split(".")))


@functools.lru_cache(maxsize=16)  # the module's ports and bases are read together: one parse
def _entries(text: str) -> tuple[tuple[str, ast.expr], ...]:
    """The string keys of the module's last top-level ``AIRFLOW_OPERATOR_PORTS = {...}``, each
    with its value's node."""
    if PORTS not in text:
        return ()
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return ()
    found: tuple[tuple[str, ast.expr], ...] = ()
    for statement in tree.body:
        target = statement.targets[0] if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
            else statement.target if isinstance(statement, ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == PORTS and isinstance(statement.value, ast.Dict):
            found = tuple((key.value, value) for key, value in zip(statement.value.keys, statement.value.values)
                          if isinstance(key, ast.Constant) and isinstance(key.value, str))
    return found


def _callable_name(node: ast.expr) -> bool:
    """A name or a dotted name (``ports.table_copy``): what the scaffold can write as the callee."""
    while isinstance(node, ast.Attribute):
        node = node.value
    return isinstance(node, ast.Name)
