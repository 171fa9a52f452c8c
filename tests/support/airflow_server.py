"""A real Airflow 3 for tests: api-server, scheduler and dag-processor on 127.0.0.1 with SQLite.

Everything runs from the separate Airflow venv (``AIRFLOW3_PYTHON``, default
``.cache/airflow3/bin/python``) with ``AIRFLOW_HOME`` in a temporary directory. Each component
is started in its own session (``start_new_session``), so stopping kills its whole process
group plus anything else left in the session (task runners move to their own process
groups but stay in the session). Stopping happens in the fixture finalizer and at exit, so
a failing test leaves no process behind.

Use ``airflow_fixture(folder)`` to make a session-scoped pytest fixture.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON = REPO / ".cache" / "airflow3" / "bin" / "python"

STARTUP_TIMEOUT = 240.0
"""Seconds for ``db migrate`` plus the api-server answering plus the DAGs parsed."""

_RUNNING: set[AirflowServer] = set()


def airflow_python() -> str:
    python = os.path.abspath(os.environ.get("AIRFLOW3_PYTHON") or str(DEFAULT_PYTHON))
    if not Path(python).exists():
        pytest.fail(f"Airflow 3 venv missing at {python}: run `make airflow3` (make test does it)")
    return python


def airflow3_airlift_python() -> str:
    """Airflow 3.3.2 with dagster-airlift's in-Airflow side on Python 3.13 (``make airflow3-airlift``)."""
    python = os.path.abspath(os.environ.get("AIRFLOW3_AIRLIFT_PYTHON")
                             or str(REPO / ".cache" / "airflow3-airlift" / "bin" / "python"))
    if not Path(python).exists():
        pytest.fail(f"Airflow 3 + dagster-airlift venv missing at {python}: run `make airflow3-airlift` "
                    "(make test does it)")
    return python


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AirflowReads:
    """What tests read of an Airflow the same way on 2 and 3 (``Airflow2Server``, ``AirflowServer``):
    the class gives ``home``, ``api()``, ``_wait()`` and ``parser``, the process that parses DAG files."""

    home: Path
    parser: str

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        raise NotImplementedError

    def _wait(self, ready, timeout: float, what: str) -> None:
        raise NotImplementedError

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def task_log(self, dag_id: str, run_id: str, task_id: str, chars: int = 4000) -> str:
        """The task's log files (every try), for failure messages."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        texts = [p.read_text(errors="replace") for p in sorted(folder.rglob("*.log"))] if folder.exists() else []
        return "\n".join(texts)[-chars:]

    def task_classes(self, dag_id: str) -> dict[str, str]:
        """{task_id: operator class name} as Airflow's serialized DAG has it."""
        response = self.api("GET", f"/dags/{dag_id}/tasks")
        if response.status_code != 200:
            return {}
        return {t["task_id"]: t["class_ref"]["class_name"] for t in response.json()["tasks"]}

    def wait_for_task_classes(self, dag_id: str, expected: Mapping[str, str], timeout: float = 120.0) -> None:
        """Wait until Airflow re-parsed the DAG (and its state file) into ``expected``."""
        seen: dict[str, dict] = {}

        def matches() -> bool:
            seen["classes"] = self.task_classes(dag_id)
            return seen["classes"] == dict(expected)

        try:
            self._wait(matches, timeout, f"tasks of {dag_id} as {dict(expected)}")
        except TimeoutError:
            errors = self.api("GET", "/importErrors").text
            raise TimeoutError(f"tasks of {dag_id} not {dict(expected)} after {timeout:.0f}s; last seen "
                               f"{seen.get('classes')}; import errors: {errors}\n"
                               f"{self.parser}:\n{self.log_tail(self.parser)}") from None

    def task_instances(self, dag_id: str, run_id: str) -> dict[str, dict]:
        response = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances")
        if response.status_code != 200:
            return {}
        return {ti["task_id"]: ti for ti in response.json()["task_instances"]}


