"""What every family's plan shares: the ``Plan`` itself, how an operator's call is read (its
class Airflow's, its arguments by name) and the checks of what only Airflow can run (Jinja, the
task context), used by ``plan`` (Python, Bash, ``@task``), ``plan_pipes``, ``plan_containers``
and ``plan_sql``."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analysis.edits.scaffold.plan_dag import AS_MADE, TEXT
from analysis.edits.scaffold.params import CONTEXT_KEY as PARAMS_KEY
from analysis.edits.scaffold.params import MARKER as PARAMS
from analysis.edits.scaffold.run_values import DS_MACROS, MOVED, RUN
from analysis.edits.scaffold.statements import DagFile, Unit
from analysis.facts import TaskFacts

if TYPE_CHECKING:
    from analysis.edits.scaffold.plan_athena import AthenaQuery
    from analysis.edits.scaffold.plan_bigquery import BigQueryLoad
    from analysis.edits.scaffold.plan_bigquery_job import BigQueryQuery
    from analysis.edits.scaffold.plan_containers import ContainerPlan
    from analysis.edits.scaffold.plan_dbt import DbtPlan
    from analysis.edits.scaffold.plan_gke import GkeClusterChange
    from analysis.edits.scaffold.plan_pipes import PipesPlan
    from analysis.edits.scaffold.plan_ports import PortPlan
    from analysis.edits.scaffold.plan_sensors import SensorPlan
    from analysis.edits.scaffold.plan_sql import SqlPlan

CONTEXT_KEYS = frozenset({
    "conf", "conn", "dag", "dag_run", "data_interval_end", "data_interval_start", "ds",
    "ds_nodash", "exception", "execution_date", "expanded_ti_count", "inlet_events", "inlets",
    "logical_date", "macros", "map_index_template", "next_ds", "next_ds_nodash",
    "next_execution_date", "outlet_events", "outlets", "params", "prev_data_interval_end_success",
    "prev_data_interval_start_success", "prev_ds", "prev_ds_nodash", "prev_end_date_success",
    "prev_execution_date", "prev_execution_date_success", "prev_start_date_success", "run_id",
    "task", "task_instance", "task_instance_key_str", "templates_dict", "test_mode", "ti",
    "tomorrow_ds", "tomorrow_ds_nodash", "triggering_asset_events", "triggering_dataset_events",
    "ts", "ts_nodash", "ts_nodash_with_tz", "var", "yesterday_ds", "yesterday_ds_nodash"})
"""What Airflow passes a python callable for a parameter of that name (or ``**kwargs``)."""
COPIED_KINDS = frozenset({"PythonOperator", "BashOperator", "@task", "@task.bash"})
"""The plans whose asset's body is the DAG file's code as Airflow runs it, its templated
arguments written as they are in the call."""
RUN_CONTEXT = ("ds", "ds_nodash", "ts", "ts_nodash", "run_id")
"""The task context's strings a callable can be given from the Airflow run that launched the
Dagster run (``run_values``), the same text as Airflow's: its moments are pendulum ``DateTime``s
there, whose ``str()`` and methods a plain ``datetime`` does not share."""
CONTEXT_VALUES = (*RUN_CONTEXT, PARAMS_KEY)
"""The task context's values a callable can be given: the run's strings, and the params (a plain
dict in Airflow too, ``params``)."""
_JINJA = ("{{", "{%", "{#")


@dataclass(frozen=True, slots=True)
class Plan:
    """What the asset's body is made of, found in the DAG file's ``ast``."""

    kind: str
    """"PythonOperator", "BashOperator", "@task", "@task.bash", "Pipes", "Container", "SQL",
    "BigQuery", "Athena", "GKE cluster", "Sensor", "dbt" or "Port"."""
    label: str
    """The operator as the docstring names it."""
    units: tuple[Unit, ...]
    function: ast.FunctionDef | None
    """The ``@task`` function to copy (for "Pipes", the function whose source the script runs)."""
    dropped_decorators: frozenset[int]
    """Indexes of the function's Airflow decorators."""
    uses_file: bool
    imported: frozenset[str]
    """Top-level modules the copied code imports."""
    bound: dict[str, frozenset[str]]
    """Names the copied code binds in the body: to the modules ``import x`` binds, else ``""``."""
    mentioned: frozenset[str]
    """Every name the copied code and arguments use or bind (new locals must differ)."""
    append_env: bool = False
    pipes: PipesPlan | None = None
    """For "Pipes": where the function's source runs."""
    container: ContainerPlan | None = None
    """For "Container": the Pipes client and what its ``run`` is given."""
    sql: SqlPlan | None = None
    """For "SQL": the connection and the statements."""
    bigquery: BigQueryLoad | BigQueryQuery | None = None
    """For "BigQuery": the load job, or the query job."""
    athena: AthenaQuery | None = None
    """For "Athena": the query and the options it is started with."""
    gke_cluster: GkeClusterChange | None = None
    """For "GKE cluster": the cluster created or deleted."""
    gate: str | None = None
    """"branch" or "short_circuit": the callable's return decides what is materialized."""
    downstream: tuple[str, ...] = ()
    """For a branch: the tasks right after it, among which the callable chooses."""
    dbt: DbtPlan | None = None
    """For "dbt": the project, the selection and the command ``@dbt_assets`` runs."""
    sensor: SensorPlan | None = None
    """For a sensor ("Sensor", or a PythonSensor's "PythonOperator"): how the asset waits."""
    port: PortPlan | None = None
    """For "Port": the function ported for the task's class, and the arguments it is given."""
    evaluated: bool = False
    """Planned from the values the model evaluated for the task, written out (a project factory's,
    or what the DAG file computes: ``plan_evaluated``, ``imported.factory_task``), not from a call
    as written."""
    variables: tuple[str, ...] = ()
    """The Airflow Variables that the task's templated arguments read in Jinja: those arguments
    are passed through ``_airflow_render``, which reads them from ``AIRFLOW_VAR_<KEY>``
    (``variables``); with ``run_values.RUN`` when they read the Airflow run's values too, then
    through ``_airflow_render_run`` (``reads_run``)."""
    variable_names: tuple[str, ...] = ()
    """Names by which the copied code reads Airflow's ``Variable`` (its ``get`` only): bound in the
    asset's body to the module's ``_AirflowVariable``, which reads ``AIRFLOW_VAR_<KEY>``."""
    exception_names: tuple[tuple[str, str], ...] = ()
    """Names the copied code binds to Airflow's exceptions, each with the class
    (``exceptions.CLASSES``): the asset's body binds them to the Dagster module's classes."""
    derived: str | None = None
    """The project class the task is made by when it only hands arguments on to the operator
    planned (``derived``): named in the docstring."""
    left: tuple[str, ...] = ()
    """What stays in Airflow of the ``derived`` class the team chose to run as its base
    (``AIRFLOW_OPERATOR_PORTS`` given its name; ``derived.left_behind``): named in the docstring."""
    context_values: tuple[str, ...] = ()
    """The task context's values (``CONTEXT_VALUES``) the callable takes, by parameter or through the
    ``**kwargs`` it reads them from: given by name from the Airflow run (``reads_run``)."""
    params: dict[str, object] | None = None
    """The task's params as its DAG file gives them (``params.task_params``), when its templates or
    its callable read them (``reads_params``): the asset updates them with the run's conf."""
    lifted: tuple[str, tuple[str, ...]] | None = None
    """The name of the task's function when a factory defines it inside itself, and the names it
    reads there: written at its module's top level with those as parameters (``closures``)."""

    @property
    def reads_run(self) -> bool:
        """Whether the asset reads the Airflow run's values (``run_values``): its templated
        arguments render them (``renders_run``), or its callable takes them (``context_values``)."""
        return self.renders_run or bool(self.context_values)

    @property
    def reads_params(self) -> bool:
        """Whether the templated arguments (``{{ params.x }}``) or the callable read the params."""
        return PARAMS in self.variables or PARAMS_KEY in self.context_values

    @property
    def renders_text(self) -> bool:
        """Whether the asset passes the templated arguments through ``_airflow_render``: they read
        Airflow Variables, or, in a copied call, hold plain strings Jinja changes (``TEXT``)."""
        return bool(self.variable_keys) or (TEXT in self.variables and self.kind in COPIED_KINDS)

    @property
    def renders_run(self) -> bool:
        """Whether the templated arguments read the Airflow run's values in Jinja."""
        return RUN in self.variables

    @property
    def variable_keys(self) -> tuple[str, ...]:
        """The Airflow Variables the templated arguments read."""
        return tuple(k for k in self.variables if k not in (RUN, AS_MADE, TEXT, PARAMS, MOVED, DS_MACROS))

    @property
    def made_elsewhere(self) -> bool:
        """Whether the templated arguments render in a DAG that the project's code creates
        (``plan_dag.AS_MADE``): judged on that code before the plan is used."""
        return AS_MADE in self.variables


