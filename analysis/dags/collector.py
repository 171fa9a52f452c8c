"""What one DAG file builds as the interpreter runs it: its DAGs, the tasks waiting for a DAG
(``limbo``), the edges drawn between tasks, and what extraction itself finds wrong; frozen into
facts at the end. The records it holds are ``analysis.dags.builder``'s."""

from __future__ import annotations

from collections.abc import Callable

from analysis.dags.builder import DagRecord, TaskRecord
from analysis.facts import DagFacts, Finding, Range, Related, Severity


class Collector:
    """Everything one DAG file builds, plus what extraction itself finds wrong."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.dags: list[DagRecord] = []
        self.findings: list[Finding] = []
        self.created: list[TaskRecord] = []
        self.incomplete = False
        """Part of the file was not read (too costly, or nested too deeply): any DAG may lack
        tasks or edges, so each is frozen as dynamic."""
        self.limbo = DagRecord(dag_id="", range=Range.point(0), id_range=None)
        self.certainty: Callable[[], tuple[int, str]] = lambda: (0, "")
        """The interpreter's current runtime-condition level (an adoption under a condition is
        itself conditional)."""
        """Where operators made outside any DAG wait: Airflow adds one to a DAG when its ``dag``
        is set, or when it is joined by ``>>`` to a task of a DAG."""

    def add_task(self, task: TaskRecord) -> TaskRecord:
        if task.dag is self.limbo:
            return task
        existing = task.dag.tasks.get(task.task_id)
        if existing is not None and existing.guessed and not task.guessed:
            self._replace_guess(existing, task)
            return task
        if existing is not None:
            self._duplicate(existing, task)
            return existing
        task.dag.tasks[task.task_id] = task
        self.created.append(task)
        if task.dynamic:
            self.findings.append(Finding(
                code="dynamic-task-id",
                severity=Severity.INFORMATION,
                message=(f"task id `{task.task_id}` cannot be resolved statically; its state "
                         f"file entries and mappings cannot be checked"),
                path=self.path,
                range=task.id_range or task.range,
            ))
        return task

    def _replace_guess(self, guess: TaskRecord, task: TaskRecord) -> None:
        """An operator takes the id a guessed call had: the call was most likely no operator
        (a job builder given the task's id), so the operator stands, with the guess's edges."""
        task.dag.tasks[task.task_id] = task
        self.created.append(task)
        for upstream in guess.upstream:
            upstream.downstream.pop(guess, None)
            self.add_edge(upstream, task, upstream in guess.conditional_upstream)
        for downstream in guess.downstream:
            conditional = guess in downstream.conditional_upstream
            downstream.upstream.pop(guess, None)
            downstream.conditional_upstream.discard(guess)
            self.add_edge(task, downstream, conditional)
        self._note_guess(guess, task)

    def _note_guess(self, guess: TaskRecord, task: TaskRecord) -> None:
        self.findings.append(Finding(
            code="duplicate-task-id",
            severity=Severity.INFORMATION,
            message=(f"task id `{task.task_id}` is also given to `{guess.operator}(...)`, which is read as no "
                     f"operator (its class is not read); if it is one, Airflow fails to import this file "
                     f"(DuplicateTaskIdFound)"),
            path=self.path, range=guess.id_range or guess.range,
            related=(Related(self.path, task.id_range or task.range, f"the operator `{task.task_id}`"),)))

    def _duplicate(self, existing: TaskRecord, task: TaskRecord) -> None:
        """A second task with an id already used in its DAG. Airflow raises
        ``DuplicateTaskIdFound`` (the whole file fails to import) only when both are created:
        ids that cannot be resolved are not known to be equal, and two tasks of exclusive
        branches (``if``/``else``) never meet."""
        self.created.append(existing)
        if task.dynamic or existing.dynamic:
            return
        if task.guessed and not existing.guessed:
            self._note_guess(task, existing)
            return
        related = (Related(self.path, existing.id_range or existing.range, f"`{task.task_id}` first defined here"),)
        if task.guessed and existing.guessed and not task.conditional and not existing.conditional:
            self.findings.append(Finding(
                code="duplicate-task-id",
                severity=Severity.WARNING,
                message=(f"if `{existing.operator}` and `{task.operator}` make operators (their classes are not "
                         f"read), Airflow will fail to import this file: task id `{task.task_id}` is already "
                         f"used in DAG `{task.dag.dag_id}` (DuplicateTaskIdFound)"),
                path=self.path, range=task.id_range or task.range, related=related))
        elif not task.conditional and not existing.conditional:
            self.findings.append(Finding(
                code="duplicate-task-id",
                severity=Severity.ERROR,
                message=(f"Airflow will fail to import this file: task id `{task.task_id}` is "
                         f"already used in DAG `{task.dag.dag_id}` (DuplicateTaskIdFound)"),
                path=self.path, range=task.id_range or task.range, related=related))
        elif task.conditional != existing.conditional:
            certain, conditional = (task, existing) if existing.conditional else (existing, task)
            self.findings.append(Finding(
                code="duplicate-task-id",
                severity=Severity.WARNING,
                message=(f"Airflow will fail to import this file whenever {conditional.condition} holds: "
                         f"task id `{task.task_id}` is then created twice in DAG `{task.dag.dag_id}` "
                         f"(DuplicateTaskIdFound)"),
                path=self.path, range=task.id_range or task.range, related=related))
            existing.level, existing.condition = certain.level, certain.condition

    def attach(self, task: TaskRecord, dag: DagRecord) -> TaskRecord:
        """An operator made outside any DAG joins ``dag`` (a task already in a DAG stays)."""
        if task.dag is not self.limbo or dag is self.limbo:
            return task
        task.dag = dag
        level, reason = self.certainty()
        if level > task.level:
            task.level, task.condition = level, reason
        return self.add_task(task)

    def add_edge(self, upstream: TaskRecord, downstream: TaskRecord, conditional: bool = False,
                 data: bool = False) -> None:
        """``upstream >> downstream``; ``data``: ``downstream`` is given ``upstream``'s output."""
        if upstream.dag is self.limbo and downstream.dag is self.limbo:
            return  # Airflow raises: "Tried to create relationships between tasks that don't have DAGs yet"
        if upstream.dag is self.limbo:
            upstream = self.attach(upstream, downstream.dag)
        elif downstream.dag is self.limbo:
            downstream = self.attach(downstream, upstream.dag)
        if upstream is downstream or upstream.dag is not downstream.dag:
            return
        if data:
            downstream.xcom_from[upstream] = None
        if upstream not in downstream.upstream:
            downstream.upstream[upstream] = None
            upstream.downstream[downstream] = None
            if conditional:
                downstream.conditional_upstream.add(upstream)
        elif not conditional:
            downstream.conditional_upstream.discard(upstream)

    def freeze(self) -> tuple[DagFacts, ...]:
        if self.incomplete:
            for dag in self.dags:
                dag.dynamic = True
        return tuple(d.freeze() for d in self.dags)
