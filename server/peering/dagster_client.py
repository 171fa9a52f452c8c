"""The Dagster GraphQL client: the runs dagster-airlift launched for Airflow task runs, and the
last materialization of assets, each in one request whatever the number of DAGs.

Shapes follow Dagster 1.13's schema (``dagster_graphql``): ``runsOrError(filter: RunsFilter,
limit: Int): Runs | InvalidPipelineRunsFilterError | PythonError`` where ``RunsFilter.tags`` is
``[ExecutionTag!]`` (``{key, value}``, all required: runs carrying every tag);
``assetsOrError(assetKeys: [AssetKeyInput!]): AssetConnection | PythonError`` whose ``nodes``
are exactly the keys asked, each with ``assetMaterializations(limit: 1)`` (newest first,
``timestamp`` a string of epoch milliseconds) and ``definition: AssetNode`` (null where no loaded
code location defines the key; ``isExecutable``, ``jobNames``, ``repository { location { name } }``).
``Run.startTime``/``endTime`` are epoch seconds.

The run tags are the ones dagster-airlift's proxy operators set
(``dagster_airlift.constants``; ``BaseDagsterAssetsOperator.default_dagster_run_tags``): the
Airflow DAG id, DAG run id and task id. A DAG proxied as a whole runs one task,
``DAGSTER_OVERRIDE_DAG_<dag_id>`` (``DefaultProxyDAGToDagsterOperator.build_from_dag``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import requests

from analysis.readiness import AssetDefinition
from server.peering.transport import PeeringError, Redactor, RequestPolicy, one_line, send
from server.settings import DagsterSettings

DAG_ID_TAG = "dagster-airlift/airflow-dag-id"
DAG_RUN_ID_TAG = "dagster-airlift/airflow-dag-run-id"
TASK_ID_TAG = "dagster-airlift/airflow-task-id"
DAG_OVERRIDE_TASK_PREFIX = "DAGSTER_OVERRIDE_DAG_"
TOKEN_HEADER = "Dagster-Cloud-Api-Token"

RUN_FIELDS = "runId status creationTime startTime endTime tags { key value }"
ERRORS = "... on PythonError { message } ... on InvalidPipelineRunsFilterError { message }"

ASSETS_QUERY = """query AirliftAssets($keys: [AssetKeyInput!]) {
  assetsOrError(assetKeys: $keys) { __typename
    ... on AssetConnection { nodes { key { path } assetMaterializations(limit: 1) { runId timestamp }
      definition { isExecutable jobNames repository { location { name } } } } }
    ... on PythonError { message } } }"""


@dataclass(frozen=True, slots=True)
class DagsterRun:
    run_id: str
    status: str
    """Dagster's ``RunStatus``: QUEUED, STARTING, STARTED, SUCCESS, FAILURE, CANCELED, ..."""
    created: datetime | None
    start_time: datetime | None
    end_time: datetime | None
    dag_id: str | None
    airflow_run_id: str | None
    task_id: str | None

    @property
    def failed(self) -> bool:
        return self.status in ("FAILURE", "CANCELED")


@dataclass(frozen=True, slots=True)
class Materialization:
    asset_key: str
    """Dagster's user string (``raw_data/raw_customers``), as the Dagster module is read."""
    run_id: str
    timestamp: datetime | None


def key_path(user_string: str) -> list[str]:
    """``a/b`` → ``["a", "b"]``; an escaped slash (``a\\/b``) stays inside its part."""
    parts, current, escaped = [], "", False
    for char in user_string:
        if escaped:
            current += char
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "/":
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return parts


def user_string(path: Sequence[str]) -> str:
    return "/".join(part.replace("/", "\\/") for part in path)


