"""Edits of a large Dagster module, made with its assets' bodies set aside.

Mapping or scaffolding one task rewrites a module whose bulk is the bodies of the assets
scaffolded before; libcst's metadata over all of them made each edit cost seconds on a module of
60 assets (``bench/dagster_module.py``). ``edit_with_bodies_aside`` runs the edit on the text
with those bodies set aside (``analysis.dagster.bodies.set_aside``: each one a string literal over
the same lines, kept where an edit could need what it reads), then puts the bodies back. When
the edit did not keep every set-aside body's place exactly once, it runs again on the whole text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from analysis.dagster.bodies import set_aside
from analysis.edits.result import EditResult, check_output


def edit_with_bodies_aside(text: str | None, edit: Callable[[str | None], EditResult],
                           what: str, words: Sequence[str] = (), every_function: bool = False,
                           keep_lines: Sequence[int] = ()) -> EditResult:
    """``edit(text)``, made on ``text`` (``what``, for messages) with its bodies set aside; a body
    with a word starting with one of ``words`` (the names the edit may import, and their aliases)
    stays, so that the edit sees every use of them. ``every_function``: the bodies of undecorated
    functions too (a DAG file's callables); ``keep_lines`` (0-based): a body holding one stays."""
    aside = set_aside(text, for_edit=True, words=words, every_function=every_function,
                      keep_lines=keep_lines) if text is not None else None
    if aside is None:
        return edit(text)
    result = edit(aside.text)
    if result.text is None:  # refused: the reasons name the module's mappings, never a body
        return result
    if not result.changed:
        return EditResult.nothing_to_do(text, result.reason) if result.text == aside.text else edit(text)
    restored = aside.restore(result.text)
    if restored is None:  # a set-aside function removed or copied: edit the whole text
        return edit(text)
    checked = check_output(restored, what)
    return EditResult(restored, True, result.reason) if checked.changed else checked