class EvaluatedCall(ast.Call):
    """An operator call made of the values the model evaluated for a task that a project
    factory makes (``plan_evaluated``): keywords of literals, no call of the DAG file's own."""

    qualified: str
    """The Airflow or provider class's dotted path, as the model resolved it."""


def operator_call_problem(dag: DagFile, task: TaskFacts, call: ast.Call) -> str | None:
    """Why the call creating an operator's task cannot be read: the class is not Airflow's, or
    it is given arguments by position or ``**``."""
    elsewhere = made_elsewhere(dag, task, call)
    if elsewhere:
        return elsewhere
    qualified = call.qualified if isinstance(call, EvaluatedCall) else dag.qualified(call.func)
    if not qualified.startswith("airflow."):
        return f"task `{task.task_id}` uses `{task.operator}`, which is not Airflow's"
    return keywords_problem(f"task `{task.task_id}`", call)


def made_elsewhere(dag: DagFile, task: TaskFacts, call: ast.Call) -> str | None:
    """Why an operator's task cannot be scaffolded from ``call`` when that call is not the
    operator's but a helper's that makes it (a project factory: the operator call is in its code,
    given values only known as the helper runs), or None."""
    if task.operator.startswith("@") or isinstance(call, EvaluatedCall) \
            or (dag.qualified(call.func) or ast.unparse(call.func)).rsplit(".", 1)[-1] == task.operator:
        return None  # the class's own call (a class of the DAG file itself is qualified by no import)
    helper = ast.unparse(call.func)
    helper = helper if len(helper) <= 60 else helper[:57] + "..."
    return (f"task `{task.task_id}` is made inside `{helper}(...)`, not by a `{task.operator}(...)` "
            "call in this file: the scaffold copies an operator call written in the DAG file; port it by hand")


