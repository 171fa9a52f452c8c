"""The Airflow REST client: version detection, batch endpoints, typed records.

One method per endpoint. Request and response shapes follow the specs: Airflow 3.3.2's
``airflow/api_fastapi/core_api/openapi/v2-rest-api-generated.yaml`` (``DAGRunsBatchBody``,
``TaskInstancesBatchBody``, ``DAGRunCollectionResponse``, ``TaskInstanceCollectionResponse``)
and Airflow 2.10's ``airflow/api_connexion/openapi/v1.yaml`` (``ListDagRunsForm``,
``ListTaskInstanceForm``, ``DAGRunCollection``, ``TaskInstanceCollection``). Both batch bodies
reject unknown keys, so only the keys below are sent. The deployed DAGs come from ``GET
.../dags`` (``DAGCollectionResponse`` / ``DAGCollection``) and ``GET .../dags/{dag_id}/tasks``
(``TaskCollectionResponse`` / ``TaskCollection``), with no query keys beyond the paging ones
(Airflow 2's API validates query strings strictly).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import requests

from analysis.deployed import DeployedTask
from server.peering.auth import (
    AuthBackend,
    BasicAuth,
    auth_for,
    auth_from_settings,
    credential_error,
    credentials_rejected,
)
from server.peering.records import (
    DagListing,
    DagRun,
    RecordError,
    TaskInstance,
    dag_listing_from_json,
    dag_run_from_json,
    deployed_task_from_json,
    task_instance_from_json,
)
from server.peering.transport import (
    PeeringError,
    Redactor,
    RequestPolicy,
    error_for,
    json_of,
    require_list,
    send,
    total_of,
    unique,
)
from server.settings import AirflowSettings

log = logging.getLogger("airlift-lsp.peering")

API_PREFIX = {"v1": "/api/v1", "v2": "/api/v2"}
RUN_ORDER = {"v2": "-run_after", "v1": "-execution_date"}
"""Newest first. v2's ``run_after`` is never null (``start_date`` is null while a run is queued,
``logical_date`` for runs triggered without one); v1's ``execution_date`` is never null."""

MAX_PAGE = 50_000
"""The most items one request asks for. Neither API clamps the ``page_limit`` of its batch
endpoints (Airflow 3 passes it to the query as is, Airflow 2's form only wants >= 1), so a poll
asks for what it needs in one page; a server that clamps it anyway just costs more pages."""
MAX_PAGES = 20
"""A guard against a server that keeps announcing more than it sends."""
TASKS_PER_RUN = 10
"""How many task instances a run is assumed to have before any is known (sizes the first page)."""
DAG_PAGE = 1_000
"""DAGs asked for per page of the DAG list. Both APIs clamp ``limit`` to ``[api]
maximum_page_limit`` (100 by default: Airflow 3 silently, Airflow 2 with a warning in its log),
so the pages a list costs are ``ceil(DAGs / min(DAG_PAGE, maximum_page_limit))``: 500 DAGs in
one request where the limit is raised to 500 or more, five with the default."""
MAX_DAG_PAGES = 200
"""A guard against a server that keeps announcing more DAGs than it sends."""


@dataclass(frozen=True, slots=True)
class DagList:
    """The answer of ``list_dags``: ``complete`` is False when fewer DAGs came than Airflow
    announced (DAGs added or removed while paging shift the offsets)."""

    dags: list[DagListing]
    complete: bool = True


@dataclass(frozen=True, slots=True)
class TaskInstances:
    """The answer of ``list_task_instances``: ``complete`` is False when Airflow announced more
    than ``MAX_PAGES`` pages gave (the runs are then asked for again at the next poll)."""

    instances: list[TaskInstance]
    complete: bool = True


def _run_key(run: DagRun) -> tuple[str, str]:
    return run.key


def _instance_key(ti: TaskInstance) -> tuple[str, str, str, int]:
    return ti.dag_id, ti.run_id, ti.task_id, ti.map_index


