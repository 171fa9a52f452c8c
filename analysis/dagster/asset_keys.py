"""Asset keys as Dagster derives them, read statically from the Dagster module's libcst tree.

``AssetKeyReader`` knows the forms a mapping's asset list holds: ``AssetSpec(key=...)``, a
spec's copies (``replace_attributes(key=...)``), names bound to specs or lists of them, and
``@asset``/``@multi_asset`` functions (``name``, ``key``, ``key_prefix``, ``specs``, ``outs``).
A form it cannot read gives no key and ``complete=False``: never a guessed key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import libcst as cst

from analysis.dagster.cst_values import MAX_DEPTH, StaticReader, arguments

DAGSTER_NAMES = frozenset({"AssetSpec", "AssetKey", "AssetOut", "asset", "multi_asset"})


def key_string(parts: Sequence[str]) -> str:
    """Dagster's user string of an asset key (``AssetKey.to_user_string``): parts joined by
    ``/``, a ``/`` inside a part escaped."""
    return "/".join(part.replace("/", "\\/") for part in parts)


class AssetKeyReader(StaticReader):
    """The asset keys of the expressions of a Dagster module (a ``StaticReader``)."""

    def dict_items(self, node: cst.BaseExpression | None,
                   dynamic: Callable[[cst.CSTNode | None, str], None] | None = None,
                   ) -> Iterator[tuple[str, cst.CSTNode, cst.BaseExpression]]:
        """String-keyed entries of a dict literal (or ``dict(k=...)``), through module names;
        ``dynamic(node, why)`` hears of what cannot be read (the whole value: ``node`` None)."""
        target = self.deref(node)
        if isinstance(target, cst.Call) and self.qualified(target.func) == {"builtins.dict"} \
                and all(arg.keyword is not None for arg in target.args):
            for arg in target.args:
                yield arg.keyword.value, arg.keyword, arg.value
            return
        if not isinstance(target, cst.Dict):
            if dynamic:
                dynamic(node, "the mapping is not a dict literal")
            return
        for element in target.elements:
            if isinstance(element, cst.StarredDictElement):
                if dynamic:
                    dynamic(element, "`**` unpacking is dynamic")
                continue
            key = self.string(element.key)
            if key is None:
                if dynamic:
                    dynamic(element.key, "a key is not a string constant")
                continue
            yield key, element.key, element.value

    def spec_deps(self, node: cst.BaseExpression) -> tuple[str, ...] | None:
        """The deps of an ``AssetSpec(...)`` call written here, if they are literal."""
        if not isinstance(node, cst.Call) or self.dagster_name(node.func) != "AssetSpec":
            return None
        if any(arg.star for arg in node.args):
            return None
        deps = arguments(node, ("key", "deps"))[1]
        if deps is None:
            return ()
        if not isinstance(deps, (cst.List, cst.Tuple)):
            return None
        keys = []
        for element in deps.elements:
            path = self._key_path(element.value, 0) if isinstance(element, cst.Element) else None
            if not path:
                return None
            keys.append(key_string(path))
        return tuple(keys)

    def is_definition(self, node: cst.BaseExpression) -> bool:
        return isinstance(node, cst.Name) and isinstance(self.binding(node), cst.FunctionDef)

    def _sequence_keys(self, node: cst.BaseExpression, depth: int) -> tuple[list[list[str]], bool]:
        node = self.deref(node, depth)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Add):
            left, left_ok = self._sequence_keys(node.left, depth + 1)
            right, right_ok = self._sequence_keys(node.right, depth + 1)
            return left + right, left_ok and right_ok
        if not isinstance(node, (cst.List, cst.Tuple)) or depth > MAX_DEPTH:
            return [], False
        keys, complete = [], True
        for element in node.elements:
            found, ok = (self._sequence_keys(element.value, depth + 1)
                         if isinstance(element, cst.StarredElement)
                         else self._item_keys(element.value, depth + 1))
            keys.extend(found)
            complete &= ok
        return keys, complete

    def _item_keys(self, node: cst.BaseExpression, depth: int) -> tuple[list[list[str]], bool]:
        """One asset list item: an ``AssetSpec``, or a name bound to one, to a list of them, or
        to an ``@asset``/``@multi_asset`` function."""
        if depth > MAX_DEPTH:
            return [], False
        if isinstance(node, cst.Name):
            binding = self.binding(node)
            if isinstance(binding, cst.FunctionDef):
                return self._decorated_keys(binding, depth)
            if isinstance(binding, (cst.List, cst.Tuple)):  # a name for several specs
                return self._sequence_keys(binding, depth + 1)
            return self._item_keys(binding, depth + 1) if binding is not None else ([], False)
        if not isinstance(node, cst.Call):
            return [], False
        if self.dagster_name(node.func) == "AssetSpec":
            key = arguments(node, ("key",))[0]
            path = self._key_path(key, depth) if key is not None else None
            return ([path], True) if path else ([], False)
        # A spec's copy keeps its key unless ``replace_attributes(key=...)`` sets another.
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in (
                "with_io_manager_key", "merge_attributes", "replace_attributes"):
            new_key = next((a.value for a in node.args if a.keyword and a.keyword.value == "key"), None)
            if new_key is not None:
                path = self._key_path(new_key, depth)
                return ([path], True) if path else ([], False)
            return self._item_keys(node.func.value, depth + 1)
        return [], False

    def _decorated_keys(self, function: cst.FunctionDef, depth: int) -> tuple[list[list[str]], bool]:
        """Keys of an ``@asset`` or ``@multi_asset`` function, as Dagster derives them."""
        if len(function.decorators) != 1:  # another decorator may wrap it into anything
            return [], False
        decorator = function.decorators[0].decorator
        call = decorator if isinstance(decorator, cst.Call) else None
        kind = self.dagster_name(call.func if call else decorator)
        if call is not None and any(a.keyword is None for a in call.args):
            return [], False  # positional or **kwargs arguments: not a form we can read
        options = {a.keyword.value: a.value for a in call.args} if call else {}
        if kind == "asset":
            if "key" in options:
                path = None if {"name", "key_prefix"} & options.keys() else self._key_path(options["key"], depth)
                return ([path], True) if path else ([], False)
            name = self.string(options["name"]) if "name" in options else function.name.value
            prefix = self._prefix(options.get("key_prefix"), depth)
            if name is None or prefix is None:
                return [], False
            return [[part for part in [*prefix, name] if part]], True
        if kind == "multi_asset" and ("specs" in options) != ("outs" in options):
            if "specs" in options:
                return self._sequence_keys(options["specs"], depth + 1)
            keys, complete = [], True
            for out_name, _, out in self.dict_items(options["outs"]):
                out_options = {a.keyword.value: a.value for a in getattr(out, "args", ()) if a.keyword}
                if not isinstance(out, cst.Call) or self.dagster_name(out.func) != "AssetOut":
                    complete = False
                elif "key" in out_options:
                    path = self._key_path(out_options["key"], depth)
                    keys.extend([path] if path else [])
                    complete &= path is not None
                else:
                    prefix = self._prefix(out_options.get("key_prefix"), depth)
                    keys.extend([[p for p in [*prefix, out_name] if p]] if prefix is not None else [])
                    complete &= prefix is not None
            return keys, complete and self.is_str_dict(options["outs"])
        return [], False

    def _key_path(self, node: cst.BaseExpression, depth: int) -> list[str] | None:
        """``AssetKey.from_coercible``: a string is ONE part, even with a slash in it."""
        node = self.deref(node, depth)
        text = self.string(node)
        if text is not None:
            return [text]
        if isinstance(node, (cst.List, cst.Tuple)):
            parts = [self.string(e.value) if isinstance(e, cst.Element) else None
                     for e in node.elements]
            return parts if parts and None not in parts else None
        if isinstance(node, cst.Call) and self.dagster_name(node.func) == "AssetKey":
            path = arguments(node, ("path",))[0]
            return self._key_path(path, depth + 1) if path is not None else None
        if (isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute)
                and node.func.attr.value == "from_user_string"
                and self.dagster_name(node.func.value) == "AssetKey" and len(node.args) == 1):
            text = self.string(node.args[0].value)
            return text.split("/") if text is not None else None
        return None

    def _prefix(self, node: cst.BaseExpression | None, depth: int) -> list[str] | None:
        """A ``key_prefix``: absent, a string, or a list of strings (``key_prefix_from_coercible``)."""
        if node is None:
            return []
        path = self._key_path(node, depth)
        return None if path is None or isinstance(self.deref(node, depth), cst.Call) else path

    def dagster_name(self, node: cst.CSTNode) -> str | None:
        """``AssetSpec``, ``AssetKey``, ``AssetOut``, ``asset``, ``multi_asset`` from dagster."""
        for name in self.qualified(node):
            parts = name.split(".")
            if parts[0] == "dagster" and parts[-1] in DAGSTER_NAMES:
                return parts[-1]
        return None
