"""A factory's closure, lifted to module level for the scaffold (``imported.factory_task``).

ethereum-etl's ``build_parse_dag`` defines ``share_dataset_task`` inside itself and gives it to a
``PythonOperator``; the function reads the factory's ``parse_destination_dataset_project_id``.
The scaffold copies functions from a module's top level, so the closure is written there, in
the text of the module that defines it, with each name it reads from the factory as a
keyword-only parameter; the task's call passes the value the model evaluated for it
(``TaskFacts.closure``) in ``op_kwargs``. Its body is kept as written when, dedented, it is the
same code (the same syntax tree, strings included); else it is written out by ``ast.unparse``.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

from analysis.edits.scaffold.statements import bindings
from analysis.facts import Closure, TaskFacts


def lifted(task: TaskFacts, closure: Closure, read: Callable[[str], str | None]
           ) -> tuple[str, str, dict[str, object]] | str | None:
    """(the module's path, its text with the closure written at its end, the values to pass it),
    or why the task cannot be planned so; None when the module cannot be read."""
    label = f"task `{task.task_id}`"
    text = read(closure.path)
    if text is None:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    found = _definition(tree, closure)
    if found is None:
        return f"the function of {label}, `{closure.name}`, was not found in {closure.path}"
    node, around = found
    inside = f"`{closure.name}`, the function of {label}, is defined inside `{around[-1].name}`"
    declared = {n for function in around for g in ast.walk(function) if isinstance(g, ast.Global) for n in g.names}
    shared = sorted(declared & {name for name, _, _ in closure.bindings})
    if shared:  # the model binds it in the factory; Python, in the module, where the last call left it
        return f"{inside} and reads `{shared[0]}`, which `{around[-1].name}` declares `global`: port it by hand"
    if closure.why is not None:
        return f"{inside} and {closure.why[0].lower()}{closure.why[1:]}: port it by hand"
    unknown = next(((name, why) for name, known, why in closure.bindings if not known), None)
    if unknown is not None:
        return f"{inside} and reads its `{unknown[0]}`, which is {unknown[1]}: the scaffold needs its value"
    if node.decorator_list:
        return f"{inside} and is decorated: port it by hand"
    if any(closure.name in bindings(statement) for statement in tree.body):
        return f"{inside}, and its module binds `{closure.name}` too: rename one to scaffold the task"
    values = {name: value for name, _, value in closure.bindings}
    rebound = _rebound_in_blocks(tree, closure.module_names)
    if rebound is not None:
        return (f"{inside} and the module sets `{rebound}` again in a top-level loop or `with` block, "
                "which the scaffold does not run: port it by hand")
    kept = _without_top_level_blocks(text, tree)
    return closure.path, f"{kept.rstrip()}\n\n\n{_written(text, node, list(values))}\n", values


def defined_in_function(tree: ast.Module, name: str | None) -> bool:
    """A ``def`` of ``name`` inside a function of the module (a closure of a factory it defines)."""
    if not name:
        return False
    for top in tree.body:
        for node in ast.walk(top):
            if node is not top and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                    and isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                return True
    return False


_BLOCKS = (ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)


def _without_top_level_blocks(text: str, tree: ast.Module) -> str:
    """The module without its top-level loops and ``with`` blocks: where a DAG file calls its
    factories (``for name in SOURCES: create_dag(name)``), which the text the closure is planned
    in need not run again. What the closure needs is bound by the module's definitions and
    assignments; a name only such a block binds is refused as not found."""
    lines = text.splitlines(keepends=True)
    dropped = set()
    for statement in tree.body:
        if isinstance(statement, _BLOCKS) and statement.end_lineno is not None:
            dropped.update(range(statement.lineno - 1, statement.end_lineno))
    return "".join(line for number, line in enumerate(lines) if number not in dropped)


def _definition(tree: ast.Module, closure: Closure
                ) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[ast.FunctionDef | ast.AsyncFunctionDef]] | None:
    """The ``def`` of the closure and the functions around it, outermost first."""
    stack: list[tuple[ast.AST, list]] = [(tree, [])]
    while stack:
        parent, around = stack.pop()
        for child in ast.iter_child_nodes(parent):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if child.lineno == closure.line and child.name == closure.name and around:
                    return child, around
                stack.append((child, [*around, child]))
            else:
                stack.append((child, around))
    return None


def _rebound_in_blocks(tree: ast.Module, reads: frozenset[str]) -> str | None:
    """A name a top-level loop or ``with`` block binds (left out of the text the closure is
    planned in) that the module binds elsewhere too, or that the closure reads from the module
    (``reads``): its value at run time may be the block's."""
    stored: set[str] = set()
    for statement in tree.body:
        if isinstance(statement, _BLOCKS):
            stored |= bindings(statement)
    elsewhere = set().union(*(bindings(s) for s in tree.body if not isinstance(s, _BLOCKS)))
    return next(iter(sorted(stored & (elsewhere | reads))), None)


def _written(text: str, node: ast.FunctionDef | ast.AsyncFunctionDef, names: list[str]) -> str:
    """The ``def`` at module level, with ``names`` as keyword-only parameters after its own."""
    lifted_node = copy.deepcopy(node)
    arguments = lifted_node.args
    known = {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}
    for name in names:
        if name not in known:
            arguments.kwonlyargs.append(ast.arg(arg=name))
            arguments.kw_defaults.append(None)
    keyword = "async def" if isinstance(node, ast.AsyncFunctionDef) else "def"
    returns = f" -> {ast.unparse(node.returns)}" if node.returns is not None else ""
    header = f"{keyword} {node.name}({ast.unparse(arguments)}){returns}:\n"
    first = node.body[0]
    lines = text.splitlines(keepends=True)
    if first.lineno > node.lineno and node.end_lineno is not None:
        margin = " " * first.col_offset
        body = lines[first.lineno - 1:node.end_lineno]
        if all(line.startswith(margin) or not line.strip() for line in body):
            written = header + "".join("    " + line[len(margin):] if line.strip() else "\n" for line in body)
            try:
                same = ast.dump(ast.parse(written).body[0]) == ast.dump(lifted_node)
            except SyntaxError:
                same = False
            if same:
                return written.rstrip("\n")
    return ast.unparse(lifted_node)

