"""What the scaffolded asset's body is made of, read from the DAG file's ``ast``: a ``Plan``.

``plan_task`` decides whether a task can be scaffolded and, if so, which module-level
statements its code needs (transitively, with the statements that change what it needs), which
``@task`` function to copy, and which names the copied code uses and binds. Everything that
cannot be copied to Dagster is refused here with a one-line reason: other operators, mapped
tasks, XCom inputs, names defined inside the DAG or after it, code that needs Airflow, Jinja,
the task context, ``global`` declarations, relative imports.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import replace

from analysis.edits.scaffold.families import derived_note
from analysis.edits.scaffold.imported import called_function, imported_function
from analysis.edits.scaffold.params import task_params
from analysis.edits.scaffold.plan_athena import ATHENA_OPERATORS, athena_plan
from analysis.edits.scaffold.plan_athena import IGNORED as ATHENA_IGNORED
from analysis.edits.scaffold.plan_bigquery import BIGQUERY_OPERATORS, bigquery_plan
from analysis.edits.scaffold.plan_bigquery import IGNORED as BIGQUERY_IGNORED
from analysis.edits.scaffold.plan_bigquery_job import IGNORED as JOB_IGNORED
from analysis.edits.scaffold.plan_bigquery_job import JOB_OPERATORS, bigquery_job_plan
from analysis.edits.scaffold.plan_bash import BASH_TASK, options_problem
from analysis.edits.scaffold.plan_builder import PlanBuilder
from analysis.edits.scaffold.plan_common import Plan, given_options, keywords_problem, made_elsewhere
from analysis.edits.scaffold.plan_containers import CONTAINER_OPERATORS, IGNORED, container_plan
from analysis.edits.scaffold.plan_dbt import bash_task_dbt_plan, dbt_plan, looks_like_dbt
from analysis.edits.scaffold.plan_evaluated import evaluated_call
from analysis.edits.scaffold.plan_options import BASH_PARAMETERS, PIPES_PARAMETERS, PYTHON_PARAMETERS, defaults_problem
from analysis.edits.scaffold.plan_gke import CLUSTER_IGNORED, CLUSTER_OPERATORS, cluster_plan
from analysis.edits.scaffold.plan_gates import OPERATOR_GATES, TASKFLOW_GATES, gated
from analysis.edits.scaffold.plan_pipes import PIPES_OPERATORS, pipes_plan
from analysis.edits.scaffold.plan_ports import port_plan
from analysis.edits.scaffold.plan_sensors import IGNORED as SENSORS_IGNORED
from analysis.edits.scaffold.plan_sensors import REFUSED as SENSORS_REFUSED
from analysis.edits.scaffold.plan_sensors import PYTHON_SENSOR, SENSOR_PLANS, poked
from analysis.edits.scaffold.plan_sql import SQL_OPERATORS, sql_plan
from analysis.edits.scaffold.statements import DagFile, Unit, dag_file, is_airflow
from analysis.facts import TaskFacts

_PYTHON_TASKS = frozenset({"@task", "@task.python", BASH_TASK, *TASKFLOW_GATES})
BY_VALUES = frozenset({*CONTAINER_OPERATORS, *SQL_OPERATORS, *BIGQUERY_OPERATORS, *JOB_OPERATORS,
                        *CLUSTER_OPERATORS, *ATHENA_OPERATORS, *SENSOR_PLANS})
"""The operators whose scaffold reads the call's values, not its code: a task that a project
factory makes can be planned from the values the model evaluates for it."""


def plan_task(dag_text: str, task: TaskFacts, dag_path: str | None = None,
              read: Callable[[str], str | None] | None = None,
              downstream: tuple[str, ...] = (), ports: Mapping[str, str] | None = None,
              evaluate: Callable[[TaskFacts], TaskFacts] | None = None) -> Plan | str:
    """The plan of ``task``, or why it cannot be scaffolded. ``read(path)`` reads a file the
    task names (a ``.sql`` template, found beside ``dag_path``); without it, it is not looked
    for. ``downstream``: the tasks right after it (a branch's choices). ``ports``: operator
    classes the project ported once, to the function (``analysis.dagster.ports``).
    ``evaluate(task)``: the task read with the arguments the model evaluates for it, for a task
    that a project factory makes (``plan_evaluated``); without it, such a task is refused."""
    try:
        return _read_plan(dag_text, task, dag_path, read, downstream, ports or {}, evaluate)
    except (SyntaxError, ValueError, RecursionError) as error:  # symtable on odd code, say
        return f"task `{task.task_id}` cannot be read statically ({error})"


def _read_plan(dag_text: str, task: TaskFacts, dag_path: str | None, read,
               downstream: tuple[str, ...], ports: Mapping[str, str], evaluate) -> Plan | str:
    dag = dag_file(dag_text)
    if isinstance(dag, str):
        return dag
    label = f"task `{task.task_id}`"
    if task.mapped:
        return (f"{label} is mapped (`.expand`): Airflow runs it once per input, which one "
                "Dagster asset cannot do as scaffolded")
    if task.dynamic:
        return f"{label} has an id that cannot be read statically"
    call = dag.call_at(task)
    dag_unit = dag.unit_at(task.range.start.line + 1)
    if call is None or dag_unit is None:
        return f"the call that creates {label} was not found"
    plan = _planned(dag, task, call, dag_unit, dag_path, read, downstream, ports, evaluate)
    return _with_params(plan, dag, dag_unit, call, label) if isinstance(plan, Plan) and plan.reads_params else plan


def _planned(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit, dag_path: str | None, read,
             downstream: tuple[str, ...], ports: Mapping[str, str], evaluate) -> Plan | str:
    label = f"task `{task.task_id}`"
    if task.operator in ports:  # the team's own implementation of the class comes first
        return port_plan(dag, task, call, dag_unit, ports[task.operator], evaluate)
    if task.operator in BY_VALUES:
        return _by_values(dag, task, call, dag_unit, dag_path, read, evaluate)
    if task.operator in _PYTHON_TASKS:
        return _taskflow_plan(dag, task, call, dag_unit, downstream, read)
    if task.operator in PIPES_OPERATORS:
        return _pipes_plan(dag, task, call)
    if task.operator.startswith("@"):
        return f"{label} is a `{task.operator}` task, which has no scaffold: port it by hand"
    qualified = dag.qualified(call.func)
    kind = qualified.rsplit(".", 1)[-1] if qualified.startswith("airflow.") else ""
    if kind not in ("PythonOperator", "BashOperator", PYTHON_SENSOR, *OPERATOR_GATES):
        derived = derived_note(task)
        return made_elsewhere(dag, task, call) or (f"{label} uses `{task.operator}`, which has no scaffold"
                                                   + (f" ({derived})" if derived else "") + ": port it by hand")
    problem = keywords_problem(label, call) or defaults_problem(
        task, call, label, BASH_PARAMETERS if kind == "BashOperator" else PYTHON_PARAMETERS)
    if problem:
        return problem
    options = given_options(call.keywords)
    command = options.get("bash_command") if kind == "BashOperator" else None
    if command is not None and looks_like_dbt(command, dag):  # dagster-dbt's, not the shell's
        return options_problem(label, options) or dbt_plan(dag, task, command, options, read)
    if kind in OPERATOR_GATES or kind == PYTHON_SENSOR:  # a callable: what runs next, or waits
        builder = PlanBuilder(dag, task, call, dag_unit, "PythonOperator", kind)
        return poked(gated(builder.python(options), task, downstream), dag, task, call, dag_unit)
    builder = PlanBuilder(dag, task, call, dag_unit, kind, kind)
    return builder.python(options) if kind == "PythonOperator" else builder.bash(options)


def _with_params(plan: Plan, dag: DagFile, dag_unit: Unit, call: ast.Call, label: str) -> Plan | str:
    """``plan`` given the task's params as the DAG file gives them (``params.task_params``), which
    its templates or callable read; or why they cannot be read."""
    if plan.evaluated or plan.kind == "Port":
        return f"{label} reads the DAG's params, which the scaffold reads only for a task written in the DAG file"
    keywords = list(call.keywords)
    if plan.function is not None and plan.kind in ("@task", BASH_TASK):  # `@task(params=...)`, `.override(...)`
        decorators = [d for d in plan.function.decorator_list if isinstance(d, ast.Call)]
        if decorators and not any(node is plan.function for node in ast.walk(dag.tree)):
            return f"{label} reads the DAG's params, and its function is decorated in another module"
        keywords = [k for d in decorators for k in d.keywords]
        overrides, called = [], call.func  # `f.override(a=1).override(b=2)(...)`: the last one's win
        while isinstance(called, ast.Call) and isinstance(called.func, ast.Attribute) \
                and called.func.attr == "override":
            overrides.append(called)
            called = called.func.value
        keywords += [k for override in reversed(overrides) for k in override.keywords]
    found = task_params(dag, dag_unit, call, keywords, label)
    return found if isinstance(found, str) else replace(plan, params=found)


_IGNORED = {**IGNORED, **SENSORS_IGNORED, **BIGQUERY_IGNORED, **JOB_IGNORED, **CLUSTER_IGNORED, **ATHENA_IGNORED}
"""Per operator, the options its family's plan does not read (``evaluated_call``)."""


def _by_values(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit, dag_path: str | None,
               read, evaluate) -> Plan | str:
    """The plan of a task whose scaffold reads its call's values (``BY_VALUES``): from the call
    as written, else from the values the model evaluates for it (a project factory's, or
    what the file computes: ``60 * 5``), when ``evaluate`` can read them. The refusal is the
    call's, unless a factory makes the task (its call cannot be read at all)."""
    plan = _family_plan(dag, task, call, dag_unit, dag_path, read)
    if not isinstance(plan, str) or evaluate is None:
        return plan
    elsewhere = made_elsewhere(dag, task, call) is not None
    evaluated = evaluate(task)
    if evaluated.arguments is None:
        return plan
    made = evaluated_call(evaluated, call, _IGNORED.get(task.operator, ()), SENSORS_REFUSED.get(task.operator, ()))
    if isinstance(made, str):
        return made if elsewhere else plan
    other = _family_plan(dag, evaluated, made, dag_unit, dag_path, read)
    if isinstance(other, str):
        return other if elsewhere else plan
    return replace(other, evaluated=True)


def _family_plan(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit, dag_path: str | None,
                 read) -> Plan | str:
    if task.operator in CONTAINER_OPERATORS:
        return container_plan(dag, task, call)
    if task.operator in SQL_OPERATORS:
        return sql_plan(dag, task, call, dag_unit, dag_path, read)
    if task.operator in BIGQUERY_OPERATORS:
        return bigquery_plan(dag, task, call)
    if task.operator in JOB_OPERATORS:
        return bigquery_job_plan(dag, task, call)
    if task.operator in CLUSTER_OPERATORS:
        return cluster_plan(dag, task, call)
    if task.operator in ATHENA_OPERATORS:
        return athena_plan(dag, task, call)
    return SENSOR_PLANS[task.operator](dag, task, call, dag_unit)


def _task_function(dag: DagFile, task: TaskFacts) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    if task.definition_range is None:
        return None
    line = task.definition_range.start.line + 1
    return next((n for n in ast.walk(dag.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.lineno == line and n.name == task.callable_name), None)


def _function_elsewhere(dag: DagFile, task: TaskFacts, call: ast.Call) -> str | None:
    """Why a TaskFlow task's function is not in the DAG file: imported from a module (a shared
    ``@task`` of the project), or the task is made inside a helper; None when neither."""
    imported = imported_function(dag, task, call)
    if imported is not None:
        module, name = imported
        return (f"the function of task `{task.task_id}` is `{name}` of `{module}`, imported: the scaffold "
                "copies a function written in the DAG file; port it by hand")
    callee = ast.unparse(called_function(call))
    if task.callable_name and callee.rsplit(".", 1)[-1] != task.callable_name:
        callee = callee if len(callee) <= 60 else callee[:57] + "..."
        return (f"task `{task.task_id}` is made inside `{callee}(...)`, not by a call of its function in "
                "this file: the scaffold copies a function written in the DAG file; port it by hand")
    return None


def _pipes_plan(dag: DagFile, task: TaskFacts, call: ast.Call) -> Plan | str:
    problem = defaults_problem(task, call, f"task `{task.task_id}`",
                               PIPES_PARAMETERS - {"python_callable", "op_args", "op_kwargs"}
                               if task.operator.startswith("@") else PIPES_PARAMETERS)
    if problem:
        return problem
    if not task.operator.startswith("@"):
        return pipes_plan(dag, task, call, None, None)
    function = _task_function(dag, task)
    if function is None:
        return f"the function of task `{task.task_id}` was not found"
    suffix = "." + task.operator.rsplit(".", 1)[-1]
    decorator = next((d for d in function.decorator_list if isinstance(d, ast.Call)
                      and dag.qualified(d.func).endswith(suffix)), None)
    return pipes_plan(dag, task, call, function, decorator)


def _taskflow_plan(dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit,
                   downstream: tuple[str, ...], read=None) -> Plan | str:
    label = f"task `{task.task_id}`"
    function = _task_function(dag, task)
    if function is None:
        return _function_elsewhere(dag, task, call) or f"the function of {label} was not found"
    if isinstance(function, ast.AsyncFunctionDef):
        return f"{label} is an `async` function: scaffold it by hand"
    if task.operator == BASH_TASK:  # the decorator's operator is a BashOperator: default_args reach it
        problem = defaults_problem(task, call, label, BASH_PARAMETERS - {"bash_command"})
        if problem:
            return problem
    dbt = bash_task_dbt_plan(dag, task, function, call, read) if task.operator == BASH_TASK else None
    if dbt is not None:
        return dbt
    dropped = frozenset(i for i, d in enumerate(function.decorator_list)
                        if is_airflow(dag.qualified(d.func if isinstance(d, ast.Call) else d)))
    kind = BASH_TASK if task.operator == BASH_TASK else "@task"
    builder = PlanBuilder(dag, task, call, dag_unit, kind, task.operator)
    return gated(builder.taskflow(function, dropped), task, downstream)
