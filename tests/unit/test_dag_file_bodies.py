"""The DAG file's edits (the proxying hook, pausing a DAG, binding DAGs to names) are made with the
file's function bodies set aside, and write the bytes they write on the whole text
(analysis.edits.bodies_aside, ``every_function``)."""

from __future__ import annotations

import pytest

import analysis.edits.bodies_aside as bodies_aside
from analysis.dagster.bodies import set_aside
from analysis.edits.dag_globals import bind_dags
from analysis.edits.pause_dag import pause_dag
from analysis.edits.proxying_hook import add_proxying_hook

CALLABLE = '''

def step_{n}(**context):
    """Step {n}."""
    rows = [{{"part": {n}, "n": n}} for n in range(3)]
    print(json.dumps(rows))
    return len(rows)
'''

HEAD = "import json\nfrom datetime import datetime\n\nfrom airflow import DAG\nfrom airflow.operators.python import PythonOperator\n"


def dag_file(callables: str = "", head: str = HEAD, tasks: int = 3) -> str:
    body = "".join(CALLABLE.format(n=n) for n in range(tasks)) + callables
    return head + body + '\n\nwith DAG("d", start_date=datetime(2024, 1, 1), schedule=None) as dag:\n' + "".join(
        f'    t{n} = PythonOperator(task_id="t{n}", python_callable=step_{n})\n' for n in range(tasks))


def whole(monkeypatch: pytest.MonkeyPatch, text: str, edit=add_proxying_hook):
    with monkeypatch.context() as patch:
        patch.setattr(bodies_aside, "set_aside", lambda *args, **kwargs: None)
        return edit(text)


def test_the_callables_are_set_aside_and_the_hook_is_the_same(monkeypatch) -> None:
    text = dag_file(tasks=12)
    assert set_aside(text, for_edit=True) is None  # undecorated: not an asset of a Dagster module
    aside = set_aside(text, for_edit=True, every_function=True)
    assert aside is not None and len(aside.bodies) == 12
    done = add_proxying_hook(text)
    assert done.changed and done == whole(monkeypatch, text)
    assert "PythonOperator\nfrom dagster_airlift.in_airflow import proxying_to_dagster\n" in done.text
    assert done.text.endswith('load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"),\n)\n')
    assert all(f"def step_{n}(**context):\n    \"\"\"Step {n}.\"\"\"" in done.text for n in range(12))


@pytest.mark.parametrize("case, callables, head", [
    ("single quotes in the bodies: the folder is written 'proxied_state'",
     "\n\ndef quoted():\n    a = ['a', 'b', 'c', 'd']\n    b = ['e', 'f', 'g', 'h']\n    c = ['i', 'j', 'k', 'l']\n"
     "    return a + b + c\n", HEAD),
    ("a body importing Path itself", "\n\ndef local():\n    from pathlib import Path\n    p = Path('.')\n    return p\n",
     HEAD),
    ("a body reading Path, never imported", "\n\ndef unbound():\n    p = Path('.')\n    q = p / 'x'\n    return q\n",
     HEAD),
    ("a body binding a global", "\n\ndef switch():\n    global PROXYING\n    PROXYING = True\n    return PROXYING\n",
     HEAD),
    ("a hook called in a function", "\n\ndef hook():\n    from dagster_airlift.in_airflow import proxying_to_dagster\n"
     "    proxying_to_dagster(global_vars=globals(), proxied_state={})\n    return None\n", HEAD),
    ("CRLF", "", HEAD),
])
def test_the_hook_is_the_same_as_on_the_whole_text(case: str, callables: str, head: str, monkeypatch) -> None:
    text = dag_file(callables, head)
    if case == "CRLF":
        text = text.replace("\n", "\r\n")
    done = add_proxying_hook(text)
    assert done.changed and done == whole(monkeypatch, text)
    assert ("'proxied_state'" in done.text) == ("'proxied_state'" in case)
    again = add_proxying_hook(done.text)
    assert not again.changed and again == whole(monkeypatch, done.text)


def test_a_switched_off_hook_is_switched_on_as_on_the_whole_text(monkeypatch) -> None:
    text = dag_file(head=HEAD + "from pathlib import Path\n\nfrom dagster_airlift.in_airflow import "
                    "proxying_to_dagster, load_proxied_state_from_yaml\n\nPROXYING = False\n") + (
        "\nif PROXYING:\n    proxying_to_dagster(global_vars=globals(), "
        "proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / 'proxied_state'))\n")
    done = add_proxying_hook(text)
    assert done.changed and "PROXYING = True\n" in done.text and done == whole(monkeypatch, text)


