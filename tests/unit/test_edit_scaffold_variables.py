"""Airflow Variables in Jinja (analysis/edits/scaffold/variables.py): which Jinja is read as
Variables, the DAG options that make a scaffold refuse them, where the scaffolded asset renders
them, and the generated `_airflow_render` run on the values Airflow 2.11 renders to (line ends,
JSON fields, str() of non-strings; tests/integration/test_scaffold_variables.py runs Airflow)."""

from __future__ import annotations

import ast
import json
import os
import re

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.plan_dag import rendering_problem
from analysis.edits.scaffold.statements import dag_file
from analysis.edits.scaffold.variables import DEFINITION, rendered_value, variables_in


@pytest.mark.parametrize("text, keys", [
    ("no jinja", ()),
    ("{{ var.value.greeting }}", ("greeting",)),
    ("gs://{{var.value.bucket}}/{{ var.json.cfg.region }}/{{ var.value.bucket }}", ("bucket", "cfg")),
    ("{{ var.json.cfg.a.b }}", ("cfg",)),
    ("{{ var.value.bucket.upper }}", None),  # an attribute of the string
    ("{{ var.json.cfg.items }}", None),  # a dict's method, as Jinja reads it first
    ("{{ var.value.get('x', 'y') }}", None),
    ("{{ var.value.x | lower }}", None),
    ("{{ var.value.x }} on {{ next_ds }}", None),
    ("{% if true %}{{ var.value.x }}{% endif %}", None),
    ("{{- var.value.x -}}", None),
    ("{{{ var.value.x }}}", None),  # Jinja: a syntax error
    ("{{ var.value.get }}", None),  # the accessor's method
    ("{{ var.json.cfg.regions.count }}", None),  # a list's method
])
def test_only_variables_are_read(text, keys):
    assert variables_in(text) == keys


def test_a_value_with_jinja_in_a_dict_key_is_not_rendered():
    assert rendered_value({"{{ var.value.k }}": "v"}) is None
    value, keys = rendered_value({"A": ["x", "{{ var.value.k }}"]})
    assert keys == ("k",) and type(value["A"][1]).__name__ == "Rendered" and type(value["A"][0]) is str


@pytest.mark.parametrize("dag_options, found", [
    ("", None),
    (", render_template_as_native_obj=True", "sets `render_template_as_native_obj`"),
    (", user_defined_macros={'var': 1}", "sets `user_defined_macros`"),
    (", template_undefined=jinja2.Undefined", "sets `template_undefined`"),
    (", **options", "is given arguments by position or `**`"),
])
def test_the_dag_options_that_change_rendering(dag_options, found):
    text = f"from airflow import DAG\nwith DAG('d'{dag_options}):\n    pass\n"
    dag = dag_file(text)
    assert rendering_problem(dag, dag.unit_at(2)) == found


def test_a_rendering_option_set_on_the_dag_object_or_a_dag_made_elsewhere_is_seen():
    text = "from airflow import DAG\nwith DAG('d') as d:\n    d.user_defined_macros = {}\n"
    assert rendering_problem(dag_file(text), dag_file(text).unit_at(2)) == "sets `user_defined_macros`"
    text = "from common import make_dag\nwith make_dag('d'):\n    pass\n"
    assert rendering_problem(dag_file(text), dag_file(text).unit_at(2)) == \
        "is not created by one `DAG(...)` or `@dag(...)` call in the DAG file"


HEAD = '''\
import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

with DAG("d", start_date=pendulum.datetime(2024, 1, 1){options}):
    {task}
'''
BASH = "BashOperator(task_id='t', bash_command='echo {{ var.value.greeting }}')"
POD = "KubernetesPodOperator(task_id='t', image='{{ var.value.image }}')"


@pytest.mark.parametrize("task", [BASH, POD])
def test_a_dag_rendering_native_objects_is_refused(task):
    text = HEAD.format(options=", render_template_as_native_obj=True", task=task)
    reason = can_scaffold(text, extract_file("d.py", text).dag("d").task("t"))
    assert reason.endswith("use Airflow Variables in Jinja, and the DAG sets `render_template_as_native_obj`, "
                           "which may change how Airflow renders them: scaffold it by hand")


@pytest.mark.parametrize("task", [BASH, POD])
def test_variables_are_accepted_otherwise(task):
    text = HEAD.format(options="", task=task)
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) is None


MODULE = '''\
import dagster as dg
from dagster_airlift.core import assets_with_task_mappings

d_assets = assets_with_task_mappings(dag_id="d", task_mappings={"t": [dg.AssetSpec(key="out")]})
'''


