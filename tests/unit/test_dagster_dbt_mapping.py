"""Issue 16: a task mapped to dagster-dbt's ``@dbt_assets`` (what the dbt scaffold writes) is
mapped and executable in the static model, though its keys are only known when Dagster loads
the manifest: described by its selection and project, never given invented keys. The module is
the dbt scaffold's output on tests/fixtures/scaffold/dbt_dag.py, with a `report` task after it."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.checks import check_project
from analysis.dagster.module import AssetRef, parse_dagster_module
from analysis.describe import Stage, task_markdown, task_status
from analysis.edits.scaffold import scaffold_task
from analysis.facts import Range
from analysis.plans import plan_map, plan_proxy
from analysis.project import Layout, discover
from analysis.readiness import AssetDefinition, DagsterSide, not_ready, proxy_assets
from analysis.state.proxied_state import parse_state_file
from tests.support.plans import apply, read
from tests.support.scaffold_fixture import FIXTURES

JAFFLE = "/srv/jaffle"
BUILD = 'dbt resources selected by "resource_type:model,+customer_totals" in /srv/jaffle'
BIG = 'dbt resources selected by "big_orders" in /srv/jaffle'


@pytest.fixture
def root(tmp_path: Path) -> Path:
    dag = (FIXTURES / "dbt_dag.py").read_text().replace("__DBT_PROJECT__", JAFFLE).replace(
        "    orders >> big_orders()\n",
        "    orders >> big_orders() >> BashOperator(task_id=\"report\", bash_command=\"echo done\")\n")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "dbt_dag.py").write_text(dag)
    text = (FIXTURES / "dbt_module.py").read_text()
    for task_id in ("build_orders", "big_orders"):
        result = scaffold_task(dag, str(tmp_path / "dags" / "dbt_dag.py"), "dbt", task_id, text,
                               module_path=str(tmp_path / "definitions.py"))
        assert result.changed, result.reason
        text = result.text
    (tmp_path / "definitions.py").write_text(text)
    return tmp_path


def project(root: Path):
    return discover(Layout(str(root), ("dags",), "definitions.py"))


def test_the_dbt_entries_are_executable_described_and_read_completely(root):
    module = parse_dagster_module("definitions.py", (root / "definitions.py").read_text())
    assert module.unresolved == () and not any(m.dynamic for m in module.mappings)
    [build] = [m for m in module.mappings if m.task_id == "build_orders"]
    [ref] = build.assets
    assert (ref.key, ref.executable, ref.at_load, ref.deps) == (BUILD, True, True, None)
    assert module.assets_for("dbt", "big_orders") == (BIG,)
    assert module.named_keys("dbt", "big_orders") == ()


def test_the_task_is_mapped_and_nothing_is_to_scaffold_or_map(root):
    found = project(root)
    entry = found.entry("dbt")
    status = task_status(found, entry, entry.dag.task("build_orders"))
    assert (status.stage, status.assets) == (Stage.OBSERVED, (BUILD,))
    assert found.runnable_in_dagster("dbt", "build_orders")
    assert BUILD in task_markdown(found, entry, entry.dag.task("build_orders"))
    codes = [(f.code, f.message) for f in check_project(found)]
    assert [c for c, _ in codes if c in ("unmapped-task", "no-scaffold", "proxied-without-asset")] == [
        "unmapped-task"], codes  # only `report`, which is not mapped yet
    assert "report" in next(m for c, m in codes if c == "unmapped-task")


def test_a_task_after_dbt_is_mapped_with_no_invented_deps_and_no_drift(root):
    apply(plan_map(project(root), read, "dbt", ["report"]))
    text = (root / "definitions.py").read_text()
    assert '"report": [dg.AssetSpec(key=["dbt", "report"])]' in text or \
        '"report": [dg.AssetSpec(key=["dbt", "report"], deps=[])]' in text, text
    assert "dbt resources" not in text.split('"report"')[1].split("\n")[0]
    found = project(root)
    assert [f.message for f in check_project(found) if f.code in ("mapping-deps-drift", "unmapped-task")] == []


def test_proxy_accepts_the_dbt_task_and_check_stays_clean(root):
    plan = plan_proxy(project(root), read, "dbt", ["build_orders"])
    assert not any("AssetSpecs only" in note for note in plan.notes), plan.notes
    apply(plan)
    state = parse_state_file(str(root / "dags" / "proxied_state" / "dbt.yaml"),
                             (root / "dags" / "proxied_state" / "dbt.yaml").read_text())
    assert state.task("build_orders").proxied is True
    found = project(root)
    entry = found.entry("dbt")
    assert task_status(found, entry, entry.dag.task("build_orders")).stage is Stage.PROXIED
    errors = [(f.code, f.message) for f in check_project(found)
              if f.code in ("proxied-without-asset", "unmapped-task", "no-scaffold")]
    assert [c for c, _ in errors] == ["unmapped-task"], errors  # `report` only


def test_readiness_never_calls_dbt_assets_not_executable_and_dagster_is_not_asked_about_them(root):
    from server.peering.dagster_watch import interest_of

    found = project(root)
    entry = found.entry("dbt")
    asked = {key for interest in interest_of(found) for _, keys in interest.assets for key in keys}
    assert not any(key.startswith("dbt resources") for key in asked)
    # no key to ask Dagster about: neither "not executable" nor "ready" is claimed
    assert proxy_assets(found, entry, "build_orders") == ()
    elsewhere = {"other": AssetDefinition("other", True, "defs")}
    assert not_ready(DagsterSide("http://dagster:3000", "connected", elsewhere), (), elsewhere) == ()
    apply(plan_map(found, read, "dbt", ["report"]))
    found = project(root)
    assert proxy_assets(found, found.entry("dbt"), None) == ("dbt/report",)  # the named keys still count


def test_no_acceptance_test_is_offered_or_written_for_keys_known_only_at_load(root):
    from types import SimpleNamespace

    from analysis.edits.acceptance_test import acceptance_test
    from server.features.acceptance import offered

    dag_path, module_path = root / "dags" / "dbt_dag.py", root / "definitions.py"
    result = acceptance_test(dag_path.read_text(), str(dag_path), "dbt", "build_orders", module_path.read_text(),
                             str(module_path), str(root / "tests" / "test_build_orders.py"))
    assert result.text is None and "dagster-dbt" in result.reason
    found = project(root)
    entry = found.entry("dbt")
    assert not offered(SimpleNamespace(project=found), entry, entry.dag.task("build_orders"))


HAND = '''\
from dagster import AssetSpec, with_resources
from dagster_airlift.core import assets_with_task_mappings
from dagster_dbt import DbtProject, dbt_assets

SHOP = DbtProject(project_dir="/srv/shop")

@dbt_assets({options})
def shop(context):
    yield from ()
{after}
mapped = assets_with_task_mappings(dag_id="d", task_mappings={{"t": [shop, AssetSpec("extra")]}})
'''


@pytest.mark.parametrize(("options", "after", "described"), [
    ('manifest=SHOP.manifest_path, project=SHOP', "", 'dbt resources selected by "fqn:*" in /srv/shop'),
    ('manifest="/srv/shop/target/manifest.json", select="tag:daily", exclude="b"', "",
     'dbt resources selected by "tag:daily" except "b" in /srv/shop/target/manifest.json'),
    ('manifest=SHOP.manifest_path, project=SHOP, selector="nightly"',
     'shop = with_resources([shop], {"dbt": None})[0]', 'dbt resources of the selector "nightly" in /srv/shop'),
])
def test_the_forms_of_dbt_assets_read_as_their_selection(options, after, described):
    module = parse_dagster_module("d.py", HAND.format(options=options, after=after))
    [mapping] = module.mappings
    assert [(a.key, a.executable, a.at_load) for a in mapping.assets] == [(described, True, True),
                                                                          ("extra", False, False)]
    assert not mapping.dynamic and module.named_keys("d", "t") == ("extra",)


@pytest.mark.parametrize("after", ["shop = wrap(shop)", "shop = with_resources([other], {})[0]",
                                   "shop = with_resources([shop], {})[1]"])
def test_a_name_rebound_to_anything_else_is_not_read_as_dbt_assets(after):
    module = parse_dagster_module("d.py", HAND.format(options="manifest=SHOP.manifest_path", after=after))
    [mapping] = module.mappings
    assert mapping.dynamic and [a.key for a in mapping.assets] == ["extra"]


def test_an_external_task_sensor_waiting_for_a_dbt_task_is_refused_with_the_reason():
    sensors = FIXTURES / "sensors"
    module = (sensors / "external_module.py").read_text().replace(
        '    task_mappings={"load_orders": [dg.AssetSpec(key=["raw", "orders"])]},\n',
        '    task_mappings={"load_orders": [load_orders]},\n').replace(
        "load_assets = ", "import dagster_dbt\n\n\n@dagster_dbt.dbt_assets(manifest=\"/srv/shop/target/manifest.json\")\n"
        "def load_orders(context):\n    yield from ()\n\n\nload_assets = ")
    assert parse_dagster_module("m.py", module).assets_for("loads", "load_orders")  # read as dbt's
    result = scaffold_task((sensors / "external_dag.py").read_text(), str(sensors / "external_dag.py"), "reports",
                           "wait_for_load", module, module_path=str(sensors / "external_module.py"))
    assert result.text is None and result.reason == (
        "ExternalTaskSensor waits for `loads.load_orders`, mapped to dagster-dbt's assets, whose keys Dagster "
        "knows only when it loads the manifest: write its deps by hand")


def test_the_same_refusal_when_the_dbt_task_is_mapped_in_another_module_of_the_project():
    sensors = FIXTURES / "sensors"
    dbt = AssetRef('dbt resources selected by "fqn:*" in /srv/shop', Range.of(0, 0, 0, 0), True, at_load=True)
    result = scaffold_task((sensors / "external_dag.py").read_text(), str(sensors / "external_dag.py"), "reports",
                           "wait_for_load", (sensors / "external_module.py").read_text(),
                           module_path=str(sensors / "external_module.py"), mapped_assets=lambda d, t: (dbt,))
    assert result.text is None and result.reason == (
        "ExternalTaskSensor waits for `loads.load_orders`, mapped to dagster-dbt's assets, whose keys Dagster "
        "knows only when it loads the manifest: write its deps by hand")
