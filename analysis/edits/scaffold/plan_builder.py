"""The plan of a task whose code is copied into the asset (``PythonOperator``, ``BashOperator``,
``@task``, ``@task.bash``, and the callables of branches and PythonSensors): ``PlanBuilder``
checks what the task runs and resolves the names its code uses to the DAG file's module-level
statements, transitively, with the statements that change what it needs (``plan`` picks it).
"""

from __future__ import annotations

import ast
import builtins
import copy
import sys
from collections.abc import Iterable, Sequence

from analysis.edits.scaffold.plan_bash import (
    BASH_TASK,
    append_env,
    bash_task_options,
    options_problem,
    script,
)
from analysis.edits.scaffold.plan_common import (
    Plan,
    creates_task,
    import_binding,
    jinja,
    signature_problem,
)
from analysis.edits.scaffold.plain_text import CHANGED, native_kept, plain_text
from analysis.edits.scaffold.plan_dag import TEXT, rendering_problem
from analysis.edits.scaffold.plan_options import plain_rendering
from analysis.edits.scaffold.exceptions import caught_exception, imports_exception
from analysis.edits.scaffold.variables import (
    imports_variable,
    judged_rendering,
    variable_uses_problem,
    variables_problem,
)
from analysis.edits.scaffold.statements import (
    DagFile,
    Unit,
    all_bindings,
    bindings,
    bound_before,
    enclosing_locals,
    free_names,
    imported_modules,
)
from analysis.facts import TaskFacts

_MODULE_NAMES = frozenset({"__name__", "__doc__", "__spec__", "__loader__", "__package__",
                           "__builtins__", "__annotations__"})
"""Every module has them: the copy reads the Dagster module's, which is harmless."""
_BUILTINS = frozenset(dir(builtins))
_TEMPLATE_EXT = {"BashOperator": (".sh", ".bash"), BASH_TASK: (".sh", ".bash")}
"""Per kind, the operator's ``template_ext``: a templated string ending so names the file Airflow
renders instead (PythonOperator's, the branches' and ``@task``'s: none)."""


