"""What the editor and the CLI show of Airflow runs: pure functions of a ``RunHistory``.

Hover text (Markdown or plain), code-lens prefixes, and the ``airflow`` / ``last_run`` parts of
``airlift-lsp status --json`` (docs/json.md). No I/O, no clock: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from server.peering.history import PeeringStatus, RunHistory
from server.peering.records import DagRun, TaskInstance, format_time

STATE_ICONS = {
    "success": "✓",
    "failed": "✗",
    "upstream_failed": "✗",
    "running": "⏳",
    "queued": "⏳",
    "scheduled": "⏳",
    "deferred": "⏳",
    "awaiting_input": "⏳",
    "up_for_retry": "↻",
    "up_for_reschedule": "↻",
    "restarting": "↻",
    "skipped": "↷",
    "removed": "–",
}
NO_STATE_ICON = "○"

_SEVERITY = ["failed", "upstream_failed", "up_for_retry", "restarting", "running", "deferred",
             "awaiting_input", "up_for_reschedule", "queued", "scheduled", None, "removed", "skipped",
             "success"]
"""For a mapped task's runs: the state shown is the first of its instances' states here."""


def state_icon(state: str | None) -> str:
    return STATE_ICONS.get(state or "", NO_STATE_ICON)


def state_text(state: str | None) -> str:
    return state or "no status"


def ago(then: datetime, now: datetime) -> str:
    seconds = (now - then).total_seconds()
    if seconds < 0:
        return "just now"
    if seconds < 60:
        return f"{int(seconds)} s ago" if seconds >= 10 else "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        minutes, rest = divmod(int(seconds), 60)
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, rest = divmod(int(seconds), 3600)
    return f"{hours} h {rest // 60} min"


def when_text(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _code(text: str, markdown: bool) -> str:
    if not markdown:
        return text
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def _link(label: str, url: str | None, markdown: bool) -> str:
    if not markdown or not url:
        return label
    return f"[{label}]({url})"


# -- one run or task instance, as a line ---------------------------------------------------------

def _summary(instances: Sequence[TaskInstance]) -> TaskInstance:
    """One instance for a run: itself, or for a mapped task the worst state over its map indexes
    with the span of their times."""
    if len(instances) == 1:
        return instances[0]
    worst = min(instances, key=lambda ti: _SEVERITY.index(ti.state) if ti.state in _SEVERITY else 0)
    starts = [ti.start_date for ti in instances if ti.start_date]
    ends = [ti.end_date for ti in instances if ti.end_date]
    finished = all(ti.end_date for ti in instances)
    return TaskInstance(worst.dag_id, worst.run_id, worst.task_id, worst.state,
                        min(starts) if starts else None, max(ends) if ends and finished else None,
                        max(ti.try_number for ti in instances), -1)


def _line(state: str | None, run_id: str, start: datetime | None, seconds: float | None,
          try_number: int | None, url: str | None, markdown: bool, now: datetime | None,
          mapped: int = 0) -> str:
    parts = [f"{state_icon(state)} {('**' + state_text(state) + '**') if markdown else state_text(state)}",
             _link(_code(run_id, markdown), url, markdown)]
    if start is not None:
        parts.append(f"started {when_text(start)}" + (f" ({ago(start, now)})" if now else ""))
    else:
        parts.append("not started")
    if seconds is not None:
        parts.append(duration_text(seconds))
    if try_number:
        parts.append(f"try {try_number}")
    if mapped > 1:
        parts.append(f"{mapped} mapped instances")
    line = " · ".join(parts)
    if markdown:
        return f"- {line}"
    return line + (f"\n    {url}" if url else "")


def task_runs_markdown(history: RunHistory, dag_id: str, task_id: str, markdown: bool = True, *,
                       now: datetime | None = None, limit: int = 5) -> str:
    """The task's last runs, newest first, each with a link to the task in the Airflow UI."""
    by_run: dict[str, tuple[DagRun, list[TaskInstance]]] = {}
    for run, ti in history.task_runs(dag_id, task_id):
        by_run.setdefault(run.run_id, (run, []))[1].append(ti)
    title = (f"**Airflow** · last runs of {_code(task_id, True)}" if markdown
             else f"Airflow: last runs of {task_id}")
    if not by_run:
        return title + ("\n\n" if markdown else "\n") + "No runs in Airflow yet."
    lines = []
    for run, instances in list(by_run.values())[:limit]:
        ti = _summary(instances)
        map_index = instances[0].map_index if len(instances) == 1 else -1
        url = history.ui_url(dag_id, task_id, run.run_id, map_index)
        lines.append(_line(ti.state, run.run_id, ti.start_date, ti.duration, ti.try_number, url, markdown,
                           now, mapped=len(instances)))
    return title + ("\n\n" if markdown else "\n") + "\n".join(lines)


