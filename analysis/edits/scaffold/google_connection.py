'''Airflow's Google connections where Dagster runs: the credentials a task's ``gcp_conn_id`` gives
the Google provider, for the scaffolds that reach Google's APIs with Application Default
Credentials (GKE pods and clusters, BigQuery loads and jobs).

A task on ``google_cloud_default`` (Cloud Composer's: the environment's own account) runs with
Application Default Credentials as they are where Dagster runs. A task on another connection runs
inside ``_airflow_google_connection(conn_id)`` (written once into the module): the connection is
read as Airflow reads it from the environment (``AIRFLOW_CONN_<CONN_ID>``, JSON or a URI), and for
that block ``GOOGLE_APPLICATION_CREDENTIALS`` names its key (``key_path``, or ``keyfile_dict``
written to a file of the block's own, as the provider does) or ``credential_config_file``, and
``GOOGLE_CLOUD_PROJECT`` its ``project`` (else the key's, as the provider takes it): what
google-auth's ``default()`` reads, so every client of the block (and the Kubernetes client's
``gcp`` auth provider, when a token expires) signs with the connection's account, as
dagster-gcp's ``gcp_credentials`` does. A connection with none of
them keeps the Application Default Credentials, as the provider's hook does. What the helper does
not read (a key in Secret Manager, impersonation, anonymous access) fails the asset, naming it.
'''

from __future__ import annotations

from analysis.edits.scaffold.variables import Rendered

HELPER = "_airflow_google_connection"
DEFAULT = "google_cloud_default"
MODULES = ("contextlib", "os", "json", "tempfile", "urllib.parse")
DEFINITION = ('''\
@contextlib.contextmanager
def _airflow_google_connection(conn_id: str):
    """Application Default Credentials as Airflow's Google connection `conn_id` gives them, for
    this block: the connection read as Airflow reads it from the environment
    (AIRFLOW_CONN_<CONN_ID>, JSON or a URI); GOOGLE_APPLICATION_CREDENTIALS names its service
    account key (key_path, or keyfile_dict written to a file for the block) or its
    credential_config_file, and GOOGLE_CLOUD_PROJECT its project (else the key's), as dagster-gcp's
    gcp_credentials does; none of them: Application Default Credentials as they are, as Airflow's
    hook takes them. Both variables are restored after. The clients ask for the cloud-platform
    scope (the connection's `scope` is not read)."""
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

    def field(name):
        return extra.get(name) or extra.get(f"extra__google_cloud_platform__{name}")

    for name in ("key_secret_name", "impersonation_chain", "is_anonymous", "idp_issuer_url"):
        if field(name) not in (None, "", False, "false", "False"):
            raise RuntimeError(f"Google connection {conn_id} sets {name}, which the scaffold does not "
                               "read: give it a key (key_path, keyfile_dict) or Application Default Credentials")
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
            if keyfile:  # as Airflow reads it: escaped newlines made newlines
                content["private_key"] = content["private_key"].replace("\\\\n", "\\n")
            credentials = os.path.join(folder, "credentials.json")
            with open(os.open(credentials, os.O_WRONLY | os.O_CREAT, 0o600), "w", encoding="utf-8") as file:
                json.dump(content, file)
        project = field("project")
        if not project and (key_path or keyfile):  # Airflow's project then: the key's
            with open(credentials, encoding="utf-8") as file:
                project = json.load(file).get("project_id")
        changes = {"GOOGLE_APPLICATION_CREDENTIALS": credentials, "GOOGLE_CLOUD_PROJECT": project}
        saved = {name: os.environ.get(name) for name in changes}
        try:
            os.environ.update({name: str(value) for name, value in changes.items() if value})
            yield
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


def about(connection: str) -> str:
    """How the asset's docstring names the credentials it runs with."""
    if connection == DEFAULT:
        return "the Application Default Credentials where Dagster runs (what Cloud Composer's google_cloud_default is)"
    return (f"the credentials of Airflow connection `{connection}` (AIRFLOW_CONN_{connection.upper()} where "
            "Dagster runs, read as Airflow reads it: its key_path, keyfile_dict or credential_config_file; "
            "none of them: Application Default Credentials)")
