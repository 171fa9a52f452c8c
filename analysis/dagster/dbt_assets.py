"""dagster-dbt's ``@dbt_assets`` in a mapping's asset list, read statically.

``@dagster_dbt.dbt_assets(manifest=..., select=..., exclude=..., selector=..., project=...)``
makes one ``AssetsDefinition`` whose asset keys dagster-dbt derives, when Dagster loads the
module, from the dbt resources the selection picks in the project's manifest (and from the
translator, and from each model's ``meta``). Reading them here would mean evaluating dbt's
selection syntax on a manifest that may not exist yet (the scaffold's module parses it at
load), so they are not read: the entry is described instead, by its selection and project, as
one executable asset set (Dagster can run it). A name bound to the function, then rebound by
``dagster.with_resources([name], {...})[0]`` (what the dbt scaffold writes), is the same
definition with its resources.
"""

from __future__ import annotations

import libcst as cst

from analysis.dagster.cst_values import StaticReader, arguments

DESCRIPTION_START = "dbt resources "
"""Every description starts so; it holds spaces, which no Dagster asset key part may
(``^[A-Za-z0-9_]+$``), so it never equals a key Dagster defines."""


def dbt_assets_description(reader: StaticReader, node: cst.BaseExpression) -> str | None:
    """``dbt resources selected by "S" in P`` when ``node`` is a name of an ``@dbt_assets``
    function (possibly rebound by ``with_resources``); None for anything else."""
    if not isinstance(node, cst.Name):
        return None
    bound = reader.bindings(node)
    if not bound:
        return None
    functions = [b for b in bound if isinstance(b, cst.FunctionDef)]
    if len(functions) != 1 or not all(b is functions[0] or _rebinds(reader, b, node.value) for b in bound):
        return None
    function = functions[0]
    if len(function.decorators) != 1:  # another decorator may wrap it into anything
        return None
    call = function.decorators[0].decorator
    if not isinstance(call, cst.Call) or not _is_dbt_assets(reader, call.func) \
            or any(a.keyword is None for a in call.args):
        return None  # dbt_assets takes keywords only: anything else is not a form we read
    manifest, select, exclude, selector, project = arguments(
        call, ("manifest", "select", "exclude", "selector", "project"))
    if manifest is None:
        return None
    where = _project_dir(reader, project) or _text(reader, manifest)
    if selector is not None:
        chosen = f'of the selector "{_text(reader, selector)}"'
    else:
        chosen = f'selected by "{_text(reader, select) if select is not None else "fqn:*"}"'
    excluded = f' except "{_text(reader, exclude)}"' if exclude is not None else ""
    return f"{DESCRIPTION_START}{chosen}{excluded} in {where}"


def _is_dbt_assets(reader: StaticReader, node: cst.BaseExpression) -> bool:
    return any(name.split(".")[0] == "dagster_dbt" and name.split(".")[-1] == "dbt_assets"
               for name in reader.qualified(node))


def _rebinds(reader: StaticReader, value: cst.CSTNode, name: str) -> bool:
    """``value`` is ``with_resources([name], ...)[0]`` (dagster's): the same definition."""
    if not (isinstance(value, cst.Subscript) and len(value.slice) == 1
            and isinstance(value.slice[0].slice, cst.Index)
            and isinstance(value.slice[0].slice.value, cst.Integer) and value.slice[0].slice.value.value == "0"):
        return False
    call = value.value
    if not isinstance(call, cst.Call) or not any(
            q.split(".")[0] == "dagster" and q.split(".")[-1] == "with_resources" for q in reader.qualified(call.func)):
        return False
    definitions = arguments(call, ("definitions",))[0]
    return (isinstance(definitions, (cst.List, cst.Tuple)) and len(definitions.elements) == 1
            and isinstance(definitions.elements[0], cst.Element)
            and isinstance(definitions.elements[0].value, cst.Name) and definitions.elements[0].value.value == name)


def _project_dir(reader: StaticReader, project: cst.BaseExpression | None) -> str | None:
    """The folder of a ``DbtProject(project_dir, ...)`` (or of a helper called the same way,
    like the scaffold's ``_airflow_dbt_project``), when it is a string constant."""
    call = reader.deref(project)
    if not isinstance(call, cst.Call):
        return None
    return reader.string(arguments(call, ("project_dir",))[0])


def _text(reader: StaticReader, node: cst.BaseExpression) -> str:
    """A selection as dbt reads it: the string, else the code that computes it."""
    text = reader.string(node)
    return text if text is not None else _code(node)


def _code(node: cst.CSTNode) -> str:
    return " ".join(cst.Module(body=[]).code_for_node(node).split())
