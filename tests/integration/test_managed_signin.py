"""Managed-Airflow sign-in (``airflow.auth``) against local fakes of each service's documented
flow (tests/support/fake_clouds.py; no cloud here): a static token, a token command, MWAA
(web login on Airflow 2, InvokeRestApi on Airflow 3), Composer (Google access tokens), with
expiry and refusal, and secrets kept out of every message, log and output."""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import textwrap
from datetime import datetime, timezone
from pathlib import Path

import pytest

from server.peering import AirflowClient, PeeringError, Poller, RequestPolicy, fetch_history
from server.peering.auth import auth_from_settings
from server.peering.composer import ComposerToken
from server.peering.present import hover_section, status_json, status_text
from server.peering.tokens import BearerAuth, CommandToken, jwt_expiry, parse_token_output
from server.peering.transport import Redactor
from server.settings import AirflowSettings, load_settings
from tests.conftest import FIXTURES, run_cli
from tests.support.airflow_server import time_limit
from tests.support.fake_airflow import FakeAirflow
from tests.support.fake_clouds import AstroAirflow2, FakeGoogleCredentials, FakeMwaa, MwaaWebServer

FAST = RequestPolicy(connect_timeout=1.0, read_timeout=3.0, retries=0)
RUNS = "/dags/~/dagRuns/list"


@pytest.fixture(autouse=True)
def bounded():
    with time_limit(60, "a managed sign-in test"):
        yield


@pytest.fixture
def airflow3() -> FakeAirflow:
    with FakeAirflow(api_version="v2") as server:
        server.add_run("daily_orders", "run_1", "success", {"extract_orders": "success"})
        yield server


def client_for(settings: AirflowSettings, **cloud) -> AirflowClient:
    return AirflowClient.from_settings(settings, policy=FAST, cloud=cloud)


def issue(fake: FakeAirflow, name: str = "tok") -> str:
    token = f"{name}-{os.urandom(12).hex()}"
    fake.tokens.add(token)
    return token


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc).timestamp()

    def __call__(self) -> float:
        return self.now


# -- token / astro -----------------------------------------------------------------------------------

def test_a_static_token_from_the_environment_signs_every_request(airflow3: FakeAirflow, tmp_path: Path) -> None:
    token = issue(airflow3)
    settings, warnings = load_settings(str(tmp_path), {"airflow": {"url": airflow3.url, "auth": "token"}},
                                       environ={"AIRFLOW_TOKEN": token})
    assert warnings == [] and settings.airflow.token == token and token not in repr(settings)
    client = client_for(settings.airflow)
    history = fetch_history(client, ["daily_orders"])
    assert [r.run_id for r in history.runs("daily_orders")] == ["run_1"]
    assert not airflow3.requests_to("/auth/token")
    assert {s.headers.get("Authorization") for s in airflow3.seen} == {f"Bearer {token}"}


def test_a_rejected_static_token_is_one_line_naming_it_and_is_not_retried(airflow3: FakeAirflow) -> None:
    for auth, name in (("token", "the API token"), ("astro", "the Astronomer API token")):
        airflow3.seen.clear()
        client = client_for(AirflowSettings(url=airflow3.url, auth=auth, token="tok-revoked-0123456789"))
        with pytest.raises(PeeringError) as caught:
            client.list_dag_runs(["daily_orders"], limit=1)
        assert caught.value.kind == "authentication"
        assert str(caught.value) == (f"authentication failed: Airflow at {airflow3.url} rejected {name} "
                                     "(HTTP 403): Invalid JWT token")
        assert len(airflow3.requests_to(RUNS)) == 1  # the same token would be refused again


def test_an_astronomer_airflow_2_deployment_takes_its_api_token_as_a_bearer() -> None:
    with AstroAirflow2() as astro:
        astro.add_run("daily_orders", "run_1", "success", {"extract_orders": "success"})
        token = issue(astro, "astro")
        client = client_for(AirflowSettings(url=astro.url + "/", auth="astro", token=token))
        assert client.connect() == "v1"
        assert [r.run_id for r in fetch_history(client, ["daily_orders"]).runs("daily_orders")] == ["run_1"]
        assert [s.path for s in astro.seen][:2] == ["/api/v2/version", "/api/v1/version"]
        astro.tokens.clear()  # the token was deleted in the Astro UI
        with pytest.raises(PeeringError) as caught:
            client.list_dag_runs(["daily_orders"], limit=1)
        assert str(caught.value) == (f"authentication failed: Airflow at {astro.url} rejected the Astronomer "
                                     "API token (HTTP 401): No credentials found or credentials are invalid")


