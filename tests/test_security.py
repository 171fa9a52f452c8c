"""The workspace's code is read, never run; edits never write outside the workspace."""

import shutil
from pathlib import Path

from tests.conftest import TUTORIAL, run_cli

PAYLOAD = "import pathlib; pathlib.Path(__file__).with_name('EXECUTED_{}').write_text('x')\n"


def test_reading_checking_and_planning_never_execute_workspace_code(tmp_path: Path) -> None:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    dag = root / "airflow_dags" / "rebuild_customers_list.py"
    dag.write_text(PAYLOAD.format("dag") + dag.read_text())
    module = root / "tutorial_dagster" / "definitions.py"
    module.write_text(PAYLOAD.format("module") + module.read_text())
    for args in (["dags", "airflow_dags", "--json"], ["check"], ["map", "rebuild_customers_list", "export_customers"],
                 ["proxy", "rebuild_customers_list", "load_raw_customers"], ["rollback", "--all"]):
        result = run_cli(*args, cwd=root)
        assert result.returncode in (0, 1), result.stderr
    assert not list(root.rglob("EXECUTED_*"))


def test_a_state_folder_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "tutorial"
    shutil.copytree(TUTORIAL, root)
    dag = root / "airflow_dags" / "daily_orders.py"
    dag.write_text(dag.read_text() + (
        "\nfrom pathlib import Path\n"
        "from dagster_airlift.in_airflow import proxying_to_dagster\n"
        "from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml\n"
        "proxying_to_dagster(global_vars=globals(), proxied_state=load_proxied_state_from_yaml("
        "Path(__file__).parent / '..' / '..' / 'outside'))\n"))
    run_cli("map", "daily_orders", "notify_team", cwd=root)
    result = run_cli("proxy", "daily_orders", "notify_team", cwd=root)
    assert result.returncode == 1
    assert "outside the workspace" in result.stderr
    assert not (tmp_path / "outside").exists()


def test_dag_ids_that_would_escape_proxied_state_are_refused(tmp_path: Path) -> None:
    root = tmp_path / "w"
    (root / "dags").mkdir(parents=True)
    (root / "dags" / "evil.py").write_text(
        "from airflow.sdk import DAG\nfrom airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('../../escape') as d:\n    EmptyOperator(task_id='t')\n")
    for args in (["proxy", "../../escape"], ["rollback", "../../escape"], ["map", "../../escape", "t"]):
        result = run_cli(*args, cwd=root)
        assert result.returncode == 1 and "refusing DAG id" in result.stderr, result.stderr
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["evil.py"]
