"""The values of the project's classes: ``ClassValue`` (its bases' MRO, its methods, an
``Enum``'s members), ``Instance``, bound methods, ``super()``, ``functools.partial``, and
``isinstance``/``copy`` over them. What running class statements and calls does with them is
``analysis.dags.objects``."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from analysis.dags.builder import DagRecord, TaskRecord
from analysis.dags.folding import hashable
from analysis.dags.names import Kind, classify
from analysis.dags.scope import Scope
from analysis.dags.values import (
    Const,
    DagRef,
    Function,
    Mapping,
    Maybe,
    Qualified,
    Seq,
    TaskRef,
    Unknown,
    Value,
)

_BUILTIN_TYPES = {"builtins.list": list, "builtins.tuple": tuple, "builtins.dict": dict, "builtins.str": str,
                  "builtins.int": int, "builtins.float": float, "builtins.bool": bool, "builtins.set": set}


class EnumMember:
    """A member of a project ``Enum``: hashable and equal only to itself, as Python's are (so it
    keys dicts and compares like one) — but a member of a ``StrEnum``, an ``IntEnum`` or an Enum
    mixed with a builtin type (``class Kind(str, Enum)``) is its value too: equal to it, hashed
    like it, as the builtin type's ``__eq__``/``__hash__`` come first in its MRO."""

    __slots__ = ("held", "kind", "name", "owner", "value")

    def __init__(self, owner: str, name: str, value: object, kind: str, held: Value | None = None) -> None:
        self.owner, self.name, self.value, self.kind = owner, name, value, kind
        self.held = held
        """A plain Enum's value that is no constant (``Size.BIG = Settings("big", 5)``): what
        ``member.value`` gives, the very object, as in Python."""

    def text(self) -> str | None:
        """``str(member)`` and ``f"{member}"``, where every Python since 3.8 agrees on them:
        ``Color.RED`` for a plain Enum, the value for a StrEnum; None where versions differ
        (IntEnum, ``class X(str, Enum)`` in an f-string)."""
        if self.kind == "enum":
            return f"{self.owner}.{self.name}"
        if self.kind == "str" and isinstance(self.value, str):
            return self.value
        return None

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if self.kind not in _VALUE_KINDS:
            return NotImplemented
        if self.value is None:
            raise TypeError("member's value unknown")  # the comparison stays undecided
        if isinstance(other, EnumMember):
            return other.kind in _VALUE_KINDS and other.value is not None and self.value == other.value
        return self.value == other

    def __hash__(self) -> int:
        return hash(self.value) if self.kind in _VALUE_KINDS and self.value is not None else id(self)

    def __repr__(self) -> str:
        return f"<{self.owner}.{self.name}>"


_VALUE_KINDS = frozenset({"str", "int", "mixed"})


def member_value(value: object) -> object:
    """What operators see of a constant: a ``StrEnum``/``IntEnum`` member (or one mixed with a
    builtin type) is its value (``Kind.A + "_x"`` is a ``str``); anything else is itself."""
    if isinstance(value, EnumMember) and value.kind in _VALUE_KINDS and value.value is not None:
        return value.value
    return value


_ENUM_BASES = frozenset({"Enum", "IntEnum", "StrEnum", "Flag", "IntFlag"})


GATE_CLASSES = {
    **dict.fromkeys(("BaseBranchOperator", "BranchMixIn", "BranchPythonOperator", "BranchExternalPythonOperator",
                     "BranchPythonVirtualenvOperator", "BranchDateTimeOperator", "BranchDayOfWeekOperator",
                     "BranchSQLOperator", "HITLBranchOperator"), "branch"),
    **dict.fromkeys(("ShortCircuitOperator", "SkipMixin"), "short-circuit"),
}
"""Airflow's classes whose task decides which tasks after it run (they skip the others)."""


