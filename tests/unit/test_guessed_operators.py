"""Calls with ``task_id=`` to classes of libraries the model does not read: an operator named so
(``...Operator``, ``...Sensor``) is one; anything else is a guess, and a real operator with the same
id wins over it instead of making a false ``duplicate-task-id`` error."""

from analysis.dags.dagfile import extract_file
from analysis.facts import Severity

HEAD = ("from airflow import DAG\nfrom airflow.operators.python import PythonOperator\n"
        "from jobkit import JobBuilder, Thing\nfrom company.ops import CopyOperator\n")


def read(body: str):
    facts = extract_file("/dags/f.py", HEAD + body)
    [dag] = facts.dags
    found = [(f.severity, f.message) for f in facts.findings if f.code == "duplicate-task-id"]
    return {t.task_id: (t.operator, t.upstream) for t in dag.tasks}, found


def test_an_operator_wins_over_a_job_builder_given_its_id() -> None:
    for order in ("job = JobBuilder(task_id='run').build()\n    PythonOperator(task_id='run', python_callable=print)\n",
                  "PythonOperator(task_id='run', python_callable=print)\n    JobBuilder(task_id='run')\n"):
        tasks, found = read("with DAG('d'):\n    " + order)
        assert tasks == {"run": ("PythonOperator", ())}
        [(severity, message)] = found
        assert severity == Severity.INFORMATION and "`JobBuilder(...)`" in message


def test_the_operator_keeps_the_guess_edges() -> None:
    tasks, _ = read("with DAG('d'):\n"
                    "    first = PythonOperator(task_id='first', python_callable=print)\n"
                    "    first >> Thing(task_id='run')\n"
                    "    PythonOperator(task_id='run', python_callable=print)\n")
    assert tasks["run"] == ("PythonOperator", ("first",))


def test_two_guesses_with_one_id_are_a_warning_and_two_operators_an_error() -> None:
    _, found = read("with DAG('d'):\n    Thing(task_id='a')\n    JobBuilder(task_id='a')\n")
    assert [severity for severity, _ in found] == [Severity.WARNING]
    _, found = read("with DAG('d'):\n    CopyOperator(task_id='a')\n    CopyOperator(task_id='a')\n")
    assert [severity for severity, _ in found] == [Severity.ERROR]
