"""One typed settings object, read the same way by the CLI and the language server.

Precedence, highest first: the client's settings (LSP ``initializationOptions`` or the
``airlift`` section of ``workspace/configuration``, or CLI flags), the environment
(``AIRFLOW_URL``, ``AIRFLOW_USERNAME``, ``AIRFLOW_PASSWORD``, ``AIRFLOW_TOKEN``, ``DAGSTER_URL``,
``DAGSTER_CLOUD_API_TOKEN``: ``AIRFLOW_URL=... airlift-lsp status`` means that URL), then the
``[tool.airlift-lsp]`` table of the workspace's ``pyproject.toml``. Bad values become warnings, never failures.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

API_VERSIONS = ("auto", "v1", "v2")
AUTH_BACKENDS = ("basic", "token", "mwaa", "composer", "astro", "command")


@dataclass(frozen=True, slots=True)
class AirflowSettings:
    url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_version: str = "auto"
    poll_interval: float = 10.0
    verify_tls: bool = True
    auth: str | None = None
    """How to sign in (``AUTH_BACKENDS``); None: basic auth or Airflow 3's token login."""
    token: str | None = field(default=None, repr=False)
    """The bearer token of ``auth = "token"`` / ``"astro"`` (``AIRFLOW_TOKEN``; never from the file)."""
    token_command: tuple[str, ...] = ()
    """``auth = "command"``: the argv whose stdout is the token (``tokenCommand``)."""
    mwaa_environment: str | None = None
    """``auth = "mwaa"``: the MWAA environment's name (``mwaaEnvironment``)."""
    aws_region: str | None = None
    """``auth = "mwaa"``: its AWS region (``awsRegion``); None: boto3's default region."""
    python: str | None = None
    """The project's own Airflow interpreter, for ``verify`` (never run automatically)."""


@dataclass(frozen=True, slots=True)
class DagsterSettings:
    url: str | None = None
    python: str | None = None
    """The project's own Dagster interpreter, for ``verify --dagster-python``."""
    token: str | None = field(default=None, repr=False)
    """A Dagster+ API token (``DAGSTER_CLOUD_API_TOKEN`` or the client's ``dagster.token``; never
    from the file), sent as the ``Dagster-Cloud-Api-Token`` header."""


@dataclass(frozen=True, slots=True)
class Settings:
    airflow: AirflowSettings = field(default_factory=AirflowSettings)
    dag_folders: tuple[str, ...] = ()
    dagster_module: str | None = None
    dagster: DagsterSettings = field(default_factory=DagsterSettings)
    environment: tuple[tuple[str, str], ...] = ()
    """Environment variables of the deployment that DAG files read at import (``environment``):
    ``os.environ.get("DAGS_FOLDER")`` means this value to the static model."""
    import_roots: tuple[str, ...] = ()
    """Folders besides the DAG folders, the workspace root and ``plugins/`` that the deployment
    puts on ``sys.path`` (``importRoots``): where the DAG files' own imports are followed."""


@dataclass(slots=True)
class _Reader:
    warnings: list[str] = field(default_factory=list)

    def string(self, where: str, value: Any) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return value
        self.warnings.append(f"{where}: expected a string, got {type(value).__name__}; ignored")
        return None


