"""Tasks a project factory makes (issue 16): the DAG file holds no operator call, so the scaffolds
that read an operator's values (SQL, sensors, containers) plan the task from the values the model
evaluates where the factory calls Airflow's class (``plan_evaluated``), and a ``PythonOperator``'s
is copied from the module that defines the function it runs, a ``BashOperator``'s command written
out in the DAG file (``imported.factory_task``). The module the fixture's
tasks give, the lens's judgement through the project, and each refusal: a value only known when
Airflow runs the file, arguments nobody can name, a class of the project's own."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.edits import EditResult
from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.project import Layout, discover
from tests.support.scaffold_fixture import FIXTURES

FACTORIES = FIXTURES / "factories"
DAG, MODULE = FACTORIES / "factories_dag.py", FACTORIES / "factories_module.py"
TASKS = ("load_orders", "wait_for_orders", "total_totals", "export_totals", "shell_done", "summarize_totals")
STEPS = FACTORIES / "dataplat" / "steps.py"


def workspace(root: Path, steps: str | None = None, dag: str | None = None):
    """The fixture as a workspace: the DAGs folder with the team's dataplat library, the module."""
    (root / "dags").mkdir(exist_ok=True)
    (root / "dags" / "factories_dag.py").write_text(dag or DAG.read_text())
    shutil.copy(FACTORIES / "regions_dag.py", root / "dags" / "regions_dag.py")
    shutil.copytree(FACTORIES / "dataplat", root / "dags" / "dataplat", dirs_exist_ok=True)
    if steps is not None:
        (root / "dags" / "dataplat" / "steps.py").write_text(steps)
    (root / "definitions.py").write_text(MODULE.read_text())
    return discover(Layout(str(root), ("dags",), "definitions.py"))


def scaffold(root: Path, task_id: str, module_text: str | None = None, steps: str | None = None,
             dag: str | None = None) -> EditResult:
    project = workspace(root, steps, dag)
    return scaffold_task(dag or DAG.read_text(), str(root / "dags" / "factories_dag.py"), "platform", task_id,
                         module_text or MODULE.read_text(), module_path=str(root / "definitions.py"),
                         code=project.code)


def test_every_task_in_turn_gives_the_fixture(tmp_path: Path):
    text = MODULE.read_text()
    for task_id in TASKS:
        result = scaffold(tmp_path, task_id, text)
        assert result.changed, result.reason
        text = result.text
    assert text == (FACTORIES / "factories_module+all.py").read_text()
    # the factory's values, written out; what schedules the task in Airflow (retries) is not carried
    assert "\"INSERT INTO orders VALUES ('eu', 10.5), ('us', 7), ('eu', 2)\",\n" in text
    assert "poking every 1 s and failing after 30 s" in text and " retries=" not in text
    assert "Its values are\n    those the operator is given when Airflow reads the DAG file (by the project's code, or\n" \
           "    computed), written out: scaffold it again after they change." in text
    for task_id in TASKS:
        again = scaffold(tmp_path, task_id, text)
        assert not again.changed and "already has a Dagster definition" in again.reason


def test_the_lens_judges_a_factory_task_on_its_evaluated_values(tmp_path: Path):
    project = workspace(tmp_path)
    path = str(tmp_path / "dags" / "factories_dag.py")
    dag = project.entry("platform").dag
    for task_id in TASKS:
        task = dag.task(task_id)
        assert can_scaffold(DAG.read_text(), task, dag_path=path, code=project.code) is None
        # without the file's path, the values cannot be evaluated: the factory's call cannot be copied
        assert "is made inside" in can_scaffold(DAG.read_text(), task)
    assert can_scaffold(DAG.read_text(), dag.task("load_returns"), dag_path=path, code=project.code) == (
        "the `conn_id` argument of task `load_returns` is only known when Airflow runs the file "
        "(`os.environ['WAREHOUSE_CONN']`): the scaffold needs its value")


def test_the_class_is_airflows_as_the_model_resolved_it(tmp_path: Path):
    code = workspace(tmp_path).code
    [dag] = extract_file(str(DAG), DAG.read_text(), code, arguments=True).dags
    assert dag.task("load_orders").operator_class == "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator"
    assert dag.task("wait_for_orders").operator_class == "airflow.providers.common.sql.sensors.sql.SqlSensor"
    # read for the index (no arguments): nothing is kept
    [indexed] = extract_file(str(DAG), DAG.read_text(), code).dags
    assert indexed.task("load_orders").arguments is None and indexed.task("load_orders").operator_class is None


