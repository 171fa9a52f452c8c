"""A tiny local stand-in for Airflow's REST API, for what a real Airflow will not do on demand:
hang, answer 500 then recover, send garbage, cut a connection mid-answer, expire a token,
forbid. It also plays Airflow 2 (``/api/v1``, basic auth), which is not installed here.

It follows the shapes of the specs the client was written from (Airflow 3.3.2's
``v2-rest-api-generated.yaml``, Airflow 2.10's ``v1.yaml``), including what the real servers
refuse: unknown keys in a batch body (422 on v2, 400 on v1) and unknown ``order_by`` fields.
Only 127.0.0.1, a random port, a daemon thread per request.
"""

from __future__ import annotations

import base64
import json
import secrets
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

V2_RUN_BODY = {"order_by", "page_offset", "page_limit", "dag_ids", "states", "run_after_gte", "run_after_gt",
               "run_after_lte", "run_after_lt", "logical_date_gte", "logical_date_gt", "logical_date_lte",
               "logical_date_lt", "start_date_gte", "start_date_gt", "start_date_lte", "start_date_lt",
               "end_date_gte", "end_date_gt", "end_date_lte", "end_date_lt", "duration_gte", "duration_gt",
               "duration_lte", "duration_lt", "conf_contains"}
V2_TI_BODY = {"dag_ids", "dag_run_ids", "task_ids", "state", "run_after_gte", "run_after_gt",
              "run_after_lte", "run_after_lt", "logical_date_gte", "logical_date_gt", "logical_date_lte",
              "logical_date_lt", "start_date_gte", "start_date_gt", "start_date_lte", "start_date_lt",
              "end_date_gte", "end_date_gt", "end_date_lte", "end_date_lt", "duration_gte", "duration_gt",
              "duration_lte", "duration_lt", "pool", "queue", "executor", "page_offset", "page_limit",
              "order_by"}
V2_RUN_ORDER = {"id", "state", "dag_id", "run_after", "logical_date", "run_id", "dag_run_id", "start_date",
                "end_date", "updated_at", "conf"}
V1_RUN_BODY = {"order_by", "page_offset", "page_limit", "dag_ids", "states", "execution_date_gte",
               "execution_date_lte", "start_date_gte", "start_date_lte", "end_date_gte", "end_date_lte"}
V1_TI_BODY = {"page_offset", "page_limit", "dag_ids", "dag_run_ids", "task_ids", "execution_date_gte",
              "execution_date_lte", "start_date_gte", "start_date_lte", "end_date_gte", "end_date_lte",
              "duration_gte", "duration_lte", "state", "pool", "queue", "executor", "order_by"}
V1_RUN_ORDER = {"id", "state", "dag_id", "execution_date", "dag_run_id", "start_date", "end_date",
                "external_trigger", "conf"}

ECHO_CREDENTIALS = "echo-credentials"
"""A fault body: answer with the request's Authorization header and the password in ``detail``."""

BASE_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


@dataclass
class Fault:
    """What to do instead of answering, for the next ``times`` requests whose path contains
    ``path``: ``status`` (answer it, JSON ``body``), ``hang`` (sleep ``seconds`` first),
    ``garbage`` (200, not JSON), ``cut`` (promise more bytes than sent, then close), ``drop``
    (close without answering)."""

    kind: str
    path: str = ""
    times: int = 1
    status: int = 500
    body: Any = None
    seconds: float = 0.0


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: Any


