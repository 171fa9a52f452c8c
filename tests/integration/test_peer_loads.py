"""The module ``airlift-lsp peer`` writes, loaded by real Dagster 1.13 + dagster-airlift 0.29.27
(``.cache/dagster``): against a real Airflow 2.11 with basic auth (webserver and scheduler on
127.0.0.1, tests/support/airflow2_server.py), where Dagster must list the Airflow DAGs as
assets, directly and through MWAA's web login (tests/support/fake_mwaa.py: AWS is not
reachable here); and, with dagster-airlift's own Airflow fake (tests/support/dagster_load.py),
a project's own module completed by peer.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.integration.test_generated_dagster_loads import dagster_python, load, task_assets
from tests.support.airflow2_server import Airflow2Server
from tests.support.airflow_server import time_limit
from tests.support.fake_mwaa import FakeMwaa

REPO = Path(__file__).resolve().parents[2]
DAGS = {
    "rebuild_customers_list.py": """
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.empty import EmptyOperator

        with DAG("rebuild_customers_list", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
            load = EmptyOperator(task_id="load_raw_customers")
            build = EmptyOperator(task_id="build_dbt_models")
            load >> build
        """,
    "daily_orders.py": """
        from datetime import datetime
        from airflow import DAG
        from airflow.operators.empty import EmptyOperator

        with DAG("daily_orders", schedule=None, start_date=datetime(2024, 1, 1), catchup=False):
            EmptyOperator(task_id="extract_orders")
        """,
}

# Imports the module as `dagster definitions validate` would, then prints what Dagster built.
LOAD_LIVE = """
import importlib.util, json, sys, warnings
warnings.simplefilter("ignore")
from dagster import Definitions
spec = importlib.util.spec_from_file_location("definitions", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
[defs] = [v for v in vars(module).values() if isinstance(v, Definitions)]
defs.get_repository_def()
print(json.dumps({"assets": sorted("/".join(s.key.path) for s in defs.resolve_all_asset_specs()),
                  "mapped": {"/".join(s.key.path): getattr(s.metadata["dagster-airlift/task-mapping"], "value",
                                     s.metadata["dagster-airlift/task-mapping"])
                             for s in defs.resolve_all_asset_specs()
                             if "dagster-airlift/task-mapping" in s.metadata}}, default=str))
"""


def write_dags(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in DAGS.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


def clean_env(**values: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DAGSTER"))}, **values}


@pytest.fixture(scope="module")
def airflow2(tmp_path_factory):
    folder = tmp_path_factory.mktemp("peer_airflow2_dags")
    write_dags(folder)
    server = Airflow2Server(folder)
    try:
        with time_limit(300, "starting Airflow 2"):
            server.start()
        server.wait_for_task_classes("rebuild_customers_list", dict.fromkeys(
            ("load_raw_customers", "build_dbt_models"), "EmptyOperator"), timeout=120)
        server.wait_for_task_classes("daily_orders", {"extract_orders": "EmptyOperator"}, timeout=120)
        yield server
    finally:
        server.stop()


def load_live(module: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([dagster_python(), "-c", LOAD_LIVE, str(module)], capture_output=True, text=True,
                          timeout=300, cwd=module.parent, env=env, check=False)


@pytest.mark.airflow
@pytest.mark.slow
def test_peer_then_map_loads_in_dagster_against_a_real_airflow_2(airflow2, tmp_path):
    workspace = tmp_path / "project"
    write_dags(workspace / "dags")
    (workspace / "pyproject.toml").write_text(textwrap.dedent(f"""\
        [tool.airlift-lsp]
        dagFolders = ["dags"]

        [tool.airlift-lsp.airflow]
        url = "{airflow2.url}"
        username = "{airflow2.username}"
        """), encoding="utf-8")
    peered = run_cli("peer", "--auth", "basic", cwd=workspace, env=clean_env())
    assert peered.returncode == 0, peered.stderr
    mapped = run_cli("map", "rebuild_customers_list", cwd=workspace, env=clean_env())
    assert mapped.returncode == 0, mapped.stderr
    module = workspace / "definitions.py"
    text = module.read_text(encoding="utf-8")
    assert 'password=os.environ["AIRFLOW_PASSWORD"],' in text and text.count("password") == 2  # + docstring

    # The URL and user are the module's defaults; the password only comes from the environment.
    result = load_live(module, clean_env(AIRFLOW_PASSWORD=airflow2.password, DAGSTER_HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr[-4000:]
    loaded = json.loads(result.stdout)
    assert {"airflow/dag/rebuild_customers_list", "airflow/dag/daily_orders"} <= set(loaded["assets"])
    assert loaded["mapped"] == {
        "rebuild_customers_list/load_raw_customers": [{"dag_id": "rebuild_customers_list",
                                                       "task_id": "load_raw_customers"}],
        "rebuild_customers_list/build_dbt_models": [{"dag_id": "rebuild_customers_list",
                                                     "task_id": "build_dbt_models"}],
    }

    missing = load_live(module, clean_env(DAGSTER_HOME=str(tmp_path)))
    assert missing.returncode != 0 and "KeyError: 'AIRFLOW_PASSWORD'" in missing.stderr

    wrong = load_live(module, clean_env(AIRFLOW_PASSWORD="not-the-password", DAGSTER_HOME=str(tmp_path)))
    assert wrong.returncode != 0 and "PermissionDenied" in wrong.stderr  # Airflow 2.11 answers a bad password so


@pytest.mark.airflow
@pytest.mark.slow
def test_peer_with_mwaa_loads_in_dagster_through_the_web_login(airflow2, tmp_path):
    mwaa = FakeMwaa(tmp_path, airflow2.url, airflow2.username, airflow2.password, "analytics-prod").start()
    try:
        workspace = tmp_path / "project"
        write_dags(workspace / "dags")
        (workspace / "pyproject.toml").write_text(textwrap.dedent("""\
            [tool.airlift-lsp.airflow]
            url = "https://0a1b2c3d-vpce.c2.eu-west-1.airflow.amazonaws.com"
            auth = "mwaa"
            """), encoding="utf-8")
        peered = run_cli("peer", cwd=workspace, env=clean_env())
        assert peered.returncode == 0, peered.stderr
        assert "(mwaa auth)" in peered.stderr
        mapped = run_cli("map", "daily_orders", cwd=workspace, env=clean_env())
        assert mapped.returncode == 0, mapped.stderr

        env = clean_env(PYTHONPATH=str(mwaa.boto3_stub()), REQUESTS_CA_BUNDLE=str(mwaa.certificate),
                        MWAA_ENV_NAME="analytics-prod", DAGSTER_HOME=str(tmp_path))
        result = load_live(workspace / "definitions.py", env)
        assert result.returncode == 0, result.stderr[-4000:]
        loaded = json.loads(result.stdout)
        assert {"airflow/dag/rebuild_customers_list", "airflow/dag/daily_orders"} <= set(loaded["assets"])
        assert loaded["mapped"] == {"daily_orders/extract_orders": [{"dag_id": "daily_orders",
                                                                     "task_id": "extract_orders"}]}
        # The region came from the URL, the environment from MWAA_ENV_NAME; the API went through the login.
        assert mwaa.token_requests[0] == {"name": "analytics-prod", "region": "eu-west-1"}
        assert mwaa.logins >= 1 and "/api/v1/dags" in mwaa.forwarded

        wrong = load_live(workspace / "definitions.py", {**env, "MWAA_ENV_NAME": "no-such-env"})
        assert wrong.returncode != 0 and "Environment no-such-env not found" in wrong.stderr
    finally:
        mwaa.stop()


@pytest.mark.airflow
@pytest.mark.slow
def test_airflow_3_is_refused_because_dagster_airlift_cannot_peer_with_it(airflow_server, tmp_path):
    """The refusal's reason, reproduced: the basic-auth module peer would write, loaded by real
    Dagster against the real Airflow 3.3.2, fails on /api/v1 (which Airflow 3 removed)."""
    workspace = tmp_path / "project"
    write_dags(workspace / "dags")
    env = clean_env(AIRFLOW_URL=airflow_server.url, AIRFLOW_USERNAME=airflow_server.username)
    refused = run_cli("peer", cwd=workspace, env=env)
    assert refused.returncode == 1 and not (workspace / "definitions.py").exists()
    assert refused.stderr.splitlines() == [(
        f"airlift-lsp: the Airflow at {airflow_server.url} is Airflow 3 (it serves /api/v2): dagster-airlift 0.29.27's "
        "AirflowInstance only calls /api/v1, which Airflow 3 removed, so Dagster could not load the module; peer "
        "with an Airflow 2 (or MWAA)")]

    from analysis.edits.peer_code import Peer, new_peer_module

    module = workspace / "definitions.py"
    module.write_text(new_peer_module(Peer(airflow_server.url, "basic", airflow_server.username)), encoding="utf-8")
    result = load_live(module, {**env, "AIRFLOW_PASSWORD": airflow_server.password, "DAGSTER_HOME": str(tmp_path)})
    assert result.returncode != 0, result.stdout
    assert "Failed to fetch DAGs. Status code: 404" in result.stderr
    assert "/api/v1 has been removed in Airflow 3" in result.stderr


@pytest.mark.slow
def test_a_projects_own_definitions_completed_by_peer_loads_in_dagster(tmp_path):
    workspace = tmp_path / "project"
    write_dags(workspace / "dags")
    (workspace / "definitions.py").write_text(textwrap.dedent('''\
        """Our Dagster code, before peering."""
        import dagster as dg
        from dagster_airlift.core import assets_with_task_mappings

        orders = assets_with_task_mappings(
            dag_id="daily_orders",
            task_mappings={"extract_orders": [dg.AssetSpec(key=["raw", "orders"])]},
        )
        '''), encoding="utf-8")
    peered = run_cli("peer", cwd=workspace, env=clean_env(AIRFLOW_URL="http://airflow.test:8080"))
    assert peered.returncode == 0, peered.stderr
    text = (workspace / "definitions.py").read_text(encoding="utf-8")
    loaded = load(tmp_path, text, {"daily_orders": ["extract_orders"],
                                   "rebuild_customers_list": ["load_raw_customers", "build_dbt_models"]},
                  env={"AIRFLOW_PASSWORD": "secret", "AIRFLOW_USERNAME": "ops"})
    assert loaded["instances"][0] == {"name": "airflow", "webserver_url": "http://airflow.test:8080"}
    assert task_assets(loaded) == {"raw/orders": ([{"dag_id": "daily_orders", "task_id": "extract_orders"}], [])}
    assert {"/".join(a["key"]) for a in loaded["assets"]} >= {"airflow/dag/daily_orders",
                                                              "airflow/dag/rebuild_customers_list"}