class AirflowClient:
    """Talks to one Airflow. Not thread-safe: one poller thread (or the CLI) owns it."""

    def __init__(self, url: str, *, username: str | None = None, password: str | None = None,
                 api_version: str = "auto", verify_tls: bool = True, policy: RequestPolicy | None = None,
                 session: requests.Session | None = None, auth: AuthBackend | None = None) -> None:
        self.base_url = url.rstrip("/")
        self.policy = policy or RequestPolicy()
        self.session = session or requests.Session()
        self.session.verify = verify_tls
        self.session.headers.setdefault("Accept", "application/json")
        self.redact = Redactor()
        self.redact.add(password)
        self.api_version: str | None = api_version if api_version in API_PREFIX else None
        self.airflow_version: str | None = None
        self._username = username
        self._password = password
        self._auth = auth
        self._auth_given = auth is not None
        self._prepared = False

    @classmethod
    def from_settings(cls, settings: AirflowSettings, *, cloud: dict[str, Any] | None = None,
                      **kwargs: Any) -> AirflowClient:
        """``cloud``: stand-ins for the cloud SDKs of managed sign-in (see ``auth_from_settings``)."""
        if not settings.url:
            raise ValueError("no Airflow URL configured")
        client = cls(settings.url, username=settings.username, password=settings.password,
                     api_version=settings.api_version, verify_tls=settings.verify_tls, **kwargs)
        backend = auth_from_settings(settings, client.base_url, policy=client.policy, redact=client.redact,
                                     **(cloud or {}))
        if backend is not None:
            client._auth, client._auth_given = backend, True
        return client

    @property
    def username(self) -> str | None:
        return self._auth.username if self._auth is not None else self._username

    def close(self) -> None:
        self.session.close()

    def __repr__(self) -> str:
        return f"AirflowClient({self.base_url!r}, api_version={self.api_version!r})"

    # -- connection --------------------------------------------------------------------------------

    def connect(self) -> str:
        """Detect the API version (unless configured) and log in; returns ``"v1"`` or ``"v2"``."""
        version = self.detect_version() if self.api_version is None else self.api_version
        self._ensure_auth()
        return version

    def detect_version(self) -> str:
        """``GET /api/v2/version`` answers on Airflow 3 (without auth); Airflow 2 has no ``/api/v2``
        (404) and answers ``GET /api/v1/version`` behind its auth backend. A configured sign-in
        (``airflow.auth``) signs the first request too: a managed Airflow may let nothing through
        without it."""
        if self._auth_given:
            self._ensure_auth()
        response = self._send("GET", "/api/v2/version", "GET /api/v2/version")
        status = response.status_code
        if status in (401, 403) or (status == 200 and self._version_in(response)):
            self.api_version = "v2"
            return "v2"
        if status not in (404, 405):
            raise self._unexpected(response, "GET /api/v2/version")
        self.api_version = "v1"
        if not self._auth_given:
            self._auth = None  # basic auth, not a token
        self._ensure_auth()
        response = self._send("GET", "/api/v1/version", "GET /api/v1/version")
        if response.status_code in (404, 405):
            self.api_version = None
            raise PeeringError("http", f"no Airflow REST API at {self.base_url} (HTTP 404 for "
                                       "/api/v2/version and /api/v1/version)", 404)
        if response.status_code in (401, 403):
            raise self._error(response, "read the Airflow version")  # an Airflow 2 that wants credentials
        if response.status_code >= 400 or not self._version_in(response):
            self.api_version = None
            raise self._unexpected(response, "GET /api/v1/version")
        return "v1"

    def _version_in(self, response: requests.Response) -> bool:
        try:
            data = response.json()
        except ValueError:
            return False
        if isinstance(data, dict) and isinstance(data.get("version"), str):
            self.airflow_version = data["version"]
            return True
        return False

    def _ensure_auth(self) -> None:
        if self._auth is None:
            self._auth = auth_for(self.api_version or "v2", self.base_url, self._username, self._password,
                                  policy=self.policy, redact=self.redact)
            self._prepared = False
        if not self._prepared:
            self._auth.prepare(self.session)
            self._prepared = True

    # -- endpoints ---------------------------------------------------------------------------------

    def list_dag_runs(self, dag_ids: Iterable[str], *, limit: int) -> tuple[list[DagRun], int | None]:
        """``POST .../dags/~/dagRuns/list``: the newest ``limit`` runs of these DAGs (one page
        up to ``MAX_PAGE``), and how many there are in all."""
        dag_ids = unique(dag_ids)
        version = self._version()
        body = {"dag_ids": dag_ids, "order_by": RUN_ORDER[version]}
        runs, total, _ = self._paginate("/dags/~/dagRuns/list", body, "dag_runs", first=limit, want=limit,
                                        parse=lambda item: dag_run_from_json(item, version), key=_run_key)
        return runs, total

    def list_task_instances(self, runs: Iterable[tuple[str, str]], *, expected: int | None = None
                            ) -> TaskInstances:
        """``POST .../dags/~/dagRuns/~/taskInstances/list``: every task instance of these
        ``(dag_id, run_id)`` runs.

        The body filters by DAG ids and by run ids separately, so Airflow answers the pairs of
        the two lists: a run of one DAG whose id equals a wanted run id of another DAG comes too
        (scheduled runs share ids across DAGs), and is dropped here. The first page asks for
        ``expected`` instances (``TASKS_PER_RUN`` a run when not given); when Airflow announces
        more, the next asks for all the rest, so a well-behaved server answers in one or two
        requests. Airflow 2's batch has no ORDER BY, so pages may overlap: instances are kept
        once, by key. (v1 needs Airflow >= 2.7.1 for ``dag_run_ids``; before 2.10 it answers
        everything in one page whatever the limit.)"""
        wanted = set(runs)
        if not wanted:
            return TaskInstances([])
        pairs = sorted(wanted)
        body = {"dag_ids": unique(d for d, _ in pairs), "dag_run_ids": unique(r for _, r in pairs)}
        first = expected if expected is not None else TASKS_PER_RUN * len(pairs)
        instances, _, complete = self._paginate(
            "/dags/~/dagRuns/~/taskInstances/list", body, "task_instances", first=first, want=None,
            parse=task_instance_from_json, key=_instance_key)
        return TaskInstances([ti for ti in instances if (ti.dag_id, ti.run_id) in wanted], complete)

    def list_dags(self) -> DagList:
        """``GET .../dags``: every DAG Airflow has parsed and not found stale (v2's
        ``exclude_stale``, v1's ``only_active``: both default to true), in pages of ``DAG_PAGE``
        ordered by ``dag_id`` (the default of both), each kept once."""
        found: dict[str, DagListing] = {}
        total: int | None = None
        offset = 0
        for _ in range(MAX_DAG_PAGES):
            data = self._get("/dags", {"limit": DAG_PAGE, "offset": offset}, "list DAGs")
            page = require_list(data, "dags", what="GET /dags", base_url=self.base_url)
            total = total_of(data)
            try:
                for item in page:
                    listing = dag_listing_from_json(item)
                    found.setdefault(listing.dag_id, listing)
            except RecordError as error:
                raise self._bad_record("dags", error) from None
            offset += len(page)
            if not page or total is None or offset >= total:
                break
        return DagList(list(found.values()), total is None or len(found) >= total)

    def list_tasks(self, dag_id: str) -> tuple[DeployedTask, ...] | None:
        """``GET .../dags/{dag_id}/tasks``: the DAG's tasks as its serialized DAG has them (one
        request, not paged in either API); None when Airflow no longer has the DAG (404)."""
        path = f"/dags/{quote(dag_id, safe='')}/tasks"
        data = self._get(path, {}, f"read the tasks of DAG {dag_id!r}", missing_ok=True)
        if data is None:
            return None
        tasks = require_list(data, "tasks", what=f"GET {path}", base_url=self.base_url)
        try:
            return tuple(deployed_task_from_json(item) for item in tasks)
        except RecordError as error:
            raise self._bad_record("tasks", error) from None

    def dag_file(self, dag_id: str) -> tuple[str | None, str | None] | None:
        """``GET .../dags/{dag_id}``: the DAG's ``file_token`` (Airflow 3's ``DAGResponse``; None on
        Airflow 2) and ``last_parsed_time``; None when Airflow does not have the DAG (404)."""
        data = self._get(f"/dags/{quote(dag_id, safe='')}", {}, f"read DAG {dag_id!r}", missing_ok=True)
        if not isinstance(data, dict):
            return None
        token, parsed = data.get("file_token"), data.get("last_parsed_time")
        return (token if isinstance(token, str) else None, parsed if isinstance(parsed, str) else None)

    def reparse(self, file_token: str) -> bool:
        """``PUT /api/v2/parseDagFile/{file_token}`` (Airflow 3 only): the dag-processor parses the
        file first thing; False when Airflow no longer knows the file (404)."""
        path = f"/api/v2/parseDagFile/{quote(file_token, safe='')}"
        return self._call("PUT", path, "ask Airflow to re-parse a DAG file", missing_ok=True,
                          want_json=False) is not None

    def _paginate(self, path: str, body: dict, field: str, *, first: int, want: int | None,
                  parse: Callable[[Any], Any], key: Callable[[Any], Any]) -> tuple[list, int | None, bool]:
        """Offset pagination (``page_offset``/``page_limit`` in both APIs): ``first`` items, then
        the rest that ``total_entries`` announces (or up to ``want``) in one more page, until
        ``want`` items, ``total_entries`` or an empty page. Items are parsed, and kept once by
        ``key``. Returns the items, the total and whether everything announced came."""
        found: dict[Any, Any] = {}
        total: int | None = None
        offset = 0
        what = f"POST {path}"
        for page_number in range(MAX_PAGES):
            if page_number == 0:
                limit = first
            elif want is not None:
                limit = want - len(found)
            else:
                limit = (total or 0) - len(found)
            limit = max(1, min(MAX_PAGE, limit))
            data = self._post(path, {**body, "page_offset": offset, "page_limit": limit})
            page = require_list(data, field, what=what, base_url=self.base_url)
            total = total_of(data)
            try:
                for item in page:
                    record = parse(item)
                    found.setdefault(key(record), record)
            except RecordError as error:
                raise self._bad_record("/".join(path.split("/")[-2:]), error) from None
            offset += len(page)
            if not page or total is None or (want is not None and len(found) >= want) or len(found) >= total:
                break
        items = list(found.values())
        if want is not None:
            items = items[:want]
        complete = total is None or len(found) >= total or (want is not None and len(found) >= want)
        if not complete:
            log.warning("%s announced %d items but %d pages gave %d; asking again at the next poll",
                        what, total, page_number + 1, len(found))
        return items, total, complete

    # -- plumbing ----------------------------------------------------------------------------------

    def _version(self) -> str:
        if self.api_version is None:
            self.connect()
        assert self.api_version is not None
        return self.api_version

    def _post(self, path: str, body: dict) -> Any:
        action = "read DAG runs" if "dagRuns/list" in path else "read task instances"
        return self._call("POST", API_PREFIX[self._version()] + path, action, json=body)

    def _get(self, path: str, query: dict[str, Any], action: str, *, missing_ok: bool = False) -> Any:
        full = API_PREFIX[self._version()] + path + (f"?{urlencode(query)}" if query else "")
        return self._call("GET", full, action, missing_ok=missing_ok)

    def _call(self, method: str, full: str, action: str, *, json: Any = None, missing_ok: bool = False,
              want_json: bool = True) -> Any:
        """One API call with the auth seam: a login again after stale credentials, the error
        for any status >= 400 (None for a 404 when ``missing_ok``), the answer's JSON."""
        what = f"{method} {full}"
        self._ensure_auth()
        response = self._send(method, full, what, json=json)
        if credentials_rejected(response) and self._auth is not None and self._auth.refresh():
            log.info("Airflow answered %s to %s; logging in again", response.status_code, what)
            self._prepared = False
            self._ensure_auth()
            response = self._send(method, full, what, json=json)
        if missing_ok and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise self._error(response, action)
        return json_of(response, what=what, base_url=self.base_url) if want_json else True

    def _send(self, method: str, path: str, what: str, *, json: Any = None) -> requests.Response:
        return send(self.session, method, self.base_url + path, what=what, base_url=self.base_url,
                    policy=self.policy, redact=self.redact, json=json)

    def _error(self, response: requests.Response, action: str) -> PeeringError:
        credential = getattr(self._auth, "credential", None)
        if credential and response.status_code in (401, 403):
            return credential_error(response, credential, what=action, base_url=self.base_url,
                                    redact=self.redact)
        return error_for(response, what=action, base_url=self.base_url, redact=self.redact,
                         username=self.username, password_set=bool(self._password),
                         basic_auth=isinstance(self._auth, BasicAuth))

    def _unexpected(self, response: requests.Response, what: str) -> PeeringError:
        if response.status_code >= 400:
            return self._error(response, "read the Airflow version")
        return PeeringError("bad_response", f"{self.base_url} does not look like Airflow: unexpected answer "
                                            f"to {what} (HTTP {response.status_code})", response.status_code)

    def _bad_record(self, endpoint: str, error: RecordError) -> PeeringError:
        return PeeringError("bad_response", f"unexpected answer from {self.base_url} to {endpoint}: {error}")
