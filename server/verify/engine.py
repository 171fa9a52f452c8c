"""``verify``: run the probes with the project's interpreters, compare what they saw with the
static model (``analysis.verify``), and return the findings. Opt-in: it runs the project's code."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from analysis.facts import Finding
from analysis.project import Project, state_dir_for
from analysis.verify import (
    AirflowReport,
    BadReport,
    DagsterReport,
    airflow_structure,
    compare_airflow,
    compare_dagster,
    summary,
)
from server.settings import Settings
from server.verify.probes import (
    AIRFLOW_PROBE,
    DAGSTER_PROBE,
    DEFAULT_TIMEOUT,
    VerifyError,
    resolve_python,
    run_probe,
)

NO_INTERPRETER = ("no Airflow interpreter to verify with: pass --airflow-python PY, or set `airflow.python` "
                  "([tool.airlift-lsp] airflow = { python = \"...\" } in pyproject.toml; in VS Code the "
                  "airlift.airflow.python setting) to the Python of the project's Airflow environment")


@dataclass(frozen=True, slots=True)
class Pythons:
    airflow: str
    dagster: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    findings: tuple[Finding, ...]
    airflow: AirflowReport
    dagster: DagsterReport | None = None
    notes: tuple[str, ...] = ()

    def to_json(self, relative: Callable[[str], str]) -> dict:
        findings = []
        for finding in self.findings:
            data = finding.to_json()
            data["path"] = relative(finding.path)
            for related in data["related"]:
                related["path"] = relative(related["path"])
            findings.append(data)
        return {"findings": findings,
                "summary": {**summary(self.findings), "dags": len(self.airflow.dags),
                            "tasks": sum(len(d.tasks) for d in self.airflow.dags),
                            "import_errors": len(self.airflow.import_errors),
                            "proxying_checked": self.airflow.airlift_version is not None,
                            "dagster_checked": self.dagster is not None},
                "airflow_version": self.airflow.airflow_version,
                "airlift_version": self.airflow.airlift_version,
                "dagster_version": self.dagster.dagster_version if self.dagster else None,
                "notes": list(self.notes)}


def pythons_for(root: str, settings: Settings, airflow_flag: str | None = None,
                dagster_flag: str | None = None) -> Pythons:
    """The interpreters to verify with: the flags, else the settings; Airflow's is required."""
    airflow = airflow_flag or settings.airflow.python
    if not airflow:
        raise VerifyError(NO_INTERPRETER)
    airflow_setting = "--airflow-python" if airflow_flag else "the airflow.python setting"
    dagster = dagster_flag or settings.dagster.python
    dagster_setting = "--dagster-python" if dagster_flag else "the dagster.python setting"
    return Pythons(resolve_python(airflow, root, airflow_setting),
                   resolve_python(dagster, root, dagster_setting) if dagster else None)


def verify_project(project: Project, pythons: Pythons, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    root = project.layout.root
    known = _Paths(project)
    raw = run_probe(pythons.airflow, AIRFLOW_PROBE, airflow_request(project), root, timeout)
    if raw.get("fatal"):
        raise VerifyError(f"`{pythons.airflow}` has no apache-airflow ({raw.get('detail')})")
    try:
        airflow = AirflowReport.from_json(known.normalize_airflow(raw))
    except BadReport as error:
        raise VerifyError(f"the Airflow probe printed an unexpected report: {error}") from None
    findings = compare_airflow(project, airflow)
    notes = []
    if airflow.airlift_version is None:
        notes.append(f"dagster-airlift does not import with `{pythons.airflow}` ({airflow.airlift_error}): "
                     "proxying was not checked")
    dagster = None
    if pythons.dagster:
        module = project.primary_dagster_module
        if module is None:
            notes.append("no Dagster module in the workspace: the Dagster side was not checked")
        else:
            dagster = _dagster(project, pythons.dagster, module.path, airflow, known, timeout)
            findings += compare_dagster(project, dagster)
    ordered = sorted(findings, key=lambda f: (f.path, f.range.start, f.code, f.message))
    return Outcome(tuple(dict.fromkeys(ordered)), airflow, dagster, tuple(notes))


def airflow_request(project: Project) -> dict:
    """What the Airflow probe loads, as the deployment would: the DAG folders, ``sys.path`` as
    the model follows imports (DAG folders, ``plugins/``, the ``importRoots``, the workspace
    root) and the ``environment`` setting's variables."""
    layout = project.layout
    roots = layout.dag_roots()
    state_dirs = sorted({state_dir_for(f) for f in project.files.values()} | {e.state_dir for e in project.entries})
    return {"root": layout.root, "dag_folders": roots, "sys_path": list(dict.fromkeys(layout.code_roots())),
            "environment": dict(layout.environment),
            "state_dirs": [d for d in state_dirs if os.path.isdir(d)]}


def _dagster(project: Project, python: str, module: str, airflow: AirflowReport, known: _Paths,
             timeout: float) -> DagsterReport:
    request = {"root": project.layout.root, "module": module, "airflow": airflow_structure(project, airflow)}
    raw = run_probe(python, DAGSTER_PROBE, request, project.layout.root, timeout)
    fatal = raw.get("fatal")
    if fatal:
        package = "dagster" if fatal == "no-dagster" else "dagster-airlift"
        raise VerifyError(f"`{python}` has no {package} ({raw.get('detail')})")
    raw["module"] = module
    try:
        return DagsterReport.from_json(raw)
    except BadReport as error:
        raise VerifyError(f"the Dagster probe printed an unexpected report: {error}") from None


class _Paths:
    """The probe names files as the interpreter resolved them (symlinks, ``/private/tmp``):
    each back to the path the model uses for it."""

    def __init__(self, project: Project) -> None:
        paths = [*project.files, *project.states, *project.dagster_modules,
                 *(e.state_dir for e in project.entries)]
        self._by_real = {os.path.realpath(p): p for p in paths}

    def path(self, value: object) -> object:
        if not isinstance(value, str) or not value:
            return value
        return self._by_real.get(os.path.realpath(value), os.path.normpath(value))

    def normalize_airflow(self, raw: dict) -> dict:
        for dag in raw.get("dags") or []:
            if isinstance(dag, dict):
                dag["fileloc"] = self.path(dag.get("fileloc"))
        for error in raw.get("import_errors") or []:
            if isinstance(error, dict):
                error["file"] = self.path(error.get("file"))
        for folder in raw.get("state_folders") or []:
            if isinstance(folder, dict):
                folder["folder"] = self.path(folder.get("folder"))
                folder["error_file"] = self.path(folder.get("error_file"))
        return raw
