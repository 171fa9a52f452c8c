"""The Pipes asset of a container task: ``DockerOperator`` through
``dagster_docker.PipesDockerClient``, ``KubernetesPodOperator`` through
``dagster_k8s.PipesK8sClient`` (dependencies of the generated code: ``dagster-docker`` and
``dagster-k8s`` of the Dagster release, 0.29 for Dagster 1.13).

The asset takes ``context`` and the client as a resource (``pipes_docker_client`` /
``pipes_k8s_client``), declared on the asset with ``resource_defs`` as the module-level
``PIPES_DOCKER_CLIENT`` / ``PIPES_K8S_CLIENT`` that every such asset shares (Dagster wants one
object per resource key; configure the Docker daemon, registry or kubeconfig there), or a pod's
client of its own kube config file (below). Its body
is one ``run`` with the task's image, command and environment:

- Docker: ``command``, ``environment`` and ``private_environment`` (as ``env``), the
  registry login of ``docker_conn_id`` (``registry``, read from ``AIRFLOW_CONN_<ID>`` as
  Airflow reads it from the environment, by ``_airflow_docker_registry``), and the
  container's ``entrypoint``, ``working_dir``, ``user``, ``network_mode``, ``mem_limit``,
  ``shm_size``, ``privileged``, ``hostname`` and ``cpus`` (as Airflow's ``cpu_shares``) in
  ``container_kwargs``;
- Kubernetes: ``cmds`` as the container's command, ``arguments`` as its args (through
  ``base_pod_spec``, so that an image's entrypoint stays when there are no ``cmds``),
  ``env_vars`` as ``env``, ``namespace``, ``container_resources`` (or the provider's
  ``resources`` before 4.0), ``image_pull_policy``, ``termination_message_policy``, ``service_account_name``, ``node_selector``,
  ``affinity``, ``labels`` and ``annotations``. A pod read from a kube config file
  (``config_file``) runs through a client of its own for that file (``PIPES_K8S_CLIENT_<FOLDER>_<FILE>``,
  resource ``pipes_k8s_client_<folder>_<file>``), so that pods of different clusters never share
  one; a client of that name the module has for another file is refused (``conflict``). A pod of
``GKEStartPodOperator`` runs in its GKE cluster as the provider reaches it when the task runs
(``plan_gke``): ``_airflow_gke_kubeconfig`` reads the cluster's endpoint and CA certificate from
the GKE API with Application Default Credentials and writes a kube config for this run only,
whose ``gcp`` auth provider makes the Kubernetes client sign each request with a fresh token of
the same credentials; the asset runs the pod with a ``PipesK8sClient`` of that file (the
generated code also needs ``google-auth``, which the Kubernetes client uses for it). A task on
another connection than ``google_cloud_default`` runs all of it inside
``_airflow_google_connection`` (``google_connection``): the same, with that connection's credentials.

The asset yields what the container reports through Pipes (when it uses dagster-pipes), else
each of its assets is materialized when the container exits with 0, as the Airflow task then
succeeds. What Airflow alone did is not carried: the XCom of the last log line (Docker) or of
the sidecar (Kubernetes), the temporary folder Docker mounts at ``tmp_dir``.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import libcst as cst
import libcst.matchers as m

from analysis.edits.layout import Group
from analysis.edits.scaffold import google_connection
from analysis.edits.scaffold.asset_commands import fresh, top_level_names
from analysis.edits.scaffold.asset_mapping import WHAT
from analysis.edits.scaffold.asset_pipes import literal_code, literal_doc
from analysis.edits.scaffold.plan import Plan

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit

_CLIENTS = {
    "docker": ("dagster_docker", "PipesDockerClient", "pipes_docker_client", "PIPES_DOCKER_CLIENT"),
    "k8s": ("dagster_k8s", "PipesK8sClient", "pipes_k8s_client", "PIPES_K8S_CLIENT"),
}
"""Per client: its module and class, the resource key, the module-level constant."""
CONSTANTS = tuple(c[3] for c in _CLIENTS.values())
REGISTRY_HELPER = "_airflow_docker_registry"
GKE_HELPER = "_airflow_gke_kubeconfig"
DEFINITIONS = {REGISTRY_HELPER: ('''\
def _airflow_docker_registry(conn_id: str) -> dict[str, str]:
    """The registry login of Airflow's Docker connection `conn_id` (its host, login and password),
    read as Airflow reads it from the environment: AIRFLOW_CONN_<CONN_ID>, a URI or JSON."""
    variable = f"AIRFLOW_CONN_{conn_id.upper()}"
    value = os.environ.get(variable)
    if not value:
        raise RuntimeError(f"{variable} is not set: give Docker connection {conn_id} there")
    if value.lstrip().startswith("{"):
        fields = json.loads(value)
        return {"url": fields.get("host", ""), "username": fields.get("login", ""),
                "password": fields.get("password", "")}
    uri = urllib.parse.urlsplit(value)
    return {"url": urllib.parse.unquote(uri.hostname or "") + (f":{uri.port}" if uri.port else ""),
            "username": urllib.parse.unquote(uri.username or ""),
            "password": urllib.parse.unquote(uri.password or "")}
''', ("os", "json", "urllib.parse")),
    GKE_HELPER: ('''\
@contextlib.contextmanager
def _airflow_gke_kubeconfig(project_id: str, location: str, cluster_name: str,
                            endpoint: str = "public"):
    """A kube config for GKE cluster `cluster_name` of `project_id` at `location`, for this run, as
    Airflow's GKEStartPodOperator reaches it: its endpoint ("public"; "internal" for use_internal_ip,
    "dns" for use_dns_endpoint) and CA certificate read from the GKE API with Application Default
    Credentials, which the Kubernetes client's `gcp` auth provider also signs each request with
    (a fresh token when one expires). Yields the file's path; deleted after."""
    credentials, _ = google.auth.default(scopes=["https://www.googleapis.com/auth/cloud-platform"])
    session = google.auth.transport.requests.AuthorizedSession(credentials)
    name = f"projects/{project_id}/locations/{location}/clusters/{cluster_name}"
    response = session.get(f"https://container.googleapis.com/v1/{name}", timeout=60)
    if not response.ok:
        raise RuntimeError(f"GKE cluster {name}: {response.status_code} {response.text[:300]}")
    cluster = response.json()
    if endpoint == "dns":
        dns = cluster["controlPlaneEndpointsConfig"]["dnsEndpointConfig"]["endpoint"]
        server = {"server": f"https://{dns}"}
    else:
        host = cluster["privateClusterConfig"]["privateEndpoint"] if endpoint == "internal" else cluster["endpoint"]
        server = {"server": f"https://{host}",
                  "certificate-authority-data": cluster["masterAuth"]["clusterCaCertificate"]}
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "gke",
              "clusters": [{"name": "gke", "cluster": server}],
              "users": [{"name": "gke", "user": {"auth-provider": {"name": "gcp"}}}],
              "contexts": [{"name": "gke", "context": {"cluster": "gke", "user": "gke"}}]}
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "kubeconfig")
        with open(path, "w", encoding="utf-8") as file:
            json.dump(config, file)
        yield path
