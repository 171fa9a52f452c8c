"""The generated acceptance test: its text for the tutorial, its refusals, where it goes, and
that generating it twice changes nothing. That it runs, passes and fails in real Dagster is
tests/integration/test_acceptance_runs.py."""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import pytest

from analysis.edits.acceptance_test import acceptance_test, folder_variables
from analysis.edits.scaffold import ImportRoot, scaffold_task
from analysis.files import read_disk
from analysis.plans import Refused
from analysis.plans.acceptance import package_parent, plan_acceptance_test
from analysis.project import Layout, discover
from tests.support.scaffold_fixture import scaffold_every_task

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "examples" / "tutorial"
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
CUSTOMERS = "rebuild_customers_list"


def read(path: str) -> str | None:
    return read_disk(path).text if os.path.exists(path) else None


def tutorial(root: Path, scaffolded: tuple[str, ...]) -> Path:
    """The tutorial laid out in ``root``, every task mapped, ``scaffolded`` ones scaffolded."""
    shutil.copytree(TUTORIAL / "airflow_dags", root / "airflow_dags",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text((TUTORIAL / "pyproject.toml").read_text(encoding="utf-8"),
                                         encoding="utf-8")
    module = root / "tutorial_dagster" / "definitions.py"
    module.parent.mkdir()
    (module.parent / "__init__.py").write_text("", encoding="utf-8")
    module.write_text(scaffold_every_task(
        root / "airflow_dags" / f"{CUSTOMERS}.py", CUSTOMERS, scaffolded,
        (FIXTURES / "tutorial_all_mapped.py").read_text(encoding="utf-8"), module,
        import_roots=[ImportRoot.from_disk(str(root / "airflow_dags"))]), encoding="utf-8")
    return module


def plan(root: Path, task_id: str, dag_id: str = CUSTOMERS):
    layout = Layout(str(root), ("airflow_dags",), "tutorial_dagster/definitions.py")
    return plan_acceptance_test(discover(layout), read, dag_id, task_id)


def test_the_test_goes_in_tests_beside_the_dagster_package(tmp_path):
    module = tutorial(tmp_path, ("load_raw_customers",))
    assert package_parent(str(module)) == str(tmp_path)
    [change] = plan(tmp_path, "load_raw_customers").changes
    assert change.path == str(tmp_path / "tests" / f"test_acceptance_{CUSTOMERS}__load_raw_customers.py")
    assert change.old_text is None  # created


def test_the_generated_module_for_a_python_operator(tmp_path):
    tutorial(tmp_path, ("load_raw_customers",))
    text = plan(tmp_path, "load_raw_customers").changes[0].new_text
    tree = ast.parse(text)
    functions = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
    assert f"test_{CUSTOMERS}__load_raw_customers_does_what_the_airflow_task_did" in functions
    assert 'DAGSTER_MODULE = HERE / "../tutorial_dagster/definitions.py"' in text
    assert 'ASSET_KEYS = ["raw_data/raw_customers"]' in text
    # found in tutorial_shared/__init__.py, which the copied code imports
    assert 'FOLDER_VARIABLES = ["TUTORIAL_DATA_DIR"]' in text
    # the callable's value is returned (Airflow's XCom), the DAGs folder put on sys.path
    run = ast.get_source_segment(text, functions["run_airflow_task"])
    assert '_airflow_import_roots("../airflow_dags")' in run
    assert "return customers.load_raw_customers(" in run
    assert "_airflow_import_roots" in functions
    # no upstream task
    assert ast.get_source_segment(text, functions["run_upstream"]).rstrip().endswith("pass")
    docstring = ast.get_docstring(tree)
    assert "What it cannot compare" in docstring and "byte for byte" in docstring
    assert all(len(line) <= 99 for line in docstring.splitlines())


def test_upstream_tasks_run_first_in_dag_order(tmp_path):
    tutorial(tmp_path, ("load_raw_customers", "build_dbt_models", "export_customers"))
    text = plan(tmp_path, "export_customers").changes[0].new_text
    functions = {f.name: f for f in ast.parse(text).body if isinstance(f, ast.FunctionDef)}
    upstream = ast.get_source_segment(text, functions["run_upstream"])
    assert upstream.index("run_upstream_load_raw_customers()") < upstream.index("run_upstream_build_dbt_models()")
    bash = ast.get_source_segment(text, functions["run_upstream_build_dbt_models"])
    assert 'subprocess.run(["bash", "-c", bash_command], check=True, cwd=DAGS_FOLDER)' in bash
    assert "return" not in bash.split('"""')[-1]  # a bash command's output is not a return value
    assert "import subprocess" in text and "_airflow_dag_file" in functions


def test_generating_twice_changes_nothing(tmp_path):
    tutorial(tmp_path, ("load_raw_customers",))
    first = plan(tmp_path, "load_raw_customers")
    [change] = first.changes
    Path(change.path).parent.mkdir()
    Path(change.path).write_text(change.new_text, encoding="utf-8")
    again = plan(tmp_path, "load_raw_customers")
    assert again.empty and again.notes == (f"tests/{Path(change.path).name} exists already",)
    Path(change.path).write_text(change.new_text + "# mine\n", encoding="utf-8")
    edited = plan(tmp_path, "load_raw_customers")
    assert edited.empty and "delete it to generate it again" in edited.notes[0]
    assert Path(change.path).read_text(encoding="utf-8").endswith("# mine\n")


def test_a_task_mapped_to_specs_only_is_refused_scaffold_it_first(tmp_path):
    tutorial(tmp_path, ())
    with pytest.raises(Refused, match=r"AssetSpecs only.*scaffold it first") as refusal:
        plan(tmp_path, "load_raw_customers")
    assert "\n" not in str(refusal.value)


def test_an_unmapped_task_is_refused(tmp_path):
    module = tutorial(tmp_path, ())
    text = module.read_text(encoding="utf-8")
    mapping = '"export_customers": [AssetSpec(key="customers_export", deps=["customers"])],'
    assert mapping in text
    module.write_text(text.replace(mapping, ""), encoding="utf-8")
    with pytest.raises(Refused, match="not mapped to a Dagster asset"):
        plan(tmp_path, "export_customers")


def test_a_hand_written_asset_of_a_task_airflow_alone_can_run_is_refused():
    dag = ('from airflow import DAG\nfrom airflow.operators.python import PythonOperator\n\n'
           'def work(ti):\n    return 1\n\n'
           'with DAG(dag_id="d") as dag:\n    PythonOperator(task_id="t", python_callable=work)\n')
    module = ('from dagster import Definitions, asset\n'
              'from dagster_airlift.core import assets_with_task_mappings\n\n'
              '@asset\ndef mine():\n    return 1\n\n'
              'defs = Definitions(assets=assets_with_task_mappings(dag_id="d", task_mappings={"t": [mine]}))\n')
    result = acceptance_test(dag, "/p/dags/d.py", "d", "t", module, "/p/defs/definitions.py",
                             "/p/tests/test_acceptance_d__t.py")
    assert result.refused
    assert "cannot be run outside Airflow" in result.reason and "task context" in result.reason
    assert "\n" not in result.reason


def test_folder_variables_are_the_environment_reads_named_like_folders():
    code = ('import os\nfrom os import environ, getenv\n'
            'a = os.environ.get("DATA_DIR")\nb = os.getenv("OUT_FOLDER", "x")\nc = os.environ["WORK_DIRECTORY"]\n'
            'd = environ["API_KEY"]\ne = getenv("HOME")\nf = os.environ.get(name)\ng = os.getenv("CACHE_DIR")\n')
    assert folder_variables([code, "syntax error ("]) == ["CACHE_DIR", "DATA_DIR", "OUT_FOLDER", "WORK_DIRECTORY"]


def test_a_hand_written_asset_of_a_copyable_task_gets_its_test():
    dag = ('import os\nfrom airflow import DAG\nfrom airflow.operators.bash import BashOperator\n\n'
           'OUT = os.environ.get("REPORT_FOLDER", "/tmp")\n\n'
           'with DAG(dag_id="d") as dag:\n'
           '    BashOperator(task_id="t", bash_command=f"echo hi > {OUT}/hi.txt")\n')
    module = ('from dagster import Definitions, asset\n'
              'from dagster_airlift.core import assets_with_task_mappings\n\n'
              '@asset(key=["reports", "hi"])\ndef mine():\n    ...\n\n'
              'defs = Definitions(assets=assets_with_task_mappings(dag_id="d", task_mappings={"t": [mine]}))\n')
    result = acceptance_test(dag, "/p/dags/d.py", "d", "t", module, "/p/definitions.py",
                             "/p/tests/test_acceptance_d__t.py")
    assert result.changed, result.reason
    text = result.text
    assert 'ASSET_KEYS = ["reports/hi"]' in text and 'FOLDER_VARIABLES = ["REPORT_FOLDER"]' in text
    assert 'DAGSTER_MODULE = HERE / "../definitions.py"' in text
    assert "copied from\n    ../dags/d.py" in text or "copied from ../dags/d.py" in text
    assert "import subprocess" in text and "import tempfile" in text  # bash without cwd: a temporary folder
    assert "dagster_airlift.core" in text and "from dagster import" not in text


def test_a_task_scaffolded_as_a_pipes_run_is_refused_in_one_line():
    dag = ('from airflow import DAG\nfrom airflow.decorators import task\n\n'
           'with DAG(dag_id="d") as dag:\n    @task.virtualenv(requirements=[])\n'
           '    def t():\n        print(1)\n    t()\n')
    module = ('from dagster import AssetSpec, Definitions\n'
              'from dagster_airlift.core import assets_with_task_mappings\n\n'
              'defs = Definitions(assets=assets_with_task_mappings(dag_id="d", task_mappings={"t": [AssetSpec("k")]}))\n')
    scaffolded = scaffold_task(dag, "/p/dags/d.py", "d", "t", module, module_path="/p/definitions.py")
    assert scaffolded.changed, scaffolded.reason
    result = acceptance_test(dag, "/p/dags/d.py", "d", "t", scaffolded.text, "/p/definitions.py",
                             "/p/tests/test_acceptance_d__t.py")
    assert result.refused and "\n" not in result.reason
    assert "`@task.virtualenv` task is scaffolded as a Dagster run" in result.reason


@pytest.mark.parametrize("decorator", ["task.branch", "task.short_circuit"])
def test_a_branch_or_short_circuit_task_is_refused_its_choice_is_no_file(decorator):
    dag = ('from airflow import DAG\nfrom airflow.decorators import task\n'
           'from airflow.operators.empty import EmptyOperator\n\n'
           f'with DAG(dag_id="d") as dag:\n    @{decorator}\n'
           '    def t():\n        return "a"\n    t() >> EmptyOperator(task_id="a")\n')
    module = ('from dagster import AssetSpec, Definitions\n'
              'from dagster_airlift.core import assets_with_task_mappings\n\n'
              'defs = Definitions(assets=assets_with_task_mappings(dag_id="d", task_mappings={"t": [AssetSpec("k")]}))\n')
    scaffolded = scaffold_task(dag, "/p/dags/d.py", "d", "t", module, module_path="/p/definitions.py")
    assert scaffolded.changed, scaffolded.reason
    result = acceptance_test(dag, "/p/dags/d.py", "d", "t", scaffolded.text, "/p/definitions.py",
                             "/p/tests/test_acceptance_d__t.py")
    assert result.refused and "\n" not in result.reason
    assert f"a `@{decorator}` task chooses which tasks run after it: the acceptance test compares" in result.reason
