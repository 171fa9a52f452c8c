"""The end of a scaffolded asset's body for PythonOperator, ``@task``, BashOperator and
``@task.bash`` tasks: the call of the callable with the task's arguments, or ``bash -c`` on the
task's command (for ``@task.bash``, on what the function's call returns); for a task of a ported
class, the call of its port with the asset's context and the task's arguments."""

from __future__ import annotations

import keyword
from typing import TYPE_CHECKING

import libcst as cst

from analysis.edits.layout import Group
from analysis.edits.scaffold import run_values
from analysis.edits.scaffold.dag_source import DagSource
from analysis.edits.scaffold.plan import Plan
from analysis.edits.scaffold.plan_bash import BASH_TASK
from analysis.edits.scaffold.variables import HELPER as RENDER

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit


def command_tail(edit: ModuleEdit, plan: Plan, source: DagSource,
                 file_name: str | None) -> list[str] | str:
    """The statements that end the body, or why they cannot be written."""
    unit = len(edit.unit)
    args = {a.keyword.value: a.value for a in source.call.args
            if a.keyword is not None and not _is_none(a.value)}

    def code(node: cst.CSTNode, indent: int = 2 * unit) -> str:
        return source.code(node, file_name, indent, edit.newline)

    def value(node: cst.CSTNode, indent: int = 2 * unit) -> str:
        """A templated argument's code: rendered as Airflow renders it when the task's templates read
        Airflow Variables (what the plan checked)."""
        text = code(node, indent)
        # every templated argument once the task renders any, as Airflow renders all their strings
        if plan.renders_run:  # the Airflow run's values too, read once in the asset's header
            return f"{run_values.RENDER}({text}, {run_values.VALUES})"
        return f"{RENDER}({text})" if plan.renders_text else text

    if plan.kind == "Port":  # the class's port, given what the task's call gives the class
        if plan.port.literals is not None:  # or, for a task a factory makes, the values it gets
            from analysis.edits.scaffold.asset_pipes import literal_doc  # which imports this module

            items = ("context", *(literal_doc(edit, value, f"{name}=") for name, value in plan.port.literals))
        else:
            items = ("context", *(f"{name}={code(args[name])}" for name in plan.port.arguments if name in args))
        return [edit.render(Group(plan.port.function + "(", items, ")"), unit)]
    if plan.kind == "PythonOperator":
        function = args["python_callable"]
        callee = code(function, unit)
        if not isinstance(function, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)):
            callee = f"({callee})"
        items = _python_arguments(args.get("op_args"), args.get("op_kwargs"), value) + _context(edit, plan)
        return [edit.render(Group(callee + "(", tuple(items), ")"), unit)]
    if plan.kind in ("@task", BASH_TASK):
        items = [star(a) + (f"{a.keyword.value}=" if a.keyword else "") + value(a.value)
                 for a in source.call.args] + _context(edit, plan)
        call = edit.render(Group(plan.function.name + "(", tuple(items), ")"), unit)
        if plan.kind == "@task":
            return [call]
        options = _bash_task_options(source, plan)
        if isinstance(options, str):
            return options
        return _bash(edit, plan, call, options, value, plan.function.name)
    return _bash(edit, plan, value(args["bash_command"], unit), args, value)


def _bash(edit: ModuleEdit, plan: Plan, command_code: str, args: dict[str, cst.BaseExpression],
          code, returned_by: str | None = None) -> list[str]:
    """``bash -c`` on the command (``returned_by``: the ``@task.bash`` function whose call
    ``command_code`` is), with ``args``' ``env`` and ``cwd``."""
    unit = len(edit.unit)
    run = edit.module_reference("subprocess", plan)
    command = fresh("bash_command", plan.mentioned)
    lines = [f"{command} = {command_code}"]
    if returned_by is not None:  # Airflow renders what it returns (line ends...), then runs only a non-empty string
        lines = [f"{command} = {RENDER}({command_code})"]
        lines += [f"if not isinstance({command}, str) or not {command}.strip():",
                  edit.unit + f"raise TypeError({edit.literal(f'{returned_by} must return a bash command')})"]
    options = [f"[{edit.literal('bash')}, {edit.literal('-c')}, {command}]", "check=True"]
    if "cwd" in args:
        options.append(f"cwd={code(args['cwd'])}")
    if "env" in args:
        env = code(args["env"])
        if plan.append_env:  # else the given environment replaces the process's, as in Airflow
            env = f"{{**{edit.module_reference('os', plan)}.environ, **{env}}}"
        options.append(f"env={env}")
    if "cwd" in args:
        lines.append(edit.render(Group(f"{run}.run(", tuple(options), ")"), unit))
    else:  # Airflow runs a command without `cwd` in a new temporary folder
        folder = fresh("tmp_dir", plan.mentioned)
        options.insert(2, f"cwd={folder}")
        temporary = edit.module_reference("tempfile", plan)
        lines.append(f"with {temporary}.TemporaryDirectory(prefix={edit.literal('airflowtmp')}) "
                     f"as {folder}:")
        lines.append(edit.unit + edit.render(Group(f"{run}.run(", tuple(options), ")"), 2 * unit))
    return lines


