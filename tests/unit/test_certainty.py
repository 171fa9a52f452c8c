"""Certain, conditional, dynamic: what exists on every import, and what only sometimes.

An edit may only name tasks that exist on every import (dagster-airlift fails the DAG's import
for a state-file entry naming a task the DAG lacks); everything made under a runtime condition
is *conditional*, everything whose id is only known at run time *dynamic*.
"""

from analysis.dags.dagfile import extract_file

HEAD = ("import os\nfrom datetime import datetime\nfrom airflow import DAG\n"
        "from airflow.models import Variable\nfrom airflow.operators.empty import EmptyOperator\n")


def tasks(body: str, head: str = HEAD) -> dict[str, tuple[bool, bool]]:
    """{task_id: (conditional, dynamic)} of the file's only DAG."""
    facts = extract_file("/dags/f.py", head + body)
    [dag] = facts.dags
    return {t.task_id: (t.conditional, t.dynamic) for t in dag.tasks}


def dag_of(body: str):
    [dag] = extract_file("/dags/f.py", HEAD + body).dags
    return dag


def test_a_task_under_an_unknown_if_is_conditional_and_says_why() -> None:
    dag = dag_of(
        "with DAG('nightly') as dag:\n"
        "    base = EmptyOperator(task_id='base')\n"
        "    if os.environ.get('ENV') == 'prod':\n"
        "        base >> EmptyOperator(task_id='notify_oncall')\n")
    base, notify = dag.task("base"), dag.task("notify_oncall")
    assert base.certain and not notify.certain
    assert notify.condition == "`os.environ.get('ENV') == 'prod'`"
    assert notify.upstream == ("base",) and notify.conditional_upstream == ("base",)


def test_known_conditions_decide_and_create_nothing_conditional() -> None:
    assert tasks(
        "PROD = False\n"
        "with DAG('d') as dag:\n"
        "    if PROD:\n"
        "        EmptyOperator(task_id='prod_only')\n"
        "    else:\n"
        "        EmptyOperator(task_id='dev_only')\n") == {"dev_only": (False, False)}


def test_the_same_task_in_every_branch_of_an_exhaustive_chain_is_certain() -> None:
    found = tasks(
        "with DAG('d') as dag:\n"
        "    if Variable.get('mode') == 'a':\n"
        "        last = EmptyOperator(task_id='last', retries=1)\n"
        "    elif Variable.get('mode') == 'b':\n"
        "        last = EmptyOperator(task_id='last', retries=2)\n"
        "    else:\n"
        "        last = EmptyOperator(task_id='last')\n"
        "        extra = EmptyOperator(task_id='extra')\n"
        "    first = EmptyOperator(task_id='first')\n"
        "    first >> last\n")
    assert found == {"last": (False, False), "extra": (True, False), "first": (False, False)}
    dag = dag_of(
        "with DAG('d') as dag:\n"
        "    if Variable.get('mode') == 'a':\n"
        "        last = EmptyOperator(task_id='last')\n"
        "    else:\n"
        "        last = EmptyOperator(task_id='last')\n"
        "    EmptyOperator(task_id='first') >> last\n")
    assert dag.task("last").conditional_upstream == ()  # `last` is bound alike in both branches


def test_without_an_else_the_chain_is_not_exhaustive() -> None:
    assert tasks(
        "with DAG('d') as dag:\n"
        "    if Variable.get('a'):\n"
        "        EmptyOperator(task_id='t')\n"
        "    elif Variable.get('b'):\n"
        "        EmptyOperator(task_id='t')\n") == {"t": (True, False)}


def test_list_items_appended_under_a_condition_make_conditional_tasks() -> None:
    assert tasks(
        "TABLES = ['orders', 'customers']\n"
        "if Variable.get('extra') == 'yes':\n"
        "    TABLES.append('refunds')\n"
        "with DAG('d') as dag:\n"
        "    for table in TABLES:\n"
        "        EmptyOperator(task_id=f'load_{table}')\n") == {
        "load_orders": (False, False), "load_customers": (False, False), "load_refunds": (True, False)}


def test_a_name_assigned_under_a_condition_gives_a_dynamic_id_never_a_guess() -> None:
    found = tasks(
        "SUFFIX = 'a'\n"
        "if os.environ.get('X'):\n"
        "    SUFFIX = 'b'\n"
        "SCHEDULE = '@daily'\n"
        "if os.environ.get('Y'):\n"
        "    SCHEDULE = None\n"
        "with DAG('d', schedule=SCHEDULE) as dag:\n"
        "    EmptyOperator(task_id='t_' + SUFFIX)\n"
        "    EmptyOperator(task_id='plain')\n")
    # The task exists either way; its id is not known (t_a or t_b). A schedule chosen under a
    # condition changes nothing about which DAG and tasks exist.
    assert found == {"{'t_' + SUFFIX}": (False, True), "plain": (False, False)}


def test_a_dag_chosen_under_a_condition_makes_its_tasks_conditional() -> None:
    facts = extract_file("/dags/f.py", HEAD +
                         "first = DAG('first')\nsecond = DAG('second')\ntarget = first\n"
                         "if Variable.get('x'):\n    target = second\n"
                         "EmptyOperator(task_id='t', dag=target)\n")
    [task] = [t for d in facts.dags for t in d.tasks]
    assert task.conditional and facts.dags[1].task("t") is not None


