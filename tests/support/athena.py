"""Athena for the Athena scaffold's run test: moto's server (moto 5, in the Dagster venv: a public
emulation of AWS's APIs, no AWS here) behind a recording proxy, given to boto3 as
``AWS_ENDPOINT_URL`` by both Airflow's Amazon provider and dagster-aws.

- The proxy keeps every ``StartQueryExecution`` request body as sent (``started``: the query,
  its context, result configuration, workgroup and ``ClientRequestToken``, which Athena's
  ``GetQueryExecution`` does not answer), in order.
- ``failing``: for a query holding one of its keys, the proxy answers ``GetQueryExecution`` with
  the state ``FAILED`` and that key's ``StateChangeReason``, as Athena answers a query that
  fails; moto cannot be made to fail a query (its executions only succeed).
- moto's state manager makes each query answer ``QUEUED``, then ``RUNNING``, then ``SUCCEEDED``,
  one state per ``GetQueryExecution``, as a query Athena takes time over: the caller polls.

boto3 must speak Athena's JSON protocol, which moto 5.2 serves: botocore 1.44.18 moved Athena to
REST JSON, which moto does not route yet (the Makefile installs botocore below it in both venvs).
"""

from __future__ import annotations

import http.client
import json
import subprocess
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.support.airflow2_server import kill_session
from tests.support.airflow_server import free_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
_TARGET = "AmazonAthena."


@dataclass
class FakeAthena:
    dagster_python: str
    log: Path
    failing: dict[str, str] = field(default_factory=dict)
    started: list[dict] = field(default_factory=list)
    failed_ids: dict[str, str] = field(default_factory=dict)
    ids: list[str] = field(default_factory=list)
    answered: dict[str, list[str]] = field(default_factory=dict)
    """The states ``GetQueryExecution`` answered for each query, in order: how it was waited for."""

    def start(self, workgroups: tuple[str, ...] = ()) -> FakeAthena:
        self.moto_port = free_port()
        moto = str(Path(self.dagster_python).parent / "moto_server")
        self.moto = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(self.moto_port)], stdin=subprocess.DEVNULL,
                                     stdout=self.log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        self._wait()
        self._moto_api("/moto-api/state-manager/set-transition",
                       {"model_name": "athena::execution", "transition": {"progression": "manual", "times": 1}})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        for name in workgroups:
            self._athena("CreateWorkGroup", {"Name": name, "Configuration": {}})
        return self

    def stop(self) -> None:
        if getattr(self, "server", None) is not None:
            self.server.shutdown()
            self.server.server_close()
        kill_session(self.moto)

    def env(self) -> dict[str, str]:
        """What boto3 is given, in Airflow's process and Dagster's alike."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.url}

    # -- the proxy ----------------------------------------------------------------------

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = (self.headers.get("X-Amz-Target") or "").removeprefix(_TARGET)
                status, headers, answer = fake._forward(self.command, self.path, dict(self.headers), body)
                if target == "StartQueryExecution" and status == 200:
                    request = json.loads(body)
                    fake.started.append(request)
                    execution_id = json.loads(answer)["QueryExecutionId"]
                    fake.ids.append(execution_id)
                    reason = next((r for k, r in fake.failing.items() if k in request["QueryString"]), None)
                    if reason is not None:
                        fake.failed_ids[execution_id] = reason
                elif target == "GetQueryExecution" and status == 200:
                    execution_id = json.loads(body)["QueryExecutionId"]
                    answer = fake._failed(execution_id, answer)
                    state = json.loads(answer)["QueryExecution"]["Status"]["State"]
                    fake.answered.setdefault(execution_id, []).append(state)
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        return Handler

    def _forward(self, method: str, path: str, headers: dict, body: bytes) -> tuple[int, list, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.moto_port, timeout=60)
        try:
            connection.request(method, path, body=body, headers={k: v for k, v in headers.items()
                                                                  if k.lower() != "host"})
            response = connection.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            connection.close()

    def _failed(self, execution_id: str, answer: bytes) -> bytes:
        reason = self.failed_ids.get(execution_id)
        if reason is None:
            return answer
        execution = json.loads(answer)
        execution["QueryExecution"]["Status"].update({"State": "FAILED", "StateChangeReason": reason})
        return json.dumps(execution).encode()

    # -- moto, directly -------------------------------------------------------------------

    def _wait(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.moto_port}/moto-api/", timeout=5):
                    return
            except OSError:
                if time.monotonic() > deadline or self.moto.poll() is not None:
                    raise RuntimeError(f"moto did not start: {self.log.read_text()[-2000:]}") from None
                time.sleep(0.2)

    def _moto_api(self, path: str, payload: dict) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.moto_port}{path}", data=json.dumps(payload).encode(),
                                         method="POST")
        with urllib.request.urlopen(request, timeout=30):
            pass

    def _athena(self, action: str, payload: dict) -> dict:
        """One call of Athena's JSON protocol to moto (what boto3 sends, unsigned: moto does not check)."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.moto_port}/", data=json.dumps(payload).encode(), method="POST",
            headers={"X-Amz-Target": _TARGET + action, "Content-Type": "application/x-amz-json-1.1",
                     "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/athena/aws4_request, "
                                      "SignedHeaders=host, Signature=0"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")
