"""Each diagnostic code on a small workspace written to disk, as a user would have it."""

from pathlib import Path

from analysis.checks import check_project
from analysis.project import Layout, discover

DAG_FILE = '''\
from pathlib import Path
from airflow.sdk import DAG, task
from airflow.providers.standard.operators.empty import EmptyOperator
from dagster_airlift.in_airflow import proxying_to_dagster
from dagster_airlift.in_airflow.proxied_state import load_proxied_state_from_yaml

@task
def fan(x):
    return x

with DAG("orders") as dag:
    extract = EmptyOperator(task_id="extract")
    load = EmptyOperator(task_id="load")
    fan.expand(x=[1, 2])
    extract >> load
{tail}
'''
HOOK = ('proxying_to_dagster(global_vars=globals(), '
        'proxied_state=load_proxied_state_from_yaml(Path(__file__).parent / "proxied_state"))\n')
DAGSTER = '''\
from dagster import AssetSpec, Definitions
from dagster_airlift.core import assets_with_task_mappings, build_defs_from_airflow_instance
defs = build_defs_from_airflow_instance(airflow_instance=None, defs=Definitions(assets=[
    *assets_with_task_mappings(dag_id="orders", task_mappings={{{mappings}}}),
]))
'''


def workspace(tmp_path: Path, *, tail: str = HOOK, state: str | None = None,
              mappings: str = '"extract": [AssetSpec("raw_orders")]', extra: dict | None = None) -> list:
    dags = tmp_path / "dags"
    (dags / "proxied_state").mkdir(parents=True)
    (dags / "orders.py").write_text(DAG_FILE.format(tail=tail))
    if state is not None:
        (dags / "proxied_state" / "orders.yaml").write_text(state)
    (tmp_path / "definitions.py").write_text(DAGSTER.format(mappings=mappings))
    for name, text in (extra or {}).items():
        (tmp_path / name).write_text(text)
    project = discover(Layout(str(tmp_path), ("dags",), None))
    return check_project(project)


def codes(findings: list) -> list[tuple[str, str, int]]:
    return [(f.code, f.severity.value, f.range.start.line) for f in findings]


def test_a_clean_observe_stage_has_only_notes(tmp_path: Path) -> None:
    findings = workspace(tmp_path, state="tasks:\n  - id: extract\n    proxied: false\n")
    assert {f.code for f in findings} == {"unmapped-task"}
    # `load` is an EmptyOperator: nothing to migrate, so not "unmapped" either.
    assert sorted(f.message.split("`")[1] for f in findings) == ["fan"]


def test_state_naming_a_missing_task_breaks_the_dag_import(tmp_path: Path) -> None:
    findings = workspace(tmp_path, state="tasks:\n  - id: extract\n    proxied: false\n"
                                         "  - id: transform\n    proxied: false\n")
    [finding] = [f for f in findings if f.code == "unknown-task-in-state"]
    assert (finding.severity.value, finding.range.start.line) == ("error", 3)
    assert "Airflow will fail to import this DAG" in finding.message
    assert finding.related[0].path.endswith("orders.py")


def test_mapped_task_in_state_is_refused(tmp_path: Path) -> None:
    findings = workspace(tmp_path, state="tasks:\n  - id: fan\n    proxied: false\n",
                         mappings='"fan": [AssetSpec("x")]')
    assert ("mapped-task-proxied", "error", 1) in codes(findings)


def test_proxied_task_without_asset(tmp_path: Path) -> None:
    findings = workspace(tmp_path, state="tasks:\n  - id: load\n    proxied: true\n")
    assert ("proxied-without-asset", "error", 2) in codes(findings)


def test_state_without_hook(tmp_path: Path) -> None:
    findings = workspace(tmp_path, tail="", state="tasks:\n  - id: extract\n    proxied: true\n")
    [finding] = [f for f in findings if f.code == "missing-proxying-call"]
    assert finding.severity.value == "error"
    assert "still run in Airflow" in finding.message
    quiet = workspace(tmp_path / "b", tail="", state="tasks:\n  - id: extract\n    proxied: false\n")
    assert [f.severity.value for f in quiet if f.code == "missing-proxying-call"] == ["warning"]


