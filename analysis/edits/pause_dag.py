"""Pause a decommissioned DAG instead of removing its file: a LibCST codemod.

``is_paused_upon_creation=True`` goes into the call that creates the DAG (``DAG(...)``,
``@dag(...)``), with a comment above its statement saying why the DAG stays in the file.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from analysis.edits.bodies_aside import edit_with_bodies_aside
from analysis.edits.layout import closing_whitespace, insert_elements
from analysis.edits.result import EditResult, check_output, parse

KEYWORD = "is_paused_upon_creation"


def pause_dag(text: str, line: int, character: int, comment: str) -> EditResult:
    """Pause the DAG whose creating call starts at ``line``/``character`` (0-based; for ``@dag``:
    the ``def`` line of the decorated function). Made with the file's function bodies set aside,
    but the one holding that line (a DAG made in a function)."""
    return edit_with_bodies_aside(text, lambda aside: _pause(aside, line, character, comment), "the DAG file",
                                  every_function=True, keep_lines=(line,))


def _pause(text: str, line: int, character: int, comment: str) -> EditResult:
    module = parse(text, "the DAG file")
    if isinstance(module, str):
        return EditResult.refuse(module)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(PositionProvider)
    parents = wrapper.resolve(ParentNodeProvider)
    call = None
    for node, position in positions.items():
        start = (position.start.line - 1, position.start.column)
        if isinstance(node, cst.Call) and start == (line, character):
            call = node
            break
        if isinstance(node, cst.FunctionDef) and position.start.line - 1 == line:
            call = next((d.decorator for d in node.decorators if isinstance(d.decorator, cst.Call)
                         and _name(d.decorator.func).lower() == "dag"), None)
            if call is None and any(_name(d.decorator).lower() == "dag" for d in node.decorators):
                return EditResult.refuse("the DAG is made by a bare `@dag`: write `@dag()` first, then pause it")
            break
    if call is None:
        return EditResult.refuse("the call that creates the DAG was not found in its file")
    statement = call
    while statement is not None and not isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
        statement = parents.get(statement)
    if statement is None:
        return EditResult.refuse("the statement that creates the DAG was not found in its file")
    new_call = _paused(call)
    if new_call is None:
        return EditResult.nothing_to_do(text, "the DAG is already paused upon creation")

    class Rewrite(cst.CSTTransformer):
        def leave_Call(self, original_node, updated_node):
            return new_call if original_node is call else updated_node

        def on_leave(self, original_node, updated_node):
            updated_node = super().on_leave(original_node, updated_node)
            if original_node is statement:
                lines = [cst.EmptyLine(comment=cst.Comment(f"# {line}")) for line in comment.splitlines()]
                return updated_node.with_changes(leading_lines=[*updated_node.leading_lines, *lines])
            return updated_node

    return check_output(module.visit(Rewrite()).code, "the DAG file")


def _name(node: cst.CSTNode) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return node.attr.value
    return ""


def _paused(call: cst.Call) -> cst.Call | None:
    """The call with ``is_paused_upon_creation=True``; None when it already says so."""
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == KEYWORD:
            if isinstance(arg.value, cst.Name) and arg.value.value == "True":
                return None
            args[index] = arg.with_changes(value=cst.Name("True"))
            return call.with_changes(args=args)
    return append_keyword(call, KEYWORD, cst.Name("True"))


def append_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """``call`` with ``keyword=value`` as its last argument, in the call's layout (one argument
    per line stays so, a closing parenthesis on its own line gets a trailing comma before it)."""
    args = list(call.args)
    new = cst.Arg(value=value, keyword=cst.Name(keyword),
                  equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    closing = closing_whitespace(last, last.whitespace_after_arg)
    args[-1] = last.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""))
    multiline = isinstance(closing, cst.ParenthesizedWhitespace)
    opening, args, closing = insert_elements(call.whitespace_before_args, args, closing, len(args), [new],
                                             multiline=multiline, trailing_comma=True if multiline else None)
    last = args[-1]
    args[-1] = (last.with_changes(comma=last.comma.with_changes(whitespace_after=closing))
                if isinstance(last.comma, cst.Comma) else last.with_changes(whitespace_after_arg=closing))
    return call.with_changes(args=args, whitespace_before_args=opening)
