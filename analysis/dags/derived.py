"""A project operator class derived from one of Airflow's or a provider's: which one, and what the
project's classes change of how it runs.

Platform teams wrap Airflow's operators in classes of their own: ``class TeamPodOperator
(KubernetesPodOperator)`` whose ``__init__`` only gives the team's defaults (an image pull policy,
a namespace, labels) to ``super().__init__``. Such a task runs Airflow's class with the arguments
its constructor hands on, and can be scaffolded as that class. One that overrides a method
(``execute``, ``get_or_create_pod``...), changes ``self`` in ``__init__`` or sets class
attributes Airflow reads (``template_fields``) runs code of its own: ``derived`` names what it
changes, so that the no-scaffold note and the refusal say why in the user's words.
"""

from __future__ import annotations

import ast

from analysis.dags.classes import ClassValue, airflow_kind
from analysis.dags.values import Function, Qualified

Derived = tuple[str, tuple[str, ...]]
"""``(the dotted Airflow or provider operator class, what the project's classes change)``: the
changes are each a short phrase (``defines `execute```); none means the project's classes only
hand arguments on."""

_COSMETIC = frozenset({
    "ui_color", "ui_fgcolor", "custom_operator_name", "operator_extra_links", "template_fields_renderers",
    "__doc__", "__module__", "__qualname__", "__annotations__", "__firstlineno__", "__static_attributes__",
    "__classcell__", "__orig_bases__", "__slots__",
})
"""Class attributes that change how the Airflow UI shows a task, not what it runs."""

_HARMLESS_BASES = frozenset({"builtins.object", "abc.ABC", "typing.Generic",
                             "airflow.utils.log.logging_mixin.LoggingMixin"})
"""Library bases besides the Airflow class that add nothing a task runs."""


def derived(cls: ClassValue) -> Derived | None:
    """The Airflow or provider operator class that ``cls``, a project class, derives from, and what
    the project's classes in its MRO change; None when no Airflow operator class is among its
    bases (a ``BaseOperator`` is one: its ``execute`` is then the project's, named as a change)."""
    order = cls.mro()
    airflow = [c for c in order if isinstance(c, Qualified) and c.name.startswith("airflow.")
               and airflow_kind(c.name) == "operator"]
    if not airflow:
        return None
    base = airflow[0].name
    changes: list[str] = []
    for other in airflow[1:]:
        if not _is_base_operator(other.name):  # BaseOperator after the class: its own base
            changes.append(f"derives from `{_short(other.name)}` too")
    for current in order:
        if isinstance(current, Qualified) and current not in airflow and current.name not in _HARMLESS_BASES:
            changes.append(f"derives from `{current.spelled or _short(current.name)}`, which is not read")
        elif isinstance(current, ClassValue):
            changes.extend(_class_changes(current))
        elif not isinstance(current, Qualified):  # a base the model could not resolve
            changes.append(f"derives from `{_base_text(cls, current)}`, which is not read")
    methods = [c for c in changes if " defines `" in c]  # what runs first, then the constructor, then values
    constructor = [c for c in changes if ".__init__` " in c]
    rest = [c for c in changes if c not in methods and c not in constructor]
    return base, tuple(dict.fromkeys([*methods, *constructor, *rest]))


def _class_changes(cls: ClassValue) -> list[str]:
    found = []
    for name, value in cls.attrs.items():
        if name in _COSMETIC:
            continue
        if name == "__init__" and isinstance(value, Function):
            touched = _self_uses(value.node)
            if touched:
                found.append(f"`{cls.name}.__init__` {touched}")
        elif isinstance(value, Function) or name.startswith("__"):
            found.append(f"`{cls.name}` defines `{name}`")
        else:
            found.append(f"`{cls.name}` sets `{name}`")
    return found


def _self_uses(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """How ``__init__`` changes or reads the instance besides handing arguments to its base's
    constructor (``super().__init__(...)``, ``Base.__init__(self, ...)``), or None."""
    params = function.args.posonlyargs + function.args.args
    if not params:
        return "takes no `self`"
    me = params[0].arg
    allowed: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super":
            allowed.update(id(a) for a in node.args if isinstance(a, ast.Name) and a.id == me)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__" \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == me:
            allowed.add(id(node.args[0]))
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == me and id(node) not in allowed:
            parent = _attribute_of(function, node)
            if parent is not None and isinstance(parent.ctx, ast.Store):
                return f"sets `{me}.{parent.attr}`"
            return f"uses `{me}`" + (f" (`{me}.{parent.attr}`)" if parent is not None else "")
    return None


def _attribute_of(function: ast.AST, name: ast.Name) -> ast.Attribute | None:
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and node.value is name:
            return node
    return None


def _base_text(cls: ClassValue, base: object) -> str:
    """How the class statement that names ``base`` spells it."""
    for current in cls.mro():
        if isinstance(current, ClassValue) and base in current.bases:
            return ast.unparse(current.node.bases[current.bases.index(base)])
    return "a class"


def _is_base_operator(name: str) -> bool:
    return _short(name) in ("BaseOperator", "BaseSensorOperator")


def _short(name: str) -> str:
    return name.rsplit(".", 1)[-1]
