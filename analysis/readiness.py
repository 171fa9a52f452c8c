"""Readiness to proxy a task: what a proxied task's run would meet in the peered Dagster.

dagster-airlift's proxy operator asks the Dagster webserver for the task's assets and launches
only the nodes that belong to a job (``_is_asset_node_executable``); with none it fails the
Airflow task. The records here come from the Dagster peering (``server.peering.dagster_watch``);
this module picks the assets a proxy would launch and turns the records into the sentences the
hover, the lens, the proxy edit and the CLI's ``status`` show.
No network, no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from analysis.describe import blocked_in, task_status
from analysis.project import DagEntry, Project


@dataclass(frozen=True, slots=True)
class AssetDefinition:
    """How a loaded code location defines one asset key."""

    key: str
    """Dagster's user string (``raw_data/raw_customers``)."""
    executable: bool
    """In a job of its code location: what the proxy operator can launch (an ``AssetSpec`` alone
    is not)."""
    location: str | None = None


@dataclass(frozen=True, slots=True)
class DagsterSide:
    """What the peering saw at its last poll. ``state``: disabled | connecting | connected |
    unreachable | unauthorized. ``definitions`` holds the keys asked: None where no loaded code
    location defines the key."""

    url: str | None
    state: str
    definitions: Mapping[str, AssetDefinition | None]


def proxy_assets(project: Project, entry: DagEntry, task_id: str | None) -> tuple[str, ...]:
    """The assets a proxy of the task (of every task of the DAG for ``task_id=None``) would
    launch in Dagster: those of the mapped tasks not yet proxied that can be proxied; ``()`` for
    a proxied, unmapped or blocked task (nothing to get ready for). Keys Dagster knows only at
    load (dbt's) are not among them: what Dagster defines cannot be asked of them, so no
    readiness is claimed either way."""
    assets: list[str] = []
    for task in entry.dag.tasks:
        if task_id not in (None, task.task_id) or task.mapped:
            continue
        status = task_status(project, entry, task)
        if status.proxied or status.nothing is not None or blocked_in(project, entry, task, status.stage):
            continue  # not offered for proxying: nothing would launch in Dagster
        assets.extend(project.named_keys(entry.dag_id, task.task_id))
    return tuple(dict.fromkeys(assets))


def not_ready(side: DagsterSide, task_assets: Iterable[str], module_assets: Iterable[str]) -> tuple[str, ...]:
    """Why proxying a task mapped to ``task_assets`` would fail now, one sentence each; ``()``
    when nothing says so (Dagster not configured, not polled yet, or ready). ``module_assets``:
    every asset the Dagster module maps (it is not loaded when Dagster defines none of them)."""
    assets = tuple(dict.fromkeys(task_assets))
    if not assets or side.state in ("disabled", "connecting"):
        return ()
    if side.state == "unreachable":
        return (f"Dagster at {side.url} cannot be reached: a proxied task would fail to launch",)
    if side.state != "connected":
        return ()  # refused credentials: the status line says so; the proxy operator has its own
    known = {key: side.definitions[key] for key in dict.fromkeys(module_assets) if key in side.definitions}
    if known and all(definition is None for definition in known.values()):
        return (f"the Dagster module is not loaded by the Dagster at {side.url}",)
    reasons = []
    for key in assets:
        if key in side.definitions and (side.definitions[key] is None or not side.definitions[key].executable):
            reasons.append(f"`{key}` is not executable in any code location Dagster has loaded: "
                           "scaffold it or reload the code location")
    return tuple(reasons)
