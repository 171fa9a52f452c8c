"""ruamel.yaml's reader, scanner, resolver and composer, changed to read YAML as PyYAML does.

ruamel follows YAML 1.2 in places even when asked for 1.1, and is laxer than PyYAML in others.
Each override below fixes a difference that changes whether a text loads or what it means;
they were found by comparing both libraries on random texts (see tests/unit/test_state.py).
"""

from __future__ import annotations

import re
from typing import Any

from ruamel.yaml.composer import Composer, ComposerError
from ruamel.yaml.events import AliasEvent
from ruamel.yaml.parser import Parser, ParserError
from ruamel.yaml.reader import Reader
from ruamel.yaml.resolver import BaseResolver
from ruamel.yaml.scanner import Scanner, ScannerError
from ruamel.yaml.tokens import DirectiveToken, ScalarToken, TagToken

TAG = "tag:yaml.org,2002:"
LINE_BREAKS = "\r\n\x85\u2028\u2029"
"""YAML 1.1's line break characters, which PyYAML honours (``\\r\\n`` is one break); LSP and
Python break lines at ``\\r`` and ``\\n`` only."""
LINE_BREAK = re.compile(f"\r\n|[{LINE_BREAKS}]")


class PyYamlResolver(BaseResolver):
    """PyYAML's ``yaml.resolver.Resolver`` table, whatever ``%YAML`` directive the text has."""

    yaml_implicit_resolvers: dict = {}

    def __init__(self, version: Any = None, loader: Any = None, loadumper: Any = None) -> None:
        super().__init__(loader if loader is not None else loadumper)

    @property
    def processing_version(self) -> tuple[int, int]:
        # ruamel's scanner and parser follow YAML 1.1 rules only when told so; PyYAML always does.
        return (1, 1)


for _tag, _pattern, _first in (
    ("bool", r"yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
     "yYnNtTfFoO"),
    ("float", r"[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
              r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
     "-+0123456789."),
    ("int", r"[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+"
            r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
     "-+0123456789"),
    ("merge", r"<<", "<"),
    ("null", r"~|null|Null|NULL|", ["~", "n", "N", ""]),
    ("timestamp", r"[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
                  r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?"
                  r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?",
     "0123456789"),
    ("value", r"=", "="),
):
    PyYamlResolver.add_implicit_resolver_base(TAG + _tag, re.compile(f"^(?:{_pattern})$"), list(_first))


