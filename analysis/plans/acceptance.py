"""Plan of "Generate acceptance test for `task`": the pytest module that compares what the task's
Dagster asset writes with what its Airflow task writes, created beside the Dagster code.

Where: ``tests/test_acceptance_<dag_id>__<task_id>.py`` in the folder that holds the Dagster
module's top package (the module's own folder when it is not in a package), the layout of
``dagster project scaffold``: for the tutorial, ``examples/tutorial/tests/`` beside
``tutorial_dagster/``. Created once: when the file exists, the plan changes nothing (a second
apply is a no-op; an edited test is never overwritten).
"""

from __future__ import annotations

import os

from analysis.dagster.module import is_component_path
from analysis.edits.acceptance_test import acceptance_test, acceptance_test_path
from analysis.edits.scaffold import ImportRoot
from analysis.plans.files import (
    Plan,
    PlanFiles,
    Read,
    Refused,
    Sources,
    dag_entry,
    refuse_unreadable_dagster_module,
    select_tasks,
)
from analysis.plans.mapping import scaffold_sources
from analysis.project import Project

_MAX_IMPORTED_FILES = 200
"""Files of the DAGs folder's packages read for folder variables, at most (a vendored library
there is not worth reading whole)."""


def plan_acceptance_test(project: Project, read: Read, dag_id: str, task_id: str, *,
                         sources: Sources | None = None) -> Plan:
    changes = PlanFiles(project, read, sources)
    entry = dag_entry(changes, dag_id)
    select_tasks(entry, [task_id])
    module = changes.dagster().primary_dagster_module
    if module is None:
        refuse_unreadable_dagster_module(project)
        raise Refused(f"map `{task_id}` to a Dagster asset and scaffold it first: there is no Dagster "
                      "module yet")
    if is_component_path(module.path):
        raise Refused(f"the Dagster side is the component {os.path.basename(module.path)}: the "
                      "acceptance test loads a Python module's Definitions; write it by hand")
    dag_text, module_text, roots = scaffold_sources(project, changes, entry, module)
    test_file = acceptance_test_path(package_parent(module.path), dag_id, task_id)
    result = acceptance_test(dag_text, entry.file.path, dag_id, task_id, module_text, module.path,
                             test_file, import_roots=roots,
                             read_imported=lambda modules: _imported_texts(roots, modules, read),
                             code=project.code)
    if result.text is None:
        raise Refused(result.reason or f"cannot generate an acceptance test for `{task_id}`")
    title = f"Generate the acceptance test of {task_id}"
    existing = changes.original(test_file)
    where = os.path.relpath(test_file, project.layout.root)
    if existing is not None:
        note = (f"{where} exists already" if existing == result.text else
                f"{where} exists already (edited since it was generated?): delete it to generate it again")
        return Plan(title, (), (note,))
    changes.write(test_file, result.text)
    return Plan(title, changes.result(), (f"run it with `pytest {where}` in the Dagster environment",))


def package_parent(module_path: str) -> str:
    """The folder holding the module's top package: up from its folder while ``__init__.py``."""
    folder = os.path.dirname(os.path.abspath(module_path))
    while os.path.isfile(os.path.join(folder, "__init__.py")) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    return folder


def _imported_texts(roots: list[ImportRoot], modules: frozenset[str], read: Read) -> list[str]:
    """The texts of the DAGs folders' modules and packages that the task's code imports."""
    paths: list[str] = []
    for root in roots:
        for name in sorted(modules & root.modules):
            single = os.path.join(root.folder, name + ".py")
            if os.path.isfile(single):
                paths.append(single)
                continue
            for folder, folders, files in os.walk(os.path.join(root.folder, name)):
                folders[:] = sorted(f for f in folders if f != "__pycache__")
                paths.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(".py"))
    texts = []
    for path in paths[:_MAX_IMPORTED_FILES]:
        text = read(path)
        if text is not None:
            texts.append(text)
    return texts