OWN_CLASS = '''

class SQLExecuteQueryOperator(BaseOperator):
    """The team's own class, named like Airflow's."""

    def __init__(self, conn_id, sql, **kwargs):
        super().__init__(**kwargs)
        self.conn_id, self.sql = conn_id, sql
'''


@pytest.mark.parametrize(("old", "new", "reason"), [
    ('        conn_id=conn_id,\n        sql=[', '        conn_id=conn_id,\n        **extra,\n        sql=[',
     "task `load_orders` is made with `**` a value only known when Airflow runs the file: the arguments it adds "
     "cannot be named"),
    ('sql=f"SELECT COUNT(*) FROM {table}",', 'sql=f"SELECT COUNT(*) FROM {table} -- {{{{ ds }}}}",',
     "task `wait_for_orders` uses Jinja ('SELECT COUNT(*) FROM orders -- {{ ds }}'), which only "
     "Airflow renders"),
    ('timeout=timeout, mode="reschedule")', 'timeout=timeout, mode="reschedule", soft_fail=True)',
     "task `wait_for_orders` sets `soft_fail`: Airflow then skips it on failure, which a Dagster run cannot tell "
     "the proxy: scaffold it by hand"),
    ("from airflow.providers.common.sql.operators.sql import SQLExecuteQueryOperator\n",
     "from airflow.models import BaseOperator\n",
     "task `load_orders` is made inside a project factory with a `SQLExecuteQueryOperator` that is not Airflow's "
     "or a provider's: port it by hand"),
], ids=["unpacked", "jinja", "soft-fail", "own-class"])
def test_refusals(tmp_path: Path, old, new, reason):
    steps = STEPS.read_text()
    assert old in steps
    steps = steps.replace(old, new, 1)
    if "BaseOperator" in new:
        steps += OWN_CLASS
    steps = steps.replace("def load_table(table, values, conn_id=WAREHOUSE):",
                          "def load_table(table, values, conn_id=WAREHOUSE, extra=os.environ):", 1)
    task_id = "wait_for_orders" if "wait_for" in reason else "load_orders"
    result = scaffold(tmp_path, task_id, steps=steps)
    assert not result.changed and result.reason == reason


POD_FACTORY = '''

from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

REGISTRY = "registry.example.com/dataplat"


def run_job(name, version, *args):
    """The team's job image, run with ``args`` in the jobs namespace."""
    return KubernetesPodOperator(task_id=f"job_{name}", image=f"{REGISTRY}/{name}:{version}",
                                 cmds=["python", "-m", f"jobs.{name}"], arguments=list(args),
                                 env_vars={"JOB": name, "STAGE": "prod"}, namespace="jobs",
                                 get_logs=True, in_cluster=os.environ.get("IN_CLUSTER") == "1", dag=None)
'''


def test_a_pod_a_factory_makes_runs_with_its_evaluated_image_and_command(tmp_path: Path):
    dag = DAG.read_text().replace("from dataplat.steps import", "from dataplat.steps import run_job,", 1).replace(
        "    orders >> ready >> totals >> exported >> done\n",
        '    job = run_job("rebuild", "1.4.2", "--since", "2024-01-01")\n    orders >> ready >> totals >> job\n', 1)
    module = MODULE.read_text().replace('        "load_returns":', '        "job_rebuild": [dg.AssetSpec(key="rebuilt")],\n'
                                                                 '        "load_returns":', 1)
    result = scaffold(tmp_path, "job_rebuild", module, steps=STEPS.read_text() + POD_FACTORY, dag=dag)
    assert result.changed, result.reason
    assert ('    yield from pipes_k8s_client.run(\n        context=context,\n'
            '        image="registry.example.com/dataplat/rebuild:1.4.2",\n'
            '        command=["python", "-m", "jobs.rebuild"],\n        namespace="jobs",\n'
            '        env={"JOB": "rebuild", "STAGE": "prod"},\n'
            '        base_pod_spec={"containers": [{"args": ["--since", "2024-01-01"]}]},\n'
            '    ).get_results()\n') in result.text


