"""The task's DAG as its file creates it: the call that does (``DAG(...)``, ``@dag(...)``) and
whether it changes how Airflow renders templates, which the scaffolds that render Airflow
Variables must know (``variables``), and the ``default_args`` it and the task groups around a
task give its operators.

The DAG is found where the task names it: the ``DAG(...)`` or ``@dag(...)`` call of the task's
top-level statement (``with DAG(...):``, a ``@dag`` function), else the name the task's ``dag=``
keyword or the statement's ``with <name>:`` gives, bound once in the file to such a call
(``dag = DAG(...)``). Anything else (a DAG a project factory returns, a name bound twice) is a
DAG whose options cannot be read, said as such.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from analysis.edits.scaffold.plan_values import NOT_STATIC, single_assignment
from analysis.edits.scaffold.statements import DagFile, Unit

_DAG_CLASSES = frozenset({"airflow.DAG", "airflow.models.DAG", "airflow.models.dag.DAG", "airflow.sdk.DAG",
                          "airflow.sdk.definitions.dag.DAG"})
_DAG_DECORATORS = frozenset({"airflow.decorators.dag", "airflow.sdk.dag", "airflow.models.dag.dag"})
_RENDERING = ("render_template_as_native_obj", "user_defined_macros", "user_defined_filters",
              "jinja_environment_kwargs", "template_undefined")
"""The DAG options that change what Airflow renders a template to (native objects, a ``var`` of
the DAG's own, another Jinja environment, an undefined value rendered empty)."""
ENVIRONMENT = ("jinja_environment_kwargs",)
"""The option that may change what any string renders to, Jinja or not (other line ends...)."""
NATIVE = ("render_template_as_native_obj",)
"""The option that changes what a string without Jinja renders to when Python reads it as a
literal ("5" to 5: ``native_changes``)."""


_BY_POSITION = "is given arguments by position or `**`"
MADE_ELSEWHERE = "is not created by one `DAG(...)` or `@dag(...)` call in the DAG file"
"""Why the DAG's options cannot be read in its file: the project's code creates it (a class or
factory the file calls), or the file creates it in a way that cannot be followed."""
AS_MADE = "{{ as the DAG's maker renders }}"
"""The key that stands, among a plan's Variables (``Plan.variables``), for Jinja rendered in a DAG
that ``MADE_ELSEWHERE`` says is not created in its file: whether that DAG renders as Airflow's
defaults do is judged on the project's code it runs (``made_dag_rendering``), where the project
is known; refused where it is not."""


TEXT = "{{ Jinja's text }}"
"""The key that stands, among a plan's Variables (``Plan.variables``), for templated strings
without Jinja that Jinja changes all the same (``changed_by_jinja``: line ends made newlines, one
final newline dropped): a copied call renders them through ``_airflow_render``, the other
families write them rendered (``plan_options.as_rendered``)."""


def jinja_text(text: str) -> str:
    """A string without Jinja as Jinja renders it: line ends made newlines, one final newline
    dropped (``keep_trailing_newline`` is off)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text[:-1] if text.endswith("\n") else text


def plain_strings(value: object) -> Iterator[str]:
    """The strings without Jinja of a templated value where Airflow renders them: the value, the
    items of its lists, tuples and sets, its dict's values (not keys). Strings with Jinja
    (``variables.Rendered``) are rendered when the asset runs."""
    if type(value) is str:
        yield value
    elif isinstance(value, (list, tuple, set)):
        for item in value:
            yield from plain_strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from plain_strings(item)


def holds_string(value: object) -> bool:
    """Whether a templated value holds a string without Jinja (``plain_strings``), empty ones too."""
    return next(plain_strings(value), None) is not None


def native_changes(value: object) -> bool:
    """Whether a DAG that renders native objects turns a string without Jinja of ``value`` into
    something else than its text: Jinja's ``native_concat`` gives what Python reads as a literal
    ("5", "[1, 2]", "'a'"), and None for an empty one."""
    return any(_native_literal(jinja_text(text)) for text in plain_strings(value))


def _native_literal(text: str) -> bool:
    if not text:
        return True
    try:
        ast.literal_eval(ast.parse(text, mode="eval"))  # as native_concat reads it: spaces kept
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def changed_by_jinja(value: object) -> bool:
    """Whether Jinja changes a string without Jinja of a templated value: a line end other than a
    newline, or a final newline."""
    return any("\r" in text or text.endswith("\n") for text in plain_strings(value))


def dag_creation(dag: DagFile, dag_unit: Unit, call: ast.Call | None = None) -> ast.Call | str:
    """The call that creates the DAG of the task ``call`` makes in ``dag_unit`` (a bare ``@dag`` as
    a call of no arguments), or why there is not one that can be read."""
    calls = [node for statement in dag_unit.statements for node in ast.walk(statement)
             if isinstance(node, ast.Call) and dag.qualified(node.func) in _DAG_CLASSES]
    for statement in dag_unit.statements:
        for node in ast.walk(statement):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                calls += [d if isinstance(d, ast.Call) else ast.Call(func=d, args=[], keywords=[])
                          for d in node.decorator_list
                          if dag.qualified(d.func if isinstance(d, ast.Call) else d) in _DAG_DECORATORS]
    if not calls:  # `dag = DAG(...)` elsewhere in the file, named by `dag=dag` or `with dag:`
        named = [k.value for k in (call.keywords if call is not None else []) if k.arg == "dag"]
        named += [item.context_expr for statement in dag_unit.statements if isinstance(statement, ast.With)
                  for item in statement.items]
        for name in (n for n in named if isinstance(n, ast.Name)):
            value = single_assignment(dag, name)
            if isinstance(value, ast.Call) and dag.qualified(value.func) in _DAG_CLASSES:
                calls.append(value)
                break
    if len(calls) != 1:
        return MADE_ELSEWHERE
    if len(calls[0].args) > 1 or any(k.arg is None for k in calls[0].keywords):  # the id alone may come first
        return _BY_POSITION
    return calls[0]


def rendering_problem(dag: DagFile, dag_unit: Unit, call: ast.Call | None = None,
                      options: tuple[str, ...] = _RENDERING) -> str | None:
    """How the DAG of the task ``call`` makes may render templates otherwise than Airflow's
    defaults ("sets `render_template_as_native_obj`"), or why that cannot be known; None when it
    renders them so. ``options``: the DAG options that matter (for strings without Jinja,
    ``ENVIRONMENT``, then ``NATIVE``)."""
    creation = dag_creation(dag, dag_unit, call)
    if isinstance(creation, str):
        return creation
    option = next((k.arg for k in creation.keywords if k.arg in options), None)
    if option is None:  # set on the DAG object afterwards: `dag.user_defined_macros = {...}`
        option = next((n.attr for n in ast.walk(dag.tree) if isinstance(n, ast.Attribute)
                       and isinstance(n.ctx, ast.Store) and n.attr in options), None)
    if option is None:  # or which arguments a task renders: `task.template_fields = ()`
        option = changes_templates(dag.tree)
    return None if option is None else f"sets `{option}`"


def made_dag_rendering(judged: list[tuple[str, str | int]], tied: bool = False) -> str | None:
    """For a DAG that the project's code creates (``MADE_ELSEWHERE``), how it may render templates
    otherwise than Airflow's defaults, from what ``renders_otherwise`` says of the DAG file (named
    "the DAG file", first) and of each of the project's modules that reading it runs (``(name,
    answer)``); None when it renders them so: nothing in them may change it, and one of the
    modules calls ``DAG(...)`` (else the DAG is made where the scaffold does not read)."""
    creations = 0
    for name, found in judged:
        if isinstance(found, str):
            return f"is made by the project's code, and {name} {found}"
        creations += found if name != "the DAG file" or tied else 0
    if not creations:
        return "is made by code the scaffold does not read (no `DAG(...)` call in the project's modules)"
    return None


def creates_dag(dag: DagFile, dag_id: str) -> bool:
    """Whether the DAG of id ``dag_id`` is created by the file's one DAG creation, Airflow's
    ``DAG(...)`` given that id as written (first, or as ``dag_id=``): a task a project factory makes
    for it, given the DAG object, is tied to that call."""
    calls = [n for n in ast.walk(dag.tree) if isinstance(n, ast.Call) and (
        n.func.attr if isinstance(n.func, ast.Attribute) else getattr(n.func, "id", "")) in ("DAG", "dag")]
    if len(calls) != 1 or dag.qualified(calls[0].func) not in _DAG_CLASSES or len(calls[0].args) > 1:
        return False
    given = calls[0].args[0] if calls[0].args else next((k.value for k in calls[0].keywords if k.arg == "dag_id"),
                                                        None)
    return isinstance(given, ast.Constant) and given.value == dag_id


_RENDERING_NAMES = frozenset({*_RENDERING, "get_template_env"})
_PLAIN_NAMES = frozenset({*ENVIRONMENT, *NATIVE, "get_template_env"})
_BY_NAME = frozenset({"import_module", "__import__"})


def renders_otherwise(tree: ast.Module, plain: bool = False) -> str | int:
    """What in a module may change how a DAG renders templates, read conservatively, anywhere in
    it: a rendering option named (a keyword, a string such as a dict key or ``setattr``'s, an
    attribute; ``plain``: for strings without Jinja, only ``ENVIRONMENT``'s and ``NATIVE``'s),
    ``*``/``**`` given to a ``DAG(...)`` call, a class derived from ``DAG``, a module imported by
    name at run time, a task's ``template_fields`` set; else how many ``DAG(...)`` calls it has."""
    names = _PLAIN_NAMES if plain else _RENDERING_NAMES
    creations = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            given = next((k.arg for k in node.keywords if k.arg in names), None)
            if given is not None:
                return f"gives `{given}`"
            if callee in _BY_NAME:
                return f"calls `{callee}` (code the scaffold cannot follow)"
            if callee in ("DAG", "dag"):
                creations += 1
                if any(k.arg is None for k in node.keywords) or any(isinstance(a, ast.Starred) for a in node.args):
                    return "gives a `DAG(...)` `**` arguments"
        elif isinstance(node, ast.Constant) and node.value in names:
            return f"names `{node.value}`"
        elif isinstance(node, ast.Attribute) and node.attr in names:
            return f"uses `{node.attr}`"
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            return f"defines `{node.name}`"
        elif isinstance(node, ast.ClassDef) and any(
                (b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "")) == "DAG" for b in node.bases):
            return f"derives `{node.name}` from `DAG`"
    changed = changes_templates(tree)
    return f"sets `{changed}` on a task" if changed else creations


