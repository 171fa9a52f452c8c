"""Facts as bytes and back, for the cache and the worker processes.

Pickle, behind a format header. Each facts dataclass is written as its class and its fields in
order, and read back by calling the class (its own ``__init__``): three times faster both ways
than pickle's default for slotted dataclasses, which calls a Python ``__getstate__`` and
``__setstate__`` per object. The unpickler resolves the classes of ``analysis.facts`` and
nothing else: no callable named in a cache file is ever looked up, let alone called. Anything
that fails to decode is "not cached".
"""

from __future__ import annotations

import copyreg
import dataclasses
import hashlib
import io
import operator
import pickle

import analysis.facts as facts_module
from analysis.facts import FileFacts

FACTS_HEADER = b"airlift-facts/2\n"

_FACT_CLASSES = {name: value for name, value in vars(facts_module).items()
                 if isinstance(value, type) and value.__module__ == facts_module.__name__}


def text_sha1(text: str) -> str:
    """The SHA-1 of a text, as ``FileFacts.dependencies`` records it (``analysis.dags.modules``)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()


def _by_fields(cls: type):
    """``cls``'s reducer: (cls, its fields in ``__init__`` order), when ``__init__`` takes
    exactly its fields positionally; None (pickle's default) otherwise."""
    fields = dataclasses.fields(cls)
    if not fields or any(not f.init or f.kw_only for f in fields):
        return None
    getter = operator.attrgetter(*(f.name for f in fields))
    if len(fields) == 1:
        return lambda value: (cls, (getter(value),))
    return lambda value: (cls, getter(value))


class _FactsPickler(pickle.Pickler):
    dispatch_table = copyreg.dispatch_table.copy()


for _cls in _FACT_CLASSES.values():
    if dataclasses.is_dataclass(_cls) and (_reduce := _by_fields(_cls)) is not None:
        _FactsPickler.dispatch_table[_cls] = _reduce


class _FactsUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if module == facts_module.__name__ and name in _FACT_CLASSES:
            return _FACT_CLASSES[name]
        raise pickle.UnpicklingError(f"{module}.{name} is not a fact class")


def encode_facts(facts: FileFacts) -> bytes:
    out = io.BytesIO()
    out.write(FACTS_HEADER)
    _FactsPickler(out, protocol=5).dump(facts)
    return out.getvalue()


def decode_facts(blob: bytes | None, path: str) -> FileFacts | None:
    """The facts in a payload, or None when it is not ours, not whole, or not about ``path``."""
    if not blob or not blob.startswith(FACTS_HEADER):
        return None
    try:
        facts = _FactsUnpickler(io.BytesIO(memoryview(blob)[len(FACTS_HEADER):])).load()
    except Exception:  # noqa: BLE001 - garbled bytes raise anything; the file is extracted again
        return None
    return facts if isinstance(facts, FileFacts) and facts.path == path else None
