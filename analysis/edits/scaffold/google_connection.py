'''Airflow's Google connections where Dagster runs: the credentials a task's ``gcp_conn_id`` gives
the Google provider, for the scaffolds that reach Google's APIs with Application Default
Credentials (GKE pods and clusters, BigQuery loads and jobs).

A task on ``google_cloud_default`` (Cloud Composer's: the environment's own account) runs with
Application Default Credentials as they are where Dagster runs. A task on another connection runs
inside ``_airflow_google_connection(conn_id)`` (written once into the module): the connection is
read as Airflow reads it from the environment (``AIRFLOW_CONN_<CONN_ID>``, JSON or a URI), each
field as the provider's ``get_field`` reads it (the short name when present, even empty, else the
old ``extra__google_cloud_platform__`` one). For that block ``GOOGLE_APPLICATION_CREDENTIALS``
names its service account key (``key_path``, or ``keyfile_dict`` written to a file of the block's
own, escaped newlines made newlines as the provider does; a key of another type fails, as the
provider's ``from_service_account_*`` fail) or ``credential_config_file``, and
``GOOGLE_CLOUD_PROJECT`` its ``project``, else the file's ``project_id``, else none (the
process's ``GCLOUD_PROJECT`` and quota project left out too): what google-auth's ``default()``
reads, so every client of the block (and the Kubernetes client's ``gcp`` auth provider, when a
token expires during the pod) signs with the connection's account, in its project. A connection
with none of them keeps the Application Default Credentials, with its ``project`` when it names
one, as the provider's hook does. The block yields the connection's ``location``, which a
BigQuery job takes when its task names none (the hook's). What the helper does not read fails the
asset, naming it: a key in Secret Manager, impersonation, anonymous access, an identity
provider, several keys, ``scope`` other than cloud-platform's (the clients ask for that one, which
may allow more than the task had). A resource of the module's own that sets dagster-gcp's
``gcp_credentials`` cannot be used inside the block (dagster-gcp refuses it when
``GOOGLE_APPLICATION_CREDENTIALS`` is set): bind one without, or drop the block.
'''

from __future__ import annotations

from analysis.edits.scaffold.variables import Rendered