def test_a_value_the_file_computes_is_read_through_the_model(tmp_path: Path):
    """`60 * 5` is no literal for the call as written; the model computes it (the call's own
    refusal stays when the values do not help: arguments by position)."""
    dag = DAG.read_text().replace("from airflow import DAG\n", "from airflow import DAG\n"
                                  "from airflow.providers.common.sql.sensors.sql import SqlSensor\n", 1).replace(
        "    orders >> ready >> totals >> exported >> done\n",
        '    SqlSensor(task_id="wait_computed", conn_id="warehouse_db", sql="SELECT 1", poke_interval=60 * 5,\n'
        "              timeout=2 * 60 * 60)\n"
        '    SqlSensor("warehouse_db", "SELECT 1", task_id="wait_positional")\n'
        "    orders >> ready >> totals >> exported >> done\n", 1)
    project = workspace(tmp_path, dag=dag)
    path = str(tmp_path / "dags" / "factories_dag.py")
    computed, positional = (project.entry("platform").dag.task(t) for t in ("wait_computed", "wait_positional"))
    assert can_scaffold(dag, computed) == "the `poke_interval` of task `wait_computed` cannot be read statically"
    assert can_scaffold(dag, computed, dag_path=path, code=project.code) is None
    assert can_scaffold(dag, positional, dag_path=path, code=project.code) == (
        "task `wait_positional` passes arguments by position or `**`: they cannot be read statically")
    module = MODULE.read_text().replace('        "load_returns":', '        "wait_computed": [dg.AssetSpec(key="computed")],\n'
                                                                 '        "load_returns":', 1)
    result = scaffold(tmp_path, "wait_computed", module, dag=dag)
    assert result.changed, result.reason
    assert "poking every 300 s and failing after 7200 s" in result.text


def test_a_python_task_a_factory_makes_runs_the_librarys_function(tmp_path: Path):
    result = scaffold(tmp_path, "export_totals")
    assert result.changed, result.reason
    assert "    Scaffolded by airlift-lsp from dags/dataplat/steps.py (PythonOperator), with the module-level" in result.text
    assert "    def export_rows(table, delimiter=\",\"):\n" in result.text
    assert "    export_rows(table='totals', delimiter=';')\n" in result.text
    assert "SQLExecuteQueryOperator" not in result.text.split("def platform__export_totals")[1]  # only what it needs


@pytest.mark.parametrize(("old", "new", "reason"), [
    ('op_kwargs={"table": table, "delimiter": delimiter})', 'op_kwargs={"table": table, "at": os.getcwd()})',
     "the `op_kwargs` argument of task `export_totals` is only known when Airflow runs the file (`…`): "
     "`export_rows`, which the scaffold copies from its module, needs its value"),
    ('python_callable=export_rows,', 'python_callable=lambda **context: export_rows(table),',
     "task `export_totals` is made inside `export(...)`, not by a `PythonOperator(...)` call in this file: "
     "the scaffold copies an operator call written in the DAG file; port it by hand"),
], ids=["run-time", "lambda"])
def test_python_refusals(tmp_path: Path, old, new, reason):
    steps = STEPS.read_text()
    assert old in steps
    result = scaffold(tmp_path, "export_totals", steps=steps.replace(old, new, 1))
    assert not result.changed
    assert re.sub(r"\(`[^`]*`\)", "(`…`)", result.reason) == reason


def test_a_bash_task_a_factory_makes_runs_its_evaluated_command(tmp_path: Path):
    result = scaffold(tmp_path, "shell_done")
    assert result.changed, result.reason
    assert "Scaffolded by airlift-lsp from dags/factories_dag.py (BashOperator)" in result.text
    assert "mkdir -p \"$EXPORT_DIR\" && echo \"$STAGE\" > \"$EXPORT_DIR/done.txt\"" in result.text
    assert "            env={**os.environ, **{'STAGE': 'test'}},\n" in result.text  # append_env


