"""``parse_dagster_module`` never raises, whatever text an editor buffer holds."""

from __future__ import annotations

import pytest

from analysis.dagster.module import parse_dagster_module
from analysis.facts import Range


@pytest.mark.parametrize(("text", "where"), [
    ('from dagster import AssetSpec\nNAME = "\ud800"\n', Range.of(1, 8, 1, 9)),
    ('x = 1\r# é \udfff\r', Range.of(1, 4, 1, 5)),  # \r ends a line, as in Python and LSP
    ("\udc80", Range.of(0, 0, 0, 1)),
])
def test_a_lone_surrogate_is_reported_where_it_is(text: str, where: Range) -> None:
    # An editor buffer can hold one (a JSON "\ud800" escape decodes to it); UTF-8 cannot.
    module = parse_dagster_module("defs.py", text)
    assert module.mappings == ()
    assert "lone surrogate" in module.error and f"line {where.start.line + 1}" in module.error
    assert module.error_range == where


def test_surrogate_pairs_written_as_escapes_are_fine() -> None:
    module = parse_dagster_module("defs.py", 'NAME = "\\ud83d\\ude00"\n')
    assert module.error is None
