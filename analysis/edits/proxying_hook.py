"""Hand a DAG file's proxied tasks to Dagster: add (or switch on) its proxying hook.

The hook is dagster-airlift's ``proxying_to_dagster(global_vars=globals(), proxied_state=
load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"))``, the last statement of
the file, so it sees every task the file creates. A file that has the tutorial's switched-off
form (``PROXYING = False`` then ``if PROXYING: ... proxying_to_dagster(...)``) gets its switch
flipped instead, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst
from libcst.metadata import GlobalScope, MetadataWrapper, QualifiedNameProvider, ScopeProvider

from analysis.edits.bodies_aside import edit_with_bodies_aside
from analysis.edits.imports import Imports, add_imports
from analysis.edits.layout import (
    Group,
    absolute_indentation,
    preferred_quote,
    render,
    string_literal,
)
from analysis.edits.result import EditResult, check_output, parse

WHAT = "the DAG file"
_HOOK_SOURCES = ("dagster_airlift.in_airflow",)
_LOADER_SOURCES = ("dagster_airlift.in_airflow.proxied_state", "dagster_airlift.in_airflow")
_WORDS = ("proxying_to_dagster",)
"""A body naming the hook stays in view of the edit. What the hook imports needs no word: the
imports are read and added at the top of the file only (``Imports``, libcst's
``AddImportsVisitor``), and a body that reads a name the file does not bind stays anyway."""


def add_proxying_hook(dag_text: str, state_dir: str = "proxied_state") -> EditResult:
    """``dag_text`` with the proxying hook, reading proxied state from ``state_dir`` (relative
    to the DAG file's folder). ``changed=False`` when the file already proxies, or when its
    hook is switched off by something other than a module-level ``NAME = False``. Switching
    an existing hook on keeps the folder it reads; ``state_dir`` is for a new hook."""
    if not isinstance(state_dir, str) or not state_dir:
        return EditResult.refuse("the proxied-state folder must be a non-empty path")
    # the file's functions' bodies set aside: the hook is module-level code (seconds saved in a
    # DAG file of thousands of lines)
    return edit_with_bodies_aside(dag_text, lambda text: _add_hook(text, state_dir), WHAT, _WORDS,
                                  every_function=True)


def _add_hook(dag_text: str, state_dir: str) -> EditResult:
    module = parse(dag_text, WHAT)
    if isinstance(module, str):
        return EditResult.refuse(module)
    try:
        if "proxying_to_dagster" not in dag_text:  # no call names the hook: no name needs resolving
            return _append_hook(module, state_dir)
        wrapper = MetadataWrapper(module)
        names = _Names()
        with names.resolve(wrapper):
            hooks = list(_hooks(wrapper.module, names))
            if hooks:
                return _switch_on(dag_text, wrapper.module, names, hooks)
        return _append_hook(wrapper.module, state_dir)
    except RecursionError:
        return EditResult.refuse(f"{WHAT} nests too deeply to edit")


class _Names(cst.CSTVisitor):
    """What names mean (imports, scopes), asked through ``get_metadata`` while resolved."""

    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider)

    def qualified(self, node: cst.CSTNode) -> set[str]:
        return {q.name for q in self.get_metadata(QualifiedNameProvider, node, set())}

    def scope(self, node: cst.CSTNode):
        return self.get_metadata(ScopeProvider, node, None)


# -- finding the hook ----------------------------------------------------------------------------


def _hooks(module: cst.Module, names: _Names) -> Iterator[tuple[cst.Call, tuple[cst.CSTNode, ...]]]:
    """Each statement-level ``proxying_to_dagster(...)`` call of the module, with the compound
    statements (``if``, ``try``) it sits in, outermost first."""

    def is_hook(call: cst.Call) -> bool:
        for qualified in names.qualified(call.func):
            if qualified.split(".")[0] == "dagster_airlift" and \
                    qualified.endswith(".proxying_to_dagster"):
                return True
        func = call.func  # unresolved spellings count too, as analysis.dags.dagfile reads them
        name = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", None)
        return name == "proxying_to_dagster"

    def walk(suite, path):
        if isinstance(suite, cst.SimpleStatementSuite):  # `if P: proxying_to_dagster(...)`
            yield from ((small.value, path) for small in suite.body if is_hook_statement(small))
            return
        for statement in suite.body:
            if isinstance(statement, cst.SimpleStatementLine):
                yield from ((s.value, path) for s in statement.body if is_hook_statement(s))
            elif isinstance(statement, cst.If):
                yield from walk(statement.body, (*path, statement))
                orelse = statement.orelse
                while orelse is not None:  # elif / else: not the `if NAME:` branch
                    yield from walk(orelse.body, (*path, statement, orelse))
                    orelse = getattr(orelse, "orelse", None)
            elif isinstance(statement, cst.Try):
                yield from walk(statement.body, (*path, statement))
                for block in (statement.orelse, statement.finalbody):
                    if block is not None:
                        yield from walk(block.body, (*path, statement))

    def is_hook_statement(small: cst.BaseSmallStatement) -> bool:
        return isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) \
            and is_hook(small.value)

    yield from walk(module, ())


def _switch_on(text: str, module: cst.Module, names: _Names,
               hooks: list[tuple[cst.Call, tuple[cst.CSTNode, ...]]]) -> EditResult:
    if any(not any(isinstance(p, (cst.If, cst.Else)) for p in path) for _, path in hooks):
        return EditResult.nothing_to_do(text, f"{WHAT} already proxies to Dagster")
    _, path = hooks[0]
    guard = path[0]
    switch = guard.test if isinstance(guard, cst.If) and len(path) == 1 else None
    assignment = _bool_assignment(module, names, switch) if isinstance(switch, cst.Name) else None
    if assignment is None:
        condition = module.code_for_node(guard.test) if isinstance(guard, cst.If) else "a block"
        return EditResult.nothing_to_do(
            text, f"the proxying call runs only under `{condition}`, which is not a switch set by "
                  f"a module-level `NAME = False`: turn it on by hand")
    value = assignment.value
    if value.value == "True":
        return EditResult.nothing_to_do(
            text, f"{WHAT} already proxies to Dagster (`{switch.value} = True`)")
    return check_output(module.deep_replace(value, value.with_changes(value="True")).code, WHAT)


def _bool_assignment(module: cst.Module, names: _Names, name: cst.Name):
    """The one module-level ``NAME = True|False`` (or ``NAME: bool = ...``) that binds the
    switch before the ``if``; None when the name is bound any other way or more than once."""
    scope = names.scope(name)
    if not isinstance(scope, GlobalScope) or len(scope.assignments[name.value]) != 1:
        return None
    for statement in module.body:
        if _contains(statement, name):
            return None  # reached the `if` first: the switch is set after it
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1:
            target = small.targets[0].target
        elif isinstance(small, cst.AnnAssign) and small.value is not None:
            target = small.target
        else:
            continue
        if isinstance(target, cst.Name) and target.value == name.value:
            value = small.value
            if isinstance(value, cst.Name) and value.value in ("True", "False") \
                    and not value.lpar:
                return small
            return None
    return None


def _contains(statement: cst.CSTNode, node: cst.CSTNode) -> bool:
    found = False

    class Find(cst.CSTVisitor):
        def on_visit(self, visited: cst.CSTNode) -> bool:
            nonlocal found
            found = found or visited is node
            return not found

    statement.visit(Find())
    return found


# -- adding the hook -----------------------------------------------------------------------------


def _append_hook(module: cst.Module, state_dir: str) -> EditResult:
    imports = Imports(module)
    needed: list[tuple[str, str]] = []

    def name(sources: tuple[str, ...], symbol: str) -> str:
        reference = imports.reference(sources, symbol)
        if reference is None:
            needed.append((sources[0], symbol))
        return reference or symbol

    path, hook, loader = (name(("pathlib",), "Path"), name(_HOOK_SOURCES, "proxying_to_dagster"),
                          name(_LOADER_SOURCES, "load_proxied_state_from_yaml"))
    folder = string_literal(state_dir, preferred_quote(module))
    call = Group(f"{hook}(", ("global_vars=globals()",
                              f"proxied_state={loader}({path}(__file__).parent / {folder})"), ")")
    code = render(call, "", module.default_indent, module.default_newline)
    statement = absolute_indentation(cst.parse_statement(code, config=module.config_for_parsing))
    statement = statement.with_changes(leading_lines=_leading_lines(module))
    module = module.with_changes(body=[*module.body, statement], footer=[],
                                 has_trailing_newline=True)
    return check_output(add_imports(module, needed).code, WHAT)


def _leading_lines(module: cst.Module) -> list[cst.EmptyLine]:
    """The module's trailing comments stay above the hook, then a blank line (two after a
    function or class, as PEP 8 asks); none in an empty module."""
    footer = list(module.footer)
    while footer and footer[-1].comment is None:
        footer.pop()
    if not module.body and not footer:
        return []
    last = module.body[-1] if module.body else None
    blanks = 2 if isinstance(last, (cst.FunctionDef, cst.ClassDef)) else 1
    return [*footer, *[cst.EmptyLine()] * blanks]
