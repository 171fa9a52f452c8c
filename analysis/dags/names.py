"""What a name means: imports resolved to qualified names, and Airflow's names classified.

``DAG``, ``airflow.DAG``, ``models.DAG`` and ``from airflow.sdk import dag as d`` must
all be recognised for what they are, whatever alias the file gave them.
"""

from __future__ import annotations

import ast
from enum import Enum


class Kind(Enum):
    DAG_CLASS = "dag_class"
    DAG_DECORATOR = "dag_decorator"
    TASK_DECORATOR = "task_decorator"
    TASK_GROUP_CLASS = "task_group_class"
    TASK_GROUP_DECORATOR = "task_group_decorator"
    CHAIN = "chain"
    CHAIN_LINEAR = "chain_linear"
    CROSS_DOWNSTREAM = "cross_downstream"
    ASSET_DECORATOR = "asset_decorator"
    EDGE_LABEL = "edge_label"
    PROXYING_TO_DAGSTER = "proxying_to_dagster"
    LOAD_PROXIED_STATE = "load_proxied_state_from_yaml"
    XCOM_ARG = "xcom_arg"


# Decorator attributes that modify a @task rather than choose its kind.
TASK_MODIFIERS = frozenset({"run_if", "skip_if"})

MODEL_CLASSES = frozenset({
    "Connection", "DagModel", "DagRun", "DagTag", "Job", "Log", "Pool", "RenderedTaskInstanceFields",
    "SlaMiss", "TaskFail", "TaskInstance", "TaskReschedule", "Trigger", "Variable"})
"""Airflow's metadata classes whose ``__name__`` is the name they are imported by, in Airflow 2
and 3 alike (checked on 2.11 and 3.3): a cleanup DAG names its tasks ``cleanup_{model.__name__}``.
Not ``XCom`` (the class of the configured XCom backend, ``BaseXCom`` by default) nor
``ImportError`` (``ParseImportError`` since 2.10)."""


def airflow_class_name(qualified: str) -> str | None:
    """``__name__`` of an Airflow metadata class by its qualified name, where it is certain."""
    module, _, last = qualified.rpartition(".")
    return last if module.startswith("airflow.") and last in MODEL_CLASSES else None

_AIRFLOW_LAST_SEGMENT = {
    "DAG": Kind.DAG_CLASS,
    "dag": Kind.DAG_DECORATOR,
    "task": Kind.TASK_DECORATOR,
    "setup": Kind.TASK_DECORATOR,
    "teardown": Kind.TASK_DECORATOR,
    "TaskGroup": Kind.TASK_GROUP_CLASS,
    "task_group": Kind.TASK_GROUP_DECORATOR,
    "chain": Kind.CHAIN,
    "chain_linear": Kind.CHAIN_LINEAR,
    "cross_downstream": Kind.CROSS_DOWNSTREAM,
    "asset": Kind.ASSET_DECORATOR,
    "Label": Kind.EDGE_LABEL,
    "XComArg": Kind.XCOM_ARG,
}


class Imports:
    """Local names bound by import statements, mapped to what they import."""

    __slots__ = ("_aliases",)

    def __init__(self) -> None:
        self._aliases: dict[str, str] = {}

    def add(self, node: ast.Import | ast.ImportFrom) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    self._aliases[alias.asname] = alias.name
                else:
                    top = alias.name.split(".", 1)[0]
                    self._aliases[top] = top
            return
        if node.level or not node.module:
            module = "." * node.level + (node.module or "")
        else:
            module = node.module
        for alias in node.names:
            if alias.name == "*":
                continue
            self._aliases[alias.asname or alias.name] = f"{module}.{alias.name}"

    def forget(self, name: str) -> None:
        """A local assignment shadows an import."""
        self._aliases.pop(name, None)

    def qualify(self, node: ast.expr) -> str | None:
        """The qualified name an expression refers to, if it is made of imported names."""
        attributes = attribute_chain(node)
        if attributes is None:
            return None
        base = self._aliases.get(attributes[0])
        return ".".join((base, *attributes[1:])) if base else None


def classify(qualified: str | None) -> Kind | None:
    """Recognise Airflow's DAG, task, TaskGroup and dependency helpers, and airlift's hook.

    Airflow moved these between modules across versions (``airflow.decorators``,
    ``airflow.sdk``, ``airflow.models.baseoperator``, ...), so anything under
    ``airflow.`` with the right final name counts.
    """
    if not qualified:
        return None
    parts = qualified.split(".")
    if parts[0] == "dagster_airlift":
        if parts[-1] == "proxying_to_dagster":
            return Kind.PROXYING_TO_DAGSTER
        if parts[-1] == "load_proxied_state_from_yaml":
            return Kind.LOAD_PROXIED_STATE
        return None
    if parts[0] != "airflow" or len(parts) < 2:
        return None
    return _AIRFLOW_LAST_SEGMENT.get(parts[-1])


def task_decorator_label(qualified: str) -> str | None:
    """``airflow.sdk.task`` -> ``@task``; ``airflow.decorators.task.bash`` -> ``@task.bash``."""
    parts = qualified.split(".")
    if parts[0] != "airflow":
        return None
    if parts[-1] in ("task", "setup", "teardown"):
        return f"@{parts[-1]}"
    if len(parts) >= 3 and parts[-2] == "task" and parts[-1] not in TASK_MODIFIERS:
        return f"@task.{parts[-1]}"
    return None


def dotted_name(node: ast.expr) -> str | None:
    """The source spelling of a callee: ``BashOperator``, ``bash.BashOperator`` (``x().attr``
    is ``attr``)."""
    attributes: list[str] = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        attributes.append(node.id)
    return ".".join(reversed(attributes)) or None


def attribute_chain(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]`` (walked in a loop: chains can be thousands long);
    None unless it is names and attributes only."""
    attributes: list[str] = []
    while isinstance(node, ast.Attribute):
        attributes.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    attributes.append(node.id)
    attributes.reverse()
    return attributes