@dataclass(eq=False, slots=True)
class ClassValue(Value):
    name: str
    node: ast.ClassDef
    bases: list[Value]
    attrs: dict[str, Value] = field(default_factory=dict)
    origin: str = ""
    fields: list[tuple[str, ast.expr | None]] | None = None
    """A dataclass's fields, in order, with their default's expression."""
    scope: Scope | None = None
    members: list[EnumMember] | None = None
    """An ``Enum``'s members, in order."""
    resolution: list[Value] | None = None

    def mro(self) -> list[Value]:
        """Python's method resolution order (C3), library bases as opaque leaves; depth first
        where C3 finds no order (Python would refuse such a class). Computed once: a class's
        bases do not change after its statement."""
        if self.resolution is None:
            self.resolution = _c3(self, 0)
        return self.resolution

    def defines(self, name: str) -> Function | None:
        """The project's own method ``name`` (``__eq__``, ``__rshift__``...), if a class of the
        project in the MRO defines one; library bases are not looked into."""
        for current in self.mro():
            if isinstance(current, ClassValue) and name in current.attrs:
                found = current.attrs[name]
                return found if isinstance(found, Function) else None
        return None

    def lookup(self, name: str, after: ClassValue | None = None) -> Value | None:
        """``name`` in the class or its bases (after ``after`` in the MRO, for ``super()``)."""
        order = self.mro()
        if after is not None:
            index = next((i for i, c in enumerate(order) if c is after), len(order))
            order = order[index + 1:]
        for current in order:
            if isinstance(current, ClassValue) and name in current.attrs:
                return current.attrs[name]
            if name == "__init__" and isinstance(current, Qualified) and airflow_kind(current.name):
                # Airflow's DAG and operators have a constructor of their own: a project mixin
                # later in the MRO (`class Op(KubernetesPodOperator, MetricsMixin)`) is not reached.
                return Qualified(f"{current.name}.{name}", f"{current.spelled}.{name}")
        # Not the project's: a library base's (whose own attributes static reading does not
        # know; a later project mixin's method is not hidden by `abc.ABC` or `LoggingMixin`).
        for current in order:
            if isinstance(current, Qualified):
                return Qualified(f"{current.name}.{name}", f"{current.spelled}.{name}")
        return None

    def gate(self) -> str | None:
        """"branch" or "short-circuit" when one of Airflow's bases makes its task decide which tasks
        after it run (``BaseBranchOperator``, ``BranchMixIn``, ``ShortCircuitOperator``, ``SkipMixin``...)."""
        for base in self.mro():
            if isinstance(base, Qualified) and base.name.startswith("airflow."):
                kind = GATE_CLASSES.get(base.name.rsplit(".", 1)[-1])
                if kind:
                    return kind
        return None

    def airflow_base(self) -> str | None:
        """"dag" or "operator" when the class is one of Airflow's (through any base)."""
        for base in self.mro():
            if isinstance(base, Qualified):
                kind = airflow_kind(base.name)
                if kind:
                    return kind
        return None


def enum_kind_of(bases: list[Value]) -> str | None:
    """How an Enum class's members print: "enum" (``Color.RED``), "str" (StrEnum: the value),
    "int"/"flag"/"mixed" (not the same in every Python); None when it is no Enum."""
    for base in bases:
        if isinstance(base, ClassValue) and base.members is not None:
            return base.members[0].kind if base.members else "enum"
    names = [b.name for b in bases if isinstance(b, Qualified)]
    enum_bases = [n.rsplit(".", 1)[-1] for n in names if n.startswith("enum.") and n.rsplit(".", 1)[-1] in _ENUM_BASES]
    if not enum_bases:
        return None
    kind = {"Enum": "enum", "StrEnum": "str", "IntEnum": "int", "Flag": "flag", "IntFlag": "flag"}[enum_bases[0]]
    mixed_in = any(n.startswith("builtins.") for n in names)
    return "mixed" if kind == "enum" and mixed_in else kind


def _c3(value: Value, depth: int) -> list[Value]:
    if not isinstance(value, ClassValue) or depth > 30:
        return [value]
    sequences = [_c3(base, depth + 1) for base in value.bases] + [list(value.bases)]
    order: list[Value] = [value]
    while any(sequences):
        for sequence in sequences:
            if not sequence:
                continue
            head = sequence[0]
            if not any(any(head is item for item in other[1:]) for other in sequences):
                break
        else:  # inconsistent hierarchy: fall back to depth first
            for sequence in sequences:
                order.extend(item for item in sequence if not any(item is seen for seen in order))
            return order
        order.append(head)
        sequences = [s[1:] if s and s[0] is head else s for s in sequences]
    return order


def airflow_kind(qualified: str) -> str | None:
    if classify(qualified) is Kind.DAG_CLASS:
        return "dag"
    last = qualified.rsplit(".", 1)[-1]
    if last == "BaseOperator" or (last.endswith(("Operator", "Sensor")) and last[:1].isupper()):
        return "operator"
    return None


@dataclass(eq=False, slots=True)
class Instance(Value):
    cls: ClassValue
    attrs: dict[str, Value] = field(default_factory=dict)
    dag: DagRecord | None = None
    task: TaskRecord | None = None
    """Set once ``super().__init__`` of an Airflow base made the DAG or the task."""


