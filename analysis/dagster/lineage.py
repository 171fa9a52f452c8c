"""Asset lineage that follows the DAG: what a mapped asset's deps should be.

dagster-airlift draws Dagster's lineage from the specs' ``deps``, not from Airflow's edges: an
asset mapped to ``load`` should depend on the assets mapped to ``load``'s upstream tasks. Only
edges that exist on every import count, and only inline ``AssetSpec(...)`` entries whose deps
are literal can be compared (or kept in step by an edit).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from analysis.dagster.module import AssetRef, key_string
from analysis.facts import DagFacts, TaskFacts

Key = tuple[str, ...]
_UNESCAPED_SLASH = re.compile(r"(?<!\\)/")


def key_parts(user_string: str) -> Key:
    """``key_string`` read back: ``a/b`` → ("a", "b"); ``a\\/b`` → ("a/b",)."""
    return tuple(part.replace("\\/", "/") for part in _UNESCAPED_SLASH.split(user_string))


def certain_upstream(dag: DagFacts, task: TaskFacts) -> list[str]:
    """Upstream tasks joined to ``task`` by an edge that exists on every import."""
    conditional = set(task.conditional_upstream)
    return [u for u in task.upstream if u not in conditional and (up := dag.task(u)) is not None and up.certain]


@dataclass(frozen=True, slots=True)
class Drift:
    task_id: str
    asset: AssetRef
    deps: tuple[Key, ...]
    """What the spec's deps should be: its own, less the stale, plus the missing, in order."""
    missing: tuple[str, ...]
    stale: tuple[str, ...]


def drifts(dag: DagFacts, assets: Mapping[str, Iterable[AssetRef]], keys: Mapping[str, Iterable[str]],
           task_ids: Iterable[str] | None = None) -> list[Drift]:
    """The mapped specs (of ``task_ids``, default every task) whose deps disagree with the DAG.

    ``assets``: each task's mapped assets as the module has them; ``keys``: each task's asset
    keys once the caller's plan is applied (new mappings included)."""
    # An asset set known only at load (dbt's) has no key to write as a dep.
    at_load = {a.key for refs in assets.values() for a in refs if a.at_load}
    keys = {task_id: [k for k in task_keys if k not in at_load] for task_id, task_keys in keys.items()}
    dag_keys = {k for task_keys in keys.values() for k in task_keys}
    found = []
    by_id = {t.task_id: t for t in dag.tasks}
    for task_id in task_ids if task_ids is not None else list(by_id):
        task = by_id.get(task_id)
        if task is None or not task.certain:
            continue
        expected = list(dict.fromkeys(k for u in certain_upstream(dag, task) for k in keys.get(u, ())))
        own = set(keys.get(task_id, ()))
        for asset in assets.get(task_id, ()):
            if asset.deps is None:
                continue
            current = list(asset.deps)
            missing = [k for k in expected if k not in current and k not in own]
            stale = [k for k in current if k in dag_keys and k not in expected and k not in own]
            if missing or stale:
                deps = tuple(key_parts(k) for k in [*(c for c in current if c not in stale), *missing])
                found.append(Drift(task_id, asset, deps, tuple(missing), tuple(stale)))
    return found


__all__ = ["Drift", "certain_upstream", "drifts", "key_parts", "key_string"]
