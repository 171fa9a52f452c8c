'''The Pipes asset of a virtualenv or external-Python task, and the two helpers it calls.

The asset takes ``context`` and a ``dagster.PipesSubprocessClient`` resource, declared on the
asset with ``resource_defs`` (so the module loads as it is) as the module-level
``PIPES_SUBPROCESS_CLIENT`` that every such asset shares (Dagster wants one object per resource
key; a ``Definitions`` binding ``pipes_subprocess_client`` to another client must drop those). Its body holds the task's function, copied without
its Airflow decorators (defining it runs nothing), then, in a temporary folder:

- for a virtualenv, ``_airflow_virtualenv(folder, requirements, ...)`` makes the venv as Airflow
  does for each run, with the task's ``python_version``, ``system_site_packages`` (Airflow's
  default: True), ``pip_install_options`` and ``index_urls``; for an external Python, its path;
- ``_airflow_python_script(folder, function, args, kwargs)`` writes the function's source (as
  Airflow runs a copy of the source, not the function) and a call with the task's arguments;
- the client runs that Python on the script, and the asset yields what it reports.

What is honest about the return value: Airflow pushes it to XCom; Dagster has no XCom, so the
script reports it through Pipes as each asset's ``return_value`` metadata (JSON when it is
JSON-serializable, else its ``repr`` as text), visible in the UI and to tests. Downstream code
that read the XCom must be ported by hand. ``dagster_pipes`` (pure Python, no dependencies) is
copied beside the script, so the other Python needs nothing installed for it, only Python 3.10+.
'''

from __future__ import annotations

import ast
import builtins
from typing import TYPE_CHECKING

from analysis.edits.layout import Group
from analysis.edits.scaffold import run_values
from analysis.edits.scaffold.asset_commands import fresh
from analysis.edits.scaffold.plan import Plan
from analysis.edits.scaffold.variables import HELPER as RENDER
from analysis.edits.scaffold.variables import Rendered, RenderedInRun

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit

VIRTUALENV_HELPER = "_airflow_virtualenv"
SCRIPT_HELPER = "_airflow_python_script"
CLIENT = "pipes_subprocess_client"
"""The resource key of the client, as Dagster's docs name it."""
CLIENT_CONSTANT = "PIPES_SUBPROCESS_CLIENT"
"""The module-level client every scaffolded Pipes asset declares: Dagster wants one object per
resource key across the assets of a job."""
CONSTANTS = (CLIENT_CONSTANT,)

DEFINITIONS = {
    VIRTUALENV_HELPER: ('''\
def _airflow_virtualenv(folder: str, requirements: list[str], *, python_version: str | None = None,
                        system_site_packages: bool = True,
                        pip_install_options: list[str] | None = None) -> str:
    """Make a virtualenv in `folder` with `requirements` installed, as Airflow's
    PythonVirtualenvOperator does for each run (with the standard library's venv where Airflow
    uses virtualenv; `python<python_version>` when given, else this interpreter). Returns the
    path of its python."""
    venv = os.path.join(folder, "venv")
    command = [f"python{python_version}" if python_version else sys.executable, "-m", "venv", venv]
    if system_site_packages:
        command.append("--system-site-packages")
    if not requirements:
        command.append("--without-pip")
    subprocess.run(command, check=True)
    python = os.path.join(venv, "Scripts" if os.name == "nt" else "bin", "python")
    if requirements:
        options = pip_install_options or []
        subprocess.run([python, "-m", "pip", "install", *options, *requirements], check=True)
    return python
''', ("os", "sys", "subprocess")),
    SCRIPT_HELPER: ('''\
def _airflow_python_script(folder: str, function, args: tuple, kwargs: dict) -> str:
    """Write a script in `folder` that runs `function`'s source, as Airflow's virtualenv and
    external-Python operators do (only what the function imports itself is there), calls it
    with `args` and `kwargs` (literals) and reports its return value to Dagster through Pipes,
    as each asset's `return_value` metadata (JSON, else its repr as text). dagster_pipes is
    copied beside the script: the Python that runs it needs nothing installed. Returns its path."""
    shutil.copytree(os.path.dirname(dagster_pipes.__file__), os.path.join(folder, "dagster_pipes"))
    script = os.path.join(folder, "airflow_task.py")
    with open(script, "w", encoding="utf-8") as file:
        file.write(textwrap.dedent(inspect.getsource(function)))
        file.write(f"""
import json as _json
from dagster_pipes import open_dagster_pipes as _open_dagster_pipes

with _open_dagster_pipes() as _pipes:
    _value = {function.__name__}(*{args!r}, **{kwargs!r})
    _metadata = {{}}
    if _value is not None:
        try:
            _metadata = {{"return_value": {{"raw_value": _json.loads(_json.dumps(_value)), "type": "json"}}}}
        except (TypeError, ValueError):
            _metadata = {{"return_value": {{"raw_value": repr(_value), "type": "text"}}}}
    for _key in _pipes.asset_keys:
        _pipes.report_asset_materialization(metadata=_metadata, asset_key=_key)
""")
    return script
''', ("os", "shutil", "textwrap", "inspect", "dagster_pipes")),
}
"""The helpers by name: their text (``os.``... and the indentation fitted to the module when
one is added) and the modules it names."""

_ANNOTATION_NAMES = frozenset(dir(builtins))


def owns(name: str) -> bool:
    """Whether ``name`` is one of the module-level definitions this family adds."""
    return name in DEFINITIONS or name in CONSTANTS


