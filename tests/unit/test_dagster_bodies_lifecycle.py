"""The deps, decommission and peering edits of a Dagster module, made with its assets' bodies set aside,
write the bytes they write on the whole text (analysis.edits.bodies_aside)."""

from __future__ import annotations

import pytest

import analysis.edits.bodies_aside as bodies_aside
from analysis.dagster.bodies import set_aside
from analysis.edits import NewMapping, add_task_mappings
from analysis.edits.asset_deps import set_asset_deps
from analysis.edits.decommission import NewJob, decommission_dag
from analysis.edits.scaffold import scaffold_task
from tests.unit.test_dagster_bodies import GROWING_DAG

DAG = GROWING_DAG  # four PythonOperator tasks t0..t3 of DAG `growing`, one callable

JOB = NewJob("growing", tuple(("growing", f"t{n}") for n in range(4)), "0 6 * * *", retries=2, retry_delay=300.0,
             comment="takes over the DAG growing")
DEPS = {("t3", "growing/t3"): [("growing", "t2"), ("raw", "orders")]}


def grown(scaffolded: int = 3) -> str:
    """The module with the four tasks mapped and the first ``scaffolded`` scaffolded (t3 stays a spec)."""
    text = add_task_mappings(None, "growing", [NewMapping(f"t{n}", ("growing", f"t{n}")) for n in range(4)]).text
    for n in range(scaffolded):
        text = scaffold_task(DAG, "/p/dags/growing.py", "growing", f"t{n}", text, module_path="/p/definitions.py").text
    return text


def whole(monkeypatch: pytest.MonkeyPatch, edit):
    with monkeypatch.context() as patch:
        patch.setattr(bodies_aside, "set_aside", lambda *args, **kwargs: None)
        return edit()


def edits(text: str):
    return {"deps": lambda: set_asset_deps(text, "growing", DEPS), "decommission": lambda: decommission_dag(text, JOB)}


@pytest.mark.parametrize("name", ["deps", "decommission"])
def test_the_edit_writes_the_same_bytes_as_on_the_whole_text(name: str, monkeypatch) -> None:
    text = grown()
    assert set_aside(text, for_edit=True) is not None
    edit = edits(text)[name]
    done = edit()
    assert done.changed and done == whole(monkeypatch, edit)
    if name == "decommission":
        assert "growing_job = define_asset_job(" in done.text and "assets_with_task_mappings" not in done.text
    else:
        assert 'deps=["growing/t2"' not in done.text and 'deps=[["growing", "t2"], ["raw", "orders"]]' in done.text


@pytest.mark.parametrize("line, written", [
    ("AssetKey = tuple", "DagsterAssetKey(["),  # the whole text imports `AssetKey` under an alias
    ("define_asset_job = print", "= dagster_define_asset_job("),
    ("growing_job = 1", "growing_job_2 = "),  # the job's name is taken
    ("growing_schedule = 1", "growing_schedule_2 = "),
    ("AssetKey = DagsterAssetKey = tuple", "DagsterAssetKey_2(["),  # the alias is taken too
    ("ScheduleDefinition = DagsterScheduleDefinition = 1", "DagsterScheduleDefinition_2("),
])
def test_a_body_naming_what_the_decommission_writes_stays_in_view(line: str, written: str, monkeypatch) -> None:
    text = grown()
    text = text.replace("\n    step(0)\n", f"\n    {line}\n    step(0)\n", 1)
    assert text.count(line) == 1
    done = decommission_dag(text, JOB)
    assert done.changed and done == whole(monkeypatch, lambda: decommission_dag(text, JOB))
    assert written in done.text


def test_nothing_to_do_is_said_of_the_text_given(monkeypatch) -> None:
    text = grown()
    once = set_asset_deps(text, "growing", DEPS).text
    again = set_asset_deps(once, "growing", DEPS)
    assert not again.changed and again.text == once and again == whole(
        monkeypatch, lambda: set_asset_deps(once, "growing", DEPS))


# -- peering a team's existing Dagster module -----------------------------------------------------

from analysis.edits.peer_code import Peer  # noqa: E402
from analysis.edits.peering import peer_module  # noqa: E402

ASSET = '''

@asset
def step_{n}(context):
    rows = [{{"part": {n}, "n": n}} for n in range(3)]
    Path("/tmp/out").write_text(json.dumps(rows))
    return len(rows)
'''
EXISTING = ("import json\nfrom pathlib import Path\n\nfrom dagster import Definitions, asset\n"
            + "".join(ASSET.format(n=n) for n in range(4)) + "\n\ndefs = Definitions(assets=[step_0, step_1, step_2, step_3])\n")
PEER = Peer("http://localhost:8080")


