"""The run's dates, scaffolded and run for real: the daily `dated` DAG of
tests/fixtures/scaffold/dates reads `{{ ds }}`, `{{ ts }}`, `{{ ds_nodash }}` and
`{{ ts_nodash_with_tz }}` (with an Airflow Variable) in a BashOperator's command, takes `ds` and
`ts_nodash` as a callable's parameters and `ds`, `ts` as a `@task`'s (with `{{ ds_nodash }}` in its
argument). Each task, scaffolded with the CLI, becomes an asset partitioned as the DAG is
scheduled; Airflow 2.11 runs the tasks in the run of 2024-01-03 (`airflow tasks test ... 2024-01-03`)
and Dagster materializes partition 2024-01-03: they must write the same files. dagster-airlift's
own code maps that logical date to that partition, on both sides: its proxy operator (Airflow's
venv) and its sensor (Dagster's).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import airflow2_python
from tests.support.scaffold_runs import (
    airflow_tasks_test,
    dagster_python,
    materialize,
    runs_by_asset,
    scaffolded_project,
)

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "scaffold" / "dates"
TASKS = {"stamp": "stamp", "export": "orders_export", "summary": "summary"}
DAG_TASKS = {"dated": list(TASKS)}
FILES = ("stamp.txt", "orders_2024-01-03.txt", "summary_20240103.json")
VARIABLES = {"AIRFLOW_VAR_GREETING": "hello"}

PARTITIONS = """
import json, sys, warnings
warnings.simplefilter("ignore")
sys.path.insert(0, sys.argv[2])
from datetime import datetime, timezone
from pathlib import Path
from dagster_load import fake_airflow, load
from dagster_airlift.core.sensor.event_translation import get_partition_key_from_timestamp

fake_airflow({"dated": ["stamp", "export", "summary"]})
definitions = load(Path(sys.argv[1]))
found = {}
for key in ("stamp", "orders_export", "summary"):
    partitions = definitions.resolve_assets_def(key).partitions_def
    logical_date = datetime(2024, 1, 3, tzinfo=timezone.utc)
    found[key] = {"fmt": partitions.fmt, "keys": partitions.get_partition_keys(current_time=datetime(2024, 1, 10)),
                  "sensor": get_partition_key_from_timestamp(partitions, logical_date.timestamp())}
print(json.dumps(found))
"""

PROXY = """
import json, sys
from datetime import datetime, timezone
from dagster_airlift.in_airflow.partition_utils import (
    PartitionDefinitionType, PartitioningInformation, TimeWindowPartitioningInformation,
    translate_logical_date_to_partition_key)

found = json.loads(sys.argv[1])
print(json.dumps({key: translate_logical_date_to_partition_key(
    datetime(2024, 1, 3, tzinfo=timezone.utc),
    PartitioningInformation(PartitionDefinitionType.TIME_WINDOW, value["keys"],
                            TimeWindowPartitioningInformation(value["fmt"]))) for key, value in found.items()}))
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    return scaffolded_project(tmp_path_factory.mktemp("dates"), FIXTURES / "dated_dag.py", FIXTURES / "dates_module.py",
                              "dated", TASKS)


@pytest.fixture(scope="module")
def dagster_runs(project: Path) -> dict[str, dict]:
    (project / "dagster_out").mkdir()
    return runs_by_asset(materialize(project / "definitions.py", DAG_TASKS, TASKS.values(), cwd=project,
                                     partition="2024-01-03",
                                     env={**VARIABLES, "OUT_DIR": str(project / "dagster_out")}))


@pytest.fixture(scope="module")
def airflow_runs(project: Path) -> dict[str, str]:
    (project / "airflow_out").mkdir()
    return airflow_tasks_test(project / "dags", "dated", TASKS, home=project / "airflow_home", cwd=project,
                              env={**VARIABLES, "OUT_DIR": str(project / "airflow_out")}, logical_date="2024-01-03")


def test_each_asset_is_partitioned_as_the_dag_is_scheduled(project):
    module = (project / "definitions.py").read_text()
    assert module.count('cron_schedule="0 0 * * *",') == 3 and module.count('start="2024-01-01",') == 3
    assert module.count("end_offset=1,") == 3
    assert 'export(table="orders", ds=airflow_dates["ds"], ts_nodash=airflow_dates["ts_nodash"])' in module


@pytest.mark.parametrize("key", TASKS.values())
def test_a_task_reading_the_runs_dates_materializes_its_partition(key, dagster_runs):
    run = dagster_runs[key]
    assert run["success"], "\n".join(run["errors"])
    assert run["materialized"] == [key]


def test_dagster_writes_what_airflow_writes_for_the_same_day(project, dagster_runs, airflow_runs):
    for name in FILES:
        written = (project / "dagster_out" / name).read_bytes()
        assert written == (project / "airflow_out" / name).read_bytes(), name
    assert (project / "dagster_out" / "stamp.txt").read_text() == \
        "hello 2024-01-03 2024-01-03T00:00:00+00:00 20240103 20240103T000000+0000\n"


def test_dagster_airlift_maps_the_runs_logical_date_to_that_partition(project):
    """Its proxy (which partition a proxied task's run materializes) and its sensor (in which
    partition an Airflow run of the task is recorded): both 2024-01-03 for the run of 2024-01-03."""
    partitions = subprocess.run([dagster_python(), "-c", PARTITIONS, str(project / "definitions.py"),
                                 str(REPO / "tests" / "support")], capture_output=True, text=True,
                                timeout=300, cwd=project, check=True)
    found = json.loads(partitions.stdout)
    assert {key: value["sensor"] for key, value in found.items()} == dict.fromkeys(TASKS.values(), "2024-01-03")
    proxy = subprocess.run([airflow2_python(), "-c", PROXY, json.dumps(found)], capture_output=True, text=True,
                           timeout=300, check=True)
    assert json.loads(proxy.stdout) == dict.fromkeys(TASKS.values(), "2024-01-03")


def test_another_day_writes_that_days_files(project, dagster_runs, tmp_path):
    """The comparison can fail: partition 2024-01-04 writes the 4th's file, not the 3rd's."""
    materialize(project / "definitions.py", DAG_TASKS, ["orders_export"], cwd=tmp_path, partition="2024-01-04",
                env={"OUT_DIR": str(tmp_path)})
    assert (tmp_path / "orders_2024-01-04.txt").read_text() == "orders 2024-01-04 20240104T000000\n"
    assert not (tmp_path / "orders_2024-01-03.txt").exists()
