"""A task of a project class derived from an Airflow or provider operator class, scaffolded as
that class (``analysis.dags.derived``; ``families.runs_as``): one that only hands arguments on,
or one the team chose to run as its base (``AIRFLOW_OPERATOR_PORTS`` given the base's name).

``class TeamPodOperator(KubernetesPodOperator)`` whose ``__init__`` gives the team's defaults to
``super().__init__`` runs Airflow's class with the arguments it hands on. The DAG file's call
(``TeamPodOperator(task_id=..., image=...)``) shows the project class's arguments, not those, so
the task is planned as a project factory's is: from the values the model evaluates for Airflow's
constructor (``TaskFacts.base_arguments``), written out (``plan_evaluated``,
``imported.factory_task``). A class the team ported once (``AIRFLOW_OPERATOR_PORTS``) keeps its
port.

A class that changes how its base runs (mozilla-telemetry's ``GKEPodOperator`` defines
``get_or_create_pod`` and ``process_pod_deletion``) is the project's own: no scaffold, unless the
team chooses to run it as its base (``{"GKEPodOperator": "GKEStartPodOperator"}``). Then what the
class changes stays in Airflow (``left_behind``: its methods, class attributes, and the hooks it
hands on, such as a pod's ``callbacks``, and the attributes of its own it sets), named in the
asset's docstring. Refused even then, because the base would run with other values than Airflow's:
from the class alone (``static_problem``: its tasks keep their ``no-scaffold`` note) a constructor
that does more than set attributes and hand arguments on, a class decorator, another base the
model cannot read, ``default_args`` that cannot be read, a dunder method, a property or class
attribute named as a base parameter, a method whose answer is what runs or that changes what it
is given, a change of how Airflow renders or which files it reads; and from its task's values
(``chosen_problem``) an attribute set under the name of an argument handed on or of a base
parameter, and Jinja or a file name under a ``template_fields`` of the class's own.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Container, Mapping
from dataclasses import replace

from analysis.edits.scaffold.families import derived_note, runs_as
from analysis.edits.scaffold.parameters import operator_parameters
from analysis.edits.scaffold.plan_common import jinja_in_value
from analysis.facts import TaskFacts

Evaluate = Callable[[TaskFacts], TaskFacts]

HOOKS = frozenset({"callbacks", "progress_callback"})
"""Arguments that hook Airflow-side code onto a run (the pod operator's callbacks on the pod's
creation and completion): handed on by a class run as its base, they stay in Airflow."""
_RENDERING = frozenset({"template_ext", "template_searchpath", "render_template_fields", "render_template",
                        "prepare_template", "resolve_template_files", "get_template_env"})
"""What a class changes of how Airflow renders its arguments, or of the files it reads as templates:
refused whatever the values (``template_fields``, which fields it renders, only for Jinja or a file
name in them)."""
_HARMLESS_DUNDERS = frozenset({"__repr__", "__str__"})
_MAKES_THE_RUN = frozenset({"build_pod_request_obj", "get_env", "execute_callable", "determine_kwargs",
                            "get_db_hook", "get_hook", "poke"})
"""Methods of the bases whose answer is what runs (the pod, the command's environment, the callable's
call, the SQL connection, a sensor's check): a class that defines one runs otherwise."""


def as_base(task: TaskFacts, ports: Container[str] = (), bases: Mapping[str, str] | None = None) -> TaskFacts | None:
    """``task`` as a task of the Airflow class it runs as, with the arguments that class's
    constructor is given; None when it is no such task (or its class is ported). ``bases``: the
    classes the team chose to run as their base (``Project.port_bases``); the hooks such a class
    hands on that the task's own call does not give are left out (``HOOKS``)."""
    base = runs_as(task, bases)
    if base == task.operator or task.operator in ports:
        return None
    given = task.base_arguments if task.base_arguments is not None else task.arguments
    if given is not None and task.derived_changes:  # run as its base by choice
        own = {name for name, _, _ in task.arguments or ()}
        given = tuple(a for a in given if a[0] not in HOOKS or a[0] in own)
    return replace(task, operator=base, operator_class=task.derived_from, arguments=given)


def derived_view(task: TaskFacts, evaluate: Evaluate | None, ports: Container[str] = (),
                 bases: Mapping[str, str] | None = None) -> tuple[TaskFacts, Evaluate | None, str | None]:
    """The task and ``evaluate`` to plan it with (as its Airflow class, for a task ``as_base``
    reads so), and the project class's name when it is one."""
    seen = as_base(task, ports, bases)
    if seen is None:
        return task, evaluate, None
    if evaluate is None:
        return seen, None, task.operator

    def evaluated(asked: TaskFacts) -> TaskFacts:
        found = evaluate(asked)
        return as_base(found, ports, bases) or found

    return seen, evaluated, task.operator


def chosen(task: TaskFacts, bases: Mapping[str, str] | None) -> bool:
    """Whether ``task`` runs as its base because the team chose so (its class changes it)."""
    return bool(task.derived_changes) and runs_as(task, bases) != task.operator


def chosen_problem(task: TaskFacts, evaluate: Evaluate | None) -> str | None:
    """Why a task of a class the team chose to run as its base cannot be (see the module), or None."""
    cls, base = task.operator, (task.derived_from or "").rsplit(".", 1)[-1]
    static = static_problem(task)
    if static is not None:
        return (f"`{cls}` runs as `{base}` ({_PORTS}), but {static}: `{base}` would not run with the values "
                f"Airflow gives it; port the class as a function instead")
    own: dict[str, str] = {}  # attributes the class's code sets on the instance, to the change naming them
    for change in task.derived_changes:
        sets = _SETS.match(change) or _METHOD_SETS.search(change)
        if sets:
            own.update(dict.fromkeys(re.findall(r"`\w+\.(\w+)`", sets.group(1)), change))
    templating = [c for c in task.derived_changes if _kept(c) == "template_fields"]
    found = evaluate(task) if evaluate is not None and (own or templating) else task
    clash = _parameter_set(cls, base, own, found) if own else None
    if clash or not templating:
        return clash
    removed = [_REMOVED.search(c) for c in templating]  # `template_fields` its base's but a few: only those differ
    named = None if not all(removed) else {n for m in removed if m for n in re.findall(r"`(\w+)`", m.group(1))}
    values = [v for name, known, v in (*(found.arguments or ()), *(found.base_arguments or ()))
              if known and (named is None or name in named)]
    jinja = jinja_in_value(values)
    named_file = _file_name(values)
    if found.arguments is None or jinja is not None or named_file is not None:
        what = (f"its arguments use Jinja ({jinja!r})" if jinja else f"its arguments name a file ({named_file!r}), "
                "which Airflow reads as a template in the fields it renders" if named_file else
                "its arguments cannot be read")
        return (f"`{cls}` runs as `{base}` ({_PORTS}), but {templating[0]} and {what}: Airflow renders them as "
                "the class chooses; port the class as a function instead")
    return None


def unchosen_problem(task: TaskFacts, bases: Mapping[str, str] | None) -> str | None:
    """Why a class ``AIRFLOW_OPERATOR_PORTS`` names with a string is not run as it says (another
    class than its base, or what the class changes keeps it from it), as a refusal; else None."""
    if not bases or task.operator not in bases or chosen(task, bases):
        return None
    note = derived_note(task, bases)
    return (f"task `{task.task_id}` uses `{task.operator}`, which has no scaffold ({note}): port it by hand"
            if note else None)


def static_problem(task: TaskFacts) -> str | None:
    """What of the task's class keeps it from running as its base, read from what it changes
    alone (not the values its tasks are given), or None: ``chosen_base`` offers only a class with
    none, and a choice made all the same is named with it in the ``no-scaffold`` note."""
    return _class_problem((task.derived_from or "").rsplit(".", 1)[-1], task.derived_changes)


@functools.lru_cache(maxsize=1024)
def _class_problem(base: str, changes: tuple[str, ...]) -> str | None:
    """``static_problem`` of a class, once per class (``check`` asks for every task of it)."""
    parameters = operator_parameters(base)
    for change in changes:
        if _SETS.match(change):
            continue
        kept = _kept(change)
        why = None
        if kept is None or kept in _RENDERING:
            why = change
        elif parameters is not None and kept in parameters:
            why = f"{change}, a parameter of `{base}`"
        elif parameters is None and " sets `" in change and kept != "template_fields":
            why = f"{change}, and which of its attributes `{base}` reads is not known here"
        elif kept in _MAKES_THE_RUN:
            why = f"{change}, which makes what `{base}` runs"
        elif " which sets attributes by name" in change or ", which changes its argument `" in change:
            why = change
        if why is not None:
            return why
    return None


def _file_name(values: list) -> str | None:
    """A string among ``values`` (lists and dicts looked into) that ends as a file name does
    (``run.sh``, ``query.sql``): the template files Airflow reads depend on the fields it renders."""
    for value in values:
        if isinstance(value, str) and _FILE.search(value):
            return value
        inner = [*value.keys(), *value.values()] if isinstance(value, dict) else value if isinstance(
            value, (list, tuple)) else None
        found = _file_name(list(inner)) if inner else None
        if found is not None:
            return found
    return None


_FILE = re.compile(r"\.[A-Za-z][A-Za-z0-9]{0,5}$")


def left_behind(task: TaskFacts) -> tuple[str, ...]:
    """What stays in Airflow of a task's class run as its base by choice: its changes, and the hooks
    it hands on (``HOOKS``) that the task's own call does not give."""
    own = {name for name, _, _ in task.arguments or ()}
    hooks = [f"`{task.operator}` hands `{name}` on" for name, _, _ in task.base_arguments or ()
             if name in HOOKS and name not in own]
    return (*task.derived_changes, *hooks)


_PORTS = "AIRFLOW_OPERATOR_PORTS"


def _parameter_set(cls: str, base: str, own: dict[str, str], found: TaskFacts) -> str | None:
    """Why an attribute the class's code sets on the instance makes the base run otherwise (one
    it hands on, or a parameter the base's scaffold reads), or None: the others are the class's own."""
    handed = {name for name, _, _ in found.base_arguments or ()}
    parameters = operator_parameters(base)
    for name, change in own.items():
        if name in handed or parameters is None or name in parameters:
            where = (f"`{cls}.__init__` sets" if _SETS.match(change) else change.split(", which sets")[0] + ", which sets")
            what = (", an argument it hands on" if name in handed else f", a parameter of `{base}`" if parameters
                    is not None else f" and which of its attributes `{base}` reads is not known here")
            return (f"`{cls}` runs as `{base}` ({_PORTS}), but {where} `self.{name}`{what}: `{base}` would not run "
                    "with the values Airflow gives it; port the class as a function instead")
    return None


_SETS = re.compile(r"^`[^`]+\.__init__` sets ((?:`\w+\.\w+`(?:, )?)+)$")
"""The change ``analysis.dags.derived`` names for a constructor whose only use of the instance is
setting attributes of it."""
_METHOD_SETS = re.compile(r" defines `[^`]+`, which sets ((?:`\w+\.\w+`(?:, )?)+)$")
"""The change it names for a method setting attributes of the instance."""
_REMOVED = re.compile(r" sets `template_fields` to its base's without (.*)$")
"""The change ``analysis.dags.derived`` names for ``template_fields`` that only takes fields out."""


def _kept(change: str) -> str | None:
    """The method or class attribute a change names when it can stay in Airflow (the class's own
    code beside its base's), else None: a constructor's change, a decorator, another base..."""
    for verb in (" defines `", " sets `"):
        head, found, name = change.partition(verb)
        if found and head.startswith("`") and head.endswith("`") and "." not in head and "`" in name:
            name = name.split("`")[0]
            dunder = name.startswith("__") and name.endswith("__")
            return None if dunder and name not in _HARMLESS_DUNDERS else name
    return None