def test_the_token_setting_without_a_token_says_where_to_put_it(airflow3: FakeAirflow) -> None:
    client = client_for(AirflowSettings(url=airflow3.url, auth="token"))
    with pytest.raises(PeeringError) as caught:
        client.connect()
    assert str(caught.value) == ("authentication failed: airflow.auth is token but no token is set; "
                                 "set AIRFLOW_TOKEN (or the editor's Airflow token)")


def test_a_token_never_comes_from_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.airlift-lsp]\nairflow = { auth = "token", token = "t0ps3cret" }\n')
    settings, warnings = load_settings(str(tmp_path), environ={})
    assert settings.airflow.token is None and settings.airflow.auth == "token"
    assert warnings == [(f"{tmp_path / 'pyproject.toml'}: a token never goes in pyproject.toml; ignored "
                         "(use AIRFLOW_TOKEN or the editor's secret storage)")]


def test_a_token_command_never_comes_from_pyproject(tmp_path: Path) -> None:
    """A cloned repository must not choose a program that `airlift-lsp status` runs."""
    (tmp_path / "pyproject.toml").write_text('[tool.airlift-lsp]\nairflow = { auth = "command", '
                                             'tokenCommand = ["./evil.sh"] }\n')
    settings, warnings = load_settings(str(tmp_path), environ={})
    assert settings.airflow.token_command == () and settings.airflow.auth == "command"
    assert len(warnings) == 1 and "tokenCommand runs a program, so it is not read from pyproject.toml" in warnings[0]
    settings, _ = load_settings(str(tmp_path), environ={"AIRFLOW_TOKEN_COMMAND": "gcloud auth 'print-access-token'"})
    assert settings.airflow.token_command == ("gcloud", "auth", "print-access-token")


# -- command -----------------------------------------------------------------------------------------

def token_script(tmp_path: Path, body: str) -> list[str]:
    """A token command: an executable script; each run appends a line to ``runs``."""
    script = tmp_path / "print_token.py"
    script.write_text(f"#!{sys.executable}\nimport pathlib, sys\nhere = pathlib.Path(__file__).parent\n"
                      "with open(here / 'runs', 'a') as runs: runs.write('run\\n')\n" + textwrap.dedent(body))
    script.chmod(0o755)
    return [str(script)]


def runs_of(tmp_path: Path) -> int:
    path = tmp_path / "runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_the_token_command_runs_once_and_again_after_a_401(airflow3: FakeAirflow, tmp_path: Path) -> None:
    (tmp_path / "token").write_text(issue(airflow3) + "\n")
    argv = token_script(tmp_path, "print((here / 'token').read_text().strip())\n")
    settings, warnings = load_settings(str(tmp_path), {"airflow": {"url": airflow3.url, "auth": "command",
                                                                   "tokenCommand": argv}}, environ={})
    assert warnings == [] and settings.airflow.token_command == tuple(argv)
    client = client_for(settings.airflow)
    fetch_history(client, ["daily_orders"])
    fetch_history(client, ["daily_orders"])
    assert runs_of(tmp_path) == 1
    airflow3.expire_tokens()  # Airflow answers 401 Token Expired
    (tmp_path / "token").write_text(issue(airflow3) + "\n")
    airflow3.seen.clear()
    history = fetch_history(client, ["daily_orders"])
    assert history.runs("daily_orders") and runs_of(tmp_path) == 2
    assert [s.path for s in airflow3.seen][:2] == ["/api/v2" + RUNS] * 2


