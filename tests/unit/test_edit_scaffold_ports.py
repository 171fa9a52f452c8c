"""Operator ports (issue 16): a project class ported once in the Dagster module
(``AIRFLOW_OPERATOR_PORTS``) scaffolds every task of it as a call of the port with the task's
arguments. The module the fixture's tasks give, what is passed (not ``BaseOperator``'s own
arguments), the registry, lenses and ``check`` through the project, and each refusal."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from analysis.checks import check_project
from analysis.dagster.ports import read_ports
from analysis.describe import no_scaffold, task_markdown
from analysis.edits import EditResult
from analysis.edits.acceptance_test import acceptance_test
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import scaffold_family
from analysis.project import Layout, discover
from tests.support.scaffold_fixture import FIXTURES, scaffold_every_task

PORTS = FIXTURES / "ports"
DAG, MODULE = PORTS / "ports_dag.py", PORTS / "ports_module.py"
TASKS = ("export_orders", "export_totals")


def scaffold(task_id: str, dag_text: str | None = None, module_text: str | None = None) -> EditResult:
    return scaffold_task(dag_text or DAG.read_text(), str(DAG), "ports", task_id,
                         module_text or MODULE.read_text(), module_path=str(MODULE))


def test_every_task_in_turn_gives_the_fixture():
    text = scaffold_every_task(DAG, "ports", TASKS, MODULE.read_text(), MODULE)
    assert text == (PORTS / "ports_module+all.py").read_text()
    # what schedules the task in Airflow (retries, pool) is not the port's
    assert "retries" not in text and "pool" not in text
    assert '        out_path=os.path.join(EXPORTS, "totals.csv"),\n        delimiter=";",\n    )' in text


def test_scaffolding_again_changes_nothing():
    text = scaffold_every_task(DAG, "ports", TASKS, MODULE.read_text(), MODULE)
    for task_id in TASKS:
        again = scaffold(task_id, module_text=text)
        assert not again.changed and "already has a Dagster definition" in again.reason


def test_the_ports_are_read_from_the_module():
    assert read_ports(MODULE.read_text()) == (("CsvExportOperator", "csv_export"),)
    assert read_ports('AIRFLOW_OPERATOR_PORTS: dict = {"A": ports.a, "B": make(), 3: c, "D": d}\n') == (
        ("A", "ports.a"), ("D", "d"))  # a call or a non-string key is no port
    assert read_ports("AIRFLOW_OPERATOR_PORTS = {\n") == ()  # unreadable: none, no error
    assert read_ports("def f():\n    AIRFLOW_OPERATOR_PORTS = {'A': a}\n") == ()  # module level only
    assert scaffold_family("CsvExportOperator") is None
    assert scaffold_family("CsvExportOperator", {"CsvExportOperator"}) == "port"
    assert scaffold_family("BashOperator", {"BashOperator"}) == "port"  # the team's own comes first


def test_without_a_port_the_class_has_no_scaffold():
    module = MODULE.read_text().replace('AIRFLOW_OPERATOR_PORTS = {"CsvExportOperator": csv_export}\n', "")
    result = scaffold("export_orders", module_text=module)
    assert not result.changed
    assert result.reason == "task `export_orders` uses `CsvExportOperator`, which has no scaffold: port it by hand"


def test_a_dotted_port_is_called_as_written():
    module = MODULE.read_text().replace('{"CsvExportOperator": csv_export}', '{"CsvExportOperator": exports.csv}')
    result = scaffold("export_orders", module_text=module)
    assert result.changed, result.reason
    assert "    exports.csv(\n        context,\n" in result.text


@pytest.mark.parametrize(("old", "new", "reason"), [
    ('out_path=os.path.join(EXPORTS, "orders.csv"),', 'out_path="{{ ds }}/orders.csv",',
     "the arguments of task `export_orders` use Jinja ('{{ ds }}/orders.csv'), which only Airflow renders"),
    # a ported class renders its own template_fields: not even Airflow Variables are rendered for it
    ('out_path=os.path.join(EXPORTS, "orders.csv"),', 'out_path="{{ var.value.exports }}/orders.csv",',
     "the arguments of task `export_orders` use Jinja ('{{ var.value.exports }}/orders.csv'), which only Airflow "
     "renders"),
    ('task_id="export_orders",\n', 'task_id="export_orders",\n        **EXTRA,\n',
     "task `export_orders` is made with `**` a value only known when Airflow runs the file: the arguments it "
     "adds cannot be named"),
], ids=["jinja", "variables", "unpacked"])
def test_refusals(old, new, reason):
    dag = DAG.read_text().replace(old, new, 1)
    assert dag != DAG.read_text()
    result = scaffold("export_orders", dag_text=dag)
    assert not result.changed and result.reason == reason


def test_an_argument_from_another_task_is_refused():
    dag = DAG.read_text().replace('rows=[["eu", 12.5], ["us", 7.0]],', "rows=orders.output,", 1)
    result = scaffold("export_totals", dag_text=dag)
    assert not result.changed and result.reason == (
        "the `rows` argument of task `export_totals` is another task (its output is an XCom value): the port "
        "needs its value")


def test_a_dag_file_name_that_hides_the_port_is_refused():
    dag = DAG.read_text().replace('COLUMNS = ["region", "amount"]', 'COLUMNS = ["region", "amount"]\ncsv_export = COLUMNS',
                                  1).replace("columns=COLUMNS,\n        out_path=os.path.join(EXPORTS, \"orders.csv\")",
                                             "columns=csv_export,\n        out_path=os.path.join(EXPORTS, \"orders.csv\")", 1)
    result = scaffold("export_orders", dag_text=dag)
    assert not result.changed
    assert result.reason.startswith("the DAG file's `csv_export`, which task `export_orders` needs, would hide the "
                                    "port `csv_export` of `CsvExportOperator`")


def test_its_acceptance_test_says_why_there_is_none():
    text = scaffold_every_task(DAG, "ports", TASKS, MODULE.read_text(), MODULE)
    result = acceptance_test(DAG.read_text(), str(DAG), "ports", "export_orders", text, str(MODULE),
                             str(PORTS / "tests" / "test_acceptance_ports__export_orders.py"))
    assert not result.changed
    assert result.reason.startswith("task `export_orders` runs `CsvExportOperator`, which the Dagster module ports "
                                    "(AIRFLOW_OPERATOR_PORTS): its Airflow side is the class itself")


def test_a_task_made_by_a_helper_gets_the_values_the_model_evaluates(tmp_path: Path):
    """`export_regions` is made by the team's factory (corp_ops.factories): its call in the DAG
    file cannot be copied, so the port is given the values the factory computes, as literals."""
    project = project_at(tmp_path)
    result = scaffold_task(DAG.read_text(), str(tmp_path / "dags" / "ports_dag.py"), "ports", "export_regions",
                           MODULE.read_text(), module_path=str(tmp_path / "definitions.py"), code=project.code)
    assert result.changed, result.reason
    assert ('    csv_export(\n        context,\n        rows=[["eu"], ["us"]],\n        columns=["region"],\n'
            '        out_path="exports/regions.csv",\n        delimiter="|",\n    )\n') in result.text
    assert "the values its arguments\n    have when Airflow reads the DAG file, written out" in result.text
    orders = project.entry("ports").dag.task("export_regions")
    assert can_scaffold(DAG.read_text(), orders, ports=project.ports, dag_path=str(tmp_path / "dags" / "ports_dag.py"),
                        code=project.code) is None
    assert "is made inside `export_table(...)`" in can_scaffold(DAG.read_text(), orders, ports=project.ports)


def test_a_value_the_factory_only_knows_at_run_time_is_refused():
    assert scaffold("export_empty").reason == (
        "the `out_path` argument of task `export_empty` is only known when Airflow runs the file "
        "(`os.path.join(EXPORTS, name)`): the port needs its value")


def test_a_known_dict_given_by_double_star_is_spread():
    dag = DAG.read_text().replace('COLUMNS = ["region", "amount"]', 'COLUMNS = ["region", "amount"]\nEXTRA = {"delimiter": "\\t"}',
                                  1).replace('task_id="export_orders",\n', 'task_id="export_orders",\n        **EXTRA,\n', 1)
    dag = dag.replace('out_path=os.path.join(EXPORTS, "orders.csv"),', 'out_path="orders.csv",', 1)
    result = scaffold("export_orders", dag_text=dag)
    assert result.changed, result.reason
    assert '        delimiter="\\t",\n        rows=[["eu", 10.5], ["us", 7]],\n' in result.text


def project_at(root: Path):
    """The fixture as a workspace: the DAGs folder with the team's corp_ops library, the module."""
    (root / "dags").mkdir(exist_ok=True)
    (root / "dags" / "ports_dag.py").write_text(DAG.read_text())
    shutil.copytree(PORTS / "corp_ops", root / "dags" / "corp_ops", dirs_exist_ok=True)
    (root / "definitions.py").write_text(MODULE.read_text())
    return discover(Layout(str(root), ("dags",), "definitions.py"))


