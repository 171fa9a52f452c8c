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
    "ui_color", "ui_fgcolor", "custom_operator_name", "template_fields_renderers",
    "__doc__", "__module__", "__qualname__", "__annotations__", "__firstlineno__", "__static_attributes__",
    "__classcell__", "__orig_bases__", "__slots__",
})
"""Class attributes that change how the Airflow UI shows a task, not what it runs
(``operator_extra_links`` is not one: Airflow 3 calls each link's ``get_link`` when the task
ends, and pushes what it returns to XCom)."""

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
    found = [f"`{cls.name}` is made by `@{ast.unparse(d)}`" for d in cls.node.decorator_list]
    found += [f"`{cls.name}` is made with `{k.arg}={ast.unparse(k.value)}`" if k.arg else
              f"`{cls.name}` is made with `**{ast.unparse(k.value)}`" for k in cls.node.keywords]
    for name, value in cls.attrs.items():
        if name in _COSMETIC:
            continue
        if name == "__init__" and isinstance(value, Function):
            touched = _self_uses(value.node, {ast.unparse(b) for b in cls.node.bases})
            if touched:
                found.append(f"`{cls.name}.__init__` {touched}")
        elif isinstance(value, Function) or name.startswith("__"):
            stores = _method_stores(value.node) if isinstance(value, Function) else None
            found.append(f"`{cls.name}` defines `{name}`" + (f", {stores}" if stores else ""))
        elif name == "template_fields" and (removed := _removed_fields(cls)):
            found.append(f"`{cls.name}` sets `template_fields` to its base's without "
                         + ", ".join(f"`{r}`" for r in removed))
        else:
            found.append(f"`{cls.name}` sets `{name}`")
    return found


def _method_stores(function: ast.AST) -> str | None:
    """What a method sets on the instance when Airflow runs it (``self.image = ...`` in
    ``pre_execute``: the base then runs with that value), or None."""
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    params = function.args.posonlyargs + function.args.args
    static = any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in function.decorator_list)
    if not params or static:
        return None
    me, names = params[0].arg, {}
    arguments = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)} - {me}
    for node in ast.walk(function):
        changed = _changed_root(node)
        if changed in arguments:  # `pod_request_obj.spec.x = ...` in `get_or_create_pod`: what the base runs
            return f"which changes its argument `{changed}`"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == me:
            if node.attr == "__dict__":
                return "which sets attributes by name"
            if isinstance(node.ctx, (ast.Store, ast.Del)):
                names[node.attr] = None
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr", "vars") \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == me:
            return "which sets attributes by name"
    return ("which sets " + ", ".join(f"`{me}.{n}`" for n in names)) if names else None


def _changed_root(node: ast.AST) -> str | None:
    """The name whose object ``node`` changes in place: a store into an attribute or item of it
    (``pod.spec.x = ...``), or a container method changing it (``pod.spec.containers.append``)."""
    if isinstance(node, (ast.Attribute, ast.Subscript)) and isinstance(node.ctx, (ast.Store, ast.Del)):
        return _root(node)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _MUTATORS:
        return _root(node.func.value)
    return None


_MUTATORS = frozenset({"append", "extend", "insert", "update", "setdefault", "pop", "popitem", "remove", "clear",
                       "add", "discard", "sort", "reverse"})
"""Methods of Python's containers that change them in place."""


def _removed_fields(cls: ClassValue) -> tuple[str, ...] | None:
    """The fields a class's ``template_fields`` takes out of its base's, when that is all it does:
    ``tuple(set(Base.template_fields) - {"on_finish_action"})`` (mozilla-telemetry's
    ``GKEPodOperator``), ``[f for f in Base.template_fields if f != "x"]`` or ``... not in (...)``,
    ``Base`` one of the class's bases as written. Airflow then renders fewer arguments than the
    base does, which only matters for those (``analysis.edits.scaffold.derived``)."""
    assigned = [s.value for s in cls.node.body if isinstance(s, ast.Assign) and len(s.targets) == 1
                and isinstance(s.targets[0], ast.Name) and s.targets[0].id == "template_fields"]
    if len(assigned) != 1:
        return None
    node = assigned[0]
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("tuple", "list", "set") \
            and len(node.args) == 1 and not node.keywords:
        node = node.args[0]
    bases = {ast.unparse(b) for b in cls.node.bases}

    def base_fields(expr: ast.expr) -> bool:
        return isinstance(expr, ast.Attribute) and expr.attr == "template_fields" and ast.unparse(expr.value) in bases

    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub) and isinstance(node.left, ast.Call) \
            and isinstance(node.left.func, ast.Name) and node.left.func.id == "set" and len(node.left.args) == 1 \
            and base_fields(node.left.args[0]) and isinstance(node.right, ast.Set):
        return _names(node.right.elts)
    if isinstance(node, (ast.ListComp, ast.GeneratorExp)) and len(node.generators) == 1:
        loop = node.generators[0]
        if not (isinstance(loop.target, ast.Name) and isinstance(node.elt, ast.Name) and node.elt.id == loop.target.id
                and base_fields(loop.iter) and len(loop.ifs) == 1 and not loop.is_async):
            return None
        test = loop.ifs[0]
        if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name) \
                and test.left.id == loop.target.id:
            if isinstance(test.ops[0], ast.NotEq):
                return _names(test.comparators)
            if isinstance(test.ops[0], ast.NotIn) and isinstance(test.comparators[0], (ast.Tuple, ast.List, ast.Set)):
                return _names(test.comparators[0].elts)
    return None


