"""Named tuples: ``collections.namedtuple("Config", "data, suffix")``, ``typing.NamedTuple("Config",
[("data", str)])`` and ``class Config(NamedTuple)``. Such a class is a ``ClassValue`` whose fields
fill an ``Instance`` as a dataclass's do (positionally or by name, defaults on the rightmost
fields); the instance is a tuple too: unpacked, iterated and indexed in field order."""

from __future__ import annotations

import ast

from analysis.dags.classes import ClassValue, Instance
from analysis.dags.scope import Scope
from analysis.dags.values import Const, Qualified, Seq, Unknown, Value

FACTORIES = frozenset({"collections.namedtuple", "typing.NamedTuple", "typing_extensions.NamedTuple"})
_TUPLE_BASES = FACTORIES | {"builtins.tuple"}


def is_named_tuple_base(value: Value) -> bool:
    """``NamedTuple`` as a class statement's base."""
    return isinstance(value, Qualified) and value.name in ("typing.NamedTuple", "typing_extensions.NamedTuple")


def class_fields(node: ast.ClassDef) -> list[tuple[str, ast.expr | None]]:
    """The fields of a ``class X(NamedTuple)`` body (or a dataclass's): its annotated names, in
    order, with their default's expression."""
    return [(s.target.id, s.value) for s in node.body
            if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)
            and "ClassVar" not in ast.unparse(s.annotation)]


def named_tuple_class(factory: str, node: ast.Call, args: list[Value], kwargs: dict[str, Value],
                      kwarg_nodes: dict[str, ast.expr], scope: Scope, origin: str) -> Value:
    """The class a factory call makes; Unknown when its name or field names are not known."""
    name = args[0] if args else kwargs.get("typename")
    spec = args[1] if len(args) > 1 else kwargs.get("field_names" if factory == "collections.namedtuple" else "fields")
    names = _field_names(spec, typed=factory != "collections.namedtuple")
    if not (isinstance(name, Const) and isinstance(name.value, str)) or names is None:
        return Unknown(node)
    defaults: list[ast.expr | None] = []
    if "defaults" in kwarg_nodes:
        given = kwarg_nodes["defaults"]
        if not isinstance(given, (ast.Tuple, ast.List)) or len(given.elts) > len(names) \
                or any(isinstance(e, ast.Starred) for e in given.elts):
            return Unknown(node)
        defaults = list(given.elts)
    padded: list[ast.expr | None] = [None] * (len(names) - len(defaults)) + defaults
    shell = ast.ClassDef(name=name.value, bases=[], keywords=[], body=[], decorator_list=[])
    return ClassValue(name.value, shell, [Qualified("builtins.tuple", "tuple")], origin=origin,
                      fields=list(zip(names, padded)), scope=scope)


def _field_names(spec: Value | None, *, typed: bool) -> list[str] | None:
    if isinstance(spec, Const) and isinstance(spec.value, str) and not typed:
        names = spec.value.replace(",", " ").split()
    elif isinstance(spec, Const) and isinstance(spec.value, (list, tuple)):
        names = [n[0] if typed and isinstance(n, tuple) and n else n for n in spec.value]
    elif isinstance(spec, Seq):
        names = [_field_name(item, typed=typed) for item in spec.items]
    else:
        return None
    if not all(isinstance(n, str) and n.isidentifier() for n in names) or len(set(names)) != len(names):
        return None  # `rename=True` would rename them: not followed
    return names  # type: ignore[return-value]


def _field_name(item: Value, *, typed: bool) -> object:
    if typed and isinstance(item, Seq) and item.items:
        item = item.items[0]
    elif typed and isinstance(item, Const) and isinstance(item.value, tuple) and item.value:
        return item.value[0]
    return item.value if isinstance(item, Const) else None


def tuple_items(value: Value) -> list[Value] | None:
    """A named tuple's items in field order; None for any other value."""
    if not isinstance(value, Instance) or value.cls.fields is None or value.task is not None \
            or not any(isinstance(b, Qualified) and b.name in _TUPLE_BASES for b in value.cls.mro()):
        return None
    return [value.attrs.get(name, Unknown(name)) for name, _ in value.cls.fields]
