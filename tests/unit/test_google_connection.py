"""``_airflow_google_connection``, the helper the GKE scaffolds write for a task on another Google
connection than ``google_cloud_default``: run here as the module runs it (it needs only the
standard library), on the connection forms Airflow reads from the environment."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import urllib.parse
from pathlib import Path

import pytest

from analysis.edits.scaffold.google_connection import DEFINITION, HELPER

KEY = {"type": "service_account", "project_id": "acme-etl", "client_email": "etl@acme-etl.iam.gserviceaccount.com",
       "private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE\\n-----END PRIVATE KEY-----\\n", "token_uri": "https://t"}
"""A key as a connection's keyfile_dict often holds it: newlines escaped (Airflow unescapes them)."""


@pytest.fixture
def connection(monkeypatch):
    namespace = {"contextlib": contextlib, "os": os, "json": json, "tempfile": tempfile, "urllib": urllib}
    exec(DEFINITION[0], namespace)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/adc/where-dagster-runs.json")
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    return namespace[HELPER]


def _inside(connection, conn_id: str) -> dict:
    """What the block sees: the two variables, and the key file's content while it exists."""
    with connection(conn_id):
        path = os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")
        written = path and Path(path).exists()
        return {"credentials": path, "project": os.environ.get("GOOGLE_CLOUD_PROJECT"),
                "key": json.loads(Path(path).read_text()) if written else None,
                "mode": os.stat(path).st_mode & 0o777 if written else None}


def test_a_keyfile_dict_is_the_blocks_credentials_with_its_newlines_and_the_project(connection, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_GKE_ADMIN", json.dumps(
        {"conn_type": "google_cloud_platform", "extra": {"keyfile_dict": json.dumps(KEY), "project": "acme-gke"}}))
    seen = _inside(connection, "gke_admin")
    assert seen["key"] == {**KEY, "private_key": "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"}
    assert seen["project"] == "acme-gke"
    assert seen["mode"] == 0o600  # the key readable by its owner only, and gone after
    assert not Path(seen["credentials"]).exists()
    assert os.environ["GOOGLE_APPLICATION_CREDENTIALS"] == "/adc/where-dagster-runs.json"
    assert "GOOGLE_CLOUD_PROJECT" not in os.environ


def test_the_forms_airflow_reads_from_the_environment(connection, monkeypatch, tmp_path):
    """A URI with the extra's fields as its query, a URI with `__extra__`, the old prefixed names,
    an extra given as a JSON string; a credential configuration given by path or as content."""
    key = tmp_path / "etl.json"
    key.write_text(json.dumps(KEY))
    forms = {
        f"google-cloud-platform://?key_path={urllib.parse.quote(str(key), safe='')}&project=p1": (str(key), "p1"),
        "google-cloud-platform://?__extra__=" + urllib.parse.quote(json.dumps({"key_path": str(key)})):
            (str(key), "acme-etl"),  # no project: the key's, as Airflow takes it
        json.dumps({"conn_type": "google_cloud_platform", "extra": json.dumps(
            {"extra__google_cloud_platform__key_path": str(key), "extra__google_cloud_platform__project": "p2"})}):
            (str(key), "p2"),
        json.dumps({"conn_type": "google_cloud_platform", "extra": {"credential_config_file": str(key)}}):
            (str(key), "acme-etl"),  # the file's project
        json.dumps({"conn_type": "google_cloud_platform", "extra": {"project": "p3"}}):
            ("/adc/where-dagster-runs.json", "p3"),  # no key: Application Default Credentials
    }
    for value, (credentials, project) in forms.items():
        monkeypatch.setenv("AIRFLOW_CONN_ETL", value)
        seen = _inside(connection, "etl")
        assert (seen["credentials"], seen["project"]) == (credentials, project), value
    monkeypatch.setenv("AIRFLOW_CONN_ETL", json.dumps({"extra": {"credential_config_file": {"type": "external_account"}}}))
    assert _inside(connection, "etl")["key"] == {"type": "external_account"}  # content: written for the block


