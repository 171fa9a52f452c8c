"""A plan derives every fact it uses about a file from the very text it edits.

The project model may be older than a file (a buffer typed into within the debounce, a file
changed on disk with no watcher event): the plan then reads the file's facts again from its
current text, instead of placing an edit by the old text's positions. ``sources`` (the text
each of the project's facts came from) lets a plan keep the facts of unchanged files."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.plans import files as plan_files
from analysis.files import read_disk
from analysis.plans import Refused, plan_enable_proxying, plan_map, plan_proxy, plan_rollback
from analysis.project import Layout, Project, discover
from analysis.source import Decoded

ORDERS = ("from airflow.decorators import dag, task\n"
          "\n"
          "\n"
          "@dag(dag_id='orders')\n"
          "def orders():\n"
          "    @task\n"
          "    def extract():\n"
          "        pass\n"
          "\n"
          "    @task\n"
          "    def load():\n"
          "        pass\n"
          "\n"
          "    extract() >> load()\n"
          "\n"
          "\n"
          "orders()\n")
MOVED = "# reformatted by a teammate\n" + ORDERS.replace("\n\norders()\n", "\nprint('orders loaded')\norders()\n")
STATE = "tasks:\n  - id: extract\n    proxied: true\n  - id: load\n    proxied: false\n"
MODULE = ("from dagster import AssetSpec, Definitions\n"
          "from dagster_airlift.core import assets_with_task_mappings\n"
          "\n"
          "defs = Definitions(assets=[\n"
          "    *assets_with_task_mappings(dag_id='orders', task_mappings={\n"
          "        'extract': [AssetSpec(key='raw_orders')],\n"
          "    }),\n"
          "])\n")
BOTH_MAPPED = MODULE.replace("        'extract': [AssetSpec(key='raw_orders')],\n",
                             "        'extract': [AssetSpec(key='raw_orders')],\n"
                             "        'load': [AssetSpec(key='orders')],\n")


def read(path: str) -> str | None:
    return read_disk(path).text


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "dags" / "proxied_state").mkdir(parents=True)
    (tmp_path / "dags" / "orders.py").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "dags" / "proxied_state" / "orders.yaml").write_text(STATE, encoding="utf-8")
    (tmp_path / "definitions.py").write_text(MODULE, encoding="utf-8")
    return tmp_path


def indexed(root: Path) -> tuple[Project, dict[str, str]]:
    """The project as an index read it, with the text each file's facts came from."""
    sources: dict[str, str] = {}

    def reading(path: str) -> Decoded:
        decoded = read_disk(path)
        if decoded.text is not None:
            sources[path] = decoded.text
        return decoded

    return discover(Layout(str(root), ("dags",)), reading), sources


def change_behind(root: Path, relative: str, text: str) -> str:
    path = root / relative
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.fixture(params=["sources", "no sources"])
def sources_of(request):
    """Plans with the sources the facts came from (server, CLI), and without (every file read
    is analysed again): the same plans."""
    return (lambda sources: sources) if request.param == "sources" else (lambda sources: None)


def test_the_moved_dag_call_is_bound_not_what_is_now_on_its_old_line(root: Path, sources_of) -> None:
    project, sources = indexed(root)
    old_line = project.entry("orders").dag.creation_line
    assert MOVED.splitlines()[old_line] == "print('orders loaded')"
    path = change_behind(root, "dags/orders.py", MOVED)

    plan = plan_enable_proxying(project, read, "orders", sources=sources_of(sources))

    [change] = [c for c in plan.changes if c.path == path]
    assert change.old_text == MOVED
    lines = change.new_text.splitlines()
    assert "print('orders loaded')" in lines
    assert "orders_dag = orders()" in lines
    assert change.new_text.count("proxying_to_dagster(") == 1


def test_a_task_of_a_file_turned_dag_level_is_refused(root: Path, sources_of) -> None:
    project, sources = indexed(root)
    assert project.entry("orders").state.dag_proxied is None
    change_behind(root, "dags/proxied_state/orders.yaml", "# a teammate's\nproxied: true\n")

    with pytest.raises(Refused, match="proxies the whole DAG"):
        plan_rollback(project, read, "orders", ["extract"], sources=sources_of(sources))
    with pytest.raises(Refused, match="proxies the whole DAG"):
        plan_proxy(project, read, "orders", ["extract"], sources=sources_of(sources))
    plan = plan_rollback(project, read, "orders", sources=sources_of(sources))
    [change] = plan.changes
    assert change.new_text == "# a teammate's\nproxied: false\n"


def test_rolling_everything_back_reads_each_state_file_as_it_is(root: Path, sources_of) -> None:
    project, sources = indexed(root)
    path = change_behind(root, "dags/proxied_state/orders.yaml", "proxied: true\n")

    plan = plan_rollback(project, read, None, sources=sources_of(sources))

    assert [(c.path, c.new_text) for c in plan.changes] == [(path, "proxied: false\n")]