SENSOR_FACTORY = '''

from datetime import timedelta

from airflow.sensors.external_task import ExternalTaskSensor


def wait_for(dag_id, task_id, minutes):
    """Wait for the run of ``dag_id`` that began ``minutes`` before this one."""
    return ExternalTaskSensor(task_id=f"wait_{task_id}", external_dag_id=dag_id, external_task_id=task_id,
                              execution_delta=timedelta(minutes=minutes), mode="reschedule",
                              poke_interval=60, timeout=600)
'''


def test_an_external_sensor_a_factory_makes_waits_whatever_run_its_delta_picks(tmp_path: Path):
    """A factory's ``execution_delta`` (a ``timedelta``, no literal) is not read, as for a call
    written in the DAG file: the asset waits for the external task's asset to be materialized anew."""
    dag = DAG.read_text().replace("from dataplat.steps import", "from dataplat.steps import wait_for,", 1).replace(
        "    orders >> ready >> totals >> exported >> done\n",
        '    waited = wait_for("platform", "load_orders", 30)\n    orders >> ready >> totals >> exported >> done\n', 1)
    module = MODULE.read_text().replace('        "load_returns":', '        "wait_load_orders": [dg.AssetSpec(key="orders_seen")],\n'
                                                                 '        "load_returns":', 1)
    result = scaffold(tmp_path, "wait_load_orders", module, steps=STEPS.read_text() + SENSOR_FACTORY, dag=dag)
    assert result.changed, result.reason
    assert 'specs=[dg.AssetSpec(key="orders_seen").merge_attributes(deps=[dg.AssetKey(["orders"])])],' in result.text
    assert "(ExternalTaskSensor on\n    `platform.load_orders`): depends on their assets and waits until each is materialized anew" \
        in result.text
    assert "        poke_interval=60,\n        timeout=600,\n" in result.text
    # a run chosen by a function stays refused, as in a call written in the DAG file
    steps = STEPS.read_text() + SENSOR_FACTORY.replace("execution_delta=timedelta(minutes=minutes)",
                                                       "execution_date_fn=lambda logical_date: logical_date")
    refused = scaffold(tmp_path, "wait_load_orders", module, steps=steps, dag=dag)
    assert not refused.changed and refused.reason == (
        "task `wait_load_orders` waits for a run chosen by `execution_date_fn` or for a task group: scaffold it by hand")


def test_a_closure_of_the_factory_is_lifted_with_what_it_reads(tmp_path: Path):
    result = scaffold(tmp_path, "summarize_totals")
    assert result.changed, result.reason
    body = result.text.split("def platform__summarize_totals")[1]
    # kept as written (its docstring, its f-strings), the factory's names as keyword-only parameters
    assert "    def write_summary(*, heading, table, **context):\n" \
           '        """Write ``<EXPORT_DIR>/<table>.txt``: the heading and how many rows the table holds."""\n' in body
    assert "    write_summary(heading='TOTALS BY REGION', table='totals')\n" in body  # `heading`: computed
    assert "`write_summary` is\n    defined inside a function there: it is written at its top level, given as keyword arguments what\n    it reads from that function (`heading`, `table`)." in body


def test_a_closure_whose_text_cannot_be_dedented_is_written_out_by_the_syntax_tree(tmp_path: Path):
    """A string whose lines start at the margin would change if its text were dedented."""
    steps = STEPS.read_text().replace('            out.write(f"{heading}: {count} rows\\n")\n',
                                      '            out.write(f"""{heading}:\n{count} rows\n""")\n', 1)
    assert '{heading}:\n{count}' in steps
    result = scaffold(tmp_path, "summarize_totals", steps=steps)
    assert result.changed, result.reason
    body = result.text.split("def platform__summarize_totals")[1]
    assert "    def write_summary(*, heading, table, **context):\n" in body
    assert "            out.write(f'{heading}:\\n{count} rows\\n')\n" in body  # ast.unparse's spelling


