"""DAGs as the peered Airflow has them: what the static model cannot read, made known anyway.

Some DAGs are built by code static reading cannot follow (a package outside the workspace, a
database read at import). When peering is on, Airflow's REST API lists every deployed DAG with
its file (``fileloc``) and tasks; nothing is executed here. A deployed DAG that the static model
misses, or reads only in part (dynamic ids), joins the project as a DAG whose ``source`` is
``"airflow"``, tied to its workspace file by ``fileloc``: it can be mapped, proxied and rolled
back like any other (those edits touch only the state YAML and the Dagster module). Where a
deployed DAG and its local file disagree, the findings say so.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, replace

from analysis.facts import DagFacts, FileFacts, Finding, Range, Severity, TaskFacts


@dataclass(frozen=True, slots=True)
class DeployedTask:
    task_id: str
    operator: str
    downstream: tuple[str, ...] = ()
    mapped: bool = False
    """Airflow's ``is_mapped`` (``.expand``): airlift cannot proxy it."""


@dataclass(frozen=True, slots=True)
class DeployedDag:
    dag_id: str
    fileloc: str | None
    tasks: tuple[DeployedTask, ...]
    version: str | None = None
    """What changes when Airflow parses the DAG again (its last parsed time, or version)."""


def file_for(fileloc: str | None, files: Iterable[str], dag_roots: Iterable[str]) -> str | None:
    """The workspace file Airflow's ``fileloc`` names: the deployment's DAG folder is another
    path on another machine, so the longest tail of ``fileloc`` that is a path under one of the
    DAG folders wins (``/opt/airflow/dags/sales/orders.py`` -> ``<dags>/sales/orders.py``)."""
    if not fileloc:
        return None
    known = files if isinstance(files, (set, frozenset, dict)) else set(files)  # no copy per DAG
    parts = fileloc.replace("\\", "/").split("/")
    for start in range(len(parts)):  # down to the file name: a DAG at the top of the DAG folder
        if not parts[start]:
            continue
        tail = os.path.join(*parts[start:])
        for root in dag_roots:
            candidate = os.path.normpath(os.path.join(root, tail))
            if candidate in known:
                return candidate
    return None


def deployed_facts(deployed: DeployedDag, file: FileFacts, static: DagFacts | None) -> DagFacts:
    """The DAG as Airflow has it, with the static model's ranges where it knows the same task
    (elsewhere the DAG's, or the file's first line)."""
    upstream: dict[str, list[str]] = {t.task_id: [] for t in deployed.tasks}
    for task in deployed.tasks:
        for down in task.downstream:
            upstream.setdefault(down, []).append(task.task_id)
    where = static.range if static is not None else Range.point(0)
    known = {t.task_id: t for t in static.tasks} if static is not None else {}
    tasks = []
    for task in deployed.tasks:
        mine = known.get(task.task_id)
        base = mine if mine is not None and mine.certain else TaskFacts(task.task_id, task.operator, where)
        tasks.append(replace(base, upstream=tuple(sorted(upstream.get(task.task_id, ()))), dynamic=False,
                             conditional=False, condition=None, conditional_upstream=(),
                             mapped=base.mapped or task.mapped,
                             group_id=base.group_id or task.task_id.rpartition(".")[0] or None,
                             group_prefixed="." in task.task_id))
    if static is not None:
        return replace(static, tasks=tuple(tasks), dynamic=False, source="airflow")
    return DagFacts(dag_id=deployed.dag_id, range=where, tasks=tuple(tasks), source="airflow")


def merge(files: dict[str, FileFacts], dag_roots: list[str],
          deployed: Iterable[DeployedDag]) -> dict[str, list[DagFacts]]:
    """Per workspace file, the DAGs the deployment adds to (or completes in) the static model:
    a DAG the model misses, or one whose id or tasks it reads only in part."""
    added: dict[str, list[DagFacts]] = {}
    for dag in deployed:
        path = file_for(dag.fileloc, files, dag_roots)
        if path is None:
            continue
        static = files[path].dag(dag.dag_id)
        if static is not None and not static.dynamic:
            continue  # the model reads it whole: `differences` compares the two
        added.setdefault(path, []).append(deployed_facts(dag, files[path], static))
    return added


def differences(files: dict[str, FileFacts], dag_roots: list[str], deployed: Iterable[DeployedDag]) -> list[Finding]:
    """Where a file the model reads whole disagrees with the DAG Airflow runs from it."""
    findings = []
    for dag in deployed:
        path = file_for(dag.fileloc, files, dag_roots)
        static = files[path].dag(dag.dag_id) if path is not None else None
        if static is None or static.dynamic:
            continue
        local = {t.task_id for t in static.tasks if t.certain}
        remote = {t.task_id for t in dag.tasks}
        if local == remote or not local - remote and not remote - {t.task_id for t in static.tasks}:
            continue
        parts = []
        if local - remote:
            parts.append("tasks only in the file: " + ", ".join(f"`{t}`" for t in sorted(local - remote)[:5]))
        if remote - local:
            parts.append("tasks only in Airflow: " + ", ".join(f"`{t}`" for t in sorted(remote - local)[:5]))
        findings.append(Finding(
            "unrecognized-dag-file", Severity.INFORMATION,
            f"the local file differs from the DAG `{dag.dag_id}` Airflow runs ({'; '.join(parts)}): "
            f"not deployed yet, or built by code static reading cannot follow?",
            path, static.id_range or static.range))  # type: ignore[arg-type]
    return findings
