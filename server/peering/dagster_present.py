"""What the editor and the CLI show of the Dagster side: pure functions of a ``DagsterView`` and
the Airflow ``RunHistory``. No I/O, no clock: ``now`` is passed in."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.peering.dagster_client import DagsterRun, Materialization
from server.peering.dagster_watch import DagsterView
from server.peering.history import RunHistory
from server.peering.present import ago, state_icon
from server.peering.records import format_time

RUN_ICONS = {"SUCCESS": "✓", "FAILURE": "✗", "CANCELED": "✗", "CANCELING": "✗", "QUEUED": "⏳",
             "NOT_STARTED": "⏳", "STARTING": "⏳", "STARTED": "⏳", "MANAGED": "○"}


def short_id(run_id: str) -> str:
    """As the Dagster UI shows run ids: the first 8 characters."""
    return run_id[:8]


def drun_json(run: DagsterRun | None) -> dict[str, Any] | None:
    """A ``DRUN`` of ``status --json`` (docs/json.md)."""
    if run is None:
        return None
    return {"run_id": run.run_id, "status": run.status, "start_time": format_time(run.start_time),
            "end_time": format_time(run.end_time)}


def status_text(view: DagsterView) -> str:
    if view.state == "disabled":
        return "Dagster: not configured (set dagster.url)"
    if view.state == "connecting":
        return f"Dagster: connecting to {view.base_url}"
    if view.state == "connected":
        return f"Dagster: connected to {view.base_url}"
    return f"Dagster: {view.state} — {view.error}"


def run_text(run: DagsterRun) -> str:
    """``✓ SUCCESS ab12cd34``: for the CLI's status lines."""
    return f"{RUN_ICONS.get(run.status, '○')} {run.status} {short_id(run.run_id)}"


def lens_prefix(view: DagsterView, history: RunHistory, dag_id: str, task_id: str) -> str:
    """``"✗ Dagster run ab12cd34 FAILURE"`` when the task's last Airflow run launched a Dagster
    run that failed; ``""`` otherwise (a good run is the Airflow lens's ✓ already)."""
    run = view.run_for(history, dag_id, task_id)
    if run is None or not run.failed:
        return ""
    return f"✗ Dagster run {short_id(run.run_id)} {run.status}"


def _link(label: str, url: str | None, markdown: bool) -> str:
    return f"[{label}]({url})" if markdown and url else label


def _code(text: str, markdown: bool) -> str:
    return f"`{text}`" if markdown and "`" not in text else text


def _materialized(found: list[Materialization], run: DagsterRun | None, markdown: bool, now: datetime) -> list[str]:
    parts = []
    for item in found:
        when = f" {ago(item.timestamp, now)}" if item.timestamp else ""
        by = "" if run is not None and item.run_id == run.run_id else f" by run {_code(short_id(item.run_id), markdown)}"
        parts.append(f"materialized {_code(item.asset_key, markdown)}{when}{by}")
    return parts


def hover_section(view: DagsterView, history: RunHistory, dag_id: str, task_id: str, assets: tuple[str, ...],
                  markdown: bool, now: datetime) -> str:
    """"Airflow run 2026-12-01 ✓ → Dagster run ab12cd ✓ materialized raw_data/raw_customers
    3 min ago", with links to both UIs; ``""`` when Dagster is not configured."""
    if view.state == "disabled":
        return ""
    title = "**Dagster**" if markdown else "Dagster:"
    separator = "\n\n---\n\n" if markdown else "\n\n"
    lines: list[str] = []
    if not view.reachable:
        note = status_text(view)
        lines.append(f"*{note}*" if markdown else note)
    run = view.run_for(history, dag_id, task_id)
    found = [m for key in assets if (m := view.materializations.get(key)) is not None]
    if run is not None:
        airflow_run = next((r for r in history.runs(dag_id) if r.run_id == run.airflow_run_id), None)
        airflow_ti = next((ti for r, ti in history.task_runs(dag_id, task_id) if r.run_id == run.airflow_run_id),
                          None)
        when = (airflow_run.logical_date or airflow_run.run_after or airflow_run.start_date) if airflow_run else None
        state = airflow_ti.state if airflow_ti else (airflow_run.state if airflow_run else None)
        label = ("Airflow run" + (f" {when:%Y-%m-%d}" if when else "")
                 + f" {_code(run.airflow_run_id or '?', markdown)} {state_icon(state)}")
        line = (_link(label, history.ui_url(dag_id, task_id if airflow_ti else None, run.airflow_run_id), markdown)
                + " → " + _link(f"Dagster run {_code(short_id(run.run_id), markdown)} "
                                f"{RUN_ICONS.get(run.status, '○')} {run.status}", view.run_url(run.run_id), markdown))
        ours = [m for m in found if m.run_id == run.run_id]
        extra = _materialized(ours, run, markdown, now)
        if extra:
            line += " " + ", ".join(extra)
        lines.append(line)
        found = [m for m in found if m.run_id != run.run_id]
    elif view.reachable and assets and all(key in view.materializations and view.materializations[key] is None
                                           for key in assets):
        lines.append("No materialization in Dagster yet of " + ", ".join(_code(a, markdown) for a in assets))
    if found:
        lines.append("Last " + ", ".join(_materialized(found, None, markdown, now)))
    if not lines:
        return ""
    bullet = "- " if markdown else ""
    return separator + title + ("\n\n" if markdown else "\n") + "\n".join(bullet + line for line in lines)
