"""New elements written into a dict, a list or a call of a module, in the layout it has.

``ContainerWriter.insert`` appends to a container on one line when the result fits and nothing
asks for more, one element per line after the existing ones otherwise (black's layout: a trailing
comma before a closing bracket on its own line), and lays an empty or overfull one-line container
out anew. ``expression_at`` puts new code in a node's place, indented from its line.
"""

from __future__ import annotations

import libcst as cst

from analysis.edits.layout import (
    LINE_WIDTH,
    Group,
    NewCode,
    closing_whitespace,
    flat,
    insert_elements,
    render,
)


class ContainerWriter:
    """Writes into the containers of ``module`` (its ``PositionProvider`` metadata ``positions``,
    its ``lines``), new code rendered by ``new_code`` in the module's indentation and newline."""

    def __init__(self, module: cst.Module, positions, lines: list[str], new_code: NewCode) -> None:
        self.module, self.positions, self.lines, self.new_code = module, positions, lines, new_code
        self.unit = module.default_indent
        self.newline = module.default_newline

    def insert(self, node: cst.CSTNode, docs: list, kind: str) -> cst.CSTNode:
        """``node`` (a dict, a list or a call) with ``docs`` appended in its layout."""
        elements = list(node.args if kind == "call" else node.elements)
        start, end = self.positions[node].start, self.positions[node].end
        if not elements:
            return self._rebuild(node, elements, docs, kind)
        if start.line == end.line:  # stays on one line if it fits and nothing asks for more
            added = sum(len(", " + flat(doc)) for doc in docs)
            if len(self.lines[end.line - 1]) + added <= LINE_WIDTH and \
                    not any(isinstance(doc, Group) and doc.broken for doc in docs):
                news = [self.new_code.element(flat(doc), kind) for doc in docs]
                return self._put(node, elements, news, kind, multiline=False)
            return self._rebuild(node, elements, docs, kind)
        first = self.positions[elements[0]].start
        prefix = self.lines[first.line - 1][:first.column]
        indent = prefix if not prefix.strip() else " " * first.column
        news = [self.new_code.element(render(doc, indent, self.unit, self.newline, ","), kind)
                for doc in docs]
        line_start = None
        if not isinstance(self._opening(node, kind), cst.ParenthesizedWhitespace):
            line_start = cst.ParenthesizedWhitespace(indent=False, last_line=cst.SimpleWhitespace(indent))
        return self._put(node, elements, news, kind, multiline=True, line_start=line_start)

    def _put(self, node, elements, news, kind, *, multiline, line_start=None) -> cst.CSTNode:
        last = elements[-1]
        if kind == "call":
            closing = closing_whitespace(last, last.whitespace_after_arg)
            elements[-1] = last.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""))
        else:
            closing = closing_whitespace(last, self._closing(node, kind))
        opening, elements, closing = insert_elements(
            self._opening(node, kind), elements, closing, len(elements), news, multiline=multiline,
            line_start=line_start,
            # black's layout: a closing bracket on its own line follows a trailing comma
            trailing_comma=True if isinstance(closing, cst.ParenthesizedWhitespace) else None)
        if kind == "dict":
            return node.with_changes(elements=elements,
                                     lbrace=node.lbrace.with_changes(whitespace_after=opening),
                                     rbrace=node.rbrace.with_changes(whitespace_before=closing))
        if kind == "list":
            return node.with_changes(elements=elements,
                                     lbracket=node.lbracket.with_changes(whitespace_after=opening),
                                     rbracket=node.rbracket.with_changes(whitespace_before=closing))
        last = elements[-1]
        elements[-1] = (last.with_changes(comma=last.comma.with_changes(whitespace_after=closing))
                        if isinstance(last.comma, cst.Comma)
                        else last.with_changes(whitespace_after_arg=closing))
        return node.with_changes(args=elements, whitespace_before_args=opening)

    def _rebuild(self, node, elements, docs, kind) -> cst.CSTNode:
        """Lay ``node`` out anew, one element per line: an empty container, or a one-line one
        that the new elements would make too long."""
        existing = [self.module.code_for_node(_without_comma(e, kind)) for e in elements]
        if kind == "call":
            head = self.module.code_for_node(node.func) + "("
        else:
            head = "{" if kind == "dict" else "["
        close = {"dict": "}", "list": "]", "call": ")"}[kind]
        doc = Group(head, (*existing, *docs), close, broken=True)
        return self.expression_at(doc, node)

    def expression_at(self, doc: Group, node: cst.CSTNode) -> cst.CSTNode:
        """``doc`` as an expression to put in place of ``node`` (in its parentheses), laid out
        from the indentation of the line where ``node`` starts."""
        line = self.lines[self.positions[node].start.line - 1]
        indent = line[:len(line) - len(line.lstrip())]
        return self.new_code.expression(render(doc, indent, self.unit, self.newline), node)

    @staticmethod
    def _opening(node, kind):
        if kind == "dict":
            return node.lbrace.whitespace_after
        if kind == "list":
            return node.lbracket.whitespace_after
        return node.whitespace_before_args

    @staticmethod
    def _closing(node, kind):
        return node.rbrace.whitespace_before if kind == "dict" else node.rbracket.whitespace_before


def _without_comma(element: cst.CSTNode, kind: str) -> cst.CSTNode:
    element = element.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if kind == "call":
        element = element.with_changes(whitespace_after_arg=cst.SimpleWhitespace(""))
    return element
