"""Lists, dicts and strings as project code uses them: their methods, item assignment, the
module's ``globals()``, and the functional builtins (``map``, ``filter``, ``functools.reduce``,
``sorted(key=...)``) over the project's own functions and lambdas.

Registries and config plumbing (``kwargs["suffix"] = name``, ``registry[dag_id] = dag``,
``self.global_vars[dag.dag_id] = dag`` with ``global_vars = globals()``) decide which DAGs a
file exposes; every method here is pure and bounded, and an argument that is not known makes
the result unknown, never a guess.
"""

from __future__ import annotations

import ast
import string
from dataclasses import dataclass

from analysis.dags.classes import (
    BoundMethod,
    Partial,
    as_airflow,
    dict_key,
    key_value,
    member_value,
    missing_for_sure,
)
from analysis.dags.folding import HUGE_WIDTH, MAX_ITEMS, MAX_STRING
from analysis.dags.scope import Scope
from analysis.dags.values import (
    Const,
    DagRef,
    Function,
    Mapping,
    Maybe,
    Seq,
    Unknown,
    Value,
    is_known,
    to_python,
)

STRING_METHODS = frozenset({
    "format", "join", "upper", "lower", "replace", "strip", "title", "capitalize", "lstrip", "rstrip",
    "split", "rsplit", "splitlines", "partition", "rpartition", "startswith", "endswith", "find", "rfind",
    "index", "rindex", "count", "isupper", "islower", "isdigit", "isalpha", "isalnum", "isnumeric",
    "isidentifier", "isspace", "casefold", "swapcase", "removeprefix", "removesuffix", "zfill", "ljust",
    "rjust", "center", "expandtabs", "encode",
})
_WIDTH_METHODS = frozenset({"zfill", "ljust", "rjust", "center", "expandtabs"})


@dataclass(eq=False, slots=True)
class GlobalsRef(Value):
    """What ``globals()`` returns: a module's namespace. An entry set in the DAG file's own is
    a global that ``proxying_to_dagster(global_vars=globals())`` and Airflow both see."""

    scope: Scope