class PyYamlComposer(Composer):
    """PyYAML refuses a document that defines the same anchor twice; ruamel only warns."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.parser.check_event(AliasEvent):
            event = self.parser.peek_event()
            if event.anchor is not None and event.anchor in self.anchors:
                raise ComposerError(None, None, f"found duplicate anchor {event.anchor!r}",
                                    event.start_mark)
        return super().compose_node(parent, index)


class PyYamlParser(Parser):
    """PyYAML's directives: any ``%YAML 1.x`` is accepted and changes nothing (every document is
    read as YAML 1.1). ruamel records the version on the loader, which asserts that x is 1 or 2,
    so ``%YAML 1.3`` raised AssertionError where PyYAML loads the file."""

    def process_directives(self) -> Any:
        version = None
        self.tag_handles = {}
        while self.scanner.check_token(DirectiveToken):
            token = self.scanner.get_token()
            if token.name == "YAML":
                if version is not None:
                    raise ParserError(None, None, "found duplicate YAML directive", token.start_mark)
                if token.value[0] != 1:
                    raise ParserError(None, None, "found incompatible YAML document (version 1.* is "
                                      "required)", token.start_mark)
                version = token.value
            elif token.name == "TAG":
                handle, prefix = token.value
                if handle in self.tag_handles:
                    raise ParserError(None, None, f"duplicate tag handle {handle!r}", token.start_mark)
                self.tag_handles[handle] = prefix
        value = version, (self.tag_handles.copy() if self.tag_handles else None)
        for handle, prefix in self.DEFAULT_TAGS.items():
            self.tag_handles.setdefault(handle, prefix)
        return value


class PyYamlReader(Reader):
    """PyYAML counts U+0085, U+2028 and U+2029 as line breaks, and simple keys must fit on
    one line, so the count decides what parses."""

    forward = Reader.forward_1_1


class PyYamlScanner(Scanner):
    def scan_anchor(self, TokenClass: Any) -> Any:  # noqa: N803 - ruamel's signature
        """PyYAML's anchor names: ASCII letters, digits, ``-`` and ``_`` only."""
        reader = self.reader
        start_mark = reader.get_mark()
        kind = "alias" if reader.peek() == "*" else "anchor"
        reader.forward()
        length = 0
        while reader.peek(length).isascii() and (reader.peek(length).isalnum()
                                                  or reader.peek(length) in "-_"):
            length += 1
        after = reader.peek(length)
        if not length or after not in "\0 \t\r\n\x85\u2028\u2029?:,]}%@`":
            reader.forward(length)
            raise ScannerError(f"while scanning an {kind}", start_mark,
                               f"expected alphabetic or numeric character, but found {after!r}",
                               reader.get_mark())
        value = reader.prefix(length)
        reader.forward(length)
        return TokenClass(value, start_mark, reader.get_mark())

    def scan_tag(self) -> Any:
        """PyYAML's tags: ``!!`` is an ordinary handle (``!!!str`` is ``!!`` + ``!str``)."""
        reader = self.reader
        start_mark = reader.get_mark()
        after_bang = reader.peek(1)
        if after_bang == "<":  # verbatim: !<tag:yaml.org,2002:str>
            reader.forward(2)
            handle, suffix = None, self.scan_tag_uri("tag", start_mark)
            if reader.peek() != ">":
                raise ScannerError("while parsing a tag", start_mark,
                                   f"expected '>', but found {reader.peek()!r}", reader.get_mark())
            reader.forward()
        elif after_bang in _BLANK_OR_END:  # a lone "!": the non-specific tag
            handle, suffix = None, "!"
            reader.forward()
        else:
            length = 1
            while reader.peek(length) not in _BREAK_OR_END and reader.peek(length) != "!":
                length += 1
            if reader.peek(length) == "!":  # a named handle: !e!suffix or !!suffix
                handle = self.scan_tag_handle("tag", start_mark)
            else:
                handle = "!"
                reader.forward()
            suffix = self.scan_tag_uri("tag", start_mark)
        if reader.peek() not in _BREAK_OR_END:
            raise ScannerError("while scanning a tag", start_mark,
                               f"expected ' ', but found {reader.peek()!r}", reader.get_mark())
        return TagToken((handle, suffix), start_mark, reader.get_mark())

    def scan_to_next_token(self) -> None:
        """Skip spaces (never tabs, even in flow context), comments and line breaks."""
        reader = self.reader
        if reader.index == 0 and reader.peek() == "\ufeff":
            reader.forward()
        while True:
            while reader.peek() == " ":
                reader.forward()
            if reader.peek() == "#":
                while reader.peek() not in _LINE_END:
                    reader.forward()
            if not self.scan_line_break():
                return
            if not self.flow_level:
                self.allow_simple_key = True

    def scan_plain(self) -> Any:
        """PyYAML's plain scalars: in flow context ``:`` ends one only before a blank or a
        flow indicator (so ``{a::}`` has the key ``a:``)."""
        reader = self.reader
        start_mark = end_mark = reader.get_mark()
        indent, chunks, spaces = self.indent + 1, [], []
        stops_colon = _BLANK_OR_END + (",[]{}" if self.flow_level else "")
        while reader.peek() != "#":
            length = 0
            while True:
                char = reader.peek(length)
                if (char in _BLANK_OR_END or (char == ":" and reader.peek(length + 1) in stops_colon)
                        or (self.flow_level and char in ",?[]{}")):
                    break
                length += 1
            if not length:
                break
            self.allow_simple_key = False
            chunks.extend(spaces)
            chunks.append(reader.prefix(length))
            reader.forward(length)
            end_mark = reader.get_mark()
            spaces = self.scan_plain_spaces(indent, start_mark)
            if not spaces or reader.peek() == "#" or (not self.flow_level and reader.column < indent):
                break
        return ScalarToken("".join(chunks), True, start_mark, end_mark)

    def scan_block_scalar_indentation(self) -> Any:
        """PyYAML lets a block scalar's blank lines be indented deeper than its first line."""
        reader = self.reader
        breaks, max_indent, end_mark = [], 0, reader.get_mark()
        while reader.peek() in " \r\n\x85\u2028\u2029":
            if reader.peek() == " ":
                reader.forward()
                max_indent = max(max_indent, reader.column)
            else:
                breaks.append(self.scan_line_break())
                end_mark = reader.get_mark()
        return breaks, max_indent, end_mark


_BREAK_OR_END = "\0 \r\n\x85\u2028\u2029"
_BLANK_OR_END = "\0 \t\r\n\x85\u2028\u2029"
_LINE_END = "\0\r\n\x85\u2028\u2029"
