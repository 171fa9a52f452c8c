"""Expression evaluation for the interpreter: names, attributes, subscripts, literals, f-strings
and operators, constants folded (calls are ``analysis.dags.calls``, comprehensions
``analysis.dags.comprehensions``)."""

from __future__ import annotations

import ast
from pathlib import PurePath
from typing import Any

from analysis.dags import airflow_calls
from analysis.dags.budget import MAX_NESTING
from analysis.dags.calls import Calls
from analysis.dags.classes import ClassValue, Instance, dict_key, member_value
from analysis.dags.comprehensions import Comprehensions
from analysis.dags.containers import Containers
from analysis.dags.data_files import DataFiles, DirEntry
from analysis.dags.folding import (
    BINOPS,
    BUILTINS,
    HUGE_WIDTH,
    MAX_ITEMS,
    MAX_STRING,
    OP_TEXT,
    PATH_PARTS,
    render,
    too_big,
)
from analysis.dags.logic import SET_OPS, Logic, set_operation
from analysis.dags.modules import ModuleValue
from analysis.dags.named_tuples import tuple_items
from analysis.dags.names import airflow_class_name
from analysis.dags.scope import Scope
from analysis.dags.stdlib import CONSTANTS
from analysis.dags.values import (
    Const,
    DagRef,
    Function,
    GroupRef,
    Mapping,
    Maybe,
    Method,
    PartialOperator,
    Qualified,
    Seq,
    TaskRef,
    Unknown,
    Value,
    flatten_tasks,
    is_known,
    to_python,
)

_DISPLAYS = {ast.List: "list", ast.Tuple: "tuple", ast.Set: "set"}


