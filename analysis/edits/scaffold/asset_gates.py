"""The asset of a branch or short-circuit task: the callable's call, then only the chosen
assets materialized, the others declared ``skippable`` so that Dagster skips what depends on
them, as Airflow skips the downstream tasks.

- Short-circuit: the task's own assets are made skippable (``replace_attributes``); a falsy
  return materializes none of them, so the assets downstream of them do not run either.
- Branch: the task's own assets always materialize (the choice was made); one skippable asset
  per task right after it in the DAG (key ``[dag_id, task_id, <that task>]``) is added to the
  multi-asset, and only those of the task ids the callable returns (one, a list, or None) are
  materialized. Make each branch's assets depend on its asset for Dagster to skip them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from analysis.edits.layout import Group
from analysis.edits.scaffold.asset_commands import fresh
from analysis.edits.scaffold.plan import Plan

if TYPE_CHECKING:
    from analysis.edits.scaffold.asset import ModuleEdit


def gate_specs(edit: ModuleEdit, plan: Plan, specs: tuple[str, ...], dag_id: str,
               task_id: str) -> tuple[str | Group, ...]:
    if plan.gate == "short_circuit":
        return tuple(f"*[spec.replace_attributes(skippable=True) for spec in {s[1:]}]"
                     if s.startswith("*") else f"{s}.replace_attributes(skippable=True)" for s in specs)
    spec = edit.dagster_name("AssetSpec")
    return specs + tuple(Group(f"{spec}(", (
        f"key=[{edit.literal(dag_id)}, {edit.literal(task_id)}, {edit.literal(d)}]",
        "skippable=True", f"description={edit.literal(f'Branch `{d}` of `{task_id}` followed')}"),
        ")") for d in plan.downstream)


def gate_tail(edit: ModuleEdit, plan: Plan, call: list[str], dag_id: str, task_id: str) -> list[str]:
    """``call`` (the callable's call) kept as the decision, then what it decides."""
    result = edit.dagster_name("MaterializeResult")
    decision = fresh("decision", plan.mentioned)
    key = fresh("key", plan.mentioned | {decision})
    lines = [f"{decision} = {call[0]}", *call[1:]]
    if plan.gate == "short_circuit":
        lines += [f"if not {decision}:  # Airflow skips the downstream tasks",
                  (f'{edit.unit}context.log.info("short-circuited: these assets and those '
                  'downstream are skipped")'),
                  f"{edit.unit}return"]
        lines += [f"for {key} in context.selected_asset_keys:",
                  f"{edit.unit}yield {result}(asset_key={key})"]
        return lines
    asset_key = edit.dagster_name("AssetKey")
    followed = fresh("followed", plan.mentioned | {decision, key})
    skipped = fresh("skipped", plan.mentioned | {decision, key, followed})
    branches = ", ".join(edit.literal(d) for d in plan.downstream)
    branches = f"({branches}{',' if len(plan.downstream) == 1 else ''})"
    prefix = f"{edit.literal(dag_id)}, {edit.literal(task_id)}"
    lines += [f"{followed} = [{decision}] if isinstance({decision}, str) else list({decision} or [])",
              f"{skipped} = {{",
              f"{edit.unit}{asset_key}([{prefix}, branch])",
              f"{edit.unit}for branch in {branches}",
              f"{edit.unit}if branch not in {followed}",
              "}",
              f"for {key} in context.selected_asset_keys - {skipped}:",
              f"{edit.unit}yield {result}(asset_key={key})"]
    return lines