def _epoch(value: Any, scale: float = 1.0) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise PeeringError("bad_response", f"a time that is not a number: {value[:30]!r}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PeeringError("bad_response", "a time that is not a number")
    return datetime.fromtimestamp(value / scale, tz=timezone.utc)


def run_from_json(data: Any) -> DagsterRun:
    if not isinstance(data, Mapping) or not isinstance(data.get("runId"), str) or \
            not isinstance(data.get("status"), str):
        raise PeeringError("bad_response", "a run without `runId` or `status`")
    tags = data.get("tags") or []
    if not isinstance(tags, list):
        raise PeeringError("bad_response", "run tags that are not a list")
    by_key = {t.get("key"): t.get("value") for t in tags if isinstance(t, Mapping)}
    return DagsterRun(data["runId"], data["status"], _epoch(data.get("creationTime")),
                      _epoch(data.get("startTime")), _epoch(data.get("endTime")),
                      by_key.get(DAG_ID_TAG), by_key.get(DAG_RUN_ID_TAG), by_key.get(TASK_ID_TAG))


def _definition(key: str, data: Mapping[str, Any]) -> AssetDefinition:
    """Executable as dagster-airlift's proxy operator sees it: an executable node in some job
    (``_is_asset_node_executable``: the node's jobs are not empty)."""
    jobs, executable = data.get("jobNames"), data.get("isExecutable")
    if not isinstance(jobs, list) or not isinstance(executable, bool):
        raise PeeringError("bad_response", "an asset definition without `jobNames` or `isExecutable`")
    repository = data.get("repository")
    location = repository.get("location") if isinstance(repository, Mapping) else None
    location = location.get("name") if isinstance(location, Mapping) else None
    return AssetDefinition(key, executable and bool(jobs), location if isinstance(location, str) else None)


class DagsterClient:
    """Talks to one Dagster webserver (or Dagster+ deployment). Owned by one thread."""

    def __init__(self, url: str, *, token: str | None = None, policy: RequestPolicy | None = None,
                 session: requests.Session | None = None) -> None:
        self.base_url = url.rstrip("/")
        self.policy = policy or RequestPolicy()
        self.session = session or requests.Session()
        self.session.headers.setdefault("Accept", "application/json")
        self.redact = Redactor()
        self.redact.add(token)
        self._token = token
        if token:
            self.session.headers[TOKEN_HEADER] = token
        self.requests = 0
        """Requests sent (retries aside): what a poll costs."""

    @classmethod
    def from_settings(cls, settings: DagsterSettings, **kwargs: Any) -> DagsterClient:
        if not settings.url:
            raise ValueError("no Dagster URL configured")
        return cls(settings.url, token=settings.token, **kwargs)

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"DagsterClient({self.base_url!r})"

    # -- queries -----------------------------------------------------------------------------------

    def airlift_runs(self, airflow_runs: Iterable[tuple[str, str, int]]
                     ) -> dict[tuple[str, str], tuple[DagsterRun, ...]]:
        """The Dagster runs launched for each ``(dag_id, airflow_run_id, limit)``, newest first,
        at most ``limit`` each: one request, one aliased ``runsOrError`` per Airflow run."""
        wanted = list(dict.fromkeys(airflow_runs))
        if not wanted:
            return {}
        declarations, fields, variables = [], [], {}
        for index, (dag_id, run_id, limit) in enumerate(wanted):
            declarations.append(f"$t{index}: [ExecutionTag!]")
            fields.append(f"r{index}: runsOrError(filter: {{tags: $t{index}}}, limit: {max(1, int(limit))}) "
                          f"{{ __typename ... on Runs {{ results {{ {RUN_FIELDS} }} }} {ERRORS} }}")
            variables[f"t{index}"] = [{"key": DAG_ID_TAG, "value": dag_id}, {"key": DAG_RUN_ID_TAG, "value": run_id}]
        document = f"query AirliftRuns({', '.join(declarations)}) {{\n  " + "\n  ".join(fields) + "\n}"
        data = self.query(document, variables, "read the runs dagster-airlift launched")
        found: dict[tuple[str, str], tuple[DagsterRun, ...]] = {}
        for index, (dag_id, run_id, _) in enumerate(wanted):
            answer = self.typed(data, f"r{index}", "Runs", "runsOrError")
            results = answer.get("results")
            if not isinstance(results, list):
                raise self._bad("runsOrError without `results`")
            found[(dag_id, run_id)] = tuple(self._parsed(run_from_json, item) for item in results)
        return found

    def last_materializations(self, asset_keys: Iterable[str]) -> dict[str, Materialization | None]:
        """The newest materialization of each asset (Dagster user strings), None for none yet:
        one request."""
        return self.assets(asset_keys)[0]

    def assets(self, asset_keys: Iterable[str]) -> tuple[dict[str, Materialization | None],
                                                         dict[str, AssetDefinition | None]]:
        """The newest materialization of each asset (Dagster user strings), None for none yet, and
        its definition in the loaded code locations, None where none defines it: one request."""
        keys = list(dict.fromkeys(asset_keys))
        if not keys:
            return {}, {}
        data = self.query(ASSETS_QUERY, {"keys": [{"path": key_path(k)} for k in keys]},
                          "read the assets' materializations")
        nodes = self.typed(data, "assetsOrError", "AssetConnection", "assetsOrError").get("nodes")
        if not isinstance(nodes, list):
            raise self._bad("assetsOrError without `nodes`")
        found: dict[str, Materialization | None] = dict.fromkeys(keys)
        defined: dict[str, AssetDefinition | None] = dict.fromkeys(keys)
        for node in nodes:
            path = (node.get("key") or {}).get("path") if isinstance(node, Mapping) else None
            events = node.get("assetMaterializations") if isinstance(node, Mapping) else None
            if not isinstance(path, list) or not isinstance(events, list):
                raise self._bad("an asset without `key.path` or `assetMaterializations`")
            key = user_string(path)
            if events and isinstance(events[0], Mapping) and isinstance(events[0].get("runId"), str):
                stamp = self._parsed(lambda e: _epoch(e.get("timestamp"), 1000.0), events[0])
                found[key] = Materialization(key, events[0]["runId"], stamp)
            definition = node.get("definition")
            if isinstance(definition, Mapping):
                defined[key] = self._parsed(lambda d, k=key: _definition(k, d), definition)
        return found, defined

    def version(self) -> str:
        """``version``: which Dagster answers (one request)."""
        version = self.query("query AirliftVersion { version }", {}, "read the Dagster version").get("version")
        if not isinstance(version, str):
            raise self._bad("no `version`")
        return version

    # -- plumbing ----------------------------------------------------------------------------------

    def query(self, document: str, variables: Mapping[str, Any], action: str, *,
              policy: RequestPolicy | None = None) -> Mapping[str, Any]:
        """POST ``/graphql``; the ``data`` object, or a PeeringError whose message is one line.
        ``policy``: other timeouts than the client's (a code location's reload)."""
        what = "POST /graphql"
        self.requests += 1
        response = send(self.session, "POST", self.base_url + "/graphql", what=what, base_url=self.base_url,
                        policy=policy or self.policy, redact=self.redact, json={"query": document, "variables": variables},
                        service="Dagster")
        status = response.status_code
        if status == 401:
            message = (f"authentication failed: Dagster at {self.base_url} refused the API token (HTTP 401)"
                       if self._token else f"authentication failed: Dagster at {self.base_url} needs an API token "
                                           "(HTTP 401); set DAGSTER_CLOUD_API_TOKEN")
            raise PeeringError("authentication", message, status)
        if status == 403:
            raise PeeringError("authorization", f"authorization failed: the API token may not {action} at "
                                                f"{self.base_url} (HTTP 403)", status)
        if status in (404, 405):  # the webserver answers 405 to a POST where it serves pages
            raise PeeringError("http", f"no Dagster GraphQL API at {self.base_url}/graphql (HTTP {status}): is "
                                       "dagster.url the Dagster web server?", status)
        try:
            body = response.json()
        except ValueError:
            if status >= 400:
                raise PeeringError("http", f"Dagster at {self.base_url} answered HTTP {status} to {what}",
                                   status) from None
            kind = response.headers.get("Content-Type", "no content type").split(";")[0]
            raise PeeringError("bad_response", f"unexpected answer from Dagster at {self.base_url} to {what}: "
                                               f"not JSON ({kind}, HTTP {status})", status) from None
        errors = body.get("errors") if isinstance(body, Mapping) else None
        if errors:
            first = errors[0].get("message") if isinstance(errors, list) and isinstance(errors[0], Mapping) else None
            detail = self.redact(one_line(str(first or errors), 160))
            raise PeeringError("bad_response", f"Dagster at {self.base_url} refused the query to {action} "
                                               f"(HTTP {status}): {detail}", status)
        if status >= 400:
            raise PeeringError("http", f"Dagster at {self.base_url} answered HTTP {status} to {what}", status)
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, Mapping):
            raise self._bad("no `data` object")
        return data

    def typed(self, data: Mapping[str, Any], field: str, wanted: str, name: str) -> Mapping[str, Any]:
        """``data[field]`` when Dagster answered the union with ``wanted``; else a PeeringError
        with the error's message (redacted) or type (also the reload's listing of locations)."""
        answer = data.get(field)
        if not isinstance(answer, Mapping):
            raise self._bad(f"no `{name}`")
        if answer.get("__typename") != wanted:
            message = answer.get("message")
            detail = self.redact(one_line(message, 160)) if isinstance(message, str) else answer.get("__typename")
            raise PeeringError("bad_response", f"Dagster at {self.base_url} answered {name} with an error: {detail}")
        return answer

    def _parsed(self, parse, item: Any) -> Any:
        try:
            return parse(item)
        except PeeringError as error:
            raise self._bad(error.message) from None

    def _bad(self, detail: str) -> PeeringError:
        return PeeringError("bad_response", f"unexpected answer from Dagster at {self.base_url}: {detail}")
