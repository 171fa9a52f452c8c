"""Google Cloud Composer sign-in (``auth = "composer"``, the ``airlift-lsp[composer]`` extra:
google-auth).

Composer 2 and 3 accept a Google OAuth 2.0 access token for the environment's Airflow web
server URL as ``Authorization: Bearer``: the Application Default Credentials
(``google.auth.default`` with the ``cloud-platform`` scope; ``gcloud auth application-default
login``, a service account key, or the metadata server) mint it, and it lasts about an hour.
``BearerAuth`` asks for a new one before it expires and once after a 401. (A web server behind
Identity-Aware Proxy wants an ID token instead: use ``auth = "command"`` with ``gcloud auth
print-identity-token``.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from server.peering.transport import PeeringError, Redactor, one_line

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
INSTALL_HINT = "airflow.auth is composer but google-auth is not installed: pip install 'airlift-lsp[composer]'"


def default_credentials() -> tuple[Any, Callable[[], Any]]:
    """Application Default Credentials and a factory of the transport request they refresh with."""
    try:
        import google.auth
        import google.auth.transport.requests
    except ImportError:
        raise PeeringError("authentication", INSTALL_HINT) from None
    try:
        credentials, _project = google.auth.default(scopes=list(SCOPES))
    except Exception as error:  # noqa: BLE001 - DefaultCredentialsError and kin: one line for the user
        raise PeeringError("authentication", f"authentication failed: no Google credentials "
                                             f"({_first_line(error)}); run `gcloud auth application-default "
                                             "login`") from None
    return credentials, google.auth.transport.requests.Request


class ComposerToken:
    """A ``TokenSource``: the access token of ``credentials`` (google-auth's ``Credentials``:
    ``refresh(request)``, ``token``, ``expiry`` as a naive UTC datetime)."""

    renewable = True
    credential = "the Google access token of the default credentials"

    def __init__(self, redact: Redactor, *, credentials: Any = None,
                 request_factory: Callable[[], Any] | None = None,
                 loader: Callable[[], tuple[Any, Callable[[], Any]]] = default_credentials) -> None:
        self._redact = redact
        self._credentials = credentials
        self._request_factory = request_factory
        self._loader = loader

    def fetch(self) -> tuple[str, float | None]:
        if self._credentials is None:
            self._credentials, self._request_factory = self._loader()
        request = self._request_factory() if self._request_factory is not None else None
        try:
            self._credentials.refresh(request)
        except Exception as error:  # noqa: BLE001 - RefreshError, TransportError: one line for the user
            raise PeeringError("authentication", f"authentication failed: Google refused to refresh the "
                                                 f"credentials ({self._redact(_first_line(error))})") from None
        token = getattr(self._credentials, "token", None)
        if not isinstance(token, str) or not token:
            raise PeeringError("authentication", "authentication failed: the Google credentials gave no token")
        self._redact.add(token)
        expiry = getattr(self._credentials, "expiry", None)
        if isinstance(expiry, datetime):
            if expiry.tzinfo is None:
                expiry = expiry.replace(tzinfo=timezone.utc)
            return token, expiry.timestamp()
        return token, None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return one_line(f"{type(error).__name__}: {text[0]}" if text else type(error).__name__, 200)
