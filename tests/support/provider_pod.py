"""The pod the cncf.kubernetes provider builds for a task of a DAG file, as JSON on stdout:
run in an Airflow venv (``make airflow-cncf3``: the provider before 4.0, as Cloud Composer 1 ran it).

    python provider_pod.py DAG_FILE TASK_ID

Reads the ``KubernetesPodOperator(...)`` call whose ``task_id`` is TASK_ID (its keywords must be
literals or ``Secret(...)``s of literals), makes the operator with them and the DAG's literal
``default_args`` in the provider and prints ``{"pod": ..., "config_file":
...}``: the pod as the provider would send it to the cluster, and the kube config file it would
read. No cluster is reached. Python 3.9: no newer syntax here.
"""

import ast
import json
import sys
from pathlib import Path


def main() -> None:
    from airflow.providers.cncf.kubernetes.operators import kubernetes_pod
    from kubernetes.client import ApiClient

    path, task_id = sys.argv[1], sys.argv[2]
    calls = [node for node in ast.walk(ast.parse(Path(path).read_text())) if isinstance(node, ast.Call)
             and any(k.arg == "task_id" and isinstance(k.value, ast.Constant) and k.value.value == task_id
                     for k in node.keywords)]
    if len(calls) != 1:
        sys.exit(f"{len(calls)} calls make task {task_id} in {path}")
    defaults = _dag_defaults(path)
    given = {k.arg: _value(k.value) for k in calls[0].keywords}
    operator = kubernetes_pod.KubernetesPodOperator(**{**{k: v for k, v in defaults.items() if k not in given}, **given})
    pod = operator.build_pod_request_obj()
    print(json.dumps({"pod": ApiClient().sanitize_for_serialization(pod), "config_file": operator.config_file}))


def _value(node):
    """A literal, or a ``Secret(...)`` of literals (Airflow's, as the provider 3.1 takes it)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Secret":
        from airflow.kubernetes.secret import Secret

        return Secret(*[_value(a) for a in node.args], **{k.arg: _value(k.value) for k in node.keywords})
    if isinstance(node, (ast.List, ast.Tuple)):
        return [_value(e) for e in node.elts]
    return ast.literal_eval(node)


def _dag_defaults(path):
    """The ``default_args`` of the file's ``DAG(...)`` (a dict literal), as Airflow applies them."""
    for node in ast.walk(ast.parse(Path(path).read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "DAG":
            value = next((k.value for k in node.keywords if k.arg == "default_args"), None)
            if isinstance(value, ast.Dict):
                return {k.value: _value(v) for k, v in zip(value.keys, value.values)}
    return {}


if __name__ == "__main__":
    main()