class Containers:
    """Mixed into the evaluator."""

    module_scope: Scope

    def container_method(self, receiver: Value, name: str, args: list[Value], kwargs: dict[str, Value],
                         node: ast.Call) -> Value | None:
        """A method of a list, dict, string or ``globals()``; None when it is not one of those."""
        if isinstance(receiver, GlobalsRef):
            receiver = Mapping(receiver.scope.vars) if name in ("get", "keys", "values", "items") else receiver
            if isinstance(receiver, GlobalsRef):
                if name == "update" and args and isinstance(args[0], Mapping):
                    for key, value in args[0].items.items():
                        self.set_item(receiver, Const(key), value)
                    return Const(None)
                return None
        if isinstance(receiver, Seq):
            return self._list_method(receiver, name, args)
        if isinstance(receiver, Mapping):
            return self._dict_method(receiver, name, args, kwargs)
        text = member_value(receiver.value) if isinstance(receiver, Const) else None
        if isinstance(text, str) and name in STRING_METHODS:  # a StrEnum member is a str too
            return self._string_method(text, name, args, kwargs, node)
        return None

    def _list_method(self, receiver: Seq, name: str, args: list[Value]) -> Value | None:
        items = receiver.items
        if name == "append" and args:
            items.append(self.maybe(args[0]))  # type: ignore[attr-defined]
        elif name == "extend" and args:
            items.extend(self.maybe(item) for item in self.iterate(args[0]) or [])  # type: ignore[attr-defined]
        elif name == "insert" and len(args) == 2 and isinstance(args[0], Const) and isinstance(args[0].value, int):
            items.insert(args[0].value, self.maybe(args[1]))  # type: ignore[attr-defined]
        elif name == "copy":
            return Seq(list(items))
        elif name == "pop" and not any(isinstance(i, Maybe) for i in items) and items:
            index = args[0].value if args and isinstance(args[0], Const) else -1
            try:
                return items.pop(index)
            except (IndexError, TypeError):
                return Unknown("pop")
        elif name == "reverse":
            items.reverse()
        elif name in ("add", "update", "discard") and args:  # a set, held as a list of distinct items
            from analysis.dags.folding import _unique

            if name == "discard":
                if not isinstance(args[0], Const):
                    return Unknown(name)
                items[:] = [i for i in items if not (isinstance(i, Const) and i.value == args[0].value)]
            else:
                added = [args[0]] if name == "add" else self.iterate(args[0]) or []  # type: ignore[attr-defined]
                items[:] = _unique([*items, *(self.maybe(a) for a in added)])  # type: ignore[attr-defined]
        elif name in ("remove", "sort", "clear", "index", "count", "pop"):
            return Unknown(name)
        else:
            return None
        if len(items) > MAX_ITEMS:
            del items[MAX_ITEMS:]
        return Const(None)

    def _dict_method(self, receiver: Mapping, name: str, args: list[Value], kwargs: dict[str, Value]) -> Value | None:
        entries = receiver.items
        self.spend(len(entries))  # type: ignore[attr-defined]
        if name == "items":
            return Seq([Seq([key_value(k), v]) for k, v in entries.items()])
        if name == "keys":
            return Seq([key_value(k) for k in entries])
        if name == "values":
            return Seq(list(entries.values()))
        if name in ("get", "pop", "setdefault") and args:
            usable, key = dict_key(args[0])
            if not usable or key not in entries and not missing_for_sure(key):
                return Unknown(name)
            default = args[1] if len(args) > 1 else Const(None)
            if name == "get":
                return entries.get(key, default)
            if name == "pop":
                return entries.pop(key, default)
            return entries.setdefault(key, default)
        if name == "update":
            source = args[0] if args else Mapping({})
            if not isinstance(source, Mapping):
                return Unknown(name)
            entries.update(source.items)
            entries.update(kwargs)
            return Const(None)
        if name == "copy":
            return Mapping(dict(entries))
        return None

    def _string_method(self, text: str, name: str, args: list[Value], kwargs: dict[str, Value],
                       node: ast.Call) -> Value:
        if name == "format" and HUGE_WIDTH.search(text):
            return Unknown(node)
        if name == "format":  # what the string does not read cannot change it: `"{a}".format(a=1, b=x)`
            args, kwargs = _read_by_format(text, args, kwargs)
        self.spend(sum(len(a.items) for a in (*args, *kwargs.values()) if isinstance(a, (Seq, Mapping))))  # type: ignore[attr-defined]
        if name == "replace" and len(args) >= 2 and isinstance(args[0], Const) \
                and isinstance(member_value(args[0].value), str) and member_value(args[0].value) not in text:
            return Const(text)  # nothing to replace: whatever the new text, the string stays
        if not (all(is_known(a) for a in args) and all(is_known(v) for v in kwargs.values())):
            return Unknown(node)
        plain_args = [_plain(to_python(a)) for a in args]
        if name in _WIDTH_METHODS and any(isinstance(a, int) and a > MAX_STRING for a in plain_args):
            return Unknown(node)
        try:
            result = getattr(text, name)(*plain_args, **{k: _plain(to_python(v)) for k, v in kwargs.items()})
        except Exception:  # noqa: BLE001 - user format strings can fail any way
            return Unknown(node)
        if isinstance(result, (list, tuple)):
            return Seq([Const(v) for v in result])
        if isinstance(result, str) and len(result) > MAX_STRING:
            return Unknown(node)
        return Const(result)

    def invoke(self, function: Value, args: list[Value], node: ast.Call) -> Value:
        """Call any callable the interpreter holds (a function, a bound method, a partial,
        ``operator.add``...) with positional arguments."""
        return self.call(node, function, args, {}, {}, self.module_scope)  # type: ignore[attr-defined]

    # -- item assignment --------------------------------------------------------------------

    def set_item(self, base: Value, key: Value, value: Value) -> None:
        """``base[key] = value`` for the containers the interpreter holds."""
        if isinstance(base, Maybe):
            base = base.value
        if isinstance(base, GlobalsRef):
            if isinstance(key, Const) and isinstance(key.value, str):
                self.assign(base.scope, key.value, value)  # type: ignore[attr-defined]
            if base.scope is self.module_scope:
                # `globals()[dag_id] = dag`: the DAG factory idiom; proxying_to_dagster sees it.
                dag = as_airflow(value.value if isinstance(value, Maybe) else value)
                if isinstance(dag, DagRef):
                    name = key.value if isinstance(key, Const) and isinstance(key.value, str) else "globals()[...]"
                    self.exposed[dag.dag] = name  # type: ignore[attr-defined]
            return
        if isinstance(base, Mapping) and isinstance(key, Const):
            try:
                base.items[key.value] = self.maybe(value)  # type: ignore[attr-defined]
            except TypeError:
                pass
        elif isinstance(base, Seq) and isinstance(key, Const) and isinstance(key.value, int):
            try:
                base.items[key.value] = self.maybe(value)  # type: ignore[attr-defined]
            except IndexError:
                pass

    def globals_of(self, scope: Scope) -> GlobalsRef:
        """``globals()`` where ``scope`` runs: the namespace of the module that wrote the code."""
        while scope.parent is not None:
            scope = scope.parent
        return GlobalsRef(scope)

    # -- functional builtins ----------------------------------------------------------------

    def functional(self, name: str, args: list[Value], kwargs: dict[str, Value], node: ast.Call) -> Value | None:
        """``map``/``filter``/``functools.reduce``/``sorted(key=)`` over the project's functions."""
        from analysis.dags.values import Qualified

        function = args[0] if args else None
        if name in ("builtins.map", "builtins.filter", "functools.reduce") and not (
                isinstance(function, (Function, BoundMethod, Partial))
                or isinstance(function, Qualified) and function.name.startswith("operator.")):
            return None
        if name == "builtins.map" and len(args) >= 2:
            columns = [self.iterate(a) for a in args[1:]]  # type: ignore[attr-defined]
            if any(c is None for c in columns):
                return Unknown(node)
            return Seq([self.invoke(function, list(row), node) for row in zip(*columns)])
        if name == "builtins.filter" and len(args) == 2:
            items = self.iterate(args[1])  # type: ignore[attr-defined]
            if items is None:
                return Unknown(node)
            kept = []
            for item in items:
                verdict = self.invoke(function, [item], node)
                if not isinstance(verdict, Const):
                    return Unknown(node)
                if verdict.value:
                    kept.append(item)
            return Seq(kept)
        if name == "functools.reduce" and len(args) in (2, 3):
            items = self.iterate(args[1])  # type: ignore[attr-defined]
            if items is None or (len(args) == 2 and not items):
                return Unknown(node)
            accumulated, rest = (args[2], items) if len(args) == 3 else (items[0], items[1:])
            for item in rest:
                accumulated = self.invoke(function, [accumulated, item], node)
            return accumulated
        return None