def keywords_problem(name: str, call: ast.Call) -> str | None:
    """Why ``call``'s arguments cannot be read by name (``name``: "task `t`"), or None."""
    if call.args or any(k.arg is None for k in call.keywords):
        return f"{name} passes arguments by position or `**`: they cannot be read statically"
    return None


def given_options(keywords: Sequence[ast.keyword]) -> dict[str, ast.expr]:
    """The keyword arguments given a value: an explicit ``None`` is Airflow's default."""
    return {k.arg: k.value for k in keywords
            if k.arg is not None and not (isinstance(k.value, ast.Constant) and k.value.value is None)}


def signature_problem(name: str, args: ast.arguments, positional: Sequence[ast.expr],
                      keywords: Sequence[ast.keyword], what: str,
                      function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None = None,
                      taken: list[str] | None = None) -> str | None:
    """Refuse what Airflow would fill from the task context: ``**kwargs`` that the body reads
    (``function``, when known: unread, called without a context it behaves the same), or
    parameters named like context variables that the call does not pass (``name``: "task `t`").

    With ``taken`` (a list the asset can give the run's values for), the run's strings and the
    params (``CONTEXT_VALUES``) are not refused but added to it: parameters of their names the call does
    not give, and the keys a ``**kwargs`` that is only read by literal key (``kwargs["ds"]``,
    ``kwargs.get("ds")``) reads; its keys that are no context variable are the call's, or absent
    in both."""
    unknown = any(isinstance(a, ast.Starred) for a in positional) or any(k.arg is None for k in keywords)
    given = {k.arg for k in keywords}
    wanted: list[str] = []  # the parameters' first, then the keys read through `**kwargs`
    through: list[str] = []
    if args.kwarg is not None and (function is None or reads_name(function, args.kwarg.arg)):
        keys = context_reads(function, args.kwarg.arg) if function is not None and taken is not None else None
        read = [k for k in keys or () if k in CONTEXT_KEYS and k not in given]
        other = next((k for k in read if k not in CONTEXT_VALUES), None)
        if keys is None:
            return (f"the {what} of {name} takes `**{args.kwarg.arg}`, through which Airflow "
                    "passes the task context (ti, ds, ...): Dagster has none")
        if other is not None:
            return (f"the {what} of {name} reads `{other}` of the Airflow task context (through "
                    f"`**{args.kwarg.arg}`), which Dagster does not have")
        if read and unknown:
            return (f"the {what} of {name} reads `{read[0]}` through `**{args.kwarg.arg}`, which Airflow fills "
                    "from the task context unless the arguments unpacked into it give it: which they do is only "
                    "known when it runs")
        through = read
    params = [*args.posonlyargs, *args.args]
    context = next((p.arg for p in [*params, *args.kwonlyargs] if p.arg in CONTEXT_KEYS), None)
    if unknown:
        if context is not None:  # Airflow fills it unless the unpacked arguments do
            return (f"the {what} of {name} takes `{context}`, which Airflow fills from the task context unless "
                    "the arguments unpacked into it give it: which they do is only known when it runs")
        return _take(taken, through)  # unpacked arguments: which parameters they fill is not known
    # Airflow checks the first names of the whole signature, as many as the positional arguments
    ordered = [*params, *([args.vararg] if args.vararg else []), *args.kwonlyargs, *([args.kwarg] if args.kwarg else [])]
    taken_by_position = next((p.arg for p in ordered[:len(positional)] if p.arg in CONTEXT_KEYS), None)
    if taken_by_position is not None:
        return (f"the {what} of {name} is given `{taken_by_position}` by position, which Airflow refuses (a "
                "name of the task context): the task fails in Airflow")
    given |= {p.arg for p in params[:len(positional)]}
    defaults = {p.arg for p in params[len(params) - len(args.defaults):]} if args.defaults else set()
    defaults |= {p.arg for p, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None}
    for param in [*params, *args.kwonlyargs]:
        if param.arg in given:
            continue
        if param.arg in CONTEXT_KEYS:
            if taken is not None and param.arg in CONTEXT_VALUES and param not in args.posonlyargs:
                wanted.append(param.arg)
                continue
            return (f"the {what} of {name} takes `{param.arg}` from the Airflow task "
                    "context, which Dagster does not have")
        if param.arg not in defaults:
            return f"the {what} of {name} gets no value for parameter `{param.arg}`"
    return _take(taken, wanted + through)


