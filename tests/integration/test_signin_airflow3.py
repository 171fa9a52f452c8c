"""``airflow.auth = token`` and ``command`` against a real Airflow 3.3.2: a token-only client (no
user, no password) with a token from ``POST /auth/token``, and a token command, including one
whose tokens expire while the api-server runs (a second api-server with 12-second JWTs and no
leeway): renewed ahead of their ``exp``, and after Airflow's 401 ``Token Expired``."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

from server.peering import AirflowClient, PeeringError, fetch_history
from server.peering.tokens import jwt_expiry
from server.settings import AirflowSettings, load_settings
from tests.conftest import FIXTURES, TUTORIAL, run_cli
from tests.e2e.editor import start_session
from tests.integration.conftest import DAG_IDS
from tests.support.airflow_server import _RUNNING, AirflowServer, time_limit

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

JWT_SECONDS = 12


@pytest.fixture(autouse=True)
def bounded():
    with time_limit(240, "a real-Airflow sign-in test"):
        yield


def exchanges(client: AirflowClient) -> list[tuple[str, int]]:
    """Every HTTP exchange the client makes: (``METHOD /path``, status)."""
    seen: list[tuple[str, int]] = []

    def hook(response, *args, **kwargs):
        seen.append((f"{response.request.method} {response.request.path_url}", response.status_code))

    client.session.hooks["response"].append(hook)
    return seen


def login_script(tmp_path: Path, server: AirflowServer) -> list[str]:
    """A token command that logs in to ``server`` itself (``POST /auth/token``) and prints the
    token: bare, or (when the file ``lie`` exists) as an ExecCredential whose expiry is a day off,
    so that only Airflow's 401 can tell it expired. Each run appends a line to ``runs``."""
    (tmp_path / "login.json").write_text(json.dumps({"url": server.url, "username": server.username,
                                                      "password": server.password}))
    script = tmp_path / "airflow-token"
    script.write_text(f"""#!{sys.executable}
import json, pathlib, urllib.request
from datetime import datetime, timedelta, timezone
here = pathlib.Path(__file__).parent
login = json.loads((here / "login.json").read_text())
request = urllib.request.Request(login["url"] + "/auth/token", method="POST",
                                 data=json.dumps({{"username": login["username"], "password": login["password"]}}).encode(),
                                 headers={{"Content-Type": "application/json"}})
token = json.load(urllib.request.urlopen(request, timeout=10))["access_token"]
with open(here / "runs", "a") as runs:
    runs.write("run\\n")
with open(here / "issued", "a") as issued:
    issued.write(token + "\\n")
if (here / "lie").exists():
    later = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    print(json.dumps({{"kind": "ExecCredential", "status": {{"token": token, "expirationTimestamp": later}}}}))
else:
    print(token)
""")
    script.chmod(0o755)
    return [str(script)]


def runs_of(tmp_path: Path) -> int:
    path = tmp_path / "runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_a_token_only_client_reads_runs_with_a_token_from_auth_token(airflow_server, finished_runs,
                                                                      tmp_path: Path) -> None:
    token = airflow_server.token()
    settings, _ = load_settings(str(tmp_path), {"airflow": {"url": airflow_server.url, "auth": "token"}},
                                environ={"AIRFLOW_TOKEN": token})
    assert settings.airflow.username is None and settings.airflow.password is None
    client = AirflowClient.from_settings(settings.airflow)
    seen = exchanges(client)
    assert client.connect() == "v2"
    history = fetch_history(client, DAG_IDS)
    for dag_id, run_id in finished_runs.items():
        assert run_id in [r.run_id for r in history.runs(dag_id)]
    assert [path for path, _ in seen] == ["GET /api/v2/version", "POST /api/v2/dags/~/dagRuns/list",
                                          "POST /api/v2/dags/~/dagRuns/~/taskInstances/list"]
    assert {status for _, status in seen} == {200}
    rejected = AirflowClient.from_settings(AirflowSettings(url=airflow_server.url, auth="token",
                                                           token=token[:-4] + "AAAA"))
    with pytest.raises(PeeringError) as caught:
        rejected.list_dag_runs(DAG_IDS, limit=1)
    assert str(caught.value) == (f"authentication failed: Airflow at {airflow_server.url} rejected the API "
                                 "token (HTTP 403): Invalid JWT token")
    assert token[:-4] not in str(caught.value)
    client.close()
    rejected.close()


def test_a_token_command_signs_in_to_airflow_3(airflow_server, finished_runs, tmp_path: Path) -> None:
    argv = login_script(tmp_path, airflow_server)
    client = AirflowClient.from_settings(AirflowSettings(url=airflow_server.url, auth="command",
                                                         token_command=tuple(argv)))
    seen = exchanges(client)
    history = fetch_history(client, DAG_IDS)
    history = fetch_history(client, DAG_IDS, previous=history)
    assert history.runs("failing_dag") and runs_of(tmp_path) == 1
    assert "POST /auth/token" not in [path for path, _ in seen]  # the command logged in, not the client
    client.close()


class ShortLivedTokens(AirflowServer):
    """An api-server alone (no scheduler: no runs needed) whose JWTs last ``JWT_SECONDS``."""

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "AIRFLOW__API_AUTH__JWT_EXPIRATION_TIME": str(JWT_SECONDS),
                "AIRFLOW__API_AUTH__JWT_LEEWAY": "0"}

    def start(self, timeout: float = 240.0) -> ShortLivedTokens:
        import subprocess

        began = time.monotonic()
        _RUNNING.add(self)
        migrate = subprocess.run([self.python, "-m", "airflow", "db", "migrate"], env=self.environment(),
                                 cwd=self.home, capture_output=True, text=True, timeout=timeout, check=False)
        if migrate.returncode != 0:
            raise RuntimeError(f"airflow db migrate failed:\n{migrate.stderr[-3000:]}")
        self.start_api_server(timeout - (time.monotonic() - began))
        self.startup_seconds = time.monotonic() - began
        return self


