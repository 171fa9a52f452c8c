"""The Dagster side's settings: ``dagster.url`` from the client, ``DAGSTER_URL`` or the file;
the Dagster+ token from the client or ``DAGSTER_CLOUD_API_TOKEN``, never from the file, never shown."""

from __future__ import annotations

from server.settings import load_settings


def test_dagster_url_precedence_client_then_environment_then_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagster = { url = "http://file:3000" }\n')
    assert load_settings(str(tmp_path), environ={})[0].dagster.url == "http://file:3000"
    assert load_settings(str(tmp_path), environ={"DAGSTER_URL": "http://env:3000"})[0].dagster.url == "http://env:3000"
    client = {"dagster": {"url": "http://client:3000"}}
    assert load_settings(str(tmp_path), client, environ={"DAGSTER_URL": "http://env:3000"})[0].dagster.url == (
        "http://client:3000")


def test_the_token_never_comes_from_the_file_and_never_shows(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.airlift-lsp]\ndagster = { url = "https://acme.dagster.cloud/prod", token = "from-file" }\n')
    settings, warnings = load_settings(str(tmp_path), environ={})
    assert settings.dagster.token is None and settings.dagster.url == "https://acme.dagster.cloud/prod"
    assert [w for w in warnings if "token never goes in pyproject.toml" in w and "DAGSTER_CLOUD_API_TOKEN" in w]
    settings, _ = load_settings(str(tmp_path), environ={"DAGSTER_CLOUD_API_TOKEN": "from-env-123"})
    assert settings.dagster.token == "from-env-123" and "from-env-123" not in repr(settings)
    settings, _ = load_settings(str(tmp_path), {"dagster": {"token": "from-client-456"}},
                                environ={"DAGSTER_CLOUD_API_TOKEN": "from-env-123"})
    assert settings.dagster.token == "from-client-456"