def test_the_token_command_runs_again_before_its_token_expires(airflow3: FakeAirflow, tmp_path: Path) -> None:
    clock = Clock()
    expires = datetime.fromtimestamp(clock.now + 3600, timezone.utc).isoformat().replace("+00:00", "Z")
    (tmp_path / "token").write_text(issue(airflow3))
    argv = token_script(tmp_path, f"""
        import json
        print(json.dumps({{"kind": "ExecCredential", "apiVersion": "client.authentication.k8s.io/v1",
                          "status": {{"token": (here / 'token').read_text(), "expirationTimestamp": "{expires}"}}}}))
        """)
    redact = Redactor()
    auth = BearerAuth(CommandToken(argv, redact), redact, clock=clock)
    client = AirflowClient(airflow3.url, policy=FAST, auth=auth)
    fetch_history(client, ["daily_orders"])
    clock.now += 3600 - 61  # a minute before expiry: still good
    fetch_history(client, ["daily_orders"])
    assert runs_of(tmp_path) == 1
    clock.now += 2
    fetch_history(client, ["daily_orders"])
    assert runs_of(tmp_path) == 2
    # Renewed ahead of time: Airflow never had to refuse a token.
    assert len(airflow3.requests_to(RUNS)) == 3


@pytest.mark.parametrize(("body", "message"), [
    ("sys.stderr.write('ERROR: (gcloud.auth) You do not currently have an active account.\\nmore\\n'); sys.exit(3)",
     "failed (exit 3): ERROR: (gcloud.auth) You do not currently have an active account."),
    ("sys.exit(1)", "failed (exit 1)"),
    ("print('')", "printed no token"),
    ("print('two words')", "printed no token"),
])
def test_a_failing_token_command_is_one_line(airflow3: FakeAirflow, tmp_path: Path, body: str, message: str) -> None:
    argv = token_script(tmp_path, body + "\n")
    client = client_for(AirflowSettings(url=airflow3.url, auth="command", token_command=tuple(argv)))
    with pytest.raises(PeeringError) as caught:
        client.connect()
    assert str(caught.value) == f"airflow.tokenCommand `print_token.py` {message}"
    assert "\n" not in str(caught.value)


def test_a_token_command_that_hangs_or_is_missing(tmp_path: Path) -> None:
    argv = token_script(tmp_path, "import time; time.sleep(30)\n")
    with pytest.raises(PeeringError) as caught:
        CommandToken(argv, Redactor(), timeout=0.5).fetch()
    assert caught.value.kind == "timeout"
    assert str(caught.value) == "airflow.tokenCommand `print_token.py` timed out after 0.5 s"
    with pytest.raises(PeeringError) as caught:
        CommandToken([str(tmp_path / "no-such-program"), "--flag"], Redactor()).fetch()
    assert str(caught.value) == "airflow.tokenCommand `no-such-program` failed: program not found"
    with pytest.raises(PeeringError) as caught:
        CommandToken([], Redactor()).fetch()
    assert "airflow.tokenCommand is not set" in str(caught.value)


def test_a_token_command_whose_token_is_refused_runs_once_more_then_says_so(airflow3: FakeAirflow,
                                                                            tmp_path: Path) -> None:
    argv = token_script(tmp_path, "print('never-issued-token-42')\n")
    client = client_for(AirflowSettings(url=airflow3.url, auth="command", token_command=tuple(argv)))
    with pytest.raises(PeeringError) as caught:
        client.list_dag_runs(["daily_orders"], limit=1)
    assert str(caught.value) == (f"authentication failed: Airflow at {airflow3.url} rejected the token printed "
                                 "by tokenCommand `print_token.py` (HTTP 403): Invalid JWT token")
    assert runs_of(tmp_path) == 2 and len(airflow3.requests_to(RUNS)) == 2


def test_token_command_outputs_and_jwt_expiry() -> None:
    assert parse_token_output("abc.def\n", now=0) == ("abc.def", None)
    assert parse_token_output('{"access_token": "x1", "expires_in": 3599}', now=100) == ("x1", 3699.0)
    assert parse_token_output('{"token": "x2", "expiry": "2026-12-04T18:00:00Z"}', now=0)[1] == (
        datetime(2026, 12, 4, 18, tzinfo=timezone.utc).timestamp())
    assert parse_token_output('{"status": {}}', now=0) == (None, None)
    assert parse_token_output("{not json", now=0) == (None, None)
    payload = "eyJzdWIiOiAiYWRtaW4iLCAiZXhwIjogMTc2NDg3NDAwMH0"  # {"sub": "admin", "exp": 1764874000}
    assert jwt_expiry(f"eyJhbGciOiJIUzUxMiJ9.{payload}.sig") == 1764874000.0
    assert jwt_expiry("not-a-jwt") is None and jwt_expiry("a.%%%.c") is None