@dataclass
class FakeAirflow:
    api_version: str = "v2"
    username: str = "admin"
    password: str = field(default_factory=lambda: "pw-" + secrets.token_urlsafe(12))
    version: str = ""
    max_page_limit: int | None = None
    """Clamp ``page_limit`` like a server with a small ``maximum_page_limit``."""
    v1_unpaged_task_instances: bool = False
    """Airflow 2 before 2.10: the task-instance batch answers everything whatever the page keys."""
    overstated_total: int = 0
    """Add this to every ``total_entries`` (a server that announces more than it has)."""
    runs: list[dict] = field(default_factory=list)
    task_instances: list[dict] = field(default_factory=list)
    dags: dict[str, dict] = field(default_factory=dict)
    """The deployed DAGs by id (``add_dag``), with their tasks under ``"_tasks"``."""
    faults: deque = field(default_factory=deque)
    seen: list[Seen] = field(default_factory=list)
    tokens: set = field(default_factory=set)
    expired: set = field(default_factory=set)
    issued_tokens: list = field(default_factory=list)
    always_401: bool = False

    def __post_init__(self) -> None:
        self.version = self.version or ("3.3.2" if self.api_version == "v2" else "2.11.0")
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self) -> FakeAirflow:
        fake = self

        class Handler(_Handler):
            airflow = fake

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="fake-airflow", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_all()
            self._server = None

    def __enter__(self) -> FakeAirflow:  # noqa: PYI034 - a dataclass, not subclassed
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- scripting ----------------------------------------------------------------------------------

    def fault(self, kind: str, path: str = "", times: int = 1, **options: Any) -> None:
        with self._lock:
            self.faults.append(Fault(kind, path, times, **options))

    def expire_tokens(self) -> None:
        """Tokens run out: Airflow 3 answers 401 ``Token Expired``."""
        with self._lock:
            self.expired.update(self.tokens)
            self.tokens.clear()

    def forget_tokens(self) -> None:
        """A restart with a new JWT secret: Airflow 3 answers 403 ``Invalid JWT token``."""
        with self._lock:
            self.tokens.clear()

    def requests_to(self, fragment: str) -> list[Seen]:
        return [s for s in self.seen if fragment in s.path]

    def add_run(self, dag_id: str, run_id: str, state: str, tasks: dict[str, str | list[str]], *,
                minutes_ago: float = 10, seconds: float = 30, try_number: int = 1) -> None:
        """A run with its task instances; a list of states makes a mapped task."""
        start = BASE_TIME - timedelta(minutes=minutes_ago)
        end = start + timedelta(seconds=seconds) if state in ("success", "failed") else None
        run = {"dag_run_id": run_id, "dag_id": dag_id, "start_date": iso(start), "end_date": iso(end),
               "state": state, "conf": {}, "note": None, "data_interval_start": None,
               "data_interval_end": None, "last_scheduling_decision": None, "run_type": "manual"}
        if self.api_version == "v2":
            run.update({"logical_date": None, "run_after": iso(start - timedelta(seconds=1)),
                        "queued_at": iso(start), "duration": seconds if end else None,
                        "triggered_by": "rest_api",
                        "dag_versions": [], "bundle_version": None, "dag_display_name": dag_id})
        else:
            run.update({"logical_date": iso(start), "execution_date": iso(start), "external_trigger": True})
        self.runs.append(run)
        for task_id, states in tasks.items():
            mapped = isinstance(states, list)
            for index, task_state in enumerate(states if mapped else [states]):
                ti_end = end if task_state in ("success", "failed", "upstream_failed", "skipped") else None
                ti = {"task_id": task_id, "dag_id": dag_id, "dag_run_id": run_id,
                      "map_index": index if mapped else -1, "start_date": iso(start), "end_date": iso(ti_end),
                      "duration": seconds if ti_end else None, "state": task_state, "try_number": try_number,
                      "max_tries": 0, "hostname": "", "unixname": "airflow", "pool": "default_pool",
                      "pool_slots": 1, "queue": "default", "priority_weight": 1,
                      "operator": "EmptyOperator", "queued_when": None, "pid": None, "executor": None,
                      "executor_config": "{}", "note": None,
                      "rendered_map_index": None, "trigger": None, "triggerer_job": None}
                if self.api_version == "v2":
                    ti.update({"id": secrets.token_hex(16), "logical_date": None,
                               "run_after": run["run_after"]})
                else:
                    ti.update({"execution_date": run["execution_date"], "sla_miss": None})
                self.task_instances.append(ti)

    def add_dag(self, dag_id: str, fileloc: str, tasks: dict[str, list[str]], *, operator: str = "PythonOperator",
                mapped: tuple[str, ...] = ()) -> None:
        """A deployed DAG: ``tasks`` maps each task id to its downstream task ids."""
        parsed = BASE_TIME + timedelta(seconds=len(self.dags))
        dag = {"dag_id": dag_id, "dag_display_name": dag_id, "is_paused": True, "fileloc": fileloc,
               "last_parsed_time": iso(parsed), "owners": ["airflow"], "tags": [], "description": None,
               "file_token": secrets.token_hex(8), "timetable_description": "Never"}
        if self.api_version == "v2":
            dag.update({"is_stale": False, "last_parse_duration": 0.1, "bundle_name": "dags-folder",
                        "bundle_version": None, "relative_fileloc": fileloc.rsplit("/", 1)[-1],
                        "has_import_errors": False})
        else:
            dag.update({"is_active": True, "is_subdag": False, "root_dag_id": None, "last_pickled": None,
                        "schedule_interval": None})
        dag["_tasks"] = [self._task(task_id, downstream, operator, task_id in mapped)
                         for task_id, downstream in sorted(tasks.items())]
        with self._lock:
            self.dags[dag_id] = dag

    def _task(self, task_id: str, downstream: list[str], operator: str, mapped: bool) -> dict:
        task = {"task_id": task_id, "task_display_name": task_id, "owner": "airflow",
                "class_ref": {"module_path": "airflow.providers.standard.operators.python", "class_name": operator},
                "downstream_task_ids": sorted(downstream), "is_mapped": mapped, "trigger_rule": "all_success",
                "retries": 0, "template_fields": [], "extra_links": []}
        if self.api_version == "v2":
            task["operator_name"] = operator
        return task

    def reparse(self, dag_id: str, tasks: dict[str, list[str]] | None = None, seconds: float = 30) -> None:
        """Airflow parsed the file again: a new ``last_parsed_time`` (and new tasks when given)."""
        with self._lock:
            dag = self.dags[dag_id]
            dag["last_parsed_time"] = iso(datetime.fromisoformat(dag["last_parsed_time"].replace("Z", "+00:00"))
                                          + timedelta(seconds=seconds))
            if tasks is not None:
                dag["_tasks"] = [self._task(t, d, "PythonOperator", False) for t, d in sorted(tasks.items())]

    def set_run_state(self, dag_id: str, run_id: str, state: str, task_states: dict[str, str]) -> None:
        for run in self.runs:
            if run["dag_id"] == dag_id and run["dag_run_id"] == run_id:
                run["state"] = state
                run["end_date"] = iso(BASE_TIME)
        for ti in self.task_instances:
            if ti["dag_id"] == dag_id and ti["dag_run_id"] == run_id and ti["task_id"] in task_states:
                ti["state"] = task_states[ti["task_id"]]
                ti["end_date"] = iso(BASE_TIME)

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in list(self.faults):
                if fault.path in path:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


