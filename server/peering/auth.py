"""How requests prove who they are: the seam between the client and Airflow's auth managers.

Airflow 3 takes a JWT from ``POST /auth/token`` (the simple and FAB auth managers both serve
it) and wants it as a bearer token; Airflow 2's API takes basic auth (``auth_backends =
airflow.api.auth.backend.basic_auth``). Managed Airflows sign in otherwise, chosen by
``airflow.auth`` (``auth_from_settings``): a bearer token that is static, printed by a command or
minted by Google (tokens.py, composer.py), or MWAA's IAM sign-in (mwaa.py).
"""

from __future__ import annotations

import base64
import os
from typing import Any, Protocol

import requests

from server.peering.transport import PeeringError, Redactor, RequestPolicy, _detail, error_for, json_of, send
from server.settings import AirflowSettings


class AuthBackend(Protocol):
    """A backend may also have ``credential``, a description of what it signs with ("the API
    token"): the client then names it, never its value, when Airflow refuses it."""

    username: str | None

    def prepare(self, session: requests.Session) -> None:
        """Make ``session`` send credentials; may call Airflow (to get a token)."""

    def refresh(self) -> bool:
        """Forget what went stale after a 401; True when preparing again may help."""


class NoAuth:
    username = None

    def prepare(self, session: requests.Session) -> None:
        session.auth = None
        session.headers.pop("Authorization", None)

    def refresh(self) -> bool:
        return False


class BasicAuth:
    """Airflow 2: the user and password on every request."""

    def __init__(self, username: str, password: str | None, redact: Redactor | None = None) -> None:
        self.username = username
        self._password = password or ""
        if redact is not None:  # the header carries them base64-encoded
            redact.add(self._password, base64.b64encode(f"{username}:{self._password}".encode()).decode())

    def prepare(self, session: requests.Session) -> None:
        session.headers.pop("Authorization", None)
        session.auth = (self.username, self._password)

    def refresh(self) -> bool:
        return False  # the same password will be rejected again

    def __repr__(self) -> str:
        return f"BasicAuth({self.username!r})"


class JwtAuth:
    """Airflow 3: a token from ``POST {base_url}/auth/token``, fetched lazily, replaced once
    after a 401 (it expired, or the api-server restarted with another secret)."""

    token_path = "/auth/token"

    def __init__(self, base_url: str, username: str, password: str | None, *, policy: RequestPolicy,
                 redact: Redactor) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self._policy = policy
        self._redact = redact
        self._token: str | None = None
        redact.add(password)

    def prepare(self, session: requests.Session) -> None:
        session.auth = None
        if self._token is None:
            self._token = self._fetch_token(session)
        session.headers["Authorization"] = f"Bearer {self._token}"

    def refresh(self) -> bool:
        self._token = None
        return True

    def _fetch_token(self, session: requests.Session) -> str:
        what = f"POST {self.token_path}"
        session.headers.pop("Authorization", None)
        if not self._password:
            raise PeeringError("authentication", f"authentication failed: no password for user "
                                                 f"{self.username!r} at {self.base_url}; "
                                                 "set AIRFLOW_PASSWORD")
        response = send(session, "POST", self.base_url + self.token_path, what=what, base_url=self.base_url,
                        policy=self._policy, redact=self._redact,
                        json={"username": self.username, "password": self._password})
        if response.status_code >= 400:
            raise error_for(response, what="log in", base_url=self.base_url, redact=self._redact,
                            username=self.username)
        data = json_of(response, what=what, base_url=self.base_url)
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise PeeringError("bad_response", f"unexpected answer from {self.base_url} to {what}: "
                                               "no access_token", response.status_code)
        self._redact.add(token)
        return token

    def __repr__(self) -> str:
        return f"JwtAuth({self.username!r})"


def credentials_rejected(response: requests.Response) -> bool:
    """The answer says our credentials went stale, so logging in again may help: a 401, or
    Airflow 3's 403 ``Invalid JWT token`` (its answer to a token signed with another secret,
    e.g. after an api-server restart without a configured ``[api_auth] jwt_secret``; an expired
    token gets 401 ``Token Expired``)."""
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return False
    return isinstance(detail, str) and "token" in detail.lower()


def auth_for(api_version: str, base_url: str, username: str | None, password: str | None, *,
             policy: RequestPolicy, redact: Redactor) -> AuthBackend:
    """The backend an Airflow of this API version expects for these credentials."""
    if not username:
        return NoAuth()
    if api_version == "v2":
        return JwtAuth(base_url, username, password, policy=policy, redact=redact)
    return BasicAuth(username, password, redact)


def auth_from_settings(settings: AirflowSettings, base_url: str, *, policy: RequestPolicy, redact: Redactor,
                       cwd: str | None = None, **cloud: Any) -> AuthBackend | None:
    """The backend ``airflow.auth`` names; None for ``basic`` or unset (then ``auth_for`` picks
    basic auth or Airflow 3's token login from the API version). ``cloud``: stand-ins for the
    cloud SDKs (``mwaa_client``, ``google_credentials``), for tests."""
    from server.peering.tokens import BearerAuth, CommandToken, StaticToken

    kind = settings.auth
    if kind in (None, "basic"):
        return None
    redact.add(settings.token)
    if kind in ("token", "astro"):
        return BearerAuth(StaticToken(settings.token, astro=kind == "astro"), redact)
    if kind == "command":
        return BearerAuth(CommandToken(settings.token_command, redact, cwd=cwd or os.getcwd()), redact)
    if kind == "composer":
        from server.peering.composer import ComposerToken

        credentials = cloud.get("google_credentials")
        return BearerAuth(ComposerToken(redact, credentials=credentials,
                                        request_factory=(lambda: None) if credentials is not None else None),
                          redact)
    if kind == "mwaa":
        from server.peering.mwaa import MwaaAuth

        return MwaaAuth(settings.mwaa_environment, base_url, region=settings.aws_region, policy=policy,
                        redact=redact, client=cloud.get("mwaa_client"))
    raise ValueError(f"unknown airflow.auth {kind!r}")


def credential_error(response: requests.Response, credential: str, *, what: str, base_url: str,
                     redact: Redactor) -> PeeringError:
    """The error for a 401/403 to a request signed by a managed backend: it names the credential
    (never its value), since there is no user or password to blame."""
    body = redact((response.text or "")[:300])
    detail = _detail(response, redact)
    suffix = f": {detail}" if detail else ""
    if credentials_rejected(response):
        return PeeringError("authentication", f"authentication failed: Airflow at {base_url} rejected "
                                              f"{credential} (HTTP {response.status_code}){suffix}",
                            response.status_code, body)
    return PeeringError("authorization", f"authorization failed: {credential} may not {what} at {base_url} "
                                         f"(HTTP {response.status_code})", response.status_code, body)
