"""Amazon MWAA in front of a real Airflow 2, for loading a Dagster module that peers through
``dagster_airlift.mwaa.MwaaSessionAuthBackend`` (no AWS here).

Modelled on MWAA's documented web login flow, which that backend follows:
``boto3.Session(region_name=...).client("mwaa").create_web_login_token(Name=env)`` answers
``{"WebServerHostname", "WebToken"}``; ``POST https://<host>/aws_mwaa/login`` with the form field
``token`` (single use) sets the ``session`` cookie; the Airflow REST API under that host then
answers requests carrying the cookie. Here the host is an HTTPS server on 127.0.0.1 (a
self-signed certificate made with ``openssl``, trusted through ``REQUESTS_CA_BUNDLE``) that
forwards the API to the real Airflow with its basic-auth user.

``boto3_stub`` writes a ``boto3`` package (the Dagster venv has none: dagster-airlift[mwaa] is
not installed) whose MWAA client asks this server for the token, naming the environment and the
region it was built with, so a test sees what the generated module passed.
"""

from __future__ import annotations

import json
import secrets
import ssl
import subprocess
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import requests


class FakeMwaa:
    def __init__(self, folder: Path, airflow_url: str, username: str, password: str, environment: str) -> None:
        self.folder = folder
        self.airflow_url = airflow_url.rstrip("/")
        self.auth = (username, password)
        self.environment = environment
        self.tokens: set[str] = set()
        self.sessions: set[str] = set()
        self.token_requests: list[dict] = []
        self.logins = 0
        self.forwarded: list[str] = []
        self.certificate = folder / "mwaa-cert.pem"
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeMwaa:
        key = self.folder / "mwaa-key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(self.certificate), "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True, timeout=60)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.certificate, key)
        fake = self

        class Handler(_Handler):
            mwaa = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def boto3_stub(self) -> Path:
        """A folder to put first on PYTHONPATH: ``import boto3`` finds the stand-in there."""
        package = self.folder / "boto3_stub" / "boto3"
        package.mkdir(parents=True, exist_ok=True)
        (package / "__init__.py").write_text(textwrap.dedent(f'''\
            """A stand-in for boto3 (tests/support/fake_mwaa.py): only Session(...).client("mwaa")."""
            import json
            import os
            import ssl
            import urllib.error
            import urllib.parse
            import urllib.request


            class ClientError(Exception):
                """Shaped like botocore.exceptions.ClientError."""

                def __init__(self, code, message):
                    super().__init__(f"An error occurred ({{code}}) when calling the CreateWebLoginToken "
                                     f"operation: {{message}}")
                    self.response = {{"Error": {{"Code": code, "Message": message}}}}


            class Session:
                def __init__(self, region_name=None, profile_name=None, **kwargs):
                    self.region_name = region_name

                def client(self, service_name):
                    assert service_name == "mwaa", service_name
                    return _Mwaa(self.region_name)


            class _Mwaa:
                def __init__(self, region_name):
                    self.region_name = region_name

                def create_web_login_token(self, *, Name):
                    query = urllib.parse.urlencode({{"name": Name, "region": self.region_name or ""}})
                    try:
                        with urllib.request.urlopen({self.url + "/_fake/create_web_login_token"!r} + "?" + query,
                                                    context=ssl.create_default_context(
                                                        cafile=os.environ["REQUESTS_CA_BUNDLE"])) as answer:
                            return json.load(answer)
                    except urllib.error.HTTPError as error:
                        body = json.load(error)
                        raise ClientError(body["__type"], body["message"]) from None
            '''), encoding="utf-8")
        return package.parent


class _Handler(BaseHTTPRequestHandler):
    mwaa: FakeMwaa

    def log_message(self, format: str, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._route("GET")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if parts.path == "/_fake/create_web_login_token":
            return self._token(parse_qs(parts.query))
        if parts.path == "/aws_mwaa/login" and method == "POST":
            return self._login(parse_qs(body.decode()))
        if not parts.path.startswith("/api/"):
            return self._send(404, {"title": "Not Found"})
        if self._cookie() not in self.mwaa.sessions:
            return self._send(401, {"title": "Unauthorized", "detail": "no MWAA session"})
        self.mwaa.forwarded.append(parts.path)
        answer = requests.request(method, self.mwaa.airflow_url + self.path, data=body or None,
                                  headers={"Content-Type": self.headers.get("Content-Type", "application/json")},
                                  auth=self.mwaa.auth, timeout=60)
        self._send_raw(answer.status_code, answer.content, answer.headers.get("Content-Type", "application/json"))

    def _token(self, query: dict[str, list[str]]) -> None:
        name, region = query.get("name", [""])[0], query.get("region", [""])[0]
        self.mwaa.token_requests.append({"name": name, "region": region})
        if name != self.mwaa.environment:  # what AWS answers for an unknown environment
            return self._send(404, {"__type": "ResourceNotFoundException", "message": f"Environment {name} not found"})
        token = secrets.token_urlsafe(16)
        self.mwaa.tokens.add(token)
        self._send(200, {"WebServerHostname": self.mwaa.url.removeprefix("https://"), "WebToken": token})

    def _login(self, form: dict[str, list[str]]) -> None:
        token = form.get("token", [""])[0]
        if token not in self.mwaa.tokens:
            return self._send(403, {"title": "invalid or used web login token"})
        self.mwaa.tokens.discard(token)  # single use
        self.mwaa.logins += 1
        session = secrets.token_urlsafe(16)
        self.mwaa.sessions.add(session)
        self.send_response(200)
        self.send_header("Set-Cookie", f"session={session}; Path=/; Secure; HttpOnly")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _cookie(self) -> str | None:
        for item in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = item.strip().partition("=")
            if name == "session":
                return value
        return None

    def _send(self, status: int, data: dict) -> None:
        self._send_raw(status, json.dumps(data).encode(), "application/json")

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
