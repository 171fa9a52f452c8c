"""What a Dagster module holds that an edit of its mappings must know, read in one libcst pass.

``ModuleCalls`` collects the module's ``assets_with_task_mappings``,
``assets_with_dag_mappings`` and ``build_defs_from_airflow_instance`` calls (names recognised by
what they import), the quotes its strings use, and whether it has star imports.
"""

from __future__ import annotations

import libcst as cst

from analysis.dagster.cst_values import StaticReader


class ModuleCalls(StaticReader):
    """The airlift calls of the module, read while its metadata is at hand; on the way, what
    the new code needs to look like the rest (quotes) and to import names safely (star imports)."""

    def __init__(self) -> None:
        super().__init__()
        self.mapping_calls: list[cst.Call] = []
        self.dag_mapping_calls: list[cst.Call] = []
        self.build_defs_calls: list[cst.Call] = []
        self.quotes: dict[str, int] = {}
        self.star_imports = False

    def visit_SimpleString(self, node: cst.SimpleString) -> None:
        self.quotes[node.quote] = self.quotes.get(node.quote, 0) + 1

    def visit_ImportStar(self, node: cst.ImportStar) -> None:
        self.star_imports = True

    def visit_Call(self, node: cst.Call) -> None:
        for name in self.qualified(node.func):
            parts = name.split(".")
            if parts[0] == "dagster_airlift" and parts[-1] == "assets_with_task_mappings":
                self.mapping_calls.append(node)
            elif parts[0] == "dagster_airlift" and parts[-1] == "assets_with_dag_mappings":
                self.dag_mapping_calls.append(node)
            elif parts[0] == "dagster_airlift" and parts[-1] == "build_defs_from_airflow_instance":
                self.build_defs_calls.append(node)

    def is_definitions(self, node: cst.CSTNode | None) -> bool:
        return isinstance(node, cst.Call) and any(
            name.split(".")[0] == "dagster" and name.endswith(".Definitions")
            for name in self.qualified(node.func))
