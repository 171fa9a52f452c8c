"""The plan of a dbt task: a ``BashOperator`` (or a ``@task.bash`` returning a constant) whose
command is a static ``dbt run|build|seed|snapshot`` of a project, scaffolded as dagster-dbt's
``@dbt_assets`` on the same project, profiles, target and selection (``asset_dbt``).

Read: ``[cd P &&] dbt <command> [--project-dir P] [--profiles-dir D] [--target T] [--profile N]
[--select S ...] [--exclude S ...] [--selector N] [--vars V] [--full-refresh] [--fail-fast]
[--threads N]``, the command a literal or built of module-level constants. The project is
``--project-dir``, else the folder the command runs in (``cd P`` or the operator's ``cwd``),
relative paths taken from that folder; without either Airflow runs dbt in a new temporary
folder, so the task is refused. The profiles folder is ``--profiles-dir``, else as dbt finds
it: ``DBT_PROFILES_DIR``, else that folder when it holds a ``profiles.yml``, else ``~/.dbt``.
What one ``@dbt_assets`` cannot be is refused with the reason: Jinja, ``$VAR`` (only the shell
expands it), other shell syntax than a leading ``cd``, ``env=`` (dbt reads it through
``env_var``), ``dbt test`` alone (its tests are the asset checks of the assets that build the
models: scaffold that task with ``dbt build``) and commands that build no asset.
"""

from __future__ import annotations

import ast
import posixpath
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass

from analysis.edits.scaffold.plan_bash import bash_task_options
from analysis.edits.scaffold.plan_common import Plan, has_jinja
from analysis.edits.scaffold.plan_values import NOT_STATIC, static_value
from analysis.edits.scaffold.statements import DagFile
from analysis.facts import TaskFacts

COMMANDS = {"run": "resource_type:model", "build": None, "seed": "resource_type:seed",
            "snapshot": "resource_type:snapshot"}
"""The dbt commands scaffolded, to the resources they build (None: every kind)."""
_NO_ASSETS = {
    "test": ("only runs tests: in Dagster they are the asset checks of the dbt assets that build "
             "the models (scaffold that task with `dbt build`, which runs them)"),
    "deps": "installs packages: dagster-dbt's DbtProject runs it when it prepares the project",
    "parse": "parses the project: dagster-dbt's DbtProject does it when it prepares the project",
    "compile": "compiles SQL and builds no table: there is no asset to write",
}
_VALUED = {"--project-dir": "project_dir", "--profiles-dir": "profiles_dir", "--target": "target",
           "-t": "target", "--profile": "profile", "--selector": "selector", "--vars": "vars",
           "--threads": "threads"}
_LISTS = {"--select": "select", "-s": "select", "--models": "select", "-m": "select",
          "--exclude": "exclude"}
_FLAGS = {"--full-refresh": "--full-refresh", "--fail-fast": "--fail-fast", "-x": "--fail-fast"}
_SHELL = re.compile(r"&&|\|\||[;|<>`\n]|\$\(")
_DBT = re.compile(r"(?:^|&&|;|\|)\s*dbt\s")


@dataclass(frozen=True, slots=True)
class DbtPlan:
    """What ``@dbt_assets`` and its ``dbt.cli(...)`` are given."""

    command: str
    project_dir: str
    profiles_dir: str | None
    """``--profiles-dir``; None: as dbt finds it (``DBT_PROFILES_DIR``, ``folder_profiles``, ``~/.dbt``)."""
    folder_profiles: str | None
    """The folder dbt runs in, when it holds a ``profiles.yml``."""
    target: str | None
    profile: str | None
    select: str | None
    exclude: str | None
    selector: str | None
    arguments: tuple[str, ...]
    """What else the command passes dbt (``--vars``, ``--full-refresh``...), in its order."""


def looks_like_dbt(command: ast.expr, dag: DagFile) -> bool:
    """Whether a bash command runs dbt: its static text, else its literal parts, has a ``dbt``
    word where a command starts. The dbt family then plans it, or refuses it with the reason."""
    value = static_value(dag, command)
    if isinstance(value, str):
        return bool(_DBT.search(value))
    return bool(_DBT.search(_literal_text(command)))


