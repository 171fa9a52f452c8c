"""The plan of a task that runs a container: ``DockerOperator`` (the Docker provider) and
``KubernetesPodOperator`` (the cncf.kubernetes provider), scaffolded as a run of
``dagster_docker.PipesDockerClient`` / ``dagster_k8s.PipesK8sClient`` with the same image,
command, environment and what else of the pod or container can be read.

Values must be static: literals, names the file binds once, by ``NAME = <static>`` above the
task (at module level or in the DAG's block: ``IMAGE = "repo/app:1.2"``), f-strings and ``+``
of static strings; Kubernetes' ``V1ResourceRequirements(requests=..., limits=...)``
and ``V1EnvVar(name=..., value=...)`` are read as the dicts they stand for. Refused with the
reason: Jinja (but Airflow Variables in the operator's template fields, ``variables``), other
values, and the options that the Pipes clients do not carry per run or that would silently change
what runs (volumes, mounts, secrets, pod templates, other Docker daemons, a cluster's context). A
Docker registry connection (``docker_conn_id``) is carried as the run's registry login, read when
it runs; a pod's kube config file (``config_file``) as a client of its own for that file; the
pod's ``resources`` (the provider's dict before 4.0) and ``affinity`` as the provider reads them.
The options are those Airflow gives the operator: the ``default_args`` of the DAG, of the task
groups around the task and of the task, of the arguments the operator takes, then its call's.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from analysis.dags.k8s_secrets import K8sSecret
from analysis.edits.scaffold import plan_gke
from analysis.edits.scaffold.k8s_resources import (
    NOT_TEMPLATED_BEFORE_4,
    dropped_resources,
    old_resources,
    pod_resources,
    unread_fields,
)
from analysis.edits.scaffold.plan_common import Plan, operator_call_problem
from analysis.edits.scaffold.plan_options import operator_options, read_values
from analysis.edits.scaffold.plan_values import NOT_STATIC, static_value
from analysis.edits.scaffold.statements import DagFile
from analysis.facts import TaskFacts

CONTAINER_OPERATORS = {"DockerOperator": "docker", "KubernetesPodOperator": "k8s", "GKEStartPodOperator": "k8s"}
"""The container operators, to the Pipes client that runs them (``GKEStartPodOperator``: a
``KubernetesPodOperator`` in a GKE cluster, ``plan_gke``)."""


_DOCKER = {"image": "image", "command": "command", "environment": "env",
           "private_environment": "env", "entrypoint": "container_kwargs",
           "working_dir": "container_kwargs", "user": "container_kwargs",
           "network_mode": "container_kwargs", "mem_limit": "container_kwargs",
           "shm_size": "container_kwargs", "privileged": "container_kwargs",
           "hostname": "container_kwargs", "cpus": "container_kwargs", "auto_remove": None,
           "mount_tmp_dir": None, "tmp_dir": None, "xcom_all": None, "retrieve_output": None,
           "retrieve_output_path": None, "docker_url": "default", "api_version": None,
           "force_pull": None, "skip_on_exit_code": "refused", "docker_conn_id": "registry"}
"""DockerOperator's options, to where they go (None: nothing to carry; "default": only the
default is accepted)."""
_DOCKER_URLS = ("unix://var/run/docker.sock", "unix:///var/run/docker.sock")

_K8S = {"image": "image", "cmds": "command", "arguments": "args", "env_vars": "env",
        "namespace": "namespace", "container_resources": "resources", "labels": "meta",
        "annotations": "meta", "service_account_name": "spec", "node_selector": "spec",
        "image_pull_policy": "container", "name": None, "random_name_suffix": None,
        "get_logs": None, "log_events_on_failure": None, "startup_timeout_seconds": None,
        "is_delete_operator_pod": None, "on_finish_action": None, "reattach_on_restart": None,
        "in_cluster": None, "image_pull_secrets": "refused", "resources": "resources",
        "affinity": "spec", "config_file": "client", "secrets": "container",
        "termination_message_policy": "container"}
TEMPLATED = {"docker": frozenset({"image", "command", "environment"}),
             "k8s": frozenset({"image", "cmds", "arguments", "env_vars", "namespace", "container_resources",
                               "labels", "annotations", "node_selector"})}
"""Per client, the carried options that Airflow renders with Jinja (the operators'
``template_fields``): Airflow Variables there are rendered by the asset too (``variables``)."""
_PARAMETERS = {
    "docker": frozenset("""api_version auto_remove cap_add command container_name cpus device_requests dns
        dns_search docker_conn_id docker_url entrypoint env_file environment extra_hosts force_pull host_tmp_dir
        hostname image ipc_mode labels log_opts_max_file log_opts_max_size mem_limit mount_tmp_dir mounts
        network_mode port_bindings private_environment privileged retrieve_output retrieve_output_path shm_size
        skip_on_exit_code timeout tls_ca_cert tls_client_cert tls_client_key tls_hostname tls_ssl_version
        tls_verify tmp_dir tty ulimits user volumes working_dir xcom_all""".split()),
    "k8s": frozenset("""active_deadline_seconds affinity annotations arguments automount_service_account_token
        base_container_name base_container_status_polling_interval callbacks cluster_context cmds config_file
        configmaps container_logs container_name_log_prefix_enabled container_resources
        container_security_context deferrable dns_config dnspolicy durable env_from env_vars full_pod_spec
        get_logs host_aliases hostname hostnetwork image image_pull_policy image_pull_secrets in_cluster
        init_container_logs init_containers is_delete_operator_pod kubernetes_conn_id labels
        log_events_on_failure log_events_on_startup log_formatter log_pod_spec_on_failure logging_interval name
        namespace node_selector node_selectors on_finish_action on_kill_action pod_runtime_info_envs
        pod_template_dict pod_template_file poll_interval ports priority_class_name progress_callback
        random_name_suffix reattach_on_restart resources runtime_class_name schedule_timeout_seconds
        schedulername secrets security_context service_account_name skip_on_exit_code
        startup_check_interval_seconds startup_timeout_seconds subdomain termination_grace_period
        termination_message_policy tolerations trigger_kwargs volume_mounts volumes
        xcom_sidecar_container_security_context""".split()),
}
"""Per client, the arguments its operator takes beside every operator's (DockerOperator of the docker
provider 4.4 with 2.x's ``volumes``; KubernetesPodOperator of cncf.kubernetes 3.1 and 10.25): of a
``default_args``, Airflow gives an operator only these, and ignores the rest."""
_OPTIONS = {"DockerOperator": _DOCKER, "KubernetesPodOperator": _K8S, "GKEStartPodOperator": {**_K8S, **plan_gke.OPTIONS}}
"""Per container operator, its options to where they go."""
IGNORED = {operator: frozenset(k for k, v in options.items() if v is None) for operator, options in _OPTIONS.items()}


def container_parameters(operator: str) -> frozenset[str]:
    """What the container ``operator`` takes besides every operator's (a GKE pod's cluster too)."""
    client = CONTAINER_OPERATORS[operator]
    return _PARAMETERS[client] | (plan_gke.PARAMETERS if operator == "GKEStartPodOperator" else frozenset())
"""Per container operator, the options that change nothing the Pipes run is given (logs, names,
clean-up; ``in_cluster`` but beside a ``config_file``): their values need not be known."""


@dataclass(frozen=True, slots=True)
class ContainerPlan:
    """The Pipes client ("docker" or "k8s") and the keyword arguments of its ``run``."""

    client: str
    run: tuple[tuple[str, object], ...]
    kubeconfig: str | None = None
    """The kube config file the pod's cluster is read from (``config_file``), else the client's
    default."""
    gke: plan_gke.GkeCluster | None = None
    """The GKE cluster of a ``GKEStartPodOperator``, reached when the asset runs."""
    dropped: dict | None = None
    """What Kubernetes dropped of the pod's ``container_resources`` (``dropped_resources``), said
    in the asset's docstring."""