def test_a_relative_token_command_is_the_workspaces(tmp_path: Path) -> None:
    settings, _ = load_settings(str(tmp_path), {"airflow": {"tokenCommand": ["./bin/token.sh", "-q"]}}, environ={})
    assert settings.airflow.token_command == (str(tmp_path / "bin" / "token.sh"), "-q")
    settings, warnings = load_settings(str(tmp_path), {"airflow": {"tokenCommand": "gcloud auth print-access-token"}},
                                       environ={})
    assert settings.airflow.token_command == ()
    assert warnings == [('airflow.tokenCommand: expected a list of arguments such as '
                         '["gcloud", "auth", "print-access-token"]; ignored')]


# -- MWAA --------------------------------------------------------------------------------------------

def mwaa_settings(url: str, environment: str | None = "my-env") -> AirflowSettings:
    return AirflowSettings(url=url, auth="mwaa", mwaa_environment=environment, aws_region="eu-west-1")


def test_mwaa_airflow_2_logs_in_with_a_web_login_token_and_again_when_the_session_ends() -> None:
    with MwaaWebServer() as web:
        web.add_run("daily_orders", "run_1", "success", {"extract_orders": "success"})
        mwaa = FakeMwaa("my-env", web, airflow_version="2.10.3", web_server=web)
        client = client_for(mwaa_settings(web.url), mwaa_client=mwaa)
        assert client.connect() == "v1"
        history = fetch_history(client, ["daily_orders"])
        assert [r.run_id for r in history.runs("daily_orders")] == ["run_1"]
        assert [c[0] for c in mwaa.calls] == ["get_environment", "create_web_login_token"]
        assert web.logins == 1 and all("Authorization" not in s.headers for s in web.seen)

        web.end_sessions()
        web.seen.clear()
        history = fetch_history(client, ["daily_orders"])
        assert history.runs("daily_orders") and web.logins == 2
        assert [s.path for s in web.seen][:3] == ["/api/v1" + RUNS, "/aws_mwaa/login", "/api/v1" + RUNS]


def test_mwaa_airflow_2_login_refused_is_one_line() -> None:
    with MwaaWebServer() as web:
        mwaa = FakeMwaa("my-env", web, airflow_version="2.10.3", web_server=web)
        mwaa.create_web_login_token = lambda Name: {"WebToken": "web-used-or-forged-token", "WebServerHostname": "x"}
        client = client_for(mwaa_settings(web.url), mwaa_client=mwaa)
        with pytest.raises(PeeringError) as caught:
            client.connect()
        assert str(caught.value) == (f"authentication failed: MWAA's web server at {web.url} refused the web "
                                     "login token (HTTP 401 to POST /aws_mwaa/login, no session cookie)")


def test_mwaa_airflow_3_calls_go_through_invoke_rest_api(airflow3: FakeAirflow) -> None:
    airflow3.add_dag("daily_orders", "/dags/daily_orders.py", {"extract_orders": []})
    mwaa = FakeMwaa("my-env", airflow3, airflow_version="3.0.6")
    client = client_for(mwaa_settings(airflow3.url), mwaa_client=mwaa)
    assert client.connect() == "v2" and client.airflow_version == "3.3.2"
    history = fetch_history(client, ["daily_orders"])
    assert [r.run_id for r in history.runs("daily_orders")] == ["run_1"]
    assert [t.task_id for t in client.list_tasks("daily_orders")] == ["extract_orders"]
    assert client.list_tasks("gone") is None  # Airflow's 404 comes back as RestApiClientException
    calls = [(c["Method"], c["Path"]) for name, c in mwaa.calls if name == "invoke_rest_api"]
    assert calls[:2] == [("GET", "/version"), ("POST", RUNS)]
    assert ("GET", "/dags/daily_orders/tasks") in calls
    listing = next(c for name, c in mwaa.calls if name == "invoke_rest_api" and c["Path"] == RUNS)
    assert listing["Body"]["dag_ids"] == ["daily_orders"] and listing["QueryParameters"] is None
    assert client.list_dags().dags[0].dag_id == "daily_orders"
    dags = next(c for name, c in mwaa.calls if name == "invoke_rest_api" and c["Path"] == "/dags")
    assert dags["QueryParameters"] == {"limit": "1000", "offset": "0"}
    # Only MWAA's own forwarded calls reached the web server, never the client's.
    assert all(s.headers.get("Authorization", "").startswith("Bearer mwaa-internal-") for s in airflow3.seen)


