"""Stand-ins for the cloud services of managed Airflow, modelled on their documented flows
(no cloud here). Each one sits in front of a ``FakeAirflow`` (tests/support/fake_airflow.py).

- ``FakeMwaa``: boto3's MWAA client. ``get_environment`` (``Environment.AirflowVersion``),
  ``create_web_login_token`` (``WebToken``, ``WebServerHostname``, valid 60 s, used once at
  ``POST /aws_mwaa/login`` of ``MwaaWebServer``), and ``invoke_rest_api`` (``Name``, ``Path``
  relative to ``/api/v2``, ``Method``, ``QueryParameters``, ``Body`` → ``RestApiStatusCode``,
  ``RestApiResponse``; an Airflow error status raises ``RestApiClientException`` (4xx) or
  ``RestApiServerException`` (5xx) whose ``response`` carries the same two fields, as botocore
  puts a modeled error's members). Errors are shaped like botocore's ``ClientError``.
- ``MwaaWebServer``: an Airflow 2 web server behind MWAA's login: the REST API takes the
  ``session`` cookie that ``/aws_mwaa/login`` sets for a valid web login token.
- ``AstroAirflow2``: an Astronomer Airflow 2 deployment, whose ``/api/v1`` takes a deployment
  API token as a bearer token.
- ``FakeGoogleCredentials``: google-auth ``Credentials``: ``refresh(request)`` mints an access
  token with an ``expiry`` (naive UTC), which the fake Airflow 3 then accepts as a bearer token.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs

import requests

from tests.support.fake_airflow import FakeAirflow, _Handler, _QuietServer


class ClientError(Exception):
    """Shaped like botocore.exceptions.ClientError: ``response["Error"]["Code"/"Message"]``."""

    def __init__(self, code: str, message: str, **members: Any) -> None:
        super().__init__(f"An error occurred ({code}) when calling the operation: {message}")
        self.response = {"Error": {"Code": code, "Message": message}, **members}


class NoCredentialsError(Exception):
    """Shaped like botocore.exceptions.NoCredentialsError."""

    def __init__(self) -> None:
        super().__init__("Unable to locate credentials")


@dataclass
class FakeMwaa:
    environment: str
    airflow: FakeAirflow
    airflow_version: str = "2.10.3"
    web_server: MwaaWebServer | None = None
    denied: bool = False
    no_credentials: bool = False
    calls: list[tuple[str, dict]] = field(default_factory=list)

    def _guard(self, operation: str, name: str | None) -> None:
        if self.no_credentials:
            raise NoCredentialsError()
        if self.denied:
            raise ClientError("AccessDeniedException", f"User is not authorized to perform: airflow:{operation}")
        if name != self.environment:
            raise ClientError("ResourceNotFoundException", f"Environment {name} was not found")

    def get_environment(self, *, Name: str) -> dict:
        self.calls.append(("get_environment", {"Name": Name}))
        self._guard("GetEnvironment", Name)
        return {"Environment": {"Name": Name, "AirflowVersion": self.airflow_version, "Status": "AVAILABLE",
                                "WebserverUrl": self.airflow.url.removeprefix("http://")}}

    def create_web_login_token(self, *, Name: str) -> dict:
        self.calls.append(("create_web_login_token", {"Name": Name}))
        self._guard("CreateWebLoginToken", Name)
        assert self.web_server is not None, "an Airflow 2 environment needs its web server"
        token = "web-" + secrets.token_urlsafe(24)
        self.web_server.web_tokens[token] = time.monotonic() + 60
        return {"WebToken": token, "WebServerHostname": self.airflow.url.removeprefix("http://"),
                "IamIdentity": "assumed-role/Admin/tester", "AirflowIdentity": "assumed-role/Admin"}

    def invoke_rest_api(self, *, Name: str, Path: str, Method: str, QueryParameters: dict | None = None,
                        Body: dict | None = None) -> dict:
        self.calls.append(("invoke_rest_api", {"Name": Name, "Path": Path, "Method": Method,
                                               "QueryParameters": QueryParameters, "Body": Body}))
        self._guard("InvokeRestApi", Name)
        if not self.airflow_version.startswith("3"):
            raise ClientError("ValidationException", "InvokeRestApi needs an Airflow 3 environment")
        if Method not in ("GET", "PUT", "POST", "PATCH", "DELETE") or not Path.startswith("/"):
            raise ClientError("ValidationException", f"invalid Method {Method!r} or Path {Path!r}")
        # MWAA calls its web server with a token of its own for the caller's Airflow role.
        token = "mwaa-internal-" + secrets.token_urlsafe(8)
        self.airflow.tokens.add(token)
        response = requests.request(Method, f"{self.airflow.url}/api/v2{Path}", params=QueryParameters,
                                    json=Body, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        data = response.json()
        if response.status_code >= 500:
            raise ClientError("RestApiServerException", "Airflow answered an error",
                              RestApiStatusCode=response.status_code, RestApiResponse=data)
        if response.status_code >= 400:
            raise ClientError("RestApiClientException", "Airflow answered an error",
                              RestApiStatusCode=response.status_code, RestApiResponse=data)
        return {"RestApiStatusCode": response.status_code, "RestApiResponse": data}


class MwaaWebServer(FakeAirflow):
    """An Airflow 2 (``/api/v1``) behind MWAA's web login: ``POST /aws_mwaa/login`` with form
    field ``token`` (a fresh, unused web login token) sets a ``session`` cookie and redirects
    to ``/home``; the API answers 401 without a live session."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(api_version="v1", **kwargs)
        self.web_tokens: dict[str, float] = {}
        self.sessions: set[str] = set()
        self.logins = 0

    def end_sessions(self) -> None:
        """Sessions run out (MWAA's last 12 hours at most)."""
        self.sessions.clear()

    def start(self) -> MwaaWebServer:
        fake = self

        class Handler(_MwaaHandler):
            airflow = fake

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="fake-mwaa-web-server", daemon=True).start()
        return self


