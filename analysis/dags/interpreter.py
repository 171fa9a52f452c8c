"""A small abstract interpreter that runs a DAG file's statements without running Python.

It follows what Airflow does while importing the file — DAG and TaskGroup contexts,
task creation, dependency operators — over values it can know statically (literals,
module constants, f-strings of those, loops over literal lists). Everything else is an
``Unknown``; a task whose id depends on one is marked dynamic, never guessed.
Reading is bounded whatever the file (``analysis.dags.budget``).
"""

from __future__ import annotations

import ast

from analysis.dags.budget import Budget, OutOfBudget
from analysis.dags.builder import DagRecord, GroupRecord
from analysis.dags.classes import as_airflow
from analysis.dags.collector import Collector
from analysis.dags.conditions import Break, Conditions, Continue, Return
from analysis.dags.evaluation import Evaluator
from analysis.dags.functions import Functions
from analysis.dags.importing import ImportStatements
from analysis.dags.matching import Matching
from analysis.dags.modules import ProjectCode
from analysis.dags.objects import ObjectModel
from analysis.dags.scope import Scope
from analysis.dags.statements import Statements
from analysis.dags.unrecognized import Unfollowed, why_not_followed
from analysis.dags.values import (
    Const,
    DagRef,
    Function,
    GroupRef,
    Maybe,
    Qualified,
    Seq,
    TaskRef,
    Unknown,
    Value,
    short_text,
)
from analysis.facts import Range
from analysis.source import LineIndex


