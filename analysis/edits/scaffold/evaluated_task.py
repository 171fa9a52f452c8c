"""The task as read with the arguments its constructor is given (``TaskFacts.arguments``), for
the plans that need them: the DAG file read again with ``extract_file(arguments=True)``, once per
text (a code lens asks task after task of the same file)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from analysis.dags.dagfile import extract_file
from analysis.facts import FileFacts, TaskFacts

if TYPE_CHECKING:
    from analysis.dags.modules import ProjectCode


def evaluator(dag_path: str | None, dag_text: str, code: ProjectCode | None,
              dag_id: str | None = None) -> Callable[[TaskFacts], TaskFacts] | None:
    """``plan_task``'s ``evaluate``: the DAG file read again with its tasks' arguments, once."""
    if dag_path is None:
        return None
    return lambda task: with_arguments(dag_path, dag_text, code, task, dag_id)


_evaluated: dict[str, tuple[str, object, FileFacts]] = {}
"""The last DAG file read with its tasks' arguments, by path: lenses ask task after task."""


def with_arguments(dag_path: str, dag_text: str, code: ProjectCode | None, task: TaskFacts,
                   dag_id: str | None = None) -> TaskFacts:
    """``task`` (of DAG ``dag_id``: the DAGs a loop makes share their tasks' ranges) as read with
    the arguments its constructor is given (``TaskFacts.arguments``)."""
    cached = _evaluated.get(dag_path)
    if cached is None or cached[0] != dag_text or cached[1] is not code:
        _evaluated.clear()
        cached = _evaluated[dag_path] = (dag_text, code, extract_file(dag_path, dag_text, code, arguments=True))
    found = next((t for d in cached[2].dags if dag_id is None or d.dag_id == dag_id
                  for t in d.tasks if t.task_id == task.task_id and t.range == task.range), None)
    return found or task


def last_read(dag_path: str) -> tuple[str, FileFacts] | None:
    """The text of ``dag_path`` that ``with_arguments`` last read, and its facts (their
    ``dependencies``: the project's modules it runs), or None when it has not read it."""
    cached = _evaluated.get(dag_path)
    return (cached[0], cached[2]) if cached is not None else None
