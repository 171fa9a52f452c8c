"""The pod Airflow builds for a task of a DAGs folder, as JSON on stdout: run in an Airflow venv
with the cncf.kubernetes provider (``make airflow2-cncf``).

    python dagbag_pod.py DAGS_FOLDER DAG_ID TASK_ID

Loads the folder with Airflow's own DagBag (no import error allowed), round-trips the DAG through
Airflow's serialization, and prints ``{"pod": ..., "operator": ..., "callbacks": [...]}``: the pod
the task's operator builds (``build_pod_request_obj``), as the provider would send it to the
cluster, the operator's class and the names of its callbacks. No cluster is reached: the
provider reads a kube config to label the pod (``airflow_kpo_in_cluster``), so one naming an
unreachable server is given in ``KUBECONFIG``.
"""

import json
import os
import sys
import tempfile

_KUBECONFIG = {"apiVersion": "v1", "kind": "Config", "current-context": "none",
               "clusters": [{"name": "none", "cluster": {"server": "https://127.0.0.1:9"}}],
               "users": [{"name": "none", "user": {"token": "none"}}],
               "contexts": [{"name": "none", "context": {"cluster": "none", "user": "none"}}]}


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        os.environ["KUBECONFIG"] = os.path.join(folder, "config")  # read when the client is imported
        with open(os.environ["KUBECONFIG"], "w", encoding="utf-8") as file:
            json.dump(_KUBECONFIG, file)
        _print_pod()


def _print_pod() -> None:
    from airflow.models.dagbag import DagBag
    from airflow.serialization.serialized_objects import SerializedDAG
    from kubernetes.client import ApiClient

    folder, dag_id, task_id = sys.argv[1:4]
    bag = DagBag(folder, include_examples=False)
    if bag.import_errors:
        sys.exit(f"import errors: {bag.import_errors}")
    dag = bag.dags[dag_id]  # get_dag would ask the metadata database
    SerializedDAG.from_dict(SerializedDAG.to_dict(dag))
    task = dag.get_task(task_id)
    pod = task.build_pod_request_obj()
    callbacks = task.callbacks if isinstance(task.callbacks, list) else [task.callbacks] if task.callbacks else []
    print(json.dumps({"pod": ApiClient().sanitize_for_serialization(pod), "operator": type(task).__name__,
                      "callbacks": [c.__name__ for c in callbacks]}))


if __name__ == "__main__":
    main()