def _bash_task_options(source: DagSource, plan: Plan) -> dict[str, cst.BaseExpression] | str:
    """The options of a ``@task.bash`` task as ``plan_bash.task_options`` reads them: its
    decorator's, then ``.override(...)``'s from the innermost out (None values dropped)."""
    function = source.function(plan.function)
    decorator = next((d.decorator for d in (function.decorators if function else ())
                      if _is_bash(d.decorator)), None)
    if decorator is None:
        return "the `@task.bash` decorator of the task was not found in the DAG file's syntax tree"
    given = list(decorator.args) if isinstance(decorator, cst.Call) else []
    overrides = []
    callee = source.call.func
    while isinstance(callee, cst.Call) and isinstance(callee.func, cst.Attribute) and \
            callee.func.attr.value == "override":
        overrides.insert(0, list(callee.args))
        callee = callee.func.value
    options = {}
    for arg in [a for args in (given, *overrides) for a in args if a.keyword is not None]:
        options.pop(arg.keyword.value, None)
        if not _is_none(arg.value):
            options[arg.keyword.value] = arg.value
    return options


def _is_bash(decorator: cst.BaseExpression) -> bool:
    callee = decorator.func if isinstance(decorator, cst.Call) else decorator
    return isinstance(callee, cst.Attribute) and callee.attr.value == "bash"


def _python_arguments(op_args, op_kwargs, code) -> list[str]:
    """``op_args`` and ``op_kwargs`` as call arguments: spread out when they are literals."""
    items = []
    if isinstance(op_args, (cst.List, cst.Tuple)):
        items += [star(e) + code(e.value) for e in op_args.elements]
    elif op_args is not None:
        items.append("*" + code(op_args))
    if isinstance(op_kwargs, cst.Dict) and _keyword_dict(op_kwargs):
        items += ["**" + code(e.value) if isinstance(e, cst.StarredDictElement)
                  else f"{e.key.evaluated_value}={code(e.value)}" for e in op_kwargs.elements]
    elif op_kwargs is not None:
        items.append("**" + code(op_kwargs))
    return items


def _context(edit: ModuleEdit, plan: Plan) -> list[str]:
    """The run's strings the callable takes from the task context, given by name as Airflow gives
    them (from ``_airflow_run``'s values)."""
    return [f"{key}={run_values.VALUES}[{edit.literal(key)}]" for key in plan.context_values]


def star(node: cst.Arg | cst.BaseElement) -> str:
    if isinstance(node, cst.Arg):
        return node.star if isinstance(node.star, str) else ""
    return "*" if isinstance(node, cst.StarredElement) else ""


def fresh(name: str, taken: frozenset[str]) -> str:
    """``name``, with ``_`` added until the copied code does not use it."""
    while name in taken:
        name += "_"
    return name


def _is_none(node: cst.CSTNode) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def _keyword_dict(node: cst.Dict) -> bool:
    """Whether a dict literal can become keyword arguments: identifier keys, none twice."""
    keys = []
    for element in node.elements:
        if isinstance(element, cst.StarredDictElement):
            continue
        value = element.key.evaluated_value if isinstance(element.key, cst.SimpleString) else None
        if not isinstance(value, str) or not value.isidentifier() or keyword.iskeyword(value):
            return False
        keys.append(value)
    return len(keys) == len(set(keys))


def top_level_names(module: cst.Module) -> set[str]:
    """The functions, classes and simple assignments a module's top level defines."""
    names = set()
    for statement in module.body:
        if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            names.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            names.update(t.target.value for s in statement.body if isinstance(s, cst.Assign)
                         for t in s.targets if isinstance(t.target, cst.Name))
    return names


def run_reading(edit: ModuleEdit, plan: Plan) -> tuple[list[str], str] | str:
    """What an asset that reads the Airflow run needs: the run helpers, and the header statement
    that reads the run through the module's one AirflowInstance (given the task's params when it
    reads them); or why the module cannot give it."""
    from analysis.edits.scaffold.asset_mapping import WHAT
    from analysis.edits.scaffold.asset_pipes import literal_doc  # which imports this module
    from analysis.edits.scaffold.asset_sensors import airflow_instances

    instances = [n for n, _ in airflow_instances(edit.module)]
    if len(instances) != 1:
        return ("the Dagster module does not bind one AirflowInstance to a name at its top (`airflow_instance = "
                f"AirflowInstance(...)`), through which the asset of {edit.label} would read the Airflow run's "
                "values its templates or its code use (`{{ ds }}`, `ds`...)")
    if instances[0] in plan.bound:  # the copied code would rebind it in the asset's body
        return (f"the DAG file's `{instances[0]}` would hide {WHAT}'s AirflowInstance, "
                f"through which the asset of {edit.label} reads the Airflow run")
    outdated = run_values.outdated(plan.variables, plan.params is not None, edit.definition, f"{WHAT}'s", edit.label)
    if outdated is not None:
        return outdated
    helpers = [run_values.HELPER] + ([run_values.RENDER] if plan.renders_run else [])
    if plan.params is None:
        return helpers, f"{run_values.VALUES} = {run_values.HELPER}({instances[0]}, context)"
    # as the DAG file gives them: the helper adds the run's conf
    return helpers, edit.render(Group(f"{run_values.VALUES} = {run_values.HELPER}(", (
        instances[0], "context", literal_doc(edit, plan.params)), ")"), len(edit.unit))
