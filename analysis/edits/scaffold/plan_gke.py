"""The cluster of a ``GKEStartPodOperator`` (the Google provider): a ``KubernetesPodOperator``
whose pod runs in the GKE cluster ``cluster_name`` of ``project_id`` at ``location``.

Airflow reaches that cluster when the task runs, not before: the provider reads the cluster's
endpoint and CA certificate from the GKE API (``projects.locations.clusters.get``) and signs every
request to it with the credentials of the Google connection (from 10.x; before, ``gcloud container
clusters get-credentials`` wrote the same into a kube config). Public DAGs create the cluster in
the same run (``GKECreateClusterOperator`` before the pods, ``GKEDeleteClusterOperator`` after),
so the scaffold does the same when the asset runs (``asset_containers``): it reads the cluster
with Application Default Credentials, what Cloud Composer's ``google_cloud_default`` connection is,
or with those of the task's ``gcp_conn_id`` as Airflow reads that connection from the environment
(``google_connection``).

Refused with the reason: a ``gcp_conn_id`` that is no string, impersonation
(``impersonation_chain``), no ``project_id`` (the provider takes the connection's project), a
``config_file`` (the provider raises) and ``in_cluster`` (before 10.x the pod then ran in the
cluster Airflow runs in, not in ``cluster_name``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from analysis.edits.scaffold.google_connection import DEFAULT as DEFAULT_CONNECTION
from analysis.edits.scaffold.google_connection import connection_problem
from analysis.edits.scaffold.plan_common import Plan, operator_call_problem
from analysis.edits.scaffold.plan_options import operator_options, read_values
from analysis.edits.scaffold.statements import DagFile
from analysis.facts import TaskFacts

OPTIONS = {"project_id": "gke", "location": "gke", "cluster_name": "gke", "use_internal_ip": "gke",
           "use_dns_endpoint": "gke", "gcp_conn_id": "gke", "impersonation_chain": "gke",
           "regional": None, "deferrable": None, "config_file": "gke", "in_cluster": "gke"}
"""GKEStartPodOperator's own options beside KubernetesPodOperator's, to where they go ("gke":
read here; None: nothing to carry: ``regional`` chose gcloud's ``--region`` over ``--zone``, and
the API takes either as the location)."""
TEMPLATED = frozenset({"project_id", "location", "cluster_name", "use_internal_ip", "use_dns_endpoint",
                       "gcp_conn_id", "impersonation_chain"})
"""Of those, what Airflow renders (the provider's ``template_fields``: up to 10.x the first three,
from 19.x all seven)."""
PARAMETERS = frozenset(OPTIONS) | {"on_finish_action", "is_delete_operator_pod"}
"""GKEStartPodOperator's arguments beside KubernetesPodOperator's (the Google provider 6.8 to 19.1)."""


@dataclass(frozen=True, slots=True)
class GkeCluster:
    """The cluster a pod runs in: its project, location and name (strings, or
    ``variables.Rendered`` ones that read Airflow Variables), and which of its endpoints the pod's
    client reaches."""

    project_id: str
    location: str
    cluster_name: str
    endpoint: str = "public"
    """"public" (``endpoint``), "internal" (``use_internal_ip``: the private endpoint) or "dns"
    (``use_dns_endpoint``)."""
    connection: str = DEFAULT_CONNECTION
    """The Airflow connection whose credentials reach it (``google_connection``)."""


def gke_cluster(values: dict[str, object], name: str) -> GkeCluster | str:
    """The cluster of ``values`` (the task's options as Airflow gives them, read), or why it is refused."""
    if values.get("config_file"):
        return f"{name} gives a `config_file`, which GKEStartPodOperator refuses: it reaches `cluster_name`'s"
    if values.get("in_cluster"):
        return (f"{name} sets `in_cluster`: with the Google provider before 10.0, the pod runs in the cluster "
                "Airflow runs in (or the provider refuses it), not in `cluster_name`: scaffold it by hand")
    credentials = connection_problem(values, name, "reaches the cluster")
    if credentials:
        return credentials
    for option in ("project_id", "location", "cluster_name"):
        value = values.get(option)
        if option == "project_id" and value is None:
            return (f"{name} has no `project_id`: the provider takes the project of connection "
                    f"`{values.get('gcp_conn_id', DEFAULT_CONNECTION)}`, which the scaffold cannot know: write it in the task")
        if not (isinstance(value, str) and value):
            return f"the `{option}` of {name} is not a string"
    endpoints = [e for e in ("use_internal_ip", "use_dns_endpoint") if values.get(e) not in (None, False)]
    for option in endpoints:
        if values[option] is not True:
            return f"the `{option}` of {name} is not True or False"
    if len(endpoints) > 1:
        return f"{name} sets both `use_internal_ip` and `use_dns_endpoint`: scaffold it by hand"
    endpoint = {"use_internal_ip": "internal", "use_dns_endpoint": "dns"}[endpoints[0]] if endpoints else "public"
    return GkeCluster(values["project_id"], values["location"], values["cluster_name"], endpoint,
                      values.get("gcp_conn_id", DEFAULT_CONNECTION))


CLUSTER_OPERATORS = {"GKECreateClusterOperator": "create", "GKEDeleteClusterOperator": "delete"}
"""The operators that create or delete a GKE cluster (public DAGs run their pods between the two)."""
_CLUSTER_OPTIONS = {"create": frozenset({"project_id", "location", "gcp_conn_id", "impersonation_chain", "body"}),
                    "delete": frozenset({"project_id", "location", "gcp_conn_id", "impersonation_chain", "name",
                                         "cluster_name"})}
"""Per action, the options read (``cluster_name``: 19.x's name of the cluster to delete)."""
_CLUSTER_IGNORED = frozenset({"api_version", "deferrable", "poll_interval", "use_internal_ip", "use_dns_endpoint"})
"""``api_version`` is passed to nothing (10.x); deferring and its polling change only how Airflow
waits; the endpoint options (19.x) only how it reaches a cluster, not how it creates or deletes one."""
CLUSTER_IGNORED = dict.fromkeys(CLUSTER_OPERATORS, _CLUSTER_IGNORED)
CLUSTER_PARAMETERS = frozenset().union(*_CLUSTER_OPTIONS.values()) | _CLUSTER_IGNORED
"""What the cluster operators take that their scaffold reads or knows it need not."""
CLUSTER_TEMPLATED = frozenset({"project_id", "gcp_conn_id", "location", "api_version", "body", "name",
                               "cluster_name", "impersonation_chain"})


@dataclass(frozen=True, slots=True)
class GkeClusterChange:
    """A cluster created from ``body`` (a ``Cluster`` as a dict) or deleted by ``name``, in
    ``project_id`` at ``location`` (strings, or ``variables.Rendered`` ones)."""

    action: str
    project_id: str
    location: str
    body: dict | None = None
    name: str | None = None
    connection: str = DEFAULT_CONNECTION
    """The Airflow connection whose credentials make the change (``google_connection``)."""


def cluster_plan(dag: DagFile, task: TaskFacts, call: ast.Call) -> Plan | str:
    """The plan of a GKECreateClusterOperator or GKEDeleteClusterOperator task, or why it is refused."""
    name = f"task `{task.task_id}`"
    problem = operator_call_problem(dag, task, call)
    if problem:
        return problem
    action = CLUSTER_OPERATORS[task.operator]
    dag_unit = dag.unit_at(task.range.start.line + 1)
    options = _CLUSTER_OPTIONS[action]
    given = operator_options(dag, dag_unit, call, name, options | _CLUSTER_IGNORED, task)
    if isinstance(given, str):
        return given
    read = read_values(dag, dag_unit, call, name, given, templated=CLUSTER_TEMPLATED, ignored=_CLUSTER_IGNORED,
                       refused=lambda option, where: None if option in options | _CLUSTER_IGNORED else
                       f"{where} `{option}`, which the scaffold does not carry (it reads {task.operator} as the "
                       "Google provider 10.x to 19.x has it): scaffold it by hand")
    if isinstance(read, str):
        return read
    change = cluster_change(action, read[0], name)
    if isinstance(change, str):
        return change
    return Plan("GKE cluster", task.operator, (), None, frozenset(), False, frozenset(), {}, frozenset(),
                gke_cluster=change, variables=read[1])


def cluster_change(action: str, values: dict[str, object], name: str) -> GkeClusterChange | str:
    """The change a GKECreateClusterOperator or GKEDeleteClusterOperator makes, or why it is refused
    (as the provider's own checks refuse it, or what the scaffold does not carry)."""
    if values.get("project_id") is None:
        return f"{name} has no `project_id`, which the Google provider 10.x asks of it: write it in the task"
    refused = connection_problem(values, name, "creates or deletes the cluster")
    if refused:
        return refused
    if not (isinstance(values.get("location"), str) and values["location"]):
        return f"the `location` of {name} is not a string"
    if action == "delete":
        if "name" in values and "cluster_name" in values:
            return f"{name} gives both `name` and `cluster_name` (19.x's): scaffold it by hand"
        cluster = values.get("name", values.get("cluster_name"))
        if not (isinstance(cluster, str) and cluster):
            return f"the `name` of {name} is not a string"
        return GkeClusterChange("delete", values["project_id"], values["location"], name=cluster,
                                connection=values.get("gcp_conn_id", DEFAULT_CONNECTION))
    body = values.get("body")
    if not isinstance(body, dict):
        return f"the `body` of {name} is not a dict (a `Cluster` as the GKE API takes it)"
    problem = _body_problem(body)
    if problem:
        return f"the `body` of {name} {problem}: the Google provider 10.x refuses it"
    return GkeClusterChange("create", values["project_id"], values["location"], body=body,
                            connection=values.get("gcp_conn_id", DEFAULT_CONNECTION))


def _body_problem(body: dict) -> str | None:
    """What GKECreateClusterOperator's own check of a body finds wrong (``_validate_input``)."""
    if not (isinstance(body.get("name"), str) and body["name"]):
        return "has no `name`"
    pools, nodes = body.get("node_pools"), body.get("initial_node_count") or body.get("node_config")
    if pools and nodes:
        return "gives `node_pools` with `initial_node_count` or `node_config`"
    if not pools and not nodes:
        return "gives none of `initial_node_count`, `node_config` and `node_pools`"
    return None
