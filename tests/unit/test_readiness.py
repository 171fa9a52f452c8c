"""Readiness to proxy (analysis.readiness): the records the Dagster peering reads → sentences."""

from __future__ import annotations

from analysis.readiness import AssetDefinition, DagsterSide, not_ready

URL = "http://dagster:3000"
READY = AssetDefinition("raw_data/raw_customers", True, "definitions")
SPEC_ONLY = AssetDefinition("raw_data/raw_orders", False, "definitions")
DEFINED = {"raw_data/raw_customers": READY, "raw_data/raw_orders": SPEC_ONLY, "gone": None}


def side(state: str = "connected", definitions: dict | None = None) -> DagsterSide:
    return DagsterSide(URL, state, DEFINED if definitions is None else definitions)


def test_an_executable_asset_is_ready_and_a_spec_only_or_undefined_one_is_not():
    assert not_ready(side(), ["raw_data/raw_customers"], DEFINED) == ()
    assert not_ready(side(), ["raw_data/raw_orders", "raw_data/raw_customers", "gone"], DEFINED) == (
        ("`raw_data/raw_orders` is not executable in any code location Dagster has loaded: "
         "scaffold it or reload the code location"),
        "`gone` is not executable in any code location Dagster has loaded: scaffold it or reload the code location")


def test_dagster_unreachable_is_said_on_every_mapped_task_and_nothing_before_the_first_poll():
    assert not_ready(side("unreachable"), ["raw_data/raw_customers"], DEFINED) == (
        "Dagster at http://dagster:3000 cannot be reached: a proxied task would fail to launch",)
    assert not_ready(side("unreachable"), [], DEFINED) == ()  # unmapped: nothing to launch yet
    assert not_ready(side("connecting", {}), ["raw_data/raw_customers"], {}) == ()
    assert not_ready(side("disabled", {}), ["raw_data/raw_customers"], {}) == ()
    assert not_ready(side("unauthorized"), ["gone"], DEFINED) == ()  # the status line says it


def test_no_mapped_asset_defined_anywhere_means_the_module_is_not_loaded():
    nothing = {"raw_data/raw_customers": None, "raw_data/raw_orders": None}
    assert not_ready(side(definitions=nothing), ["raw_data/raw_orders"], nothing) == (
        "the Dagster module is not loaded by the Dagster at http://dagster:3000",)


def test_a_key_not_asked_yet_says_nothing():
    assert not_ready(side(), ["added/since/the/poll"], DEFINED) == ()


def test_the_client_reads_executable_as_the_proxy_operator_does():
    import pytest

    from server.peering.dagster_client import _definition
    from server.peering.transport import PeeringError

    node = {"isExecutable": True, "jobNames": ["__ASSET_JOB"], "repository": {"location": {"name": "defs"}}}
    assert _definition("a", node) == AssetDefinition("a", True, "defs")
    assert _definition("a", {**node, "jobNames": []}).executable is False  # in no job: nothing to launch
    assert _definition("a", {**node, "isExecutable": False}).executable is False
    assert _definition("a", {**node, "repository": None}).location is None
    with pytest.raises(PeeringError):
        _definition("a", {"isExecutable": "yes", "jobNames": []})


def test_the_assets_a_proxy_would_launch_are_those_of_the_mapped_tasks_not_yet_proxied(tmp_path, monkeypatch):
    from analysis.readiness import proxy_assets
    from server.cli.common import load_project
    from tests.unit.test_report_rows import DAG, MODULE

    monkeypatch.setenv("AIRLIFT_LSP_CACHE", "off")
    (tmp_path / "proxied_state").mkdir()
    (tmp_path / "orders.py").write_text(DAG)
    (tmp_path / "definitions.py").write_text(MODULE)
    (tmp_path / "proxied_state" / "orders.yaml").write_text(
        "tasks:\n  - id: load\n    proxied: false\n  - id: publish\n    proxied: false\n  - id: report\n    proxied: true\n")
    project = load_project(str(tmp_path))
    entry = project.entry("orders")
    assert proxy_assets(project, entry, "load") == ("raw_data/raw_customers",)
    assert proxy_assets(project, entry, "report") == ()  # proxied already
    assert proxy_assets(project, entry, "publish") == ()  # unmapped: nothing to launch
    assert proxy_assets(project, entry, None) == ("raw_data/raw_customers",)  # the DAG: its tasks not yet proxied
