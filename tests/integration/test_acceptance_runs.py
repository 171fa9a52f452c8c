"""The generated acceptance tests run with pytest in the Dagster venv (``make dagster``): they pass
for the tutorial's three scaffolded tasks, and fail when the assets are changed to write
something else.

The tutorial is laid out in a temporary folder as in examples/tutorial (the DAGs folder beside
tutorial_dagster/, a package), the three tasks of rebuild_customers_list are scaffolded into the
Dagster module, and the plan behind "Generate acceptance test for `task`" writes each test into
tests/. No Airflow runs: the generated tests never ask one (see their docstring).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from analysis.edits.scaffold import ImportRoot
from analysis.files import read_disk
from analysis.plans.acceptance import plan_acceptance_test
from analysis.project import Layout, discover
from tests.support.scaffold_fixture import scaffold_every_task
from tests.support.scaffold_runs import dagster_python

REPO = Path(__file__).resolve().parents[2]
TUTORIAL = REPO / "examples" / "tutorial"
FIXTURES = REPO / "tests" / "fixtures" / "scaffold"
DAG = "rebuild_customers_list"
# task, the file its asset writes in the data folder
TASKS = [("load_raw_customers", "raw_customers.csv"), ("build_dbt_models", "customers.csv"),
         ("export_customers", "customers_export.csv")]


def read(path: str) -> str | None:
    return read_disk(path).text if os.path.exists(path) else None


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tutorial")
    shutil.copytree(TUTORIAL / "airflow_dags", root / "airflow_dags",
                    ignore=shutil.ignore_patterns("__pycache__"))
    module = root / "tutorial_dagster" / "definitions.py"
    module.parent.mkdir()
    (module.parent / "__init__.py").write_text("", encoding="utf-8")
    module.write_text(scaffold_every_task(
        root / "airflow_dags" / f"{DAG}.py", DAG, [task for task, _ in TASKS],
        (FIXTURES / "tutorial_all_mapped.py").read_text(encoding="utf-8"), module,
        import_roots=[ImportRoot.from_disk(str(root / "airflow_dags"))]), encoding="utf-8")
    layout = Layout(str(root), ("airflow_dags",), "tutorial_dagster/definitions.py")
    for task_id, _ in TASKS:
        [change] = plan_acceptance_test(discover(layout), read, DAG, task_id).changes
        Path(change.path).parent.mkdir(exist_ok=True)
        Path(change.path).write_text(change.new_text, encoding="utf-8")
    return root


def run_pytest(root: Path) -> subprocess.CompletedProcess:
    # the user's way: pytest from the project's folder, with the Python that runs Dagster
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TUTORIAL_DATA_DIR")}
    return subprocess.run([dagster_python(), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rA", "tests"],
                          cwd=root, capture_output=True, text=True, timeout=600, check=False,
                          env={**env, "DAGSTER_HOME": str(root)})


def outcomes(output: str) -> dict[str, str]:
    """Test file → PASSED/FAILED, from pytest's ``-rA`` summary."""
    return {match[1]: match[0] for match in re.findall(r"^(PASSED|FAILED) tests/(\S+?)::", output, re.MULTILINE)}


def test_the_generated_tests_pass_for_the_scaffolded_tasks(project):
    result = run_pytest(project)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert outcomes(result.stdout) == {f"test_acceptance_{DAG}__{task}.py": "PASSED" for task, _ in TASKS}
    # nothing written outside the tests' temporary folders
    assert not (project / ".data").exists() and not (project / "data").exists()


def test_they_fail_when_the_assets_write_something_else(project, tmp_path):
    changed = tmp_path / "changed"
    shutil.copytree(project, changed, ignore=shutil.ignore_patterns("__pycache__"))
    module = changed / "tutorial_dagster" / "definitions.py"
    text = module.read_text(encoding="utf-8")
    for task_id, written in TASKS:
        # each asset, once it did its work, changes one line of the file it wrote
        head = f"def {DAG}__{task_id}() -> None:"
        start = text.index(head)
        end = text.index("\n\n\n", start)
        text = (text[:end] + f"\n    target = DATA_DIR / {written!r}"
                "\n    target.write_text(target.read_text().replace('\\n', '\\nchanged,', 1))"
                + text[end:])
    module.write_text(text, encoding="utf-8")
    # and a test whose Airflow side does nothing has nothing to compare: it fails too
    generated = (changed / "tests" / f"test_acceptance_{DAG}__export_customers.py").read_text(encoding="utf-8")
    body = generated.index('"""\n', generated.index("def run_airflow_task():")) + 4
    (changed / "tests" / "test_acceptance_nothing.py").write_text(
        generated[:body] + "    return None\n" + generated[body:], encoding="utf-8")
    result = run_pytest(changed)
    assert result.returncode == 1, result.stdout[-4000:]
    assert outcomes(result.stdout) == {**{f"test_acceptance_{DAG}__{task}.py": "FAILED" for task, _ in TASKS},
                                       "test_acceptance_nothing.py": "FAILED"}
    assert "the Airflow side wrote no file in its folder and printed nothing" in result.stdout
    for _, written in TASKS:
        assert f"tutorial_data_dir/{written} differs from what the Airflow task wrote" in result.stdout


HAND_WRITTEN = f'''@asset(key=["raw_data", "raw_customers"])
def {DAG}__load_raw_customers() -> int:
    """Written by hand, the Dagster way: returns its row count, as the callable returns to XCom."""
    _airflow_import_roots("../airflow_dags")
    from tutorial_shared import customers, data_dir

    return customers.load_raw_customers(customers.RAW_CUSTOMERS_CSV, data_dir() / "raw_customers.csv") + EXTRA
'''


@pytest.mark.parametrize("extra, outcome", [(0, "PASSED"), (1, "FAILED")])
def test_a_hand_written_asset_is_compared_on_the_value_it_returns(project, tmp_path, extra, outcome):
    copy = tmp_path / "hand_written"
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("__pycache__"))
    module = copy / "tutorial_dagster" / "definitions.py"
    text = module.read_text(encoding="utf-8")
    start = text.index("@multi_asset(\n    specs=[AssetSpec(key=[\"raw_data\", \"raw_customers\"])]")
    end = text.index("\n\n\n", text.index(f"def {DAG}__load_raw_customers()"))
    text = text[:start] + HAND_WRITTEN.replace("EXTRA", str(extra)).rstrip("\n") + text[end:]
    module.write_text(text.replace("from dagster import ", "from dagster import asset, "), encoding="utf-8")
    for other in ("build_dbt_models", "export_customers"):
        (copy / "tests" / f"test_acceptance_{DAG}__{other}.py").unlink()
    result = run_pytest(copy)
    name = f"test_acceptance_{DAG}__load_raw_customers.py"
    assert outcomes(result.stdout) == {name: outcome}, result.stdout[-4000:]
    if outcome == "FAILED":
        assert "asset raw_data/raw_customers is not the value the Airflow task returned" in result.stdout