def test_loops_over_run_time_data_and_while_loops_are_conditional() -> None:
    found = tasks(
        "import json\n"
        "NAMES = json.loads(open('x').read())\n"
        "with DAG('d') as dag:\n"
        "    for name in NAMES:\n"
        "        EmptyOperator(task_id=f'load_{name}')\n"
        "        EmptyOperator(task_id='constant_in_loop')\n"
        "    while Variable.get('more'):\n"
        "        EmptyOperator(task_id='polled')\n")
    assert found == {"load_{name}": (True, True), "constant_in_loop": (True, False), "polled": (True, False)}


def test_comprehension_filters_unknown_until_run_time_make_conditional_tasks() -> None:
    found = tasks(
        "with DAG('d') as dag:\n"
        "    made = [EmptyOperator(task_id=f'x_{i}') for i in range(3) if Variable.get(str(i))]\n"
        "    kept = [EmptyOperator(task_id=f'y_{i}') for i in range(2) if i > 0]\n")
    assert found == {"x_0": (True, False), "x_1": (True, False), "x_2": (True, False), "y_1": (False, False)}


def test_an_early_return_under_a_condition_makes_the_rest_of_the_helper_conditional() -> None:
    found = tasks(
        "def add_tasks(dag, env):\n"
        "    EmptyOperator(task_id='always', dag=dag)\n"
        "    if env != 'prod':\n"
        "        return\n"
        "    EmptyOperator(task_id='prod_only', dag=dag)\n"
        "with DAG('d') as dag:\n"
        "    add_tasks(dag, os.environ['ENV'])\n"
        "    add_tasks_known = None\n")
    assert found == {"always": (False, False), "prod_only": (True, False)}


def test_a_helper_returning_under_a_condition_gives_an_uncertain_value() -> None:
    found = tasks(
        "def pick():\n"
        "    if Variable.get('x'):\n"
        "        return 'a'\n"
        "    return 'b'\n"
        "with DAG('d') as dag:\n"
        "    EmptyOperator(task_id=pick())\n")
    assert found == {"{b}": (False, True)}


def test_duplicates_are_errors_only_when_both_tasks_certainly_exist() -> None:
    def codes(body: str) -> list[tuple[str, str]]:
        return [(f.code, f.severity.value) for f in extract_file("/dags/f.py", HEAD + body).findings
                if f.code == "duplicate-task-id"]

    assert codes("with DAG('d') as dag:\n    EmptyOperator(task_id='a')\n    EmptyOperator(task_id='a')\n") \
        == [("duplicate-task-id", "error")]
    assert codes("with DAG('d') as dag:\n"
                 "    if Variable.get('x'):\n        EmptyOperator(task_id='a')\n"
                 "    else:\n        EmptyOperator(task_id='a')\n") == []
    assert codes("with DAG('d') as dag:\n    EmptyOperator(task_id='a')\n"
                 "    if Variable.get('x'):\n        EmptyOperator(task_id='a')\n") == [("duplicate-task-id", "warning")]
    # Ids the model cannot fold are never compared by their text.
    assert codes("import re\nwith DAG('d') as dag:\n"
                 "    for e in ['A b', 'C d']:\n"
                 "        EmptyOperator(task_id='s_{}'.format(re.sub(r'\\W', '_', e.swapcase())))\n") == []


def test_a_dag_hidden_by_a_later_binding_is_not_visible_to_the_hook() -> None:
    facts = extract_file("/dags/f.py", HEAD +
                         "with DAG('first') as dag:\n    EmptyOperator(task_id='a')\n"
                         "with DAG('second') as dag:\n    EmptyOperator(task_id='b')\n")
    first, second = facts.dags
    assert first.global_name is None and first.binding == ("alias", 5, "dag")
    assert second.global_name == "dag"


def test_dags_put_in_globals_by_a_factory_loop_are_visible() -> None:
    facts = extract_file("/dags/f.py", HEAD +
                         "def make(name):\n"
                         "    with DAG(f'load_{name}') as dag:\n"
                         "        EmptyOperator(task_id='t')\n"
                         "    return dag\n"
                         "for name in ['a', 'b']:\n"
                         "    globals()[f'load_{name}'] = make(name)\n")
    assert [(d.dag_id, d.global_name) for d in facts.dags] == [("load_a", "load_a"), ("load_b", "load_b")]


def test_unbound_dags_know_where_an_edit_can_bind_them() -> None:
    facts = extract_file("/dags/f.py", HEAD + "from airflow.decorators import dag, task\n"
                         "with DAG('plain'):\n    EmptyOperator(task_id='a')\n"
                         "@dag(dag_id='flow')\ndef flow():\n    EmptyOperator(task_id='b')\nflow()\n")
    assert [(d.dag_id, d.global_name, d.binding) for d in facts.dags] == [
        ("plain", None, ("with", 6, 0)), ("flow", None, ("call", 11, None))]


def test_enumerate_over_a_list_with_a_conditional_item_shifts_the_later_indexes() -> None:
    assert tasks(
        "DIRS = ['/logs']\n"
        "if Variable.get('child') == 'true':\n"
        "    DIRS.append('/child')\n"
        "DIRS.append('/other')\n"
        "with DAG('d') as dag:\n"
        "    for i, d in enumerate(DIRS):\n"
        "        EmptyOperator(task_id='dir_' + str(i))\n") == {
        "dir_0": (False, False), "dir_1": (True, False), "dir_{str(i)}": (False, True)}
