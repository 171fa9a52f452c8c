"""Scaffolding ``@task.bash`` tasks: the function, copied without its Airflow decorator, called
with the task's arguments for the command, then ``bash -c`` on it as the BashOperator scaffold
runs one, with the decorator's options (``env``, ``append_env``, ``cwd``) as ``.override``
leaves them. The module every task of tests/fixtures/scaffold/bash_task_dag.py gives,
idempotency, the registry, the tutorial's ``check``, and every refusal with its reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analysis.checks import check_project
from analysis.dags.dagfile import extract_file
from analysis.edits.acceptance_test import acceptance_test
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.edits.scaffold.families import scaffold_family
from analysis.project import Layout, discover
from tests.support.scaffold_fixture import FamilyFixture
from tests.unit.test_edit_scaffold import body

REPO = Path(__file__).resolve().parents[2]
FAMILY = FamilyFixture("bash_task", ("count_orders", "list_regions", "greet"))
DAG, MODULE, TASKS = FAMILY.dag, FAMILY.module, FAMILY.tasks
scaffold, scaffold_all = FAMILY.scaffold, FAMILY.scaffold_all


def test_every_task_in_turn_gives_the_fixture():
    assert scaffold_all() == FAMILY.all_scaffolded


def test_the_command_is_the_functions_return_run_as_the_bash_operator_runs_one():
    text = scaffold(MODULE.read_text(), "count_orders").text
    # the decorator goes, its env (with append_env) goes to the run; the call's arguments stay
    assert body(text, "bash_task__count_orders") == textwrap.dedent('''\

        REGIONS = ["eu", "us"]

        def count_orders(count: int, suffix: str = "orders") -> str:
            """append_env: the process's environment (OUTPUT_DIR) and REGION."""
            return f'echo "$REGION: {count} {suffix}" > "$OUTPUT_DIR/orders.txt"'

        bash_command = _airflow_render(count_orders(3, suffix="paid orders"))
        if not isinstance(bash_command, str) or not bash_command.strip():
            raise TypeError("count_orders must return a bash command")
        with tempfile.TemporaryDirectory(prefix="airflowtmp") as tmp_dir:
            subprocess.run(
                ["bash", "-c", bash_command],
                check=True,
                cwd=tmp_dir,
                env={**os.environ, **{"REGION": REGIONS[0]}},
            )
        ''')
    assert "@task.bash\n" not in text and "@dg.multi_asset(specs=[dg.AssetSpec(key=\"order_count\")]" in text


def test_cwd_and_override_options_are_carried():
    text = scaffold_all()
    # cwd from the decorator, read from a module-level constant copied into the body
    assert 'subprocess.run(["bash", "-c", bash_command], check=True, cwd=OUTPUT_DIR)' in text
    # .override(task_id="greet", env=...): env without append_env replaces the environment
    assert "            env={\"GREETING\": \"hello\"},\n" in text
    assert 'bash_command = _airflow_render(where_and_who("Ada"))' in text


def test_scaffolding_again_changes_nothing():
    FAMILY.assert_scaffolding_again_changes_nothing()


def test_the_bash_decorator_is_registered_as_the_bash_family():
    facts = extract_file(str(DAG), DAG.read_text()).dag("bash_task")
    assert {t.task_id: (t.operator, scaffold_family(t.operator)) for t in facts.tasks} == {
        t: ("@task.bash", "bash") for t in TASKS}


def test_check_on_the_tutorial_no_longer_counts_task_bash_as_unscaffolded():
    found = discover(Layout(str(REPO / "examples" / "tutorial"), ("airflow_dags",),
                            "tutorial_dagster/definitions.py"))
    assert [f.message for f in check_project(found) if f.code == "no-scaffold"] == []


def test_the_tutorials_publish_report_stays_refused_for_its_xcom_input():
    path = REPO / "examples" / "tutorial" / "airflow_dags" / "daily_orders.py"
    task = extract_file(str(path), path.read_text()).dag("daily_orders").task("publish_report")
    assert task.operator == "@task.bash"
    assert can_scaffold(path.read_text(), task) == (
        "task `publish_report` gets `extract_orders` from inside the DAG (another task or its "
        "output, an XCom value): only module-level values can be copied to Dagster")


HEAD = '''\
import pendulum
from airflow import DAG
from airflow.decorators import task
from airflow.models import Variable

OPTIONS = {"cwd": "/"}


def command():
    return "echo hi"


