"""Airflow Variables in what a scaffold copies: in a task's templated arguments, the one kind of
Jinja a scaffold carries (``{{ var.value.key }}``, ``{{ var.json.key.field }}``), and in the copied
code, ``Variable.get(...)``.

When a task runs, Airflow renders every string of its templated fields (a BashOperator's
``bash_command``, ``env`` and ``cwd``; a PythonOperator's ``op_args`` and ``op_kwargs``; a
``@task``'s arguments; a pod's image, commands, arguments and environment) with Jinja, and reads
a Variable from its secrets backend, then the environment (``AIRFLOW_VAR_<KEY>``, upper case),
then its metastore. The scaffolded asset reads it from the environment, as Airflow does: its
body passes such a value through ``_airflow_render`` (``HELPER``), which the Dagster module gets
once and which renders as Airflow does (each string of the value, in lists, tuples, sets and dict
values; line ends made ``\\n`` and one final newline dropped, as Jinja does by default).

Refused statically, with the reason (``variables_problem``): any other Jinja (the task context,
macros, filters, ``{% %}``), a Variable read through a method (``var.value.get(...)``) or an
attribute of a string, dict or list, a string ending in the operator's ``template_ext`` (Airflow
renders that file), and a DAG that is not created by a call in the DAG file or that changes how
Airflow renders (``render_template_as_native_obj``, ``user_defined_macros``, ``template_undefined``,
...: ``plan_dag.rendering_problem``). At run time the helper also refuses any
other Jinja it is given (a value the static reading did not see), so that nothing is passed on
unrendered.

Copied code that reads ``Variable.get(key, default, deserialize_json)`` (``Variable`` imported
from ``airflow.models`` or ``airflow.sdk``) gets ``Variable = _AirflowVariable`` in the asset's
body instead of the import: the module's class (``CLASS``) reads ``AIRFLOW_VAR_<KEY>`` as Airflow
does, returns the default when it is not set and raises ``KeyError`` otherwise. Any other use of
``Variable`` (``set``, ``delete``, the class itself passed on) is refused (``variable_uses_problem``).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from analysis.edits.scaffold.plan_common import has_jinja
from analysis.edits.scaffold.plan_dag import AS_MADE, MADE_ELSEWHERE, TEXT
from analysis.edits.scaffold.params import MARKER as PARAMS
from analysis.edits.scaffold.run_values import DS_MACROS, MOVED, RUN, run_expressions
from analysis.edits.scaffold.statements import sole_import

HELPER = "_airflow_render"
DEFINITION = ('''\
def _airflow_render(value):
    """`value` as Airflow renders a templated argument: in each of its strings (in lists, tuples,
    sets and dict values too), the Airflow Variables `{{ var.value.key }}` and
    `{{ var.json.key.field }}` put in, read as Airflow reads them from the environment:
    AIRFLOW_VAR_<KEY> (JSON for var.json). Line ends become newlines and one final newline is
    dropped, as in Jinja. Other Jinja is refused: only Airflow renders it."""
    if isinstance(value, tuple):  # a named tuple stays one, as Airflow renders it
        items = [_airflow_render(item) for item in value]
        return tuple(items) if type(value) is tuple else type(value)(*items)
    if isinstance(value, (list, set)):
        return (list if isinstance(value, list) else set)(_airflow_render(item) for item in value)
    if isinstance(value, dict):
        return {key: _airflow_render(item) for key, item in value.items()}
    if not isinstance(value, str):
        return value
    pattern = r"(?<!\\{)\\{\\{\\s*var\\.(value|json)\\.([A-Za-z_]\\w*)((?:\\.[A-Za-z_]\\w*)*)\\s*\\}\\}(?!\\})"
    text = re.sub(r"\\r\\n|\\r", "\\n", value)
    text = text[:-1] if text.endswith("\\n") else text
    if re.search(r"\\{\\{|\\{%|\\{#", re.sub(pattern, "", text)):
        raise ValueError(f"only Airflow renders this Jinja: {value!r}")

    def variable(match):
        kind, key, path = match.groups()
        name = f"AIRFLOW_VAR_{key.upper()}"
        if name not in os.environ:
            raise RuntimeError(f"{name} is not set: give Airflow Variable {key!r} there")
        found = os.environ[name]
        if kind == "json":
            found = json.loads(found)
            for field in path.split(".")[1:]:
                found = found[field]
        return str(found)

    return re.sub(pattern, variable, text)
''', ("os", "re", "json"))
"""The helper's text and the modules it uses (``os.``, ``re.``, ``json.`` fitted to the module)."""

