"""Scaffold the Dagster asset that runs what an Airflow task ran: dagster-airlift's "migrate" step.

``scaffold_task`` replaces the task's ``AssetSpec`` list in ``assets_with_task_mappings(...)`` by
``[<function>]``, the function being an executable ``@multi_asset(specs=[<those specs, moved
verbatim>], name="<dag_id>__<task_id>")`` defined just above the statement holding the mapping
(the shape of dagster-airlift's migration tutorial). Its body does what the task did:

- ``PythonOperator(python_callable=f, op_args=[...], op_kwargs={...})``: calls ``f`` with the
  same arguments (literal lists and dicts spread out, others unpacked with ``*``/``**``);
- ``BashOperator(bash_command=..., env=..., append_env=..., cwd=...)``: runs ``bash -c`` on the
  same command, with ``check=True``, in the same folder (a new temporary one without ``cwd``,
  as Airflow does) and environment (``env`` replaces the process's unless ``append_env``);
- a ``@task`` function called with static arguments: the function without its Airflow
  decorators (others stay), then its call; a ``@task`` the DAG file imports from a project
  module (``code``) is copied from that module, with what it needs there, and called with the
  DAG file's arguments written out as literals (``imported``);
- a ``@task.bash`` function: the same copy and call, whose return is the command then run as
  for a BashOperator, with the decorator's ``env``, ``append_env`` and ``cwd`` (as
  ``.override(...)`` leaves them), after the check Airflow makes (a non-empty string);
- ``PythonVirtualenvOperator`` / ``@task.virtualenv`` / ``ExternalPythonOperator`` /
  ``@task.external_python`` (literal arguments): the function's source, run as a script in a
  virtualenv made as Airflow makes it (or the same ``python=``) through a
  ``dagster.PipesSubprocessClient`` resource, its return value reported as metadata
  (``asset_pipes`` says what is honest about it);
- ``DockerOperator`` / ``KubernetesPodOperator`` (static values): a run of
  ``dagster_docker.PipesDockerClient`` / ``dagster_k8s.PipesK8sClient`` with the same image,
  command, environment and what else of the container or pod can be read (``asset_containers``);
- ``SQLExecuteQueryOperator`` and its provider subclasses: the same SQL through a resource keyed
  by the connection id, by default one reading the connection as Airflow does (``asset_sql``);
- ``AthenaOperator`` (and its old name ``AWSAthenaOperator``): the same Athena query through
  dagster-aws's ``AthenaClientResource`` keyed by the connection id, waited for as the provider
  waits (``plan_athena``, ``asset_athena``);
- branch and short-circuit tasks: their callable's call, then only the assets it chooses
  materialized, the others declared ``skippable`` (``plan_gates``, ``asset_gates``);
- ``FileSensor`` / ``PythonSensor``: the same poke (the file pattern below the connection's base
  path, or the callable's call) every ``poke_interval`` until it holds, failing after
  ``timeout``: the proxied task waits in the Dagster run (``plan_sensors``, ``asset_sensors``);
- ``SqlSensor``: the same query until its first cell is truthy, through the SQL scaffolds'
  resource for the connection;
- ``ExternalTaskSensor``: an asset depending on the assets the external tasks are mapped to
  (``mapped_assets``), waiting until they are materialized anew;
- ``TriggerDagRunOperator``: a run of the same DAG started in Airflow through the module's
  ``AirflowInstance``, waited for as the operator waits (planned and written with the sensors);
- a task of a class the Dagster module ports once (``AIRFLOW_OPERATOR_PORTS``,
  ``analysis.dagster.ports``): a call of that port with the asset's context and the arguments the
  task's call gives the class, copied as written, or, for a task a project factory makes, the
  values the model evaluates for them, written out (``plan_ports``); before any family above;
- a task of a project class derived from one of the operators above that only hands arguments on
  to it (``class TeamPod(KubernetesPodOperator)`` giving defaults: ``families.runs_as``): planned
  as that operator, from the arguments its constructor hands on (``derived``);
- a ``BashOperator`` or ``@task.bash`` whose command is a static ``dbt run|build|seed|snapshot``:
  dagster-dbt's ``@dbt_assets`` on the same project and selection running the same command,
  in place of the task's specs (``plan_dbt``, ``asset_dbt``).

The DAG file is read, never imported or run. The names the task's expressions use are resolved
to the DAG file's module-level statements before the DAG (imports, assignments, ``def``s, and
statements like ``sys.path.insert(...)`` that change what is needed), transitively, and those
are copied in their original order, with their comments, into the asset function's body,
imports included. Inside the body rather than at the module's top: the Dagster module keeps
loading as it did whatever the DAG files import (their imports run when the asset does), and
the copies from several DAG files cannot clash over names like ``DATA_DIR``.

What the copied code needs from the DAG file's place is made explicit, only when it is needed,
through two documented module-level helpers that the body calls: ``_airflow_import_roots``
puts on ``sys.path`` the folders Airflow puts there (its DAGs folder, where the tutorial's
``tutorial_shared`` lives), ``_airflow_dag_file`` gives the DAG file's path for its
``__file__``. Which folders are import roots is not guessed from the DAG file's location (a
DAG can sit deep below its DAGs folder): the caller passes them, each with the modules it holds
(``ImportRoot.from_disk``), and a root goes on ``sys.path`` only when the copied code imports
one of its modules. Paths are written relative to the Dagster module (``module_path``), so the
project can move as a whole.

Templated arguments whose Jinja reads Airflow Variables or the Airflow run's values
(``{{ ds }}``, ``{{ run_id }}``, the data interval formatted) are rendered by the asset as
Airflow renders them (``variables``, ``run_values``: the run is the Airflow run that launched the
asset's Dagster run, read through the module's ``AirflowInstance``).

Anything else is refused with a one-line reason, never scaffolded as a stub: other operators,
mapped tasks, XCom inputs, names defined inside the DAG or only after it, code that needs
Airflow, other Jinja (only Airflow renders it), the task context (``ti``, ``ds``, ``**kwargs`` that
the code reads), tasks a project factory makes with a callable it defines inside itself,
``global`` declarations, relative imports. A factory's task whose
scaffold only reads values (containers, SQL, sensors) is planned from the values the model
evaluates where the factory calls Airflow's class, written out (``plan_evaluated``); so is a
call of the DAG file whose values the file computes (``60 * 5``); a factory's ``PythonOperator``
is copied from the module of its callable, a ``BashOperator``'s command written out
(``imported.factory_task``). Not checked, because it would mean reading other
files: the signature of a callable imported from another module (Airflow drops ``op_kwargs``
it does not accept; Python will not). The analysis runs on ``ast`` (``can_scaffold`` costs
about a millisecond a task, for code lenses and action lists); the rewrite on libcst.

The package, in the order a scaffold runs: ``plan`` reads what the task runs out of the DAG
file's ``ast`` and hands it to its family's planner: ``plan_builder`` for the code copied as it
is (the checks of what a ``PythonOperator``, ``BashOperator`` or ``@task`` runs, and the
module-level statements it needs, which ``statements`` knows what each binds, reads and
changes), ``plan_bash`` the bash options and what a ``@task.bash`` returns, ``plan_pipes``,
``plan_containers``, ``plan_sql``, ``plan_gates``, ``plan_sensors``, ``plan_dbt`` and
``plan_ports`` the other families, ``plan_evaluated`` the call made of a task's evaluated
values; ``plan_common`` holds the ``Plan`` and the checks every
family shares. ``dag_source`` finds the same code in libcst, to copy it as written; ``asset``
writes the ``@multi_asset`` into the Dagster module at the task's mapping (``asset_mapping``),
its body ending as ``asset_commands`` (the
call, the command or the port's call), ``asset_gates``, ``asset_pipes``, ``asset_containers``,
``asset_sql``, ``asset_athena``, ``asset_sensors`` or ``asset_dbt`` write it, with the helpers of ``places`` where
the copied code needs the DAG file's place. ``families`` lists the operators that have a
scaffold.
"""

