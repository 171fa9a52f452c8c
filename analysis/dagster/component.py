"""Task mappings of a dagster-airlift component, read from its ``defs.yaml``.

Dagster recommends configuring the peering as a component: a ``defs.yaml`` whose ``type`` is
``dagster_airlift.core.components.AirflowInstanceComponent`` and whose ``attributes.mappings``
list ties DAGs (``assets:``) and tasks (``task_mappings: [{task_id, assets}]``) to assets,
each asset either ``spec: {key: a/b}`` (an asset that lives in Airflow) or ``by_key: a/b`` (an
asset defined in Dagster, in the component's subfolders). The facts are the same as a Python
module's (``DagsterModule``), with ranges in the YAML. Keys are read as Dagster reads them
(``AssetKey.from_user_string``: ``a/b`` is two parts); a ``{{ ... }}`` template would have to be
evaluated, so it is reported as dynamic, never guessed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from ruamel.yaml.nodes import MappingNode, Node, SequenceNode

from analysis.dagster.module import AssetRef, DagsterModule, TaskMapping, UnresolvedMapping, key_string
from analysis.facts import Range
from analysis.state.proxied_state import LineIndex, content_end, own_entries
from analysis.state.safe_yaml import Constructor, SafeYamlError, compose_all

COMPONENT_TYPES = frozenset({
    "dagster_airlift.core.components.AirflowInstanceComponent",
    "dagster_airlift.core.components.airflow_instance.component.AirflowInstanceComponent",
})
COMPONENT_FILE_NAMES = ("defs.yaml", "defs.yml")


def looks_like_component(text: str) -> bool:
    """Cheap test for discovery; ``parse_component`` decides for real."""
    return "AirflowInstanceComponent" in text


def is_template(value: object) -> bool:
    """Dagster renders ``{{ ... }}`` in component strings (env vars, context) before use."""
    return isinstance(value, str) and "{{" in value


class ComponentYaml:
    """The composed ``defs.yaml`` and the nodes a reader or an edit needs."""

    def __init__(self, text: str) -> None:
        """``ValueError`` with one sentence when the text is not an AirflowInstanceComponent."""
        self.text = text
        self.constructor = Constructor()
        try:
            roots = compose_all(text)
            documents = [self.constructor.construct(root) for root in roots]
        except SafeYamlError as error:
            raise ValueError(f"not valid YAML: {error.message}") from None
        except RecursionError:
            raise ValueError("the YAML nests too deeply to read") from None
        if not documents or not all(isinstance(r, MappingNode) and isinstance(d, dict)
                                    for r, d in zip(roots, documents)):
            raise ValueError("a component's defs.yaml is a mapping with `type:` and `attributes:`")
        # A defs.yaml may hold several components, one per `---` document.
        ours = [(r, d) for r, d in zip(roots, documents) if isinstance(d.get("type"), str)
                and d["type"] in COMPONENT_TYPES]
        if not ours:
            kinds = ", ".join(repr(d.get("type")) for d in documents)
            raise ValueError(f"its type is {kinds}, not dagster-airlift's "
                             f"dagster_airlift.core.components.AirflowInstanceComponent")
        if len(ours) > 1:
            raise ValueError(f"it holds {len(ours)} AirflowInstanceComponents: map their DAGs by hand")
        self.root = ours[0][0]
        self.entries = own_entries(self.root, self.constructor)
        self.attributes = self.entries.get("attributes", (None, None))[1]
        attributes = self.fields(self.attributes) if isinstance(self.attributes, MappingNode) else {}
        self.mappings_key, self.mappings = attributes.get("mappings", (None, None))

    def fields(self, node: MappingNode) -> dict[object, tuple[Node, Node]]:
        return own_entries(node, self.constructor)

    def value(self, node: Node | None) -> object:
        return self.constructor.construct(node) if node is not None else None

    def dag_entries(self) -> Iterator[tuple[MappingNode, dict[object, tuple[Node, Node]]]]:
        if isinstance(self.mappings, SequenceNode):
            for item in self.mappings.value:
                if isinstance(item, MappingNode):
                    yield item, self.fields(item)


def parse_component(path: str, text: str) -> DagsterModule:
    """Every mapping the component makes; never raises."""
    try:
        component = ComponentYaml(text)
    except ValueError as error:
        return DagsterModule(path, error=f"{os.path.basename(path)}: {error}", error_range=Range.point(0))
    reader = _Reader(component, LineIndex(text))
    reader.read()
    return DagsterModule(path, tuple(reader.mappings), calls_build_defs=True,
                         unresolved=tuple(reader.unresolved))


class _Reader:
    def __init__(self, component: ComponentYaml, lines: LineIndex) -> None:
        self.component, self.lines = component, lines
        self.mappings: list[TaskMapping] = []
        self.unresolved: list[UnresolvedMapping] = []

    def range(self, node: Node) -> Range:
        # A block collection's end mark is the next token's start, maybe lines later.
        return self.lines.range(node.start_mark.index, content_end(self.component.text, node))

    def read(self) -> None:
        component = self.component
        if component.mappings is not None and not isinstance(component.mappings, SequenceNode) \
                and component.value(component.mappings) is not None:
            self.unresolved.append(UnresolvedMapping(None, self.range(component.mappings),
                                                     self.range(component.mappings), "`mappings` is not a list"))
            return
        for item, fields in component.dag_entries():
            dag_node = fields.get("dag_id", (None, None))[1]
            dag_id = component.value(dag_node)
            if not isinstance(dag_id, str) or is_template(dag_id):
                reason = "the dag_id is a template Dagster evaluates" if is_template(dag_id) \
                    else "the entry has no dag_id string"
                self.unresolved.append(UnresolvedMapping(None, self.range(dag_node or item), self.range(item), reason))
                continue
            if "assets" in fields:
                self.add(dag_id, None, dag_node, fields["assets"][1], item)
            tasks = fields.get("task_mappings", (None, None))[1]
            for task in tasks.value if isinstance(tasks, SequenceNode) else ():
                task_fields = component.fields(task) if isinstance(task, MappingNode) else {}
                task_node = task_fields.get("task_id", (None, None))[1]
                task_id = component.value(task_node)
                if not isinstance(task_id, str) or is_template(task_id):
                    reason = "the task_id is a template Dagster evaluates" if is_template(task_id) \
                        else "a task mapping has no task_id string"
                    self.unresolved.append(UnresolvedMapping(dag_id, self.range(task_node or task),
                                                             self.range(item), reason))
                    continue
                self.add(dag_id, task_id, task_node, task_fields.get("assets", (None, None))[1], item)

    def add(self, dag_id: str, task_id: str | None, key_node: Node, assets: Node | None, item: Node) -> None:
        refs, complete = [], isinstance(assets, SequenceNode)
        for asset in assets.value if isinstance(assets, SequenceNode) else ():
            ref = self.asset(asset)
            complete &= ref is not None
            refs.extend([ref] if ref is not None else [])
        self.mappings.append(TaskMapping(dag_id, task_id, tuple(refs), self.range(key_node),
                                         self.range(item), not complete))

    def asset(self, node: Node) -> AssetRef | None:
        """``{spec: {key: a/b, deps: [...]}}`` or ``{by_key: a/b}``; None when not readable."""
        component = self.component
        fields = component.fields(node) if isinstance(node, MappingNode) else {}
        if "by_key" in fields:
            # InDagsterAssetRef: an asset defined in Dagster (the component's subfolders).
            key = user_key(component.value(fields["by_key"][1]))
            return AssetRef(key, self.range(node), executable=True) if key else None
        spec = fields.get("spec", (None, None))[1]
        spec_fields = component.fields(spec) if isinstance(spec, MappingNode) else {}
        key = user_key(component.value(spec_fields.get("key", (None, None))[1]))
        if key is None:
            return None
        deps = component.value(spec_fields["deps"][1]) if "deps" in spec_fields else []
        dep_keys = [user_key(d) for d in deps] if isinstance(deps, list) else None
        known_deps = tuple(dep_keys) if dep_keys is not None and None not in dep_keys else None
        return AssetRef(key, self.range(node), executable=False, deps=known_deps)


def user_key(value: object) -> str | None:
    """Dagster's ``AssetKey.from_user_string``: the key's model is a string split at ``/``."""
    if not isinstance(value, str) or not value or is_template(value):
        return None
    return key_string(value.split("/"))
