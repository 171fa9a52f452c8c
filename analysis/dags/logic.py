"""Conditions, comparisons and boolean operators, as far as static reading can decide them.

Besides constants, Python decides many tests by identity and truth alone: ``if self._dag is
None``, ``if other not in self._downstream``, ``tags = tags or []``, ``if not op:``. Objects the
interpreter made (tasks, DAGs, instances, functions, lists it holds whole) are truthy and equal
only to themselves unless their class says otherwise; deciding those tests keeps framework
code (wrappers, registries) from reading as conditional everywhere.
"""

from __future__ import annotations

import ast

from analysis.dags.classes import BoundMethod, ClassValue, Instance
from analysis.dags.folding import COMPARES, unary
from analysis.dags.scope import Scope
from analysis.dags.values import (
    Const,
    DagRef,
    Function,
    GroupRef,
    Mapping,
    Maybe,
    Seq,
    TaskRef,
    Unknown,
    Value,
    is_known,
    to_python,
)

_IDENTITY_OPS = (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)
SET_OPS = (ast.BitOr, ast.Sub, ast.BitAnd, ast.BitXor)


def set_operation(op: ast.operator, left: Seq, right: Seq, node: ast.AST) -> Value:
    """``a | b``, ``a - b``, ``a & b``, ``a ^ b`` of sets of constants (lists have none of these).
    The result keeps first-seen order: task creation order is all it can affect."""
    if not (is_known(left) and is_known(right)):
        return Unknown(node)
    try:
        first, second = [to_python(i) for i in left.items], [to_python(i) for i in right.items]
        other = set(second)
        mine = set(first)
    except TypeError:
        return Unknown(node)
    if isinstance(op, ast.BitOr):
        values = [*first, *(v for v in second if v not in mine)]
    elif isinstance(op, ast.Sub):
        values = [v for v in first if v not in other]
    elif isinstance(op, ast.BitAnd):
        values = [v for v in first if v in other]
    else:
        values = [*(v for v in first if v not in other), *(v for v in second if v not in mine)]
    return Seq([Const(v) for v in dict.fromkeys(values)])
_DUNDERS = {ast.Lt: ("__lt__", "__gt__"), ast.LtE: ("__le__", "__ge__"), ast.Gt: ("__gt__", "__lt__"),
            ast.GtE: ("__ge__", "__le__"), ast.Eq: ("__eq__", "__eq__"), ast.NotEq: ("__ne__", "__ne__")}


def truth(value: Value) -> bool | None:
    """``bool(value)`` when static reading knows it."""
    from analysis.dags.modules import ModuleValue

    if isinstance(value, Const):
        try:
            return bool(value.value)
        except Exception:  # noqa: BLE001 - a constant's __bool__ cannot fail, but be safe
            return None
    if isinstance(value, Seq):
        if any(isinstance(item, Maybe) for item in value.items):
            return True if any(not isinstance(item, Maybe) for item in value.items) else None
        return bool(value.items)
    if isinstance(value, Mapping):
        return bool(value.items)
    if isinstance(value, (TaskRef, DagRef, GroupRef, Function, ClassValue, ModuleValue, BoundMethod)):
        return True
    if isinstance(value, Instance):
        if value.task is not None or value.dag is not None:
            return True
        if value.cls.defines("__bool__") is not None or value.cls.defines("__len__") is not None:
            return None
        return True
    return None


def _identity(value: Value) -> object | None:
    """What ``is`` compares for values the interpreter made (None when it cannot tell)."""
    if isinstance(value, TaskRef):
        return value.task
    if isinstance(value, DagRef):
        return value.dag
    if isinstance(value, GroupRef):
        return value.group
    if isinstance(value, Instance):
        return value.task or value.dag or value
    if isinstance(value, (Seq, Mapping, Function, ClassValue)):
        return value
    return None


def _plain_equality(value: Value) -> bool:
    """``==`` is identity for it (no ``__eq__`` of the project's; see ``_by_fields`` too)."""
    if isinstance(value, Instance) and value.task is None and value.dag is None:
        return value.cls.defines("__eq__") is None
    return isinstance(value, (TaskRef, DagRef, GroupRef, Instance))


def _by_fields(value: Value) -> bool:
    """A dataclass or named tuple instance: ``==`` compares its fields, not its identity."""
    return isinstance(value, Instance) and value.cls.fields is not None