from __future__ import annotations

import ast
import functools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from analysis.dags.dagfile import extract_file
from analysis.dagster.bodies import set_aside_except
from analysis.dagster.module import AssetRef, parse_dagster_module
from analysis.dagster.ports import read_bases, read_ports
from analysis.edits.bodies_aside import edit_with_bodies_aside
from analysis.edits.result import EditResult, parse
from analysis.edits.scaffold.airflow_imports import airflow_problem
from analysis.edits.scaffold.asset import WHAT, ModuleEdit
from analysis.edits.scaffold.asset_sensors import dag_asset_key
from analysis.edits.scaffold.dag_source import DagSource, copied_lines
from analysis.edits.scaffold.closures import defined_in_function
from analysis.edits.scaffold.derived import chosen, chosen_problem, derived_view, left_behind, unchosen_problem
from analysis.edits.scaffold.evaluated_task import evaluator, last_read
from analysis.edits.scaffold.imported import (
    FACTORY_OPERATORS,
    ModuleSource,
    factory_task,
    project_modules,
    virtual_task,
)
from analysis.edits.scaffold.places import ImportRoot, Places
from analysis.edits.scaffold.plan import plan_task
from analysis.edits.scaffold.plan_common import Plan, made_elsewhere
from analysis.edits.scaffold.plan_dag import (
    MADE_ELSEWHERE,
    TEMPLATES,
    changes_templates,
    creates_dag,
    made_dag_rendering,
    renders_otherwise,
)
from analysis.edits.scaffold.plan_options import BASH_PARAMETERS, PYTHON_PARAMETERS, defaults_problem
from analysis.edits.scaffold.plan_sensors import with_upstream
from analysis.edits.scaffold.statements import bindings, dag_file
from analysis.edits.scaffold.variables import refused_rendering
from analysis.facts import TaskFacts

