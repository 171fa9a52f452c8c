'''The asset of a ``GKECreateClusterOperator`` or ``GKEDeleteClusterOperator`` task (``plan_gke``):
the same cluster created or deleted through google-cloud-container's ``ClusterManagerClient`` (a
dependency of the generated code, as it is the Google provider's), with Application Default
Credentials, what Cloud Composer's ``google_cloud_default`` is, or those of the task's
``gcp_conn_id`` (``google_connection``: the call made inside ``_airflow_google_connection``).

As the provider's ``GKEHook`` does: the body is read as the API's ``Cluster`` (``Cluster.from_json``,
so a field it does not know fails the asset as it fails the task), the operation is waited for
(every 15 s while pending or running), a cluster that already exists counts as created and one
already gone as deleted (also while its deletion is waited for). Two differences, said in the
docstring: the cluster does not get the
``airflow-version`` label the hook adds, and an operation that ends with an error fails the
asset (the hook reads only its status). The client speaks the API's REST transport, where a
cluster that exists is a 409 whose status says ``ALREADY_EXISTS`` (gRPC's ``AlreadyExists``).
'''

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.edits.layout import Group
from analysis.edits.scaffold import google_connection
from analysis.edits.scaffold.asset_commands import fresh
from analysis.edits.scaffold.asset_pipes import literal_code, literal_doc
from analysis.edits.scaffold.plan import Plan

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit

WAIT = "_airflow_gke_wait"
CREATE = "_airflow_gke_create_cluster"
DELETE = "_airflow_gke_delete_cluster"
CONSTANTS = ()
_MODULES = ("json", "time", "google.api_core.exceptions", "google.cloud.container_v1")
DEFINITIONS = {
    WAIT: ('''\
def _airflow_gke_wait(client, operation, project_id: str, location: str):
    """Wait for GKE operation `operation` as Airflow's GKEHook waits: polled every 15 s while it is
    pending or running. Raises when it ends otherwise, or done with an error (which the hook does
    not read). Returns it done."""
    status = google.cloud.container_v1.Operation.Status
    while operation.status != status.DONE:
        if operation.status not in (status.PENDING, status.RUNNING):
            ended = getattr(operation.status, "name", operation.status)  # a status newer than the client
            raise RuntimeError(f"GKE operation {operation.name} ended {ended}")
        time.sleep(15)
        name = f"projects/{project_id}/locations/{location}/operations/{operation.name}"
        operation = client.get_operation(name=name)
    if operation.error.message:
        raise RuntimeError(f"GKE operation {operation.name} failed: {operation.error.message}")
    return operation
''', _MODULES),
    CREATE: ('''\
def _airflow_gke_create_cluster(project_id: str, location: str, body: dict) -> str:
    """Create GKE cluster `body` (the API's Cluster, as a dict) in `project_id` at `location` and
    wait for it, as Airflow's GKECreateClusterOperator does, with Application Default Credentials.
    A cluster of that name already there is taken as created, as Airflow takes it. Returns the
    cluster's link."""
    client = google.cloud.container_v1.ClusterManagerClient(transport="rest")
    parent = f"projects/{project_id}/locations/{location}"
    cluster = google.cloud.container_v1.Cluster.from_json(json.dumps(body))
    try:
        operation = client.create_cluster(parent=parent, cluster=cluster)
    except google.api_core.exceptions.Conflict as error:  # REST's 409: ALREADY_EXISTS or ABORTED
        try:
            status = error.response.json()["error"]["status"]
        except (AttributeError, ValueError, TypeError, KeyError):
            status = None
        if status != "ALREADY_EXISTS":
            raise
        return client.get_cluster(name=f"{parent}/clusters/{cluster.name}").self_link
    return _airflow_gke_wait(client, operation, project_id, location).target_link
''', _MODULES),
    DELETE: ('''\
def _airflow_gke_delete_cluster(project_id: str, location: str, name: str) -> bool:
    """Delete GKE cluster `name` of `project_id` at `location` and wait for it, as Airflow's
    GKEDeleteClusterOperator does, with Application Default Credentials. A cluster already gone
    is taken as deleted, as Airflow takes it. Returns whether this run deleted it."""
    client = google.cloud.container_v1.ClusterManagerClient(transport="rest")
    try:
        operation = client.delete_cluster(name=f"projects/{project_id}/locations/{location}/clusters/{name}")
        _airflow_gke_wait(client, operation, project_id, location)
    except google.api_core.exceptions.NotFound:
        return False
    return True
''', _MODULES),
}


def owns(name: str) -> bool:
    return name in DEFINITIONS


def problem(plan: Plan) -> str | None:
    return None


def helpers(plan: Plan) -> list[str]:
    return [*google_connection.helpers(plan.gke_cluster.connection), WAIT, CREATE if plan.gke_cluster.action == "create" else DELETE]


def about(where: str, plan: Plan) -> str:
    change = plan.gke_cluster
    cluster = change.body["name"] if change.action == "create" else change.name
    done = "created from the same body" if change.action == "create" else "deleted"
    label = " (without the `airflow-version` label Airflow's hook adds)" if change.action == "create" else ""
    return (f"Scaffolded by airlift-lsp from {where} ({plan.label}): GKE cluster `{cluster}` of project "
            f"`{change.project_id}` at `{change.location}` {done}{label}, as the Google provider does, with "
            f"{google_connection.about(change.connection)}; an operation that ends with an error fails the asset.")


def signature(edit: ModuleEdit, plan: Plan) -> str:
    return f"(context: {edit.dagster_name('AssetExecutionContext')})"


def decorator_options(edit: ModuleEdit, plan: Plan) -> tuple[str, ...]:
    return ()


def tail(edit: ModuleEdit, plan: Plan, places=None) -> list[str]:
    change = plan.gke_cluster
    inner = 2 * len(edit.unit)
    key = fresh("key", plan.mentioned)
    where = [literal_code(edit, change.project_id), literal_code(edit, change.location)]
    if change.action == "create":
        result = fresh("cluster", plan.mentioned)
        call = Group(f"{result} = {CREATE}(", (*where, literal_doc(edit, change.body)), ")")
        metadata = f'metadata={{"cluster": {result}}}'
    else:
        result = fresh("deleted", plan.mentioned)
        call = Group(f"{result} = {DELETE}(", (*where, literal_code(edit, change.name)), ")")
        metadata = f'metadata={{"deleted": {result}}}'
    materialized = Group(f"yield {edit.dagster_name('MaterializeResult')}(", (f"asset_key={key}", metadata), ")")
    opened = google_connection.block(edit, change.connection)
    lines = [f"with {opened}:"] if opened else []
    outer = edit.unit * len(lines)  # the change made with the connection's credentials
    return [*lines, outer + edit.render(call, len(edit.unit) + len(outer)),
            f"for {key} in context.selected_asset_keys:",
            edit.unit + edit.render(materialized, inner)]
