"""The project's own code, followed statically: factories, constants and helpers that DAG files
import from the workspace (tests/fixtures/project_code, checked against Airflow's DagBag with
the workspace root and plugins/ on sys.path)."""

import shutil
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.dags.modules import ProjectCode
from analysis.files import read_disk
from analysis.project import Layout, discover
from tests.conftest import FIXTURES

PROJECT = FIXTURES / "project_code"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT, tmp_path / "project")
    return tmp_path / "project"


def model(root: Path) -> dict[str, dict[str, list[str]]]:
    project = discover(Layout(str(root), ("dags",)))
    return {e.dag_id: {t.task_id: list(t.upstream) for t in e.dag.tasks} for e in project.entries}


def test_dags_built_by_the_projects_factory_and_helpers_are_seen(root: Path) -> None:
    # What Airflow 2.11's DagBag loads from dags/ with the root and plugins/ on sys.path.
    assert model(root) == {
        "orders": {"extract": [], "transform": ["extract"], "load": ["transform"]},
        "co_reports": {"start": [], "load_orders": ["start"], "load_refunds": ["start"],
                       "co_report": ["load_orders", "load_refunds"]},
    }


def test_a_task_made_in_another_file_is_shown_at_the_call_that_made_it(root: Path) -> None:
    project = discover(Layout(str(root), ("dags",)))
    orders = project.entry("orders")
    text = (root / "dags" / "orders.py").read_text().splitlines()
    for task in orders.dag.tasks:
        assert text[task.range.start.line][task.range.start.character:].startswith("make_dag(")
    assert text[orders.dag.range.start.line].startswith("dag = make_dag(")


def test_facts_name_the_modules_they_were_read_through(root: Path) -> None:
    project = discover(Layout(str(root), ("dags",)))
    dependencies = dict(project.files[str(root / "dags" / "orders.py")].dependencies)
    assert set(dependencies) == {str(root / "company" / "__init__.py"), str(root / "company" / "factory.py"),
                                 str(root / "company" / "defaults.py")}


def test_a_changed_module_changes_the_facts_read_through_it(root: Path) -> None:
    dag_file = root / "dags" / "reports.py"
    code = ProjectCode([str(root / "dags"), str(root / "plugins"), str(root)], lambda p: read_disk(p).text)
    assert extract_file(str(dag_file), dag_file.read_text(), code).dags[0].dag_id == "co_reports"
    (root / "company" / "defaults.py").write_text((root / "company" / "defaults.py").read_text()
                                                  .replace('PREFIX = "co_"', 'PREFIX = "acme_"'))
    code.forget([str(root / "company" / "defaults.py")])
    facts = extract_file(str(dag_file), dag_file.read_text(), code)
    assert facts.dags[0].dag_id == "acme_reports" and facts.dags[0].task("acme_report") is not None


def test_without_the_roots_the_imports_stay_unknown_never_guessed(root: Path) -> None:
    facts = extract_file(str(root / "dags" / "reports.py"), (root / "dags" / "reports.py").read_text())
    [dag] = facts.dags
    assert dag.id_dynamic and dag.dag_id == "{defaults.PREFIX + 'reports'}"


def test_installed_airflow_under_a_root_is_never_read_as_project_code(tmp_path: Path) -> None:
    fake = tmp_path / "airflow"
    fake.mkdir()
    (fake / "__init__.py").write_text("DAG = None\n")
    dag_file = tmp_path / "d.py"
    dag_file.write_text("from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
                        "with DAG('d') as dag:\n    EmptyOperator(task_id='t')\n")
    code = ProjectCode([str(tmp_path)], lambda p: read_disk(p).text)
    assert [d.dag_id for d in extract_file(str(dag_file), dag_file.read_text(), code).dags] == ["d"]


def test_an_import_cycle_sees_the_module_as_far_as_it_ran(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import b\nNAME = 'a_' + b.SUFFIX\n")
    (tmp_path / "b.py").write_text("import a\nSUFFIX = 'dag'\n")
    dag_file = tmp_path / "d.py"
    dag_file.write_text("import a\nfrom airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
                        "with DAG(a.NAME) as dag:\n    EmptyOperator(task_id='t')\n")
    code = ProjectCode([str(tmp_path)], lambda p: read_disk(p).text)
    assert [d.dag_id for d in extract_file(str(dag_file), dag_file.read_text(), code).dags] == ["a_dag"]


def test_an_imported_list_appended_to_by_one_file_is_fresh_for_the_next(tmp_path: Path) -> None:
    (tmp_path / "tables.py").write_text("TABLES = ['a']\n")
    head = "from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\nfrom tables import TABLES\n"
    first, second = tmp_path / "one.py", tmp_path / "two.py"
    first.write_text(head + "TABLES.append('b')\nwith DAG('one') as dag:\n"
                     "    for t in TABLES:\n        EmptyOperator(task_id=t)\n")
    second.write_text(head + "with DAG('two') as dag:\n    for t in TABLES:\n        EmptyOperator(task_id=t)\n")
    code = ProjectCode([str(tmp_path)], lambda p: read_disk(p).text)
    assert [t.task_id for t in extract_file(str(first), first.read_text(), code).dags[0].tasks] == ["a", "b"]
    assert [t.task_id for t in extract_file(str(second), second.read_text(), code).dags[0].tasks] == ["a"]
