"""YAML read exactly as PyYAML's ``yaml.safe_load`` reads it, with node positions kept.

dagster-airlift loads proxied state with ``yaml.safe_load``: YAML 1.1 scalars (``yes``,
``on``, ``Off`` are booleans; ``010`` is octal; ``1:30`` is 90), merge keys, last duplicate
key wins, and a handful of errors PyYAML raises that other loaders only warn about. ruamel's
composer gives us nodes with positions, but its YAML 1.1 resolver disagrees with PyYAML
(``y``/``n`` are booleans there, ``1e3`` a float, a ``%YAML 1.2`` directive switches rules, a
reused anchor only warns). So ruamel composes with the PyYAML rules of
``analysis.state.pyyaml_compat``, and values are constructed here by PyYAML's ``SafeConstructor``
rules.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import re
from collections.abc import Hashable
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.reader import ReaderError

from analysis.state.pyyaml_compat import (
    TAG,
    PyYamlComposer,
    PyYamlParser,
    PyYamlReader,
    PyYamlResolver,
    PyYamlScanner,
)


class SafeYamlError(Exception):
    """PyYAML would raise here: at code-point offset ``index``, through ``end`` when known."""

    def __init__(self, message: str, index: int, end: int | None = None) -> None:
        super().__init__(message)
        self.message, self.index, self.end = message, index, end

    @classmethod
    def at(cls, message: str, node: Node) -> SafeYamlError:
        return cls(message, node.start_mark.index, node.end_mark.index)


def compose(text: str) -> Node | None:
    """The single document's root node (None for an empty document), as PyYAML composes it."""
    return _composed(text, lambda loader: loader.compose(text))


def compose_all(text: str) -> list[Node]:
    """Every document's root node (``---``-separated, as in a ``defs.yaml`` holding several
    Dagster components), as PyYAML's ``compose_all`` gives them."""
    return _composed(text, lambda loader: list(loader.compose_all(text)))


def _composed(text: str, run):
    loader = YAML(typ="safe", pure=True)
    loader.Resolver = PyYamlResolver
    loader.Composer = PyYamlComposer
    loader.Parser = PyYamlParser
    loader.Reader = PyYamlReader
    loader.Scanner = PyYamlScanner
    # PyYAML wants a top-level block scalar's content indented; ruamel does not by default.
    loader.top_level_block_style_scalar_no_indent_error_1_1 = True
    try:
        return run(loader)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        raise SafeYamlError(_describe(error), mark.index if mark else 0) from None
    except ReaderError as error:
        code = error.character if isinstance(error.character, int) else ord(error.character)
        raise SafeYamlError(f"unacceptable character #x{code:04x}: special characters are not "
                            "allowed", error.position) from None
    except (YAMLError, RecursionError, ValueError, TypeError) as error:
        raise SafeYamlError(str(error).strip().splitlines()[0] if str(error).strip() else
                            type(error).__name__, 0) from None


def _describe(error: MarkedYAMLError) -> str:
    parts = [p.strip() for p in (error.context, error.problem) if p]
    return ": ".join(parts) or "invalid YAML"


def tag_of(node: Node) -> str:
    return str(node.tag)


def flattened_pairs(node: MappingNode) -> list[tuple[Node, Node]]:
    """A mapping's key/value nodes with ``<<`` merges applied, in PyYAML's order.

    Merged pairs come first so that the mapping's own keys, assigned later, win.
    """
    merged: list[tuple[Node, Node]] = []
    own: list[tuple[Node, Node]] = []
    for key_node, value_node in node.value:
        if tag_of(key_node) != TAG + "merge":
            own.append((key_node, value_node))
        elif isinstance(value_node, MappingNode):
            merged.extend(flattened_pairs(value_node))
        elif isinstance(value_node, SequenceNode):
            submerges = []
            for subnode in value_node.value:
                if not isinstance(subnode, MappingNode):
                    raise SafeYamlError("while constructing a mapping: expected a mapping for "
                                        "merging", subnode.start_mark.index)
                submerges.append(flattened_pairs(subnode))
            for pairs in reversed(submerges):
                merged.extend(pairs)
        else:
            raise SafeYamlError("while constructing a mapping: expected a mapping or list of "
                                "mappings for merging", value_node.start_mark.index)
    return merged + own


class _Recursive(list):
    """Stands for a collection that contains itself; unhashable, like the real one."""