@pytest.mark.parametrize(("old", "new", "reason"), [
    ("    heading = title.upper()\n", "    heading = os.environ['HEADING']\n",
     "`write_summary`, the function of task `summarize_totals`, is defined inside `summarize` and reads its "
     "`heading`, which is only known when Airflow runs the file (`os.environ['HEADING']`): the scaffold needs "
     "its value"),
    ("        return count\n", "        nonlocal heading\n        heading = None\n        return count\n",
     "`write_summary`, the function of task `summarize_totals`, is defined inside `summarize` and `write_summary` "
     "rebinds a name of the function that defines it (`nonlocal`): port it by hand"),
    ("def shell(name, command):", "write_summary = None\n\n\ndef shell(name, command):",
     "`write_summary`, the function of task `summarize_totals`, is defined inside `summarize`, and its module "
     "binds `write_summary` too: rename one to scaffold the task"),
    ("    def write_summary(**context):\n", "    @staticmethod\n    def write_summary(**context):\n",
     "`write_summary`, the function of task `summarize_totals`, is defined inside `summarize` and is decorated: "
     "port it by hand"),
    ("    def write_summary(**context):\n", "    def write_summary(top=heading, **context):\n",
     "`write_summary`, the function of task `summarize_totals`, is defined inside `summarize` and the default "
     "values or annotations of `write_summary` read `heading` of the function that defines it: port it by hand"),
    # a closure's cell is never rendered by Airflow, though it is passed here in op_kwargs
    ("    heading = title.upper()\n", "    heading = '{{ var.value.heading }}'\n",
     "the arguments of task `summarize_totals` use Airflow Variables in Jinja, which the scaffold renders only in a "
     "call written in the DAG file (not in values written out from elsewhere): scaffold it by hand"),
], ids=["run-time", "nonlocal", "name-taken", "decorated", "default", "variables"])
def test_closure_refusals(tmp_path: Path, old, new, reason):
    steps = STEPS.read_text()
    assert old in steps
    result = scaffold(tmp_path, "summarize_totals", steps=steps.replace(old, new, 1))
    assert not result.changed and result.reason == reason


def test_a_closure_of_a_factory_the_dag_file_defines_is_lifted_from_it(tmp_path: Path):
    """The call of PythonOperator is written in the DAG file, inside its factory: the function
    is a closure, lifted from the DAG file without the loop that calls the factory."""
    project = workspace(tmp_path)
    path = tmp_path / "dags" / "regions_dag.py"
    result = scaffold_task(path.read_text(), str(path), "report_eu", "report", MODULE.read_text(),
                           module_path=str(tmp_path / "definitions.py"), code=project.code)
    assert result.changed, result.reason
    body = result.text.split("def report_eu__report")[1].split("\nreport_eu_assets")[0]
    assert "    def write_report(kind, *, label, region):\n" in body
    assert "    write_report(kind='daily', label='EU', region='eu')\n" in body
    # the same call makes report_us: its own values, not the first DAG's
    other = scaffold_task(path.read_text(), str(path), "report_us", "report", MODULE.read_text(),
                          module_path=str(tmp_path / "definitions.py"), code=project.code)
    assert other.changed, other.reason
    assert "    write_report(kind='daily', label='US', region='us')\n" in other.text
    assert "for region in REGIONS" not in body and "from airflow" not in body
    # the file as the editor holds it, unsaved: the closure is lifted from that text, not the disk's
    unsaved = path.read_text().replace('out.write(f"{kind} report for {label}\\n")', 'out.write(f"{kind}: {label}\\n")')
    assert unsaved != path.read_text()
    edited = scaffold_task(unsaved, str(path), "report_eu", "report", MODULE.read_text(),
                           module_path=str(tmp_path / "definitions.py"), code=project.code)
    assert edited.changed and 'out.write(f"{kind}: {label}\\n")' in edited.text, edited.reason
    # the lens says so without the project's code too: the DAG file alone is read with its values
    task = project.entry("report_eu").dag.task("report")
    assert can_scaffold(path.read_text(), task, dag_path=str(path), code=project.code) is None
    assert "is defined inside the DAG" in can_scaffold(path.read_text(), task)


def test_a_closures_tuples_and_sets_are_passed_as_such(tmp_path: Path):
    """A tuple the closure adds to (`heading + ("!",)`) must stay one; a sequence code makes, of
    which the model cannot tell the type, is refused."""
    steps = STEPS.read_text().replace("    heading = title.upper()\n",
                                      '    heading = (title.upper(), "by region")\n    seen = {"eu"}\n', 1).replace(
        '            out.write(f"{heading}: {count} rows\\n")\n',
        '            out.write(f"{heading + seen}: {count} rows\\n")\n', 1)
    result = scaffold(tmp_path, "summarize_totals", steps=steps)
    assert result.changed, result.reason
    assert "    write_summary(heading=('TOTALS BY REGION', 'by region'), seen={'eu'}, table='totals')\n" in result.text
    made = scaffold(tmp_path, "summarize_totals", steps=steps.replace('    seen = {"eu"}\n', '    seen = set(["eu"])\n', 1))
    assert not made.changed and made.reason == (
        "`write_summary`, the function of task `summarize_totals`, is defined inside `summarize` and reads its `seen`, "
        "which is a sequence the code makes, of which the model does not know whether it is a list, a tuple or a set: "
        "the scaffold needs its value")


