"""Jinja in a DAG that the project's code creates (a team's ``TtdDag``-like class, a ``make_dag``
factory): the DAG file holds no ``DAG(...)`` call, so whether Airflow renders the task's templates
as its defaults do is judged on the project's modules the DAG file runs
(``plan_dag.made_dag_rendering``). Rendered when that code gives the DAG no rendering option;
refused, saying which module does what, when it does or when it cannot be read."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from analysis.edits.scaffold import can_scaffold, scaffold_task
from analysis.project import Layout, discover

MAKER = '''\
import pendulum
from airflow import DAG


class TeamDag:
    """The team's DAG: its defaults, then Airflow's DAG."""

    def __init__(self, dag_id, retries=2, tags=None):
        self.airflow_dag = DAG(dag_id=dag_id, start_date=pendulum.datetime(2024, 1, 1), schedule=None,
                               default_args={"retries": retries}, tags=tags or [])
'''
DAG = '''\
from airflow.providers.amazon.aws.operators.athena import AthenaOperator
from airflow.operators.bash import BashOperator

from team.dags import TeamDag

team = TeamDag("made")
adag = team.airflow_dag

for table in ("events", "clicks"):
    AthenaOperator(task_id=f"repair_{table}", dag=adag, database="analytics", output_location="s3://r/out",
                   query=f"ALTER TABLE {table} ADD IF NOT EXISTS PARTITION (day='{{{{ ds_nodash }}}}');")
BashOperator(task_id="export", dag=adag, bash_command="export.sh {{ var.value.bucket }}")
'''
MODULE = '''\
import dagster as dg
from dagster_airlift.core import AirflowBasicAuthBackend, AirflowInstance, assets_with_task_mappings

airflow_instance = AirflowInstance(
    auth_backend=AirflowBasicAuthBackend(webserver_url="http://localhost:8080", username="a", password="a"),
    name="made",
)

made_assets = assets_with_task_mappings(
    dag_id="made",
    task_mappings={
        "repair_events": [dg.AssetSpec(key="events")],
        "export": [dg.AssetSpec(key="export")],
    },
)
'''


def workspace(root: Path, maker: str = MAKER, dag: str = DAG):
    (root / "dags" / "team").mkdir(parents=True)
    (root / "dags" / "team" / "__init__.py").write_text("")
    (root / "dags" / "team" / "dags.py").write_text(maker)
    (root / "dags" / "made_dag.py").write_text(dag)
    (root / "definitions.py").write_text(MODULE)
    return discover(Layout(str(root), ("dags",), "definitions.py"))


def judged(root: Path, task_id: str, maker: str = MAKER, dag: str = DAG) -> str | None:
    project = workspace(root, maker, dag)
    path = str(root / "dags" / "made_dag.py")
    return can_scaffold(dag, project.entry("made").dag.task(task_id), dag_path=path, code=project.code,
                        dag_id="made")


def test_a_dag_the_teams_class_makes_renders_the_runs_values_and_variables(tmp_path: Path):
    assert judged(tmp_path, "repair_events") is None
    assert judged(tmp_path / "b", "export") is None
    project = workspace(tmp_path / "c")
    path = str(tmp_path / "c" / "dags" / "made_dag.py")
    result = scaffold_task(DAG, path, "made", "repair_events", MODULE, module_path=str(tmp_path / "c" / "definitions.py"),
                           code=project.code)
    assert result.changed, result.reason
    assert ("_airflow_render_run(\"ALTER TABLE events ADD IF NOT EXISTS PARTITION (day='{{ ds_nodash }}');\", "
            "_airflow_run_values)") in result.text


@pytest.mark.parametrize(("change", "reason"), [
    (lambda m: m.replace("tags=tags or [])", "tags=tags or [], user_defined_macros={'ds': 1})"),
     "the DAG is made by the project's code, and dags.py gives `user_defined_macros`"),
    (lambda m: m.replace("tags=tags or [])", "**{'render_template_as_native_obj': True})"),
     "the DAG is made by the project's code, and dags.py gives a `DAG(...)` `**` arguments"),
    (lambda m: m + "        self.airflow_dag.template_undefined = object\n",
     "the DAG is made by the project's code, and dags.py uses `template_undefined`"),
    (lambda m: m + "        setattr(self.airflow_dag, 'user_defined_macros', {})\n",
     "the DAG is made by the project's code, and dags.py names `user_defined_macros`"),
    (lambda m: m + "        self.airflow_dag.__dict__.update({'user_defined_filters': {}})\n",
     "the DAG is made by the project's code, and dags.py names `user_defined_filters`"),
    (lambda m: m + "        __import__('importlib').import_module('team.render').customize(self.airflow_dag)\n",
     "the DAG is made by the project's code, and dags.py calls `import_module` (code the scaffold cannot follow)"),
    (lambda m: m.replace("class TeamDag:", "class TeamDag(DAG):"),
     "the DAG is made by the project's code, and dags.py derives `TeamDag` from `DAG`"),
    (lambda m: m.replace("from airflow import DAG", "from airflow import DAG as Maker").replace("DAG(", "Maker(")
     .replace("import pendulum", "import pendulum\nfrom elsewhere import make"),
     "the DAG is made by code the scaffold does not read (no `DAG(...)` call in the project's modules)"),
])
def test_a_maker_that_may_render_otherwise_is_refused_with_why(tmp_path: Path, change, reason):
    found = judged(tmp_path, "repair_events", maker=change(MAKER))
    assert found is not None and reason in found and "the Airflow run's values in Jinja" in found, found


def test_a_rendering_option_the_dag_file_gives_the_maker_is_refused(tmp_path: Path):
    maker = MAKER.replace("tags=None):", "tags=None, **options):").replace("tags=tags or [])", "tags=tags or [], "
                                                                           "**options)")
    dag = DAG.replace('TeamDag("made")', 'TeamDag("made", user_defined_filters={"up": str.upper})')
    found = judged(tmp_path, "export", maker=maker, dag=dag)
    assert found is not None and "the DAG file gives `user_defined_filters`" in found, found


def test_without_the_project_a_dag_made_elsewhere_is_refused(tmp_path: Path):
    project = workspace(tmp_path)
    task = project.entry("made").dag.task("export")
    assert can_scaffold(DAG, task) == textwrap.dedent("""\
        the arguments of task `export` use Airflow Variables in Jinja, and the DAG is not created by one \