@pytest.mark.parametrize(("setup", "kind", "message"), [
    ({"denied": True}, "authorization", ("authorization failed: AWS refused to read MWAA environment 'my-env' "
                                         "(AccessDeniedException: User is not authorized to perform: "
                                         "airflow:GetEnvironment)")),
    ({"no_credentials": True}, "authentication", ("authentication failed: cannot read MWAA environment "
                                                  "'my-env': NoCredentialsError: Unable to locate credentials")),
    ({"environment": "other-env"}, "http", ("cannot read MWAA environment 'my-env': ResourceNotFoundException: "
                                            "Environment my-env was not found")),
])
def test_mwaa_refusals_are_one_line(airflow3: FakeAirflow, setup: dict, kind: str, message: str) -> None:
    mwaa = FakeMwaa(setup.pop("environment", "my-env"), airflow3, airflow_version="3.0.6", **setup)
    with pytest.raises(PeeringError) as caught:
        client_for(mwaa_settings(airflow3.url), mwaa_client=mwaa).connect()
    assert (caught.value.kind, str(caught.value)) == (kind, message)


def test_mwaa_without_environment_or_boto3(airflow3: FakeAirflow, monkeypatch) -> None:
    with pytest.raises(PeeringError) as caught:
        client_for(mwaa_settings(airflow3.url, environment=None)).connect()
    assert str(caught.value) == ("authentication failed: airflow.auth is mwaa but airflow.mwaaEnvironment "
                                 "is not set")
    monkeypatch.setitem(sys.modules, "boto3", None)  # what a venv without the extra has
    with pytest.raises(PeeringError) as caught:
        client_for(mwaa_settings(airflow3.url)).connect()
    assert str(caught.value) == "airflow.auth is mwaa but boto3 is not installed: pip install 'airlift-lsp[mwaa]'"


# -- Composer ----------------------------------------------------------------------------------------

def test_composer_access_tokens_are_refreshed_before_expiry_and_after_a_401(airflow3: FakeAirflow) -> None:
    credentials = FakeGoogleCredentials(airflow3)
    client = client_for(AirflowSettings(url=airflow3.url, auth="composer"), google_credentials=credentials)
    fetch_history(client, ["daily_orders"])
    fetch_history(client, ["daily_orders"])
    assert credentials.refreshes == 1
    airflow3.expire_tokens()
    fetch_history(client, ["daily_orders"])
    assert credentials.refreshes == 2

    clock = Clock()
    redact = Redactor()
    auth = BearerAuth(ComposerToken(redact, credentials=credentials, request_factory=lambda: None), redact,
                      clock=clock)
    client = AirflowClient(airflow3.url, policy=FAST, auth=auth)
    fetch_history(client, ["daily_orders"])
    assert credentials.refreshes == 3
    clock.now += 3600 - 59  # within a minute of the hour the token lasts
    fetch_history(client, ["daily_orders"])
    assert credentials.refreshes == 4


def test_composer_refusal_and_missing_google_auth_are_one_line(airflow3: FakeAirflow, monkeypatch) -> None:
    credentials = FakeGoogleCredentials(airflow3, refused=True)
    with pytest.raises(PeeringError) as caught:
        client_for(AirflowSettings(url=airflow3.url, auth="composer"), google_credentials=credentials).connect()
    assert str(caught.value) == ("authentication failed: Google refused to refresh the credentials "
                                 "(RefreshError: ('invalid_grant: Bad Request', {'error': 'invalid_grant', "
                                 "'error_description': 'Bad Request'}))")
    monkeypatch.setitem(sys.modules, "google", None)
    with pytest.raises(PeeringError) as caught:
        client_for(AirflowSettings(url=airflow3.url, auth="composer")).connect()
    assert str(caught.value) == ("airflow.auth is composer but google-auth is not installed: "
                                 "pip install 'airlift-lsp[composer]'")


