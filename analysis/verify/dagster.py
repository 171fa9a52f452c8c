"""What Dagster loaded from the project's Dagster module, against the static model: the module
loads, every mapped asset exists, every proxied task (or DAG) has an asset Dagster can run.

Pure: the request for the probe (which DAGs and tasks the fake Airflow serves) and the findings.
"""

from __future__ import annotations

from collections.abc import Iterable

from analysis.facts import Finding, Range, Related, Severity
from analysis.project import Project
from analysis.verify.airflow import whole_line
from analysis.verify.records import AirflowReport, DagsterReport

DAGSTER = "verify-dagster"


def airflow_structure(project: Project, report: AirflowReport | None) -> dict[str, list[str]]:
    """The DAGs and tasks the Dagster module sees when it asks Airflow: what Airflow's DagBag
    loaded when there is an Airflow side, else the static model's certain tasks."""
    if report is not None:
        return {dag.dag_id: [t.task_id for t in dag.tasks] for dag in report.dags}
    structure: dict[str, list[str]] = {}
    for entry in project.entries:
        if entry.dag.dynamic or entry.dag.conditional:
            continue
        structure.setdefault(entry.dag_id, []).extend(t.task_id for t in entry.dag.tasks if t.certain)
    return structure


def compare_dagster(project: Project, report: DagsterReport) -> list[Finding]:
    if report.error is not None:
        where = whole_line(report.error_line - 1) if report.error_line else Range.point(0)
        return [Finding(DAGSTER, Severity.ERROR, f"Dagster cannot load this module: {report.error}",
                        report.module, where)]
    findings: list[Finding] = []
    findings += _missing_assets(project, report)
    findings += _nothing_to_run(project, report)
    return findings


def _missing_assets(project: Project, report: DagsterReport) -> Iterable[Finding]:
    keys = {asset.key for asset in report.assets}
    for module in project.dagster_modules.values():
        for mapping in module.mappings:
            for asset in mapping.assets:
                if asset.key not in keys:
                    target = f"`{mapping.dag_id}`" + (f".`{mapping.task_id}`" if mapping.task_id else "")
                    yield Finding(DAGSTER, Severity.ERROR,
                                  f"the loaded Definitions have no asset `{asset.key}`, which this module "
                                  f"maps to {target}", module.path, asset.range)


def _nothing_to_run(project: Project, report: DagsterReport) -> Iterable[Finding]:
    for entry in project.entries:
        state = entry.state
        if state is None or state.error:
            continue
        if state.dag_proxied:
            runnable = [a for a in report.assets if a.executable and entry.dag_id in a.dags]
            if not runnable:
                yield Finding(DAGSTER, Severity.ERROR,
                              f"DAG `{entry.dag_id}` is proxied, but no asset Dagster can run is mapped to it: "
                              "airlift's proxy task fails with \"No asset nodes found to trigger\"",
                              state.path, state.proxied_range or Range.point(0))
            continue
        for task in state.tasks:
            if not task.proxied or state.task(task.task_id) is not task:
                continue
            handle = (entry.dag_id, task.task_id)
            mapped = [a for a in report.assets if handle in a.tasks]
            if any(a.executable for a in mapped):
                continue
            why = (f"its assets ({', '.join(f'`{a.key}`' for a in mapped)}) are only AssetSpecs" if mapped
                   else "no asset is mapped to it")
            related = tuple(Related(m.path, r.range, "mapped here") for m in project.dagster_modules.values()
                            for mp in m.mappings if (mp.dag_id, mp.task_id) == handle for r in mp.assets)
            yield Finding(DAGSTER, Severity.ERROR,
                          f"`{task.task_id}` is proxied, but Dagster has nothing to run for it ({why}): airlift "
                          "fails at run time with \"No asset nodes found to trigger\"",
                          state.path, task.id_range, related)
