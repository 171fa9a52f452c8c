"""What the verify probes saw, as typed records: parsed from the JSON the probes print, checked
on the way in (a probe runs the project's code in another interpreter; its output is input)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class BadReport(ValueError):
    """The probe's output is not what it should print."""


def _list(data: dict, key: str) -> list:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise BadReport(f"`{key}` should be a list")
    return value


def _str(data: dict, key: str, optional: bool = False) -> str | None:
    value = data.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise BadReport(f"`{key}` should be a string, got {type(value).__name__}")
    return value


def _strings(data: dict, key: str) -> tuple[str, ...]:
    values = _list(data, key)
    if not all(isinstance(v, str) for v in values):
        raise BadReport(f"`{key}` should be a list of strings")
    return tuple(values)


@dataclass(frozen=True, slots=True)
class AirflowTask:
    task_id: str
    upstream: tuple[str, ...] = ()
    operator: str = "BaseOperator"
    module: str = ""
    proxy: str | None = None
    """``"task"``: an instance of dagster-airlift's ``BaseProxyTaskToDagsterOperator``;
    ``"dag"``: of ``BaseProxyDAGToDagsterOperator``; None: neither (or airlift is absent)."""
    registered_as: tuple[str, ...] = ()
    """Keys of the DAG's ``task_dict`` that hold this task under another id than its own."""

    @classmethod
    def from_json(cls, data: Any) -> AirflowTask:
        if not isinstance(data, dict):
            raise BadReport("a task should be an object")
        proxy = data.get("proxy")
        if proxy not in (None, "task", "dag"):
            raise BadReport(f"unknown proxy kind {proxy!r}")
        return cls(_str(data, "task_id"), tuple(sorted(_strings(data, "upstream"))),
                   _str(data, "operator", True) or "BaseOperator", _str(data, "module", True) or "",
                   proxy, _strings(data, "registered_as"))

    @property
    def names(self) -> tuple[str, ...]:
        return (self.task_id, *self.registered_as)


@dataclass(frozen=True, slots=True)
class AirflowDag:
    dag_id: str
    fileloc: str | None
    tasks: tuple[AirflowTask, ...] = ()
    serialization_error: str | None = None
    serialization_stage: str | None = None
    """``"serialize"`` (the DAG processor cannot write it) or ``"deserialize"`` (the scheduler
    and webserver cannot read back what it wrote)."""

    @classmethod
    def from_json(cls, data: Any) -> AirflowDag:
        if not isinstance(data, dict):
            raise BadReport("a DAG should be an object")
        stage = data.get("serialization_stage")
        if stage not in (None, "serialize", "deserialize"):
            raise BadReport(f"unknown serialization stage {stage!r}")
        return cls(_str(data, "dag_id"), _str(data, "fileloc", True),
                   tuple(AirflowTask.from_json(t) for t in _list(data, "tasks")),
                   _str(data, "serialization_error", True), stage)

    def task(self, name: str) -> AirflowTask | None:
        """The task Airflow holds under ``name``: its id, or a key it is registered under."""
        for task in self.tasks:
            if task.task_id == name:
                return task
        for task in self.tasks:
            if name in task.registered_as:
                return task
        return None


@dataclass(frozen=True, slots=True)
class ImportFailure:
    file: str
    message: str
    line: int | None = None
    """1-based, the last line of ``file`` the traceback names."""

    @classmethod
    def from_json(cls, data: Any) -> ImportFailure:
        if not isinstance(data, dict):
            raise BadReport("an import error should be an object")
        line = data.get("line")
        if line is not None and (not isinstance(line, int) or isinstance(line, bool) or line < 1):
            raise BadReport("an import error's line should be a positive number")
        return cls(_str(data, "file"), _str(data, "message"), line)

    @property
    def summary(self) -> str:
        """The exception line of the traceback (no line numbers: it names the failure the same
        way when an edit moves the lines above it)."""
        lines = [line.strip() for line in self.message.strip().splitlines() if line.strip()]
        return lines[-1] if lines else "unknown error"


