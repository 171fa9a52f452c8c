"""A task that a project factory makes, planned from the values the model evaluates for it.

A platform team's DAG file often holds no operator call: ``make_pod("orders")`` returns the
``KubernetesPodOperator`` its library builds, with an image and a command computed from the
factory's parameters. The scaffolds that read an operator's values, not its code (the container,
SQL and sensor families), can plan such a task from the arguments the model evaluated where the
class was called (``TaskFacts.arguments``, read with ``extract_file(..., arguments=True)``),
written out as an ``EvaluatedCall`` of literals that the family's plan reads as it reads a call
of the DAG file. The class must be Airflow's or a provider's (``TaskFacts.operator_class``).

Refused with why: arguments by position or ``**`` of a value nobody can name, a value only known
when Airflow runs the file (an environment variable, an object, a function, another task's
output), and what each family refuses of a call (Jinja among it).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Collection
from typing import Any

from analysis.edits.scaffold.plan_common import EvaluatedCall
from analysis.edits.scaffold.plan_options import BASE_OPERATOR as CONTAINERS_BASE
from analysis.facts import TaskFacts

BASE_OPERATOR = CONTAINERS_BASE - {"retry_on_exit_code"} | frozenset({
    "allow_nested_operators", "logger_name", "map_index_template", "multiple_outputs", "post_execute",
    "pre_execute", "render_template_as_native_obj", "resources", "retry_policy", "task_display_name"})
"""``BaseOperator.__init__``'s parameters (Airflow 2.11 and 3): how Airflow runs the task, not what
it does (the container scaffolds' list, which keeps ``resources`` for an old pod operator's own)."""


def literal_arguments(task: TaskFacts, skipped: Collection[str], needs: str) -> list[tuple[str, Any]] | str:
    """The task's evaluated arguments but ``skipped`` ones, each a literal, in their order; or
    why not, ``needs`` saying who needs the value ("the port needs its value")."""
    label = f"task `{task.task_id}`"
    found = []
    for name, known, value in task.arguments or ():
        if name == "*":
            return f"{label} is made with {value}: which parameters they fill only `{task.operator}` knows"
        if name == "**":
            return f"{label} is made with {value}: the arguments it adds cannot be named"
        if name in skipped:
            continue
        if not known:
            return f"the `{name}` argument of {label} is {value}: {needs}"
        found.append((name, value))
    return found


def conditional_problem(task: TaskFacts) -> str:
    """Why a task made under a runtime condition cannot be planned from its evaluated values: a
    factory or a class may give it other values on the other branch."""
    where = f" ({task.condition})" if task.condition else ""
    return (f"task `{task.task_id}` is made under a condition only known when Airflow runs the file{where}: "
            "the values it is given may differ on the other branch; scaffold it by hand")


def evaluated_call(task: TaskFacts, call: ast.Call, ignored: Collection[str] = (),
                   refused: Collection[str] = ()) -> EvaluatedCall | str:
    """The call of ``task.operator_class`` with the task's evaluated arguments as literals, placed
    where ``call`` (the factory's call in the DAG file) is; or why the task cannot be planned so.
    ``ignored``: options the family's plan does not read but beside others (``in_cluster`` beside
    a ``config_file``), given as literals when known and as a name bound nowhere otherwise;
    ``refused``: options the family refuses whatever their values, given as ``None`` so that its
    plan says why (a function given as ``execution_date_fn``). The task's own ``default_args`` are
    kept: the families read the options Airflow gives from them."""
    label = f"task `{task.task_id}`"
    if task.arguments is None:
        return f"the arguments of {label} could not be read"
    if task.conditional:
        return conditional_problem(task)
    if not task.operator_class:
        return (f"{label} is made inside a project factory with a `{task.operator}` that is not "
                "Airflow's or a provider's: port it by hand")
    # what schedules the task (a DAG object, callbacks...) the families leave out: whatever it is
    present = [name for name, _, _ in task.arguments if name in refused]
    arguments = literal_arguments(task, CONTAINERS_BASE - {"task_id", "default_args"} | set(ignored) | set(present),
                                  "the scaffold needs its value")
    if isinstance(arguments, str):
        return arguments
    keywords = [ast.keyword(arg=name, value=ast.Constant(None)) for name in present]
    for name, known, value in task.arguments:
        if name in ignored:  # unknown: a name no statement binds, which no plan reads as a value
            node = _node(value) if known else None
            keywords.append(ast.keyword(arg=name, value=node or ast.Name(id="__airlift_unknown__", ctx=ast.Load())))
    for name, value in arguments:
        node = _node(value)
        if node is None:
            return f"the `{name}` argument of {label} ({value!r}) cannot be written out as a literal"
        keywords.append(ast.keyword(arg=name, value=node))
    made = EvaluatedCall(func=ast.Name(id=task.operator, ctx=ast.Load()), args=[], keywords=keywords)
    made.qualified = task.operator_class
    for node in ast.walk(made):  # the factory's call is where each value comes from
        ast.copy_location(node, call)
    return made


def _node(value: Any) -> ast.expr | None:
    """The literal's syntax, or None when ``repr`` does not write it as Python (``inf``, ``nan``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return ast.parse(repr(value), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
