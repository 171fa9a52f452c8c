"""Bearer-token sign-in: a static token, a command that prints one, or a cloud SDK that mints one.

``BearerAuth`` is the ``AuthBackend`` for all of them. It is also the session's ``requests``
auth, so every request asks it for the header: the token is fetched again when it is within
``EXPIRY_MARGIN`` seconds of its expiry (known from the source, or from a JWT's ``exp``), and
once after Airflow rejects it (``refresh()``), when its source can give another one.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import Protocol

import requests

from server.peering.transport import PeeringError, Redactor, one_line

log = logging.getLogger("airlift-lsp.peering")

EXPIRY_MARGIN = 60.0
"""Seconds before its expiry when a token is replaced (a request must not carry one that
expires on the way); a quarter of its lifetime when that is shorter."""
COMMAND_TIMEOUT = 30.0


class TokenSource(Protocol):
    credential: str
    """What the token is, for messages: "the token from AIRFLOW_TOKEN"."""
    renewable: bool
    """Whether fetching again may give another token."""

    def fetch(self) -> tuple[str, float | None]:
        """A token and when it expires (epoch seconds; None: unknown). Raises PeeringError."""


class BearerAuth(requests.auth.AuthBase):
    username = None

    def __init__(self, source: TokenSource, redact: Redactor, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.source = source
        self.credential = source.credential
        self._redact = redact
        self._clock = clock
        self._token: str | None = None
        self._renew_at: float | None = None
        self.fetches = 0

    def prepare(self, session: requests.Session) -> None:
        session.headers.pop("Authorization", None)
        session.auth = self

    def refresh(self) -> bool:
        if not self.source.renewable:
            return False
        self._token = None
        return True

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token()}"
        return request

    def token(self) -> str:
        stale = self._renew_at is not None and self._clock() >= self._renew_at
        if self._token is None or (stale and self.source.renewable):
            now = self._clock()
            token, expires = self.source.fetch()
            self._redact.add(token)
            self.fetches += 1
            self._token = token
            expires = expires if expires is not None else jwt_expiry(token)
            margin = None if expires is None else min(EXPIRY_MARGIN, max(0.0, expires - now) / 4)
            self._renew_at = None if expires is None else expires - margin
            if stale:
                log.info("%s was about to expire; fetched a new one", self.credential)
        return self._token

    def __repr__(self) -> str:
        return f"BearerAuth({self.credential!r})"


class StaticToken:
    """``auth = "token"`` (Airflow 3 API tokens) and ``"astro"`` (Astronomer deployment API tokens)."""

    renewable = False

    def __init__(self, token: str | None, *, astro: bool = False) -> None:
        self._token = token
        self.credential = "the Astronomer API token" if astro else "the API token"
        self._astro = astro

    def fetch(self) -> tuple[str, float | None]:
        if not self._token:
            kind = "astro" if self._astro else "token"
            raise PeeringError("authentication", f"authentication failed: airflow.auth is {kind} but no token is "
                                                 "set; set AIRFLOW_TOKEN (or the editor's Airflow token)")
        return self._token, None


class CommandToken:
    """``auth = "command"``: ``tokenCommand``'s stdout is the token, like kubectl's exec
    credentials. The command runs without a shell, with a timeout; it may print the bare token,
    or JSON: a Kubernetes ``ExecCredential`` (``status.token``, ``status.expirationTimestamp``)
    or ``{"access_token", "expires_in"}`` / ``{"token", "expiry"}``."""

    renewable = True

    def __init__(self, argv: Sequence[str], redact: Redactor, *, timeout: float = COMMAND_TIMEOUT,
                 cwd: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.argv = tuple(argv)
        self._redact = redact
        self._timeout = timeout
        self._cwd = cwd
        self._clock = clock
        program = os.path.basename(self.argv[0]) if self.argv else "?"
        self.credential = f"the token printed by tokenCommand `{program}`"
        self._program = program

    def fetch(self) -> tuple[str, float | None]:
        if not self.argv:
            raise PeeringError("authentication", "authentication failed: airflow.auth is command but "
                                                 "airflow.tokenCommand is not set")
        what = f"airflow.tokenCommand `{self._program}`"
        try:
            done = subprocess.run(self.argv, capture_output=True, text=True, timeout=self._timeout,
                                  stdin=subprocess.DEVNULL, cwd=self._cwd, check=False)
        except FileNotFoundError:
            raise PeeringError("authentication", f"{what} failed: program not found") from None
        except PermissionError:
            raise PeeringError("authentication", f"{what} failed: not executable") from None
        except subprocess.TimeoutExpired:
            raise PeeringError("timeout", f"{what} timed out after {self._timeout:g} s") from None
        except OSError as error:
            raise PeeringError("authentication", f"{what} failed: {error.strerror or error}") from None
        if done.returncode != 0:
            first = next((line for line in done.stderr.splitlines() if line.strip()), "")
            detail = f": {self._redact(one_line(first, 160))}" if first else ""
            raise PeeringError("authentication", f"{what} failed (exit {done.returncode}){detail}")
        token, expires = parse_token_output(done.stdout, now=self._clock())
        if not token:
            raise PeeringError("authentication", f"{what} printed no token")
        self._redact.add(token)
        return token, expires


def parse_token_output(text: str, *, now: float) -> tuple[str | None, float | None]:
    """The token and its expiry from a command's stdout (see ``CommandToken``); (None, None)
    when it printed nothing usable (an empty line, several words)."""
    text = text.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return None, None
        return _token_of(data, now)
    if not text or any(c.isspace() for c in text):
        return None, None
    return text, None


def _token_of(data: object, now: float) -> tuple[str | None, float | None]:
    if not isinstance(data, dict):
        return None, None
    status = data.get("status")
    if isinstance(status, dict) and isinstance(status.get("token"), str):  # ExecCredential
        return status["token"] or None, _timestamp(status.get("expirationTimestamp"))
    for key in ("access_token", "token", "id_token"):
        token = data.get(key)
        if isinstance(token, str) and token:
            expires_in = data.get("expires_in")
            if isinstance(expires_in, (int, float)) and not isinstance(expires_in, bool):
                return token, now + float(expires_in)
            return token, _timestamp(data.get("expiry") or data.get("expires_at"))
    return None, None


def _timestamp(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def jwt_expiry(token: str) -> float | None:
    """The ``exp`` claim of a JWT (read, not verified: only to know when to fetch another)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, (int, float)) and not isinstance(exp, bool) else None
