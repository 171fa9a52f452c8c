"""A real Dagster webserver for tests, on 127.0.0.1, with ``DAGSTER_HOME`` in a temporary folder.

Runs ``dagster-webserver -f MODULE`` from the Dagster venv (``DAGSTER_PYTHON``, default
``.cache/dagster/bin/python``; it needs ``dagster-webserver==1.13.*`` beside ``dagster`` and
``dagster-airlift[core]``). The webserver loads the module in a code server it spawns, and
launches runs (``DefaultRunCoordinator`` set in ``dagster.yaml``: at once, no daemon needed) as subprocesses: all of them
stay in the webserver's session, which ``stop()`` kills (group, then every member left).

``graphql()`` talks to it; ``reload()`` reloads the code location after the module changed
(``build_defs_from_airflow_instance`` reads Airflow when the location loads).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import requests

from tests.support.airflow2_server import kill_session, wait_until
from tests.support.airflow_server import free_port

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PYTHON = REPO / ".cache" / "dagster" / "bin" / "python"

_RUNNING: set = set()

LOCATIONS = """
query { workspaceOrError { __typename ... on Workspace { locationEntries {
  name loadStatus
  locationOrLoadError { __typename ... on PythonError { message stack } }
} } ... on PythonError { message } } }
"""

RELOAD = """
mutation Reload($name: String!) { reloadRepositoryLocation(repositoryLocationName: $name) {
  __typename
  ... on WorkspaceLocationEntry { name loadStatus
    locationOrLoadError { __typename ... on PythonError { message stack } } }
  ... on PythonError { message }
  ... on UnauthorizedError { message }
  ... on ReloadNotSupported { message }
  ... on RepositoryLocationNotFound { message }
} }
"""

RUNS = """
query Runs($tags: [ExecutionTag!]) { runsOrError(filter: {tags: $tags}) {
  __typename
  ... on Runs { results {
    runId status
    tags { key value }
    assetSelection { path }
    stepStats { stepKey status materializations { assetKey { path } } }
  } }
  ... on PythonError { message }
} }
"""


def dagster_python() -> str:
    python = os.environ.get("DAGSTER_PYTHON") or str(DEFAULT_PYTHON)
    if not Path(python).exists():
        pytest.fail(f"Dagster venv missing at {python}: run `make dagster` (make test does it)")
    check = subprocess.run([python, "-c", "import dagster_webserver"], capture_output=True, check=False)
    if check.returncode != 0:
        pytest.fail(f"dagster-webserver is not installed in {python}'s venv: the Dagster venv needs "
                    "`dagster-webserver==1.13.*` (make dagster)")
    return os.path.abspath(python)


class DagsterServer:
    def __init__(self, module: Path, *, cwd: Path, env: Mapping[str, str] | None = None,
                 python: str | None = None) -> None:
        self.module = Path(module).resolve()
        self.cwd = Path(cwd).resolve()
        self.python = python or dagster_python()
        self.home = Path(tempfile.mkdtemp(prefix="airlift-dagster-"))
        self.port = free_port()
        self.extra_env = dict(env or {})
        self.process: subprocess.Popen | None = None
        self.startup_seconds: float | None = None
        self._http = requests.Session()
        self._http.trust_env = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("DAGSTER")}
        env.update({"DAGSTER_HOME": str(self.home), "NO_PROXY": "*", "no_proxy": "*",
                    "DAGSTER_DISABLE_TELEMETRY": "1",
                    "PATH": os.pathsep.join([str(Path(self.python).parent), env.get("PATH", "")])})
        env.update(self.extra_env)
        return env

    def start(self, timeout: float = 180.0) -> DagsterServer:
        began = time.monotonic()
        _RUNNING.add(self)
        # Runs launch at once from the webserver (the default queued coordinator needs a daemon).
        (self.home / "dagster.yaml").write_text(
            "telemetry:\n  enabled: false\n"
            "run_coordinator:\n  module: dagster.core.run_coordinator\n  class: DefaultRunCoordinator\n")
        webserver = Path(self.python).with_name("dagster-webserver")
        with open(self.home / "webserver.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(webserver), "-f", str(self.module), "-h", "127.0.0.1", "-p", str(self.port)],
                env=self.environment(), cwd=self.cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True)
        wait_until(lambda: self._http.get(self.url + "/server_info", timeout=(3, 10)).status_code == 200,
                   timeout, "the Dagster webserver", self.check_alive)
        self.wait_loaded(max(timeout - (time.monotonic() - began), 10.0))
        self.startup_seconds = time.monotonic() - began
        return self

    def stop(self) -> None:
        if self.process is not None:
            kill_session(self.process)
            self.process = None
        _RUNNING.discard(self)
        self._http.close()
        shutil.rmtree(self.home, ignore_errors=True)

    def check_alive(self) -> None:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"dagster-webserver exited ({self.process.returncode}):\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        path = self.home / "webserver.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # -- GraphQL ----------------------------------------------------------------------------------

    def graphql(self, query: str, variables: Mapping | None = None, timeout: float = 60) -> dict:
        response = self._http.post(self.url + "/graphql", json={"query": query, "variables": variables or {}},
                                   timeout=(3, timeout))
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def locations(self) -> list[dict]:
        workspace = self.graphql(LOCATIONS)["workspaceOrError"]
        assert workspace["__typename"] == "Workspace", workspace
        return workspace["locationEntries"]

    def wait_loaded(self, timeout: float = 120.0) -> None:
        """Every code location loaded; a load error fails with its message."""
        def loaded() -> bool:
            entries = self.locations()
            for entry in entries:
                error = entry["locationOrLoadError"]
                if error and error["__typename"] == "PythonError":
                    raise AssertionError(f"code location {entry['name']} failed to load:\n"
                                         f"{error['message']}\n{''.join(error.get('stack') or [])[-3000:]}")
            return bool(entries) and all(e["loadStatus"] == "LOADED" and e["locationOrLoadError"]
                                         for e in entries)
        wait_until(loaded, timeout, "the Dagster code location", self.check_alive)

    def reload(self, timeout: float = 120.0) -> None:
        """Reload every code location (the module changed, or Airflow did)."""
        for entry in self.locations():
            result = self.graphql(RELOAD, {"name": entry["name"]}, timeout=timeout)["reloadRepositoryLocation"]
            assert result["__typename"] == "WorkspaceLocationEntry", result
        self.wait_loaded(timeout)

    def runs(self, tags: Mapping[str, str]) -> list[dict]:
        """Runs carrying every tag given, newest first."""
        result = self.graphql(RUNS, {"tags": [{"key": k, "value": v} for k, v in tags.items()]})["runsOrError"]
        assert result["__typename"] == "Runs", result
        return result["results"]


@atexit.register
def _stop_everything() -> None:
    for server in list(_RUNNING):
        server.stop()


def dagster_fixture(module: Path, *, scope: str = "module"):
    """A fixture ``dagster`` that yields a started ``DagsterServer`` over ``module`` (run from a
    temporary folder) and always stops it. Each call makes a separate fixture, hence a separate
    webserver: a test that stops it stops only its own module's."""

    @pytest.fixture(scope=scope)
    def dagster(tmp_path_factory):
        dagster_python()
        server = DagsterServer(module, cwd=tmp_path_factory.mktemp("dagster"))
        try:
            try:
                server.start()
            except Exception as error:  # noqa: BLE001 - a broken Dagster fails the test, never skips
                pytest.fail(f"could not run the Dagster webserver: {error}\n{server.log_tail()}")
            yield server
        finally:
            server.stop()

    return dagster
