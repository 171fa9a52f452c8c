"""Record what the verify probes print for the fixture projects, for the unit tests of the
comparison (``tests/unit/test_verify_compare.py``), which run without Airflow or Dagster.

    .venv/bin/python tests/support/record_probes.py

Runs the real probes (the Airflow 2.11 + dagster-airlift, Airflow 3 and Dagster venvs under
``.cache/``) on a copy of each project; the copy's path is written as ``{root}``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from analysis.project import Layout, discover
from analysis.verify import AirflowReport, airflow_structure
from server.settings import load_settings
from server.verify.engine import airflow_request
from server.verify.probes import AIRFLOW_PROBE, DAGSTER_PROBE, run_probe

FIXTURES = REPO / "tests" / "fixtures" / "verify"
OUT = FIXTURES / "recorded"
AIRFLOW2 = str(REPO / ".cache" / "airflow2" / "bin" / "python")
AIRFLOW3 = str(REPO / ".cache" / "airflow3" / "bin" / "python")
DAGSTER = str(REPO / ".cache" / "dagster" / "bin" / "python")


def project_of(root: Path):
    settings, _ = load_settings(str(root))
    return discover(Layout(str(root), settings.dag_folders, settings.dagster_module))


def record(name: str, source: Path, python: str, steps: list[list[str]] = (), dagster: bool = False) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch) / "project"
        shutil.copytree(source, root)
        for step in steps:
            subprocess.run([sys.executable, "-m", "server", *step], cwd=root, check=True, capture_output=True)
        project = project_of(root)
        report = run_probe(python, AIRFLOW_PROBE, airflow_request(project), str(root), 300)
        _save(f"{name}.airflow.json", report, root)
        if dagster:
            module = project.primary_dagster_module.path
            structure = airflow_structure(project, AirflowReport.from_json(report))
            dagster_report = run_probe(DAGSTER, DAGSTER_PROBE, {"root": str(root), "module": module,
                                                                "airflow": structure}, str(root), 300)
            dagster_report["module"] = module
            _save(f"{name}.dagster.json", dagster_report, root)


def _save(name: str, report: dict, root: Path) -> None:
    text = json.dumps(report, indent=1, sort_keys=True).replace(str(root), "{root}")
    (OUT / name).write_text(text + "\n")
    print("recorded", name)


def main() -> None:
    OUT.mkdir(exist_ok=True)
    tutorial = REPO / "examples" / "tutorial"
    record("tutorial", tutorial, AIRFLOW2, dagster=True)
    record("tutorial_proxied_task", tutorial, AIRFLOW2, [["proxy", "rebuild_customers_list", "load_raw_customers"]],
           dagster=True)
    for fixture in ("conditional_task", "task_group", "rebound_dag", "missing_hook", "prefixed_ids"):
        record(fixture, FIXTURES / fixture, AIRFLOW2)
    record("unregistered_timetable.airflow3", FIXTURES / "unregistered_timetable", AIRFLOW3)


if __name__ == "__main__":
    main()