# -- secrets -----------------------------------------------------------------------------------------

def test_secrets_never_reach_messages_logs_hovers_or_status(airflow3: FakeAirflow, tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: list[str] = []
    texts: list[str] = []

    def poll(settings: AirflowSettings, **cloud) -> None:
        poller = Poller(settings, lambda: ["daily_orders"], client_factory=lambda s: client_for(s, **cloud))
        history, status = poller.poll_once()
        poller.stop(timeout=1.0)
        now = datetime.now(timezone.utc)
        texts.extend([repr(settings), repr(status), json.dumps(status_json(status)), status_text(status),
                      hover_section(history, status, "daily_orders", "extract_orders", True, now)])

    token = issue(airflow3, "static")
    secrets.append(token)
    poll(AirflowSettings(url=airflow3.url, auth="token", token=token))
    airflow3.forget_tokens()
    poll(AirflowSettings(url=airflow3.url, auth="token", token=token))  # refused
    # A command whose error quotes the token it printed before.
    (tmp_path / "token").write_text(issue(airflow3, "cmd"))
    secrets.append((tmp_path / "token").read_text())
    argv = token_script(tmp_path, """
        token = (here / 'token').read_text()
        if (here / 'runs').read_text().count('run') > 1:
            sys.stderr.write(f'refused: {token}\\n'); sys.exit(2)
        print(token)
        """)
    settings = AirflowSettings(url=airflow3.url, auth="command", token_command=tuple(argv))
    client = client_for(settings)
    fetch_history(client, ["daily_orders"])
    airflow3.expire_tokens()
    with pytest.raises(PeeringError) as caught:
        fetch_history(client, ["daily_orders"])
    assert str(caught.value) == "airflow.tokenCommand `print_token.py` failed (exit 2): refused: ***"
    texts.append(str(caught.value))
    credentials = FakeGoogleCredentials(airflow3)
    poll(AirflowSettings(url=airflow3.url, auth="composer"), google_credentials=credentials)
    secrets.append(credentials.token)
    with MwaaWebServer() as web:
        mwaa = FakeMwaa("my-env", web, web_server=web)
        poll(mwaa_settings(web.url), mwaa_client=mwaa)
        secrets.extend(web.sessions)
    secrets += [s.headers["Authorization"].split()[-1] for s in airflow3.seen if "Authorization" in s.headers]
    assert len(secrets) > 4
    texts.append(caplog.text)

    # The CLI's status --json and stderr, with the token in the environment.
    shutil.copy(FIXTURES / "airflow_dags" / "daily_orders.py", tmp_path / "daily_orders.py")
    (tmp_path / "pyproject.toml").write_text(f'[tool.airlift-lsp]\nairflow = {{ url = "{airflow3.url}", '
                                             'auth = "token" }\n')
    done = run_cli("status", "--json", cwd=tmp_path, env={**os.environ, "AIRFLOW_TOKEN": token})
    assert done.returncode == 0, done.stderr
    error = json.loads(done.stdout)["airflow"]["error"]
    assert error == f"authentication failed: Airflow at {airflow3.url} rejected the API token (HTTP 403): " \
                    "Invalid JWT token"
    texts += [done.stdout, done.stderr]
    for secret in secrets:
        for text in texts:
            assert secret not in text


def test_no_backend_for_basic_or_unset(airflow3: FakeAirflow) -> None:
    for auth in (None, "basic"):
        assert auth_from_settings(AirflowSettings(url=airflow3.url, auth=auth), airflow3.url, policy=FAST,
                                  redact=Redactor()) is None
    assert isinstance(auth_from_settings(AirflowSettings(url=airflow3.url, auth="composer"), airflow3.url,
                                         policy=FAST, redact=Redactor()), BearerAuth)
