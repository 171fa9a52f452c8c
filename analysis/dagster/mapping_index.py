"""What a project's Dagster modules map, read once per set of modules: every mapping's assets by
(DAG, task), and the operator classes they port (``AIRFLOW_OPERATOR_PORTS``) or run as their base.
``Project`` asks it for one task at a time (lenses, hovers, ``check``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # libcst loads with the module reader, not with this index
    from analysis.dagster.module import AssetRef, DagsterModule


@dataclass(frozen=True, slots=True)
class MappingIndex:
    """Every mapping's assets by (DAG, task), and the modules they were read from: rebuilt when
    ``dagster_modules`` holds other modules (they are immutable values: equal ones, compared by
    identity first, index the same), so that asking for one task's assets does not read every
    mapping of the project."""

    modules: tuple[DagsterModule, ...]
    refs: dict[tuple[str, str | None], tuple[AssetRef, ...]]
    keys: dict[tuple[str, str | None], tuple[str, ...]]
    """As ``DagsterModule.assets_for`` gives them, module after module."""
    ports: dict[str, str]
    """``Project.ports``: read once per set of modules (``check`` asks for every task)."""
    bases: dict[str, str]
    """``Project.port_bases``, read with them."""

    @staticmethod
    def of(modules: tuple[DagsterModule, ...]) -> MappingIndex:
        refs: dict[tuple[str, str | None], list[AssetRef]] = {}
        keys: dict[tuple[str, str | None], list[str]] = {}
        for module in modules:
            module_keys: dict[tuple[str, str | None], dict[str, None]] = {}
            for mapping in module.mappings:
                task = (mapping.dag_id, mapping.task_id)
                refs.setdefault(task, []).extend(mapping.assets)
                module_keys.setdefault(task, {}).update(dict.fromkeys(a.key for a in mapping.assets))
            for task, found in module_keys.items():
                keys.setdefault(task, []).extend(found)
        ports: dict[str, str] = {}
        bases: dict[str, str] = {}
        for module in modules:  # the first module that names a class decides, a port or a base
            taken = ports.keys() | bases.keys()
            ports.update((operator, function) for operator, function in module.ports if operator not in taken)
            bases.update((operator, base) for operator, base in module.bases if operator not in taken)
        return MappingIndex(modules, {task: tuple(found) for task, found in refs.items()},
                             {task: tuple(found) for task, found in keys.items()}, ports, bases)