def test_every_templated_argument_is_rendered_as_airflow_renders_all():
    task = ("BashOperator(task_id='t', bash_command='echo {{ var.value.greeting }} > out', "
            "env={'HOME': '/tmp'}, append_env=True)")
    text = HEAD.format(options="", task=task)
    result = scaffold_task(text, "d.py", "d", "t", MODULE)
    assert result.changed, result.reason
    assert "bash_command = _airflow_render('echo {{ var.value.greeting }} > out')" in result.text
    assert "env={**os.environ, **_airflow_render({'HOME': '/tmp'})}" in result.text  # its line ends too
    assert result.text.count("def _airflow_render(value):") == 1
    assert "`greeting` (AIRFLOW_VAR_GREETING)" in result.text


@pytest.fixture
def render(monkeypatch):
    """The generated helper, defined as the Dagster module defines it."""
    namespace = {"os": os, "re": re, "json": json}
    exec(DEFINITION[0], namespace)  # noqa: S102 - our own generated code, run as the module runs it
    monkeypatch.setenv("AIRFLOW_VAR_GREETING", "hello")
    monkeypatch.setenv("AIRFLOW_VAR_CFG", json.dumps({"region": "eu", "n": 3, "limits": {"cpu": 2}, "none": None}))
    monkeypatch.delenv("AIRFLOW_VAR_MISSING", raising=False)
    return namespace["_airflow_render"]


def test_the_helper_renders_as_jinja_does(render):
    assert render("a\r\nb {{ var.value.greeting }}\n") == "a\nb hello"
    assert render(["{{ var.json.cfg.n }}", ("{{ var.json.cfg.limits }}",), 3]) == ["3", ("{'cpu': 2}",), 3]
    assert render({"{{ keys stay }}": "{{var.json.cfg.region}}"}) == {"{{ keys stay }}": "eu"}
    assert render("{{ var.json.cfg.none }}") == "None"
    assert render("{{ var.value.greeting }}") == "hello"  # a value's own braces are not rendered again


def test_the_helper_keeps_named_tuples_and_makes_plain_lists_sets_and_dicts(render):
    from collections import namedtuple

    pair = namedtuple("Pair", "left right")
    assert render(pair("{{ var.value.greeting }}", "x")) == pair("hello", "x")
    assert render({"{{ var.value.greeting }}"}) == {"hello"}


def test_the_helper_refuses_what_it_cannot_render(render):
    with pytest.raises(RuntimeError, match=r"AIRFLOW_VAR_MISSING is not set: give Airflow Variable 'missing' there"):
        render("{{ var.value.missing }}")
    with pytest.raises(ValueError, match=r"only Airflow renders this Jinja: '\{\{ run_id \}\}'"):
        render("{{ run_id }}")
    with pytest.raises(KeyError):
        render("{{ var.json.cfg.absent }}")


CODE = '''\
import pendulum
from airflow import DAG
{imports}
from airflow.operators.python import PythonOperator


def run():
    {body}


with DAG("d", start_date=pendulum.datetime(2024, 1, 1)):
    PythonOperator(task_id="t", python_callable=run)
'''


def _scaffold_code(imports: str, body: str):
    text = CODE.format(imports=imports, body=body)
    return text, scaffold_task(text, "d.py", "d", "t", MODULE)


@pytest.mark.parametrize("imports, name", [
    ("from airflow.models import Variable", "Variable"),
    ("from airflow.sdk import Variable as V", "V"),  # Airflow 3, another name
    ("from airflow.models.variable import Variable", "Variable"),
])
def test_variable_get_in_the_code_reads_the_environment(imports, name):
    _, result = _scaffold_code(imports, f"return {name}.get('bucket', 'dev', deserialize_json=False)")
    assert result.changed, result.reason
    assert f"    {name} = _AirflowVariable\n" in result.text
    assert "from airflow" not in result.text and result.text.count("class _AirflowVariable:") == 1


@pytest.mark.parametrize("imports, body, reason", [
    ("from airflow.models import Variable", "Variable.set('bucket', 'x')",
     "task `t` uses Airflow's `Variable` otherwise than by `Variable.get(...)` (line 8), which only Airflow's "
     "metastore can do: scaffold it by hand"),
    ("from airflow.models import Variable", "return [Variable]",
     "task `t` uses Airflow's `Variable` otherwise than by `Variable.get(...)` (line 8), which only Airflow's "
     "metastore can do: scaffold it by hand"),
    ("from airflow.models import Variable", "return Variable.get(**{'key': 'bucket'})",
     "task `t` calls `Variable.get` with arguments unpacked or unknown: the scaffold reads a Variable as "
     "`get(key, default, deserialize_json)`"),
    ("from airflow.models import Variable, Pool", "return Variable.get('x'), Pool",
     "task `t` needs `Pool` (for `run`), which comes from Airflow (the import on line 3): Dagster cannot run it"),
    ("from airflow import models", "return models.Variable.get('x')",
     "task `t` needs `models` (for `run`), which comes from Airflow (the import on line 3): Dagster cannot run it"),
])
def test_other_uses_of_variable_are_refused(imports, body, reason):
    _, result = _scaffold_code(imports, body)
    assert not result.changed and result.reason == reason