def _take(taken: list[str] | None, wanted: list[str]) -> None:
    if taken is not None:
        taken.extend(k for k in dict.fromkeys(wanted) if k not in taken)
    return None


def context_reads(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, name: str) -> list[str] | None:
    """The keys ``function``'s body reads from its ``**name`` when it only reads it by literal
    key (``name["k"]``, ``name.get("k")``, ``name.get("k", default)``), in order; None when it
    uses ``name`` otherwise (passes it on, iterates it, changes or rebinds it), or may
    (``locals()``...)."""
    body = function.body if isinstance(function.body, list) else [function.body]
    parents: dict[ast.AST, ast.AST] = {}
    for statement in body:
        for node in ast.walk(statement):
            for child in ast.iter_child_nodes(node):
                parents[child] = node
    keys: list[str] = []
    for statement in body:
        for node in ast.walk(statement):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)) \
                    and name in _bound_in(node):
                return None  # a nested scope of its own `name`: which reads are whose is not followed
            if isinstance(node, ast.Name) and node.id in ("locals", "vars", "eval", "exec"):
                return None
            if not (isinstance(node, ast.Name) and node.id == name):
                continue
            parent = parents.get(node)
            if isinstance(parent, ast.Subscript) and parent.value is node and isinstance(parent.ctx, ast.Load) \
                    and isinstance(parent.slice, ast.Constant) and isinstance(parent.slice.value, str):
                keys.append(parent.slice.value)
                continue
            call = parents.get(parent) if parent is not None else None
            if isinstance(parent, ast.Attribute) and parent.attr == "get" and isinstance(call, ast.Call) \
                    and call.func is parent and 1 <= len(call.args) <= 2 and not call.keywords \
                    and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                keys.append(call.args[0].value)
                continue
            return None
    return list(dict.fromkeys(keys))


