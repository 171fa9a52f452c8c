"""Classes of misses found on the corpus of public projects (corpus/README.md), each reduced to a
small fixture under tests/fixtures/corpus_classes/dags and judged by Airflow's own DagBag run on
the same folder (on sys.path, as the DAG processor puts it)."""

from pathlib import Path

import pytest

from analysis.dags.dagfile import extract_file
from analysis.dags.modules import ProjectCode
from analysis.edits.scaffold.families import gate_of, nothing_to_migrate
from analysis.files import read_disk
from tests.conftest import FIXTURES, airflow2_python, dagbag_of

FOLDER = FIXTURES / "corpus_classes" / "dags"


def facts(environment: dict[str, str] | None = None) -> dict[str, list]:
    code = ProjectCode([str(FOLDER)], lambda p: read_disk(p).text, environment=environment)
    return {path.name: extract_file(str(path), path.read_text(encoding="utf-8"), code).dags
            for path in sorted(FOLDER.glob("*.py"))}


def model(environment: dict[str, str] | None = None) -> dict:
    return {dag.dag_id: {"file": name, "tasks": {t.task_id: list(t.upstream) for t in dag.tasks}}
            for name, dags in facts(environment).items() for dag in dags}


@pytest.mark.airflow
@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_same_dags_tasks_and_edges_as_airflow_dagbag(environment: str) -> None:
    env = {"AIRFLOW_VAR_ENVIRONMENT": environment}
    truth = dagbag_of(airflow2_python(), FOLDER, env=env)
    assert truth["import_errors"] == {}
    assert model(env) == {dag_id: {"file": d["file"], "tasks": d["tasks"]} for dag_id, d in truth["dags"].items()}
    # Who is given whose output (XComArgs): what a proxy must keep on one side.
    assert {dag.dag_id: {t.task_id: list(t.xcom_from) for t in dag.tasks} for dags in facts(env).values()
            for dag in dags} == {dag_id: d["xcom_from"] for dag_id, d in truth["dags"].items()}
    # Who can skip the tasks after it: what a proxy, which never skips, must leave in Airflow.
    assert {dag.dag_id: sorted(t.task_id for t in dag.tasks if gate_of(t) or nothing_to_migrate(t.operator)
                               and t.operator == "LatestOnlyOperator")
            for dags in facts(env).values() for dag in dags} == {
        dag_id: d["skips"] for dag_id, d in truth["dags"].items()}


def test_a_variable_the_deployment_does_not_set_leaves_the_ids_unknown_never_guessed() -> None:
    # Without AIRFLOW_VAR_ENVIRONMENT the metadata database (or the default) decides at run time.
    [dag] = facts()["env_clusters.py"]
    assert dag.dag_id == "env_clusters"
    assert all(task.dynamic for task in dag.tasks) and len(dag.tasks) == 4


def test_a_json_variable_is_decoded_as_airflow_decodes_it(tmp_path: Path) -> None:
    dag_file = tmp_path / "tables.py"
    dag_file.write_text(
        "from airflow import DAG\nfrom airflow.models import Variable\n"
        "from airflow.operators.empty import EmptyOperator\n"
        "with DAG('tables'):\n"
        "    for table in Variable.get('tables', deserialize_json=True)['names']:\n"
        "        EmptyOperator(task_id=f'load_{table}')\n"
        "    EmptyOperator(task_id=Variable.get('final', 'done'))\n")
    code = ProjectCode([str(tmp_path)], lambda p: read_disk(p).text,
                       environment={"AIRFLOW_VAR_TABLES": '{"names": ["a", "b"]}', "AIRFLOW_VAR_FINAL": "end"})
    [dag] = extract_file(str(dag_file), dag_file.read_text(), code).dags
    assert [(t.task_id, t.dynamic) for t in dag.tasks] == [("load_a", False), ("load_b", False), ("end", False)]


@pytest.mark.airflow
def test_ids_known_whatever_the_deployment_are_known_the_others_dynamic() -> None:
    folder = FIXTURES / "corpus_classes" / "runtime"
    truth = dagbag_of(airflow2_python(), folder)
    assert truth["import_errors"] == {} and set(truth["dags"]) == {"api_crossref", "api_people_ci"}
    path = folder / "config_placeholders.py"
    code = ProjectCode([str(folder)], lambda p: read_disk(p).text)
    dags = {dag.dag_id: dag for dag in extract_file(str(path), path.read_text(encoding="utf-8"), code).dags}
    assert not dags["api_crossref"].dynamic and [t.task_id for t in dags["api_crossref"].tasks] == ["etl"]
    [other] = [dag for dag_id, dag in dags.items() if dag_id != "api_crossref"]
    assert other.id_dynamic  # the deployment's name is read at run time: never guessed as "ci"


def test_builtins_given_keywords_they_do_not_fold_are_unknown_never_folded_as_plain() -> None:
    # sorted(..., reverse=True) read as sorted(...) would give certain ids in the wrong order.
    source = ("from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
              "with DAG('d'):\n"
              "    for n, name in enumerate(sorted(['a', 'b'], reverse=True)):\n"
              "        EmptyOperator(task_id=f'{n}_{name}')\n")
    [dag] = extract_file("/dags/d.py", source).dags
    assert dag.tasks and all(task.dynamic for task in dag.tasks)