def _literal_text(node: ast.expr) -> str:
    """A string expression's literal parts, ``{}`` for each other part (an f-string's or a
    ``+``'s)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_literal_text(v) if isinstance(v, ast.Constant) else "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _literal_text(node.left) + _literal_text(node.right)
    return "{}"


def bash_task_dbt_plan(dag: DagFile, task: TaskFacts, function: ast.FunctionDef, call: ast.Call,
                       read: Callable[[str], str | None] | None) -> Plan | str | None:
    """The plan of a ``@task.bash`` function whose body only returns a dbt command (None when
    it returns something else: the bash family plans it)."""
    body = function.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]  # the docstring
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None or \
            not looks_like_dbt(body[0].value, dag):
        return None
    arguments = function.args
    parameters = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs,
                                  *filter(None, [arguments.vararg, arguments.kwarg])]}
    used = sorted(parameters & {n.id for n in ast.walk(body[0].value) if isinstance(n, ast.Name)})
    if used:
        return (f"the dbt command that task `{task.task_id}` returns is built from its argument "
                f"`{used[0]}`: it cannot be read statically")
    found = bash_task_options(dag, f"task `{task.task_id}`", function, call)
    return found if isinstance(found, str) else dbt_plan(dag, task, body[0].value, found[0], read)


def dbt_plan(dag: DagFile, task: TaskFacts, command: ast.expr, options: dict[str, ast.expr],
             read: Callable[[str], str | None] | None) -> Plan | str:
    """The plan of a dbt task whose bash command is ``command`` (``options``: the operator's or
    the ``@task.bash`` decorator's ``env``, ``cwd``...), or why it cannot be scaffolded."""
    name = f"task `{task.task_id}`"
    text = static_value(dag, command)
    if not isinstance(text, str):
        return (f"the dbt command of {name} is not a literal or built of module-level constants "
                f"(`{ast.unparse(command)}`): it cannot be read statically")
    if has_jinja(text):
        return f"the dbt command of {name} uses Jinja ({text.strip()!r}), which only Airflow renders"
    if "env" in options:
        return (f"{name} gives dbt an `env`, which dbt reads through `env_var`: set it in "
                "Dagster's environment and scaffold the command without it")
    cwd = static_value(dag, options["cwd"]) if "cwd" in options else None
    if cwd is NOT_STATIC or (cwd is not None and not isinstance(cwd, str)):
        return f"the `cwd` of {name} cannot be read statically"
    words = _words(name, text)
    if isinstance(words, str):
        return words
    folder, words = words
    folder = _joined(cwd, folder)
    parsed = _parse(name, words)
    if isinstance(parsed, str):
        return parsed
    command_name, values, arguments = parsed
    project = _joined(folder, values.get("project_dir")) if values.get("project_dir") else folder
    if project is None or not posixpath.isabs(project):
        return (f"{name} runs dbt in the folder Airflow gives it (a new temporary one): give "
                "`--project-dir` an absolute path, or `cwd`, to scaffold it")
    profiles = _joined(folder, values.get("profiles_dir")) if values.get("profiles_dir") else None
    folder_profiles = None
    if profiles is None and folder is not None and posixpath.isabs(folder) and read is not None and \
            read(posixpath.join(folder, "profiles.yml")) is not None:
        folder_profiles = folder  # dbt reads the profiles.yml of the folder it runs in
    if profiles is not None and not posixpath.isabs(profiles):
        return f"the `--profiles-dir` of {name} is relative to the folder Airflow runs it in: give an absolute path"
    select = _restricted(values.get("select"), COMMANDS[command_name])
    if values.get("selector") and (values.get("select") or values.get("exclude")):
        return f"{name} gives dbt both `--selector` and `--select`/`--exclude`, which dbt refuses"
    if values.get("selector") and COMMANDS[command_name]:
        return (f"{name} runs `dbt {command_name} --selector`: a selector cannot be limited to what "
                f"`dbt {command_name}` builds; use `--select` or `dbt build`")
    plan = DbtPlan(command_name, posixpath.normpath(project),
                   posixpath.normpath(profiles) if profiles else None,
                   posixpath.normpath(folder_profiles) if folder_profiles else None, values.get("target"),
                   values.get("profile"), select, values.get("exclude"), values.get("selector"),
                   tuple(arguments))
    return Plan("dbt", task.operator, (), None, frozenset(), False, frozenset(), {}, frozenset(),
                dbt=plan)


def _words(name: str, text: str) -> tuple[str | None, list[str]] | str:
    """The words of ``dbt ...`` and the folder a leading ``cd`` goes to; or why not."""
    head, sep, rest = text.partition("&&")
    folder = None
    if sep and head.split()[:1] == ["cd"]:
        cd = _split(name, head)
        if isinstance(cd, str):
            return cd
        if len(cd) != 2 or cd[1] == "-":
            return f"the dbt command of {name} starts with `{head.strip()}`, which is not a `cd` to one folder"
        folder, text = cd[1], rest
    shell = _SHELL.search(text)
    if shell:
        return (f"the dbt command of {name} chains other shell syntax (`{shell.group().strip()}`) than a "
                "leading `cd ... &&`: one `@dbt_assets` runs one dbt command; split the task or port it by hand")
    words = _split(name, text)
    if isinstance(words, str):
        return words
    if words[:1] != ["dbt"]:
        return f"the command of {name} runs `{words[0] if words else ''}` before dbt: port it by hand"
    return folder, words[1:]


def _split(name: str, text: str) -> list[str] | str:
    try:
        words = shlex.split(text)
    except ValueError as error:
        return f"the dbt command of {name} cannot be split into words ({error})"
    for word in words:
        if "$" in word or word.startswith("~"):
            return (f"the dbt command of {name} uses `{word}`, which only the shell expands when "
                    "it runs: write the value out")
    return words


def _parse(name: str, words: list[str]) -> tuple[str, dict[str, str], list[str]] | str:
    """The dbt command, the options the scaffold maps, and the arguments passed on as they are."""
    if not words:
        return f"the dbt command of {name} names no dbt command (`run`, `build`...)"
    if words[0].startswith("-"):
        return f"the dbt command of {name} gives `{words[0]}` before its command: port it by hand"
    command, words = words[0], words[1:]
    if command in _NO_ASSETS:
        return f"{name} runs `dbt {command}`, which {_NO_ASSETS[command]}"
    if command not in COMMANDS:
        return f"{name} runs `dbt {command}`, which builds no Dagster asset: port it by hand"
    values: dict[str, str] = {}
    arguments: list[str] = []
    index = 0
    while index < len(words):
        word, _, inline = words[index].partition("=")
        index += 1
        if word in _FLAGS and not inline:
            arguments.append(_FLAGS[word])
            continue
        if word not in _VALUED and word not in _LISTS:
            return f"{name} gives dbt `{words[index - 1]}`, which the dbt scaffold does not carry: port it by hand"
        given = [inline] if inline else []
        while index < len(words) and not words[index].startswith("-") and \
                (word in _LISTS or not given):
            given.append(words[index])
            index += 1
        key = _VALUED.get(word) or _LISTS[word]
        if not given or key in values:
            return f"{name} gives dbt `{word}` {'twice' if given else 'without a value'}"
        if word in _VALUED and len(given) > 1:
            return f"{name} gives dbt `{word}` more than one value"
        values[key] = " ".join(given)
        if key in ("vars", "threads"):
            arguments += [f"--{key}", values[key]]
    return command, values, arguments


def _joined(folder: str | None, path: str | None) -> str | None:
    if path is None:
        return folder
    return path if folder is None or posixpath.isabs(path) else posixpath.join(folder, path)


def _restricted(select: str | None, kind: str | None) -> str | None:
    """A selection limited to what the command builds: each of its (union) terms intersected
    with the resource type, as ``dbt run --select`` selects models only."""
    if kind is None:
        return select
    if select is None:
        return kind
    return " ".join(f"{kind},{term}" for term in select.split())