def _bound_in(scope: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef) -> set[str]:
    """The names a nested scope binds as parameters (a class: none it shadows for its methods)."""
    if isinstance(scope, ast.ClassDef):
        return set()
    args = scope.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    names |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    return names


def reads_name(function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, name: str) -> bool:
    """Whether ``function``'s body (its nested functions and default values included) reads
    ``name``, or may read it unseen (``locals()``, ``vars()``, ``eval``/``exec``)."""
    body = function.body if isinstance(function.body, list) else [function.body]
    for node in (n for statement in body for n in ast.walk(statement)):
        if isinstance(node, ast.Name) and (node.id == name or node.id in ("locals", "vars", "eval", "exec")):
            return True
    return False


def jinja(node: ast.AST | None) -> str | None:
    """A string constant with Jinja markup in ``node`` (f-strings included, by their value)."""
    if node is None:
        return None
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str) and has_jinja(child.value):
            return child.value
    return None


def jinja_in_value(value: object) -> str | None:
    """A string with Jinja markup in a value read statically (a string, or in a list, tuple or
    dict, keys included), or None."""
    if isinstance(value, str):
        return value if has_jinja(value) else None
    if isinstance(value, dict):
        value = [*value.keys(), *value.values()]
    if isinstance(value, (list, tuple)):
        return next((t for t in map(jinja_in_value, value) if t is not None), None)
    return None


def has_jinja(text: str) -> bool:
    """Whether ``text`` holds Jinja markup (an expression, a statement or a comment)."""
    return any(mark in text for mark in _JINJA)


def last_text(node: ast.expr) -> str | None:
    """The end of a string expression when it is literal text (where Airflow looks for a
    template file's ``.sh`` suffix)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[-1], ast.Constant):
        return str(node.values[-1].value)
    return None


def creates_task(unit: Unit) -> bool:
    """Whether a statement calls something with ``task_id=``: what Airflow takes for a task."""
    return any(isinstance(n, ast.Call) and any(k.arg == "task_id" for k in n.keywords)
               for statement in unit.statements for n in ast.walk(statement))


def import_binding(statement: ast.stmt, name: str) -> str:
    """The module ``name`` is bound to when ``statement`` is a plain ``import name``, else ""."""
    if isinstance(statement, ast.Import):
        for alias in statement.names:
            if alias.asname is None and alias.name == name:
                return name
    return ""
