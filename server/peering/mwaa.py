"""Amazon MWAA sign-in (``auth = "mwaa"``, the ``airlift-lsp[mwaa]`` extra: boto3).

MWAA keeps its web server behind IAM. ``get_environment`` tells the Airflow version:

- Airflow 2 environments: ``create_web_login_token`` gives a short-lived web login token
  (and the web server's hostname); ``POST /aws_mwaa/login`` with it (form field ``token``)
  answers with a ``session`` cookie, which the REST API (``/api/v1``) accepts. After a 401 the
  client logs in again with a fresh web login token.
- Airflow 3 environments: every REST call goes through the MWAA API's ``InvokeRestApi``
  (``Name``, ``Method``, ``Path`` relative to ``/api/v2``, ``QueryParameters``, ``Body``;
  answer ``RestApiStatusCode`` and ``RestApiResponse``, and for an error status the
  ``RestApiClientException`` / ``RestApiServerException`` carrying the same two fields). A
  requests transport adapter turns the client's HTTP calls into these, so the client is the
  same; boto3 signs each call with the caller's AWS credentials, and has no token to refresh.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from server.peering.transport import PeeringError, Redactor, RequestPolicy, one_line

log = logging.getLogger("airlift-lsp.peering")

INSTALL_HINT = "airflow.auth is mwaa but boto3 is not installed: pip install 'airlift-lsp[mwaa]'"
LOGIN_PATH = "/aws_mwaa/login"
V2_PREFIX = "/api/v2"


def boto3_client(region: str | None, policy: RequestPolicy) -> Any:
    """The boto3 MWAA client, with our timeouts (boto3 retries throttling on its own)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise PeeringError("authentication", INSTALL_HINT) from None
    config = Config(connect_timeout=policy.connect_timeout, read_timeout=policy.read_timeout,
                    retries={"max_attempts": policy.retries + 1, "mode": "standard"})
    try:
        return boto3.client("mwaa", region_name=region, config=config)
    except Exception as error:  # noqa: BLE001 - botocore's NoRegionError and kin: one line for the user
        raise PeeringError("authentication", f"cannot make an MWAA client: {sdk_message(error)}") from None


def sdk_message(error: BaseException) -> str:
    """One line from a boto3/botocore exception: its error code and message when it has them."""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        code = response["Error"].get("Code") or type(error).__name__
        message = response["Error"].get("Message") or ""
        return one_line(f"{code}: {message}" if message else str(code), 200)
    return one_line(f"{type(error).__name__}: {error}", 200)


class MwaaAuth:
    """``AuthBackend`` for MWAA. ``client``: a boto3 MWAA client (or a stand-in with the same
    methods); made from ``region`` on first use when not given."""

    username = None

    def __init__(self, environment: str | None, base_url: str, *, region: str | None = None,
                 policy: RequestPolicy, redact: Redactor, client: Any = None,
                 client_factory: Callable[[str | None, RequestPolicy], Any] = boto3_client) -> None:
        self.environment = environment
        self.base_url = base_url.rstrip("/")
        self.credential = f"the MWAA sign-in to environment {environment!r}"
        self._region = region
        self._policy = policy
        self._redact = redact
        self._client = client
        self._client_factory = client_factory
        self.airflow_version: str | None = None
        self._signed_in = False

    def prepare(self, session: requests.Session) -> None:
        session.auth = None
        session.headers.pop("Authorization", None)
        if self.airflow_version is None:
            self.airflow_version = self._environment_version()
        if self.uses_invoke_rest_api:
            session.mount(self.base_url + "/", InvokeRestApiAdapter(self._mwaa(), self.environment or "",
                                                                    self.base_url, self._redact))
        elif not self._signed_in:
            self._login(session)

    def refresh(self) -> bool:
        if self.uses_invoke_rest_api:
            return False  # each call is signed anew; a 401 there is Airflow's own answer
        self._signed_in = False
        return True

    @property
    def uses_invoke_rest_api(self) -> bool:
        return bool(self.airflow_version) and not self.airflow_version.startswith(("1.", "2."))

    def _mwaa(self) -> Any:
        if not self.environment:
            raise PeeringError("authentication", "authentication failed: airflow.auth is mwaa but "
                                                 "airflow.mwaaEnvironment is not set")
        if self._client is None:
            self._client = self._client_factory(self._region, self._policy)
        return self._client

    def _environment_version(self) -> str:
        mwaa = self._mwaa()
        try:
            answer = mwaa.get_environment(Name=self.environment)
        except Exception as error:  # noqa: BLE001 - any SDK failure is one line for the user
            raise sdk_error(error, f"read MWAA environment {self.environment!r}") from None
        version = (answer.get("Environment") or {}).get("AirflowVersion") if isinstance(answer, dict) else None
        if not isinstance(version, str) or not version:
            raise PeeringError("bad_response", f"MWAA did not say which Airflow environment "
                                               f"{self.environment!r} runs")
        log.info("MWAA environment %s runs Airflow %s", self.environment, version)
        return version

    def _login(self, session: requests.Session) -> None:
        try:
            answer = self._mwaa().create_web_login_token(Name=self.environment)
        except Exception as error:  # noqa: BLE001
            raise sdk_error(error, f"get a web login token for MWAA environment {self.environment!r}") from None
        web_token = answer.get("WebToken") if isinstance(answer, dict) else None
        if not isinstance(web_token, str) or not web_token:
            raise PeeringError("bad_response", "MWAA's CreateWebLoginToken answered no WebToken")
        self._redact.add(web_token)
        hostname = answer.get("WebServerHostname")
        if isinstance(hostname, str) and hostname and hostname not in self.base_url:
            log.warning("MWAA says the web server of %s is %s, not %s (airflow.url)",
                        self.environment, hostname, self.base_url)
        session.cookies.pop("session", None)
        try:
            response = session.post(self.base_url + LOGIN_PATH, data={"token": web_token},
                                    timeout=self._policy.timeout, allow_redirects=False)
        except requests.exceptions.RequestException as error:
            raise PeeringError("connection", f"connection to MWAA's web server at {self.base_url} failed "
                                             f"({type(error).__name__})") from None
        cookie = response.cookies.get("session") or session.cookies.get("session")
        if response.status_code >= 400 or not cookie:
            raise PeeringError("authentication", f"authentication failed: MWAA's web server at {self.base_url} "
                                                 f"refused the web login token (HTTP {response.status_code} "
                                                 f"to POST {LOGIN_PATH}{'' if cookie else ', no session cookie'})",
                               response.status_code)
        self._redact.add(cookie)
        self._signed_in = True

    def __repr__(self) -> str:
        return f"MwaaAuth({self.environment!r})"