def test_a_task_mapped_since_can_be_proxied_and_is_not_mapped_twice(root: Path, sources_of) -> None:
    project, sources = indexed(root)
    assert not project.assets_for("orders", "load")
    change_behind(root, "definitions.py", BOTH_MAPPED)

    # Mapped already: mapping again adds no second entry, it only brings the deps in step.
    [module] = plan_map(project, read, "orders", ["load"], sources=sources_of(sources)).changes
    assert module.new_text.count("'load':") == 1
    assert "'load': [AssetSpec(key='orders', deps=['raw_orders'])]," in module.new_text
    plan = plan_proxy(project, read, "orders", ["load"], sources=sources_of(sources))
    [state] = [c for c in plan.changes if c.path.endswith("orders.yaml")]
    assert "  - id: load\n    proxied: true\n" in state.new_text


def test_a_mapping_removed_since_is_refused_for_proxying(root: Path, sources_of) -> None:
    (root / "definitions.py").write_text(BOTH_MAPPED, encoding="utf-8")
    project, sources = indexed(root)
    assert project.assets_for("orders", "load")
    change_behind(root, "definitions.py", MODULE)

    with pytest.raises(Refused, match="map `load` to a Dagster asset first"):
        plan_proxy(project, read, "orders", ["load"], sources=sources_of(sources))


def test_a_dag_gone_from_its_file_is_refused(root: Path, sources_of) -> None:
    project, sources = indexed(root)
    change_behind(root, "dags/orders.py", ORDERS.replace("dag_id='orders'", "dag_id='orders_v2'"))

    with pytest.raises(Refused, match="no longer defines DAG `orders`"):
        plan_enable_proxying(project, read, "orders", sources=sources_of(sources))


def test_a_file_broken_since_is_refused(root: Path, sources_of) -> None:
    project, sources = indexed(root)
    change_behind(root, "dags/orders.py", ORDERS + "def (\n")

    with pytest.raises(Refused, match="does not parse"):
        plan_enable_proxying(project, read, "orders", sources=sources_of(sources))


def test_a_new_task_gets_its_entry_in_a_created_state_file(root: Path, sources_of) -> None:
    (root / "dags" / "proxied_state" / "orders.yaml").unlink()
    project, sources = indexed(root)
    change_behind(root, "dags/orders.py", ORDERS.replace(
        "    extract() >> load()\n", "    @task\n    def report():\n        pass\n\n    extract() >> load() >> report()\n"))

    plan = plan_enable_proxying(project, read, "orders", sources=sources_of(sources))

    [state] = [c for c in plan.changes if c.path.endswith("orders.yaml")]
    assert [line for line in state.new_text.splitlines() if "id:" in line] == [
        "  - id: extract", "  - id: load", "  - id: report"]


def test_unchanged_files_keep_the_projects_facts(root: Path, monkeypatch) -> None:
    """With ``sources``, a file whose text is the one its facts came from is not analysed
    again (the Dagster module's libcst parse is the costly one)."""
    project, sources = indexed(root)

    def analysed_again(path: str, text: str):
        raise AssertionError(f"{path} analysed again")

    for name in ("extract_file", "parse_dagster_module", "parse_state_file"):
        monkeypatch.setattr(plan_files, name, analysed_again)
    plan = plan_proxy(project, read, "orders", ["extract"], sources=sources)
    assert plan.changes  # the hook, at least
    plan_map(project, read, "orders", ["load"], sources=sources)
    plan_rollback(project, read, None, sources=sources)


def test_the_server_plans_from_a_buffer_typed_into_within_the_debounce(root: Path) -> None:
    """The index analysed version 1; version 2 is typed and the command runs before the
    debounced analysis: the plan edits version 2 by version 2's own facts, and says so."""
    from types import SimpleNamespace

    from server.features.commands import plan_command
    from server.index import Buffer, WorkspaceIndex

    path = str(root / "dags" / "orders.py")
    buffers = {path: Buffer(ORDERS, 1)}
    index = WorkspaceIndex(Layout(str(root), ("dags",)), buffers=buffers)
    index.rebuild()
    buffers[path] = Buffer(MOVED, 2)  # no update_files: the analysis is still pending

    planned = plan_command(SimpleNamespace(index=index, buffers=buffers), "airlift.enableProxying",
                           {"dag_id": "orders"})

    [change] = [c for c in planned.plan.changes if c.path == path]
    assert change.old_text == MOVED and planned.versions[path] == 2
    assert "orders_dag = orders()" in change.new_text.splitlines()
    assert "print('orders loaded')" in change.new_text.splitlines()