@dataclass(eq=False, slots=True)
class BoundMethod(Value):
    function: Function
    receiver: Value


@dataclass(eq=False, slots=True)
class Partial(Value):
    """``functools.partial(f, *args, **kwargs)``: calling it calls ``f`` with those first."""

    function: Value
    args: list[Value]
    kwargs: dict[str, Value]


@dataclass(eq=False, slots=True)
class SuperRef(Value):
    receiver: Value
    after: ClassValue


@dataclass(eq=False, slots=True)
class BaseInit(Value):
    """``super().__init__`` reaching Airflow's ``DAG`` or ``BaseOperator``."""

    instance: Instance
    kind: str


class ObjectKey:
    """A project instance used as a dict key (``{CloudProviders.aws: ClusterServices.AwsEmr}``):
    found again by identity, which is all static reading can tell of it."""

    __slots__ = ("instance",)

    def __init__(self, instance: Instance) -> None:
        self.instance = instance

    def __hash__(self) -> int:
        return id(self.instance)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ObjectKey) and other.instance is self.instance


def dict_key(value: Value) -> tuple[bool, object]:
    """(True, the key) for a value that can key a dict the interpreter holds: a hashable
    constant, or a project instance (by identity); (False, None) otherwise."""
    if isinstance(value, Const):
        return (True, value.value) if hashable(value.value) else (False, None)
    if isinstance(value, Instance) and value.task is None and value.dag is None:
        return True, ObjectKey(value)
    return False, None


def key_value(key: object) -> Value:
    """A dict key as the interpreter's value again."""
    return key.instance if isinstance(key, ObjectKey) else Const(key)


def missing_for_sure(key: object) -> bool:
    """A key not in a dict is certainly absent: a constant, or an instance whose class keeps
    Python's identity ``__eq__`` (one of its own, or a dataclass's or named tuple's field by field,
    might equal another key)."""
    return not isinstance(key, ObjectKey) or (key.instance.cls.defines("__eq__") is None
                                              and key.instance.cls.fields is None)


def as_airflow(value: Value) -> Value:
    """An instance of a project DAG or operator class as what Airflow made of it."""
    if isinstance(value, Instance):
        if value.task is not None:
            return TaskRef(value.task)
        if value.dag is not None:
            return DagRef(value.dag)
    return value



def copied(value: Value, *, deep: bool, depth: int = 0) -> Value:
    """``copy.copy``/``copy.deepcopy`` of what the interpreter holds: instances (their
    attributes), lists and dicts; anything else is shared, as constants are in Python."""
    if depth > 20:
        return value
    again = (lambda v: copied(v, deep=True, depth=depth + 1)) if deep else (lambda v: v)
    if isinstance(value, Instance) and value.task is None and value.dag is None:
        return Instance(value.cls, {k: again(v) for k, v in value.attrs.items()})
    if isinstance(value, Seq):
        return Seq([again(v) for v in value.items])
    if isinstance(value, Mapping):
        return Mapping({k: again(v) for k, v in value.items.items()}, value.default)
    return value


def is_instance(value: Value, classinfo: Value) -> Value:
    """``isinstance`` where the answer is known statically; Unknown otherwise."""
    value = value.value if isinstance(value, Maybe) else value
    options = classinfo.items if isinstance(classinfo, Seq) else [classinfo]
    verdicts = [_is_instance(value, option) for option in options]
    if any(v is True for v in verdicts):
        return Const(True)
    if all(v is False for v in verdicts):
        return Const(False)
    return Unknown("isinstance(...)")


def _is_instance(value: Value, option: Value) -> bool | None:
    if isinstance(option, Qualified) and option.name in _BUILTIN_TYPES:
        kind = _BUILTIN_TYPES[option.name]
        if isinstance(value, Const):
            return isinstance(value.value, kind)
        if isinstance(value, Seq):
            return kind in (list, tuple, set)
        if isinstance(value, Mapping):
            return kind is dict
        if isinstance(value, (Instance, TaskRef, DagRef)):
            return False
        return None
    if isinstance(option, ClassValue):
        if isinstance(value, Instance):
            return any(c is option for c in value.cls.mro())
        if isinstance(value, (Const, Seq, Mapping, TaskRef, DagRef)):
            return False
        return None
    if isinstance(option, Qualified):
        kind = airflow_kind(option.name)
        if kind == "operator" and isinstance(value, TaskRef):
            return True if option.name.endswith("BaseOperator") else None
        if kind == "dag" and isinstance(value, DagRef):
            return True
        if isinstance(value, (Const, Seq, Mapping)):
            return False
    return None