@pytest.fixture
def variable(monkeypatch):
    """The generated `_AirflowVariable`, defined as the Dagster module defines it."""
    from analysis.edits.scaffold.variables import CLASS_DEFINITION

    namespace = {"os": os, "json": json}
    exec(CLASS_DEFINITION[0], namespace)  # noqa: S102 - our own generated code
    monkeypatch.setenv("AIRFLOW_VAR_BUCKET", "prod")
    monkeypatch.setenv("AIRFLOW_VAR_CFG", '{"a": [1, 2]}')
    monkeypatch.delenv("AIRFLOW_VAR_MISSING", raising=False)
    return namespace["_AirflowVariable"]


def test_the_class_reads_as_airflow_reads(variable):
    assert variable.get("bucket") == "prod" and variable.get("BUCKET", "dev") == "prod"
    assert variable.get("cfg", deserialize_json=True) == {"a": [1, 2]}
    assert variable.get("missing", "dev") == "dev" and variable.get("missing", default=None) is None
    assert variable.get("missing", default_var=None) is None
    assert variable.get("missing", '{"x": 1}', True) == '{"x": 1}'  # a default is not decoded
    with pytest.raises(KeyError, match="Variable missing does not exist: set AIRFLOW_VAR_MISSING"):
        variable.get("missing")


def test_a_module_level_variable_given_as_argument_is_read_when_the_asset_runs():
    """cases_dag.py's `variable`: `BUCKET = Variable.get("bucket")` at module level, given in
    `op_args`; Airflow reads it each time it parses the file, the asset when it runs."""
    from tests.support.scaffold_fixture import FIXTURES

    dag = FIXTURES / "cases_dag.py"
    task = extract_file(str(dag), dag.read_text()).dag("cases").task("variable")
    assert can_scaffold(dag.read_text(), task) is None
    module = MODULE.replace('dag_id="d", task_mappings={"t"', 'dag_id="cases", task_mappings={"variable"')
    result = scaffold_task(dag.read_text(), str(dag), "cases", "variable", module)
    assert result.changed, result.reason
    body = result.text.split("def cases__variable() -> None:")[1].split("\n\n\n")[0]
    assert body.index("    Variable = _AirflowVariable\n") < body.index('    BUCKET = Variable.get("bucket")\n')
    assert body.rstrip().endswith("greet(BUCKET)")


@pytest.mark.parametrize("body, reason", [
    ("try:\n        return Variable.get('bucket')\n    except KeyError:\n        return 'dev'",
     "task `t` catches `KeyError` (line 10), which Airflow 3's `Variable.get` does not raise for a missing "
     "Variable: scaffold it by hand"),
    ("return Variable.get('bucket', default_var='dev')",
     "task `t` gives `Variable.get` a `default_var`, which Airflow 3's `Variable.get` does not take (line 8): "
     "scaffold it by hand"),
])
def test_airflow_3s_variable_is_refused_where_the_class_would_differ(body, reason):
    _, result = _scaffold_code("from airflow.sdk import Variable", body)
    assert not result.changed and result.reason == reason
    _, result = _scaffold_code("from airflow.models import Variable", body)  # Airflow 2's does both
    assert result.changed, result.reason


@pytest.mark.parametrize("task, reason", [
    ("BashOperator(task_id='t', bash_command='run', env={'S': '{{ var.value.scripts }}/etl.sh'})",
     "the command, environment or folder of task `t` name a file ('{{ var.value.scripts }}/etl.sh') that Airflow "
     "reads as a Jinja template"),
    ("BashOperator(task_id='t', bash_command='echo $S', env={'S': 'etl.bash'})",
     "the command, environment or folder of task `t` name a file ('etl.bash') that Airflow reads as a Jinja template"),
])
def test_a_string_ending_in_the_operators_template_ext_is_refused(task, reason):
    text = HEAD.format(options="", task=task)
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == reason


CLASSIC = '''\
import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator

dag = DAG("d", start_date=pendulum.datetime(2024, 1, 1){options})
BashOperator(task_id="t", bash_command="echo {{{{ var.value.greeting }}}}", dag=dag)
'''


@pytest.mark.parametrize("options, reason", [
    ("", None),
    (", render_template_as_native_obj=True",
     "the command, environment or folder of task `t` use Airflow Variables in Jinja, and the DAG sets "
     "`render_template_as_native_obj`, which may change how Airflow renders them: scaffold it by hand"),
])
def test_a_dag_named_by_the_tasks_dag_keyword_is_read(options, reason):
    text = CLASSIC.format(options=options)
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == reason
    with_block = text.replace(', dag=dag)', ')').replace('BashOperator(', 'with dag:\n    BashOperator(')
    assert can_scaffold(with_block, extract_file("d.py", with_block).dag("d").task("t")) == reason