OWN_MODULE = '''import dagster as dg
from dagster_airlift.core import assets_with_task_mappings

{dag}_assets = assets_with_task_mappings(dag_id="{dag}", task_mappings={{"{task}": [dg.AssetSpec(key="out")]}})
'''


def own_factory(root: Path, dag_text: str, dag_id: str, task_id: str = "t") -> EditResult:
    """A DAG file of its own (no project library), scaffolded for ``dag_id.task_id``."""
    (root / "dags").mkdir(parents=True, exist_ok=True)
    path = root / "dags" / "own.py"
    path.write_text(dag_text)
    project = discover(Layout(str(root), ("dags",), "definitions.py"))
    return scaffold_task(dag_text, str(path), dag_id, task_id, OWN_MODULE.format(dag=dag_id, task=task_id),
                         module_path=str(root / "definitions.py"), code=project.code)


OWN_HEAD = '''import pendulum
from airflow import DAG
from airflow.decorators import dag
from airflow.operators.python import PythonOperator

START = pendulum.datetime(2024, 1, 1)
BUCKET = "dev-bucket"
'''


@pytest.mark.parametrize(("body", "dag_id", "reason"), [
    ('''
@dag(start_date=START, schedule=None)
def params(env="prod"):
    def process():
        print(env)
    PythonOperator(task_id="t", python_callable=process)


params()
''', "params", "`process`, the function of task `t`, is defined inside `params` and reads its `env`, which is a "
     "parameter of its `@dag` function, which Airflow gives the run's param (a `DagParam`), only known when the "
     "DAG runs: the scaffold needs its value"),
    ('''
def make(name):
    with DAG(f"d_{name}", start_date=START, schedule=None):
        def process():
            print(BUCKET, name)
        PythonOperator(task_id="t", python_callable=process)


for name in ["one"]:
    BUCKET = "prod-bucket"
    make(name)
''', "d_one", "`process`, the function of task `t`, is defined inside `make` and the module sets `BUCKET` again in "
     "a top-level loop or `with` block, which the scaffold does not run: port it by hand"),
    ('''
def make(name):
    global TARGET
    TARGET = name
    with DAG(f"d_{name}", start_date=START, schedule=None):
        def process():
            print(TARGET)
        PythonOperator(task_id="t", python_callable=process)


make("one")
make("two")
''', "d_one", "`process`, the function of task `t`, is defined inside `make` and reads `TARGET`, which `make` "
     "declares `global`: port it by hand"),
], ids=["dag-param", "rebound-in-loop", "global"])
def test_closure_values_python_would_not_give_are_refused(tmp_path: Path, body, dag_id, reason):
    result = own_factory(tmp_path, OWN_HEAD + body, dag_id)
    assert not result.changed and result.reason == reason


def test_a_closure_the_file_binds_at_module_level_is_copied_as_before(tmp_path: Path):
    """`process = build("orders")`: the file's own name, copied with the call that makes it."""
    result = own_factory(tmp_path, OWN_HEAD + '''

def build(table):
    def process():
        print(table)
    return process


process = build("orders")

with DAG("bound", start_date=START, schedule=None):
    PythonOperator(task_id="t", python_callable=process)
''', "bound")
    assert result.changed, result.reason
    assert '    process = build("orders")\n' in result.text and "    process()\n" in result.text


