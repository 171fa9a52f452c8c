"""Calls, by what is called: the project's classes and functions (followed), Airflow's
constructors and functions, the standard library's pure functions and builtins (folded),
paths and environment variables; an unknown callee given a ``task_id`` is an operator guess."""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Iterable
from pathlib import PurePath

from analysis.dags.classes import ClassValue, Instance
from analysis.dags.data_files import DirEntry, FileValue, to_value
from analysis.dags.folding import (
    PATH_CALLS,
    builtin,
)
from analysis.dags.k8s_secrets import SECRET_CLASSES, K8sSecret, make_secret
from analysis.dags.names import classify, dotted_name
from analysis.dags.scope import Scope
from analysis.dags.stdlib import Digest, digest_method, stdlib_call
from analysis.dags.values import (
    Const,
    Function,
    Mapping,
    Method,
    PartialOperator,
    Qualified,
    Seq,
    TaskRef,
    Unknown,
    Value,
)


_UNREAD = object()
"""A value that is no constant, among a call's arguments."""


class Calls:
    """Mixed into the interpreter (through the evaluator)."""

    def call_with_arguments(self, node: ast.Call, callee: Value, scope: Scope) -> Value:
        args: list[Value] = []
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                spread = self.iterate(self.eval(arg.value, scope))
                args.extend(spread if spread is not None else [Unknown(arg)])
            else:
                args.append(self.eval(arg, scope))
        kwargs: dict[str, Value] = {}
        kwarg_nodes: dict[str, ast.expr] = {}
        for keyword in node.keywords:
            value = self.eval(keyword.value, scope)
            if keyword.arg is None:
                if isinstance(value, Mapping):
                    kwargs.update({str(k): v for k, v in value.items.items()})
                elif self.keep_arguments:  # type: ignore[attr-defined]
                    self.unread_unpacks.add(node)  # type: ignore[attr-defined]
                continue
            kwargs[keyword.arg] = value
            kwarg_nodes[keyword.arg] = keyword.value
        return self.call(node, callee, args, kwargs, kwarg_nodes, scope)

    def call(self, node: ast.Call, callee: Value, args: list[Value], kwargs: dict[str, Value],
             kwarg_nodes: dict[str, ast.expr], scope: Scope) -> Value:
        callee = self.unwrap_item(callee)  # a function chosen under a condition: what it makes is too
        if len(args) == 3 and isinstance(args[0], ClassValue) and isinstance(node.func, ast.Name) \
                and node.func.id == "setattr" and not isinstance(callee, (Function, ClassValue)):
            # `setattr(Operator, "execute", f)`: the class is changed as by `Operator.execute = f`
            name = args[1].value if isinstance(args[1], Const) and isinstance(args[1].value, str) \
                else f"<{ast.unparse(node.args[1])}>"
            args[0].attrs[name] = args[2]
            return Const(None)
        made = self.call_object(callee, node, args, kwargs, kwarg_nodes, scope)
        if made is not None:
            return made
        if isinstance(callee, Qualified):
            kind = classify(callee.name)
            if kind is not None:
                return self.airflow_call(kind, callee, node, args, kwargs, kwarg_nodes, scope)
            if callee.name == "builtins.globals":
                return self.globals_of(scope)
            if callee.name == "builtins.type" and len(args) == 1 and isinstance(args[0], Instance):
                return args[0].cls  # `type(self)(...)`
            if callee.name in ("os.environ.get", "os.getenv") and args:
                return self.environment_value(args[0], node)
            if callee.name in ("typing.cast", "typing_extensions.cast") and len(args) == 2:
                return args[1]  # `cast(T, value)` is `value` at run time
            if callee.name.startswith("airflow.") and callee.name.endswith(".Variable.get"):
                return self.airflow_variable(args, kwargs, node)
            if callee.name in SECRET_CLASSES:  # a record of names: what a pod operator is given
                plain = [a.value if isinstance(a, Const) else _UNREAD for a in args]
                named = {k: v.value if isinstance(v, Const) else _UNREAD for k, v in kwargs.items()}
                made = make_secret(plain, named) if _UNREAD not in [*plain, *named.values()] else None
                return Const(made) if isinstance(made, K8sSecret) else Unknown(node)
            pure = stdlib_call(callee.name, args, kwargs, node)
            if pure is not None:
                return pure
            if callee.name.startswith("operator.") and len(args) == 2:
                return self.operator_function(callee.name[9:], args[0], args[1], node)
            if callee.name == "enum.auto":
                return Unknown("auto()")  # an Enum class body numbers (or names) its members
            if callee.name == "collections.defaultdict":
                return Mapping({}, default=args[0] if args else None)
            data = self.data_call(callee.name, args, kwargs, node)
            if data is not None:
                return data
            if callee.name == "os.path.join" and args and all(
                    isinstance(a, Const) and isinstance(a.value, (str, PurePath)) for a in args):
                return Const(os.path.join(*(str(a.value) for a in args)))  # type: ignore[union-attr]
            functional = self.functional(callee.name, args, kwargs, node)
            if functional is not None:
                return functional
            if callee.name == "builtins.str" and len(args) == 1:
                args = [self.text_of_object(args[0], node)]
            if callee.name.startswith("builtins."):
                self.spend(_size(args))
                return builtin(callee.name[9:], args, kwargs, node)
            if callee.name in PATH_CALLS and len(args) == 1 and isinstance(args[0], Const) \
                    and isinstance(args[0].value, (str, PurePath)):
                return Const(PATH_CALLS[callee.name](args[0].value))
            if callee.name in ("os.path.abspath", "os.path.realpath") and len(args) == 1 \
                    and isinstance(args[0], Const) and isinstance(args[0].value, (str, PurePath)) \
                    and os.path.isabs(args[0].value):  # a relative one depends on the working folder
                return Const(os.path.normpath(args[0].value))
            if callee.name.endswith(".partial") and "task_id" in kwargs:
                # `ProjectOperator.partial(...)` finds Airflow's `BaseOperator.partial`: the
                # operator is the class it is called on, as written.
                spelled = dotted_name(node.func.value) if isinstance(node.func, ast.Attribute) else None
                return self.partial_operator(spelled or callee.spelled.rsplit(".", 1)[0], node, kwargs, kwarg_nodes)
        if isinstance(callee, Unknown) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == "partial" and "task_id" in kwargs:
            return self.partial_operator(dotted_name(node.func.value) or "?", node, kwargs, kwarg_nodes)
        if isinstance(callee, Function):
            if callee.origin != self.path and self.lines.anchor is None:
                # A helper of another file: what it makes is shown at this call.
                self.lines.anchor = self.lines.index.range_of(node)
                try:
                    return self.call_decorated(callee, node, args, kwargs, kwarg_nodes, scope)
                finally:
                    self.lines.anchor = None
            return self.call_decorated(callee, node, args, kwargs, kwarg_nodes, scope)
        if isinstance(callee, Method):
            return self.call_method(callee, node, args, kwargs, kwarg_nodes, scope)
        if "task_id" in kwargs:
            spelled = callee.spelled if isinstance(callee, Qualified) else dotted_name(node.func)
            # Even under airflow.* a class not named like an operator (the Google provider's
            # DataProcJobBuilder, given the task's id) is a guess the real operator wins over.
            return self.create_operator(spelled or "?", node, kwargs, kwarg_nodes,
                                        guessed=not named_like_operator(spelled),
                                        qualified=callee.name if isinstance(callee, Qualified) else None)
        self.note_unfollowed(node, callee, args, kwargs)
        return Unknown(node)

    def environment_value(self, name: Value, node: ast.AST) -> Value:
        """An environment variable as the deployment sets it (the ``environment`` setting), else
        unknown: its default applies only where the deployment does not set it, which static
        reading cannot tell."""
        if self.code is not None and isinstance(name, Const) and name.value in self.code.environment:
            return Const(self.code.environment[name.value])
        return Unknown(node)

    def airflow_variable(self, args: list[Value], kwargs: dict[str, Value], node: ast.AST) -> Value:
        """``Variable.get(key, ...)`` where the deployment sets ``AIRFLOW_VAR_<KEY>`` (the
        ``environment`` setting): that value, as Airflow's environment-variables secrets backend
        gives it before the metadata database is asked (JSON-decoded for ``deserialize_json=True``).
        Otherwise unknown: the database or a secrets backend may hold it, or the default apply."""
        key = args[0] if args else kwargs.get("key")
        if self.code is None or not (isinstance(key, Const) and isinstance(key.value, str)):
            return Unknown(node)
        text = self.code.environment.get("AIRFLOW_VAR_" + key.value.upper())
        decode = kwargs.get("deserialize_json", args[2] if len(args) > 2 else Const(False))
        if text is None or not isinstance(decode, Const):
            return Unknown(node)
        if not decode.value:
            return Const(text)
        try:
            return to_value(json.loads(text))
        except ValueError:
            return Unknown(node)

    def call_method(self, method: Method, node: ast.Call, args: list[Value], kwargs: dict[str, Value],
                    kwarg_nodes: dict[str, ast.expr], scope: Scope) -> Value:
        receiver, name = method.receiver, method.name
        if isinstance(receiver, (Function, PartialOperator, TaskRef)):
            result = self.airflow_method(receiver, name, node, args, kwargs, kwarg_nodes, scope)
            if result is not None:
                return result
        result = self.container_method(receiver, name, args, kwargs, node)
        if result is None and isinstance(receiver, Const) and isinstance(receiver.value, Digest):
            result = digest_method(receiver.value, name)
        if result is None and isinstance(receiver, Const) and isinstance(receiver.value, PurePath):
            result = self.path_method(receiver.value, name, args, node)
        elif result is None and isinstance(receiver, Const) and isinstance(receiver.value, DirEntry) \
                and name in ("is_file", "is_dir"):
            result = self.path_method(PurePath(receiver.value.path), name, args, node)
        elif result is None and isinstance(receiver, FileValue):
            result = self.file_method(receiver, name, node)
        if result is not None:
            return result
        if "task_id" in kwargs:
            spelled = dotted_name(node.func)
            return self.create_operator(spelled or "?", node, kwargs, kwarg_nodes,
                                        guessed=not named_like_operator(spelled))
        return Unknown(node)


def named_like_operator(spelled: str | None) -> bool:
    """``FooOperator(...)``, ``BarSensor(...)``, ``...Async``, ``ExternalTaskMarker``: what a class of an
    unread library is most likely to be."""
    last = (spelled or "").rsplit(".", 1)[-1]
    return last.endswith(("Operator", "Sensor", "OperatorAsync", "SensorAsync", "Marker"))


def _size(values: Iterable[Value]) -> int:
    """What reading these values costs: their lists and mappings are walked item by item."""
    return sum(len(v.items) for v in values if isinstance(v, (Seq, Mapping)))

