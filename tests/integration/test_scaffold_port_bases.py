"""A team's own operator classes, run as the Airflow operators they derive from by the team's choice
(``AIRFLOW_OPERATOR_PORTS = {"TeamPod": "KubernetesPodOperator", ...}``), for real: the classes of
tests/fixtures/scaffold/port_bases/team_ops change how their base runs in Airflow (a metered
`execute`, a pod's callbacks and life), so no scaffold is theirs until the team chooses; then each
task, scaffolded with the CLI as a user runs it, materializes in real Dagster.

- The metered Bash task writes the same report as Airflow 2.11 running the class (``airflow tasks
  test``); only the class's own count of runs stays in Airflow, as the asset's docstring says.
- The pod: Airflow 2.11 with the cncf.kubernetes provider 10.x (``make airflow2-cncf``) loads the
  DAG file with its DagBag (and a serialization round trip) and builds the task's pod with the
  class itself (tests/support/dagbag_pod.py); dagster-k8s builds the scaffold's pod with its own
  ``build_pod_body`` (tests/support/record_pipes.py; no cluster here). The container's image,
  command, args, environment, pull and termination-message policies, the namespace and the team's
  labels are the same; the callbacks class stays in Airflow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.support.scaffold_runs import airflow_tasks_test, materialize, runs_by_asset

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold" / "port_bases"
AIRFLOW = {"metered": ["write_report"], "team_pods": ["transform"]}


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The DAGs folder (with the team_ops library) and the Dagster module, each task scaffolded by the CLI."""
    root = tmp_path_factory.mktemp("port_bases")
    (root / "dags").mkdir()
    for name in ("metered_dag.py", "pods_dag.py"):
        shutil.copy(FIXTURES / name, root / "dags" / name)
    shutil.copytree(FIXTURES / "team_ops", root / "dags" / "team_ops")
    module = (FIXTURES / "port_bases_module.py").read_text()
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\n')
    # without the team's choice, the classes are their own: refused, saying what they change
    (root / "definitions.py").write_text(module.replace("AIRFLOW_OPERATOR_PORTS = {", "UNCHOSEN = {"))
    refused = run_cli("scaffold", "team_pods", "transform", cwd=root)
    assert refused.returncode == 1 and "`TeamPod` defines `get_or_create_pod`" in refused.stderr, refused.stderr
    (root / "definitions.py").write_text(module)
    for dag_id, (task_id,) in AIRFLOW.items():
        result = run_cli("scaffold", dag_id, task_id, cwd=root)
        assert result.returncode == 0, result.stderr
    for side in ("airflow", "dagster"):
        (root / side / "out").mkdir(parents=True)
    return root


@pytest.fixture(scope="module")
def dagster(project: Path) -> dict:
    return materialize(project / "definitions.py", AIRFLOW, ["report", "transformed"], cwd=project / "dagster",
                       record_pipes=True, env={"OUT_DIR": str(project / "dagster" / "out"),
                                               "METRICS_DIR": str(project / "dagster")})


def test_the_metered_task_writes_what_airflow_writes_and_leaves_its_count_there(project: Path, dagster: dict):
    runs = runs_by_asset(dagster)
    assert runs["report"]["success"], runs["report"]["errors"]
    airflow_tasks_test(project / "dags", "metered", ["write_report"], home=project / "airflow_home",
                       cwd=project / "airflow", env={"OUT_DIR": str(project / "airflow" / "out"),
                                                     "METRICS_DIR": str(project / "airflow")})
    written = (project / "dagster" / "out" / "report.txt").read_bytes()
    assert written == (project / "airflow" / "out" / "report.txt").read_bytes() == b"report for eu-west-1\n"
    assert (project / "airflow" / "runs.txt").read_text() == "write_report\n"
    assert not (project / "dagster" / "runs.txt").exists()  # the class's own execute stays in Airflow
    text = " ".join((project / "definitions.py").read_text().split())
    assert "What the class changes stays in Airflow and is not carried: `MeteredBashOperator` defines `execute`." in text


def airflow_pod(project: Path, dag_id: str, task_id: str) -> dict:
    python = os.environ.get("AIRFLOW2_CNCF_PYTHON") or str(REPO / ".cache" / "airflow2-cncf" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"the provider's venv is missing at {python}: run `make airflow2-cncf` (make test does it)")
    result = subprocess.run([python, "-W", "ignore", str(REPO / "tests" / "support" / "dagbag_pod.py"),
                             str(project / "dags"), dag_id, task_id], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "AIRFLOW_HOME": str(project / "airflow_cncf_home"),
                                 "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                                 "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags")})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_pod_is_the_one_the_class_builds_in_airflow(project: Path, dagster: dict):
    runs = runs_by_asset(dagster)
    assert runs["transformed"]["success"], runs["transformed"]["errors"]
    [call] = [c for c in dagster["pipes_calls"] if c["assets"] == ["transformed"]]
    airflow = airflow_pod(project, "team_pods", "transform")
    assert (airflow["operator"], airflow["callbacks"]) == ("TeamPod", ["EvictableCallbacks"])
    ours, theirs = call["pod"]["spec"]["containers"][0], airflow["pod"]["spec"]["containers"][0]
    for field in ("image", "command", "args", "env", "imagePullPolicy", "terminationMessagePolicy"):
        assert ours.get(field) == theirs.get(field), field
    assert theirs["terminationMessagePolicy"] == "FallbackToLogsOnError"  # the class's default
    assert call["arguments"]["namespace"] == airflow["pod"]["metadata"]["namespace"] == "data"
    assert call["pod"]["metadata"]["labels"]["team"] == airflow["pod"]["metadata"]["labels"]["team"] == "data"
    text = " ".join((project / "definitions.py").read_text().split())
    assert "`TeamPod` hands `callbacks` on." in text and "EvictableCallbacks" not in text
