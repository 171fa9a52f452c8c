"""One settings object: the client's settings, then the environment, then pyproject.toml."""

from pathlib import Path

from server.settings import load_settings


def project(tmp_path: Path, table: str) -> str:
    (tmp_path / "pyproject.toml").write_text(f"[tool.airlift-lsp]\n{table}\n")
    return str(tmp_path)


def test_the_environment_overrides_the_file_and_the_client_overrides_both(tmp_path: Path) -> None:
    root = project(tmp_path, 'airflow = { url = "http://file:8080", username = "file-user" }')
    environ = {"AIRFLOW_URL": "http://env:8080"}
    settings, warnings = load_settings(root, environ=environ)
    assert (settings.airflow.url, settings.airflow.username) == ("http://env:8080", "file-user")
    assert warnings == []
    settings, _ = load_settings(root, {"airflow": {"url": "http://client:8080"}}, environ=environ)
    assert settings.airflow.url == "http://client:8080"
    settings, _ = load_settings(root, environ={})
    assert settings.airflow.url == "http://file:8080"


def test_an_empty_variable_does_not_hide_the_file(tmp_path: Path) -> None:
    root = project(tmp_path, 'airflow = { url = "http://file:8080" }')
    settings, _ = load_settings(root, environ={"AIRFLOW_URL": ""})
    assert settings.airflow.url == "http://file:8080"


def test_interpreters_and_auth_are_read_and_bad_auth_warns(tmp_path: Path) -> None:
    root = project(tmp_path, 'airflow = { python = ".venv-airflow/bin/python", auth = "kerberos" }\n'
                             'dagster = { url = "http://localhost:3000", python = "/opt/dagster/bin/python" }')
    settings, warnings = load_settings(root, environ={})
    assert settings.airflow.python == ".venv-airflow/bin/python"
    assert settings.dagster.url == "http://localhost:3000" and settings.dagster.python == "/opt/dagster/bin/python"
    assert settings.airflow.auth is None
    assert warnings == ["airflow.auth: expected one of basic, token, mwaa, composer, astro, command, "
                        "got 'kerberos'; using basic auth"]