class Evaluator(Comprehensions, Calls, DataFiles, Containers, Logic, airflow_calls.AirflowCalls):
    """Mixed into the interpreter; ``self`` provides scopes, imports and the collector."""

    def eval(self, node: ast.expr | None, scope: Scope) -> Value:
        if node is None:
            return Const(None)
        self.work_left -= 1
        if self.work_left < 0:
            self.budget_spent()
        if self.nesting >= MAX_NESTING:
            self.give_up("nesting", node, "an expression here nests too deeply to read statically")
            return Unknown(node)
        handler = getattr(self, f"_eval_{type(node).__name__}", None)
        # No try/finally (this is the hottest path): nothing is raised through an expression
        # but RecursionError, whose handler in exec_statement restores the count.
        self.nesting += 1
        if handler is None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.expr):
                    self.eval(child, scope)
            value: Value = Unknown(node)
        else:
            value = handler(node, scope)
        self.nesting -= 1
        return value

    def _eval_Constant(self, node: ast.Constant, scope: Scope) -> Value:
        return Const(node.value)

    def _eval_Name(self, node: ast.Name, scope: Scope) -> Value:
        value = scope.lookup(node.id)
        if value is not None:
            if isinstance(value, Qualified) and value.name in CONSTANTS:  # `from string import digits`
                return Const(CONSTANTS[value.name])
            return self.known_here(value) if isinstance(value, Maybe) else value
        if node.id in BUILTINS:
            return Qualified(f"builtins.{node.id}", node.id)
        return Unknown(node.id)

    # `a.b`, `a[i]` and `f(x)` nest to the left when chained (`dag.task(...).override(...)()`,
    # `a.b.b.b`, `f()()()`): a chain is walked in a loop from its innermost base outwards, so
    # that its length costs no recursion.

    def _eval_Attribute(self, node: ast.Attribute, scope: Scope) -> Value:
        if isinstance(node.value, _POSTFIX):
            return self.postfix_chain(node, scope)
        return self.attribute(node, self.eval(node.value, scope))

    def _eval_Subscript(self, node: ast.Subscript, scope: Scope) -> Value:
        if isinstance(node.value, _POSTFIX):
            return self.postfix_chain(node, scope)
        return self.subscript(node, self.eval(node.value, scope), scope)

    def _eval_Call(self, node: ast.Call, scope: Scope) -> Value:
        if isinstance(node.func, _POSTFIX):
            return self.postfix_chain(node, scope)
        return self.call_with_arguments(node, self.eval(node.func, scope), scope)

    def postfix_chain(self, node: ast.Attribute | ast.Subscript | ast.Call, scope: Scope) -> Value:
        links: list[ast.expr] = [node]
        base = _chain_base(node)
        while isinstance(base, _POSTFIX):
            links.append(base)
            base = _chain_base(base)
        value = self.eval(base, scope)
        for link in reversed(links):
            if isinstance(link, ast.Attribute):
                value = self.attribute(link, value)
            elif isinstance(link, ast.Subscript):
                value = self.subscript(link, value, scope)
            else:
                value = self.call_with_arguments(link, value, scope)  # type: ignore[arg-type]
        return value

    def attribute(self, node: ast.Attribute, base: Value) -> Value:
        if isinstance(base, Maybe):
            # An attribute of a value that may be another: as uncertain as it (a method of it,
            # called, makes that call's statement conditional; see `call`).
            found = self.attribute(node, base.value)
            return found if isinstance(found, Maybe) else Maybe(found, base.level, base.reason)
        found = self.object_attribute(base, node.attr, node)
        if found is not None:
            return found
        if isinstance(base, ModuleValue):
            return base.attribute(node.attr, self)
        if isinstance(base, Qualified):
            constant = CONSTANTS.get(f"{base.name}.{node.attr}")
            if constant is not None:
                return Const(constant)
            if node.attr == "__name__" and (class_name := airflow_class_name(base.name)) is not None:
                return Const(class_name)  # `f"cleanup_{DagRun.__name__}"`
            if node.attr == "TYPE_CHECKING" and base.name in ("typing", "typing_extensions"):
                return Const(False)  # `if typing.TYPE_CHECKING:` imports only for type checkers
            if base.name.startswith("airflow.") and base.name.endswith(".TriggerRule"):
                return Const(node.attr.lower())
            return Qualified(f"{base.name}.{node.attr}", f"{base.spelled}.{node.attr}")
        if isinstance(base, Const) and isinstance(base.value, PurePath) and node.attr in PATH_PARTS:
            return Const(getattr(base.value, node.attr))
        if isinstance(base, Const) and isinstance(base.value, DirEntry) and node.attr in ("name", "path"):
            return Const(getattr(base.value, node.attr))  # `os.scandir(folder)`'s entries
        if isinstance(base, TaskRef) and node.attr == "output":
            return TaskRef(base.task, xcom=True)
        if isinstance(base, DagRef) and node.attr == "dag_id" and not base.dag.id_dynamic:
            return Const(base.dag.dag_id)  # `parent_dag_name=dag.dag_id` (a SubDAG's id)
        if isinstance(base, DagRef) and node.attr == "default_args":  # the DAG's own: changed in place
            held = base.dag.default_args
            if held is None or (isinstance(held, Const) and held.value is None):
                held = base.dag.default_args = Mapping({})  # Airflow's `default_args or {}`
            return held
        if isinstance(base, (TaskRef, Function, Seq, Const, Mapping, PartialOperator, DagRef, GroupRef)):
            return Method(base, node.attr)
        return Unknown(node)

    def subscript(self, node: ast.Subscript, base: Value, scope: Scope) -> Value:
        if isinstance(base, Maybe):
            found = self.subscript(node, base.value, scope)
            return found if isinstance(found, Maybe) else Maybe(found, base.level, base.reason)
        index = self.eval(node.slice, scope)
        if isinstance(base, Qualified) and base.name == "os.environ":
            return self.environment_value(index, node)
        if isinstance(base, ClassValue) and base.members is not None and isinstance(index, Const):
            found = [m for m in base.members if m.name == index.value]  # `Color["RED"]`
            return Const(found[0]) if found else Unknown(node)
        if isinstance(base, TaskRef):
            return TaskRef(base.task, xcom=True)
        if isinstance(base, Mapping) and isinstance(index, Instance):
            usable, key = dict_key(index)
            return base.items[key] if usable and key in base.items else Unknown(node)
        if isinstance(index, Const):
            try:
                if isinstance(base, Seq) and isinstance(index.value, slice):
                    return Seq(base.items[index.value])
                if isinstance(base, Seq):
                    return self.known_here(base.items[index.value])
                if isinstance(index.value, int) and (fields := tuple_items(base)) is not None:
                    return fields[index.value]
                if isinstance(base, Mapping) and index.value not in base.items and base.default is not None:
                    made = self.call(node, base.default, [], {}, {}, scope)  # defaultdict: made on first use
                    base.items[index.value] = made
                    return made
                if isinstance(base, Mapping):
                    return base.items[index.value]
                if isinstance(base, Const):
                    return Const(base.value[index.value])
            except (IndexError, KeyError, TypeError):
                pass
        return Unknown(node)

    def _eval_Slice(self, node: ast.Slice, scope: Scope) -> Value:
        parts = [self.eval(p, scope) if p else Const(None) for p in (node.lower, node.upper, node.step)]
        if all(isinstance(p, Const) for p in parts):
            return Const(slice(*(p.value for p in parts)))
        return Unknown(node)

    def _eval_List(self, node: ast.List | ast.Tuple | ast.Set, scope: Scope) -> Value:
        items: list[Value] = []
        for element in node.elts:
            if isinstance(element, ast.Starred):
                value = self.eval(element.value, scope)
                spread = self.iterate(value)
                if spread is None:
                    return Unknown(node)
                items.extend(spread)
            else:
                items.append(self.eval(element, scope))
        return Seq(items, _DISPLAYS.get(type(node)))

    _eval_Tuple = _eval_List
    _eval_Set = _eval_List

    def _eval_Dict(self, node: ast.Dict, scope: Scope) -> Value:
        items: dict[Any, Value] = {}
        known = True
        for key_node, value_node in zip(node.keys, node.values):
            value = self.eval(value_node, scope)
            if key_node is None:
                if isinstance(value, Mapping):
                    items.update(value.items)
                else:
                    known = False
                continue
            usable, key = dict_key(self.eval(key_node, scope))
            if usable:
                items[key] = value
            else:
                known = False
        return Mapping(items) if known else Unknown(node)

    def _eval_JoinedStr(self, node: ast.JoinedStr, scope: Scope) -> Value:
        parts: list[str] = []
        known = True
        for piece in node.values:
            if isinstance(piece, ast.Constant):
                parts.append(str(piece.value))
                continue
            assert isinstance(piece, ast.FormattedValue)
            value = self.text_of_object(self.eval(piece.value, scope), piece)
            spec = self.eval(piece.format_spec, scope) if piece.format_spec else Const("")
            if isinstance(value, Const) and isinstance(spec, Const) and not (
                    isinstance(spec.value, str) and HUGE_WIDTH.search(spec.value)):
                try:
                    raw = value.value
                    if piece.conversion == ord("r"):
                        raw = repr(raw)
                    elif piece.conversion == ord("s"):
                        raw = str(raw)
                    elif piece.conversion == ord("a"):
                        raw = ascii(raw)
                    parts.append(format(raw, spec.value))
                    continue
                except (TypeError, ValueError):
                    pass
            known = False
            parts.append("{" + ast.unparse(piece.value) + "}")
        text = "".join(parts)
        return Const(text) if known else Unknown(text)

    def _eval_BinOp(self, node: ast.BinOp, scope: Scope) -> Value:
        """``a >> b >> c ...`` and ``"a" + "b" + ...`` nest to the left, one level per operand:
        walked in a loop, so that a chain of any length costs no recursion."""
        if not isinstance(node.left, ast.BinOp):
            return self.binary(node, self.eval(node.left, scope), self.eval(node.right, scope))
        links = [node]
        while isinstance(links[-1].left, ast.BinOp):
            links.append(links[-1].left)
        value = self.eval(links[-1].left, scope)
        for link in reversed(links):
            value = self.binary(link, value, self.eval(link.right, scope))
        return value

    def operator_function(self, name: str, left: Value, right: Value, node: ast.AST) -> Value:
        """``operator.add(a, b)`` and friends, as the operator they name."""
        ops = {"add": ast.Add, "iadd": ast.Add, "concat": ast.Add, "iconcat": ast.Add, "sub": ast.Sub,
               "mul": ast.Mult, "mod": ast.Mod, "floordiv": ast.FloorDiv, "truediv": ast.Div,
               "or_": ast.BitOr, "ior": ast.BitOr, "and_": ast.BitAnd, "xor": ast.BitXor}
        if name not in ops:
            return Unknown(node)
        synthetic = ast.BinOp(left=ast.Constant(None), op=ops[name](), right=ast.Constant(None))
        ast.copy_location(synthetic, node)
        return self.binary(synthetic, left, right)

    def binary(self, node: ast.BinOp, left: Value, right: Value) -> Value:
        if isinstance(node.op, (ast.RShift, ast.LShift)):
            result = self.overloaded(node, left, right, "rshift" if isinstance(node.op, ast.RShift) else "lshift")
            if result is not None:
                return result
            return self.dependency(left, right, downstream=isinstance(node.op, ast.RShift))
        if isinstance(left, Seq) and isinstance(right, Seq) and isinstance(node.op, SET_OPS):
            return set_operation(node.op, left, right, node)
        if isinstance(left, Mapping) and isinstance(right, Mapping) and isinstance(node.op, ast.BitOr):
            self.spend(len(left.items) + len(right.items))  # `defaults | kwargs`: the right one wins
            return Mapping({**left.items, **right.items}, left.default)
        if isinstance(left, Seq) and isinstance(right, Seq) and isinstance(node.op, ast.Add):
            size = len(left.items) + len(right.items)
            if size > MAX_ITEMS:  # `x = x + x` in a loop doubles it each turn
                return Unknown(node)
            self.spend(size)
            return Seq([*left.items, *right.items])
        if isinstance(node.op, ast.Mod) and isinstance(left, Const) and isinstance(left.value, str) \
                and isinstance(right, (Seq, Mapping)) and is_known(right):
            # `"%s_%s" % (a, b)`: the tuple (or dict) of a %-format
            plain = to_python(right)
            right = Const(tuple(plain) if isinstance(plain, list) else plain)
        function = BINOPS.get(type(node.op))
        if function and isinstance(left, Const) and isinstance(right, Const):
            # A StrEnum/IntEnum member is its value to operators (`Kind.A + "_x"` is a str).
            left, right = Const(member_value(left.value)), Const(member_value(right.value))
            if too_big(node.op, left, right):
                return Unknown(node)
            try:
                result = function(left.value, right.value)
            except Exception:  # noqa: BLE001 - folding user constants may fail any way
                return Unknown(node)
            if isinstance(result, str) and len(result) > MAX_STRING:
                return Unknown(node)
            return Const(result)
        if function and isinstance(left, (Const, Unknown)) and isinstance(right, (Const, Unknown)):
            text = render(left) + OP_TEXT.get(type(node.op), "?") + render(right)
            return Unknown(text if len(text) <= MAX_STRING else node)
        return Unknown(node)

    def _eval_NamedExpr(self, node: ast.NamedExpr, scope: Scope) -> Value:
        value = self.eval(node.value, scope)
        self.bind(node.target, value, scope)
        return value

    def _eval_Lambda(self, node: ast.Lambda, scope: Scope) -> Value:
        """A lambda is a function whose body returns its expression."""
        body = ast.Return(value=node.body)
        definition = ast.FunctionDef(name="<lambda>", args=node.args, body=[body], decorator_list=[],
                                     returns=None, type_params=[])
        ast.copy_location(body, node.body)
        ast.copy_location(definition, node)
        # its defaults are evaluated where the lambda is, as Python does (`lambda n=name: ...` in a loop)
        return Function(definition, scope, origin=self.path, defaults=self.default_values(definition, scope))

    def _eval_Yield(self, node: ast.Yield, scope: Scope) -> Value:
        value = self.eval(node.value, scope) if node.value is not None else Const(None)
        if self.yields:
            self.yields[-1].append(self.maybe(value))
        return Unknown(node)

    def _eval_YieldFrom(self, node: ast.YieldFrom, scope: Scope) -> Value:
        items = self.iterate(self.eval(node.value, scope))
        if self.yields:
            if items is None:
                self.yields[-1].append(Maybe(Unknown(node), max(self.uncertain, 1), "`yield from` of values "
                                             "known only at run time"))
            else:
                self.yields[-1].extend(self.maybe(item) for item in items)
        return Unknown(node)


_POSTFIX = (ast.Attribute, ast.Subscript, ast.Call)


def _chain_base(node: ast.Attribute | ast.Subscript | ast.Call) -> ast.expr:
    return node.func if isinstance(node, ast.Call) else node.value


__all__ = ["Evaluator", "flatten_tasks"]