def sdk_error(error: BaseException, action: str) -> PeeringError:
    message = sdk_message(error)
    code = ""
    response = getattr(error, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        code = str(response["Error"].get("Code") or "")
    if code in ("AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
                "ExpiredTokenException", "InvalidClientTokenId"):
        return PeeringError("authorization", f"authorization failed: AWS refused to {action} ({message})")
    if type(error).__name__ in ("NoCredentialsError", "PartialCredentialsError", "NoRegionError"):
        return PeeringError("authentication", f"authentication failed: cannot {action}: {message}")
    return PeeringError("http", f"cannot {action}: {message}")


class InvokeRestApiAdapter(BaseAdapter):
    """Sends the client's ``{base_url}/api/v2/...`` requests through ``InvokeRestApi``."""

    def __init__(self, mwaa: Any, environment: str, base_url: str, redact: Redactor) -> None:
        super().__init__()
        self._mwaa = mwaa
        self._environment = environment
        self._base_path = urlsplit(base_url).path.rstrip("/")
        self._redact = redact

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        parts = urlsplit(request.url or "")
        path = parts.path.removeprefix(self._base_path)
        if not path.startswith(V2_PREFIX + "/"):
            return _response(request, 404, {"detail": f"{path} is not reachable through MWAA InvokeRestApi"})
        call: dict[str, Any] = {"Name": self._environment, "Method": request.method or "GET",
                                "Path": path[len(V2_PREFIX):]}
        query: dict[str, Any] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query[key] = [*query[key], value] if isinstance(query.get(key), list) else (
                [query[key], value] if key in query else value)
        if query:
            call["QueryParameters"] = query
        if request.body:
            body = request.body.decode() if isinstance(request.body, bytes) else request.body
            call["Body"] = json.loads(body)
        try:
            answer = self._mwaa.invoke_rest_api(**call)
        except Exception as error:  # noqa: BLE001 - RestApi*Exception carry Airflow's answer
            response = getattr(error, "response", None)
            if isinstance(response, dict) and isinstance(response.get("RestApiStatusCode"), int):
                return _response(request, response["RestApiStatusCode"], response.get("RestApiResponse"))
            raise sdk_error(error, f"call Airflow through MWAA InvokeRestApi ({call['Method']} {call['Path']})"
                            ) from None
        status = answer.get("RestApiStatusCode") if isinstance(answer, dict) else None
        if not isinstance(status, int):
            raise PeeringError("bad_response", "MWAA InvokeRestApi answered no RestApiStatusCode")
        return _response(request, status, answer.get("RestApiResponse"))

    def close(self) -> None:
        pass


def _response(request: requests.PreparedRequest, status: int, body: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps(body).encode()
    response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
    response.encoding = "utf-8"
    response.url = request.url or ""
    response.request = request
    response.reason = "OK" if status < 400 else "Error"
    return response