class Constructor:
    """PyYAML's ``SafeConstructor``, one value per node (aliases share the value)."""

    _BOOLS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}

    def __init__(self) -> None:
        self._done: dict[int, Any] = {}
        self._busy: set[int] = set()

    def construct(self, node: Node) -> Any:
        key = id(node)
        if key in self._done:
            return self._done[key]
        if key in self._busy:
            return _Recursive()
        self._busy.add(key)
        try:
            value = self._construct(node)
        finally:
            self._busy.discard(key)
        self._done[key] = value
        return value

    def _construct(self, node: Node) -> Any:
        tag = tag_of(node)
        short = tag[len(TAG):] if tag.startswith(TAG) else None
        if short in ("map", "set") and isinstance(node, MappingNode):
            mapping = self.mapping(node)
            return mapping if short == "map" else set(mapping)
        if short == "seq" and isinstance(node, SequenceNode):
            return [self.construct(item) for item in node.value]
        if short in ("omap", "pairs") and isinstance(node, SequenceNode):
            return [self._pair(item, short) for item in node.value]
        if short in _SCALARS and isinstance(node, ScalarNode):
            try:
                return _SCALARS[short](node.value)
            except (ValueError, KeyError, IndexError, binascii.Error, OverflowError) as error:
                raise SafeYamlError.at(f"cannot read {node.value!r} as !!{short} ({error})",
                                       node) from None
        if short in _SCALARS or short in ("map", "set", "seq", "omap", "pairs"):
            kind = {ScalarNode: "scalar", SequenceNode: "sequence", MappingNode: "mapping"}
            raise SafeYamlError.at(f"!!{short} cannot tag a {kind[type(node)]} node", node)
        raise SafeYamlError.at(f"could not determine a constructor for the tag {tag!r}", node)

    def mapping(self, node: MappingNode) -> dict:
        result: dict = {}
        for key_node, value_node in flattened_pairs(node):
            key = self.key(key_node)
            result[key] = self.construct(value_node)
        return result

    def key(self, key_node: Node) -> Any:
        # PyYAML reads an implicit ``=`` key as the string "=" (its "value" tag has no constructor).
        key = "=" if tag_of(key_node) == TAG + "value" else self.construct(key_node)
        if not isinstance(key, Hashable) or isinstance(key, _Recursive):
            raise SafeYamlError("while constructing a mapping: found unhashable key",
                                key_node.start_mark.index)
        return key

    def _pair(self, item: Node, kind: str) -> tuple[Any, Any]:
        if not isinstance(item, MappingNode) or len(item.value) != 1:
            raise SafeYamlError(f"while constructing !!{kind}: expected a single mapping item",
                                item.start_mark.index)
        key_node, value_node = item.value[0]
        return self.construct(key_node), self.construct(value_node)


def _int(text: str) -> int:
    value = text.replace("_", "")
    sign = -1 if value[:1] == "-" else 1
    if value[:1] in "+-":
        value = value[1:]
    if value == "0":
        return 0
    if value.startswith("0b"):
        return sign * int(value[2:], 2)
    if value.startswith("0x"):
        return sign * int(value[2:], 16)
    if value.startswith("0"):
        return sign * int(value, 8)
    if ":" in value:
        return sign * _sexagesimal(value, int)
    return sign * int(value)


def _float(text: str) -> float:
    value = text.replace("_", "").lower()
    sign = -1.0 if value[:1] == "-" else 1.0
    if value[:1] in "+-":
        value = value[1:]
    if value == ".inf":
        return sign * float("inf")
    if value == ".nan":
        return float("nan")
    if ":" in value:
        return sign * _sexagesimal(value, float)
    return sign * float(value)


def _sexagesimal(value: str, kind: type) -> Any:
    total, base = kind(0), 1
    for digit in reversed(value.split(":")):
        total += kind(digit) * base
        base *= 60
    return total


_TIMESTAMP = re.compile(
    r"^(?P<year>[0-9][0-9][0-9][0-9])-(?P<month>[0-9][0-9]?)-(?P<day>[0-9][0-9]?)"
    r"(?:(?:[Tt]|[ \t]+)(?P<hour>[0-9][0-9]?):(?P<minute>[0-9][0-9]):(?P<second>[0-9][0-9])"
    r"(?:\.(?P<fraction>[0-9]*))?"
    r"(?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9][0-9]?)(?::(?P<tz_minute>[0-9][0-9]))?))?)?$")


def _timestamp(text: str) -> datetime.date:
    match = _TIMESTAMP.match(text)
    if match is None:
        raise ValueError("not a timestamp")
    parts = match.groupdict()
    year, month, day = int(parts["year"]), int(parts["month"]), int(parts["day"])
    if not parts["hour"]:
        return datetime.date(year, month, day)
    fraction = int((parts["fraction"] or "0")[:6].ljust(6, "0"))
    tz = None
    if parts["tz_sign"]:
        delta = datetime.timedelta(hours=int(parts["tz_hour"]), minutes=int(parts["tz_minute"] or 0))
        tz = datetime.timezone(-delta if parts["tz_sign"] == "-" else delta)
    elif parts["tz"]:
        tz = datetime.timezone.utc
    return datetime.datetime(year, month, day, int(parts["hour"]), int(parts["minute"]),
                             int(parts["second"]), fraction, tzinfo=tz)


def _binary(text: str) -> bytes:
    try:
        return base64.decodebytes(text.encode("ascii"))
    except UnicodeEncodeError as error:
        raise ValueError("binary data must be ASCII") from error


_SCALARS = {
    "str": lambda text: text,
    "null": lambda text: None,
    "bool": lambda text: Constructor._BOOLS[text.lower()],
    "int": _int,
    "float": _float,
    "timestamp": _timestamp,
    "binary": _binary,
}