class Positions:
    """Ranges of this file's nodes; while a helper of another file runs, the call in this file
    that led to it (``anchor``): a task made there is shown where this file asked for it."""

    __slots__ = ("anchor", "index")

    def __init__(self, index: LineIndex) -> None:
        self.index = index
        self.anchor: Range | None = None

    def range_of(self, node: ast.AST) -> Range:
        return self.anchor if self.anchor is not None else self.index.range_of(node)

    def name_range(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> Range:
        return self.anchor if self.anchor is not None else self.index.name_range(node)

    def first_line_range(self, node: ast.AST) -> Range:
        return self.anchor if self.anchor is not None else self.index.first_line_range(node)


class Interpreter(Statements, Functions, ImportStatements, ObjectModel, Matching, Evaluator, Budget,
                  Conditions):
    def __init__(self, path: str, text: str, *, code: ProjectCode | None = None,
                 module_name: str | None = None, module_scope: Scope | None = None,
                 arguments: bool = False) -> None:
        Budget.__init__(self)
        Conditions.__init__(self)
        self.path = path
        self.keep_arguments = arguments
        """Keep what each operator's constructor is given (``analysis.dags.arguments``)."""
        self.unread_unpacks: set[ast.Call] = set()
        """With ``keep_arguments``: calls given ``**`` a value not known to be a dict (the
        arguments it adds are unknown)."""
        self.lines = Positions(LineIndex(text))
        self.code = code
        self.module_name = module_name
        """This file's dotted name under the import roots (for relative imports), if any."""
        self.dependencies: dict[str, str] = {}
        """Workspace modules read through imports: path -> SHA-1 of the text read."""
        self.unfollowed: list[Unfollowed] = []
        """Module-level calls whose callee could not be followed (for ``unrecognized-dag-file``)."""
        self.yields: list[list[Value]] = []
        """What the generators being run have yielded so far, innermost last."""
        self.frames: list[tuple[Function, Scope]] = []
        """The functions being run, innermost last (``super()`` needs its class and ``self``)."""
        self.collector = Collector(path)
        self.collector.certainty = lambda: (self.uncertain, self.reason)
        self.dag_stack: list[DagRecord] = []
        self.group_stack: list[GroupRecord] = []
        self.depth = 0
        self.created = 0
        """How many DAGs and tasks were created so far (the hook must come after all)."""
        self.hook_seen_at: int | None = None
        self.mapping_groups = 0
        self.pulled: dict[int, frozenset[str]] = {}
        """The ids each function read so far names in ``xcom_pull`` (by node)."""
        self.skip_read: dict[int, bool] = {}
        """Whether each function read so far names ``AirflowSkipException`` (by node)."""
        self._mentioned = {word: word in text for word in ("xcom_pull", "AirflowSkipException")}
        self._read_for: dict[str, set[str]] = {word: set() for word in self._mentioned}
        self.created_after_statement: list[int] = []
        self.top_statement: ast.stmt | None = None
        """The module-level statement being run (DAGs made by it can be bound to a global)."""
        self.exposed: dict[DagRecord, str] = {}
        """DAGs put in the module's globals by ``globals()[key] = dag``."""
        self.module_scope = module_scope if module_scope is not None else Scope()
        self.module_scope.vars["__name__"] = Const(module_name if module_scope is not None and module_name
                                                   else "unusual_prefix_airflow_dag_module")
        self.module_scope.vars["__file__"] = Const(path)

    def may_pull(self) -> bool:
        """Whether the DAG file or a workspace module it read mentions ``xcom_pull``: functions'
        bodies are walked for pulls only then (a function's ``origin`` is not always the file that
        defines it: one defined while another file's helper runs takes the DAG file's)."""
        return self._mentions("xcom_pull")

    def may_skip(self) -> bool:
        """Whether the DAG file or a workspace module it read names ``AirflowSkipException``:
        functions' bodies are walked for it only then."""
        return self._mentions("AirflowSkipException")

    def _mentions(self, word: str) -> bool:
        read = self._read_for[word]
        for path in self.dependencies:
            if self._mentioned[word]:
                break
            if path not in read:
                read.add(path)
                text = self.code.text(path) if self.code is not None else None
                self._mentioned[word] = text is None or word in text
        return self._mentioned[word]

    # -- statements ------------------------------------------------------------------

    def run_module(self, module: ast.Module) -> None:
        for statement in module.body:
            self.top_statement = statement
            try:
                self.exec_statement(statement, self.module_scope)
            except (Return, Break, Continue):
                pass
            except OutOfBudget:
                self.nesting = 0
                break
            self.created_after_statement.append(self.created)
        missing = len(module.body) - len(self.created_after_statement)
        self.created_after_statement.extend([self.created] * missing)
        self.bind_globals()

    def bind_globals(self) -> None:
        """Which DAGs ``proxying_to_dagster(global_vars=globals())`` sees: those a module-level
        name holds once the file has run (a second ``with DAG(...) as dag:`` hides the first)."""
        names: dict[DagRecord, list[str]] = {}
        for dag in self.collector.dags:
            dag.global_name = self.exposed.get(dag)
            if dag.global_name is not None:
                names[dag] = [dag.global_name]
        for name, value in self.module_scope.vars.items():
            held = as_airflow(value)
            if isinstance(held, DagRef):
                if held.dag.global_name is None:
                    held.dag.global_name = name
                if name not in names.setdefault(held.dag, []):
                    names[held.dag].append(name)
        for dag, held_by in names.items():
            dag.global_names = tuple(held_by)

    def note_unfollowed(self, node: ast.Call, callee: Value, args: list[Value],
                        kwargs: dict[str, Value]) -> None:
        """A call static reading could not enter. Made by a module-level statement: the reason a
        file shows no DAG, if it shows none. Given a DAG, or made in a DAG's context: it may add
        tasks the model does not see."""
        given = [v.dag for v in map(as_airflow, [*args, *kwargs.values()]) if isinstance(v, DagRef)]
        dag = given[0] if given else self.current_context({})[0]
        for_dag = dag is not None and len(dag.unseen) < 5
        for_file = not self.depth and self.lines.anchor is None and len(self.unfollowed) < 20
        if not (for_dag or for_file) or not isinstance(callee, (Qualified, Unknown)):
            return  # (a helper's call outside any DAG: nothing to record, no reason to work out)
        if isinstance(callee, Qualified):
            found = self.code is not None and self.code.find(callee.name.split(".", 1)[0]) != (None, None)
            reason = why_not_followed(callee.name, self.code is not None, found)
        else:
            reason = "it is not known statically (made at run time, or by code that could not be read)"
        if reason is None:
            return
        if for_dag:
            dag.unseen.append(f"`{short_text(node.func)}(...)`: {reason}")  # type: ignore[union-attr]
        if for_file:
            self.unfollowed.append(Unfollowed(short_text(node.func), reason, self.lines.range_of(node)))

    def bindable(self, node: ast.stmt, value: Value, kind: str, detail: str | int | None) -> None:
        """A module-level statement that made a DAG: where an edit can bind it to a global."""
        if isinstance(value, DagRef) and node is self.top_statement and self.depth == 0 \
                and value.dag.binding is None:
            value.dag.binding = (kind, node.lineno - 1, detail)

    def exec_block(self, body: list[ast.stmt], scope: Scope) -> None:
        for statement in body:
            self.exec_statement(statement, scope)

    def exec_statement(self, node: ast.stmt, scope: Scope) -> None:
        self.work_left -= 1
        if self.work_left < 0:
            self.budget_spent()
        handler = getattr(self, f"_exec_{type(node).__name__}", None)
        if handler is not None:
            outer, nesting, self.statement = self.statement, self.nesting, node
            certainty = self.uncertain, self.reason
            try:
                handler(node, scope)
            except RecursionError:
                # Our own recursion, not Python's: the file compiles (ast.parse read it).
                self.nesting = nesting
                self.give_up("nesting", node, "this statement nests too deeply to read statically")
            finally:
                self.statement = outer
                if self.uncertain != certainty[0]:  # it read something made under a condition
                    self.restore(certainty)

    def assign(self, scope: Scope, name: str, value: Value) -> None:
        """Bind a name; under a runtime condition, to a ``Maybe`` of the value."""
        if self.uncertain and not (isinstance(value, Maybe) and value.level >= self.uncertain):
            value = Maybe(value.value if isinstance(value, Maybe) else value, self.uncertain, self.reason)
        scope.vars[name] = value


__all__ = ["Const", "DagRef", "GroupRef", "Interpreter", "Return", "Scope", "Seq", "TaskRef"]
