"""The static DAG model, on real DAG files, against what Airflow itself builds."""

from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.dags.modules import ProjectCode
from analysis.files import read_disk
from analysis.facts import Range
from tests.conftest import FIXTURES, TUTORIAL


def model(folder: Path) -> dict:
    """What the static model reads, with the folder as Airflow's DAG folder (on sys.path)."""
    code = ProjectCode([str(folder)], lambda p: read_disk(p).text)
    dags = {}
    for path in sorted(folder.glob("*.py")):
        for dag in extract_file(str(path), path.read_text(encoding="utf-8"), code).dags:
            dags[dag.dag_id] = {"file": path.name, "tasks": {t.task_id: list(t.upstream) for t in dag.tasks}}
    return dags


@pytest.mark.airflow
@pytest.mark.parametrize("folder", [FIXTURES / "dags", TUTORIAL / "airflow_dags", FIXTURES / "config_driven" / "dags"],
                         ids=["fixtures", "tutorial", "config-driven"])
def test_same_dags_tasks_and_edges_as_airflow_dagbag(folder: Path, dagbag) -> None:
    truth = dagbag(folder)
    assert truth["import_errors"] == {}
    assert model(folder) == {dag_id: {"file": d["file"], "tasks": d["tasks"]} for dag_id, d in truth["dags"].items()}


def facts_of(source: str, path: str = "dag.py"):
    return extract_file(path, source)


HEADER = (
    "from airflow.sdk import DAG, task\n"
    "from airflow.providers.standard.operators.empty import EmptyOperator\n"
)


def test_unresolvable_ids_are_dynamic_and_reported_never_guessed() -> None:
    facts = facts_of(HEADER + (
        "import os\n"
        "with DAG('d'):\n"
        "    EmptyOperator(task_id=f\"load_{os.environ['TABLE']}\")\n"
        "    EmptyOperator(task_id='fixed')\n"
    ))
    dag = facts.dags[0]
    assert [(t.task_id, t.dynamic) for t in dag.tasks] == [
        ("load_{os.environ['TABLE']}", True), ("fixed", False)]
    assert dag.dynamic
    assert [f.code for f in facts.findings] == ["dynamic-task-id"]


def test_loop_over_unknown_iterable_marks_tasks_dynamic() -> None:
    facts = facts_of(HEADER + (
        "from somewhere import TABLES\n"
        "with DAG('d'):\n"
        "    for t in TABLES:\n"
        "        EmptyOperator(task_id=f'load_{t}')\n"
    ))
    assert [(t.task_id, t.dynamic) for t in facts.dags[0].tasks] == [("load_{t}", True)]


def test_duplicate_operator_ids_are_an_error_with_the_first_place_related() -> None:
    facts = facts_of(HEADER + "with DAG('d'):\n    EmptyOperator(task_id='a')\n    EmptyOperator(task_id='a')\n")
    [finding] = facts.findings
    assert finding.code == "duplicate-task-id"
    assert finding.severity.value == "error"
    assert finding.range == Range.of(4, 26, 4, 29)
    assert finding.related[0].range == Range.of(3, 26, 3, 29)
    assert [t.task_id for t in facts.dags[0].tasks] == ["a"]


def test_syntax_error_is_one_finding_at_the_error_and_no_facts() -> None:
    facts = facts_of(HEADER + "with DAG('d'):\n    EmptyOperator(task_id='a'\n")
    assert facts.dags == ()
    [finding] = facts.findings
    assert finding.code == "syntax-error"
    assert finding.range.start.line == 3
    assert "invalid Python" in facts.error


def test_names_are_recognised_through_aliases_and_module_attributes() -> None:
    facts = facts_of(
        "import airflow.sdk as sdk\n"
        "from airflow import models as m\n"
        "from airflow.providers.standard.operators import empty\n"
        "with m.DAG(dag_id='one'):\n"
        "    empty.EmptyOperator(task_id='a')\n"
        "@sdk.dag\n"
        "def two():\n"
        "    @sdk.task.bash\n"
        "    def b():\n"
        "        return 'echo'\n"
        "    b()\n"
        "two()\n"
    )
    assert [(d.dag_id, [(t.task_id, t.operator) for t in d.tasks]) for d in facts.dags] == [
        ("one", [("a", "EmptyOperator")]), ("two", [("b", "@task.bash")])]


def test_a_local_function_named_like_airflow_is_not_airflow() -> None:
    facts = facts_of(
        "def DAG(name):\n    return name\n"
        "from airflow.providers.standard.operators.empty import EmptyOperator\n"
        "with DAG('x'):\n    EmptyOperator(task_id='a')\n"
    )
    assert facts.dags == ()