def read_pyproject(root: str) -> tuple[dict[str, Any], list[str]]:
    """The ``[tool.airlift-lsp]`` table of ``root/pyproject.toml`` (empty when absent)."""
    path = os.path.join(root, "pyproject.toml")
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}, []
    except (OSError, tomllib.TOMLDecodeError) as error:
        return {}, [f"{path}: cannot read [tool.airlift-lsp] ({error}); using defaults"]
    table = data.get("tool", {}).get("airlift-lsp", {})
    if not isinstance(table, dict):
        return {}, [f"{path}: [tool.airlift-lsp] is not a table; ignored"]
    warnings: list[str] = []
    airflow = table.get("airflow")
    if isinstance(airflow, dict) and "tokenCommand" in airflow:
        # A program named by the repository would run on a plain `airlift-lsp status` in a clone.
        warnings.append(f"{path}: airflow.tokenCommand runs a program, so it is not read from pyproject.toml "
                        f"(a cloned repository would run it); set AIRFLOW_TOKEN_COMMAND or the editor setting")
        airflow = {k: v for k, v in airflow.items() if k != "tokenCommand"}
        table = {**table, "airflow": airflow}
    for secret, variable in (("password", "AIRFLOW_PASSWORD"), ("token", "AIRFLOW_TOKEN")):
        if isinstance(airflow, dict) and secret in airflow:
            warnings.append(f"{path}: a {secret} never goes in pyproject.toml; ignored "
                            f"(use {variable} or the editor's secret storage)")
            airflow = {k: v for k, v in airflow.items() if k != secret}
            table = {**table, "airflow": airflow}
    dagster = table.get("dagster")
    if isinstance(dagster, dict) and "token" in dagster:
        warnings.append(f"{path}: a token never goes in pyproject.toml; ignored "
                        "(use DAGSTER_CLOUD_API_TOKEN or the editor's secret storage)")
        table = {**table, "dagster": {k: v for k, v in dagster.items() if k != "token"}}
    return table, warnings


