"""A real Airflow 2 for tests: webserver and scheduler on 127.0.0.1 with SQLite.

Airflow 2.11 with dagster-airlift's in-Airflow side (``AIRFLOW2_PYTHON``, default
``.cache/airflow2/bin/python``, made by ``make airflow2``): the only Airflow where airlift's
proxy operators run. ``AIRFLOW_HOME`` is a temporary directory; the REST API (``/api/v1``)
takes basic auth; the SequentialExecutor runs one task at a time (SQLite allows no other).

Each process is started in its own session (``start_new_session``) and stopped by killing its
process group and everything else left in its session (``airflow tasks run`` children, the
gunicorn workers). ``stop()`` runs in the fixture finalizer and at exit, so a failing test leaves
no process behind.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import requests

from tests.support.airflow_server import AirflowReads, _session_members, free_port

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON = REPO / ".cache" / "airflow2" / "bin" / "python"

STARTUP_TIMEOUT = 240.0
"""Seconds for ``db migrate``, the user, the webserver answering."""

_RUNNING: set = set()


def airflow2_python() -> str:
    python = os.environ.get("AIRFLOW2_PYTHON") or str(DEFAULT_PYTHON)
    if not Path(python).exists():
        pytest.fail(f"Airflow 2 venv missing at {python}: run `make airflow2` (make test does it)")
    return os.path.abspath(python)


def kill_session(process: subprocess.Popen, *, grace: float = 5.0) -> None:
    """SIGTERM then SIGKILL a process started with ``start_new_session``: its process group and
    every process left in its session (children that made their own groups)."""
    session = process.pid  # the session leader's pid is the session id and the group id
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _session_members(session) or [process.pid]:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        try:
            os.killpg(session, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + (grace if sig == signal.SIGTERM else 10.0)
        while time.monotonic() < deadline:
            process.poll()
            if process.returncode is not None and not _session_members(session):
                return
            time.sleep(0.2)
    process.poll()


def wait_until(ready: Callable[[], object], timeout: float, what: str,
               alive: Callable[[], None] | None = None, interval: float = 0.5):
    """Call ``ready`` until it returns something truthy (returned); ``alive`` raises when a
    process the wait depends on died."""
    deadline = time.monotonic() + max(timeout, 1.0)
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = ready()
            if value:
                return value
        except requests.RequestException as error:
            last_error = error
        if alive is not None:
            alive()
        time.sleep(interval)
    raise TimeoutError(f"{what} not ready after {timeout:.0f}s"
                       + (f" (last error: {last_error})" if last_error else ""))


class Airflow2Server(AirflowReads):
    """One Airflow 2 installation; ``start()`` it, talk to it through ``api()``, ``stop()`` it."""

    username = "admin"
    password = "admin"
    parser = "scheduler"

    def __init__(self, dags_folder: Path, *, extra_env: Mapping[str, str] | None = None,
                 python: str | None = None) -> None:
        self.dags_folder = Path(dags_folder).resolve()
        self.python = python or airflow2_python()
        self.home = Path(tempfile.mkdtemp(prefix="airlift-airflow2-"))
        self.port = free_port()
        self.extra_env = dict(extra_env or {})
        self.processes: dict[str, subprocess.Popen] = {}
        self.startup_seconds: float | None = None
        self._http = requests.Session()
        self._http.auth = (self.username, self.password)
        self._http.trust_env = False  # loopback only: no proxy from the environment

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- life cycle ---------------------------------------------------------------------------

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW")}
        env.update({
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "SequentialExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__FERNET_KEY": "",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API__AUTH_BACKENDS": ("airflow.api.auth.backend.basic_auth,"
                                            "airflow.api.auth.backend.session"),
            "AIRFLOW__WEBSERVER__WEB_SERVER_HOST": "127.0.0.1",
            "AIRFLOW__WEBSERVER__WEB_SERVER_PORT": str(self.port),
            "AIRFLOW__WEBSERVER__BASE_URL": self.url,
            "AIRFLOW__WEBSERVER__WORKERS": "1",
            "AIRFLOW__WEBSERVER__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__WEBSERVER__WORKER_REFRESH_INTERVAL": "6000",
            "AIRFLOW__WEBSERVER__WORKER_REFRESH_BATCH_SIZE": "0",
            # Edits to DAG files and state files are picked up within seconds.
            "AIRFLOW__SCHEDULER__MIN_FILE_PROCESS_INTERVAL": "1",
            "AIRFLOW__SCHEDULER__DAG_DIR_LIST_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__JOB_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__DAG_PROCESSOR_MANAGER_LOG_LOCATION": str(self.home / "logs" / "manager.log"),
            "NO_PROXY": "*",
            "no_proxy": "*",
            # The SequentialExecutor runs `airflow tasks run ...` found on PATH.
            "PATH": os.pathsep.join([str(Path(self.python).parent), env.get("PATH", "")]),
        })
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = STARTUP_TIMEOUT) -> Airflow2Server:
        began = time.monotonic()
        deadline = began + timeout
        _RUNNING.add(self)
        self._run(["db", "migrate"], deadline)
        self._run(["users", "create", "--username", self.username, "--password", self.password,
                   "--role", "Admin", "--email", "admin@example.com", "--firstname", "Ad",
                   "--lastname", "Min"], deadline)
        self._spawn("webserver", ["webserver", "--hostname", "127.0.0.1", "--port", str(self.port),
                                  "--workers", "1"])
        self._spawn("scheduler", ["scheduler", "--skip-serve-logs"])
        wait_until(lambda: self.api("GET", "/version").status_code == 200,
                   deadline - time.monotonic(), "the Airflow 2 webserver", self.check_alive)
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        # The scheduler first, so it starts no task while the webserver goes.
        for name in ("scheduler", *[n for n in self.processes if n != "scheduler"]):
            process = self.processes.pop(name, None)
            if process is not None:
                kill_session(process)
        _RUNNING.discard(self)
        self._http.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def _run(self, arguments: list[str], deadline: float) -> None:
        result = subprocess.run([self.python, "-m", "airflow", *arguments], env=self.environment(),
                                cwd=self.home, capture_output=True, text=True, check=False,
                                timeout=max(deadline - time.monotonic(), 1.0), start_new_session=True)
        if result.returncode != 0:
            raise RuntimeError(f"airflow {' '.join(arguments[:2])} failed:\n{result.stderr[-3000:]}")

    def _spawn(self, name: str, arguments: list[str]) -> None:
        with open(self.home / f"{name}.log", "ab") as log:  # the child keeps its own descriptor
            self.processes[name] = subprocess.Popen(
                [self.python, "-m", "airflow", *arguments], env=self.environment(), cwd=self.home,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"airflow {name} exited ({process.returncode}):\n{self.log_tail(name)}")

    def _wait(self, ready, timeout: float, what: str) -> None:
        wait_until(ready, timeout, what, self.check_alive, 1.0)

    # -- REST (not the code under test) ---------------------------------------------------------

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self._http.request(method, f"{self.url}/api/v1{path}", timeout=(3, 30), **kwargs)

    def unpause(self, dag_id: str) -> None:
        response = self.api("PATCH", f"/dags/{dag_id}", params={"update_mask": "is_paused"},
                            json={"is_paused": False})
        assert response.status_code == 200, response.text

    def trigger(self, dag_id: str, run_id: str) -> str:
        response = self.api("POST", f"/dags/{dag_id}/dagRuns", json={"dag_run_id": run_id, "conf": {}})
        assert response.status_code == 200, response.text
        return response.json()["dag_run_id"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240.0) -> str:
        """Wait until the run finished; return its state."""
        states: dict[str, str] = {}

        def finished() -> bool:
            states["state"] = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json().get("state")
            return states["state"] in ("success", "failed")

        try:
            wait_until(finished, timeout, f"run {dag_id}/{run_id}", self.check_alive, 1.0)
        except TimeoutError as error:
            raise TimeoutError(f"{error}; state {states.get('state')}; tasks "
                               f"{self.task_instances(dag_id, run_id)}\n"
                               f"scheduler:\n{self.log_tail('scheduler')}") from None
        return states["state"]


@atexit.register
def _stop_everything() -> None:
    for server in list(_RUNNING):
        server.stop()