def container_plan(dag: DagFile, task: TaskFacts, call: ast.Call) -> Plan | str:
    name = f"task `{task.task_id}`"
    client = CONTAINER_OPERATORS[task.operator]
    problem = operator_call_problem(dag, task, call)
    if problem:
        return problem
    known = _OPTIONS[task.operator]
    gke = task.operator == "GKEStartPodOperator"
    dag_unit = dag.unit_at(task.range.start.line + 1)
    given = operator_options(dag, dag_unit, call, name,
                             _PARAMETERS[client] | (plan_gke.PARAMETERS if gke else frozenset()), task)
    if isinstance(given, str):
        return given
    templated = TEMPLATED[client] | (plan_gke.TEMPLATED if gke else frozenset())
    if client == "k8s" and "resources" in given and old_resources(static_value(dag, given["resources"][0])):
        templated = templated - NOT_TEMPLATED_BEFORE_4  # the provider before 4.0: fewer template_fields
    def refused(option: str, where: str) -> str | None:
        if option not in known or known[option] == "refused":
            return f"{where} `{option}`, which the Pipes client does not carry: scaffold it by hand"
        return None

    def checked(option: str, value: object) -> str | None:
        named = _template_file(value) if client == "docker" and option in templated else None
        if named is not None:
            return f"the `{option}` of {name} names a file ({named!r}) that Airflow reads as a Jinja template"
        return None

    read = read_values(dag, dag_unit, call, name, given, templated=templated, ignored=IGNORED[task.operator],
                       refused=refused, checked=checked, rendered_elsewhere=("config_file",))  # the path is templated
    if isinstance(read, str):
        return read
    values, variables = read
    if not isinstance(values.get("image"), str):
        return f"{name} has no `image` written out"
    dropped = dropped_resources(values, name) if client == "k8s" else None
    if isinstance(dropped, str):
        return dropped
    run = _docker_run(values, name) if client == "docker" else _k8s_run(values, name)
    if isinstance(run, str):
        return run
    cluster = plan_gke.gke_cluster(values, name) if gke else None
    if isinstance(cluster, str):
        return cluster
    kubeconfig = None if gke else values.get("config_file")
    if kubeconfig is not None and not (isinstance(kubeconfig, str) and kubeconfig):
        return f"the `config_file` of {name} is not a path"
    in_cluster = static_value(dag, given["in_cluster"][0]) if kubeconfig is not None and "in_cluster" in given else None
    if in_cluster is NOT_STATIC or in_cluster:  # whether Airflow reads the file at all
        return (f"{name} sets both `in_cluster` and `config_file`: the provider refuses them together "
                "(from 4.0) or reads only the cluster Airflow runs in (before): scaffold it by hand")
    return Plan("Container", task.operator, (), None, frozenset(), False, frozenset(), {},
                frozenset(), container=ContainerPlan(client, tuple(run), kubeconfig, cluster, dropped),
                variables=variables)