FACTORY = dag_file(tasks=6) + '''

def make(name):
    """A DAG made in a function: its body holds the call that is paused."""
    with DAG(name, start_date=datetime(2024, 1, 1), schedule=None) as made:
        PythonOperator(task_id="only", python_callable=step_0)
    return made


@dag(schedule=None, start_date=datetime(2024, 1, 1))
def decorated():
    """A DAG made by @dag: its decorator is paused."""
    rows = step_1()
    return rows


made = make("made")
decorated()
'''


@pytest.mark.parametrize("target", ['with DAG("d"', "    with DAG(name", "def decorated"])
def test_pausing_a_dag_is_the_same_as_on_the_whole_text(target: str, monkeypatch) -> None:
    line = next(n for n, text in enumerate(FACTORY.splitlines()) if text.startswith(target))
    character = FACTORY.splitlines()[line].index("DAG(") if "DAG(" in target else 0
    assert set_aside(FACTORY, for_edit=True, every_function=True) is not None

    def pause(text: str):
        return pause_dag(text, line, character, "decommissioned: Dagster runs it now")

    done = pause(FACTORY)
    assert done.changed and done == whole(monkeypatch, FACTORY, pause)
    assert "is_paused_upon_creation=True" in done.text.splitlines()[line + 1 if target != "def decorated" else line]
    again = pause(done.text)
    assert not again.changed and again == whole(monkeypatch, done.text, pause)


def test_binding_dags_to_names_is_the_same_as_on_the_whole_text(monkeypatch) -> None:
    text = FACTORY.replace(") as dag:\n", "):\n", 1)
    lines = text.splitlines()
    bindings = [("with", lines.index(next(t for t in lines if t.startswith('with DAG("d"'))), 0, "d_dag"),
                ("call", lines.index("decorated()"), None, "decorated_dag"),
                ("alias", lines.index('made = make("made")'), "made", "made_dag")]

    def bind(text: str):
        return bind_dags(text, bindings)

    done = bind(text)
    assert done.changed and done == whole(monkeypatch, text, bind)
    assert 'as d_dag:' in done.text and "decorated_dag = decorated()" in done.text and "made_dag = made\n" in done.text


# -- the review's cases (stop 38) ------------------------------------------------------------------

QUOTES_IN_FSTRINGS = '''from airflow import DAG


def step(x):
    a = f"{x['a']}"
    b = f"{x['b']}"
    c = f"{x['c']}"
    return "z"


with DAG("d") as dag:
    pass
'''
SINGLE_QUOTED_BODY = '''from airflow import DAG


def step(x):
    a = ['a', 'b']
    b = ['c', 'd']
    return a


with DAG("d") as dag:
    pass
'''


@pytest.mark.parametrize("case, text", [
    ("strings inside f-strings count, as libcst counts them", QUOTES_IN_FSTRINGS),
    ("CR-only line breaks", SINGLE_QUOTED_BODY.replace("\n", "\r")),
    ("a lone CR on the first line", SINGLE_QUOTED_BODY.replace("\n", "\r", 1)),
])
def test_the_quote_of_the_bodies_set_aside_still_counts(case: str, text: str, monkeypatch) -> None:
    done = add_proxying_hook(text)
    assert done.changed and done == whole(monkeypatch, text)
    assert "'proxied_state'" in done.text


def test_a_form_feed_that_libcst_cannot_indent_with_is_refused_in_a_sentence() -> None:
    done = add_proxying_hook("from airflow import DAG\n\n\nwith DAG('d') as dag:\n\f    pass\n")
    assert done.text is None and not done.changed
    assert done.reason.startswith("the DAG file cannot be edited: libcst reads its indentation as invalid")
    assert done.reason.endswith("remove the form feed")


def test_a_body_too_deep_for_libcst_no_longer_stops_the_hook(monkeypatch) -> None:
    # Known difference: the whole text refuses ("nests too deeply"); set aside, the body is copied back
    # as it was and the hook is added.
    text = "from airflow import DAG\n\n\ndef step(x):\n    a = 1\n    y = " + " + ".join(["x"] * 1000) + \
        "\n    return y\n\n\nwith DAG('d') as dag:\n    pass\n"
    assert whole(monkeypatch, text).reason == "the DAG file nests too deeply to edit"
    done = add_proxying_hook(text)
    assert done.changed and done.text.startswith("from airflow import DAG\n") and " + ".join(["x"] * 1000) in done.text