`DAG(...)` or `@dag(...)` call in the DAG file, which may change how Airflow renders them: scaffold it by hand""")


def test_a_sibling_dag_of_the_file_is_not_the_makers_creation(tmp_path: Path):
    """The `DAG(...)` the judgement needs is among the project's modules: one the DAG file writes
    for another DAG does not make the maker's readable."""
    maker = MAKER.replace("from airflow import DAG", "from airflow import DAG as Maker").replace("DAG(", "Maker(")
    dag = DAG.replace("team = TeamDag", "from airflow import DAG\n\nwith DAG('archive'):\n    pass\n\nteam = TeamDag")
    found = judged(tmp_path, "repair_events", maker=maker, dag=dag)
    assert found is not None and "no `DAG(...)` call in the project's modules" in found, found


FACTORY = '''\
from airflow.providers.amazon.aws.operators.athena import AthenaOperator


def repair(dag, table):
    return AthenaOperator(task_id=f"repair_{table}", dag=dag, database="analytics", output_location="s3://r/out",
                          query=f"MSCK REPAIR TABLE {table}")
'''
FACTORY_DAG = '''\
import pendulum
from airflow import DAG

from team.tasks import repair

adag = DAG("made", start_date=pendulum.datetime(2024, 1, 1), schedule=None{options})
repair(adag, "events")
'''


@pytest.mark.parametrize(("options", "reason"), [
    (', user_defined_filters={"f": str}', None),  # no Jinja in the query: filters change nothing
    (', jinja_environment_kwargs={"keep_trailing_newline": True}', "the DAG file gives `jinja_environment_kwargs`"),
])
def test_a_factory_task_is_tied_to_the_dag_files_one_dag_of_its_id(tmp_path: Path, options, reason):
    """A project factory given the DAG object (stellar-etl's `build_..._task(dag, ...)`): its task's
    DAG is the file's one `DAG(...)` call with the task's DAG id, judged for strings without Jinja."""
    maker = MAKER  # the project's package, beside the factory
    project = workspace(tmp_path, maker, FACTORY_DAG.format(options=options))
    (tmp_path / "dags" / "team" / "tasks.py").write_text(FACTORY)
    project = discover(Layout(str(tmp_path), ("dags",), "definitions.py"))
    path = str(tmp_path / "dags" / "made_dag.py")
    found = can_scaffold(FACTORY_DAG.format(options=options), project.entry("made").dag.task("repair_events"),
                         dag_path=path, code=project.code, dag_id="made")
    assert found == reason or (reason is not None and found is not None and reason in found), found
    other = FACTORY_DAG.format(options=options).replace('DAG("made"', 'DAG(dag_id=ID')
    assert can_scaffold(other, project.entry("made").dag.task("repair_events"), dag_path=path, code=project.code,
                        dag_id="made") is not None  # an id not written out ties nothing