HELPER = "_airflow_google_connection"
DEFAULT = "google_cloud_default"
MODULES = ("contextlib", "os", "json", "tempfile", "urllib.parse")
DEFINITION = ('''\
@contextlib.contextmanager
def _airflow_google_connection(conn_id: str):
    """Application Default Credentials as Airflow's Google provider takes those of connection
    `conn_id`, for this block: the connection read as Airflow reads it from the environment
    (AIRFLOW_CONN_<CONN_ID>, JSON or a URI), each field as the provider's get_field reads it;
    GOOGLE_APPLICATION_CREDENTIALS names its service account key (key_path, or keyfile_dict
    written to a file for the block) or its credential_config_file, GOOGLE_CLOUD_PROJECT its
    project, else the file's (none: no project, as the provider has none), and the process's
    quota project is left out; a connection with none of them keeps Application Default
    Credentials as they are, its project given if it names one, as the provider does. Yields the
    connection's BigQuery `location` (None when it names none). The variables are restored after."""
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    value = os.environ.get(variable)
    if not value:
        raise RuntimeError(f"{variable} is not set: give Google connection {conn_id} there")
    if value.lstrip().startswith("{"):
        extra = json.loads(value).get("extra") or {}
    else:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(value).query, keep_blank_values=True))
        extra = query.get("__extra__", query)
    extra = json.loads(extra) if isinstance(extra, str) else extra

    def field(name):  # the short name when present (empty: None), else the old prefixed one
        if name in extra:
            return extra[name] or None
        return extra.get(f"extra__google_cloud_platform__{name}") or None

    for name in ("key_secret_name", "impersonation_chain", "is_anonymous", "idp_issuer_url"):
        if field(name):
            raise RuntimeError(f"Google connection {conn_id} sets {name}, which the scaffold does not "
                               "read: give it a key (key_path, keyfile_dict) or Application Default Credentials")
    scopes = [scope.strip() for scope in str(field("scope") or "").split(",") if scope.strip()]
    if scopes and scopes != ["https://www.googleapis.com/auth/cloud-platform"]:
        raise RuntimeError(f"Google connection {conn_id} asks for the scopes {scopes}: the clients here ask for "
                           "cloud-platform's, which may allow more than the task had")
    key_path, keyfile, config = field("key_path"), field("keyfile_dict"), field("credential_config_file")
    if len([given for given in (key_path, keyfile, config) if given]) > 1:
        raise RuntimeError(f"Google connection {conn_id} gives more than one of key_path, keyfile_dict and "
                           "credential_config_file, which Airflow refuses too")
    if key_path and not str(key_path).endswith(".json"):
        raise RuntimeError(f"Google connection {conn_id}: key_path {key_path} is not a .json key, "
                           "which Airflow refuses too")
    with tempfile.TemporaryDirectory() as folder:
        given = config if isinstance(config, dict) or str(config or "").lstrip().startswith("{") else None
        content = keyfile or given  # a credential configuration given as its content, not its path
        credentials = key_path or config
        if content:
            content = json.loads(content) if isinstance(content, str) else dict(content)
            if keyfile and "private_key" in content:  # as Airflow reads it: escaped newlines made newlines
                content["private_key"] = content["private_key"].replace("\\\\n", "\\n")
            credentials = os.path.join(folder, "credentials.json")
            with open(os.open(credentials, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as file:
                json.dump(content, file)
        changes = {"GOOGLE_CLOUD_PROJECT": field("project")}
        if credentials:
            with open(credentials, encoding="utf-8") as file:
                read = json.load(file)
            if (key_path or keyfile) and read.get("type") != "service_account":
                raise RuntimeError(f"Google connection {conn_id} gives a key of type {read.get('type')!r}, which "
                                   "Airflow reads as a service account key only (and fails on)")
            changes = {"GOOGLE_APPLICATION_CREDENTIALS": credentials,
                       "GOOGLE_CLOUD_PROJECT": field("project") or read.get("project_id"),
                       "GCLOUD_PROJECT": None, "GOOGLE_CLOUD_QUOTA_PROJECT": None}
        saved = {name: os.environ.get(name) for name in changes}
        try:
            for name, new in changes.items():
                if new:
                    os.environ[name] = str(new)
                elif credentials:  # not the process's: the provider reads the file's alone
                    os.environ.pop(name, None)
            yield field("location")
        finally:
            for name, old in saved.items():
                if old is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = old
''', MODULES)
"""The helper's text and the modules it uses."""


def connection_problem(values: dict[str, object], name: str, reaches: str) -> str | None:
    """Why the task's Google connection cannot be given as the helper gives it, or None: a
    ``gcp_conn_id`` that is no plain string (rendered from an Airflow Variable), impersonation."""
    connection = values.get("gcp_conn_id", DEFAULT)
    if isinstance(connection, Rendered):
        return (f"the `gcp_conn_id` of {name} reads Airflow Variables ({str(connection)!r}): the scaffold names "
                f"the connection it {reaches} with: write its id in the task")
    if not (isinstance(connection, str) and connection):
        return (f"the `gcp_conn_id` of {name} is not the id of a connection: the scaffold names the connection "
                f"it {reaches} with")
    if values.get("impersonation_chain"):
        return (f"{name} impersonates {values['impersonation_chain']!r}: the scaffold {reaches} with the "
                "connection's own account: scaffold it by hand")
    return None


def helpers(connection: str) -> list[str]:
    """The module-level definitions an asset on ``connection`` needs for it."""
    return [] if connection == DEFAULT else [HELPER]


def block(edit, connection: str) -> str | None:
    """The context manager an asset on ``connection`` reaches Google inside, None for the default."""
    return None if connection == DEFAULT else f"{HELPER}({edit.literal(connection)})"


def about(connection: str) -> str:
    """How the asset's docstring names the credentials it runs with."""
    if connection == DEFAULT:
        return "the Application Default Credentials where Dagster runs (what Cloud Composer's google_cloud_default is)"
    return (f"the credentials of Airflow connection `{connection}` (AIRFLOW_CONN_{connection.upper()} where "
            "Dagster runs, read as Airflow reads it: its key_path, keyfile_dict or credential_config_file; "
            "none of them: Application Default Credentials)")