@dataclass(frozen=True, slots=True)
class LoadedState:
    """One DAG's state as dagster-airlift's ``load_proxied_state_from_yaml`` returned it."""

    dag_proxied: bool | None
    tasks: dict[str, bool] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StateFolder:
    folder: str
    error: str | None = None
    error_file: str | None = None
    dags: dict[str, LoadedState] = field(default_factory=dict)
    skipped: bool = False
    """dagster-airlift is not installed in the interpreter: the folder was not loaded."""

    @classmethod
    def from_json(cls, data: Any) -> StateFolder:
        if not isinstance(data, dict):
            raise BadReport("a state folder should be an object")
        dags = data.get("dags")
        dags = {} if dags is None else dags
        if not isinstance(dags, dict):
            raise BadReport("`dags` of a state folder should be an object")
        loaded = {}
        for dag_id, state in dags.items():
            if not isinstance(state, dict) or not isinstance(state.get("tasks", {}), dict):
                raise BadReport("a loaded state should be an object with `tasks`")
            loaded[str(dag_id)] = LoadedState(state.get("proxied"), {str(k): bool(v) for k, v in
                                                                    state.get("tasks", {}).items()})
        return cls(_str(data, "folder"), _str(data, "error", True), _str(data, "error_file", True), loaded,
                   bool(data.get("skipped")))


@dataclass(frozen=True, slots=True)
class AirflowReport:
    airflow_version: str | None
    dags: tuple[AirflowDag, ...] = ()
    import_errors: tuple[ImportFailure, ...] = ()
    state_folders: tuple[StateFolder, ...] = ()
    airlift_version: str | None = None
    """None: dagster-airlift's in-Airflow side does not import there (proxying is not checked)."""
    airlift_error: str | None = None

    @classmethod
    def from_json(cls, data: Any) -> AirflowReport:
        if not isinstance(data, dict):
            raise BadReport("the report should be an object")
        return cls(_str(data, "airflow_version", True),
                   tuple(AirflowDag.from_json(d) for d in _list(data, "dags")),
                   tuple(ImportFailure.from_json(e) for e in _list(data, "import_errors")),
                   tuple(StateFolder.from_json(s) for s in _list(data, "state_folders")),
                   _str(data, "airlift_version", True), _str(data, "airlift_error", True))

    def dag(self, dag_id: str) -> AirflowDag | None:
        return next((d for d in self.dags if d.dag_id == dag_id), None)

    def import_error(self, path: str) -> ImportFailure | None:
        return next((e for e in self.import_errors if e.file == path), None)


@dataclass(frozen=True, slots=True)
class DagsterAsset:
    key: str
    """Dagster's escaped user string (``a/b``), as the static model writes keys."""
    executable: bool = False
    tasks: tuple[tuple[str, str], ...] = ()
    """``(dag_id, task_id)`` of its ``dagster-airlift/task-mapping`` metadata."""
    dags: tuple[str, ...] = ()
    """DAG ids of its ``dagster-airlift/dag-mapping`` metadata."""

    @classmethod
    def from_json(cls, data: Any) -> DagsterAsset:
        if not isinstance(data, dict):
            raise BadReport("an asset should be an object")
        tasks = []
        for handle in _list(data, "tasks"):
            if not (isinstance(handle, list) and len(handle) == 2 and all(isinstance(p, str) for p in handle)):
                raise BadReport("a task handle should be [dag_id, task_id]")
            tasks.append((handle[0], handle[1]))
        return cls(_str(data, "key"), bool(data.get("executable")), tuple(tasks), _strings(data, "dags"))


@dataclass(frozen=True, slots=True)
class DagsterReport:
    module: str
    dagster_version: str | None = None
    error: str | None = None
    """Why the module did not load (None: it loaded and Dagster validated it)."""
    error_line: int | None = None
    """1-based line of ``module`` in the error's traceback, if any."""
    assets: tuple[DagsterAsset, ...] = ()

    @classmethod
    def from_json(cls, data: Any) -> DagsterReport:
        if not isinstance(data, dict):
            raise BadReport("the report should be an object")
        line = data.get("error_line")
        if line is not None and (not isinstance(line, int) or isinstance(line, bool) or line < 1):
            raise BadReport("`error_line` should be a positive number")
        return cls(_str(data, "module"), _str(data, "dagster_version", True), _str(data, "error", True), line,
                   tuple(DagsterAsset.from_json(a) for a in _list(data, "assets")))