def problem(plan: Plan) -> str | None:
    """Why the copied function cannot be defined in Dagster's process (its annotations and
    defaults are evaluated there, where Airflow only copies the text), or None."""
    args = plan.function.args
    for default in [*args.defaults, *(d for d in args.kw_defaults if d is not None)]:
        try:
            ast.literal_eval(default)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return (f"a default value of `{plan.function.name}` is not a literal "
                    f"(`{ast.unparse(default)}`): it would be evaluated in Dagster's process")
    annotations = [a.annotation for a in ast.walk(args) if isinstance(a, ast.arg) and a.annotation]
    if plan.function.returns is not None:
        annotations.append(plan.function.returns)
    for annotation in annotations:
        names = {n.id for n in ast.walk(annotation) if isinstance(n, ast.Name)}
        if names - _ANNOTATION_NAMES:
            return (f"`{plan.function.name}` is annotated with `{ast.unparse(annotation)}`, which "
                    "would be evaluated in Dagster's process: use builtins or remove it")
    if plan.function.name in ("context", CLIENT):
        return f"the function `{plan.function.name}` would hide the asset's parameter of that name"
    return None


def about(where: str, plan: Plan) -> str:
    python = "a new virtualenv" if plan.pipes.python is None else f"`{plan.pipes.python}`"
    return (f"Scaffolded by airlift-lsp from {where} ({plan.label}): as in Airflow, the function's "
            f"source runs in {python}, through Dagster Pipes; its return value is reported as "
            "the `return_value` metadata of each asset.")


def helpers(plan: Plan) -> list[str]:
    """The module-level definitions the asset needs, in their order."""
    return ([VIRTUALENV_HELPER] if plan.pipes.python is None else []) + [SCRIPT_HELPER, CLIENT_CONSTANT]


def signature(edit: ModuleEdit, plan: Plan) -> str:
    context = edit.dagster_name("AssetExecutionContext")
    client = edit.dagster_name("PipesSubprocessClient")
    return f"(context: {context}, {CLIENT}: {client})"


def constant(edit: ModuleEdit, name: str, plan: Plan) -> str:
    """The text of the module-level ``name`` (of ``CONSTANTS``)."""
    client = f"{edit.dagster_name('PipesSubprocessClient')}()"
    definition = f"{edit.dagster_name('ResourceDefinition')}.hardcoded_resource({client})"
    return f"{CLIENT_CONSTANT} = {definition}{edit.newline}"


def decorator_options(edit: ModuleEdit, plan: Plan) -> tuple[str, ...]:
    return (f"resource_defs={{{edit.literal(CLIENT)}: {CLIENT_CONSTANT}}}",)


def tail(edit: ModuleEdit, plan: Plan, places=None) -> list[str]:
    """Make the Python (a venv, or the external one), write the script, run it through Pipes."""
    pipes, inner = plan.pipes, 2 * len(edit.unit)
    folder, python, script = (fresh(n, plan.mentioned) for n in ("folder", "python", "script"))
    temporary = edit.module_reference("tempfile", plan)
    lines = [f"with {temporary}.TemporaryDirectory(prefix={edit.literal('airflowtmp')}) as {folder}:"]
    if pipes.python is not None:
        lines.append(f"{edit.unit}{python} = {edit.literal(pipes.python)}")
    else:
        options = (folder, *(("" if k == "requirements" else f"{k}=") + literal_code(edit, v)
                             for k, v in pipes.virtualenv))
        lines.append(edit.unit + edit.render(Group(f"{python} = {VIRTUALENV_HELPER}(", options, ")"),
                                             inner))
    args = literal_code(edit, pipes.args)
    kwargs = literal_code(edit, dict(pipes.kwargs))
    lines.append(edit.unit + edit.render(
        Group(f"{script} = {SCRIPT_HELPER}(", (folder, plan.function.name, args, kwargs), ")"), inner))
    run = Group(f"yield from {CLIENT}.run(", ("context=context", f"command=[{python}, {script}]"),
                ").get_results()")
    lines.append(edit.unit + edit.render(run, inner))
    return lines


def literal_doc(edit: ModuleEdit, value: object, prefix: str = "") -> str | Group:
    """A literal as a layout ``Group`` (its lists and dicts broken over lines when too long),
    after ``prefix`` (``name=``)."""
    if isinstance(value, dict) and value:
        return Group(prefix + "{", tuple(literal_doc(edit, v, literal_code(edit, k) + ": ")
                                         for k, v in value.items()), "}")
    if isinstance(value, list) and value:
        return Group(prefix + "[", tuple(literal_doc(edit, v) for v in value), "]")
    return prefix + literal_code(edit, value)


def literal_code(edit: ModuleEdit, value: object) -> str:
    """A literal's code, its strings quoted as the module quotes them (one holding Airflow
    Variables in Jinja, rendered: ``variables``)."""
    if isinstance(value, RenderedInRun):  # read once in the asset's header
        return f"{run_values.RENDER}({edit.literal(value)}, {run_values.VALUES})"
    if isinstance(value, Rendered):
        return f"{RENDER}({edit.literal(value)})"
    if isinstance(value, str):
        return edit.literal(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal_code(edit, k)}: {literal_code(edit, v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)) or (isinstance(value, set) and value):
        items = ", ".join(literal_code(edit, v) for v in value)
        if isinstance(value, list):
            return f"[{items}]"
        if isinstance(value, tuple):
            return f"({items}{',' if len(value) == 1 else ''})"
        return f"{{{items}}}"
    return repr(value)