@pytest.mark.parametrize("line, written", [
    ("", "airflow_instance = AirflowInstance("),
    ("airflow_instance = 1", "airflow_instance_2 = AirflowInstance("),  # the variable's name is taken
    ("defs = 2", None),
    ("DagsterAirliftAirflowInstance = 3", None),
    ("quoted = " + repr(list("abcdefghijklmnop")), "os.environ.get('AIRFLOW_URL', 'http://localhost:8080')"),
])
def test_peering_writes_the_same_bytes_as_on_the_whole_text(line: str, written: str | None, monkeypatch) -> None:
    text = EXISTING.replace("    return len(rows)\n", f"    {line}\n    return len(rows)\n", 1) if line else EXISTING
    assert set_aside(text, for_edit=True) is not None or line.startswith(("airflow_instance", "defs", "Dagster"))
    done = peer_module(text, PEER)
    assert done.changed and done == whole(monkeypatch, lambda: peer_module(text, PEER))
    assert written is None or written in done.text


def test_a_definitions_built_in_a_decorated_function_stays_in_view(monkeypatch) -> None:
    text = EXISTING.replace("from dagster import Definitions, asset", "from dagster import Definitions, asset, definitions")
    text = text.replace("\n\ndefs = Definitions(assets=[step_0, step_1, step_2, step_3])\n",
                        "\n\n@definitions\ndef defs():\n    assets = [step_0, step_1, step_2, step_3]\n"
                        "    checked = list(assets)\n    return Definitions(assets=checked)\n")
    done = peer_module(text, PEER)
    assert done == whole(monkeypatch, lambda: peer_module(text, PEER))


def test_a_body_naming_the_new_definitions_variable_stays_in_view(monkeypatch) -> None:
    text = EXISTING.split("\n\ndefs = ")[0].replace("    return len(rows)\n", "    defs = 2\n    return len(rows)\n", 1) + "\n"
    done = peer_module(text, PEER)
    assert done.changed and done == whole(monkeypatch, lambda: peer_module(text, PEER))
    assert "\ndefs_2 = build_defs_from_airflow_instance(" in done.text


# -- the review's cases (stop 38) ------------------------------------------------------------------

TWO_DEFINITIONS = '''from dagster import Definitions, asset, definitions
from dagster_airlift.core import assets_with_task_mappings


@asset
def a():
    return 1


orders = [*assets_with_task_mappings(dag_id="growing", task_mappings={"t0": [a]})]
legacy = Definitions(assets=[])


@definitions
def defs():
    assets = [*orders]
    checked = list(assets)
    return Definitions(assets=checked)
'''


def test_a_definitions_built_in_a_body_keeps_the_decommission_from_choosing_another(monkeypatch) -> None:
    job = NewJob("growing", (("a",),), "0 6 * * *")
    done = decommission_dag(TWO_DEFINITIONS, job)
    assert done == whole(monkeypatch, lambda: decommission_dag(TWO_DEFINITIONS, job))
    assert done.text is None and "no single Definitions(...)" in done.reason


ALIASED = '''from dagster import Definitions{alias}, asset{more}


@asset
def a():
{body}
    x = 1
    return x


{tail}'''


@pytest.mark.parametrize("case, text", [
    ("Definitions imported as Defs, built in a @definitions function", ALIASED.format(
        alias=" as Defs", more=", definitions", body="    pass",
        tail="@definitions\ndef defs():\n    assets = [a]\n    checked = list(assets)\n    return Defs(assets=checked)\n")),
    ("AirflowInstance imported as AI, built in an asset", ALIASED.format(
        alias="", more="\nfrom dagster_airlift.core import AirflowInstance as AI, AirflowBasicAuthBackend",
        body='    inst = AI(name="x", auth_backend=AirflowBasicAuthBackend(webserver_url="u", username="a", password="b"))',
        tail="defs = Definitions(assets=[a])\n")),
    *[(f"a body line libcst reads and symtable does not: {line}", ALIASED.format(
        alias="", more="", body=f"    {line}", tail="defs = Definitions(assets=[a])\n"))
      for line in ('backend: "AirflowBasicAuthBackend" = None', 'path: "os.PathLike" = None', "del os",
                   "match 1:\n        case os:\n            pass", 'session = cast("boto3.Session", None)')],
])
def test_peering_sees_what_the_whole_text_shows_it(case: str, text: str, monkeypatch) -> None:
    done = peer_module(text, PEER)
    assert done == whole(monkeypatch, lambda: peer_module(text, PEER))


def test_a_body_building_definitions_stays_in_view_of_every_edit() -> None:
    """Map, decommission and peering each write into the module's one ``Definitions(...)``: a
    body building one (or its alias) is never set aside, whatever words the edit gives; the
    others still are."""
    long_body = "\n\n@asset\ndef b():\n    rows = [1, 2]\n    total = sum(rows)\n    doubled = total * 2\n    return doubled\n"
    for alias in ("", " as Defs"):
        text = TWO_DEFINITIONS.replace("from dagster import Definitions,", f"from dagster import Definitions{alias},")
        if alias:
            text = text.replace("legacy = Definitions(", "legacy = Defs(").replace("return Definitions(", "return Defs(")
        kept = set_aside(text + long_body, for_edit=True)
        assert kept is not None and "doubled = total * 2" not in kept.text
        assert f"return {'Defs' if alias else 'Definitions'}(assets=checked)" in kept.text
