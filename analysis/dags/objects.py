"""The project's classes, followed statically: DAG and operator subclasses, and wrappers.

Enterprise code builds DAGs through classes of its own: ``class CompanyDag`` whose constructor
creates the ``DAG``, ``class LoadOperator(BaseOperator)``, task wrappers with ``>>`` overloaded.
A ``class`` statement makes a ``ClassValue`` (its body run once, its methods kept as syntax
trees with their scope); calling it runs ``__init__`` on an ``Instance`` whose attributes live
in a dict; methods, properties, ``super()``, class methods and dataclasses behave as in Python.
A class whose bases reach Airflow's ``DAG`` or ``BaseOperator`` makes the DAG or the task when
``super().__init__(...)`` (or the inherited constructor) runs, with the arguments it gets.
"""

from __future__ import annotations

import ast

from analysis.dags.builder import TaskRecord
from analysis.dags.classes import (
    BaseInit,
    BoundMethod,
    ClassValue,
    EnumMember,
    Instance,
    Partial,
    SuperRef,
    airflow_kind,
    as_airflow,
    copied,
    enum_kind_of,
    is_instance,
    member_value,
)
from analysis.dags.named_tuples import FACTORIES, class_fields, is_named_tuple_base, named_tuple_class
from analysis.dags.scope import Scope
from analysis.dags.self_skips import defaults_of, is_sensor, names_skip
from analysis.dags.xcom_pulls import function_pulls
from analysis.dags.values import (
    Const,
    DagRef,
    Function,
    Mapping,
    Maybe,
    Method,
    Qualified,
    Seq,
    TaskRef,
    Unknown,
    Value,
    unwrap,
    xcom_sources,
)