def _plain(data: object, depth: int = 0) -> object:
    """Plain data for a ``str`` method: ``StrEnum``/``IntEnum`` members as their values
    (``"-".join([Kind.A, "x"])`` joins strings), in lists, tuples and dicts too."""
    if depth > 20:
        return data
    if isinstance(data, (list, tuple)):
        return type(data)(_plain(item, depth + 1) for item in data)
    if isinstance(data, dict):
        return {key: _plain(item, depth + 1) for key, item in data.items()}
    return member_value(data)


def _read_by_format(text: str, args: list[Value], kwargs: dict[str, Value]) -> tuple[list[Value], dict[str, Value]]:
    """The arguments of ``text.format(...)`` that its fields read (nested ones in format specs
    too): all positional ones if any field is positional, the keywords it names. All of them
    when the string does not parse as a format (``format`` then raises, whatever they are)."""
    names: set[str] = set()
    positional = False
    pending = [text]
    try:
        while pending:
            for _, field, spec, _ in string.Formatter().parse(pending.pop()):
                if field is None:
                    continue
                first = field.split(".", 1)[0].split("[", 1)[0]
                if not first or first.isdigit():
                    positional = True
                else:
                    names.add(first)
                if spec:
                    pending.append(spec)
    except ValueError:
        return args, kwargs
    return (args if positional else []), {k: v for k, v in kwargs.items() if k in names}