if TYPE_CHECKING:
    from analysis.dags.modules import ProjectCode

__all__ = ["ImportRoot", "ModuleSource", "can_scaffold", "project_modules", "scaffold_task"]


def _read_text(path: str) -> str | None:
    """A file the task names (its ``.sql`` template), or None when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError):
        return None


def can_scaffold(dag_text: str, task: TaskFacts, module_source: ModuleSource | None = None,
                 ports: Mapping[str, str] | None = None, *, dag_path: str | None = None,
                 code: ProjectCode | None = None, dag_id: str | None = None,
                 bases: Mapping[str, str] | None = None) -> str | None:
    """None when ``task`` can be scaffolded, else why not (one line). Reads the DAG file, and
    the project module that defines the task's function when the DAG file imports it and
    ``module_source`` finds it: the Dagster module may still refuse (the task not mapped yet).
    ``ports``: the operator classes the project ported once (``Project.ports``). With
    ``dag_path`` (and ``code``, as the index reads the file), a task that a project factory makes
    is judged on the values the model evaluates for it (a ported class's, or one whose scaffold
    reads values: ``plan_evaluated``); ``dag_id``: the task's DAG, whose values those are (a DAG
    a loop makes has its own). ``bases``: the classes the team chose to run as the Airflow class
    they derive from (``Project.port_bases``)."""
    evaluate = evaluator(dag_path, dag_text, code, dag_id)
    label = f"task `{task.task_id}`"
    if ports and task.operator in ports:
        plan = plan_task(dag_text, task, ports=ports, evaluate=evaluate)
        return plan if isinstance(plan, str) else airflow_problem(plan, label, code)
    if chosen(task, bases) and (problem := chosen_problem(task, evaluate)):
        return problem
    if (problem := unchosen_problem(task, bases)) is not None:
        return problem
    task, evaluate, _ = derived_view(task, evaluate, ports or (), bases)
    copied = _copied(dag_text, task, module_source, evaluate, code, dag_path)
    if isinstance(copied, str):
        return copied
    plan = plan_task(*copied[1:]) if copied is not None else plan_task(dag_text, task, evaluate=evaluate)
    return plan if isinstance(plan, str) else (
        airflow_problem(plan, label, code) or _templates_problem(plan, task, dag_path, code, evaluate, dag_id))


def _templates_problem(plan: Plan, task: TaskFacts, dag_path: str | None, code: ProjectCode | None,
                       evaluate: Callable[[TaskFacts], TaskFacts] | None = None,
                       dag_id: str | None = None) -> str | None:
    """Why the Jinja that ``plan`` renders (Variables, the run's values) cannot be rendered as
    Airflow does, judged on the project's code the DAG file runs; or None. For values a project
    factory gives: that code sets a task's ``template_fields`` or ``template_ext`` (which arguments
    Airflow renders then is its choice). For a DAG that the project's code creates
    (``Plan.made_elsewhere``): that code may render otherwise (``plan_dag.made_dag_rendering``),
    or cannot be read. The DAG file's own are ``plan_dag.rendering_problem``'s."""
    if not plan.variables or not (plan.evaluated or plan.made_elsewhere):
        return None
    what = f"the arguments of task `{task.task_id}`"
    if plan.made_elsewhere:
        if dag_path is None or evaluate is None:
            return refused_rendering(what, MADE_ELSEWHERE, plan.variables)
        evaluate(task)  # the DAG file read with the project's code: the modules it runs
    elif dag_path is None:
        return None
    read_last = last_read(dag_path)
    read = code.text if code is not None else _read_text
    plain = not plan.variable_keys and not plan.renders_run  # strings without Jinja only
    modules = []  # (name, what plan_dag.renders_otherwise says of it, the task attribute it sets)
    for path, _ in read_last[1].dependencies if read_last is not None else ():
        text = read(path) if path.endswith(".py") else None
        if not text or not (plan.made_elsewhere or any(t in text for t in TEMPLATES)):
            continue
        judged = _judged(text, plain)
        if judged is None:
            return f"{what} use Jinja, and {os.path.basename(path)}, which the DAG file runs, cannot be parsed"
        modules.append((os.path.basename(path), *judged))
    if plan.made_elsewhere:
        dag_file_judged = _judged(read_last[0], plain) if read_last is not None else None
        how = "cannot be read" if dag_file_judged is None else made_dag_rendering(
            [("the DAG file", dag_file_judged[0]), *((name, found) for name, found, _ in modules)],
            dag_id is not None and _ties(read_last[0], dag_id))
        return None if how is None else refused_rendering(what, how, plan.variables)
    changed = next(((name, c) for name, _, c in modules if c), None)
    if changed:
        return (f"the Jinja in {what} is rendered by Airflow only in the arguments it chooses, and {changed[0]} "
                f"sets `{changed[1]}` on a task: scaffold it by hand")
    return None


@functools.lru_cache(maxsize=4096)
def _ties(text: str, dag_id: str) -> bool:
    """Whether the DAG file's one ``DAG(...)`` call creates ``dag_id`` (``plan_dag.creates_dag``)."""
    try:
        dag = dag_file(text)
        return not isinstance(dag, str) and creates_dag(dag, dag_id)
    except (SyntaxError, ValueError, RecursionError):
        return False


