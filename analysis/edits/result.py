"""What every edit returns, and the guards every edit passes through.

An edit is a pure function from text to an ``EditResult``: the new full text, whether anything
changed, and in one sentence why not. "Does not apply" is a result, never an exception, so a
caller (code action, CLI) can show the reason as it is. ``parse`` refuses input that cannot be
edited safely, ``check_output`` output that Python would reject. The libcst plumbing the edits
share is in ``layout`` (new code in the module's style) and ``imports``.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

import libcst as cst


@dataclass(frozen=True, slots=True)
class EditResult:
    text: str | None
    """The new full text; the input text when nothing changed; None when refused."""
    changed: bool
    """False: already done (idempotent) or refused."""
    reason: str | None = None
    """Why refused, or why nothing changed: one clear sentence."""

    @classmethod
    def done(cls, text: str) -> EditResult:
        return cls(text, True)

    @classmethod
    def nothing_to_do(cls, text: str | None, reason: str) -> EditResult:
        return cls(text, False, reason)

    @classmethod
    def refuse(cls, reason: str) -> EditResult:
        return cls(None, False, reason)

    @property
    def refused(self) -> bool:
        return self.text is None and self.reason is not None


# -- parsing ---------------------------------------------------------------------------------------


def parse(text: str, what: str) -> cst.Module | str:
    """The module, or a one-sentence reason it cannot be edited safely.

    Python's own parser decides what is valid (libcst accepts a few things CPython rejects,
    and places errors less precisely); libcst then gives the tree the rewrite works on.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(text)
    except SyntaxError as error:
        return f"{what} has a syntax error on line {error.lineno or 1} ({error.msg}): fix it first"
    except (ValueError, MemoryError, RecursionError) as error:
        return f"{what} cannot be parsed ({error}): fix it first"
    try:
        module = cst.parse_module(text)
        module.config_for_parsing  # noqa: B018 -- raises where no new code could be parsed beside it
        return module
    except ValueError as error:  # its first indented line starts with a form feed
        return f"{what} cannot be edited: libcst reads its indentation as invalid ({error}); remove the form feed"
    except cst.ParserSyntaxError as error:
        return f"{what} cannot be parsed by libcst (line {error.raw_line}: {error.message})"
    except (MemoryError, RecursionError):
        return f"{what} nests too deeply to edit"


def check_output(code: str, what: str) -> EditResult:
    """Last guard before handing text back: an edit never produces a file Python rejects."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(code)
    except (SyntaxError, ValueError) as error:  # a bug of ours: refuse rather than break the file
        return EditResult.refuse(f"the edit of {what} would not be valid Python ({error}); "
                                 "please report this")
    return EditResult.done(code)

