'''The asset of a dbt task: dagster-dbt's ``@dbt_assets`` on the same project and selection,
running the same dbt command through a ``DbtCliResource`` (``plan_dbt`` reads the command).

Written into the Dagster module, once per project (and target): ``DBT_PROJECT_<NAME> =
_airflow_dbt_project(...)``, a ``dagster_dbt.DbtProject`` with the command's profiles folder,
target and profile, and ``DBT_CLI_<NAME>``, the ``DbtCliResource`` on it, bound to the resource
key ``dbt_<name>`` (``<name>``: the project folder's name, then the target's) by
``dagster.with_resources`` right after the asset, so the module loads as it is; to bind your own
``DbtCliResource`` in ``Definitions`` instead, drop that line. The asset is ``@dbt_assets(
manifest=..., project=..., select=..., exclude=...)`` running ``dbt <command> <arguments>``
with ``context=context``, so dagster-dbt selects the models of the materialized assets.

The task's mapping then holds this ``AssetsDefinition``: dagster-airlift maps the task to
every asset key dagster-dbt derives from the selected dbt resources (the ``AssetSpec``\\s the
task was mapped to are replaced). They are not read statically: that would mean evaluating
dbt's selection on the project's manifest.

The manifest: ``DbtProject.prepare_if_dev()`` runs ``dbt parse`` on every load under ``dagster
dev``; elsewhere a missing ``target/manifest.json`` is parsed once when the module first
loads, and kept (a stale one is not refreshed): build it when you deploy (``dbt parse``, or
``dagster-dbt project prepare-and-package``).
'''

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

import libcst as cst

from analysis.edits.layout import Group
from analysis.edits.scaffold.asset_commands import top_level_names
from analysis.edits.scaffold.plan import Plan

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit

WHAT = "the Dagster module"
PROJECT_HELPER = "_airflow_dbt_project"
_PROJECT = "DBT_PROJECT_"
_CLI = "DBT_CLI_"

DEFINITIONS = {
    PROJECT_HELPER: ('''\
def _airflow_dbt_project(project_dir, profiles_dir=None, folder_profiles=None, **options):
    """The dbt project an Airflow task ran, with a manifest: `dbt parse` on every load under
    `dagster dev` (DbtProject.prepare_if_dev), else once when target/manifest.json is missing
    (build it when you deploy: a stale manifest is not refreshed). Without --profiles-dir, the
    folder dbt finds: DBT_PROFILES_DIR, else the one the command ran in if it had a profiles.yml
    (folder_profiles), else ~/.dbt."""
    profiles_dir = (profiles_dir or os.environ.get("DBT_PROFILES_DIR") or folder_profiles
                    or os.path.expanduser("~/.dbt"))
    project = dagster_dbt.DbtProject(project_dir, profiles_dir=profiles_dir, **options)
    project.prepare_if_dev()
    if not project.manifest_path.exists():
        project.preparer.prepare(project)
    return project
''', ("dagster_dbt", "os")),
}


def owns(name: str) -> bool:
    return name in DEFINITIONS or name.startswith((_PROJECT, _CLI))


def _name(plan: Plan) -> str:
    """The project's name in the constants: its folder's, then its target's, as a name."""
    dbt = plan.dbt
    words = [posixpath.basename(dbt.project_dir.rstrip("/")) or "project", dbt.target or ""]
    name = re.sub(r"[^A-Za-z0-9]+", "_", "_".join(w for w in words if w)).strip("_").upper()
    return name or "PROJECT"


def resource_key(plan: Plan) -> str:
    return f"dbt_{_name(plan).lower()}"


def problem(plan: Plan) -> str | None:
    return None


def conflict(edit: ModuleEdit, plan: Plan) -> str | None:
    """Why the module's constants for this project do not fit this task (another profiles
    folder, say, written for an earlier task), or None."""
    for name in helpers(plan)[1:]:
        existing = next((s for s in edit.module.body if isinstance(s, cst.SimpleStatementLine)
                         and name in top_level_names(cst.Module(body=[s]))), None)
        if existing is not None and edit.module.code_for_node(existing).strip() != \
                constant(edit, name, plan).strip():
            return (f"{WHAT}'s `{name}` is written for another run of the dbt project (other "
                    "profiles, target or folder): scaffold this task by hand")
    return None


def helpers(plan: Plan) -> list[str]:
    return [PROJECT_HELPER, _PROJECT + _name(plan), _CLI + _name(plan)]


def about(where: str, plan: Plan) -> str:
    dbt = plan.dbt
    return (f"Scaffolded by airlift-lsp from {where} ({plan.label}: `dbt {dbt.command}`): "
            f"dagster-dbt's assets of the dbt project {dbt.project_dir}, the same command run "
            f"through the DbtCliResource `{resource_key(plan)}`. The task maps to every asset "
            "key dagster-dbt derives from the selected dbt resources. Under `dagster dev` the "
            "manifest is parsed on every load; elsewhere once when it is missing: build it when "
            "you deploy (`dbt parse`).")


def signature(edit: ModuleEdit, plan: Plan) -> str:
    return f"(context: {edit.dagster_name('AssetExecutionContext')})"


def decorator(edit: ModuleEdit, plan: Plan, name: str) -> str:
    """``@dbt_assets(...)`` in place of ``@multi_asset``: the keys are dbt's."""
    dbt, project = plan.dbt, _PROJECT + _name(plan)
    options = [f"manifest={project}.manifest_path", f"project={project}"]
    for option in ("select", "exclude", "selector"):
        value = getattr(dbt, option)
        if value:
            options.append(f"{option}={edit.literal(value)}")
    options.append(f"name={edit.literal(name)}")
    options.append(f"required_resource_keys={{{edit.literal(resource_key(plan))}}}")
    head = f"@{edit.module_reference('dagster_dbt', plan)}.dbt_assets("
    return edit.render(Group(head, tuple(options), ")"), 0)


def after(edit: ModuleEdit, plan: Plan, name: str) -> str:
    """Bind the project's ``DbtCliResource`` to the asset, so the module loads as it is."""
    binding = f"{{{edit.literal(resource_key(plan))}: {_CLI + _name(plan)}}}"
    return f"{name} = {edit.dagster_name('with_resources')}([{name}], {binding})[0]"


def constant(edit: ModuleEdit, name: str, plan: Plan) -> str:
    dbt = plan.dbt
    if name.startswith(_CLI):
        cli = f"{edit.module_reference('dagster_dbt', plan)}.DbtCliResource"
        return f"{name} = {cli}(project_dir={_PROJECT + _name(plan)})" + edit.newline
    arguments = [edit.literal(dbt.project_dir)]
    for option in ("profiles_dir", "folder_profiles", "target", "profile"):
        value = getattr(dbt, option)
        if value:
            arguments.append(f"{option}={edit.literal(value)}")
    return edit.render(Group(f"{name} = {PROJECT_HELPER}(", tuple(arguments), ")"), 0) + edit.newline


def tail(edit: ModuleEdit, plan: Plan, places=None) -> list[str] | str:
    dbt = plan.dbt
    arguments = tuple(edit.literal(a) for a in (dbt.command, *dbt.arguments))
    args = edit.render(Group("[", arguments, "]"), 2 * len(edit.unit))
    return [f"yield from context.resources.{resource_key(plan)}.cli({args}, context=context).stream()"]
