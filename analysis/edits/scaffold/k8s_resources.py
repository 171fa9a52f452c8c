"""A Kubernetes pod's resources and affinity as the cncf.kubernetes provider reads them, for the
pod scaffold (``plan_containers``): the provider's ``resources`` dict before 4.0, the keys
Kubernetes drops from ``container_resources``, and ``affinity`` checked field by field against
Kubernetes' ``V1Affinity`` (the provider drops what it does not read; Dagster's client would not).
"""

from __future__ import annotations


_OLD_RESOURCES = {"request_memory": ("requests", "memory"), "request_cpu": ("requests", "cpu"),
                  "request_ephemeral_storage": ("requests", "ephemeral-storage"),
                  "limit_memory": ("limits", "memory"), "limit_cpu": ("limits", "cpu"),
                  "limit_gpu": ("limits", "nvidia.com/gpu"),
                  "limit_ephemeral_storage": ("limits", "ephemeral-storage")}
"""The pod resources of the cncf.kubernetes provider before 4.0 (``resources={...}``, its
``Resources``): each key, to the part and name of Kubernetes' resource requirements."""
_OPERATOR_RESOURCES = frozenset({"cpus", "ram", "disk", "gpus"})
"""``resources`` from the provider's 4.0 on: the operator's own (Airflow's ``Resources``), which
no pod is given. Each version fails a dict of the other's keys, so the keys tell them apart."""
NOT_TEMPLATED_BEFORE_4 = frozenset({"annotations", "node_selector", "container_resources"})
"""Of ``TEMPLATED``, what the provider before 4.0 does not render (its ``template_fields``)."""
_AFFINITY = {
    "Affinity": {"nodeAffinity": "NodeAffinity", "podAffinity": "PodAffinity", "podAntiAffinity": "PodAntiAffinity"},
    "NodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": "[PreferredSchedulingTerm",
                     "requiredDuringSchedulingIgnoredDuringExecution": "NodeSelector"},
    "PreferredSchedulingTerm": {"preference": "NodeSelectorTerm", "weight": None},
    "NodeSelector": {"nodeSelectorTerms": "[NodeSelectorTerm"},
    "NodeSelectorTerm": {"matchExpressions": "[Requirement", "matchFields": "[Requirement"},
    "PodAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": "[WeightedPodAffinityTerm",
                    "requiredDuringSchedulingIgnoredDuringExecution": "[PodAffinityTerm"},
    "PodAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": "[WeightedPodAffinityTerm",
                        "requiredDuringSchedulingIgnoredDuringExecution": "[PodAffinityTerm"},
    "WeightedPodAffinityTerm": {"podAffinityTerm": "PodAffinityTerm", "weight": None},
    "PodAffinityTerm": {"labelSelector": "LabelSelector", "namespaceSelector": "LabelSelector",
                        "namespaces": None, "topologyKey": None},
    "LabelSelector": {"matchExpressions": "[Requirement", "matchLabels": None},
    "Requirement": {"key": None, "operator": None, "values": None},
}
"""Kubernetes' ``V1Affinity`` and what it holds, by the API's names (as the provider reads an
``affinity`` dict, dropping anything else, where dagster-k8s raises or reads Python's names too):
each field to its model, "[" for a list of them, None for a value."""


def unread_fields(value: object, model: str) -> str | None:
    """The first part of ``value`` (a ``model`` as a dict) the provider would not read, said as such;
    None when it reads every one."""
    if not isinstance(value, dict):
        return f"a value that is not a dict ({value!r})"
    fields = _AFFINITY[model]
    for key, item in value.items():
        if key not in fields:
            return f"`{key}`, which is not a field of Kubernetes' {model} by the API's names"
        child = fields[key]
        if child is None:
            continue
        if child.startswith("[") and not isinstance(item, list):
            return f"`{key}` that is not a list"
        for part in item if child.startswith("[") else [item]:
            unread = unread_fields(part, child.lstrip("["))
            if unread is not None:
                return unread
    return None


def dropped_resources(values: dict[str, object], name: str) -> dict | str | None:
    """What Kubernetes drops of a ``container_resources`` dict, taken out of it: the keys that are
    not fields of its resource requirements (gcp-public-datasets' ``{"memory": {"request": "16Gi"}}``).
    The provider from 5.0 sends the dict as written and the API server drops unknown fields, so the
    pod ran without them, as it runs without them in Dagster (whose client would raise on them);
    4.x read the dict as its ``Resources`` and failed the DAG on any other key. A dict of those
    keys (``request_memory``...) is refused: 4.x made them the pod's, later versions drop them."""
    given = values.get("container_resources")
    if not isinstance(given, dict):
        return None
    if set(given) & set(_OLD_RESOURCES):
        return (f"the `container_resources` of {name} uses the provider's own keys (`request_memory`...): the "
                "cncf.kubernetes provider 4.x made them the pod's resources, later versions send them as written "
                "and Kubernetes drops them: write them as `requests` and `limits`, or scaffold it by hand")
    unread = {k: v for k, v in given.items() if k not in ("requests", "limits", "claims")}
    if unread:
        values["container_resources"] = {k: v for k, v in given.items() if k not in unread} or None
    return unread or None


def old_resources(value: object) -> bool:
    """Whether ``resources`` is the pod's, as the provider before 4.0 took it: a dict of its keys."""
    return isinstance(value, dict) and bool(value) and set(value) <= set(_OLD_RESOURCES)


def pod_resources(values: dict[str, object], name: str) -> dict | str | None:
    """The container's resource requirements from ``container_resources`` (``V1ResourceRequirements``
    or its dict) or the provider's ``resources`` before 4.0 (a dict of its keys, or
    ``V1ResourceRequirements``), or why they cannot be carried."""
    old, new, given = values.get("resources"), values.get("container_resources"), "container_resources"
    if isinstance(old, dict) and old and set(old) <= _OPERATOR_RESOURCES:
        old = None  # the operator's own resources (4.0 on): not the pod's
    if old is not None and new is not None:
        return f"{name} gives both `resources` and `container_resources`: scaffold it by hand"
    if old is not None:
        given = "resources"
        if isinstance(old, dict) and set(old) <= {"requests", "limits"}:  # V1ResourceRequirements
            new = old
        elif old_resources(old):
            new = {}
            for key, value in old.items():
                if value:  # as the provider dropped unset ones
                    part, resource = _OLD_RESOURCES[key]
                    new.setdefault(part, {})[resource] = value
        else:
            return (f"the `resources` of {name} is neither the pod's (the provider's before 4.0: "
                    f"{', '.join(f'`{k}`' for k in _OLD_RESOURCES)}) nor the operator's (`cpus`, `ram`, "
                    "`disk`, `gpus`): scaffold it by hand")
    if isinstance(new, dict) and "claims" in new:
        return f"the `{given}` of {name} gives `claims` (resource claims of the pod): scaffold it by hand"
    if new is not None and not (isinstance(new, dict) and set(new) <= {"requests", "limits"} and all(
            isinstance(v, dict) and all(isinstance(q, (str, int, float)) and not isinstance(q, bool)
                                        for q in v.values()) for v in new.values())):
        return (f"the `{given}` of {name} is not Kubernetes' resource requirements (`requests` and "
                "`limits` of quantities): Kubernetes would not read it as the pod's resources")
    return new or None
