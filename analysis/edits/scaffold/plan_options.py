"""An operator's options as Airflow gives them, read statically: for the scaffolds that carry a
provider operator's values into Dagster (containers, BigQuery loads, GKE clusters).

``operator_options`` gathers them: the ``default_args`` of the DAG, of the task groups around the
task and of the call (only the arguments the operator takes, as Airflow gives them), then the
call's own keywords. ``read_values`` reads each one's value: a literal or a constant
(``plan_values``), with Airflow Variables in Jinja in the operator's template fields kept as
``variables.Rendered`` strings the asset renders when it runs, and their plain strings written as
Jinja renders them all the same (``as_rendered``); any other Jinja, or Jinja where Airflow does not
render it, is refused with the reason.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Collection

from analysis.edits.scaffold.plan_common import jinja, jinja_in_value, operator_call_problem
from analysis.edits.scaffold.plan_dag import (
    ENVIRONMENT,
    NATIVE,
    TEXT,
    changed_by_jinja,
    default_args,
    jinja_text,
    native_changes,
    holds_string,
    own_default_args,
    rendering_problem,
)
from analysis.edits.scaffold.plan_values import NOT_STATIC, static_value
from analysis.edits.scaffold.statements import DagFile, Unit
from analysis.edits.scaffold.variables import judged_rendering, rendered_value
from analysis.facts import TaskFacts

BASE_OPERATOR = frozenset({
    "task_id", "owner", "email", "email_on_retry", "email_on_failure", "retries", "retry_delay",
    "retry_exponential_backoff", "max_retry_delay", "start_date", "end_date", "depends_on_past",
    "wait_for_downstream", "dag", "params", "default_args", "priority_weight", "weight_rule",
    "queue", "pool", "pool_slots", "sla", "execution_timeout", "on_execute_callback",
    "on_failure_callback", "on_success_callback", "on_retry_callback", "on_skipped_callback",
    "trigger_rule", "run_as_user", "task_concurrency", "max_active_tis_per_dag",
    "max_active_tis_per_dagrun", "executor_config", "do_xcom_push", "inlets", "outlets",
    "task_group", "doc", "doc_md", "doc_rst", "doc_json", "doc_yaml", "executor",
    "ignore_first_depends_on_past", "wait_for_past_depends_before_skipping", "retry_on_exit_code"})
"""What every operator takes: scheduling and bookkeeping that Dagster has its own way for."""

Given = dict[str, tuple[ast.expr, str]]
"""Each option to its value's node and how to say where it is given ("task `t` uses")."""


def operator_options(dag: DagFile, dag_unit: Unit | None, call: ast.Call, name: str,
                     parameters: frozenset[str], task: TaskFacts | None = None) -> Given | str:
    """The operator's options as Airflow gives them: the ``default_args`` of its DAG, of the task
    groups around it and of the call, of the arguments the operator takes, then the call's own
    keywords (what every operator takes left out), or why they cannot be read."""
    given: Given = {}
    inherited = default_args(dag, dag_unit, call) if dag_unit is not None else None
    for defaults, whose in ((inherited, f"the DAG of {name}"), (own_default_args(dag, call), name)):
        if defaults is not None and defaults.get("default_args") is NOT_STATIC:
            return (f"the `default_args` of {whose} cannot be read statically, and may give the "
                    "operator's options: scaffold it by hand")
        where = f"the `default_args` of {whose} give"
        given.update({k: (v, where) for k, v in (defaults or {}).items()
                      if k in parameters})
    given.update({k.arg: (k.value, f"{name} uses") for k in call.keywords if k.arg not in BASE_OPERATOR})
    if task is not None:  # what the model sees the default_args give (a dict changed, a group's...)
        problem = defaults_problem(task, call, name, parameters, given=given)
        if problem:
            return problem
    return given


def provider_values(dag: DagFile, task: TaskFacts, call: ast.Call, parameters: frozenset[str],
                    defaults: dict[str, object], reads: str, *, templated: Collection[str],
                    ignored: Collection[str], checked: Callable[[str, object], str | None] = lambda o, v: None
                    ) -> tuple[dict[str, object], tuple[str, ...]] | str:
    """A provider operator's options as Airflow gives them (``operator_options``), read
    (``read_values``) over its ``defaults``, with the Airflow Variables they read; or why not. An
    option not among ``parameters`` is refused, saying the scaffold ``reads`` the operator so
    ("GCSToBigQueryOperator as the Google provider 10.x has it")."""
    name = f"task `{task.task_id}`"
    problem = operator_call_problem(dag, task, call)
    if problem:
        return problem
    dag_unit = dag.unit_at(task.range.start.line + 1)
    given = operator_options(dag, dag_unit, call, name, parameters, task)
    if isinstance(given, str):
        return given
    read = read_values(dag, dag_unit, call, name, given, templated=templated, ignored=ignored, refused=(
        lambda option, where: None if option in parameters else
        f"{where} `{option}`, which the scaffold does not carry (it reads {reads}): scaffold it by hand"),
        checked=checked)
    if isinstance(read, str):
        return read
    return {**defaults, **read[0]}, read[1]