def test_unattached_operators_and_uncalled_dag_functions_make_nothing() -> None:
    facts = facts_of(HEADER + (
        "from airflow.sdk import dag\n"
        "orphan = EmptyOperator(task_id='orphan')\n"
        "@dag\n"
        "def never_called():\n"
        "    EmptyOperator(task_id='x')\n"
    ))
    assert facts.dags == ()


def test_mapped_tasks_are_flagged() -> None:
    path = FIXTURES / "dags" / "mapped_operators.py"
    dag = extract_file(str(path), path.read_text()).dags[0]
    assert {t.task_id: t.mapped for t in dag.tasks} == {
        "numbers": False, "echo": True, "per_item.add_one": True}


def test_taskflow_tasks_carry_their_definition_and_callable() -> None:
    path = TUTORIAL / "airflow_dags" / "daily_orders.py"
    dag = extract_file(str(path), path.read_text()).dags[0]
    notify = dag.task("notify_team")
    assert notify.operator == "@task"
    assert notify.callable_name == "notify"
    assert notify.definition_range is not None


def test_variable_names_that_differ_from_task_ids_are_kept() -> None:
    path = TUTORIAL / "airflow_dags" / "rebuild_customers_list.py"
    facts = extract_file(str(path), path.read_text())
    task = facts.dags[0].task("build_dbt_models")
    assert task.variable == "run_dbt_model"
    assert facts.dags[0].task("load_raw_customers").callable_name == "customers.load_raw_customers"


def test_guarded_hook_of_the_tutorial_is_found_switched_off() -> None:
    path = TUTORIAL / "airflow_dags" / "rebuild_customers_list.py"
    hook = extract_file(str(path), path.read_text()).proxying
    assert hook is not None
    assert (hook.guarded, hook.enabled, hook.is_last, hook.state_dir) == (True, False, True, "proxied_state")


@pytest.mark.parametrize("expression, expected", [
    ('Path(__file__).parent / "proxied_state"', "proxied_state"),
    ('Path(__file__).resolve().parent.parent / "state" / "prod"', "../state/prod"),
    ('os.path.join(os.path.dirname(__file__), "st")', "st"),
    ('STATE', "conf/state"),
    ('Path(os.environ["STATE"])', None),
])
def test_state_folder_is_resolved_from_the_hook_argument(expression: str, expected: str | None) -> None:
    facts = facts_of(HEADER + (
        "import os\nfrom pathlib import Path\n"
        "from dagster_airlift.in_airflow import proxying_to_dagster\n"
        "from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml\n"
        "STATE = Path(__file__).parent / 'conf' / 'state'\n"
        "with DAG('d'):\n    EmptyOperator(task_id='a')\n"
        f"proxying_to_dagster(global_vars=globals(), proxied_state=load_proxied_state_from_yaml({expression}))\n"
    ))
    assert facts.proxying.state_dir == expected


def test_hook_followed_by_task_creation_is_detected() -> None:
    facts = facts_of(HEADER + (
        "from dagster_airlift.in_airflow import proxying_to_dagster\n"
        "with DAG('d') as d:\n    EmptyOperator(task_id='a')\n"
        "proxying_to_dagster(global_vars=globals(), proxied_state=None)\n"
        "EmptyOperator(task_id='late', dag=d)\n"
    ))
    hook = facts.proxying
    assert (hook.is_last, hook.creates_after) == (False, True)
    assert hook.trailing_range.start.line == 6


def test_pathological_sources_never_raise() -> None:
    deep = "x = " + "(" * 400 + "1" + ")" * 400 + "\n"
    for source in [deep, "", "\x0c\n", "with DAG(:\n", "def f(:\n", "a = [" * 30 + "]" * 30,
                   HEADER + "with DAG('d'):\n    for i in range(10**9):\n        EmptyOperator(task_id=f't{i}')\n",
                   HEADER + "def f():\n    return f()\nwith DAG('d'):\n    f()\n"]:
        facts = facts_of(source)
        assert facts.path == "dag.py"


def test_constant_folding_never_builds_huge_values() -> None:
    source = HEADER + (
        'A = "a" * 10**9\nB = [0] * 10**10\nC = "%0999999999d" % 1\nD = f"{1:0999999999}"\n'
        'E = "{:0999999999}".format(1)\n'
        "with DAG('d'):\n    EmptyOperator(task_id=A)\n"
    )
    [task] = facts_of(source).dags[0].tasks
    assert task.dynamic