class _QuietServer(ThreadingHTTPServer):
    """Quiet, and ``close_all()`` ends kept-alive connections too, so a stopped fake is gone
    (``shutdown()`` alone only stops accepting)."""

    daemon_threads = True

    def __init__(self, *args: Any) -> None:
        self.connections: set = set()
        super().__init__(*args)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.connections.discard(request)
        super().shutdown_request(request)

    def close_all(self) -> None:
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up on a hanging answer is what the tests want


class _Handler(BaseHTTPRequestHandler):
    airflow: FakeAirflow
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms delayed-ACK wait

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    # -- plumbing -----------------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        fake = self.airflow
        fake.seen.append(Seen(method, self.path, dict(self.headers), body))
        fault = fake._take_fault(self.path)
        if fault is not None and self._apply(fault):
            return
        try:
            path, _, query = self.path.partition("?")
            status, payload = self._route(method, path, body, parse_qs(query))
        except Exception as error:  # noqa: BLE001 - a fake server bug shows as a 500
            status, payload = 500, {"detail": f"fake server error: {error!r}"}
        self._send(status, payload)

    def _apply(self, fault: Fault) -> bool:
        """True when the fault replaced the answer."""
        if fault.kind == "hang":
            time.sleep(fault.seconds)
            return False
        if fault.kind == "status":
            body = fault.body if fault.body is not None else {"detail": "injected"}
            if body == ECHO_CREDENTIALS:  # like a server quoting the request it refused
                body = {"detail": f"bad request: Authorization={self.headers.get('Authorization')} "
                                  f"password={self.airflow.password}"}
            self._send(fault.status, body)
        elif fault.kind == "garbage":
            self._send_raw(200, b"<html><body>Welcome to nginx!</body></html>", "text/html")
        elif fault.kind == "cut":
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "5000")
            self.end_headers()
            self.wfile.write(b'{"dag_runs": [{"dag_run_id": "man')
            self.wfile.flush()
            self.close_connection = True
        elif fault.kind == "drop":
            self.close_connection = True
        else:
            raise ValueError(fault.kind)
        return True

    def _send(self, status: int, payload: Any) -> None:
        self._send_raw(status, json.dumps(payload).encode(), "application/json")

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    # -- the API ------------------------------------------------------------------------------------

    def _route(self, method: str, path: str, body: Any, query: dict[str, list[str]]) -> tuple[int, Any]:
        fake = self.airflow
        v2 = fake.api_version == "v2"
        if method == "GET" and path == "/api/v2/version":
            if not v2:
                return 404, {"detail": "Not Found"}
            return 200, {"version": fake.version, "git_version": None}
        if method == "POST" and path == "/auth/token" and v2:
            return self._token(body)
        prefix = "/api/v2" if v2 else "/api/v1"
        if not path.startswith(prefix + "/"):
            return 404, {"detail": "Not Found"}
        denied = self._check_auth()
        if denied is not None:
            return denied
        if method == "GET" and path == prefix + "/version":
            return 200, {"version": fake.version, "git_version": "abc"}
        if method == "POST" and path == prefix + "/dags/~/dagRuns/list":
            return self._dag_runs(body)
        if method == "POST" and path == prefix + "/dags/~/dagRuns/~/taskInstances/list":
            return self._task_instances(body)
        if method == "GET" and path == prefix + "/dags":
            return self._dags(query)
        if method == "GET" and path.startswith(prefix + "/dags/") and path.endswith("/tasks"):
            return self._tasks(unquote(path[len(prefix + "/dags/"):-len("/tasks")]))
        return 404, {"detail": "Not Found"}

    def _dags(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        """``GET /dags``: v2 and v1 both clamp ``limit`` to ``maximum_page_limit`` (100 by default);
        v1 validates its query keys (connexion's strict validation)."""
        fake = self.airflow
        allowed = {"limit", "offset", "order_by", "tags", "paused", "dag_id_pattern"} | (
            {"exclude_stale", "owners"} if fake.api_version == "v2" else {"only_active", "fields"})
        if set(query) - allowed:
            return 400, {"detail": f"Extra query parameter(s) {sorted(set(query) - allowed)} not in spec"}
        limit = int(query.get("limit", ["100" if fake.api_version == "v1" else "50"])[0])
        offset = int(query.get("offset", ["0"])[0])
        limit = min(limit, fake.max_page_limit or 100)
        with fake._lock:
            dags = [{k: v for k, v in dag.items() if k != "_tasks"} for _, dag in sorted(fake.dags.items())]
        return 200, {"dags": dags[offset:offset + limit], "total_entries": len(dags) + fake.overstated_total}

    def _tasks(self, dag_id: str) -> tuple[int, Any]:
        with self.airflow._lock:
            dag = self.airflow.dags.get(dag_id)
            tasks = list(dag["_tasks"]) if dag else None
        if tasks is None:
            return 404, {"detail": f"The Dag with ID: `{dag_id}` was not found"}
        return 200, {"tasks": tasks, "total_entries": len(tasks)}

    def _token(self, body: Any) -> tuple[int, Any]:
        fake = self.airflow
        if not isinstance(body, dict) or set(body) != {"username", "password"}:
            return 422, {"detail": [{"type": "missing", "loc": ["body"], "msg": "Field required",
                                     "input": body}]}
        if body["username"] != fake.username or body["password"] != fake.password:
            return 401, {"detail": "Invalid credentials"}
        token = "tok-" + secrets.token_urlsafe(24)
        with fake._lock:
            fake.tokens.add(token)
            fake.issued_tokens.append(token)
        return 201, {"access_token": token}

    def _check_auth(self) -> tuple[int, Any] | None:
        fake = self.airflow
        header = self.headers.get("Authorization", "")
        if fake.api_version == "v2":  # as airflow/api_fastapi/core_api/security.py answers
            token = header.removeprefix("Bearer ")
            if fake.always_401 or not header.startswith("Bearer "):
                return 401, {"detail": "Not authenticated"}
            if token in fake.expired:
                return 401, {"detail": "Token Expired"}
            if token not in fake.tokens:
                return 403, {"detail": "Invalid JWT token"}
            return None
        expected = "Basic " + base64.b64encode(f"{fake.username}:{fake.password}".encode()).decode()
        if fake.always_401 or header != expected:
            return 401, {"type": "about:blank", "title": "Unauthorized", "status": 401,
                         "detail": "No credentials found or credentials are invalid"}
        return None

    def _invalid(self, message: str) -> tuple[int, Any]:
        if self.airflow.api_version == "v2":
            return 422, {"detail": [{"type": "extra_forbidden", "msg": message}]}
        return 400, {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": message}

    def _page(self, body: dict, items: list, key: str, *, paginate: bool = True) -> tuple[int, Any]:
        total = len(items)
        if paginate:
            offset = int(body.get("page_offset", 0))
            limit = int(body.get("page_limit", 100))
            if self.airflow.max_page_limit:
                limit = min(limit, self.airflow.max_page_limit)
            items = items[offset:offset + limit]
        return 200, {key: items, "total_entries": total + self.airflow.overstated_total}

    def _dag_runs(self, body: Any) -> tuple[int, Any]:
        fake = self.airflow
        v2 = fake.api_version == "v2"
        allowed, orders = (V2_RUN_BODY, V2_RUN_ORDER) if v2 else (V1_RUN_BODY, V1_RUN_ORDER)
        if not isinstance(body, dict) or set(body) - allowed:
            return self._invalid(f"unknown fields: {sorted(set(body or {}) - allowed)}")
        order = body.get("order_by") or "id"
        field_name = order.lstrip("-")
        if field_name not in orders:
            return 400, {"detail": f"Ordering with '{field_name}' is disallowed"}
        field_name = {"dag_run_id": "dag_run_id", "run_id": "dag_run_id"}.get(field_name, field_name)
        runs = [r for r in fake.runs if not body.get("dag_ids") or r["dag_id"] in body["dag_ids"]]
        runs.sort(key=lambda r: (r.get(field_name) is not None, r.get(field_name) or ""),
                  reverse=order.startswith("-"))
        return self._page(body, runs, "dag_runs")

    def _task_instances(self, body: Any) -> tuple[int, Any]:
        fake = self.airflow
        allowed = V2_TI_BODY if fake.api_version == "v2" else V1_TI_BODY
        if not isinstance(body, dict) or set(body) - allowed:
            return self._invalid(f"unknown fields: {sorted(set(body or {}) - allowed)}")
        tis = [ti for ti in fake.task_instances
               if (not body.get("dag_ids") or ti["dag_id"] in body["dag_ids"])
               and (not body.get("dag_run_ids") or ti["dag_run_id"] in body["dag_run_ids"])]
        # Airflow 2.11 pages it (with no ORDER BY); before 2.10 it answered everything at once.
        return self._page(body, tis, "task_instances",
                          paginate=fake.api_version == "v2" or not fake.v1_unpaged_task_instances)