CLASS = "_AirflowVariable"
CLASS_DEFINITION = ('''\
class _AirflowVariable:
    """Airflow's `Variable.get` for code copied from Airflow: the Variable read as Airflow reads it
    from the environment, AIRFLOW_VAR_<KEY> (JSON with deserialize_json); when it is not set, the
    default given (as `default_var` or, in Airflow 3, `default`), else KeyError."""

    _UNSET = object()

    @classmethod
    def get(cls, key, default_var=_UNSET, deserialize_json=False, *, default=_UNSET):
        value = os.environ.get(f"AIRFLOW_VAR_{key.upper()}")
        if value is None:
            given = default if default is not cls._UNSET else default_var
            if given is cls._UNSET:
                raise KeyError(f"Variable {key} does not exist: set AIRFLOW_VAR_{key.upper()}")
            return given
        return json.loads(value) if deserialize_json else value
''', ("os", "json"))
"""The class's text and the modules it uses."""
VARIABLE_MODULES = frozenset({"airflow.models", "airflow.models.variable", "airflow.sdk"})
"""Where ``from ... import Variable`` gives Airflow's ``Variable`` (Airflow 2 and 3)."""
_GET_KEYWORDS = frozenset({"key", "default_var", "default", "deserialize_json"})

_VARIABLE = re.compile(r"(?<!\{)\{\{\s*var\.(value|json)\.([A-Za-z_]\w*)((?:\.[A-Za-z_]\w*)*)\s*\}\}(?!\})")
_ATTRIBUTES = frozenset(dir(dict)) | frozenset(dir(list)) | frozenset(dir(str))
"""Jinja reads ``a.b`` as the attribute ``b`` first: ``var.json.x.items`` is a method, not a key."""
_ACCESSOR = frozenset({"get"})
"""The methods of Airflow's ``var.value`` / ``var.json``: ``{{ var.value.get }}`` is one, no Variable."""


def variables_in(text: str) -> tuple[str, ...] | None:
    """The keys of the Variables that ``text``'s Jinja reads, with ``run_values.RUN`` when it
    reads the run's values (``{{ ds }}``...), when it reads nothing else (``()`` when it has no
    Jinja); None when it has other Jinja."""
    text, runs = run_expressions(text)
    if has_jinja(_VARIABLE.sub("", text)):
        return None
    keys = [RUN] if runs else []
    if any(m["param"] is not None or m["key"] is not None for m in runs):  # given from the DAG file
        keys.append(PARAMS)
    if any(m["delta"] is not None for m in runs):  # the renderer must move it (``asset`` checks an earlier one)
        keys.append(MOVED)
    if any(m["days"] is not None or m["outformat"] is not None for m in runs):  # the same
        keys.append(DS_MACROS)
    for kind, key, path in _VARIABLE.findall(text):
        fields = path.split(".")[1:]
        if (kind == "value" and fields) or key in _ACCESSOR or key.startswith("__") \
                or any(f in _ATTRIBUTES or f.startswith("__") for f in fields):
            return None  # an attribute of the string, a method of the accessor, a dict's or list's
        if key not in keys:
            keys.append(key)
    return tuple(keys)


def variables_problem(tree: ast.Module, nodes: list[ast.AST | None], what: str,
                      rendering: Callable[[], str | None] = lambda: None, exts: tuple[str, ...] = ()
                      ) -> tuple[str, ...] | str:
    """The Variables that the Jinja in ``nodes`` (a task's templated arguments, ``what``: "the
    arguments of task `t`") reads, or why it is refused: other Jinja, a DAG that renders otherwise
    (``rendering()``: how, ``plan_dag.rendering_problem``), values written out from elsewhere
    (``tree``), a string ending in one of the operator's ``exts`` (its ``template_ext``: Airflow
    reads that file as the template)."""
    keys: list[str] = []
    for node in nodes:
        for child in ast.walk(node) if node is not None else ():
            if not (isinstance(child, ast.Constant) and isinstance(child.value, str)):
                continue
            if exts and child.value.endswith(exts):
                return f"{what} name a file ({child.value!r}) that Airflow reads as a Jinja template"
            if not has_jinja(child.value):
                continue
            found = variables_in(child.value)
            if not found:
                return f"{what} use Jinja ({child.value!r}), which only Airflow renders"
            keys += [k for k in found if k not in keys]
    if keys and written_out(tree):
        return (f"{what} use {_read(keys)} in Jinja, which the scaffold renders only in a call written in "
                "the DAG file (not in values written out from elsewhere): scaffold it by hand")
    return judged_rendering(what, rendering() if keys else None, keys)


def judged_rendering(what: str, how: str | None, keys: list[str] | tuple[str, ...]) -> tuple[str, ...] | str:
    """``keys`` when the DAG renders as Airflow's defaults do (``how`` None), with ``AS_MADE`` when
    the project's code makes it (judged where the project is known), else why they are refused."""
    if how is None:
        return tuple(keys)
    if how == MADE_ELSEWHERE:
        return (*keys, AS_MADE)
    return refused_rendering(what, how, keys)


def refused_rendering(what: str, how: str, keys: list[str] | tuple[str, ...] = ()) -> str:
    """Why Variables or the run's values (``keys``) in ``what`` (the arguments of a task) are
    refused when its DAG renders otherwise, or cannot be read (``how``:
    ``plan_dag.rendering_problem``)."""
    if not [k for k in keys if k not in (AS_MADE, TEXT)]:  # plain strings Jinja changes all the same
        return (f"{what} hold strings, which Airflow renders even without Jinja, and the DAG {how}, which may "
                "change what they become: scaffold it by hand")
    return (f"{what} use {_read(keys)} in Jinja, and the DAG {how}, which may change how Airflow "
            "renders them: scaffold it by hand")


