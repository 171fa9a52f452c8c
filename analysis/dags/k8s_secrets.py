"""Kubernetes secrets given to a pod operator (``secrets=[Secret("env", "DB_HOST", "db", "host")]``):
the cncf.kubernetes provider's ``Secret`` (Airflow 2's ``airflow.kubernetes.secret`` before it)
read as the plain record it is, so that a scaffold can give the pod the same secret references.

``Secret(deploy_type, deploy_target, secret, key=None, items=None)`` as its constructor reads it:
``deploy_type`` "env" or "volume", an env target upper-cased, a ``key`` without a target refused.
"""

from __future__ import annotations

from dataclasses import dataclass

SECRET_CLASSES = frozenset({
    "airflow.providers.cncf.kubernetes.secret.Secret", "airflow.kubernetes.secret.Secret",
    "airflow.contrib.kubernetes.secret.Secret"})
"""The dotted paths of the provider's ``Secret`` and of Airflow's before it."""
WRITTEN = "__airlift_k8s_secret__"
"""How a secret is written out in a call made of evaluated values (``plan_evaluated``): a call of
this name, which no DAG file binds, read back by ``plan_values.static_value``."""
_PARAMETERS = ("deploy_type", "deploy_target", "secret", "key", "items")


@dataclass(frozen=True, slots=True)
class K8sSecret:
    """A secret reference: ``deploy_type`` "env" (``key`` None: every key, as ``envFrom``) or
    "volume" (mounted read-only at ``deploy_target``)."""

    deploy_type: str
    deploy_target: str | None
    secret: str
    key: str | None = None

    def __repr__(self) -> str:
        return f"{WRITTEN}({self.deploy_type!r}, {self.deploy_target!r}, {self.secret!r}, {self.key!r})"


def make_secret(args: list[object], kwargs: dict[str, object]) -> K8sSecret | str:
    """The secret ``Secret(*args, **kwargs)`` makes, from literal values; or why not (the
    provider raises, or a value is no string)."""
    if len(args) > len(_PARAMETERS) or set(kwargs) - set(_PARAMETERS) \
            or set(kwargs) & set(_PARAMETERS[:len(args)]):
        return "a `Secret` with arguments its constructor does not take"
    values = {**dict(zip(_PARAMETERS, args)), **kwargs}
    if values.get("items"):
        return "a `Secret` with `items` (keys projected to paths)"
    deploy_type, target, secret, key = (values.get(n) for n in _PARAMETERS[:4])
    if deploy_type not in ("env", "volume"):
        return f"a `Secret` whose deploy_type is {deploy_type!r}: the provider raises (env or volume)"
    if not isinstance(secret, str) or not secret or any(v is not None and not isinstance(v, str) for v in (target, key)):
        return "a `Secret` whose names are not strings"
    if key is not None and target is None:
        return "a `Secret` with a `key` and no `deploy_target`: the provider raises"
    if deploy_type == "volume" and not target:
        return "a volume `Secret` with no path to mount it at"
    return K8sSecret(deploy_type, target.upper() if deploy_type == "env" and target is not None else target, secret, key)