class AirflowServer(AirflowReads):
    """One Airflow 3 installation; ``start()`` it, talk to it through ``api()``, ``stop()`` it."""

    username = "admin"
    parser = "dag-processor"

    def __init__(self, dags_folder: Path, python: str | None = None, *,
                 extra_env: Mapping[str, str] | None = None) -> None:
        self.dags_folder = Path(dags_folder).resolve()
        self.python = python or airflow_python()
        self.extra_env = dict(extra_env or {})
        self.home = Path(tempfile.mkdtemp(prefix="airlift-airflow-"))
        self.port = free_port()
        self.password = "pw-" + secrets.token_urlsafe(18)
        self._jwt_secret = secrets.token_hex(32)  # 64 characters, shared by every component
        self.processes: dict[str, subprocess.Popen] = {}
        self.startup_seconds: float | None = None
        self._token: str | None = None
        self._http = requests.Session()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- life cycle ---------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        passwords = self.home / "passwords.json"
        passwords.write_text(json.dumps({self.username: self.password}))
        env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "2",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{self.username}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret,
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.url,
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        })
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = STARTUP_TIMEOUT) -> AirflowServer:
        began = time.monotonic()
        deadline = began + timeout
        _RUNNING.add(self)
        migrate = subprocess.run([self.python, "-m", "airflow", "db", "migrate"], env=self.environment(),
                                 cwd=self.home, capture_output=True, text=True, timeout=timeout, check=False)
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrate.stderr[-3000:]}")
        self.start_api_server(deadline - time.monotonic())
        self._spawn("scheduler", ["scheduler", "--skip-serve-logs"])
        self._spawn("dag-processor", ["dag-processor"])
        self.startup_seconds = time.monotonic() - began
        return self

    def start_api_server(self, timeout: float = 120.0) -> None:
        self._spawn("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(self.port),
                                   "--workers", "1"])
        self._wait(lambda: self._get("/api/v2/version").status_code == 200, timeout, "the api-server")
        # The first call of the execution API is slow (it builds its app); do it before a task does.
        self._wait(lambda: self._get("/execution/health").status_code == 200, timeout, "the execution API")

    def stop_api_server(self) -> None:
        """Kill the api-server (SIGKILL, like a crash); ``start_api_server()`` brings it back."""
        self._kill("api-server")

    def stop(self) -> None:
        for name in list(self.processes):
            self._kill(name)
        _RUNNING.discard(self)
        self._http.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def _spawn(self, name: str, arguments: list[str]) -> None:
        with open(self.home / f"{name}.log", "ab") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(
                [self.python, "-m", "airflow", *arguments], env=self.environment(), cwd=self.home,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _kill(self, name: str) -> None:
        process = self.processes.pop(name, None)
        if process is None:
            return
        session = process.pid  # start_new_session: the leader's pid is the session and group id
        # The scheduler gets a moment to stop its task processes; the api-server (uvicorn waits
        # for kept-alive clients) and anything left get SIGKILL: the database is thrown away.
        signals = (signal.SIGKILL,) if name == "api-server" else (signal.SIGTERM, signal.SIGKILL)
        for sig in signals:
            for pid in _session_members(session) or [process.pid]:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            try:
                os.killpg(session, sig)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout=3 if sig == signal.SIGTERM else 5)
            except subprocess.TimeoutExpired:
                continue
            if not _session_members(session):
                return
            time.sleep(0.5)

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + max(timeout, 1.0)
        while time.monotonic() < deadline:
            try:
                if ready():
                    return
            except requests.RequestException:
                pass
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited ({process.returncode}):\n"
                                       f"{self.log_tail(name)}")
            time.sleep(0.5)
        raise TimeoutError(f"{what} not ready after {timeout:.0f}s:\n{self.log_tail('api-server')}")

    # -- REST helpers for setting up runs (not the code under test) ---------------------------

    def _get(self, path: str) -> requests.Response:
        return self._http.get(self.url + path, timeout=(3, 10))

    def token(self) -> str:
        if self._token is None:
            response = self._http.post(f"{self.url}/auth/token", timeout=(3, 10),
                                       json={"username": self.username, "password": self.password})
            response.raise_for_status()
            self._token = response.json()["access_token"]
        return self._token

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token()}"}
        response = self._http.request(method, f"{self.url}/api/v2{path}", headers=headers,
                                      timeout=(3, 30), **kwargs)
        if response.status_code == 401:
            self._token = None
            headers = {"Authorization": f"Bearer {self.token()}"}
            response = self._http.request(method, f"{self.url}/api/v2{path}", headers=headers,
                                          timeout=(3, 30), **kwargs)
        return response

    def wait_for_dags(self, dag_ids: Iterable[str], timeout: float = 120.0) -> None:
        dag_ids = list(dag_ids)
        self._wait(lambda: all(self.api("GET", f"/dags/{d}").status_code == 200 for d in dag_ids),
                   timeout, f"DAGs {dag_ids}")

    def unpause(self, dag_id: str) -> None:
        response = self.api("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
        assert response.status_code == 200, response.text

    def trigger(self, dag_id: str, run_id: str | None = None) -> str:
        body = {"logical_date": None, **({"dag_run_id": run_id} if run_id else {})}
        response = self.api("POST", f"/dags/{dag_id}/dagRuns", json=body)
        assert response.status_code == 200, response.text
        return response.json()["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180.0) -> str:
        """Wait until the run finished; return its state (Airflow2Server's interface)."""
        return self.wait_for_runs([(dag_id, run_id)], timeout)[(dag_id, run_id)]

    def wait_for_runs(self, runs: Iterable[tuple[str, str]], timeout: float = 180.0) -> dict:
        """Wait until every (dag_id, run_id) is finished; return their states."""
        runs = list(runs)
        states: dict[tuple[str, str], str] = {}

        def finished() -> bool:
            for dag_id, run_id in runs:
                state = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json().get("state")
                states[(dag_id, run_id)] = state
            return all(s in ("success", "failed") for s in states.values())

        try:
            self._wait(finished, timeout, f"runs {runs}")
        except TimeoutError as error:
            raise TimeoutError(f"{error}\nstates: {states}\n"
                               f"scheduler:\n{self.log_tail('scheduler')}") from None
        return states


def _session_members(session: int) -> list[int]:
    """Pids still in a session (Linux /proc); empty when /proc is unavailable."""
    members = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return members
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                stat = handle.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        # fields[0] is the state; then ppid, pgrp, session
        if len(fields) > 3 and fields[0] != "Z" and int(fields[3]) == session:
            members.append(int(entry))
    return members


@contextmanager
def time_limit(seconds: float, what: str = "test"):
    """Interrupt a test that outlives ``seconds``: SIGINT to this process, so pytest stops with a
    KeyboardInterrupt and still runs finalizers (Airflow is stopped), even when the test is stuck
    in a blocking call. A guard for bugs: tests bound their own waits."""

    def fire() -> None:
        sys.stderr.write(f"\n{what} still running after {seconds:.0f}s: interrupting\n")
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(seconds, fire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@atexit.register
def _stop_everything() -> None:
    for server in list(_RUNNING):
        server.stop()


def airflow_fixture(dags_folder: Path, *, unpause: Iterable[str] = (), scope: str = "session"):
    """A fixture that yields a started ``AirflowServer`` and always stops it.

    Session-scoped by default: defined once (in a conftest), every module shares one Airflow.
    Each call makes a separate fixture, hence a separate Airflow."""

    @pytest.fixture(scope=scope)
    def airflow_server():
        server = AirflowServer(dags_folder)
        try:
            try:
                server.start()
                dag_ids = list(unpause)
                if dag_ids:
                    server.wait_for_dags(dag_ids)
                    for dag_id in dag_ids:
                        server.unpause(dag_id)
            except Exception as error:  # noqa: BLE001 - a broken Airflow fails the tests, never skips
                pytest.fail(f"could not run Airflow: {error}")
            yield server
        finally:
            server.stop()

    return airflow_server
