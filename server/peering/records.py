"""Typed records over the Airflow REST API's JSON, the same for Airflow 2 (``/api/v1``) and 3
(``/api/v2``).

The drift they hide, checked against the specs (Airflow 3.3.2's ``v2-rest-api-generated.yaml``,
Airflow 2.10's ``api_connexion/openapi/v1.yaml``):

- a run's id is ``dag_run_id`` in both; its date is ``logical_date`` (v2, nullable for manual
  runs), ``logical_date`` or the deprecated ``execution_date`` (v1, 2.2+);
- v2 runs carry ``run_after`` (never null): the time a run is ordered by. v1 has no such field;
  the execution date plays that part;
- a task instance names its run ``dag_run_id`` in both (v1 since 2.3);
- a DAG of the DAG list has ``fileloc`` and ``last_parsed_time`` in both (stamped at every parse,
  changed or not); a task's operator is ``operator_name`` in v2 (``@task`` for TaskFlow), only
  ``class_ref.class_name`` in v1; ``downstream_task_ids`` and ``is_mapped`` in both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from analysis.deployed import DeployedTask

FINISHED_RUN_STATES = frozenset({"success", "failed"})


class RecordError(ValueError):
    """The JSON does not have the shape the spec promises."""


@dataclass(frozen=True, slots=True)
class DagRun:
    dag_id: str
    run_id: str
    state: str | None
    logical_date: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    run_after: datetime | None = None
    """When the run is due (Airflow 3); Airflow 2: the execution date."""

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_RUN_STATES

    @property
    def sort_time(self) -> datetime:
        """Newest first is descending order of this, whatever the version."""
        return self.run_after or self.logical_date or self.start_date or _EPOCH

    @property
    def key(self) -> tuple[str, str]:
        return (self.dag_id, self.run_id)


@dataclass(frozen=True, slots=True)
class TaskInstance:
    dag_id: str
    run_id: str
    task_id: str
    state: str | None
    start_date: datetime | None
    end_date: datetime | None
    try_number: int
    map_index: int = -1

    @property
    def duration(self) -> float | None:
        if self.start_date is None or self.end_date is None:
            return None
        return max(0.0, (self.end_date - self.start_date).total_seconds())


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_FRACTION = re.compile(r"\.(\d+)(?=[+-]\d\d:\d\d$|$)")


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 as Airflow writes it (``...Z`` or ``+00:00``) to an aware datetime."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise RecordError(f"expected a date-time string, got {type(value).__name__}")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat takes 3 or 6 digits of fraction only.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise RecordError(f"not an ISO 8601 date-time: {value[:40]!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def format_time(value: datetime | None) -> str | None:
    """The ISO form used in ``status --json`` (UTC, ``Z``)."""
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def _string(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise RecordError(f"`{key}` missing or not a string")
    return value


def _optional_string(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise RecordError(f"`{key}` is not a string")


def _int(data: Mapping[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"`{key}` is not an integer")
    return value


def dag_run_from_json(data: Any, api_version: str) -> DagRun:
    if not isinstance(data, Mapping):
        raise RecordError("a DAG run is not an object")
    logical = parse_time(data.get("logical_date"))
    if logical is None and api_version == "v1":
        logical = parse_time(data.get("execution_date"))
    run_after = parse_time(data.get("run_after")) if api_version == "v2" else logical
    return DagRun(
        dag_id=_string(data, "dag_id"),
        run_id=_string(data, "dag_run_id"),
        state=_optional_string(data, "state"),
        logical_date=logical,
        start_date=parse_time(data.get("start_date")),
        end_date=parse_time(data.get("end_date")),
        run_after=run_after,
    )


def task_instance_from_json(data: Any) -> TaskInstance:
    if not isinstance(data, Mapping):
        raise RecordError("a task instance is not an object")
    state = _optional_string(data, "state")
    return TaskInstance(
        dag_id=_string(data, "dag_id"),
        run_id=_string(data, "dag_run_id"),
        task_id=_string(data, "task_id"),
        state=None if state == "none" else state,  # v1 before 2.7 wrote "none" for no state
        start_date=parse_time(data.get("start_date")),
        end_date=parse_time(data.get("end_date")),
        try_number=_int(data, "try_number", 0),
        map_index=_int(data, "map_index", -1),
    )


@dataclass(frozen=True, slots=True)
class DagListing:
    """A deployed DAG as the DAG list shows it: enough to find its file and to tell a re-parse."""

    dag_id: str
    fileloc: str | None
    last_parsed: str | None
    """``last_parsed_time`` as Airflow wrote it: a DAG's tasks are asked for again when it moves."""


def dag_listing_from_json(data: Any) -> DagListing:
    if not isinstance(data, Mapping):
        raise RecordError("a DAG is not an object")
    last_parsed = _optional_string(data, "last_parsed_time")
    parse_time(last_parsed)  # a malformed stamp is a malformed answer
    return DagListing(dag_id=_string(data, "dag_id"), fileloc=_optional_string(data, "fileloc"),
                      last_parsed=last_parsed)


def deployed_task_from_json(data: Any) -> DeployedTask:
    if not isinstance(data, Mapping):
        raise RecordError("a task is not an object")
    class_ref = data.get("class_ref")
    class_name = class_ref.get("class_name") if isinstance(class_ref, Mapping) else None
    operator = _optional_string(data, "operator_name") or (class_name if isinstance(class_name, str) else None)
    downstream = data.get("downstream_task_ids") or []
    if not isinstance(downstream, list) or not all(isinstance(d, str) for d in downstream):
        raise RecordError("`downstream_task_ids` is not a list of strings")
    mapped = data.get("is_mapped")
    return DeployedTask(task_id=_string(data, "task_id"), operator=operator or "unknown operator",
                        downstream=tuple(sorted(downstream)), mapped=mapped is True)