@pytest.mark.parametrize(("extra", "message"), [
    ({"key_secret_name": "etl-key"}, "Google connection etl sets key_secret_name, which the scaffold does not read"),
    ({"impersonation_chain": "a@p.iam.gserviceaccount.com"}, "sets impersonation_chain"),
    ({"is_anonymous": True}, "sets is_anonymous"),
    ({"key_path": "/k/etl.p12"}, "key_path /k/etl.p12 is not a .json key, which Airflow refuses too"),
    ({"key_path": "/k/a.json", "keyfile_dict": "{}"}, "gives more than one of key_path, keyfile_dict"),
    ({"key_path": "/k/a.json", "is_anonymous": "false"}, "sets is_anonymous"),  # a URI's string: set, for Airflow
    ({"scope": "https://www.googleapis.com/auth/bigquery.readonly"}, "asks for the scopes"),
    ({"keyfile_dict": {"type": "authorized_user", "refresh_token": "r"}},
     "gives a key of type 'authorized_user', which Airflow reads as a service account key only"),
])
def test_what_the_helper_does_not_read_fails_the_asset_naming_it(connection, monkeypatch, extra, message):
    monkeypatch.setenv("AIRFLOW_CONN_ETL", json.dumps({"conn_type": "google_cloud_platform", "extra": extra}))
    with pytest.raises(RuntimeError, match=message.replace(".", r"\.")):
        _inside(connection, "etl")
    assert os.environ["GOOGLE_APPLICATION_CREDENTIALS"] == "/adc/where-dagster-runs.json"


def test_a_key_without_a_project_gives_its_own_over_the_environments(connection, monkeypatch):
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "where-dagster-runs")
    monkeypatch.setenv("AIRFLOW_CONN_ETL", json.dumps({"extra": {"keyfile_dict": json.dumps(KEY)}}))
    assert _inside(connection, "etl")["project"] == "acme-etl"
    assert os.environ["GOOGLE_CLOUD_PROJECT"] == "where-dagster-runs"


def test_each_field_is_read_as_the_providers_get_field_reads_it(connection, monkeypatch, tmp_path):
    """The short name when it is there, even empty (then unset); the old prefixed name otherwise."""
    key = tmp_path / "etl.json"
    key.write_text(json.dumps(KEY))
    monkeypatch.setenv("AIRFLOW_CONN_ETL", json.dumps({"extra": {
        "key_path": "", "extra__google_cloud_platform__key_path": str(key), "project": "p",
        "extra__google_cloud_platform__project": "old"}}))
    assert (_inside(connection, "etl")["credentials"], _inside(connection, "etl")["project"]) == \
        ("/adc/where-dagster-runs.json", "p")


def test_the_processs_project_and_quota_project_are_not_the_keys(connection, monkeypatch, tmp_path):
    """With a key, the project is the connection's or the key's, and none when neither names one
    (the provider's client then fails, as Airflow's does), whatever the process's variables say."""
    key = tmp_path / "etl.json"
    key.write_text(json.dumps({**KEY, "project_id": None}))
    for name, value in (("GOOGLE_CLOUD_PROJECT", "dagster-proj"), ("GCLOUD_PROJECT", "legacy"),
                        ("GOOGLE_CLOUD_QUOTA_PROJECT", "billing")):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW_CONN_ETL", json.dumps({"extra": {"key_path": str(key)}}))
    with connection("etl"):
        assert [os.environ.get(n) for n in ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GOOGLE_CLOUD_QUOTA_PROJECT")] \
            == [None, None, None]
    assert os.environ["GCLOUD_PROJECT"] == "legacy" and os.environ["GOOGLE_CLOUD_QUOTA_PROJECT"] == "billing"
    monkeypatch.setenv("AIRFLOW_CONN_ETL", json.dumps({"extra": {"project": "p"}}))  # no key: ADC, as it is
    with connection("etl"):
        assert (os.environ["GOOGLE_CLOUD_PROJECT"], os.environ["GCLOUD_PROJECT"]) == ("p", "legacy")


def test_the_connections_bigquery_location_is_given_to_the_block(connection, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BQ_EU", "google-cloud-platform://?location=EU")
    with connection("bq_eu") as location:
        assert location == "EU"
    monkeypatch.setenv("AIRFLOW_CONN_BQ", "google-cloud-platform://")
    with connection("bq") as location:
        assert location is None


def test_a_connection_not_in_the_environment_is_named(connection, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_ETL", raising=False)
    with pytest.raises(RuntimeError, match="AIRFLOW_CONN_ETL is not set: give Google connection etl there"):
        _inside(connection, "etl")


def test_the_variables_are_restored_when_the_block_fails(connection, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_ETL", json.dumps({"extra": {"keyfile_dict": KEY, "project": "p"}}))
    with pytest.raises(ValueError), connection("etl"):
        assert os.environ["GOOGLE_CLOUD_PROJECT"] == "p"
        raise ValueError("the pod failed")
    assert os.environ["GOOGLE_APPLICATION_CREDENTIALS"] == "/adc/where-dagster-runs.json"
    assert "GOOGLE_CLOUD_PROJECT" not in os.environ
