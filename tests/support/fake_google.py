"""A stand-in for Google's OAuth token endpoint, the GKE API and BigQuery's jobs (no cloud here),
modelled on their documented flows, for the scaffolds of ``GKEStartPodOperator``
(``_airflow_gke_kubeconfig``), ``GCSToBigQueryOperator`` and ``BigQueryInsertJobOperator``
(google-cloud-bigquery's client).

- ``service_account_file(account)`` writes a service account key (a new RSA key, made by
  ``openssl``) whose ``token_uri`` is this fake's: as ``GOOGLE_APPLICATION_CREDENTIALS``, it is
  what google-auth's Application Default Credentials read. Each account has a key of its own;
  the token endpoint and the APIs take any account given a key, and ``used_by`` keeps which
  account each API call was made as (``holders``: each token's account).
- ``POST /token``: the OAuth 2.0 JWT bearer grant (``grant_type`` =
  ``urn:ietf:params:oauth:grant-type:jwt-bearer``, ``assertion`` = a JWT signed RS256 by the key,
  ``iss`` the account, ``aud`` Google's token endpoint whatever URI it is sent to, ``scope``); the signature is checked with the key's
  public half (``openssl dgst -verify``). Answers ``access_token``, ``expires_in``, ``token_type``.
- Every API call needs ``Authorization: Bearer`` with a token it issued, or a JWT the account
  signed itself for the API (``aud`` its URL; google-api-core's clients send those for a service
  account), kept in ``self_signed``.
- ``GET /v1/projects/{project}/locations/{location}/clusters/{name}``
  (``projects.locations.clusters.get``):
  answers the cluster's ``endpoint``, ``masterAuth.clusterCaCertificate`` and
  ``privateClusterConfig.privateEndpoint``, 404 for a cluster it does not have.
- ``POST /v1/projects/{p}/locations/{l}/clusters`` (``clusters.create``, body ``{"cluster": ...}``
  kept in ``created``): an operation ``RUNNING`` (``DONE`` at its first ``GET
  .../operations/{name}``), the cluster then answered with a made-up endpoint and CA; 409
  ``ALREADY_EXISTS`` for a cluster it has. ``DELETE .../clusters/{c}``: an operation ``DONE``,
  404 for a cluster it does not have.
- ``POST /bigquery/v2/projects/{project}/jobs`` (``jobs.insert``, a bearer token it issued): the
  job, kept in ``jobs`` as sent, answered ``RUNNING``; ``GET .../jobs/{jobId}`` (``jobs.get``):
  ``DONE``, with ``outputRows`` for a load (``load_rows``), or the ``errorResult`` that
  ``failing`` gives for its destination table (for a query: a key its SQL holds);
  ``GET .../queries/{jobId}`` (``jobs.getQueryResults``): complete, no rows.

Every request is kept in ``requests`` (method, path, and the JWT's claims for a token).
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ACCOUNT = "dagster-runner@acme-data.iam.gserviceaccount.com"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUDIENCE = "https://oauth2.googleapis.com/token"


def _unpadded(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class FakeGoogle:
    clusters: dict[str, dict]
    """Each cluster by ``projects/{p}/locations/{l}/clusters/{c}``, as the API answers it."""
    folder: Path
    tokens: set[str] = field(default_factory=set)
    requests: list[dict] = field(default_factory=list)
    jobs: list[dict] = field(default_factory=list)
    load_rows: int = 42
    self_signed: list[str] = field(default_factory=list)
    """The audience of each self-signed JWT it took."""
    made: dict = field(default_factory=dict)
    """What the GKE API answers, beside the body, for a cluster it created (its endpoint, CA...)."""
    created: list[dict] = field(default_factory=list)
    operations: dict[str, dict] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)
    """Destination tables (``dataset.table``) whose loads fail, to BigQuery's error message."""
    url: str = ""
    public_keys: dict[str, Path] = field(default_factory=dict)
    """Each account's public key."""
    holders: dict[str, str] = field(default_factory=dict)
    """Each token issued, to the account it was issued to."""
    used_by: list[tuple[str, str]] = field(default_factory=list)
    """Each API call authorized (method and path), with the account it was made as."""

    def service_account_file(self, account: str = ACCOUNT) -> Path:
        """A key of service account ``account`` whose tokens this fake issues (ADC's
        GOOGLE_APPLICATION_CREDENTIALS, or a connection's key)."""
        stem = account.split("@")[0]
        key = self.folder / f"{stem}.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", str(key)], check=True, capture_output=True)
        self.public_keys[account] = self.folder / f"{stem}.public.pem"
        subprocess.run(["openssl", "pkey", "-in", str(key), "-pubout", "-out", str(self.public_keys[account])],
                       check=True, capture_output=True)
        path = self.folder / f"{stem}.json"
        path.write_text(json.dumps({
            "type": "service_account", "project_id": "acme-data", "private_key_id": secrets.token_hex(20),
            "private_key": key.read_text(), "client_email": account, "client_id": "1234567890",
            "token_uri": f"{self.url}/token"}))
        return path

    def start(self) -> FakeGoogle:
        fake = self

        class Handler(_Handler):
            google = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def verified(self, assertion: str) -> dict | None:
        """The claims of an RS256 JWT signed by the key of the account it names (``iss``), else None."""
        try:
            header, claims, signature = assertion.split(".")
            public = self.public_keys.get(json.loads(_unpadded(claims)).get("iss"))
            if json.loads(_unpadded(header)).get("alg") != "RS256" or public is None:
                return None
            signed, sig = self.folder / f"signed-{secrets.token_hex(4)}", self.folder / f"sig-{secrets.token_hex(4)}"
            signed.write_bytes(f"{header}.{claims}".encode())
            sig.write_bytes(_unpadded(signature))
            checked = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(public),
                                      "-signature", str(sig), str(signed)], capture_output=True)
            return json.loads(_unpadded(claims)) if checked.returncode == 0 else None
        except ValueError:
            return None