TEMPLATES = ("template_fields", "template_ext")
"""A task's own choice of the arguments Airflow renders, and of the files it reads as templates."""


def changes_templates(tree: ast.AST) -> str | None:
    """Which of ``TEMPLATES`` ``tree`` sets on an object (``op.template_fields = ()``,
    ``setattr(op, "template_fields", ...)``), if any: the task then renders other arguments than
    its class's."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, (ast.Store, ast.Del)) and node.attr in TEMPLATES:
            return node.attr
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("setattr", "delattr") \
                and len(node.args) > 1 and isinstance(node.args[1], ast.Constant) and node.args[1].value in TEMPLATES:
            return node.args[1].value
    return None


def default_args(dag: DagFile, dag_unit: Unit, call: ast.Call | None = None) -> dict[str, ast.expr] | None:
    """What the ``default_args`` of the DAG and of the task groups around the task ``call`` makes
    give it, as Airflow merges them (a dict literal or ``dict(...)`` call, or a name bound once to
    one): each key to its value's node, else None when there are none. ``{"default_args":
    NOT_STATIC}`` when they cannot be read (a DAG given ``**`` or its arguments by position);
    a DAG that cannot be found gives none here (a factory's)."""
    creation = dag_creation(dag, dag_unit, call)
    if isinstance(creation, str):
        return {"default_args": NOT_STATIC} if creation == _BY_POSITION else None
    merged = own_default_args(dag, creation) or {}
    for group in task_groups(dag, dag_unit, call):
        if len(group.args) > 1 or any(k.arg is None for k in group.keywords):  # its id may come first
            return {"default_args": NOT_STATIC}
        merged = {**merged, **(own_default_args(dag, group) or {})}  # an unreadable one's marker stays
    return merged or None


def task_groups(dag: DagFile, dag_unit: Unit, call: ast.Call | None) -> list[ast.Call]:
    """The ``TaskGroup(...)`` calls of the ``with`` blocks around ``call`` (found by where it is
    written: the values a factory's task is planned from stand where the factory is called),
    outermost first."""
    if call is None:
        return []
    at = (call.lineno, call.col_offset)
    groups = []
    for node in (n for statement in dag_unit.statements for n in ast.walk(statement)):
        if isinstance(node, ast.With) and any(isinstance(c, ast.Call) and (c.lineno, c.col_offset) == at
                                              for c in ast.walk(node)):
            groups += [item.context_expr for item in node.items if isinstance(item.context_expr, ast.Call)
                       and dag.qualified(item.context_expr.func).rsplit(".", 1)[-1] == "TaskGroup"]
    return groups


def own_default_args(dag: DagFile, call: ast.Call) -> dict[str, ast.expr] | None:
    """The ``default_args`` ``call`` is given (a DAG's, a task group's, an operator's) as keys to their
    values' nodes: a dict literal or ``dict(...)`` call, or a name bound once to one; None for none;
    ``{"default_args": NOT_STATIC}`` otherwise."""
    value = next((k.value for k in call.keywords if k.arg == "default_args"), None)
    if isinstance(value, ast.Name):
        value = single_assignment(dag, value) or NOT_STATIC
    if value is None or (isinstance(value, ast.Constant) and value.value is None):
        return None
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "dict" \
            and not value.args and all(k.arg is not None for k in value.keywords):  # dict(a=...)
        return {k.arg: k.value for k in value.keywords}
    if not isinstance(value, ast.Dict) or not all(isinstance(k, ast.Constant) and isinstance(k.value, str)
                                                  for k in value.keys):
        return {"default_args": NOT_STATIC}
    return {k.value: v for k, v in zip(value.keys, value.values)}
