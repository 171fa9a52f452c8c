"""The code the mapping edit writes: ``NewMapping`` (one task's new asset), the whole module
that a project's first mapping creates (``new_module_text``), and the
``assets_with_task_mappings(...)`` call and its ``task_mappings`` entries as layout groups
(``analysis.edits.layout``) for ``dagster_mappings`` to insert."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from analysis.edits.layout import Group, string_literal

# Dagster's check_valid_name, which AirflowInstance applies to its name when the module loads.
_VALID_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_DISALLOWED_NAMES = frozenset({"context", "conf", "config", "meta", "arg_dict", "dict",
                               "input_arg_dict", "output_arg_dict", "int", "str", "float", "bool",
                               "input", "output", "type", *keyword.kwlist})


@dataclass(frozen=True, slots=True)
class NewMapping:
    task_id: str
    asset_key: tuple[str, ...]
    """The asset key's parts: ``("raw_data", "raw_customers")``."""
    deps: tuple[tuple[str, ...], ...] = ()
    """Keys of the assets this one depends on."""


def new_module_text(airflow_instance_name: str = "airflow") -> str:
    """A Dagster module that peers with Airflow (URL and credentials from the environment) and
    has no task mapped yet. ``ValueError`` when Dagster would reject the instance name."""
    if not _VALID_NAME.match(airflow_instance_name) or airflow_instance_name in _DISALLOWED_NAMES:
        raise ValueError(f"{airflow_instance_name!r} is not a valid Airflow instance name in Dagster: "
                         "use letters, digits and underscores")
    return _TEMPLATE.replace("{name}", airflow_instance_name)


_TEMPLATE = '''\
"""Dagster definitions for the Airflow migration (created by airlift-lsp).

Peers with the Airflow instance, so every DAG becomes an asset, and maps Airflow tasks to the
assets they produce. The connection comes from AIRFLOW_URL, AIRFLOW_USERNAME and AIRFLOW_PASSWORD.
"""

import os

from dagster import AssetSpec, Definitions
from dagster_airlift.core import (
    AirflowBasicAuthBackend,
    AirflowInstance,
    assets_with_task_mappings,
    build_defs_from_airflow_instance,
)

airflow_instance = AirflowInstance(
    auth_backend=AirflowBasicAuthBackend(
        webserver_url=os.environ.get("AIRFLOW_URL", "http://localhost:8080"),
        username=os.environ.get("AIRFLOW_USERNAME", "admin"),
        password=os.environ.get("AIRFLOW_PASSWORD", "admin"),
    ),
    name="{name}",
)

defs = build_defs_from_airflow_instance(
    airflow_instance=airflow_instance,
    defs=Definitions(
        assets=[],
    ),
)
'''


def group(mappings: Iterable[NewMapping]) -> dict[str, list[NewMapping]]:
    """New mappings by task, in order, without repeats."""
    grouped: dict[str, list[NewMapping]] = {}
    for mapping in mappings:
        specs = grouped.setdefault(mapping.task_id, [])
        if all(tuple(s.asset_key) != tuple(mapping.asset_key) for s in specs):
            specs.append(mapping)
    return grouped


def key_doc(parts: Sequence[str], quote: str, head: str = ""):
    if len(parts) == 1:
        return head + string_literal(parts[0], quote)
    return Group(head + "[", tuple(string_literal(p, quote) for p in parts), "]")


def spec_doc(mapping: NewMapping, spec: str, quote: str) -> Group:
    items = [key_doc(mapping.asset_key, quote, "key=")]
    deps = list(dict.fromkeys(tuple(d) for d in mapping.deps))
    if deps:
        items.append(Group("deps=[", tuple(key_doc(d, quote) for d in deps), "]"))
    return Group(f"{spec}(", tuple(items), ")")


def entry_doc(task_id: str, specs: list[NewMapping], spec: str, quote: str) -> Group:
    return Group(f"{string_literal(task_id, quote)}: [",
                 tuple(spec_doc(m, spec, quote) for m in specs), "]")


def call_doc(function: str, dag_id: str | None, entries: list[Group], quote: str) -> Group:
    """``*assets_with_task_mappings(dag_id=..., task_mappings={...})``, or with ``dag_id=None``
    ``*assets_with_dag_mappings(dag_mappings={...})`` (the entries are keyed by DAG id)."""
    if dag_id is None:
        mappings = Group("dag_mappings={", tuple(entries), "}", broken=True)
        return Group(f"*{function}(", (mappings,), ")", broken=True)
    mappings = Group("task_mappings={", tuple(entries), "}", broken=True)
    return Group(f"*{function}(", (f"dag_id={string_literal(dag_id, quote)}", mappings), ")",
                 broken=True)
