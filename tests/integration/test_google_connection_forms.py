"""``_airflow_google_connection`` reads a Google connection from the environment as Airflow does:
Airflow 2.11 itself (``make airflow2``; ``BaseHook.get_connection``, which reads
``AIRFLOW_CONN_<CONN_ID>`` first) parses each form, the Google provider's field lookup (a field by
its name, else by its old ``extra__google_cloud_platform__`` name) picks the key and project from
its ``extra_dejson`` (the project: the connection's, else the key file's, as the provider takes
it from the credentials), and the helper, run as the generated module runs it, must point
``GOOGLE_APPLICATION_CREDENTIALS`` and ``GOOGLE_CLOUD_PROJECT`` at the same."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
import urllib.parse

from analysis.edits.scaffold.google_connection import DEFINITION, HELPER
from tests.support.airflow2_server import airflow2_python

def forms(key: str, old: str) -> dict[str, str]:
    """Each form of the connection, its key files at ``key`` and ``old``."""
    return {
        "uri_query": f"google-cloud-platform://?key_path={urllib.parse.quote(key, safe='')}&project=acme-etl&num_retries=5",
        "uri_extra": "google-cloud-platform://?__extra__=" + urllib.parse.quote(
            json.dumps({"key_path": key, "project": "acme-x", "scope": "https://www.googleapis.com/auth/cloud-platform"})),
        "uri_prefixed": f"gcpssh://?extra__google_cloud_platform__key_path={urllib.parse.quote(old, safe='')}"
                        "&extra__google_cloud_platform__project=old-style",
        "uri_no_project": f"google-cloud-platform://?key_path={urllib.parse.quote(old, safe='')}",
        "json_dict": json.dumps({"conn_type": "google_cloud_platform", "extra": {"key_path": key, "project": "acme-j"}}),
        "json_string": json.dumps({"conn_type": "google_cloud_platform",
                                   "extra": json.dumps({"credential_config_file": key, "project": "p"})}),
        "json_adc": json.dumps({"conn_type": "google_cloud_platform", "extra": {"project": "only-a-project"}}),
        "uri_bare": "google-cloud-platform://",
    }


AIRFLOW = """
import json, sys
from airflow.hooks.base import BaseHook
read = {}
for conn_id in sys.argv[1:]:
    extras = BaseHook.get_connection(conn_id).extra_dejson
    def field(name):  # the Google provider's get_field: its name, else its old prefixed name
        return extras.get(name) or extras.get(f"extra__google_cloud_platform__{name}") or None
    key = field("key_path") or field("credential_config_file")
    project = field("project") or (json.load(open(key))["project_id"] if key else None)  # else the credentials'
    read[conn_id] = [key, project]
print(json.dumps(read))
"""


def test_each_form_is_read_as_airflow_reads_it(tmp_path, monkeypatch):
    key, old = tmp_path / "etl key+1.json", tmp_path / "old.json"
    for path, project in ((key, "acme-file"), (old, "acme-old")):
        path.write_text(json.dumps({"type": "service_account", "project_id": project, "client_email": "a@b.c"}))
    FORMS = forms(str(key), str(old))
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           **{f"AIRFLOW_CONN_{conn_id.upper()}": value for conn_id, value in FORMS.items()}}
    answer = subprocess.run([airflow2_python(), "-c", AIRFLOW, *FORMS], env=env, capture_output=True, text=True,
                            timeout=300, check=False)
    assert answer.returncode == 0, answer.stderr[-3000:]
    airflow = json.loads(answer.stdout.strip().splitlines()[-1])
    namespace = {"contextlib": contextlib, "os": os, "json": json, "tempfile": tempfile, "urllib": urllib}
    exec(DEFINITION[0], namespace)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/adc.json")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    ours = {}
    for conn_id, value in FORMS.items():
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", value)
        with namespace[HELPER](conn_id):
            credentials = os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
            ours[conn_id] = [None if credentials == "/adc.json" else credentials,
                             os.environ.get("GOOGLE_CLOUD_PROJECT")]
    assert ours == airflow
    assert airflow["uri_query"] == [str(key), "acme-etl"] and airflow["uri_no_project"] == [str(old), "acme-old"]
    assert airflow["uri_bare"] == [None, None]  # the forms are read
