"""``dags`` and ``status`` with a peered Airflow (a local fake, tests/support/fake_airflow.py):
the deployed DAGs the static model cannot read whole join the output (``"source": "airflow"``);
an Airflow that cannot be read leaves the static part, with one line on stderr."""

# ruff: noqa: F811
from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import run_cli
from tests.support.fake_airflow import FakeAirflow

# The fixtures of the client's tests (pytest finds them by name here; ruff sees redefinitions).
from tests.unit.test_deployed_peering import bounded, deploy, fake, workspace  # noqa: F401


def cli_env(fake: FakeAirflow | None, url: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update({"AIRFLOW_URL": url or fake.url, "AIRFLOW_USERNAME": "admin",
                "AIRFLOW_PASSWORD": fake.password if fake else "x", "AIRLIFT_LSP_CACHE": "off"})
    return env


def test_dags_json_adds_the_deployed_dags(fake: FakeAirflow, workspace: Path) -> None:
    deploy(fake)
    result = run_cli("dags", "dags", "--json", cwd=workspace, env=cli_env(fake))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    files = {f["path"]: f for f in json.loads(result.stdout)["files"]}
    [vendor] = files["dags/vendor/orders.py"]["dags"]
    assert vendor["source"] == "airflow" and vendor["dag_id"] == "vendor_orders"
    assert [(t["task_id"], t["upstream"]) for t in vendor["tasks"]] == [("extract", []), ("load", ["extract"])]
    assert [d["source"] for d in files["dags/plain.py"]["dags"]] == ["static"]

    human = run_cli("dags", "dags", cwd=workspace, env=cli_env(fake))
    assert "vendor_orders  2 tasks (from Airflow)" in human.stdout, human.stdout


def test_dags_json_without_a_reachable_airflow_is_the_static_model(workspace: Path) -> None:
    result = run_cli("dags", "dags", "--json", cwd=workspace, env=cli_env(None, "http://127.0.0.1:9"))
    assert result.returncode == 0
    files = {f["path"]: [d["dag_id"] for d in f["dags"]] for f in json.loads(result.stdout)["files"]}
    assert files == {"dags/plain.py": ["plain"], "dags/vendor/orders.py": []}
    [line] = result.stderr.splitlines()
    assert line.startswith("airlift-lsp: Airflow DAGs left out: connection to Airflow at http://127.0.0.1:9")


def test_status_json_includes_the_deployed_dags(fake: FakeAirflow, workspace: Path) -> None:
    deploy(fake)
    fake.add_run("vendor_orders", "run_1", "success", {"extract": "success", "load": "success"})
    result = run_cli("status", "--json", cwd=workspace, env=cli_env(fake))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    vendor = next(d for d in data["dags"] if d["dag_id"] == "vendor_orders")
    assert vendor["file"] == "dags/vendor/orders.py" and vendor["last_run"]["state"] == "success"
    assert [t["task_id"] for t in vendor["tasks"]] == ["extract", "load"]
    assert data["airflow"]["reachable"] is True