class ObjectModel:
    """Mixed into the interpreter."""

    path: str

    # -- class statements -------------------------------------------------------------------

    def _exec_ClassDef(self, node: ast.ClassDef, scope: Scope) -> None:
        bases = [self.eval(base, scope) for base in node.bases]  # type: ignore[attr-defined]
        cls = ClassValue(node.name, node, bases, origin=self.path, scope=scope)
        body = Scope(scope)
        body.vars["__class_scope__"] = cls  # marks the class body: its functions close over `scope`
        self.exec_block(node.body, body)  # type: ignore[attr-defined]
        body.vars.pop("__class_scope__", None)
        enum_kind = enum_kind_of(bases)
        cls.members = [] if enum_kind else None
        counter = 0
        for name, value in body.vars.items():
            value = value.value if isinstance(value, Maybe) else value
            if isinstance(value, Function) and value.owner is None:
                value.owner = cls
            if enum_kind and not name.startswith("_") and not isinstance(value, (Function, ClassValue)):
                if isinstance(value, Unknown) and value.text == "auto()":
                    counter += 1
                    plain = name.lower() if enum_kind == "str" else (
                        1 << (counter - 1) if enum_kind == "flag" else counter)
                else:
                    plain = value.value if isinstance(value, Const) else None
                    counter = plain if isinstance(plain, int) and not isinstance(plain, bool) else counter
                held = value if enum_kind == "enum" and isinstance(value, (Instance, Seq, Mapping)) else None
                member = EnumMember(node.name, name, plain, enum_kind, held)
                cls.members.append(member)  # type: ignore[union-attr]
                value = Const(member)
            cls.attrs[name] = value
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            resolved = self.eval(target, scope)  # type: ignore[attr-defined]
            if isinstance(resolved, Qualified) and resolved.name in ("dataclasses.dataclass", "attr.s", "attrs.define"):
                cls.fields = class_fields(node)
        if any(is_named_tuple_base(base) for base in bases):
            cls.fields = class_fields(node)
        self.assign(scope, node.name, cls)  # type: ignore[attr-defined]

    # -- calls ------------------------------------------------------------------------------

    def instantiate(self, cls: ClassValue, node: ast.Call, args: list[Value], kwargs: dict[str, Value],
                    kwarg_nodes: dict[str, ast.expr], scope: Scope) -> Value:
        if cls.members is not None:  # `Color(2)`: the member with that value
            wanted = args[0] if len(args) == 1 else None
            found = [m for m in cls.members if isinstance(wanted, Const) and m.value == wanted.value
                     or isinstance(wanted, Const) and wanted.value is m]
            return Const(found[0]) if found else Unknown(f"{cls.name}(...)")
        instance = Instance(cls)
        self.spend(5)  # type: ignore[attr-defined]
        init = cls.lookup("__init__")
        if isinstance(init, Function):
            operator = cls.airflow_base() == "operator"
            given, unread = with_defaults(self, init, len(args), kwargs) if operator else (kwargs, ())
            self.run_method(init, node, [instance, *args], given)
            if instance.task is not None and operator:
                instance.task.unread_defaults = unread
                if init.origin == self.path and self.lines.anchor is None:  # type: ignore[attr-defined]
                    # an operator class of this file makes its task where the file calls it, as
                    # another file's does (``run_method``): not at ``super().__init__``, shared by all
                    instance.task.range = self.lines.index.range_of(node)  # type: ignore[attr-defined]
                    id_node = kwarg_nodes.get("task_id")
                    instance.task.id_range = self.lines.index.range_of(id_node if id_node is not None else node)  # type: ignore[attr-defined]
            self._template_field_edges(instance)
            if instance.task is not None and self.keep_arguments:  # type: ignore[attr-defined]
                instance.task.base_arguments = instance.task.arguments  # what super().__init__ was given
                instance.task.arguments = (dict(kwargs), len(args),  # the class's, not its base's
                                           node in self.unread_unpacks)  # type: ignore[attr-defined]
        elif cls.fields is not None:
            self._dataclass_init(instance, args, kwargs)
        elif isinstance(init, Qualified) and cls.airflow_base():
            self.base_init(instance, cls.airflow_base() or "", node, args, kwargs, kwarg_nodes)
        return as_airflow(instance)

    def _template_field_edges(self, instance: Instance) -> None:
        """After an operator's constructor, Airflow makes the task downstream of every XComArg held
        by one of its ``template_fields`` (``set_xcomargs_dependencies``): a project operator that
        keeps ``values=other.output`` to itself, rather than handing it to ``super().__init__``,
        still gets the edge. Fields not known statically add nothing."""
        if instance.task is None:
            return
        fields = instance.cls.lookup("template_fields")
        names = fields.items if isinstance(fields, Seq) else []
        for name in names:
            if isinstance(name, Const) and isinstance(name.value, str) and name.value in instance.attrs:
                for source in xcom_sources(instance.attrs[name.value]):
                    self.collector.add_edge(source, instance.task, self.uncertain > 0, data=True)  # type: ignore[attr-defined]

    def run_method(self, function: Function, node: ast.Call, args: list[Value], kwargs: dict[str, Value]) -> Value:
        """A method (or any function) called at ``node``: anchored there when it is another file's."""
        if function.origin != self.path and self.lines.anchor is None:  # type: ignore[attr-defined]
            self.lines.anchor = self.lines.index.range_of(node)  # type: ignore[attr-defined]
            try:
                return self.call_decorated(function, node, args, kwargs, {}, function.scope)  # type: ignore[attr-defined]
            finally:
                self.lines.anchor = None  # type: ignore[attr-defined]
        return self.call_decorated(function, node, args, kwargs, {}, function.scope)  # type: ignore[attr-defined]

    def base_init(self, instance: Instance, kind: str, node: ast.Call, args: list[Value],
                  kwargs: dict[str, Value], kwarg_nodes: dict[str, ast.expr]) -> Value:
        """Airflow's own constructor under a project class: the DAG or task it makes."""
        if kind == "dag" and instance.dag is None:
            id_value = kwargs.get("dag_id", args[0] if args else None)
            if id_value is not None:
                dag = self.new_dag(id_value, kwarg_nodes.get("dag_id"), node,  # type: ignore[attr-defined]
                                   kwargs.get("default_args"))
                dag.creation_line = self.lines.range_of(node).start.line  # type: ignore[attr-defined]
                instance.dag = dag
        elif kind == "operator" and instance.task is None and "task_id" in kwargs:
            sensor = any(is_sensor(getattr(c, "name", "")) for c in instance.cls.mro())
            made = self.create_operator(instance.cls.name, node, kwargs, kwarg_nodes,  # type: ignore[attr-defined]
                                        sensor=sensor, positional=len(args))
            if isinstance(made, TaskRef):
                instance.task = made.task
                made.task.made_by = instance.cls
                made.task.gate = instance.cls.gate() or made.task.gate or self._class_skips(instance.cls)
                self._class_pulls(instance.cls, made.task)
        return Const(None)

    def _class_pulls(self, cls: ClassValue, task: TaskRecord) -> None:
        """The ``xcom_pull``s written in the project classes of the task's MRO (its ``execute``)."""
        if self.may_pull():  # type: ignore[attr-defined]
            for node in _project_classes(cls):
                task.pulls.update(_cached(self.pulled, node, function_pulls))  # type: ignore[attr-defined]

    def _class_skips(self, cls: ClassValue) -> str | None:
        """"skips-itself" when a project class of the task's MRO names ``AirflowSkipException``."""
        if self.may_skip() and any(_cached(self.skip_read, node, names_skip)  # type: ignore[attr-defined]
                                   for node in _project_classes(cls)):
            return "skips-itself"
        return None

    def _dataclass_init(self, instance: Instance, args: list[Value], kwargs: dict[str, Value]) -> None:
        for index, (name, default) in enumerate(instance.cls.fields or ()):
            if index < len(args):
                instance.attrs[name] = args[index]
            elif name in kwargs:
                instance.attrs[name] = kwargs[name]
            elif default is not None:
                instance.attrs[name] = self.eval(default, instance.cls.scope or Scope())  # type: ignore[attr-defined]
            else:
                instance.attrs[name] = Unknown(name)

    def call_object(self, callee: Value, node: ast.Call, args: list[Value], kwargs: dict[str, Value],
                    kwarg_nodes: dict[str, ast.expr], scope: Scope) -> Value | None:
        """Calls of classes, bound methods, ``super()`` and ``BaseInit``; None for other callees."""
        if isinstance(callee, ClassValue):
            return self.instantiate(callee, node, args, kwargs, kwarg_nodes, scope)
        if isinstance(callee, Qualified) and callee.name in FACTORIES:
            return named_tuple_class(callee.name, node, args, kwargs, kwarg_nodes, scope, self.path)
        if isinstance(callee, BoundMethod):
            return self.run_method(callee.function, node, [callee.receiver, *args], kwargs)
        if isinstance(callee, Partial):
            return self.call(node, callee.function, [*callee.args, *args], {**callee.kwargs, **kwargs},  # type: ignore[attr-defined]
                             {}, scope)
        if isinstance(callee, Qualified) and callee.name == "functools.partial" and args:
            return Partial(args[0], list(args[1:]), dict(kwargs))
        if isinstance(callee, BaseInit):
            return self.base_init(callee.instance, callee.kind, node, args, kwargs, kwarg_nodes)
        if isinstance(callee, Qualified) and callee.name.endswith(".__init__") and args \
                and isinstance(args[0], Instance):
            # `BaseOperator.__init__(self, **kwargs)`: a base's constructor called by its name, as
            # `super().__init__` would be (dea's SSH operators).
            kind = airflow_kind(callee.name[:-len(".__init__")]) or args[0].cls.airflow_base()
            return (self.base_init(args[0], kind, node, args[1:], kwargs, kwarg_nodes) if kind
                    else Const(None))
        if isinstance(callee, Qualified) and callee.name == "builtins.super":
            return self.make_super(args)
        if isinstance(callee, Qualified) and callee.name == "builtins.isinstance" and len(args) == 2:
            return is_instance(args[0], args[1])
        if isinstance(callee, Qualified) and callee.name in ("copy.copy", "copy.deepcopy") and len(args) == 1:
            return copied(args[0], deep=callee.name == "copy.deepcopy")
        if isinstance(callee, Qualified) and callee.name == "dataclasses.replace" and len(args) == 1 \
                and isinstance(args[0], Instance):
            made = copied(args[0], deep=False)
            made.attrs.update(kwargs)  # type: ignore[union-attr]
            return made
        if isinstance(callee, Instance):
            call = callee.cls.defines("__call__")
            if isinstance(call, Function):
                return self.run_method(call, node, [callee, *args], kwargs)
        return None

    def make_super(self, args: list[Value]) -> Value:
        frame = self.frames[-1] if self.frames else None  # type: ignore[attr-defined]
        if len(args) == 2 and isinstance(args[0], ClassValue):
            return SuperRef(args[1], args[0])
        if frame is None or frame[0].owner is None or not frame[0].node.args.args:
            return Unknown("super()")
        function, scope = frame
        receiver = scope.vars.get(function.node.args.args[0].arg, Unknown("self"))
        return SuperRef(receiver, function.owner)

    # -- attributes -------------------------------------------------------------------------

    def object_attribute(self, base: Value, name: str, node: ast.AST) -> Value | None:
        """``obj.name`` for instances, classes, enum members and ``super()``; None for other values."""
        if isinstance(base, Const) and isinstance(base.value, EnumMember):
            if name in ("name", "_name_"):
                return Const(base.value.name)
            if name in ("value", "_value_"):
                if base.value.held is not None:
                    return base.value.held
                return Const(base.value.value) if base.value.value is not None else Unknown(f"{base.value}.value")
            plain = member_value(base.value)
            if plain is not base.value and not name.startswith("_"):
                return Method(Const(plain), name)  # `Kind.A.upper()`: the value's own method
            return Unknown(f"{base.value}.{name}")
        if isinstance(base, Instance):
            if name in base.attrs:
                return base.attrs[name]
            if name == "__class__":  # `self.__class__(...)`: a copy made by a method
                return base.cls
            return self._from_class(base.cls.lookup(name), base, name, node)
        if isinstance(base, ClassValue):
            found = base.lookup(name)
            if isinstance(found, Function) and found.method_kind == "class":
                return BoundMethod(found, base)
            return found if found is not None else Unknown(f"{base.name}.{name}")
        if isinstance(base, SuperRef):
            receiver = base.receiver
            cls = receiver.cls if isinstance(receiver, Instance) else receiver if isinstance(receiver, ClassValue) else None
            if cls is None:
                return Unknown(f"super().{name}")
            found = cls.lookup(name, after=base.after)
            if name == "__init__" and isinstance(found, Qualified) and isinstance(receiver, Instance):
                # A library class's constructor: Airflow's makes the DAG or task; a library mixin's
                # (LoggingMixin, ABC...) hands its arguments on along the MRO to Airflow's, whose
                # own bases static reading does not see.
                kind = airflow_kind(found.name.rsplit(".", 1)[0]) or receiver.cls.airflow_base()
                return BaseInit(receiver, kind) if kind else Const(None)
            return self._from_class(found, receiver, name, node)
        return None

    def _from_class(self, found: Value | None, receiver: Value, name: str, node: ast.AST) -> Value:
        if isinstance(found, Function):
            if found.method_kind == "property":
                return self.run_method(found, node, [receiver], {})  # type: ignore[arg-type]
            if found.method_kind == "static":
                return found
            if found.method_kind == "class":
                return BoundMethod(found, receiver.cls if isinstance(receiver, Instance) else receiver)
            return BoundMethod(found, receiver)
        if found is None:
            return Unknown(name)
        return found

    def set_attribute(self, base: Value, name: str, value: Value) -> None:
        if isinstance(base, Instance):
            base.attrs[name] = value
        elif isinstance(base, ClassValue):
            # `cls._cached = ...` (a class method's memo): the class's attribute from now on, as
            # in Python (a module's classes are shared by the files importing it, as in a DagBag).
            base.attrs[name] = self.maybe(value)  # type: ignore[attr-defined]
        elif isinstance(base, TaskRef) and name == "dag":
            dag = as_airflow(value.value if isinstance(value, Maybe) else value)
            if isinstance(dag, DagRef):
                self.collector.attach(base.task, dag.dag)  # type: ignore[attr-defined]

    def text_of_object(self, value: Value, node: ast.AST) -> Value:
        """``str(obj)`` or ``f"{obj}"`` of a project instance (its ``__str__``) or enum member."""
        if isinstance(value, Const) and isinstance(value.value, EnumMember):
            text = value.value.text()
            return Const(text) if text is not None else Unknown(node)
        if isinstance(value, Instance):
            method = value.cls.defines("__str__") or value.cls.defines("__repr__")
            if method is not None:
                return self.run_method(method, node, [value], {})  # type: ignore[arg-type]
        return value

    # -- operators --------------------------------------------------------------------------

    def overloaded(self, node: ast.AST, left: Value, right: Value, op: str) -> Value | None:
        """``a >> b`` where a project class defines ``__rshift__`` (or ``b`` its ``__rrshift__``)."""
        if isinstance(left, Instance) and left.task is None and left.dag is None:
            method = left.cls.defines(f"__{op}__")
            if isinstance(method, Function):
                return self.run_method(method, node, [left, right], {})  # type: ignore[arg-type]
        # Python asks the right operand only when the left one cannot answer: an unknown left
        # one (an operator, say) may well answer, and a guess here can recurse without end
        # (`__rrshift__` doing `other >> self` with `other` unknown).
        if isinstance(right, Instance) and right.task is None and right.dag is None \
                and not isinstance(left, Unknown):
            method = right.cls.defines(f"__r{op}__")
            if isinstance(method, Function):
                return self.run_method(method, node, [right, left], {})  # type: ignore[arg-type]
        return None