def read_values(dag: DagFile, dag_unit: Unit | None, call: ast.Call, name: str, given: Given, *,
                templated: Collection[str], ignored: Collection[str] = (),
                refused: Callable[[str, str], str | None] = lambda option, where: None,
                checked: Callable[[str, object], str | None] = lambda option, value: None,
                rendered_elsewhere: Collection[str] = ()) -> tuple[dict[str, object], tuple[str, ...]] | str:
    """The value of each option of ``given`` but the ``ignored`` ones, and the Airflow Variables
    the ``templated`` ones read in Jinja; or the first reason one cannot be carried: ``refused``
    (an option the scaffold does not carry, said with where it is given), not static, ``checked``
    (a value the family refuses before it is rendered), Jinja other than Variables, Jinja in an
    option Airflow does not render (but ``rendered_elsewhere``: Airflow renders it by other means),
    or Variables (or the run's values) where the asset cannot render them (a DAG that renders
    otherwise, or that cannot be found)."""
    values: dict[str, object] = {}
    variables: list[str] = []
    plain = native = False  # templated strings without Jinja, which Airflow renders all the same
    for option, (node, where) in given.items():
        problem = refused(option, where)
        if problem:
            return problem
        if option in ignored:
            continue
        value = static_value(dag, node)
        if value is NOT_STATIC:
            return (f"the `{option}` of {name} is not a literal or a module-level constant "
                    f"(`{ast.unparse(node)}`): it cannot be read statically")
        problem = checked(option, value)
        if problem:
            return problem
        text = jinja_in_value(value) or jinja(node)
        # a factory's values too (an EvaluatedCall's): they are the operator's arguments, which
        # Airflow renders as it renders a call's
        rendered = rendered_value(value) if text is not None and option in templated else None
        if text is not None and (rendered is None or not rendered[1]):
            if option not in templated and option not in rendered_elsewhere:  # Airflow sends it as written
                return (f"the `{option}` of {name} holds Jinja ({text!r}), which Airflow does not render there "
                        "(not one of the operator's template fields): scaffold it by hand")
            return f"the `{option}` of {name} uses Jinja ({text!r}), which only Airflow renders"
        if rendered is not None:
            value = rendered[0]
            variables += [k for k in rendered[1] if k not in variables]
        if option in templated and changed_by_jinja(value):
            variables += [TEXT] if TEXT not in variables else []
            value = as_rendered(value)
        plain = plain or (option in templated and holds_string(value))
        native = native or (option in templated and native_changes(value))
        values[option] = value
    if variables or plain:
        if dag_unit is None:
            how = "is not created in the DAG file"
        elif [k for k in variables if k != TEXT]:  # Jinja: any rendering option matters
            how = rendering_problem(dag, dag_unit, call)
        else:
            how = plain_rendering(dag, dag_unit, call, native)
        keys = judged_rendering(f"the arguments of {name}", how, variables)
        return keys if isinstance(keys, str) else (values, keys)
    return values, ()


def plain_rendering(dag: DagFile, dag_unit: Unit, call: ast.Call, native: bool) -> str | None:
    """How the DAG of the task ``call`` makes may render its templated strings without Jinja
    otherwise than Airflow's defaults (``plan_dag.rendering_problem``): another Jinja
    environment, or, when one reads as a Python literal (``native``: ``plan_dag.native_changes``,
    or not known), native objects."""
    how = rendering_problem(dag, dag_unit, call, ENVIRONMENT)
    return how if how is not None or not native else rendering_problem(dag, dag_unit, call, NATIVE)


def as_rendered(value: object) -> object:
    """A templated value's plain strings as Airflow renders them all the same, Jinja or not (in
    lists, tuples, sets and dict values too, as Airflow renders those): Jinja makes their line
    ends newlines and drops one final newline (``keep_trailing_newline`` is off). Strings with
    Jinja (``variables.Rendered``) are rendered, so, when the asset runs."""
    if type(value) is str:
        return jinja_text(value)
    if type(value) in (list, set):
        return type(value)(as_rendered(item) for item in value)
    if type(value) is tuple:
        return tuple(as_rendered(item) for item in value)
    if type(value) is dict:
        return {key: as_rendered(item) for key, item in value.items()}
    return value


BASH_PARAMETERS = frozenset({"bash_command", "env", "append_env", "cwd", "output_encoding", "skip_exit_code",
                             "skip_on_exit_code", "output_processor"})
"""BashOperator's own parameters (Airflow 2.11 and 3), which ``default_args`` may give it."""
PYTHON_PARAMETERS = frozenset({"python_callable", "op_args", "op_kwargs", "templates_dict", "templates_exts"})
"""PythonOperator's own parameters that change what it runs."""
PIPES_PARAMETERS = PYTHON_PARAMETERS | frozenset({
    "requirements", "python_version", "system_site_packages", "pip_install_options", "index_urls",
    "venv_cache_path", "python", "serializer", "use_dill", "expect_airflow", "expect_pendulum",
    "string_args", "skip_on_exit_code", "env_vars", "inherit_env", "use_airflow_context"})
"""PythonVirtualenvOperator's and ExternalPythonOperator's own parameters."""


def defaults_problem(task: TaskFacts, call: ast.Call, name: str, parameters: Collection[str],
                     given: Collection[str] | None = None) -> str | None:
    """Why a task whose scaffold reads its call's own arguments cannot be scaffolded: the
    ``default_args`` Airflow merges for it (its DAG's, its task groups', its call's: the keys the
    model evaluates, ``TaskFacts.default_keys``) give one of the operator's ``parameters`` that the
    call does not (``given``: the arguments the operator is given, when they are not the call's),
    which Airflow passes to the operator (``apply_defaults``) and the call does not show; or they
    cannot be read, and may."""
    if task.default_keys is None:
        return (f"the `default_args` of {name} or of its DAG cannot be read statically, and may give the "
                "operator its options: scaffold it by hand")
    given = {k.arg for k in call.keywords} if given is None else set(given)
    found = [k for k in task.default_keys if k in parameters and k not in given]
    if not found:
        return None
    return (f"the `default_args` of {name} or of its DAG give it `{found[0]}`, which Airflow passes to the "
            "operator and the scaffold does not read from there: give it to the task itself, or scaffold it by hand")
