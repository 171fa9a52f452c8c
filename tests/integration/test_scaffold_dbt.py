"""dbt scaffolds run for real: the dbt tasks of tests/fixtures/scaffold/dbt_dag.py (a
``BashOperator`` running ``dbt run --select +customer_totals``, a ``@task.bash`` returning ``cd
<project> && dbt build --select big_orders --vars ...``) on the DuckDB project
tests/fixtures/scaffold/dbt/jaffle, scaffolded into dagster-dbt ``@dbt_assets``, materialize in
real Dagster (the dbt venv, ``make dagster-dbt``) and Airflow 2.11 runs the same tasks
(``airflow tasks test``, dbt on its PATH from the dbt venv); each writes its own DuckDB file
(``DBT_DUCKDB_PATH``, which the project's profiles.yml reads), and both must hold the same rows.

Dagster runs first, on a project without a manifest: the generated module parses it when it
loads (``_airflow_dbt_project``), as it does on a fresh checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import airflow2_python, dagbag_of, run_cli
from tests.support.scaffold_fixture import mapped, scaffold_every_task
from tests.support.scaffold_runs import airflow_tasks_test, materialize, runs_by_asset

REPO = Path(__file__).resolve().parents[2]
DAGSTER_LOAD = REPO / "tests" / "support" / "dagster_load.py"
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
TASKS = {"build_orders": "raw_orders,orders,customer_totals", "big_orders": "big_orders"}
TABLES = {"orders": "id", "customer_totals": "customer", "big_orders": "id"}


def selected(selection: str, project: Path) -> str:
    return f'dbt resources selected by "{selection}" in {project / "jaffle"}'


def dbt_python() -> str:
    python = os.environ.get("DAGSTER_DBT_PYTHON") or str(REPO / ".cache" / "dagster-dbt" / "bin" / "python")
    if not Path(python).exists():
        pytest.fail(f"dbt venv missing at {python}: run `make dagster-dbt` (make test does it)")
    return os.path.abspath(python)


def dbt_env(database: Path) -> dict[str, str]:
    """dbt on PATH (the dbt venv's bin, as Airflow workers have it) and the DuckDB file to write."""
    return {"PATH": f"{Path(dbt_python()).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "DBT_DUCKDB_PATH": str(database)}


def rows(database: Path) -> dict[str, list]:
    script = ("import duckdb, json, sys; db = duckdb.connect(sys.argv[1], read_only=True); "
              "print(json.dumps({t: db.execute(f'SELECT * FROM {t} ORDER BY {o}').fetchall() "
              "for t, o in json.loads(sys.argv[2]).items()}, default=float))")
    result = subprocess.run([dbt_python(), "-c", script, str(database), json.dumps(TABLES)],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    """The dbt project, the DAG folder naming it, and the Dagster module, every task scaffolded."""
    root = tmp_path_factory.mktemp("dbt")
    shutil.copytree(FIXTURES / "dbt" / "jaffle", root / "jaffle")
    dags = root / "airflow_dags"
    dags.mkdir()
    dag = (FIXTURES / "dbt_dag.py").read_text().replace("__DBT_PROJECT__", str(root / "jaffle"))
    (dags / "dbt_dag.py").write_text(dag)
    module = root / "dagster_defs" / "definitions.py"
    module.parent.mkdir()
    module.write_text(scaffold_every_task(dags / "dbt_dag.py", "dbt", TASKS, (FIXTURES / "dbt_module.py").read_text(),
                                          module))
    return root


@pytest.fixture(scope="module")
def runs(project: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """Dagster's runs (on a project with no manifest yet), then Airflow's logs of the same tasks."""
    assert not (project / "jaffle" / "target" / "manifest.json").exists()
    dagster = runs_by_asset(materialize(project / "dagster_defs" / "definitions.py", {"dbt": list(TASKS)},
                                        TASKS.values(), cwd=project, python=dbt_python(),
                                        env=dbt_env(project / "dagster.duckdb")))
    airflow = airflow_tasks_test(project / "airflow_dags", "dbt", TASKS, home=project / "airflow_home",
                                 cwd=project, env=dbt_env(project / "airflow.duckdb"))
    return dagster, airflow


def test_the_mapping_holds_the_dbt_assets_definitions(project):
    text = (project / "dagster_defs" / "definitions.py").read_text()
    # the keys are dbt's, known when the module loads (the runs below check them), not statically
    # dbt's keys are known when Dagster loads the manifest (the runs below check them); the
    # static model describes each entry by its selection and project
    assert mapped(text) == [("dbt", "build_orders", [selected("resource_type:model,+customer_totals", project)]),
                            ("dbt", "big_orders", [selected("big_orders", project)])]
    assert "dbt__build_orders = dg.with_resources([dbt__build_orders], {\"dbt_jaffle\": DBT_CLI_JAFFLE})[0]" in text
    assert 'select="resource_type:model,+customer_totals"' in text
    assert '.cli(["build", "--vars", "{minimum: 5}"], context=context)' in text


@pytest.mark.parametrize("task_id", list(TASKS))
def test_a_dbt_asset_materializes_the_models_dbt_selects(task_id, runs):
    run = runs[0][TASKS[task_id]]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == sorted(TASKS[task_id].split(","))


def test_the_databases_hold_the_same_rows(project, runs):
    expected = {"orders": [[1, "ada", 10.5], [2, "bob", 7.0], [4, "cy", 4.25]],
                "customer_totals": [["ada", 10.5, 1], ["bob", 7.0, 1], ["cy", 4.25, 1]],
                "big_orders": [[1, 10.5], [2, 7.0]]}
    assert rows(project / "airflow.duckdb") == expected
    assert rows(project / "dagster.duckdb") == expected


def test_the_scaffolded_task_is_mapped_and_proxied_and_airlift_loads_both(project, runs, tmp_path):
    """After the scaffold, ``status --json`` shows the task mapped (to the description: dbt's keys
    are only known at load) and ``proxy`` writes ``proxied: true``; dagster-airlift's own loader
    reads the state, and the module loads with the task mapped to dbt's keys. In a copy: the
    Airflow runs above use the DAG unproxied. The manifest is there since the Dagster run."""
    root = tmp_path / "copy"
    shutil.copytree(project, root, ignore=shutil.ignore_patterns("*.duckdb*", "airflow_home", "logs", "storage"))
    # the DAG and module name the project by its path: point them at the copy's
    for path in (root / "airflow_dags" / "dbt_dag.py", root / "dagster_defs" / "definitions.py"):
        path.write_text(path.read_text().replace(str(project / "jaffle"), str(root / "jaffle")))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "DAGSTER_"))}
    status = run_cli("status", "--json", cwd=root, env=env)
    assert status.returncode == 0, status.stderr
    tasks = {t["task_id"]: t for dag in json.loads(status.stdout)["dags"] if dag["dag_id"] == "dbt" for t in dag["tasks"]}
    assert tasks["build_orders"]["assets"] == [selected("resource_type:model,+customer_totals", root)]
    assert tasks["build_orders"]["proxied"] is False

    proxy = run_cli("proxy", "dbt", "build_orders", cwd=root, env=env)
    assert proxy.returncode == 0, proxy.stderr
    assert "AssetSpecs only" not in proxy.stdout + proxy.stderr
    state = (root / "airflow_dags" / "proxied_state" / "dbt.yaml").read_text()
    assert "  - id: build_orders\n    proxied: true\n" in state, state
    check = run_cli("check", cwd=root, env=env)
    assert not {"unmapped-task", "proxied-without-asset", "no-scaffold"} & set(check.stdout.split()), check.stdout

    bag = dagbag_of(airflow2_python(), root / "airflow_dags")  # airlift's own loader reads the state
    assert bag["import_errors"] == {} and bag["serialization_errors"] == {}
    assert bag["states"]["proxied_state"]["dbt"]["tasks"]["build_orders"] is True
    assert bag["dags"]["dbt"]["classes"]["build_orders"] == "DefaultProxyTaskToDagsterOperator"
    definitions = subprocess.run([dbt_python(), str(DAGSTER_LOAD), str(root / "dagster_defs" / "definitions.py"),
                                  "--airflow", json.dumps({"dbt": list(TASKS)})],
                                 capture_output=True, text=True, timeout=120, check=False, cwd=root,
                                 env={**os.environ, **dbt_env(root / "load.duckdb")})
    assert definitions.returncode == 0, definitions.stderr[-3000:]
    by_task = {}
    for asset in json.loads(definitions.stdout)["assets"]:
        for handle in asset["airlift"].get("dagster-airlift/task-mapping", []):
            by_task.setdefault(handle["task_id"], []).append("/".join(asset["key"]))
    assert sorted(by_task.get("build_orders", [])) == sorted(TASKS["build_orders"].split(",")), definitions.stdout[-3000:]