def test_the_project_offers_the_scaffold_and_check_stops_counting_the_task(tmp_path: Path):
    project = project_at(tmp_path)
    entry = project.entry("ports")
    assert project.ports == {"CsvExportOperator": "csv_export"}
    orders = entry.dag.task("export_orders")
    assert can_scaffold(DAG.read_text(), orders) is not None  # without the ports: no scaffold
    assert can_scaffold(DAG.read_text(), orders, ports=project.ports) is None
    assert not no_scaffold(project, "ports", orders)
    assert "ported: `CsvExportOperator` runs as `csv_export` (`AIRFLOW_OPERATOR_PORTS`): Generate Dagster " \
           "implementation writes its call" in task_markdown(project, entry, orders)
    assert [f for f in check_project(project) if f.code == "no-scaffold"] == []

    (tmp_path / "definitions.py").write_text(MODULE.read_text().replace("AIRFLOW_OPERATOR_PORTS", "OTHER_NAME"))
    project = discover(Layout(str(tmp_path), ("dags",), "definitions.py"))
    notes = [f for f in check_project(project) if f.code == "no-scaffold"]
    assert {f.message for f in notes} == {
        "no scaffold for `CsvExportOperator`: port by hand (or port the class once: `AIRFLOW_OPERATOR_PORTS`)"}
    assert len(notes) == 4