def test_hook_not_last(tmp_path: Path) -> None:
    findings = workspace(tmp_path, tail=HOOK + 'print("done")\n')
    assert [(c, s) for c, s, _ in codes(findings) if c == "proxying-not-last"] == [
        ("proxying-not-last", "warning")]
    late = workspace(tmp_path / "b", tail=HOOK + 'with DAG("late"):\n    EmptyOperator(task_id="t")\n')
    assert [(c, s) for c, s, _ in codes(late) if c == "proxying-not-last"] == [("proxying-not-last", "error")]


def test_mapping_unknown_task_and_dag(tmp_path: Path) -> None:
    findings = workspace(tmp_path, mappings='"extract": [AssetSpec("a")], "extrakt": [AssetSpec("b")]',
                         extra={"more.py": DAGSTER.format(mappings='"x": [AssetSpec("c")]').replace(
                             'dag_id="orders"', 'dag_id="gone"')})
    unknown = [(f.severity.value, f.path.rsplit("/", 1)[1]) for f in findings if f.code == "mapping-unknown-task"]
    assert sorted(unknown) == [("error", "definitions.py"), ("warning", "more.py")]


def test_state_for_unknown_dag_and_invalid_state(tmp_path: Path) -> None:
    findings = workspace(tmp_path, state="tasks:\n  - id: extract\n    proxy: true\n",
                         extra={"dags/proxied_state/old_dag.yaml": "proxied: false\n"})
    assert ("invalid-proxied-state", "error", 2) in codes(findings)
    assert any(f.code == "state-for-unknown-dag" and f.path.endswith("old_dag.yaml") for f in findings)


def test_duplicate_and_syntax_errors_surface_in_check(tmp_path: Path) -> None:
    findings = workspace(tmp_path, extra={
        "dags/broken.py": "from airflow import DAG\nwith DAG('x'\n",
        "dags/dupes.py": "from airflow import DAG\nfrom airflow.providers.standard.operators.empty import "
                         "EmptyOperator\nwith DAG('d'):\n    EmptyOperator(task_id='a')\n"
                         "    EmptyOperator(task_id='a')\n",
    })
    assert ("syntax-error", "error", 1) in codes(findings)
    assert ("duplicate-task-id", "error", 4) in codes(findings)


def test_a_dag_the_hook_cannot_see(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    (dags / "proxied_state").mkdir(parents=True)
    (dags / "orders.py").write_text(DAG_FILE.format(tail=HOOK).replace(' as dag:', ':'))
    (dags / "proxied_state" / "orders.yaml").write_text("tasks:\n  - id: extract\n    proxied: false\n")
    findings = check_project(discover(Layout(str(tmp_path), ("dags",), None)))
    [finding] = [f for f in findings if f.code == "missing-proxying-call"]
    assert finding.severity.value == "error" and "No dags found in globals" in finding.message


def test_a_proxied_task_mapped_only_to_specs_warns_until_it_has_an_implementation(tmp_path: Path) -> None:
    findings = workspace(tmp_path, state="tasks:\n  - id: extract\n    proxied: true\n")
    [warning] = [f for f in findings if f.code == "proxied-without-asset"]
    assert warning.severity.value == "warning" and "No asset nodes found" in warning.message
    implemented = workspace(tmp_path / "b", state="tasks:\n  - id: extract\n    proxied: true\n",
                            mappings='"extract": [extract_impl]',
                            extra={})
    module = (tmp_path / "b" / "definitions.py")
    module.write_text("from dagster import multi_asset, AssetSpec\n"
                      "@multi_asset(specs=[AssetSpec('raw_orders')])\ndef extract_impl():\n    pass\n"
                      + module.read_text())
    findings = check_project(discover(Layout(str(tmp_path / "b"), ("dags",), None)))
    assert [f for f in findings if f.code == "proxied-without-asset"] == []
    assert implemented is not None