def _read(keys: list[str] | tuple[str, ...]) -> str:
    """What Jinja reading ``keys`` reads, in words."""
    keys = [k for k in keys if k not in (AS_MADE, TEXT, PARAMS, MOVED, DS_MACROS)]
    if RUN not in keys:
        return "Airflow Variables"
    return "the Airflow run's values" if len(keys) == 1 else "Airflow Variables and the Airflow run's values"


def written_out(tree: ast.Module) -> bool:
    """Whether ``tree`` is the text a scaffold writes out for a task whose values come from
    elsewhere (an imported ``@task``, a project factory's operator: ``imported``), where the DAG
    file's rendering options and the values' origin (a closure's cell is not rendered) are not
    seen."""
    return any(isinstance(n, ast.alias) and n.asname == "__airlift_DAG" for n in ast.walk(tree))


class Rendered(str):
    """A string value with Airflow Variables in Jinja, which the scaffold writes as
    ``_airflow_render("...")`` (``asset_pipes.literal_code``)."""


class RenderedInRun(Rendered):
    """A string value with the Airflow run's values in Jinja (and maybe Variables), which the
    scaffold writes as ``_airflow_render_run("...", _airflow_run_values)`` (``run_values``)."""


def rendered_value(value: object) -> tuple[object, tuple[str, ...]] | None:
    """A value read statically (a string, list, tuple or dict) with its strings that hold Airflow
    Variables in Jinja made ``Rendered``, and the Variables' keys; None when it holds other Jinja,
    or Jinja in a dict key (Airflow renders the values)."""
    keys: list[str] = []

    def walk(item: object) -> object:
        if isinstance(item, str):
            found = variables_in(item)
            if found is None:
                raise ValueError(item)
            keys.extend(k for k in found if k not in keys)
            return (RenderedInRun if RUN in found else Rendered)(item) if found else item
        if isinstance(item, dict):
            if any(isinstance(k, str) and has_jinja(k) for k in item):
                raise ValueError(item)
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, (list, tuple)):
            return type(item)(walk(i) for i in item)
        return item

    try:
        return walk(value), tuple(keys)
    except ValueError:
        return None


def imports_variable(statements: list[ast.stmt], name: str) -> str | None:
    """The module (``airflow.models``, ``airflow.sdk``...) whose ``Variable`` binds ``name`` among
    ``statements`` (``from ... import Variable [as name]``), when nothing else there binds it."""
    imported = sole_import(statements, name)
    return imported[0] if imported is not None and imported[0] in VARIABLE_MODULES and imported[1] == "Variable" \
        else None


def variable_uses_problem(nodes: list[ast.AST], name: str, label: str, module: str = "airflow.models") -> str | None:
    """Why the copied ``nodes`` use Airflow's ``Variable`` (bound to ``name``, imported from
    ``module``) otherwise than by ``name.get(key, default, deserialize_json)``, or None (``label``:
    "task `t`"). Airflow 3's ``airflow.sdk.Variable`` takes no ``default_var`` and raises no
    ``KeyError`` for a missing Variable, which ``_AirflowVariable`` does: code relying on either is
    refused."""
    if module == "airflow.sdk":
        for node in (n for root in nodes for n in ast.walk(root)):
            caught = node.type if isinstance(node, ast.ExceptHandler) else None
            names = {n.id for n in ast.walk(caught) if isinstance(n, ast.Name)} if caught is not None else set()
            if names & {"KeyError", "LookupError"}:
                return (f"{label} catches `{'`, `'.join(sorted(names & {'KeyError', 'LookupError'}))}` (line "
                        f"{node.lineno}), which Airflow 3's `Variable.get` does not raise for a missing Variable: "
                        "scaffold it by hand")
            if isinstance(node, ast.keyword) and node.arg == "default_var":
                return (f"{label} gives `{name}.get` a `default_var`, which Airflow 3's `Variable.get` does not take "
                        f"(line {node.value.lineno}): scaffold it by hand")
    calls = set()
    for node in (n for root in nodes for n in ast.walk(root)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and isinstance(node.func.value, ast.Name) and node.func.value.id == name:
            if any(isinstance(a, ast.Starred) for a in node.args) or len(node.args) > 3 \
                    or any(k.arg not in _GET_KEYWORDS for k in node.keywords):
                return (f"{label} calls `{name}.get` with arguments unpacked or unknown: the scaffold reads a "
                        "Variable as `get(key, default, deserialize_json)`")
            calls.add(id(node.func.value))
    for node in (n for root in nodes for n in ast.walk(root)):
        if isinstance(node, ast.Name) and node.id == name and id(node) not in calls:
            if isinstance(node.ctx, ast.Load):
                return (f"{label} uses Airflow's `{name}` otherwise than by `{name}.get(...)` (line {node.lineno}), "
                        "which only Airflow's metastore can do: scaffold it by hand")
            return f"{label} binds `{name}` again (line {node.lineno}): scaffold it by hand"
    return None