@pytest.mark.parametrize(("call", "task_id"), [
    ("'{a}_x'.format(a='k', b=unknown)", "k_x"),  # b is not read: the result is known
    ("'{a.real}'.format(a=3, b=unknown)", "3"),
    ("'{a:>{w}}'.format(a='k', w=3, b=unknown)", "  k"),  # a field nested in a format spec
    ("'{0}_{a}'.format('p', a='k', b=unknown)", "p_k"),
    ("'{a}_{b}'.format(a='k', b=unknown)", None),  # b is read
    ("'{}_{a}'.format(unknown, a='k')", None),  # positional fields read the positional values
    ("'{a'.format(a='k', b=unknown)", None),  # no format at all: Python raises
])
def test_str_format_is_known_when_what_it_reads_is_known(call: str, task_id: str | None) -> None:
    source = ("from airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
              "from somewhere import unknown\n"
              f"with DAG('d'):\n    EmptyOperator(task_id={call})\n")
    [task] = extract_file("/dags/d.py", source).dags[0].tasks
    assert (task.task_id, task.dynamic) == (task_id, False) if task_id else task.dynamic


def test_named_tuples_compare_by_their_fields_never_by_identity() -> None:
    # P(1, 2) == P(1, 2) holds in Python: identity would drop `same` and make `absent` certain.
    source = ("from collections import namedtuple\nfrom airflow import DAG\n"
              "from airflow.operators.empty import EmptyOperator\n"
              "P = namedtuple('P', 'a b')\n"
              "with DAG('d'):\n"
              "    p = P(1, 2)\n"
              "    if P(1, 2) == P(1, 2):\n        EmptyOperator(task_id='same')\n"
              "    if {P(1, 2): 1}.get(P(1, 2)) is None:\n        EmptyOperator(task_id='absent')\n"
              "    if p == p:\n        EmptyOperator(task_id='itself')\n"
              "    if p == None or p == 'x':\n        EmptyOperator(task_id='never')\n")
    [dag] = extract_file("/dags/d.py", source).dags
    assert {t.task_id: t.conditional for t in dag.tasks} == {"same": True, "absent": True, "itself": False}


def test_what_a_try_block_under_a_broad_except_makes_is_conditional() -> None:
    # On Airflow 2.11 the attribute fails, the handler logs it, and the file still loads: the
    # model cannot know which statement fails, so the block's task is conditional, not certain.
    source = ("import logging\nfrom airflow import DAG\nfrom airflow.models import DagRun, XCom\n"
              "from airflow.operators.empty import EmptyOperator\n"
              "MODELS = [{'model': DagRun}]\n"
              "try:\n    from airflow.models import TaskFail\n"
              "    MODELS.append({'model': TaskFail, 'column': TaskFail.execution_date})\n"
              "except Exception as error:\n    logging.error(error)\n"
              "try:\n    from airflow.models import Pool\nexcept ImportError:\n    Pool = None\n"
              "with DAG('d'):\n"
              "    for entry in MODELS:\n"
              "        EmptyOperator(task_id=f'cleanup_{entry[\"model\"].__name__}')\n"
              "    EmptyOperator(task_id=f'cleanup_{XCom.__name__}')\n"  # the configured XCom backend's class
              "    EmptyOperator(task_id=f'cleanup_{Pool.__name__}')\n")  # an import fallback stays certain
    [dag] = extract_file("/dags/d.py", source).dags
    assert [(t.task_id, t.dynamic, t.conditional) for t in dag.tasks] == [
        ("cleanup_DagRun", False, False), ("cleanup_TaskFail", False, True),
        ("cleanup_{XCom.__name__}", True, False), ("cleanup_Pool", False, False)]


def test_a_task_made_twice_outside_any_dag_then_joined_to_one_is_a_duplicate(tmp_path: Path) -> None:
    # Found by tests/fuzz/test_fuzz_airflow.py: Airflow 3.3's DagBag raises DuplicateTaskIdFound
    # (outside a DAG, `@task` ids get no `__1` suffix; both calls end up in `d`).
    dag_file = tmp_path / "twice.py"
    dag_file.write_text(
        "from airflow.sdk import DAG, task\nfrom airflow.operators.bash import BashOperator\n"
        "@task\ndef step(*args):\n    return 1\n"
        "d = DAG(dag_id='d')\nfirst = BashOperator(task_id='first', bash_command='true', dag=d)\n"
        "a = step()\nfirst.set_upstream([a])\nb = step(a)\n")
    code = ProjectCode([str(tmp_path)], lambda p: read_disk(p).text)
    facts = extract_file(str(dag_file), dag_file.read_text(), code)
    [dag] = facts.dags
    assert sorted(t.task_id for t in dag.tasks) == ["first", "step"]
    assert [f.code for f in facts.findings if f.code == "duplicate-task-id"] == ["duplicate-task-id"]