def _docker_run(values: dict[str, object], name: str) -> list[tuple[str, object]] | str:
    url = values.pop("docker_url", None)
    if url is not None and url not in _DOCKER_URLS:
        return (f"{name} runs on the Docker daemon at {url!r}: PipesDockerClient uses the one "
                "DOCKER_HOST names; set it there and scaffold again without `docker_url`")
    run: list[tuple[str, object]] = [("image", values["image"])]
    command = values.get("command")
    if command is not None and not (isinstance(command, str) or (
            isinstance(command, list) and all(isinstance(c, str) for c in command))):
        return f"the `command` of {name} is neither a string nor a list of strings"
    if command is not None:
        run.append(("command", values["command"]))
    env = {}
    for option in ("environment", "private_environment"):
        if values.get(option) is not None and not isinstance(values[option], dict):
            return f"the `{option}` of {name} is not a dict"
        env.update(values.get(option) or {})
    if env:
        run.append(("env", env))
    container = {k: values[k] for k in ("entrypoint", "working_dir", "user", "network_mode",
                                         "mem_limit", "shm_size", "privileged", "hostname")
                 if values.get(k) is not None}
    cpus = values.get("cpus")
    if cpus is not None:  # as DockerOperator passes it to Docker
        if not isinstance(cpus, (int, float)) or isinstance(cpus, bool):
            return f"the `cpus` of {name} is not a number"
        container["cpu_shares"] = round(cpus * 1024)
    if container:
        run.append(("container_kwargs", container))
    registry = values.get("docker_conn_id")
    if registry is not None:  # the registry login, read from the connection when the asset runs
        if not isinstance(registry, str):
            return f"the `docker_conn_id` of {name} is not a string"
        run.append(("registry", registry))
    return run


