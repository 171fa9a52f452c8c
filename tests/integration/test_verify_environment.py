"""``verify`` loads the project as the deployment does: the Airflow probe puts the configured
``importRoots`` on ``sys.path`` and sets the ``environment`` setting's variables, so a DAG file
that imports from a library folder and reads ``os.environ`` loads in the real Airflow 3.3.2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.project import Layout, discover
from server.verify.engine import airflow_request
from tests.conftest import airflow3_python, run_cli

pytestmark = [pytest.mark.airflow, pytest.mark.slow]

DAG = '''\
import os
from datetime import datetime

from airflow import DAG
from airflow.operators.empty import EmptyOperator

from naming.ids import task_name

with DAG(dag_id="report_" + os.environ["ENV"], start_date=datetime(2024, 1, 1), schedule=None):
    EmptyOperator(task_id=task_name("extract")) >> EmptyOperator(task_id=task_name("load"))
'''

NAMING = '''\
import os


def task_name(step):
    return f"{step}_{os.environ['ENV']}"
'''


def workspace(root: Path) -> Path:
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "report.py").write_text(DAG)
    (root / "lib" / "naming").mkdir(parents=True)
    (root / "lib" / "naming" / "__init__.py").write_text("")
    (root / "lib" / "naming" / "ids.py").write_text(NAMING)
    (root / "pyproject.toml").write_text('[tool.airlift-lsp]\ndagFolders = ["dags"]\nimportRoots = ["lib"]\n'
                                         'environment = { ENV = "prod" }\n')
    return root


def test_the_airflow_request_carries_the_import_roots_and_the_environment(tmp_path: Path) -> None:
    root = workspace(tmp_path / "w")
    layout = Layout(str(root), ("dags",), None, ("lib",), (("ENV", "prod"),))
    request = airflow_request(discover(layout))
    assert request["sys_path"] == [str(root / "dags"), str(root / "lib"), str(root)]
    assert request["environment"] == {"ENV": "prod"}


def test_verify_loads_a_project_that_needs_its_import_roots_and_environment(tmp_path: Path) -> None:
    root = workspace(tmp_path / "w")
    result = run_cli("verify", "--airflow-python", airflow3_python(), "--json", cwd=root)
    assert result.returncode == 0, (result.stdout, result.stderr)
    report = json.loads(result.stdout)
    assert report["findings"] == []
    assert report["summary"]["dags"] == 1 and report["summary"]["import_errors"] == 0
    dags = json.loads(run_cli("dags", "dags", "--json", cwd=root).stdout)["files"][0]["dags"]
    assert [(d["dag_id"], [t["task_id"] for t in d["tasks"]]) for d in dags] == \
        [("report_prod", ["extract_prod", "load_prod"])]