def test_the_values_of_a_pod_keep_the_dags_default_args(tmp_path: Path):
    """The values the model evaluates are the call's own: the DAG's `default_args` apply to them too
    (a kube config there is the pod's cluster; tolerations there, which the client does not carry,
    refuse the task whichever way it is read)."""
    dag = textwrap.dedent('''\
        import pendulum
        from airflow import DAG
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

        ARGS = {"owner": "data", "config_file": "/srv/kube/config", "description": "ignored by the operator"}
        with DAG("pods", start_date=pendulum.datetime(2024, 1, 1), schedule=None, default_args=ARGS):
            KubernetesPodOperator(task_id="t", name="p", namespace="n", image="app:" + str(2))
        ''')
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "pods.py").write_text(dag)
    project = discover(Layout(str(tmp_path), ("dags",), None))
    task = project.entry("pods").dag.task("t")
    path = str(tmp_path / "dags" / "pods.py")
    assert can_scaffold(dag, task) is not None  # `"app:" + str(2)`: only the model computes it
    module = MODULE.read_text().replace('dag_id="platform"', 'dag_id="pods"').replace(
        '        "load_returns":', '        "t": [dg.AssetSpec(key="t")],\n        "load_returns":', 1)
    result = scaffold_task(dag, path, "pods", "t", module, code=project.code)
    assert result.changed, result.reason
    assert "pipes_k8s_client_kube_config.run(" in result.text and 'image="app:2"' in result.text
    secret = dag.replace('"owner": "data"', '"owner": "data", "tolerations": []')
    (tmp_path / "dags" / "pods.py").write_text(secret)
    task = discover(Layout(str(tmp_path), ("dags",), None)).entry("pods").dag.task("t")
    assert can_scaffold(secret, task, dag_path=path, code=project.code) == (
        "the `default_args` of the DAG of task `t` give `tolerations`, which the Pipes client does not carry: "
        "scaffold it by hand")


@pytest.mark.parametrize("task, reason", [
    # the task's own default_args, read from the model's values too
    ('FileSensor(task_id="t", filepath="/data/" + "in.csv", default_args={"soft_fail": True})',
     "task `t` sets `soft_fail`: Airflow then skips it on failure, which a Dagster run cannot tell the proxy: "
     "scaffold it by hand"),
    # in_cluster beside config_file: Airflow reads no kube config file then; the values' plan refuses
    # the task, and the refusal shown is the call's own (the task is written in the file)
    ('KubernetesPodOperator(task_id="t", image="app:" + str(2), config_file="/srv/kube/config", in_cluster=True)',
     "the `image` of task `t` is not a literal or a module-level constant (`'app:' + str(2)`): it cannot be read "
     "statically"),
    ('KubernetesPodOperator(task_id="t", image="app:" + str(2), config_file="/srv/kube/config", '
     'in_cluster=os.environ.get("IN_CLUSTER") == "1")',
     "the `image` of task `t` is not a literal or a module-level constant (`'app:' + str(2)`): it cannot be read "
     "statically"),
    # a task group's default_args, around the task whose values the model computes
    ('KubernetesPodOperator(task_id="t", image="app:" + str(2), task_group=None)', None),
])
def test_what_the_model_computes_keeps_what_the_call_says_around_it(tmp_path: Path, task, reason):
    dag = textwrap.dedent('''\
        import os
        import pendulum
        from airflow import DAG
        from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
        from airflow.sensors.filesystem import FileSensor
        from airflow.utils.task_group import TaskGroup

        with DAG("pods", start_date=pendulum.datetime(2024, 1, 1), schedule=None):
            with TaskGroup("g", default_args={"config_file": "/srv/group/config"}):
                TASK
        ''').replace("TASK", task.replace(", task_group=None", ""))
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "pods.py").write_text(dag)
    project = discover(Layout(str(tmp_path), ("dags",), None))
    facts = project.entry("pods").dag.task("g.t")
    path = str(tmp_path / "dags" / "pods.py")
    assert can_scaffold(dag, facts) is not None  # a value the file computes: only the model reads it
    assert can_scaffold(dag, facts, dag_path=path, code=project.code) == (reason and reason.replace("`t`", "`g.t`"))
    if reason is None:
        module = MODULE.read_text().replace('dag_id="platform"', 'dag_id="pods"').replace(
            '        "load_returns":', '        "g.t": [dg.AssetSpec(key="t")],\n        "load_returns":', 1)
        result = scaffold_task(dag, path, "pods", "g.t", module, code=project.code)
        assert result.changed, result.reason
        assert "pipes_k8s_client_group_config.run(" in result.text