''', ("contextlib", "os", "json", "tempfile", "google.auth.transport.requests"))}


def owns(name: str) -> bool:
    """Whether ``name`` is one of the module-level definitions this family adds."""
    return name in DEFINITIONS or name in CONSTANTS or name.startswith(_CLIENTS["k8s"][3] + "_")


def problem(plan: Plan) -> str | None:
    return None


def conflict(edit: ModuleEdit, plan: Plan) -> str | None:
    """Why the module's client named for this task's kube config does not fit it (written for
    another file whose last folder and name read the same, or changed by hand), or None."""
    kubeconfig = plan.container.kubeconfig
    if plan.container.gke is not None:
        return None  # a client of its own, made in the asset for each run
    name = _client(plan)[3]
    existing = next((s for s in edit.module.body if isinstance(s, cst.SimpleStatementLine)
                     and name in top_level_names(cst.Module(body=[s]))), None)
    if existing is None or kubeconfig is None:
        return None  # the default client: configured where the module's team wants it
    given = [k.value.evaluated_value for k in m.findall(existing, m.Arg())
             if k.keyword is not None and k.keyword.value == "kubeconfig_file" and isinstance(k.value, cst.SimpleString)]
    if given != [kubeconfig]:
        return (f"{WHAT}'s `{name}` is not the client of the kube config {kubeconfig!r} that the task "
                "reads: scaffold it by hand")
    return None


def _client(plan: Plan) -> tuple[str, str, str, str]:
    """The client's module and class, resource key and module-level constant: per kube config
    file (named by its folder and its name), so that pods of different clusters never share one."""
    module, cls, key, constant_name = _CLIENTS[plan.container.client]
    kubeconfig = plan.container.kubeconfig
    if kubeconfig is None:
        return module, cls, key, constant_name
    parts = [p for p in PurePosixPath(kubeconfig.replace("\\", "/")).parts if p not in ("/", "~", ".", "..")]
    stem = re.sub(r"[^0-9A-Za-z]+", "_", "_".join(parts[-2:])).strip("_").lower() or "kubeconfig"
    return module, cls, f"{key}_{stem}", f"{constant_name}_{stem.upper()}"


def helpers(plan: Plan) -> list[str]:
    if plan.container.gke is not None:
        return [*google_connection.helpers(plan.container.gke.connection), GKE_HELPER]
    registry = [REGISTRY_HELPER] if any(k == "registry" for k, _ in plan.container.run) else []
    return [*registry, _client(plan)[3]]


def about(where: str, plan: Plan) -> str:
    runs = "a container" if plan.container.client == "docker" else "a pod"
    text = (f"Scaffolded by airlift-lsp from {where} ({plan.label}): the same image, command and "
            f"environment, run as {runs} through Dagster Pipes.")
    if plan.container.dropped:
        text += (f" Its `container_resources` {plan.container.dropped!r} are not fields of Kubernetes' resource "
                 "requirements (`requests`, `limits`): the Kubernetes API dropped them, so the pod ran without "
                 "them, as it does here; give it `requests` and `limits` if it needs them.")
    gke = plan.container.gke
    if gke is not None:
        endpoint = {"public": "", "internal": ", reached at its internal IP", "dns": ", reached at its DNS endpoint"}[gke.endpoint]
        text += (f" The pod runs in GKE cluster `{gke.cluster_name}` of project `{gke.project_id}` at "
                 f"`{gke.location}`{endpoint}, read when the asset runs with {google_connection.about(gke.connection)}: "
                 "give those the task's access to the cluster.")
    if plan.container.kubeconfig is not None:
        text += (f" The pod runs in the cluster of the kube config {plan.container.kubeconfig}, read "
                 "where Dagster runs as the task read it where Airflow ran: put that cluster's kube "
                 "config there.")
    return text


def signature(edit: ModuleEdit, plan: Plan) -> str:
    if plan.container.gke is not None:
        return f"(context: {edit.dagster_name('AssetExecutionContext')})"
    module, cls, key, _ = _client(plan)
    return f"(context: {edit.dagster_name('AssetExecutionContext')}, {key}: {edit.imported_name(module, cls)})"


def decorator_options(edit: ModuleEdit, plan: Plan) -> tuple[str, ...]:
    if plan.container.gke is not None:
        return ()
    _, _, key, constant_name = _client(plan)
    return (f"resource_defs={{{edit.literal(key)}: {constant_name}}}",)


def constant(edit: ModuleEdit, name: str, plan: Plan) -> str:
    module, cls, _, _ = _client(plan)
    kubeconfig = plan.container.kubeconfig
    client = f"{edit.imported_name(module, cls)}()"
    if kubeconfig is not None:  # on a line of its own: a path makes it long
        configured = f"{edit.imported_name(module, cls)}(kubeconfig_file={edit.literal(kubeconfig)})"
        client = f"{edit.newline}{edit.unit}{configured},{edit.newline}"
    return f"{name} = {edit.dagster_name('ResourceDefinition')}.hardcoded_resource({client}){edit.newline}"


def tail(edit: ModuleEdit, plan: Plan, places=None) -> list[str]:
    module, cls, key, _ = _client(plan)
    options = ("context=context", *(
        f"registry={REGISTRY_HELPER}({edit.literal(v)})" if k == "registry"
        else literal_doc(edit, v, f"{k}=") for k, v in plan.container.run))
    gke = plan.container.gke
    if gke is None:
        return [edit.render(Group(f"yield from {key}.run(", options, ").get_results()"), len(edit.unit))]
    name = fresh("kubeconfig", plan.mentioned)
    cluster = [literal_code(edit, v) for v in (gke.project_id, gke.location, gke.cluster_name)]
    cluster += [] if gke.endpoint == "public" else [edit.literal(gke.endpoint)]
    client = f"{edit.imported_name(module, cls)}(kubeconfig_file={name})"
    opened = google_connection.block(edit, gke.connection)
    lines = [f"with {opened}:"] if opened else []
    depth = len(lines) + 1
    outer = edit.unit * (depth - 1)
    kubeconfig = Group(f"with {GKE_HELPER}(", tuple(cluster), f") as {name}:")
    return [*lines, outer + edit.render(kubeconfig, depth * len(edit.unit)),
            outer + edit.unit + edit.render(Group(f"yield from {client}.run(", options, ").get_results()"),
                                            (depth + 1) * len(edit.unit))]
