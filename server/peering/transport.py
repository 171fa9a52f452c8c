"""HTTP with the rules every Airflow call follows: a timeout on each request, retries with
backoff on 5xx and connection errors only, and one error type whose message is one line and
never carries a secret."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

log = logging.getLogger("airlift-lsp.peering")

ERROR_KINDS = ("authentication", "authorization", "connection", "timeout", "http", "bad_response")


class PeeringError(Exception):
    """Anything that kept us from reading Airflow. ``str(error)`` is one line for the user.

    ``kind`` is one of ``ERROR_KINDS``; ``status`` the HTTP status when there was one; ``body``
    the start of the answer (redacted), for logs and bug reports.
    """

    def __init__(self, kind: str, message: str, status: int | None = None, body: str | None = None):
        assert kind in ERROR_KINDS, kind
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.body = body

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"PeeringError({self.kind!r}, {self.message!r}, status={self.status!r})"


@dataclass(frozen=True, slots=True)
class RequestPolicy:
    connect_timeout: float = 3.0
    read_timeout: float = 10.0
    retries: int = 2
    """Extra attempts after a 5xx or a connection error; never after a 4xx or a read timeout."""
    backoff: float = 0.5
    """Seconds before the first retry; doubled for each next one."""
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)

    @property
    def timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)


class Redactor:
    """Replaces secrets (password, tokens) in any text that may reach a user or a log."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def add(self, *secrets: str | None) -> None:
        """Remember secrets; old tokens stay too (a message quoting one is still a leak)."""
        self._secrets.update(s for s in secrets if s and len(s) >= 3)

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def one_line(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def _reason(error: BaseException) -> str:
    """A short cause for a requests/urllib3 exception, without its long repr chain."""
    text = str(error)
    match = _ERRNO.search(text)
    if match:
        return match.group(1).strip().rstrip(".").lower()
    for needle, reason in (("Connection refused", "connection refused"),
                           ("RemoteDisconnected", "the server closed the connection"),
                           ("IncompleteRead", "the answer was cut off"),
                           ("Connection aborted", "the connection was cut"),
                           ("Connection reset", "connection reset"),
                           ("CERTIFICATE_VERIFY_FAILED", "TLS certificate verification failed"),
                           ("Name or service not known", "unknown host")):
        if needle in text:
            return reason
    return type(error).__name__


def send(session: requests.Session, method: str, url: str, *, what: str, base_url: str,
         policy: RequestPolicy, redact: Redactor, json: Any = None, service: str = "Airflow") -> requests.Response:
    """One call with retries; returns the last response (any status) or raises PeeringError
    for connection problems and timeouts. ``service`` names the server in messages."""
    attempt = 0
    while True:
        started = time.monotonic()
        try:
            response = session.request(method, url, json=json, timeout=policy.timeout)
        except requests.exceptions.SSLError as error:
            raise PeeringError("connection",
                               f"connection to {service} at {base_url} failed: {_reason(error)}") from None
        except (requests.exceptions.MissingSchema, requests.exceptions.InvalidSchema,
                requests.exceptions.InvalidURL):
            raise PeeringError("connection", f"invalid {service} URL {base_url!r}: "
                                             "expected http://host:port or https://host:port") from None
        except requests.exceptions.ConnectTimeout:
            failure = PeeringError("timeout", f"timed out: {service} at {base_url} did not accept a connection "
                                              f"within {policy.connect_timeout:g} s")
        except requests.exceptions.ReadTimeout:
            # Not retried: an Airflow that is slow now will be slow again in a second.
            raise PeeringError("timeout", f"timed out: {service} at {base_url} did not answer {what} within "
                                          f"{policy.read_timeout:g} s") from None
        except (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError) as error:
            failure = PeeringError("connection",
                                   f"connection to {service} at {base_url} failed: {_reason(error)}")
        except requests.exceptions.RequestException as error:
            raise PeeringError("connection", redact(one_line(
                f"request to {service} at {base_url} failed: {type(error).__name__}"))) from None
        else:
            log.debug("%s -> %s in %.3fs", what, response.status_code, time.monotonic() - started)
            if response.status_code < 500 or attempt >= policy.retries:
                return response
            failure = None
        if failure is not None and attempt >= policy.retries:
            raise failure
        delay = policy.backoff * (2 ** attempt)
        attempt += 1
        log.info("retrying %s in %.1fs (%s)", what, delay,
                 failure.message if failure else f"HTTP {response.status_code}")
        policy.sleep(delay)


def error_for(response: requests.Response, *, what: str, base_url: str, redact: Redactor,
              username: str | None = None, password_set: bool = True,
              basic_auth: bool = False) -> PeeringError:
    """The PeeringError for a response with status >= 400.

    ``basic_auth``: the request carried Airflow 2 basic-auth credentials. Airflow 2 answers a
    wrong password with 403, not 401, when its ``session`` API auth backend is enabled too (the
    usual ``basic_auth,session``): the request falls through to the session backend as the
    anonymous user, who may not read anything. A 403 then cannot tell a wrong password from
    missing permissions, and the message says both."""
    status = response.status_code
    body = redact(one_line(response.text or "", 300))
    detail = _detail(response, redact)
    if status == 401:
        if not username:
            message = (f"authentication failed: Airflow at {base_url} needs credentials (HTTP 401); "
                       "set airflow.username and AIRFLOW_PASSWORD")
        elif not password_set:
            message = (f"authentication failed: no password for user {username!r} at {base_url} "
                       "(HTTP 401); set AIRFLOW_PASSWORD")
        else:
            message = (f"authentication failed: Airflow at {base_url} rejected the credentials "
                       f"of user {username!r} (HTTP 401)")
        return PeeringError("authentication", message, status, body)
    if status == 403 and basic_auth and username and password_set:
        return PeeringError("authorization", f"authorization failed: Airflow at {base_url} refused user "
                                             f"{username!r} (HTTP 403): either the password is wrong (Airflow 2 "
                                             f"answers a wrong password with 403 when its session auth backend "
                                             f"is on) or the user may not {what}", status, body)
    if status == 403:
        who = f"user {username!r}" if username else "the anonymous user"
        return PeeringError("authorization", f"authorization failed: {who} may not {what} at {base_url} "
                                             "(HTTP 403)", status, body)
    suffix = f": {detail}" if detail else ""
    return PeeringError("http", f"Airflow at {base_url} answered HTTP {status} to {what}{suffix}",
                        status, body)


def _detail(response: requests.Response, redact: Redactor) -> str:
    """A short human detail from an error body (``detail`` of FastAPI, ``title`` of v1's RFC 7807).

    Validation errors (422) echo their input, so structured details are never quoted."""
    try:
        data = response.json()
    except ValueError:
        return ""
    if isinstance(data, dict):
        for key in ("detail", "title"):
            if isinstance(data.get(key), str):
                return redact(one_line(data[key], 160))
    return ""


def json_of(response: requests.Response, *, what: str, base_url: str) -> Any:
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("Content-Type", "no content type").split(";")[0]
        raise PeeringError("bad_response", f"unexpected answer from {base_url} to {what}: not JSON ({kind})",
                           response.status_code) from None


def require_list(data: Any, key: str, *, what: str, base_url: str) -> list:
    value = data.get(key) if isinstance(data, dict) else None
    if not isinstance(value, list):
        raise PeeringError("bad_response", f"unexpected answer from {base_url} to {what}: no `{key}` list")
    return value


def total_of(data: Any) -> int | None:
    value = data.get("total_entries") if isinstance(data, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