def _names(nodes: list[ast.expr]) -> tuple[str, ...] | None:
    """String constants, in order; None when one is something else."""
    found = tuple(n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str))
    return found if found and len(found) == len(nodes) else None


def _self_uses(function: ast.FunctionDef | ast.AsyncFunctionDef, bases: set[str]) -> str | None:
    """How ``__init__`` changes or reads the instance besides handing arguments to its base's
    constructor (``super().__init__(...)``, ``Base.__init__(self, ...)`` of one of ``bases``, the
    class's bases as written), or None."""
    params = function.args.posonlyargs + function.args.args
    if not params:
        return "takes no `self`"
    me = params[0].arg
    allowed: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Call) \
                and isinstance(node.value.func, ast.Name) and node.value.func.id == "super":
            if node.attr != "__init__":  # super().__setattr__(...) changes the instance as self.x = ... does
                return f"uses `super().{node.attr}`"
            allowed.update(id(a) for a in node.value.args if isinstance(a, ast.Name) and a.id == me)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "__init__" \
                and ast.unparse(node.func.value) in bases \
                and node.args and isinstance(node.args[0], ast.Name) and node.args[0].id == me:
            allowed.add(id(node.args[0]))
    effect = _side_effect(function, allowed)
    if effect is not None:
        return effect
    augmented = {id(n.target) for n in ast.walk(function) if isinstance(n, ast.AugAssign)}
    stored: dict[str, None] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Name) and node.id == me and id(node) not in allowed:
            parent = _attribute_of(function, node)
            if parent is not None and isinstance(parent.ctx, ast.Store) and id(parent) not in augmented:
                stored[parent.attr] = None
                continue
            return f"uses `{me}`" + (f" (`{me}.{parent.attr}`)" if parent is not None else "")
    return ("sets " + ", ".join(f"`{me}.{name}`" for name in stored)) if stored else None


def _side_effect(function: ast.FunctionDef | ast.AsyncFunctionDef, allowed: set[int]) -> str | None:
    """A statement of ``__init__`` that may change something besides its own local names: a call
    made for its effect (``os.makedirs(...)``; the base's constructor excepted), a store into
    something not local (``os.environ["A"] = ...``), ``global``/``nonlocal``. Airflow runs it
    whenever it reads the DAG file, the task's own run too; a scaffold would not."""
    parameters = {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    local = parameters | {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    # a local name bound to something not local (`env = os.environ`) stands for it
    local -= {t.id for n in ast.walk(function) if isinstance(n, ast.Assign)
              and isinstance(n.value, (ast.Name, ast.Attribute, ast.Subscript)) and _root(n.value) not in parameters
              for t in n.targets if isinstance(t, ast.Name)}
    for node in ast.walk(function):
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            return f"declares `{' '.join(node.names)}` {type(node).__name__.lower()}"
        discarded = isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) and t.id == "_" for t in node.targets)
        if (isinstance(node, ast.Expr) or discarded) and isinstance(node.value, ast.Call) \
                and not _base_init(node.value, allowed) and not _local_method(node.value, local):
            return f"calls `{_short_text(node.value.func)}(...)`"
        targets = node.targets if isinstance(node, ast.Assign) else \
            [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
        for target in targets:
            stored = [t for t in ast.walk(target) if isinstance(t, (ast.Subscript, ast.Attribute))
                      and _root(t) not in local]  # `kwargs["env"] = ...`: the model evaluates it
            if stored:
                return f"stores into `{_short_text(stored[0])}`"
    return None


def _root(node: ast.expr) -> str | None:
    """The name an attribute, subscript or method chain starts from (``env`` of ``env["A"].x``,
    ``kwargs`` of ``kwargs.setdefault("env", {})["A"]``)."""
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _local_method(call: ast.Call, local: set[str]) -> bool:
    """``kwargs.setdefault(...)``: a method of a parameter or a local name (the model evaluates
    what it does to the arguments handed on). ``self`` is not one: its uses are read apart."""
    func = call.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in local


def _base_init(call: ast.Call, allowed: set[int]) -> bool:
    """``super().__init__(...)`` or ``Base.__init__(self, ...)`` (its ``self`` in ``allowed``)."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr != "__init__":
        return False
    if isinstance(func.value, ast.Call) and isinstance(func.value.func, ast.Name) and func.value.func.id == "super":
        return True
    return bool(call.args) and id(call.args[0]) in allowed


def _short_text(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 40 else text[:37] + "..."


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