with DAG("d", start_date=pendulum.datetime(2024, 1, 1)):
'''


@pytest.mark.parametrize("code, reason", [
    ("@task.bash(skip_on_exit_code=99)\ndef t():\n    return 'exit 99'\nt()",
     "task `t` uses `skip_on_exit_code`: a skipped run is Airflow's, scaffold it by hand"),
    ("@task.bash\ndef t():\n    return 'exit 99'\nt.override(skip_exit_code=99)()",
     "task `t` uses `skip_exit_code`: a skipped run is Airflow's, scaffold it by hand"),
    ("@task.bash(env={'A': '1'}, append_env=len('x') > 0)\ndef t():\n    return 'env'\nt()",
     "the `append_env` of task `t` is not a constant True or False"),
    ("@task.bash\ndef t():\n    return 'echo {{ ds }}'\nt()",
     "the bash command that task `t` returns uses Jinja ('echo {{ ds }}'), which only Airflow renders"),
    ("@task.bash\ndef t(name):\n    return f'bash run.sh {name} scripts/go.sh'\nt('a')",
     ("the bash command that task `t` returns names a script ('scripts/go.sh') that Airflow reads "
      "as a Jinja template")),
    ("@task.bash(env={'RUN': '{{ ti.run_id }}'})\ndef t():\n    return 'echo $RUN'\nt()",
     "the environment or folder of task `t` use Jinja ('{{ ti.run_id }}'), which only Airflow renders"),
    ("@task.bash\ndef t(run):\n    return f'echo {run}'\nt('{{ ti.run_id }}')",
     "the arguments of task `t` use Jinja ('{{ ti.run_id }}'), which only Airflow renders"),
    ("@task.bash\ndef t(ti=None):\n    return f'echo {ti}'\nt()",
     "the function of task `t` takes `ti` from the Airflow task context, which Dagster does not have"),
    ("@task.bash\ndef t(**context):\n    return f'echo {context}'\nt()",
     ("the function of task `t` takes `**context`, through which Airflow passes the task context "
      "(ti, ds, ...): Dagster has none")),
    ("@task\ndef first():\n    return 'a'\n@task.bash\ndef t(x):\n    return f'echo {x}'\nt(first())",
     ("task `t` gets `first` from inside the DAG (another task or its output, an XCom value): "
      "only module-level values can be copied to Dagster")),
    ("@task.bash(**OPTIONS)\ndef t():\n    return 'pwd'\nt()",
     "the options of task `t` are unpacked with `**`: they cannot be read statically"),
    # Variable.get is read from AIRFLOW_VAR_<KEY> (test_edit_scaffold_variables.py); writing one is Airflow's
    ("@task.bash(env={'BUCKET': Variable.setdefault('bucket', 'dev')})\ndef t():\n    return 'echo $BUCKET'\nt()",
     ("task `t` uses Airflow's `Variable` otherwise than by `Variable.get(...)` (line 14), which only Airflow's "
      "metastore can do: scaffold it by hand")),
    # the decorator's options are read where the function is defined, .override's at the call
    ("inner = '/'\n@task.bash(cwd=inner)\ndef t():\n    return command()\nt()",
     ("`inner`, used by task `t`, is defined inside the DAG: move it to module level to scaffold "
      "the task")),
    ("inner = '/'\n@task.bash\ndef t():\n    return command()\nt.override(cwd=inner)()",
     ("task `t` gets `inner` from inside the DAG (another task or its output, an XCom value): "
      "only module-level values can be copied to Dagster")),
    ("@task.docker(image='python')\ndef t():\n    print('hi')\nt()",
     "task `t` is a `@task.docker` task, which has no scaffold: port it by hand"),
])
def test_what_cannot_be_copied_is_refused_in_one_line(code, reason):
    text = HEAD + textwrap.indent(code, "    ") + "\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) == reason


@pytest.mark.parametrize("code", [
    # a script name only when the command ends with it; a command built at run time is run as built
    "@task.bash\ndef t():\n    return 'bash run.sh --verbose'\nt()",
    "@task.bash\ndef t():\n    return command()\nt()",
    # the docstring is no part of the command; None options are Airflow's defaults
    "@task.bash(cwd=None)\ndef t():\n    '''Prints {{ ds }} literally? No: nothing.'''\n    return 'true'\nt()",
    # the override's options win over the decorator's
    "@task.bash(skip_on_exit_code=99)\ndef t():\n    return 'true'\nt.override(skip_on_exit_code=None)()",
])
def test_what_can_be_copied_is_accepted(code):
    text = HEAD + textwrap.indent(code, "    ") + "\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) is None


def test_its_acceptance_test_runs_the_copied_function_and_command_as_the_airflow_side():
    dag = ('import os\nfrom airflow import DAG\nfrom airflow.decorators import task\n\n'
           'OUT = os.environ.get("REPORT_FOLDER", "/tmp")\n\n'
           'with DAG(dag_id="d") as dag:\n    @task.bash(cwd=OUT)\n'
           '    def t(name):\n        return f"echo {name} > hi.txt"\n    t("hi")\n')
    module = ('from dagster import AssetSpec, Definitions\n'
              'from dagster_airlift.core import assets_with_task_mappings\n\n'
              'defs = Definitions(assets=assets_with_task_mappings(dag_id="d", '
              'task_mappings={"t": [AssetSpec("k")]}))\n')
    scaffolded = scaffold_task(dag, "/p/dags/d.py", "d", "t", module, module_path="/p/definitions.py")
    assert scaffolded.changed, scaffolded.reason
    result = acceptance_test(dag, "/p/dags/d.py", "d", "t", scaffolded.text, "/p/definitions.py",
                             "/p/tests/test_acceptance_d__t.py")
    assert result.changed, result.reason
    assert textwrap.indent(textwrap.dedent('''\
        def t(name):
            return f"echo {name} > hi.txt"

        bash_command = _airflow_render(t("hi"))
        if not isinstance(bash_command, str) or not bash_command.strip():
            raise TypeError("t must return a bash command")
        subprocess.run(["bash", "-c", bash_command], check=True, cwd=OUT)
        '''), "    ") in result.text
    assert "the task's code (@task.bash) copied from ../dags/d.py" in result.text


def test_an_option_reading_a_variable_reads_it_from_the_environment():
    code = "@task.bash(env={'BUCKET': Variable.get('bucket')})\ndef t():\n    return 'echo $BUCKET'\nt()"
    text = HEAD + textwrap.indent(code, "    ") + "\n"
    assert can_scaffold(text, extract_file("d.py", text).dag("d").task("t")) is None