class PlanBuilder:
    """A ``PythonOperator``'s, ``BashOperator``'s or ``@task`` function's plan: what it runs
    checked, and the module-level statements its code needs resolved (``need_names``)."""


    def __init__(self, dag: DagFile, task: TaskFacts, call: ast.Call, dag_unit: Unit,
                 kind: str, label: str) -> None:
        self.dag, self.call, self.dag_unit = dag, call, dag_unit
        self.kind, self.label = kind, label
        self.name = f"task `{task.task_id}`"
        self.units: set[int] = set()
        self.resolved: set[tuple[str, str]] = set()
        self.module_names: set[str] = set()
        """Resolved names that module-level statements bind."""
        self.variables: list[str] = []
        """The Airflow Variables the task's templated arguments read (``variables``)."""
        self.variable_names: dict[str, str] = {}
        """Names the copied code reads Airflow's ``Variable`` by, bound to the module's shim, to
        the module they import it from."""
        self.exception_names: dict[str, str] = {}
        """Names the copied code binds to Airflow's exceptions (``exceptions.CLASSES``), to the class."""
        at_call = bound_before(dag_unit.statements, call) | enclosing_locals(dag_unit.statements, call)
        self.hidden = {"argument": at_call, "callable": at_call, "function": dag_unit.binds,
                       "module": dag_unit.binds}
        """Per role, the names that the DAG's own code binds where they are read: the call's
        arguments are read when the DAG is built, functions' globals when the task runs."""
        self.context_values: list[str] = []
        """The run's strings the task's callable takes from the task context (``Plan.context_values``)."""
        self.uses_file = False
        self._dag_names: set[str] | None = None

    # -- the three kinds ----------------------------------------------------------------------

    def python(self, options: dict[str, ast.expr]) -> Plan | str:
        if "python_callable" not in options:
            return f"{self.name} has no `python_callable`"
        for option in ("templates_dict", "templates_exts"):
            if option in options:
                return f"{self.name} uses `{option}`, which only Airflow renders"

        function = options["python_callable"]
        op_args, op_kwargs = options.get("op_args"), options.get("op_kwargs")
        problem = (self.templates([op_args, op_kwargs], "the arguments")
                   or self._callable_signature(function, op_args, op_kwargs)
                   or self.need([function], "callable")
                   or self.need([n for n in (op_args, op_kwargs) if n is not None], "argument"))
        return problem or self.finish([function, op_args, op_kwargs])

    def bash(self, options: dict[str, ast.expr]) -> Plan | str:
        command = options.get("bash_command")
        if command is None:
            return f"{self.name} has no `bash_command`"
        problem = options_problem(self.name, options)
        if problem:
            return problem
        named = script(command)
        if named is not None:
            return (f"the bash command of {self.name} names a script ({named!r}) that "
                    "Airflow reads as a Jinja template")
        values = [options[k] for k in ("bash_command", "env", "cwd") if k in options]
        problem = self.templates(values, "the command, environment or folder") or \
            self.need(values, "argument")
        return problem or self.finish(values, append_env=append_env(options))

    def taskflow(self, function: ast.FunctionDef, dropped: frozenset[int]) -> Plan | str:
        bash: dict[str, ast.expr] = {}
        if self.kind == BASH_TASK:  # the returned command, run with the decorator's options
            found = self._bash_task(function)
            if isinstance(found, str):
                return found
            bash = found
        call_args = [*self.call.args, *(k.value for k in self.call.keywords)]
        kept = [d for i, d in enumerate(function.decorator_list) if i not in dropped]
        bare = copy.copy(function)
        bare.decorator_list = []
        free = free_names([bare]) - {function.name}
        self.hidden["function"] = self.hidden["function"] | \
            enclosing_locals(self.dag_unit.statements, function)
        problem = (self.templates(call_args, "the arguments")
                   or self._signature(function.args, self.call.args, self.call.keywords, "function", function)
                   or self.need_names(free | free_names(kept), "function")
                   or self.need(call_args, "argument"))
        if problem:
            return problem
        return self.finish([*call_args, *kept, *bash.values()], function=function, dropped=dropped,
                           append_env=append_env(bash))

    def _bash_task(self, function: ast.FunctionDef) -> dict[str, ast.expr] | str:
        """A ``@task.bash`` function's options, their names resolved where they are read."""
        found = bash_task_options(self.dag, self.name, function, self.call)
        if isinstance(found, str):
            return found
        options, values = found
        problem = self.templates([v for v, _ in values], "the environment or folder")
        for value, role in values:
            problem = problem or self.need([value], role)
        return problem or options

    # -- checks -----------------------------------------------------------------------------

    def templates(self, nodes: Iterable[ast.AST | None], what: str, rendered: bool = True) -> str | None:
        """Why the Jinja in templated arguments is refused (anything but Airflow Variables, noted in
        ``variables``), or None. ``rendered=False``: all Jinja is refused (a ported class's
        arguments, which its own template_fields render)."""
        if not rendered:
            text = next((t for t in map(jinja, nodes) if t is not None), None)
            return None if text is None else f"{what} of {self.name} use Jinja ({text!r}), which only Airflow renders"
        nodes = list(nodes)
        found = variables_problem(self.dag.tree, nodes, f"{what} of {self.name}",
                                  lambda: rendering_problem(self.dag, self.dag_unit, self.call),
                                  _TEMPLATE_EXT.get(self.kind, ()))
        if isinstance(found, str):
            return found
        present = [n for n in nodes if n is not None]
        texts = {plain_text(self.dag, n) for n in present} - {None}
        if not found and texts:  # strings without Jinja, which Airflow renders all the same
            how = plain_rendering(self.dag, self.dag_unit, self.call,
                                  not all(native_kept(self.dag, n) for n in present))
            # those Jinja changes go through `_airflow_render`, which does what Jinja does
            found = judged_rendering(f"{what} of {self.name}", how, [TEXT] if CHANGED in texts else [])
            if isinstance(found, str):
                return found
        self.variables += [k for k in found if k not in self.variables]
        return None

    def _callable_signature(self, function: ast.expr, op_args: ast.expr | None,
                            op_kwargs: ast.expr | None) -> str | None:
        args, definition = None, None
        if isinstance(function, ast.Lambda):
            args, definition = function.args, function
        elif isinstance(function, ast.Name):
            definition = self._module_function(function.id)
            args = definition.args if definition is not None else None
        if args is None:  # imported: its signature is not read (that would mean reading its file)
            return None
        positional = op_args.elts if isinstance(op_args, (ast.List, ast.Tuple)) else \
            [] if op_args is None else None
        keywords = None
        if op_kwargs is None:
            keywords = []
        elif isinstance(op_kwargs, ast.Dict) and all(isinstance(k, ast.Constant) for k in op_kwargs.keys):
            keywords = [ast.keyword(arg=str(k.value), value=v)
                        for k, v in zip(op_kwargs.keys, op_kwargs.values)]
        if positional is None or keywords is None:
            problem = self._signature(args, [ast.Starred()], [ast.keyword(arg=None)], "callable", definition)
        else:
            problem = self._signature(args, positional, keywords, "callable", definition)
        if problem is None and self.context_values and isinstance(definition, ast.FunctionDef) \
                and definition.decorator_list:
            return (f"the callable of {self.name} takes `{self.context_values[0]}` from the task context and is "
                    "decorated: Airflow gives it what the decorated function's signature asks for, which the "
                    "scaffold does not read")
        return problem

    def _signature(self, args: ast.arguments, positional: Sequence[ast.expr],
                   keywords: Sequence[ast.keyword], what: str,
                   function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None = None) -> str | None:
        taken: list[str] = []
        problem = signature_problem(self.name, args, positional, keywords, what, function, taken)
        self.context_values += [k for k in taken if k not in self.context_values]
        return problem

    def _module_function(self, name: str) -> ast.FunctionDef | None:
        """The last module-level ``def name`` before the DAG."""
        found = None
        for unit in self.dag.units[:self.dag_unit.index]:
            for statement in unit.statements:
                if isinstance(statement, ast.FunctionDef) and statement.name == name:
                    found = statement
        return found

    # -- resolving names to module-level statements ------------------------------------------------

    def need(self, nodes: Sequence[ast.AST], role: str) -> str | None:
        return self.need_names(free_names(nodes) if nodes else frozenset(), role)

    def need_names(self, names: Iterable[str], role: str) -> str | None:
        """Add the module-level statements that bind ``names``, transitively; or say why not.

        ``role`` says where the names are read: "argument" (the task's arguments), "callable"
        or "function" (what the task runs), "module" (the DAG file's module-level code)."""
        before = self.dag.units[:self.dag_unit.index]
        pending = [(name, role, None) for name in sorted(names, reverse=True)]
        while True:
            while pending:
                name, why, needed_by = pending.pop()
                if (name, why) in self.resolved:
                    continue
                self.resolved.add((name, why))
                if name in self.hidden[why]:  # the DAG's code rebinds it: not the module's value
                    return self._inside_dag(name, why)
                if name == "__file__":
                    self.uses_file = True
                    continue
                binding = [u for u in before if name in u.binds]
                if binding:
                    self.module_names.add(name)
                else:
                    problem = self._unbound(name, why)
                    if problem:
                        return problem
                    continue
                for unit in binding:
                    if unit.index in self.units:
                        continue
                    if why == "argument" and creates_task(unit):
                        return (f"{self.name} gets `{name}`, another task or its output (an XCom "
                                "value): only module-level values can be copied to Dagster")
                    module = imports_variable(unit.statements, name) \
                        if unit.airflow_line is not None and len(binding) == 1 else None
                    if module is not None:  # read from the environment instead
                        self.variable_names[name] = module
                        continue
                    raised = imports_exception(unit.statements, name) \
                        if unit.airflow_line is not None and len(binding) == 1 else None
                    if raised is not None:  # the Dagster module's class instead
                        self.exception_names[name] = raised
                        continue
                    if unit.airflow_line is not None:
                        chain = f" (for `{needed_by}`)" if needed_by else ""
                        return (f"{self.name} needs `{name}`{chain}, which comes from Airflow (the "
                                f"import on line {unit.airflow_line}): Dagster cannot run it")
                    self.units.add(unit.index)
                    pending.extend((n, "module", name)
                                   for n in sorted(self.dag.free(unit), reverse=True))
            # statements like ``sys.path.append(...)`` go along with what they change
            changed = [u for u in before if u.index not in self.units
                       and u.airflow_line is None and u.mutates & self.module_names]
            if not changed:
                return None
            for unit in changed:
                self.units.add(unit.index)
                pending.extend((n, "module", None) for n in sorted(self.dag.free(unit)))

    def _inside_dag(self, name: str, role: str) -> str:
        if role == "argument":
            return (f"{self.name} gets `{name}` from inside the DAG (another task or its output, "
                    "an XCom value): only module-level values can be copied to Dagster")
        return (f"`{name}`, used by {self.name}, is defined inside the DAG: move it to module "
                "level to scaffold the task")

    def _unbound(self, name: str, role: str) -> str | None:
        """Why a name with no module-level binding before the DAG cannot be copied (None when it
        is a builtin)."""
        if name in self._names_inside_dag():
            return self._inside_dag(name, role)
        if name in _BUILTINS or name in _MODULE_NAMES:
            return None
        later = next((u for u in self.dag.units[self.dag_unit.index + 1:] if name in u.binds), None)
        if later is not None:
            return (f"`{name}`, used by {self.name}, is defined after the DAG (line "
                    f"{later.first_line}): move it above to scaffold the task")
        if self.dag.star_lines:
            return (f"`{name}`, used by {self.name}, may come from the `import *` on line "
                    f"{self.dag.star_lines[0]}: import it by name to scaffold the task")
        return f"`{name}`, used by {self.name}, is not defined in the DAG file"

    def _names_inside_dag(self) -> set[str]:
        """Every name the DAG's statement binds, in any scope."""
        if self._dag_names is None:
            self._dag_names = set()
            for statement in self.dag_unit.statements:
                self._dag_names |= all_bindings(statement)
        return self._dag_names

    # -- the plan ---------------------------------------------------------------------------

    def finish(self, expressions: Sequence[ast.AST | None], *, function: ast.FunctionDef | None = None,
               dropped: frozenset[int] = frozenset(), append_env: bool = False) -> Plan | str:
        units = tuple(u for u in self.dag.units if u.index in self.units)
        copied: list[ast.AST] = [s for u in units for s in u.statements]
        if function is not None:
            copied.append(function)
        imported = set()
        airflow_line = None  # an import from Airflow inside a function: only read when it runs
        for node in copied:
            for child in ast.walk(node):
                if isinstance(child, ast.Global):
                    return (f"the code of {self.name} declares `global {', '.join(child.names)}` "
                            f"(line {child.lineno}), which in Dagster would be the Dagster module's")
                if isinstance(child, ast.ImportFrom) and child.level:
                    return (f"{self.name} needs a relative import (line {child.lineno}), which "
                            "does not work from the Dagster module")
                if isinstance(child, (ast.Import, ast.ImportFrom)):
                    roots = {m.split(".")[0] for m in imported_modules(child)}
                    imported |= roots
                    if "airflow" in roots and airflow_line is None:
                        airflow_line = child.lineno
        if airflow_line is not None:
            return (f"{self.name} imports from Airflow (line {airflow_line}), which Dagster cannot run: "
                    "scaffold it by hand")
        caught = caught_exception([*copied, *(e for e in expressions if e is not None)], set(self.exception_names))
        others = sorted(m for m in imported if m not in sys.stdlib_module_names)
        if caught is not None and others:
            return (f"{self.name} catches `{caught[0]}` (line {caught[1]}) and imports `{others[0]}`, whose code may "
                    f"raise Airflow's own `{caught[0]}`, which the Dagster module's class would not catch: "
                    "scaffold it by hand")
        for name, module in sorted(self.variable_names.items()):
            problem = variable_uses_problem([*copied, *(e for e in expressions if e is not None)], name, self.name,
                                            module)
            if problem:
                return problem
        templated = next((jinja(s) for u in units for s in u.statements
                          if not isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                          and jinja(s) is not None), None)
        if templated is not None:
            return (f"{self.name} uses a module-level value with Jinja ({templated!r}), which only "
                    "Airflow renders")
        bound: dict[str, set[str]] = {}
        for unit in units:
            for statement in unit.statements:
                for name in bindings(statement):
                    bound.setdefault(name, set()).add(import_binding(statement, name))
        if function is not None:
            bound.setdefault(function.name, set()).add("")
        mentioned = set(bound)
        for node in [*copied, *(e for e in expressions if e is not None)]:
            mentioned |= all_bindings(node)
            mentioned.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
        return Plan(self.kind, self.label, units, function, dropped, self.uses_file,
                     frozenset(imported), {k: frozenset(v) for k, v in bound.items()},
                     frozenset(mentioned), append_env, variables=tuple(self.variables),
                     variable_names=tuple(sorted(self.variable_names)),
                     exception_names=tuple(sorted(self.exception_names.items())),
                     context_values=tuple(self.context_values))