def dag_runs_markdown(history: RunHistory, dag_id: str, markdown: bool = True, *, now: datetime | None = None,
                      limit: int = 5) -> str:
    """The DAG's last runs, newest first, each with a link to the run in the Airflow UI."""
    runs = history.runs(dag_id)[:limit]
    title = (f"**Airflow** · last runs of {_code(dag_id, True)}" if markdown
             else f"Airflow: last runs of {dag_id}")
    if not runs:
        return title + ("\n\n" if markdown else "\n") + "No runs in Airflow yet."
    lines = []
    for run in runs:
        seconds = (max(0.0, (run.end_date - run.start_date).total_seconds())
                   if run.start_date and run.end_date else None)
        lines.append(_line(run.state, run.run_id, run.start_date, seconds, None,
                           history.ui_url(dag_id, None, run.run_id), markdown, now))
    return title + ("\n\n" if markdown else "\n") + "\n".join(lines)


def lens_prefix(history: RunHistory, dag_id: str, task_id: str | None, now: datetime) -> str:
    """``"✓ success 3 min ago"`` for the last run of the task (or DAG when ``task_id`` is None);
    ``""`` when there is none."""
    if task_id is None:
        run = history.last_run(dag_id)
        if run is None:
            return ""
        state, start, end = run.state, run.start_date, run.end_date
    else:
        found = history.task_runs(dag_id, task_id)
        if not found:
            return ""
        newest = found[0][0].run_id
        ti = _summary([t for r, t in found if r.run_id == newest])
        state, start, end = ti.state, ti.start_date, ti.end_date
    label = f"{state_icon(state)} {state_text(state)}"
    if end is not None:
        return f"{label} {ago(end, now)}"
    if start is not None and state in ("running", "deferred", "up_for_retry", "restarting", "awaiting_input"):
        return f"{label} since {ago(start, now).removesuffix(' ago')}"
    if start is not None:
        return f"{label} {ago(start, now)}"
    return label


def status_text(status: PeeringStatus) -> str:
    """One line about the connection, for hovers and the status bar."""
    if status.state == "disabled":
        return "Airflow: not configured (set airflow.url)"
    if status.state == "connecting":
        return f"Airflow: connecting to {status.url}"
    if status.state == "connected":
        version = f" (Airflow {status.airflow_version})" if status.airflow_version else ""
        return f"Airflow: connected to {status.url}{version}"
    return f"Airflow: {status.state} — {status.error}"


def hover_section(history: RunHistory, status: PeeringStatus, dag_id: str, task_id: str | None,
                  markdown: bool, now: datetime) -> str:
    """What a hover appends for a DAG or task: a rule, then the last runs (and a line about the
    connection when it is not healthy). ``""`` when peering is off."""
    if status.state == "disabled":
        return ""
    body = (task_runs_markdown(history, dag_id, task_id, markdown, now=now) if task_id
            else dag_runs_markdown(history, dag_id, markdown, now=now))
    if status.state == "connecting" and not history.dag_runs:
        body = status_text(status)
    elif status.state != "connected":
        note = status_text(status)
        note = f"*{note}*" if markdown else note
        # Runs seen before the connection broke are still worth showing; with none seen, Airflow
        # was not asked, and "No runs in Airflow yet" would claim what nobody knows.
        seen = history.task_runs(dag_id, task_id) if task_id else history.runs(dag_id)
        body = note + ("\n\n" if markdown else "\n") + body if seen else note
    return ("\n\n---\n\n" if markdown else "\n\n") + body


# -- status --json -------------------------------------------------------------------------------

def status_json(status: PeeringStatus) -> dict[str, Any]:
    """The ``airflow`` object of ``status --json``."""
    return {"url": status.url, "api_version": status.api_version, "reachable": status.reachable,
            "error": None if status.reachable or status.state == "disabled" else status.error}


def run_json(record: DagRun | TaskInstance | None) -> dict[str, Any] | None:
    """A ``RUN`` object of ``status --json``: a DAG run, or a task's instance in a run."""
    if record is None:
        return None
    return {"run_id": record.run_id, "state": record.state, "start_date": format_time(record.start_date),
            "end_date": format_time(record.end_date)}


def last_run_json(history: RunHistory, dag_id: str, task_id: str | None = None) -> dict[str, Any] | None:
    """``last_run`` of a DAG (its newest run) or of a task (its instance in the newest run that has
    one; a mapped task's instances summed up as in the hover)."""
    if task_id is None:
        return run_json(history.last_run(dag_id))
    found = history.task_runs(dag_id, task_id)
    if not found:
        return None
    newest = found[0][0].run_id
    return run_json(_summary([ti for run, ti in found if run.run_id == newest]))
