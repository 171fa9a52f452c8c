"""Edit: the team's choice to run a project operator class as the Airflow class it derives from,
written into the Dagster module's ``AIRFLOW_OPERATOR_PORTS`` (``analysis.dagster.ports``):
``"TeamPod": "KubernetesPodOperator"``.

The entry joins the module's dict literal (its last top-level ``AIRFLOW_OPERATOR_PORTS = {...}``,
the one ``read_bases`` reads), one element more in the dict's own layout; a module without one
gets ``AIRFLOW_OPERATOR_PORTS = {...}`` after its imports. Idempotent: the entry there already
changes nothing. Refused, with why: the class already ported to a function or run as another
class, a declaration that is no dict literal, a module that cannot be parsed.
"""

from __future__ import annotations

import libcst as cst

from analysis.dagster.ports import PORTS, read_bases
from analysis.edits.layout import preferred_quote, string_literal
from analysis.edits.result import EditResult, check_output, parse

WHAT = "the Dagster module"


def choose_base(text: str, operator: str, base: str) -> EditResult:
    """``text`` with ``"<operator>": "<base>"`` in its ``AIRFLOW_OPERATOR_PORTS``."""
    module = parse(text, WHAT)
    if isinstance(module, str):
        return EditResult.refuse(module)
    result = _chosen(module, text, operator, base)
    if result.changed and (operator, base) not in read_bases(result.text or ""):
        return EditResult.refuse(f"`{PORTS}` could not be written where it is read: add "
                                 f"`{string_literal(operator)}: {string_literal(base)}` to it by hand")
    return result


def _chosen(module: cst.Module, text: str, operator: str, base: str) -> EditResult:
    found = _declaration(module)
    quote = preferred_quote(module)
    entry = cst.DictElement(cst.SimpleString(string_literal(operator, quote)),
                            cst.SimpleString(string_literal(base, quote)))
    if found is None:
        head = _after_imports(module.body)
        line = cst.SimpleStatementLine(
            [cst.Assign([cst.AssignTarget(cst.Name(PORTS))], cst.Dict([entry]))],
            leading_lines=[cst.EmptyLine()] if head else [])
        body = [*module.body[:head], line, *module.body[head:]]
        return check_output(module.with_changes(
            body=body, has_trailing_newline=module.has_trailing_newline or not module.body).code, WHAT)
    statement, assigned = found
    if not isinstance(assigned.value, cst.Dict):
        return EditResult.refuse(f"`{PORTS}` is not a dict literal: add `{string_literal(operator)}: "
                                 f"{string_literal(base)}` to it by hand")
    for element in assigned.value.elements:
        if isinstance(element, cst.DictElement) and _string(element.key) == operator:
            given = _string(element.value)
            if given is not None and given.rsplit(".", 1)[-1] == base:  # a dotted path names its class
                return EditResult.nothing_to_do(text, f"{PORTS} already runs `{operator}` as `{base}`")
            if given is not None:
                return EditResult.refuse(f"{PORTS} already runs `{operator}` as `{given}`: change it there by hand")
            return EditResult.refuse(f"{PORTS} already ports `{operator}` to "
                                     f"`{module.code_for_node(element.value)}`, which comes first")
    new_dict = _appended(assigned.value, entry)
    if new_dict is None:
        return EditResult.refuse(f"`{PORTS}` holds only comments: add `{string_literal(operator)}: "
                                 f"{string_literal(base)}` to it by hand")
    new_statement = statement.with_changes(
        body=[s.with_changes(value=new_dict) if s is assigned else s for s in statement.body])
    return check_output(module.with_changes(body=[new_statement if s is statement else s for s in module.body]).code,
                        WHAT)


def _declaration(module: cst.Module) -> tuple[cst.SimpleStatementLine, cst.Assign | cst.AnnAssign] | None:
    """The module's last top-level ``AIRFLOW_OPERATOR_PORTS = ...`` (one target), with its line
    (which may hold other statements after a ``;``), as ``read_bases`` reads it."""
    found = None
    for statement in module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            target = small.targets[0].target if isinstance(small, cst.Assign) and len(small.targets) == 1 else \
                small.target if isinstance(small, cst.AnnAssign) and small.value is not None else None
            if isinstance(target, cst.Name) and target.value == PORTS:
                found = (statement, small)
    return found


def _appended(value: cst.Dict, entry: cst.DictElement) -> cst.Dict | None:
    """The dict with ``entry`` last, laid out as its elements are: on lines of their own when they
    are (each comment staying on its element's line), else on the one line. None for an empty dict
    whose braces hold a comment."""
    elements = list(value.elements)
    opening = value.lbrace.whitespace_after
    if not elements:
        if isinstance(opening, cst.ParenthesizedWhitespace) and (opening.first_line.comment or opening.empty_lines):
            return None
        return value.with_changes(elements=[entry], lbrace=cst.LeftCurlyBrace(), rbrace=cst.RightCurlyBrace())
    last = elements[-1]
    separators = [e.comma for e in elements[:-1] if isinstance(e.comma, cst.Comma)
                  and isinstance(e.comma.whitespace_after, cst.ParenthesizedWhitespace)]
    closing = value.rbrace.whitespace_before  # the last line's rest, its comment included, and the brace's indent
    if not isinstance(closing, cst.ParenthesizedWhitespace):  # the brace hugs the last element
        comma = next((e.comma for e in elements[:-1] if isinstance(e.comma, cst.Comma)), None) \
            or cst.Comma(whitespace_after=cst.SimpleWhitespace(" "))
        return value.with_changes(elements=[*elements[:-1], last.with_changes(comma=comma),
                                            entry.with_changes(comma=last.comma)])
    # on lines of their own: the indent of an element, from a separator or the opening brace
    indent = separators[-1].whitespace_after.last_line if separators else \
        opening.last_line if isinstance(opening, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace("    ")
    between = cst.ParenthesizedWhitespace(first_line=closing.first_line, empty_lines=closing.empty_lines,
                                          indent=True, last_line=indent)  # the last element keeps its comment
    comma = last.comma if isinstance(last.comma, cst.Comma) else cst.Comma()
    return value.with_changes(
        elements=[*elements[:-1], last.with_changes(comma=comma.with_changes(whitespace_after=between)),
                  entry.with_changes(comma=last.comma)],
        rbrace=value.rbrace.with_changes(whitespace_before=closing.with_changes(
            first_line=cst.TrailingWhitespace(), empty_lines=())))


def _string(node: cst.BaseExpression) -> str | None:
    if isinstance(node, cst.SimpleString):
        evaluated = node.evaluated_value
        return evaluated if isinstance(evaluated, str) else None
    return None


def _after_imports(body) -> int:
    """Where a new top-level statement goes: after the docstring and the import lines that open
    the module (the first statement that is neither ends them)."""
    index = 0
    for position, statement in enumerate(body):
        docstring = position == 0 and isinstance(statement, cst.SimpleStatementLine) and isinstance(
            statement.body[0], cst.Expr) and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
        if not (docstring or _is_import(statement)):
            break
        index = position + 1
    return index


def _is_import(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and any(
        isinstance(s, (cst.Import, cst.ImportFrom)) for s in statement.body)