@pytest.fixture(scope="module")
def short_lived():
    server = ShortLivedTokens(FIXTURES / "airflow_dags")
    try:
        try:
            server.start()
        except Exception as error:  # noqa: BLE001 - a broken Airflow fails the tests, never skips
            pytest.fail(f"could not run Airflow: {error}")
        yield server
    finally:
        server.stop()


def test_a_token_command_whose_tokens_expire_while_the_server_runs(short_lived, tmp_path: Path) -> None:
    argv = login_script(tmp_path, short_lived)
    client = AirflowClient.from_settings(AirflowSettings(url=short_lived.url, auth="command",
                                                         token_command=tuple(argv)))
    seen = exchanges(client)
    client.connect()
    client.list_dag_runs(DAG_IDS, limit=1)
    assert runs_of(tmp_path) == 1
    expires = jwt_expiry(client._auth.token())  # the real exp claim Airflow signed
    assert expires is not None and 0 < expires - time.time() <= JWT_SECONDS + 1

    # Ahead of expiry (a quarter of the lifetime before it) the command runs again: no 401.
    time.sleep(max(0.0, expires - JWT_SECONDS / 4 - time.time()) + 0.5)
    client.list_dag_runs(DAG_IDS, limit=1)
    assert runs_of(tmp_path) == 2
    assert {status for _, status in seen} == {200}, seen

    # A token whose expiry the command misstates: Airflow's 401 Token Expired, one more run.
    (tmp_path / "lie").write_text("")
    client._auth.refresh()
    client.list_dag_runs(DAG_IDS, limit=1)
    assert runs_of(tmp_path) == 3
    expires = jwt_expiry(client._auth.token())
    seen.clear()
    time.sleep(max(0.0, expires - time.time()) + 1.0)
    client.list_dag_runs(DAG_IDS, limit=1)
    runs_list = "POST /api/v2/dags/~/dagRuns/list"
    assert seen == [(runs_list, 401), (runs_list, 200)]
    assert runs_of(tmp_path) == 4
    print(f"\nshort-lived-token Airflow 3 api-server started in {short_lived.startup_seconds:.1f}s")
    client.close()


# -- through the CLI and the editor -------------------------------------------------------------------

@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    return root


def test_status_json_with_a_token_command_from_the_environment(workspace: Path, airflow_server,
                                                               finished_runs) -> None:
    scripts = workspace / "scripts"
    scripts.mkdir()
    login_script(scripts, airflow_server)
    pyproject = workspace / "pyproject.toml"
    text = pyproject.read_text()
    line = 'airflow = { url = "http://127.0.0.1:8080", username = "admin" }'
    assert line in text
    # pyproject.toml may choose the backend, never the program: a clone would run it.
    pyproject.write_text(text.replace(line, f'airflow = {{ url = "{airflow_server.url}", auth = "command", '
                                            'tokenCommand = ["./scripts/not-run"] }'))
    # A relative program path is the workspace's.
    done = run_cli("status", "--json", cwd=workspace, env={**os.environ, "AIRFLOW_TOKEN_COMMAND": "./scripts/airflow-token"})
    assert "tokenCommand runs a program, so it is not read from pyproject.toml" in done.stderr
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["airflow"] == {"url": airflow_server.url, "api_version": "v2", "reachable": True, "error": None}
    dag = next(d for d in data["dags"] if d["dag_id"] == "rebuild_customers_list")
    assert dag["last_run"]["state"] == "success"
    issued = (scripts / "issued").read_text().split()
    assert len(issued) == runs_of(scripts) >= 1
    for token in issued:
        assert token not in done.stdout + done.stderr


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "server", "serve"]))
async def editor(lsp_client: LanguageClient, workspace: Path, airflow_server, finished_runs):
    """The language server with a token-only sign-in, the token handed over at start as the
    editor hands its secrets (initializationOptions)."""
    lsp_client.statuses = []

    @lsp_client.feature("airlift/status")
    def status(params):
        lsp_client.statuses.append(params)

    lsp_client.root = workspace
    lsp_client.token = airflow_server.token()
    await start_session(lsp_client, workspace, "visual-studio-code",
                        initialization_options={"statusNotifications": True, "airlift": {"airflow": {
                            "url": airflow_server.url, "auth": "token", "token": lsp_client.token, "pollInterval": 2}}})
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_the_editor_peers_with_a_token_only_sign_in(editor: LanguageClient) -> None:
    deadline = asyncio.get_running_loop().time() + 60
    dag = "airflow_dags/rebuild_customers_list.py"
    uri = (editor.root / dag).as_uri()
    text = (editor.root / dag).read_text()
    editor.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    line = next(i for i, row in enumerate(text.splitlines()) if 'task_id="build_dbt_models"' in row)
    position = types.Position(line, text.splitlines()[line].index("build_dbt_models"))
    while True:
        hover = await editor.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(uri), position))
        value = hover.contents.value if hover else ""
        if "success" in value:
            break
        assert asyncio.get_running_loop().time() < deadline, f"no run in the hover: {value}"
        await asyncio.sleep(0.3)
    states = [s["state"] if isinstance(s, dict) else s.state for s in editor.statuses]
    assert "connected" in states
    report = await editor.workspace_execute_command_async(types.ExecuteCommandParams("airlift.migrationReport"))
    assert report["airflow"]["reachable"] is True
    for shown in (value, json.dumps(report), repr(editor.statuses)):
        assert editor.token not in shown