class _Handler(BaseHTTPRequestHandler):
    google: FakeGoogle
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self) -> bool:
        """A bearer token it issued, or a JWT the service account signed itself for this API (the
        self-signed JWT that google-api-core's clients send for a service account)."""
        authorization = self.headers.get("Authorization", "")
        token = authorization[7:] if authorization.startswith("Bearer ") else ""
        if token in self.google.tokens:
            self.google.used_by.append((f"{self.command} {self.path}", self.google.holders[token]))
            return True
        claims = self.google.verified(token) if token.count(".") == 2 else None
        if claims is not None and claims.get("aud", "").startswith("https://") and claims.get("exp", 0) > time.time():
            self.google.self_signed.append(claims["aud"])
            self.google.used_by.append((f"{self.command} {self.path}", claims["iss"]))
            return True
        self._answer(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        return False

    def _not_found(self, name: str) -> None:
        self._answer(404, {"error": {"code": 404, "message": f"Not found: {name}.", "status": "NOT_FOUND"}})

    def _operation(self, parent: str, kind: str, target: str, status: str) -> dict:
        """A new operation of ``parent`` (``projects/p/locations/l``), named by its id as GKE names them."""
        operation = f"operation-{len(self.google.operations) + 1}-{secrets.token_hex(4)}"
        link = "https://container.googleapis.com/v1/"
        answer = {"name": operation, "operationType": kind, "selfLink": f"{link}{parent}/operations/{operation}",
                  "targetLink": f"{link}{target}"}
        self.google.operations[f"{parent}/operations/{operation}"] = {**answer, "status": "DONE"}
        return {**answer, "status": status}

    def _create_cluster(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.google.requests.append({"method": "POST", "path": self.path})
        if not self._authorized():
            return
        parent = urlsplit(self.path).path.removeprefix("/v1/").removesuffix("/clusters")
        name = f"{parent}/clusters/{body['cluster']['name']}"
        if name in self.google.clusters:
            return self._answer(409, {"error": {"code": 409, "message": f"Already exists: {name}.",
                                                "status": "ALREADY_EXISTS"}})
        self.google.created.append(body)
        self.google.clusters[name] = {**body["cluster"], **self.google.made,
                                      "selfLink": f"https://container.googleapis.com/v1/{name}"}
        self._answer(200, self._operation(parent, "CREATE_CLUSTER", name, "RUNNING"))

    def do_DELETE(self) -> None:
        self.google.requests.append({"method": "DELETE", "path": self.path})
        if not self._authorized():
            return
        name = urlsplit(self.path).path.removeprefix("/v1/")
        if self.google.clusters.pop(name, None) is None:
            return self._not_found(name)
        parent = name.rsplit("/clusters/", 1)[0]
        self._answer(200, self._operation(parent, "DELETE_CLUSTER", name, "DONE"))

    def do_POST(self) -> None:
        if self.path.startswith("/bigquery/v2/"):
            return self._insert_job()
        if urlsplit(self.path).path.endswith("/clusters"):
            return self._create_cluster()
        form = parse_qs(self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode())
        if self.path != "/token" or form.get("grant_type") != [JWT_BEARER]:
            return self._answer(400, {"error": "unsupported_grant_type"})
        claims = self.google.verified(form.get("assertion", [""])[0])
        self.google.requests.append({"method": "POST", "path": self.path, "claims": claims})
        now = time.time()
        if claims is None or claims.get("aud") != AUDIENCE \
                or not claims.get("iat", now + 99) <= now + 5 < claims.get("exp", 0) + 5:
            return self._answer(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
        token = f"ya29.fake-{secrets.token_urlsafe(12)}"
        self.google.tokens.add(token)
        self.google.holders[token] = claims["iss"]
        self._answer(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def _insert_job(self) -> None:
        job = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        self.google.requests.append({"method": "POST", "path": self.path})
        if not self._authorized():
            return
        self.google.jobs.append(job)
        self._answer(200, {**job, "id": job["jobReference"]["jobId"], "status": {"state": "RUNNING"}})

    def _get_job(self) -> None:
        path = urlsplit(self.path).path
        job_id = path.rsplit("/", 1)[-1]
        job = next((j for j in self.google.jobs if j["jobReference"]["jobId"] == job_id), None)
        if job is None:
            return self._answer(404, {"error": {"code": 404, "message": f"Not found: Job {job_id}"}})
        if "/queries/" in path:  # jobs.getQueryResults of a done query: no rows
            return self._answer(200, {"kind": "bigquery#getQueryResultsResponse", "jobReference": job["jobReference"],
                                      "jobComplete": True, "totalRows": "0", "schema": {"fields": []}})
        configuration = job["configuration"]
        if "load" in configuration:
            table = configuration["load"]["destinationTable"]
            error = self.google.failing.get(f"{table['datasetId']}.{table['tableId']}")
            statistics = {"load": {"outputRows": str(0 if error else self.google.load_rows)}}
        else:  # a query: failing when its SQL holds a key of ``failing``
            error = next((m for k, m in self.google.failing.items() if k in configuration["query"]["query"]), None)
            statistics = {"query": {"statementType": "SELECT", "totalBytesProcessed": "0"}}
        status = {"state": "DONE", **({"errorResult": {"reason": "invalid", "message": error},
                                      "errors": [{"reason": "invalid", "message": error}]} if error else {})}
        self._answer(200, {**job, "id": job_id, "status": status, "statistics": statistics})

    def do_GET(self) -> None:
        self.google.requests.append({"method": "GET", "path": self.path})
        if not self._authorized():
            return
        if self.path.startswith("/bigquery/v2/"):
            return self._get_job()
        name = urlsplit(self.path).path.removeprefix("/v1/")
        if "/operations/" in name:
            if name not in self.google.operations:
                return self._not_found(name)
            return self._answer(200, self.google.operations[name])
        if name not in self.google.clusters:
            return self._not_found(name)
        self._answer(200, self.google.clusters[name])