def load_settings(root: str, client: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> tuple[Settings, list[str]]:
    """Merge the three sources; return the settings and a warning per ignored value."""
    environ = os.environ if environ is None else environ
    project, warnings = read_pyproject(root)
    reader = _Reader(warnings)
    layers = [dict(client or {}), project]
    known = {"airflow", "dagFolders", "dagsterModule", "dagster", "importRoots", "environment", "server", "trace"}
    for layer in layers:
        for key in layer:
            if key not in known:
                reader.warnings.append(f"unknown setting `{key}`; ignored")

    env_airflow = {"url": environ.get("AIRFLOW_URL") or None, "username": environ.get("AIRFLOW_USERNAME") or None,
                   "password": environ.get("AIRFLOW_PASSWORD") or None}

    def pick(key: str, sub: str | None = None) -> Any:
        for index, layer in enumerate(layers):
            if index == 1 and key == "airflow" and env_airflow.get(sub or ""):
                return env_airflow[sub]  # type: ignore[index]  # the environment, above the file
            if index == 1 and key == "dagster" and sub == "url" and environ.get("DAGSTER_URL"):
                return environ["DAGSTER_URL"]  # the variable dagster-airlift's proxy operator reads too
            value = layer.get(key)
            if sub is not None:
                value = value.get(sub) if isinstance(value, dict) else None
            if value is not None:
                return value
        return None

    api_version = pick("airflow", "apiVersion") or "auto"
    if api_version not in API_VERSIONS:
        reader.warnings.append(f"airflow.apiVersion: expected one of {', '.join(API_VERSIONS)}, "
                               f"got {api_version!r}; using auto")
        api_version = "auto"
    poll = pick("airflow", "pollInterval")
    if poll is None:
        poll_interval = 10.0
    elif isinstance(poll, (int, float)) and not isinstance(poll, bool) and poll >= 1:
        poll_interval = float(poll)
    else:
        reader.warnings.append(f"airflow.pollInterval: expected seconds >= 1, got {poll!r}; using 10")
        poll_interval = 10.0
    verify = pick("airflow", "verifyTls")
    if verify is not None and not isinstance(verify, bool):
        reader.warnings.append(f"airflow.verifyTls: expected true or false, got {verify!r}; using true")
        verify = None
    folders_value = pick("dagFolders")
    if folders_value is None:
        folders: tuple[str, ...] = ()
    elif isinstance(folders_value, list) and all(isinstance(f, str) for f in folders_value):
        folders = tuple(folders_value)
    else:
        reader.warnings.append("dagFolders: expected a list of folder names; using the whole workspace")
        folders = ()
    auth = reader.string("airflow.auth", pick("airflow", "auth"))
    if auth is not None and auth not in AUTH_BACKENDS:
        reader.warnings.append(f"airflow.auth: expected one of {', '.join(AUTH_BACKENDS)}, got {auth!r}; "
                               "using basic auth")
        auth = None
    command_value = pick("airflow", "tokenCommand")
    if command_value is None and environ.get("AIRFLOW_TOKEN_COMMAND"):
        try:
            command_value = shlex.split(environ["AIRFLOW_TOKEN_COMMAND"])
        except ValueError as error:
            reader.warnings.append(f"AIRFLOW_TOKEN_COMMAND: cannot split it into arguments ({error}); ignored")
    token_command: tuple[str, ...] = ()
    if (isinstance(command_value, list) and command_value
            and all(isinstance(a, str) and a for a in command_value)):
        token_command = _rooted(tuple(command_value), root)
    elif command_value is not None:
        reader.warnings.append("airflow.tokenCommand: expected a list of arguments such as "
                               '["gcloud", "auth", "print-access-token"]; ignored')
    client_airflow = (client or {}).get("airflow")
    client_airflow = client_airflow if isinstance(client_airflow, dict) else {}
    client_dagster = (client or {}).get("dagster")
    client_dagster = client_dagster if isinstance(client_dagster, dict) else {}
    roots_value = pick("importRoots")
    if roots_value is None:
        import_roots: tuple[str, ...] = ()
    elif isinstance(roots_value, list) and all(isinstance(f, str) for f in roots_value):
        import_roots = tuple(roots_value)
    else:
        reader.warnings.append("importRoots: expected a list of folder names; ignored")
        import_roots = ()
    environment_value = pick("environment")
    environment: tuple[tuple[str, str], ...] = ()
    if isinstance(environment_value, dict) and all(isinstance(v, str) for v in environment_value.values()):
        environment = tuple((str(k), v.replace("${workspaceFolder}", os.path.abspath(root)))
                            for k, v in environment_value.items())
    elif environment_value is not None:
        reader.warnings.append("environment: expected a table of variable = \"value\"; ignored")
    airflow = AirflowSettings(
        url=reader.string("airflow.url", pick("airflow", "url")),
        username=reader.string("airflow.username", pick("airflow", "username")),
        password=reader.string("airflow.password", client_airflow.get("password")) or env_airflow["password"],
        api_version=api_version,
        poll_interval=poll_interval,
        verify_tls=True if verify is None else verify,
        auth=auth,
        python=reader.string("airflow.python", pick("airflow", "python")),
        token=reader.string("airflow.token", client_airflow.get("token")) or environ.get("AIRFLOW_TOKEN") or None,
        token_command=token_command,
        mwaa_environment=reader.string("airflow.mwaaEnvironment", pick("airflow", "mwaaEnvironment")),
        aws_region=reader.string("airflow.awsRegion", pick("airflow", "awsRegion")),
    )
    settings = Settings(
        airflow=airflow,
        dag_folders=folders,
        dagster_module=reader.string("dagsterModule", pick("dagsterModule")),
        dagster=DagsterSettings(url=reader.string("dagster.url", pick("dagster", "url")),
                                python=reader.string("dagster.python", pick("dagster", "python")),
                                token=reader.string("dagster.token", client_dagster.get("token"))
                                or environ.get("DAGSTER_CLOUD_API_TOKEN") or None),
        import_roots=import_roots,
        environment=environment,
    )
    return settings, reader.warnings


def _rooted(argv: tuple[str, ...], root: str) -> tuple[str, ...]:
    """A relative program path (``./scripts/token.sh``) means the workspace's; a bare name is
    looked up on PATH as usual."""
    program = argv[0]
    if os.sep in program and not os.path.isabs(program):
        program = os.path.normpath(os.path.join(os.path.abspath(root), program))
    return (program, *argv[1:])
