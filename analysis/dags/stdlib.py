"""Pure functions and constants of the standard library that project code builds ids with:
``string.ascii_lowercase[:5]``, ``re.sub(r"\\W+", "_", name)``, ``hashlib.md5(name.encode())
.hexdigest()[:8]``, ``json.dumps(config)``, ``textwrap.dedent(...)``. Each is applied to
constants only, with bounded sizes (a pattern is compiled with Python's own ``re``)."""

from __future__ import annotations

import hashlib
import json
import re
import string
import textwrap
from typing import Any

from analysis.dags.folding import MAX_STRING
from analysis.dags.values import Const, Seq, Unknown, Value, is_known, to_python

CONSTANTS = {f"string.{name}": getattr(string, name) for name in (
    "ascii_letters", "ascii_lowercase", "ascii_uppercase", "digits", "hexdigits", "octdigits",
    "punctuation", "whitespace", "printable")}

_HASHES = {"hashlib.md5": hashlib.md5, "hashlib.sha1": hashlib.sha1, "hashlib.sha256": hashlib.sha256,
           "hashlib.sha512": hashlib.sha512, "hashlib.blake2b": hashlib.blake2b}


class Digest:
    """What ``hashlib.md5(data)`` returns, enough for ``.hexdigest()`` and ``.digest()``."""

    __slots__ = ("hex", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.hex = raw.hex()


def _re_sub(pattern: str, repl: str, text: str, count: int = 0, flags: int = 0) -> str:
    return re.sub(pattern, repl, text, count=count, flags=flags)


_FUNCTIONS: dict[str, Any] = {
    "re.sub": _re_sub,
    "re.split": lambda pattern, text, maxsplit=0, flags=0: re.split(pattern, text, maxsplit=maxsplit, flags=flags),
    "re.findall": lambda pattern, text, flags=0: re.findall(pattern, text, flags=flags),
    "re.escape": re.escape,
    "textwrap.dedent": textwrap.dedent,
    "json.dumps": lambda value, **options: json.dumps(value, **{k: v for k, v in options.items()
                                                               if k in ("sort_keys", "indent", "separators")}),
}


def stdlib_call(name: str, args: list[Value], kwargs: dict[str, Value], node: Any) -> Value | None:
    """The result of a pure standard-library call on constants; None when ``name`` is none of them."""
    if name in _HASHES:
        if len(args) == 1 and isinstance(args[0], Const) and isinstance(args[0].value, bytes):
            return Const(Digest(_HASHES[name](args[0].value).digest()))
        return Unknown(node)
    function = _FUNCTIONS.get(name)
    if function is None:
        return None
    if not (all(is_known(a) for a in args) and all(is_known(v) for v in kwargs.values())):
        return Unknown(node)
    plain = [to_python(a) for a in args]
    if any(isinstance(p, str) and len(p) > MAX_STRING for p in plain):
        return Unknown(node)
    try:
        result = function(*plain, **{k: to_python(v) for k, v in kwargs.items()})
    except Exception:  # noqa: BLE001 - a bad pattern fails at import for the project too
        return Unknown(node)
    if isinstance(result, list):
        return Seq([Const(v) for v in result])
    if isinstance(result, str) and len(result) > MAX_STRING:
        return Unknown(node)
    return Const(result)


def digest_method(digest: Digest, name: str) -> Value | None:
    if name == "hexdigest":
        return Const(digest.hex)
    if name == "digest":
        return Const(digest.raw)
    return None
