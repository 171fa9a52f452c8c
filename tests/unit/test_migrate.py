"""Migration plans on small workspaces written to temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from analysis.files import read_disk
from analysis.plans import Refused, plan_enable_proxying, plan_map, plan_proxy, plan_scaffold
from analysis.project import Layout, discover
from server import cli
from tests.support.plans import apply

# Tasks that do work: an EmptyOperator has nothing to migrate, and proxying refuses it.
ORDERS = ('from airflow import DAG\nfrom airflow.operators.bash import BashOperator\n\n'
          'with DAG(dag_id="orders") as dag:\n    BashOperator(task_id="extract", bash_command="echo extract")\n')
TWO_TASKS = ORDERS + '    BashOperator(task_id="load", bash_command="echo load")\n'
LATIN_1_MODULE = ("# Dagster definitions saved as Latin-1: caf\u00e9\n"
                  "from dagster_airlift.core import build_defs_from_airflow_instance\n").encode("latin-1")


def read(path: str) -> str | None:
    return read_disk(path).text if os.path.exists(path) else None


def workspace(root: Path, files: dict[str, str | bytes]) -> None:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


# -- mapping with --asset ----------------------------------------------------------------------


def test_mapping_the_last_task_to_an_asset_twice_is_an_empty_plan(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS})
    layout = Layout(str(tmp_path), ("dags",), "definitions.py")
    plan = plan_map(discover(layout), read, "orders", None, "warehouse/orders")
    assert [Path(c.path).name for c in plan.changes] == ["definitions.py"]
    apply(plan)
    again = plan_map(discover(layout), read, "orders", None, "warehouse/orders")
    assert again.empty and again.notes == ("every task is already mapped",)


def test_one_asset_for_several_unmapped_tasks_is_refused(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": TWO_TASKS})
    with pytest.raises(Refused, match="exactly one task"):
        plan_map(discover(Layout(str(tmp_path), ("dags",))), read, "orders", None, "warehouse/orders")


def test_an_asset_key_without_parts_is_refused(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS})
    with pytest.raises(Refused, match="names no asset key"):
        plan_map(discover(Layout(str(tmp_path), ("dags",))), read, "orders", ["extract"], "//")


def test_a_task_named_twice_is_mapped_once(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS})
    plan = plan_map(discover(Layout(str(tmp_path), ("dags",))), read, "orders", ["extract", "extract"])
    [change] = plan.changes
    assert change.new_text.count('"extract": [') == 1


# -- files that exist but cannot be read are never "created" over ------------------------------


@pytest.mark.parametrize("module", ["definitions.py", None], ids=["configured", "discovered"])
@pytest.mark.parametrize("content", [LATIN_1_MODULE, b"assets_with_task_mappings\x00binary"],
                         ids=["latin-1", "nul"])
def test_map_refuses_to_overwrite_an_undecodable_dagster_module(tmp_path: Path, module, content) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS, "definitions.py": content})
    project = discover(Layout(str(tmp_path), ("dags",), module))
    assert str(tmp_path / "definitions.py") in project.unreadable_dagster_modules
    with pytest.raises(Refused, match="definitions.py") as refusal:
        plan_map(project, read, "orders", ["extract"])
    assert "UTF-8" in str(refusal.value)
    assert (tmp_path / "definitions.py").read_bytes() == content


def test_map_refuses_to_create_a_second_module_beside_an_undecodable_one(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS, "pipelines/defs.py": LATIN_1_MODULE})
    with pytest.raises(Refused, match=r"pipelines/defs\.py looks like the Dagster module"):
        plan_map(discover(Layout(str(tmp_path), ("dags",))), read, "orders", ["extract"])
    assert not (tmp_path / "definitions.py").exists()


def test_map_refuses_to_create_the_module_over_any_unreadable_file(tmp_path: Path) -> None:
    # Not recognisable as a Dagster module, but something is there all the same.
    workspace(tmp_path, {"dags/orders.py": ORDERS, "definitions.py": b"\xff\xfe nothing to see"})
    with pytest.raises(Refused, match="refusing to overwrite .*definitions.py: it exists but is not valid"):
        plan_map(discover(Layout(str(tmp_path), ("dags",))), read, "orders", ["extract"])


def test_a_readable_module_is_edited_even_beside_an_undecodable_one(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS, "old/defs.py": LATIN_1_MODULE})
    layout = Layout(str(tmp_path), ("dags",))
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "definitions.py").write_text(
        plan_map(discover(Layout(str(tmp_path), ("dags",), "x.py")), read, "orders", ["extract"])
        .changes[0].new_text, encoding="utf-8")
    project = discover(layout)
    assert project.primary_dagster_module.path == str(tmp_path / "new" / "definitions.py")
    plan = plan_map(project, read, "orders", ["extract"])
    assert plan.empty  # mapped already, in the readable module: no refusal, nothing to do


def test_enable_proxying_refuses_to_create_a_state_file_over_a_folder(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS})
    (tmp_path / "dags" / "proxied_state" / "orders.yaml").mkdir(parents=True)
    with pytest.raises(Refused, match="orders.yaml: it exists but"):
        plan_enable_proxying(discover(Layout(str(tmp_path), ("dags",))), read, "orders")


def test_scaffold_refuses_an_undecodable_configured_module(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS, "definitions.py": LATIN_1_MODULE})
    with pytest.raises(Refused, match="looks like the Dagster module, but it is not valid"):
        plan_scaffold(discover(Layout(str(tmp_path), ("dags",), "definitions.py")), read, "orders", "extract")


def test_proxy_refuses_before_writing_anything_when_the_task_is_unmapped(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS, "definitions.py": LATIN_1_MODULE})
    with pytest.raises(Refused, match="map `extract`"):
        plan_proxy(discover(Layout(str(tmp_path), ("dags",), "definitions.py")), read, "orders")


def test_cli_map_leaves_an_undecodable_module_alone(tmp_path: Path, monkeypatch, capsys) -> None:
    workspace(tmp_path, {"dags/orders.py": ORDERS, "definitions.py": LATIN_1_MODULE,
                         "pyproject.toml": '[tool.airlift-lsp]\ndagFolders = ["dags"]\n'})
    monkeypatch.chdir(tmp_path)
    assert cli.main(["map", "orders", "extract"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "definitions.py" in error and "Traceback" not in error
    assert (tmp_path / "definitions.py").read_bytes() == LATIN_1_MODULE


MODULE_LISTING = ('from dagster import AssetSpec, Definitions\n'
                  'from dagster_airlift.core import assets_with_task_mappings, build_defs_from_airflow_instance\n\n'
                  'defs = build_defs_from_airflow_instance(\n    airflow_instance=airflow_instance,\n'
                  '    defs=Definitions(assets=[\n        *assets_with_task_mappings(dag_id="orders", task_mappings={\n'
                  '            "extract": ASSETS,\n        }),\n    ]),\n)\n')


@pytest.mark.parametrize(("assets", "reason"), [("[]", "with no asset"), ("SPECS", "cannot be read statically")])
def test_a_task_listed_without_assets_is_refused_not_skipped(tmp_path: Path, assets: str, reason: str) -> None:
    workspace(tmp_path, {"dags/orders.py": TWO_TASKS, "definitions.py": MODULE_LISTING.replace("ASSETS", assets)})
    project = discover(Layout(str(tmp_path), ("dags",)))
    with pytest.raises(Refused, match=rf"`extract` is already in the task_mappings .*line 8\) .*{reason}"):
        plan_map(project, read, "orders")
    plan = plan_map(project, read, "orders", ["load"])  # the other task still maps
    assert '"load": [AssetSpec' in plan.changes[0].new_text


def test_a_dag_id_longer_than_airflow_allows_is_refused() -> None:
    """`<id>.yaml` past 255 bytes cannot be written (found by fuzzing the plans)."""
    from analysis.plans import MAX_DAG_ID, Refused, check_dag_id

    check_dag_id("d" * MAX_DAG_ID)
    with pytest.raises(Refused, match="longer than Airflow's 250 characters"):
        check_dag_id("d" * (MAX_DAG_ID + 1))


# -- a switch is written, or refused ---------------------------------------------------------


SHARED_FLAG = "tasks:\n  - id: extract\n    proxied: &off false\n  - id: load\n    proxied: *off\n"


def test_a_proxy_the_state_file_cannot_take_is_refused_not_claimed(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": TWO_TASKS, "dags/proxied_state/orders.yaml": SHARED_FLAG})
    layout = Layout(str(tmp_path), ("dags",), "definitions.py")
    apply(plan_map(discover(layout), read, "orders", None))
    with pytest.raises(Refused, match=r"could not write `proxied: true` for `extract` into orders.yaml"):
        plan_proxy(discover(layout), read, "orders", ["extract"])
    assert read(str(tmp_path / "dags/proxied_state/orders.yaml")) == SHARED_FLAG


def test_an_empty_task_list_written_as_a_string_takes_the_proxy(tmp_path: Path) -> None:
    workspace(tmp_path, {"dags/orders.py": TWO_TASKS, "dags/proxied_state/orders.yaml": "# kept\ntasks: ''\n"})
    layout = Layout(str(tmp_path), ("dags",), "definitions.py")
    apply(plan_map(discover(layout), read, "orders", None))
    apply(plan_proxy(discover(layout), read, "orders", ["load"]))
    project = discover(layout)
    entry = next(e for e in project.entries if e.dag_id == "orders")
    assert [t.task_id for t in entry.dag.tasks if project.is_proxied(entry, t)] == ["load"]
    assert read(str(tmp_path / "dags/proxied_state/orders.yaml")).startswith("# kept\ntasks:\n")