class _MwaaHandler(_Handler):
    airflow: MwaaWebServer

    def _route(self, method: str, path: str, body: Any, query: dict[str, list[str]]) -> tuple[int, Any]:
        if method == "POST" and path == "/aws_mwaa/login":
            return self._login(body)
        return super()._route(method, path, body, query)

    def _login(self, body: Any) -> tuple[int, Any]:
        fake = self.airflow
        form = parse_qs(body if isinstance(body, str) else "")
        token = (form.get("token") or [""])[0]
        expires = fake.web_tokens.pop(token, None)  # each web login token works once
        if expires is None or expires < time.monotonic():
            return 401, {"detail": "invalid or expired web login token"}
        session = secrets.token_urlsafe(24)
        fake.sessions.add(session)
        fake.logins += 1
        self._cookie = session
        return 302, {}

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        cookie = getattr(self, "_cookie", None)
        self.send_response(status)
        if cookie:
            self.send_header("Set-Cookie", f"session={cookie}; HttpOnly; Path=/; SameSite=Lax")
            self.send_header("Location", "/home")
            self._cookie = None
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _check_auth(self) -> tuple[int, Any] | None:
        cookies = dict(part.strip().split("=", 1) for part in (self.headers.get("Cookie") or "").split(";")
                       if "=" in part)
        if cookies.get("session") not in self.airflow.sessions:
            return 401, {"type": "about:blank", "title": "Unauthorized", "status": 401,
                         "detail": "No credentials found or credentials are invalid"}
        return None


class AstroAirflow2(FakeAirflow):
    """An Astronomer Airflow 2 deployment (``/api/v1``): its API takes a deployment API token as
    ``Authorization: Bearer``, not basic auth."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(api_version="v1", **kwargs)

    def start(self) -> AstroAirflow2:
        fake = self

        class Handler(_BearerV1Handler):
            airflow = fake

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         name="fake-astro", daemon=True).start()
        return self


class _BearerV1Handler(_Handler):
    def _check_auth(self) -> tuple[int, Any] | None:
        header = self.headers.get("Authorization", "")
        if header.removeprefix("Bearer ") not in self.airflow.tokens:
            return 401, {"type": "about:blank", "title": "Unauthorized", "status": 401,
                         "detail": "No credentials found or credentials are invalid"}
        return None


class RefreshError(Exception):
    """Shaped like google.auth.exceptions.RefreshError."""


@dataclass
class FakeGoogleCredentials:
    """google-auth ``Credentials`` for a fake Airflow 3 that accepts what they mint."""

    airflow: FakeAirflow
    lifetime: timedelta = timedelta(hours=1)
    refused: bool = False
    token: str | None = None
    expiry: datetime | None = None
    refreshes: int = 0

    def refresh(self, request: Any) -> None:
        if self.refused:
            raise RefreshError("('invalid_grant: Bad Request', {'error': 'invalid_grant', "
                               "'error_description': 'Bad Request'})")
        self.refreshes += 1
        self.token = "ya29." + secrets.token_urlsafe(32)
        self.expiry = datetime.now(timezone.utc).replace(tzinfo=None) + self.lifetime
        self.airflow.tokens.add(self.token)
