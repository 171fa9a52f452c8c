"""``match`` statements in DAG files and the helpers they call: a known subject picks its case as
Python does; an unknown one makes each case's tasks conditional (the catch-all included)."""

from analysis.dags.dagfile import extract_file

HEAD = ("import os\nfrom airflow import DAG\nfrom airflow.operators.empty import EmptyOperator\n"
        "def suffix(env):\n"
        "    match env.lower():\n"
        "        case 'prod':\n"
        "            return ''\n"
        "        case 'test' | 'qa':\n"
        "            return '-test'\n"
        "        case str(other) if other.startswith('dev'):\n"
        "            return '-' + other\n"
        "        case _:\n"
        "            return '-x'\n")


def tasks(body: str) -> dict[str, tuple[bool, bool]]:
    """{task_id: (conditional, dynamic)} of the file's only DAG."""
    [dag] = extract_file("/dags/f.py", HEAD + body).dags
    return {t.task_id: (t.conditional, t.dynamic) for t in dag.tasks}


def test_a_known_subject_takes_the_case_python_takes() -> None:
    assert tasks("with DAG('d'):\n"
                 "    for env in ('PROD', 'qa', 'staging', 'dev1'):\n"
                 "        EmptyOperator(task_id=f'vacuum{suffix(env)}')\n") == {
        "vacuum": (False, False), "vacuum-test": (False, False), "vacuum-x": (False, False), "vacuum-dev1": (False, False)}


def test_an_unknown_subject_makes_every_case_conditional() -> None:
    found = tasks("with DAG('d'):\n"
                  "    match os.environ.get('ENV'):\n"
                  "        case 'prod':\n"
                  "            EmptyOperator(task_id='page')\n"
                  "            EmptyOperator(task_id='load')\n"
                  "        case _:\n"
                  "            EmptyOperator(task_id='load')\n")
    assert found == {"page": (True, False), "load": (False, False)}


def test_sequence_mapping_and_capture_patterns() -> None:
    found = tasks("CONF = {'kind': 'copy', 'tables': ['a', 'b']}\n"
                  "with DAG('d'):\n"
                  "    match CONF:\n"
                  "        case {'kind': 'move', **rest}:\n"
                  "            EmptyOperator(task_id='never')\n"
                  "        case {'kind': 'copy', 'tables': [first, *others]}:\n"
                  "            EmptyOperator(task_id=f'copy_{first}')\n"
                  "            for t in others:\n"
                  "                EmptyOperator(task_id=f'also_{t}')\n")
    assert found == {"copy_a": (False, False), "also_b": (False, False)}


def test_a_guard_on_run_time_data_is_a_condition() -> None:
    found = tasks("with DAG('d'):\n"
                  "    match 'x':\n"
                  "        case 'x' if os.environ.get('FLAG'):\n"
                  "            EmptyOperator(task_id='flagged')\n")
    assert found == {"flagged": (True, False)}