@functools.lru_cache(maxsize=4096)
def _judged(text: str, plain: bool = False) -> tuple[str | int, str | None] | None:
    """What ``plan_dag.renders_otherwise`` (``plain``: for strings without Jinja) and
    ``changes_templates`` say of a module, once per text (the answers are kept, not the syntax
    trees); None when it does not parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    return renders_otherwise(tree, plain), changes_templates(tree)


def _copied(dag_text: str, task: TaskFacts, module_source: ModuleSource | None,
            evaluate: Callable[[TaskFacts], TaskFacts] | None, code: ProjectCode | None,
            dag_path: str | None) -> tuple[str, str, TaskFacts] | str | None:
    """Where the task's code is copied from when it is not the DAG file: the module of an imported
    ``@task`` (``virtual_task``), or of the function a project factory's ``PythonOperator`` runs
    or a factory's ``BashOperator`` call written out in the DAG file's place (``factory_task``,
    from the values the model evaluates); None for the DAG file as it is."""
    copied = virtual_task(dag_text, task, module_source)
    if copied is not None or evaluate is None or task.operator not in FACTORY_OPERATORS:
        return copied
    dag = dag_file(dag_text)
    call = dag.call_at(task) if not isinstance(dag, str) else None
    if call is None:
        return None
    if made_elsewhere(dag, task, call) is None:  # a call of the DAG file: copied from it, unless...
        if task.operator != "PythonOperator" or not defined_in_function(dag.tree, task.callable_name) \
                or any(task.callable_name in bindings(s) for s in dag.tree.body):  # a name the file binds: copied
            return None
        evaluated = evaluate(task)  # ...its function is a closure of a factory the DAG file defines
        if evaluated.closure is None:
            return None
    else:
        evaluated = evaluate(task)
    problem = defaults_problem(evaluated, call, f"task `{task.task_id}`",
                               BASH_PARAMETERS if task.operator == "BashOperator" else PYTHON_PARAMETERS,
                               {n for n, _, _ in evaluated.arguments or ()})
    if problem:  # what the factory's or the class's operator is given there, not written out
        return problem
    read = code.text if code is not None else _read_text
    # the DAG file as the editor holds it (unsaved), where a closure of its own factory is lifted from
    return factory_task(evaluated, lambda path: dag_text if path == dag_path else read(path), dag_path or "")


def scaffold_task(dag_text: str, dag_path: str, dag_id: str, task_id: str, module_text: str | None,
                  *, module_path: str | None = None,
                  import_roots: Sequence[ImportRoot] = (),
                  mapped_assets: Callable[[str, str], Sequence[AssetRef]] | None = None,
                  code: ProjectCode | None = None, bases: Mapping[str, str] | None = None) -> EditResult:
    """Define the Dagster asset that runs task ``task_id`` of ``dag_id`` in the Dagster module.

    ``module_path`` (the Dagster module's path, like ``dag_path``) is needed only when the body
    must find the DAG file's folder: its ``__file__`` is used, or it imports a module of one of
    ``import_roots``. Unchanged (``changed=False``) when the task's mapping already holds a
    definition; refused, with the reason, when the task is not mapped yet or cannot be copied.
    ``mapped_assets(dag_id, task_id)``: the assets a task is mapped to in the project (the tasks
    an ExternalTaskSensor waits for: ``Project.asset_refs``); without it, this module's mappings.
    ``code``: the project's importable code, which the DAG file's imports are followed into (as
    the index reads it) and where a ``@task`` the DAG file imports is copied from. ``bases``: the
    classes the team chose to run as their base in any Dagster module of the project
    (``Project.port_bases``); without it, this module's.
    """
    return edit_with_bodies_aside(module_text, lambda text: _scaffold_task(
        dag_text, dag_path, dag_id, task_id, text, module_path=module_path, import_roots=import_roots,
        mapped_assets=mapped_assets, code=code, bases=bases), WHAT)


def _scaffold_task(dag_text: str, dag_path: str, dag_id: str, task_id: str, module_text: str | None,
                   *, module_path: str | None, import_roots: Sequence[ImportRoot],
                   mapped_assets: Callable[[str, str], Sequence[AssetRef]] | None,
                   code: ProjectCode | None, bases: Mapping[str, str] | None = None) -> EditResult:
    if module_text is None:
        return EditResult.refuse(f"{WHAT} does not exist yet: map task `{task_id}` first")
    facts = extract_file(dag_path, dag_text, code)
    if facts.error is not None:
        return EditResult.refuse(f"the DAG file cannot be read ({facts.error}): fix it first")
    dag = facts.dag(dag_id)
    if dag is None:
        return EditResult.refuse(f"{os.path.basename(dag_path)} defines no DAG `{dag_id}`")
    task = dag.task(task_id)
    if task is None:
        return EditResult.refuse(f"DAG `{dag_id}` has no task `{task_id}`")
    ports = dict(read_ports(module_text))  # a port is called by name: this module's only
    bases = dict(read_bases(module_text)) if bases is None else bases
    evaluate = evaluator(dag_path, dag_text, code, dag_id)  # before a copied @task changes dag_path
    left: tuple[str, ...] = ()
    if task.operator not in ports and (problem := unchosen_problem(task, bases)) is not None:
        return EditResult.refuse(problem)
    if chosen(task, bases) and task.operator not in ports:  # the team's choice to run the class as its base
        problem = chosen_problem(task, evaluate)
        if problem:
            return EditResult.refuse(problem)
        left = left_behind(evaluate(task) if evaluate is not None else task)
    task, evaluate, derived_class = derived_view(task, evaluate, ports, bases)  # a project class as Airflow's
    module = parse(module_text, WHAT)
    if isinstance(module, str):
        return EditResult.refuse(module)
    try:
        edit = ModuleEdit(module_text, module, dag_id, task_id)
        found = edit.find_mapping()
        if isinstance(found, EditResult):
            return found
        downstream = tuple(t.task_id for t in dag.tasks if task_id in t.upstream)
        copied = _copied(dag_text, task, project_modules(code), evaluate, code, dag_path)
        if isinstance(copied, str):
            return EditResult.refuse(copied)
        made_by, origin = task, dag_path
        if copied is not None:  # planned, and copied, from the module that defines its function
            dag_path, dag_text, task = copied
        plan = plan_task(dag_text, task, dag_path, _read_text, downstream, ports, evaluate)
        if copied is not None and task.operator in FACTORY_OPERATORS and not isinstance(plan, str):
            closure = evaluate(made_by).closure if evaluate is not None else None
            # a factory's (factory_task): the values evaluated, its function lifted when the factory defines it
            lifted = (closure.name, tuple(n for n, _, _ in closure.bindings)) if closure is not None else None
            plan = replace(plan, evaluated=True, lifted=lifted)
        if not isinstance(plan, str) and plan.sensor is not None and plan.sensor.external:
            mapped = mapped_assets or parse_dagster_module(module_path or "definitions.py", module_text).asset_refs
            plan = with_upstream(plan, mapped, lambda dag_id: dag_asset_key(edit.module, dag_id))
        if isinstance(plan, str):
            return EditResult.refuse(plan)
        problem = airflow_problem(plan, f"task `{task_id}`", code) or \
            _templates_problem(plan, made_by, origin, code, evaluate, dag_id)
        if problem:
            return EditResult.refuse(problem)
        if derived_class is not None:
            plan = replace(plan, derived=derived_class, left=left)
        # the functions the asset does not copy set aside: a large DAG file is read in a fraction of the time
        aside = set_aside_except(dag_text, copied_lines(plan, task))
        dag_code = aside.text if aside is not None else dag_text
        dag_module = parse(dag_code, "the DAG file")
        if isinstance(dag_module, str):
            return EditResult.refuse(dag_module)
        source = DagSource(dag_code, dag_module, task)
        return edit.apply(found, plan, source, Places(dag_path, module_path, import_roots))
    except RecursionError:
        return EditResult.refuse("the DAG file or the Dagster module nests too deeply to scaffold")