def _k8s_run(values: dict[str, object], name: str) -> list[tuple[str, object]] | str:
    for option in ("cmds", "arguments"):
        if values.get(option) is not None and not (
                isinstance(values[option], list) and all(isinstance(v, str) for v in values[option])):
            return f"the `{option}` of {name} is not a list of strings"
    run: list[tuple[str, object]] = [("image", values["image"])]
    if values.get("cmds"):
        run.append(("command", list(values["cmds"])))
    if values.get("namespace") is not None:
        run.append(("namespace", values["namespace"]))
    env = values.get("env_vars")
    if env and not (isinstance(env, dict) or all(isinstance(e, tuple) for e in env)):
        return f"the `env_vars` of {name} is neither a dict nor a list of V1EnvVar"
    secrets = _secrets(values.get("secrets") or [], name)
    if isinstance(secrets, str):
        return secrets
    container, volumes = secrets
    if env and "env" in container:  # the pod's own first, then the secrets' (as the provider attaches them)
        container["env"] = [{"name": k, "value": v} for k, v in dict(env).items()] + container["env"]
    elif env:
        run.append(("env", dict(env)))
    if values.get("arguments"):  # the container's args: the image's entrypoint stays
        container["args"] = list(values["arguments"])
    resources = pod_resources(values, name)
    if isinstance(resources, str):
        return resources
    if resources:
        container["resources"] = resources
    if values.get("image_pull_policy"):
        container["image_pull_policy"] = values["image_pull_policy"]
    policy = values.get("termination_message_policy")
    if policy is not None and policy not in _TERMINATION_MESSAGE_POLICIES:
        return (f"the `termination_message_policy` of {name} is {policy!r}, not one of Kubernetes' "
                f"({', '.join(map(repr, _TERMINATION_MESSAGE_POLICIES))})")
    if policy is not None:  # what the pod's status says when it fails, as the provider sets it on the container
        container["termination_message_policy"] = policy
    affinity = values.get("affinity")
    unread = unread_fields(affinity, "Affinity") if affinity is not None else None
    if unread is not None:
        return (f"the `affinity` of {name} has {unread}: the provider drops what it does not read as "
                "Kubernetes' affinity, Dagster's client would not")
    meta = {k: values[k] for k in ("labels", "annotations") if values.get(k)}
    spec = {k: values[k] for k in ("service_account_name", "node_selector", "affinity") if values.get(k)}
    if volumes:
        spec["volumes"] = volumes
    if container:
        spec["containers"] = [container]
    if meta:
        run.append(("base_pod_meta", meta))
    if spec:
        run.append(("base_pod_spec", spec))
    return run


def _secrets(given: object, name: str) -> tuple[dict, list] | str:
    """The container's ``env`` (``value_from`` a secret's key), ``env_from`` (a whole secret) and
    ``volume_mounts``, and the pod's ``volumes``, as the provider's ``Secret.attach_to_pod`` adds
    them, in order; or why not. A volume is named ``secretvol<n>`` (the provider's is
    ``secretvol<uuid4>``, a name of its own each time)."""
    if not isinstance(given, list) or not all(isinstance(s, K8sSecret) for s in given):
        return f"the `secrets` of {name} are not a list of the provider's `Secret`s written out"
    container: dict[str, list] = {}
    volumes = []
    for index, secret in enumerate(given):
        if secret.deploy_type == "volume":
            volume = f"secretvol{index}"
            volumes.append({"name": volume, "secret": {"secret_name": secret.secret}})
            container.setdefault("volume_mounts", []).append(
                {"mount_path": secret.deploy_target, "name": volume, "read_only": True})
        elif secret.key is not None:
            container.setdefault("env", []).append({"name": secret.deploy_target, "value_from": {
                "secret_key_ref": {"name": secret.secret, "key": secret.key}}})
        else:
            container.setdefault("env_from", []).append({"secret_ref": {"name": secret.secret}})
    return container, volumes


_TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
"""Kubernetes' values of a container's ``terminationMessagePolicy``."""

_DOCKER_TEMPLATE_EXT = (".sh", ".bash", ".env")
"""DockerOperator's ``template_ext`` (KubernetesPodOperator has none)."""


def _template_file(value: object) -> str | None:
    """A string of ``value`` (in lists, tuples and dict values too) ending in DockerOperator's
    ``template_ext``: Airflow renders that file, not the string."""
    if isinstance(value, str):
        return value if value.endswith(_DOCKER_TEMPLATE_EXT) else None
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    return next((found for found in map(_template_file, items) if found is not None), None)