def compare_objects(op: ast.cmpop, left: Value, right: Value) -> bool | None:
    if isinstance(op, (ast.In, ast.NotIn)):
        if isinstance(right, Mapping) and isinstance(left, Const):  # a dict's keys are constants
            try:
                found_key = left.value in right.items
            except TypeError:
                return None
            if found_key and isinstance(right.items[left.value], Maybe):
                return None  # set under a runtime condition
            return found_key if isinstance(op, ast.In) else not found_key
        if not isinstance(right, Seq) or any(isinstance(i, Maybe) for i in right.items):
            return None
        found = False
        for item in right.items:
            same = compare_objects(ast.Eq(), left, item)
            if same is None:
                return None
            found = found or same
        return found if isinstance(op, ast.In) else not found
    if not isinstance(op, _IDENTITY_OPS):
        return None
    positive = isinstance(op, (ast.Is, ast.Eq))
    none_left = isinstance(left, Const) and left.value is None
    none_right = isinstance(right, Const) and right.value is None
    ident_left, ident_right = _identity(left), _identity(right)
    if (none_left and ident_right is not None) or (none_right and ident_left is not None):
        if isinstance(op, (ast.Eq, ast.NotEq)) and not (_plain_equality(left) or _plain_equality(right)
                                                         or isinstance(left, (Seq, Mapping))
                                                         or isinstance(right, (Seq, Mapping))):
            return None
        return not positive
    if ident_left is not None and ident_right is not None:
        if isinstance(op, (ast.Eq, ast.NotEq)) and not (_plain_equality(left) and _plain_equality(right)):
            return None
        if isinstance(op, (ast.Eq, ast.NotEq)) and (_by_fields(left) or _by_fields(right)) \
                and ident_left is not ident_right:
            return None  # two dataclass or named tuple instances: equal when their fields are
        return (ident_left is ident_right) == positive
    if isinstance(op, (ast.Eq, ast.NotEq)) and (ident_left is not None and isinstance(right, Const)
                                               or ident_right is not None and isinstance(left, Const)):
        constant = right.value if isinstance(right, Const) else left.value  # type: ignore[union-attr]
        if isinstance(constant, (tuple, list)) and (_by_fields(left) or _by_fields(right)):
            return None  # a named tuple equals a plain tuple of the same items
        # A task, DAG or instance never equals a string or a number.
        if _plain_equality(left) or _plain_equality(right):
            return not positive
    return None


class Logic:
    """Mixed into the evaluator."""

    def condition(self, node: ast.expr, scope: Scope) -> Value:
        """A test's value: ``Const(True/False)`` whenever its truth is known."""
        value = self.eval(node, scope)  # type: ignore[attr-defined]
        known = truth(value)
        return Const(known) if known is not None else value

    def _eval_UnaryOp(self, node: ast.UnaryOp, scope: Scope) -> Value:
        links = [node]  # `not not x`, `- - x`: walked in a loop, like binary chains
        while isinstance(links[-1].operand, ast.UnaryOp):
            links.append(links[-1].operand)
        value = self.eval(links[-1].operand, scope)  # type: ignore[attr-defined]
        for link in reversed(links):
            if isinstance(link.op, ast.Not) and not isinstance(value, Const):
                known = truth(value)
                value = Const(not known) if known is not None else Unknown(link)
            else:
                value = unary(link, value)
        return value

    def _eval_BoolOp(self, node: ast.BoolOp, scope: Scope) -> Value:
        """``a or b`` is the first truthy operand (``tags = tags or []``), ``a and b`` the first
        falsy one; later operands are not evaluated, as in Python."""
        is_and = isinstance(node.op, ast.And)
        value: Value = Const(None)
        for operand in node.values:
            value = self.eval(operand, scope)  # type: ignore[attr-defined]
            known = truth(value)
            if known is None:
                return Unknown(node)
            if known is not is_and:
                return value
        return value

    def _eval_Compare(self, node: ast.Compare, scope: Scope) -> Value:
        left = self.eval(node.left, scope)  # type: ignore[attr-defined]
        values = [self.eval(c, scope) for c in node.comparators]  # type: ignore[attr-defined]
        self.spend(sum(len(v.items) for v in (left, *values) if isinstance(v, (Seq, Mapping))))  # type: ignore[attr-defined]
        current = left
        for op, comparator in zip(node.ops, values):
            verdict = self.compare_values(node, op, current, comparator)
            if verdict is None:
                return Unknown(node)
            if not verdict:
                return Const(False)
            current = comparator
        return Const(True)

    def compare_values(self, node: ast.AST, op: ast.cmpop, left: Value, right: Value) -> bool | None:
        """``left <op> right`` when static reading can decide it."""
        if is_known(left) and is_known(right):
            try:
                return bool(COMPARES[type(op)](to_python(left), to_python(right)))
            except TypeError:
                return None
        verdict = self.compare_by_methods(node, op, left, right)
        return verdict if verdict is not None else compare_objects(op, left, right)

    def compare_by_methods(self, node: ast.AST, op: ast.cmpop, left: Value, right: Value) -> bool | None:
        """``a < b`` by a project class's ``__lt__`` (or ``b.__gt__(a)``, as Python falls back to)."""
        names = _DUNDERS.get(type(op))
        if names is None:
            return None
        for receiver, other, name in ((left, right, names[0]), (right, left, names[1])):
            if isinstance(receiver, Instance):
                method = receiver.cls.defines(name)
                if method is not None:
                    return truth(self.run_method(method, node, [receiver, other], {}))  # type: ignore[attr-defined]
        return None

    def _eval_IfExp(self, node: ast.IfExp, scope: Scope) -> Value:
        test = self.condition(node.test, scope)
        if isinstance(test, Const):
            return self.eval(node.body if test.value else node.orelse, scope)  # type: ignore[attr-defined]
        return Unknown(node)
