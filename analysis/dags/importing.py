"""Import statements: names bound to workspace modules (followed) or qualified names.

``import x`` and ``from x import y`` bind their names in the scope where they run, like Python:
to a ``ModuleValue`` or a value of a workspace module's scope when ``ProjectCode`` finds the
module under the import roots, else to a ``Qualified`` name (``airflow.sdk.DAG``) that the
interpreter recognises by what it means.
"""

from __future__ import annotations

import ast

from analysis.dags.modules import Importer, LoadedModule, ModuleValue, ProjectCode, parse_module
from analysis.dags.scope import Scope
from analysis.dags.values import Const, Qualified, Seq, Unknown, Value


class ImportStatements(Importer):
    """Mixed into the interpreter."""

    code: ProjectCode | None
    module_name: str | None
    path: str
    dependencies: dict[str, str]

    def assign(self, scope: Scope, name: str, value: Value) -> None:  # provided by the interpreter
        raise NotImplementedError

    # -- statements ------------------------------------------------------------------------

    def _exec_Import(self, node: ast.Import, scope: Scope) -> None:
        for alias in node.names:
            if alias.asname:
                module = self.import_module(alias.name)
                self.assign(scope, alias.asname, module or Qualified(alias.name, alias.asname))
                continue
            top = alias.name.split(".", 1)[0]
            module = self.import_module(top)
            if module is not None and "." in alias.name:
                self.import_module(alias.name)  # loads the chain; attribute access finds it
            self.assign(scope, top, module or Qualified(top, top))

    def _exec_ImportFrom(self, node: ast.ImportFrom, scope: Scope) -> None:
        dotted = self._absolute(node)
        module = self.import_module(dotted) if dotted else None
        for alias in node.names:
            if alias.name == "*":
                if module is not None and module.scope is not None:
                    for name, value in self._public(module.scope).items():
                        self.assign(scope, name, value)
                continue
            local = alias.asname or alias.name
            if alias.name == "TYPE_CHECKING" and dotted in ("typing", "typing_extensions"):
                self.assign(scope, local, Const(False))  # imports under it are for type checkers only
                continue
            if module is not None:
                value = module.attribute(alias.name, self)
            elif dotted and not node.level:
                value = Qualified(f"{dotted}.{alias.name}", local)
            else:
                prefix = "." * node.level + (node.module or "")
                value = Qualified(f"{prefix}.{alias.name}" if node.module else f"{prefix}{alias.name}", local)
            self.assign(scope, local, value)

    # -- modules ---------------------------------------------------------------------------

    def import_module(self, dotted: str) -> ModuleValue | None:
        if self.code is None:
            return None
        if "." in dotted:  # Python runs the packages first: `a/__init__.py` before `a/b.py`
            self.import_module(dotted.rsplit(".", 1)[0])
        path, package = self.code.find(dotted)
        if path is None and package is None:
            return None
        if path is None:
            return ModuleValue(dotted, None, None, self.code)  # a namespace package
        loaded = self.code.load(path, dotted, self._run_module)
        if loaded is None:
            return ModuleValue(dotted, path, None, self.code)
        self.dependencies.update(loaded.dependencies)
        return ModuleValue(dotted, path, loaded.scope, self.code)

    def _run_module(self, path: str, text: str, dotted: str, loaded: LoadedModule) -> None:
        tree = parse_module(path, text)
        if tree is None:
            return
        reader = type(self)(path, text, code=self.code, module_name=dotted,  # type: ignore[call-arg]
                            module_scope=loaded.scope)
        reader.run_module(tree)  # type: ignore[attr-defined]
        loaded.dependencies.update(reader.dependencies)

    def _absolute(self, node: ast.ImportFrom) -> str | None:
        """The absolute dotted name of a ``from`` import (relative ones from this module's
        package), or None when this module's package is not known."""
        if not node.level:
            return node.module
        if self.module_name is None:
            return None
        parts = self.module_name.split(".")
        is_package = self.path.endswith("__init__.py")
        drop = node.level - (1 if is_package else 0)
        if drop > len(parts) - (0 if is_package else 0) or (not is_package and drop >= len(parts) + 1):
            return None
        base = parts[:len(parts) - drop] if drop else parts
        if not base and not node.module:
            return None
        return ".".join([*base, *([node.module] if node.module else [])])

    @staticmethod
    def _public(scope: Scope) -> dict[str, Value]:
        exported = scope.vars.get("__all__")
        if isinstance(exported, Seq) and all(isinstance(i, Const) and isinstance(i.value, str) for i in exported.items):
            return {i.value: scope.vars.get(i.value, Unknown(i.value)) for i in exported.items}  # type: ignore[union-attr]
        return {name: value for name, value in scope.vars.items() if not name.startswith("_")}
