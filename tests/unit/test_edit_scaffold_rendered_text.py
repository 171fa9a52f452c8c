"""Templated strings with no Jinja in them, which Airflow renders all the same: Jinja makes their
line ends newlines and drops one final newline (``plan_dag.TEXT``). A copied call passes them
through ``_airflow_render``; the other families write them rendered (``plan_options.as_rendered``);
a DAG whose rendering options could change that is refused. tests/integration/
test_scaffold_variables.py compares such a task's output with Airflow 2.11's."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.plan_dag import changed_by_jinja
from analysis.edits.scaffold.plan_options import as_rendered
from tests.unit.test_edit_scaffold_made_dags import DAG as MADE_DAG
from tests.unit.test_edit_scaffold_made_dags import workspace

MODULE = (Path(__file__).resolve().parents[1] / "fixtures" / "scaffold" / "run_values" /
          "run_values_module.py").read_text()
HEAD = '''import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

TEXT = "from a constant\\n"


def keep(text, lines=None):
    return text, lines

'''


def scaffold(task_call: str, options: str = ""):
    dag = (HEAD + f'with DAG("partitioned", start_date=pendulum.datetime(2024, 1, 1), schedule=None{options}):\n'
           + textwrap.indent(task_call, "    ") + "\n")
    return scaffold_task(dag, "/p/dags/partitioned.py", "partitioned", "export", MODULE)


def body(text: str) -> str:
    return text.split("def partitioned__export", 1)[1].split("\npartitioned_assets", 1)[0]


@pytest.mark.parametrize(("value", "changed", "rendered"), [
    ("plain", False, "plain"),
    ("a\n", True, "a"),
    ("a\n\n", True, "a\n"),
    ("one\r\ntwo\rthree", True, "one\ntwo\nthree"),
    (["x\n", ("y\n",), {"k\n": "v\n"}, {"s\n"}, 3], True, ["x", ("y",), {"k\n": "v"}, {"s"}, 3]),
    ({"k\n": "v"}, False, {"k\n": "v"}),  # dict keys are not rendered
])
def test_what_jinja_changes_in_a_plain_value(value, changed, rendered):
    assert changed_by_jinja(value) is changed
    assert as_rendered(value) == rendered


@pytest.mark.parametrize("task_call", [
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": "kept\\n"})',
    'PythonOperator(task_id="export", python_callable=keep, op_args=["a", ["b\\r\\nc"]])',
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": TEXT})',
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": f"{pendulum.__name__}\\n"})',
    'BashOperator(task_id="export", bash_command="""\\n  set -e\\n  echo done\\n""")',
    '@task(task_id="export")\ndef f(text):\n    return text\nf("kept\\n")',
])
def test_a_copied_call_renders_them_as_jinja_does(task_call):
    result = scaffold(task_call)
    assert result.changed, result.reason
    assert "_airflow_render(" in body(result.text) and result.text.count("def _airflow_render(") == 1
    assert "AIRFLOW_VAR" not in body(result.text)  # no Variables read: nothing to set


def test_a_copied_call_without_such_strings_is_written_as_it_is():
    result = scaffold('PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": "kept"})')
    assert result.changed, result.reason
    assert '    keep(text="kept")\n' in body(result.text) and "_airflow_render" not in result.text


def test_a_pods_plain_strings_are_written_rendered():
    result = scaffold('KubernetesPodOperator(task_id="export", name="export", image="exporter:1.2",\n'
                      '                      cmds=["sh", "-c"], arguments=["echo one\\necho two\\n"],\n'
                      '                      env_vars={"NOTE": "a\\r\\nb"})')
    assert result.changed, result.reason
    text = body(result.text)
    assert '"echo one\\necho two"' in text and '"a\\nb"' in text
    assert "_airflow_render" not in result.text


@pytest.mark.parametrize(("options", "option"), [
    (', jinja_environment_kwargs={"keep_trailing_newline": True}', "jinja_environment_kwargs"),
    (", render_template_as_native_obj=True", "render_template_as_native_obj"),
])
@pytest.mark.parametrize("task_call", [
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": "5"})',  # native: 5, an int
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": "\'quoted\'\\n"})',
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": ""})',  # native: None
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": str(5)})',  # computed
    'KubernetesPodOperator(task_id="export", name="export", image="exporter:1.2", arguments=["[1, 2]"])',
])
def test_a_dag_whose_options_could_render_them_otherwise_is_refused(options, option, task_call):
    result = scaffold(task_call, options)
    assert not result.changed
    assert result.reason == (
        "the arguments of task `export` hold strings, which Airflow renders even without Jinja, and "
        f"the DAG sets `{option}`, which may change what they become: scaffold it by hand"), result.reason


@pytest.mark.parametrize("task_call", [
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": 5, "lines": [1.5, None]})',
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": keep})',  # a function
    # strings Python does not read as literals stay text
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": "kept\\n", "lines": [" 5", "a b"]})',
    'KubernetesPodOperator(task_id="export", name="export", image="exporter:1.2", arguments=["a\\n", "--n=5"])',
])
def test_what_native_rendering_leaves_as_it_is_is_accepted(task_call):
    result = scaffold(task_call, ", render_template_as_native_obj=True")
    assert result.changed, result.reason


@pytest.mark.parametrize("task_call", [
    'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": "kept\\n"})',
    'KubernetesPodOperator(task_id="export", name="export", image="exporter:1.2", arguments=["a"])',
])
def test_any_string_is_refused_in_another_jinja_environment(task_call):
    result = scaffold(task_call, ', jinja_environment_kwargs={"newline_sequence": "\\r\\n"}')
    assert not result.changed
    assert "the DAG sets `jinja_environment_kwargs`, which may change what they become" in result.reason


def test_plain_strings_are_not_rendered_otherwise_by_the_dags_macros():
    result = scaffold('PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": "5"})',
                      ', user_defined_macros={"five": 5}')
    assert result.changed, result.reason


def test_in_a_dag_the_projects_code_makes_they_are_judged_on_that_code(tmp_path: Path):
    dag = MADE_DAG.replace('bash_command="export.sh {{ var.value.bucket }}"', 'bash_command="echo done\\n"')
    project = workspace(tmp_path, dag=dag)
    task = project.entry("made").dag.task("export")
    assert can_scaffold(dag, task, dag_path=str(tmp_path / "dags" / "made_dag.py"), code=project.code,
                        dag_id="made") is None
    assert can_scaffold(dag, task) == (
        "the arguments of task `export` hold strings, which Airflow renders even without Jinja, and the DAG is "
        "not created by one `DAG(...)` or `@dag(...)` call in the DAG file, which may change what they become: "
        "scaffold it by hand")


@pytest.mark.parametrize(("option", "refused"), [("user_defined_filters", False), ("jinja_environment_kwargs", True),
                                                 ("render_template_as_native_obj", True)])
def test_a_makers_options_are_judged_for_strings_without_jinja_by_what_changes_them(tmp_path: Path, option, refused):
    from tests.unit.test_edit_scaffold_made_dags import MAKER

    dag = MADE_DAG.replace('bash_command="export.sh {{ var.value.bucket }}"', 'bash_command="echo done"')
    maker = MAKER.replace("tags=tags or [])", f"tags=tags or [], {option}={{}})")
    project = workspace(tmp_path, maker=maker, dag=dag)
    found = can_scaffold(dag, project.entry("made").dag.task("export"), dag_path=str(tmp_path / "dags" / "made_dag.py"),
                         code=project.code, dag_id="made")
    assert (found is not None) is refused, found
    if refused:
        assert f"dags.py gives `{option}`, which may change what they become" in found, found


def test_the_acceptance_test_of_a_copied_call_rendering_them_holds_the_renderer():
    from analysis.edits.acceptance_test import acceptance_test

    task_call = 'PythonOperator(task_id="export", python_callable=keep, op_kwargs={"text": "kept\\n"})'
    scaffolded = scaffold(task_call)
    dag = (HEAD + 'with DAG("partitioned", start_date=pendulum.datetime(2024, 1, 1), schedule=None):\n'
           + textwrap.indent(task_call, "    ") + "\n")
    result = acceptance_test(dag, "/p/dags/partitioned.py", "partitioned", "export", scaffolded.text,
                             "/p/definitions.py", "/p/tests/test_partitioned__export.py")
    assert result.changed, result.reason
    assert "_airflow_render(" in result.text and result.text.count("def _airflow_render(") == 1
    assert "\nimport re\n" in result.text
    compile(result.text, "test_partitioned__export.py", "exec")