def with_defaults(interpreter, init: Function, positional: int,
                  kwargs: dict[str, Value]) -> tuple[dict[str, Value], tuple[str, ...]]:
    """``kwargs`` as Airflow gives them to a project operator class's ``__init__``: each of its
    parameters not given filled from the ``default_args`` of the call, its task groups and its DAG
    (``apply_defaults``), and the parameters ``default_args`` the model cannot read may give."""
    dag, group = interpreter.current_context(kwargs)
    defaults = [unwrap(d) for d in defaults_of(dag, group, kwargs)]
    arguments = init.node.args
    names = [a.arg for a in [*arguments.posonlyargs, *arguments.args][1 + positional:] + arguments.kwonlyargs]
    given, unread = dict(kwargs), []
    for name in names:
        if name in given or name in ("default_args", "params"):
            continue
        for held in defaults:
            if not isinstance(held, Mapping) or held.default is not None:
                unread.append(name)  # these default_args may hold it: the model cannot say
                break
            if name in held.items:
                given[name] = held.items[name]
                break
    return given, tuple(unread)


def _project_classes(cls: ClassValue) -> list[ast.ClassDef]:
    """The statements of the project's classes in ``cls``'s MRO (library bases are not read)."""
    return [c.node for c in cls.mro() if isinstance(c, ClassValue)]


def _cached(cache: dict, node: ast.AST, read):
    """``read(node)``, once per node (by identity) in ``cache``."""
    if id(node) not in cache:
        cache[id(node)] = read(node)
    return cache[id(node)]
