"""The values a DAG file's statements evaluate to, as far as static reading can tell."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from typing import Any

from analysis.dags.builder import DagRecord, GroupRecord, TaskRecord


class Value:
    __slots__ = ()


@dataclass(eq=False, slots=True)
class Unknown(Value):
    """Cannot be known without running the file; ``text`` shows what it was.

    Built from the expression itself, the text is only written out when it is read (a
    dynamic id shows it): most unknowns are never shown, and writing out each link of a long
    chain (``a | b | c ...``) would cost the square of its length.
    """

    source: str | ast.AST = "?"

    @property
    def text(self) -> str:
        if not isinstance(self.source, str):
            self.source = short_text(self.source)
        return self.source


SHORT_TEXT = 60


def short_text(node: ast.AST) -> str:
    """An expression's source, as ``ast.unparse`` writes it, cut to ``SHORT_TEXT`` characters."""
    try:
        text = ast.unparse(node)
    except RecursionError:  # thousands of levels deep (`a | b | ...`): ast.unparse recurses
        text = "expression nested too deeply"
    return text if len(text) <= SHORT_TEXT else text[:SHORT_TEXT - 3] + "..."


@dataclass(eq=False, slots=True)
class Const(Value):
    value: Any


@dataclass(eq=False, slots=True)
class Seq(Value):
    """A list, tuple or set whose items are values (tasks, constants, ...)."""

    items: list[Value]
    kind: str | None = None
    """"list", "tuple" or "set" when written as such a display; None when code made it."""


@dataclass(eq=False, slots=True)
class Maybe(Value):
    """A list item added under a runtime condition (``if Variable.get(...): tables.append(x)``):
    whatever is made from it exists only when that condition held at import."""

    value: Value
    level: int
    """How many runtime conditions deep it was added (see ``Interpreter.uncertain``)."""
    reason: str


def unwrap(value: Value) -> Value:
    return value.value if isinstance(value, Maybe) else value


@dataclass(eq=False, slots=True)
class Mapping(Value):
    items: dict[Any, Value]
    default: Any = None
    """``collections.defaultdict``: the factory a missing key gets its value from."""


@dataclass(eq=False, slots=True)
class TaskRef(Value):
    """An operator, or the XComArg a ``@task`` call returns (``xcom=True``)."""

    task: TaskRecord
    xcom: bool = False


@dataclass(eq=False, slots=True)
class EdgeLabel(Value):
    """``Label("...")`` between two tasks: it carries its upstream tasks to the next ``>>``."""

    upstream: list[TaskRecord] = field(default_factory=list)


@dataclass(eq=False, slots=True)
class GroupRef(Value):
    group: GroupRecord


@dataclass(eq=False, slots=True)
class DagRef(Value):
    dag: DagRecord


@dataclass(eq=False, slots=True)
class Qualified(Value):
    """An imported name (``airflow.sdk.DAG``) or something reached through one."""

    name: str
    spelled: str


@dataclass(eq=False, slots=True)
class Function(Value):
    """A function defined in the file, with what its decorators make of it."""

    node: ast.FunctionDef | ast.AsyncFunctionDef
    scope: Any
    kind: str = "plain"  # plain | task | dag | task_group
    label: str = ""  # @task, @task.bash, ...
    options: dict[str, Value] = field(default_factory=dict)
    option_nodes: dict[str, ast.expr] = field(default_factory=dict)
    partial: dict[str, Value] | None = None
    origin: str = ""
    """The file that defines it: a helper of another file runs with ranges anchored at the call."""
    owner: Any = None
    """The class whose body defines it (a ``ClassValue``), for ``super()``."""
    method_kind: str = ""
    """"property", "static" or "class" under those decorators."""
    wraps: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    """``@functools.wraps(f)``: the function it stands for (its name, where it is defined)."""
    defaults: dict[str, Value] | None = None
    """Its parameters' default values, evaluated when its ``def`` ran, as Python does (a name
    rebound after it does not change them); None: evaluated at each call."""

    @property
    def named(self) -> ast.FunctionDef | ast.AsyncFunctionDef:
        """The definition that gives it its name (Airflow's default task and DAG ids)."""
        return self.wraps or self.node


@dataclass(eq=False, slots=True)
class Method(Value):
    """``receiver.name`` awaiting its call: ``.override``, ``.expand``, ``.set_upstream``..."""

    receiver: Value
    name: str


@dataclass(eq=False, slots=True)
class PartialOperator(Value):
    """``SomeOperator.partial(task_id=...)`` awaiting ``.expand(...)``."""

    operator: str
    node: ast.Call
    kwargs: dict[str, Value]
    kwarg_nodes: dict[str, ast.expr]
    context: tuple[DagRecord | None, GroupRecord | None]


def flatten_tasks(value: Value) -> list[TaskRecord]:
    """The tasks a dependency operand stands for (lists nest; groups count whole)."""
    if isinstance(value, TaskRef):
        return [value.task]
    if isinstance(value, Seq):
        return [t for item in value.items for t in flatten_tasks(item)]
    if isinstance(value, Maybe):
        return flatten_tasks(value.value)
    return []


def xcom_sources(value: Value, depth: int = 0) -> list[TaskRecord]:
    """Tasks whose XCom output a value carries: these become upstream of the consumer."""
    if depth > 8:
        return []
    if isinstance(value, TaskRef):
        return [value.task] if value.xcom else []
    if isinstance(value, Seq):
        return [t for item in value.items for t in xcom_sources(item, depth + 1)]
    if isinstance(value, Mapping):
        return [t for item in value.items.values() for t in xcom_sources(item, depth + 1)]
    if isinstance(value, Maybe):
        return xcom_sources(value.value, depth + 1)
    return []


def is_known(value: Value) -> bool:
    if isinstance(value, Const):
        return True
    if isinstance(value, Seq):
        return all(is_known(v) for v in value.items)
    if isinstance(value, Mapping):
        return all(is_known(v) for v in value.items.values())
    return False


def to_python(value: Value) -> Any:
    if isinstance(value, Const):
        return value.value
    if isinstance(value, Seq):
        return [to_python(v) for v in value.items]
    if isinstance(value, Mapping):
        return {k: to_python(v) for k, v in value.items.items()}
    raise ValueError("not a constant")
