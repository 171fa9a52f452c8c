"""Tasks that read another task's XCom, and what proxying or rolling back does to them.

dagster-airlift's proxy operator returns nothing: a proxied task pushes no XCom (neither its
return value nor the keys its callable pushed), so a task still run by Airflow that reads it gets
``None`` at run time (Airflow 2.11 and 3.3.2: the XComArg resolves to None, ``xcom_pull`` returns
None), with no error at import. A task may be proxied only when every task that reads its XCom runs in Dagster
too (is proxied with it, or before it). What the DAG file shows is all that is known
(``TaskFacts.xcom_from``). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from analysis.facts import DagFacts, TaskFacts
from analysis.wording import plural

PUSHES_NONE = "a proxied task pushes no XCom"


def reads(task: TaskFacts) -> tuple[str, ...]:
    """The tasks whose XCom ``task`` reads, or may read: every task upstream of it when one of its
    ``xcom_pull``s names its tasks only at run time (``TaskFacts.xcom_upstream``)."""
    return task.xcom_from + task.xcom_upstream if task.xcom_upstream else task.xcom_from


def readers(dag: DagFacts, producer: str) -> tuple[str, ...]:
    """The tasks of ``dag`` that read, or may read, ``producer``'s XCom."""
    return tuple(t.task_id for t in dag.tasks if producer in t.xcom_from or producer in t.xcom_upstream)


def may_only(dag: DagFacts, readers_of: tuple[str, ...], producer: str) -> bool:
    """Whether none of ``readers_of`` names ``producer`` in a pull: each may read it (its pulls'
    ids are only known at run time)."""
    return all(producer not in t.xcom_from for r in readers_of if (t := dag.task(r)) is not None)


_MAY = "its `xcom_pull` names its tasks only at run time"


def left_readers(dag: DagFacts, producer: str, proxied: Collection[str]) -> tuple[str, ...]:
    """The readers of ``producer``'s XCom that Airflow still runs once ``proxied`` are."""
    return tuple(r for r in readers(dag, producer) if r not in proxied)


def keep_readable(dag: DagFacts, candidates: Iterable[TaskFacts], proxied: Collection[str]
                  ) -> tuple[list[TaskFacts], dict[str, tuple[str, ...]]]:
    """Of the tasks to proxy (``proxied``: those already proxied), those that can be: a task whose
    XCom some task Airflow keeps running reads is left out, and so, in turn, are the tasks that
    only that one's staying made unsafe. Returns them and, for those left out, their readers."""
    chosen = list(candidates)
    left_out: dict[str, tuple[str, ...]] = {}
    while True:
        after = {*proxied, *(t.task_id for t in chosen)}
        unsafe = {t.task_id: left for t in chosen if (left := left_readers(dag, t.task_id, after))}
        if not unsafe:
            return chosen, left_out
        left_out.update(unsafe)
        chosen = [t for t in chosen if t.task_id not in unsafe]


def ticks(ids: Iterable[str]) -> str:
    return ", ".join(f"`{i}`" for i in ids)


def proxy_refusal(dag: DagFacts, producer: str, readers_left: tuple[str, ...]) -> str:
    """Why ``producer`` cannot be proxied while ``readers_left`` stay in Airflow."""
    they = "it reads" if len(readers_left) == 1 else "they read"
    stuck = [r for r in readers_left if (t := dag.task(r)) is not None and (t.mapped or t.group_prefixed or not t.certain)]
    if stuck:
        fix = (f"{ticks(stuck)} cannot be proxied one by one, so proxy the whole DAG instead "
               f"(airlift-lsp proxy {dag.dag_id} --dag-level)")
    else:
        fix = (f"proxy {ticks(readers_left)} first, or together with it "
               f"(airlift-lsp proxy {dag.dag_id} {' '.join(readers_left)} {producer})")
    if may_only(dag, readers_left, producer):
        pulls = "its `xcom_pull` names its" if len(readers_left) == 1 else "their `xcom_pull`s name their"
        how, they = "could", f"{'it' if len(readers_left) == 1 else 'they'} may read its XCom ({pulls} tasks only at run time)"
    else:
        how, they = "would", f"{they} its XCom"
    return f"proxying `{producer}` {how} hand {ticks(readers_left)} None at run time: {they}, and {PUSHES_NONE}; {fix}"


def rollback_refusal(dag: DagFacts, reader: str, producers: tuple[str, ...]) -> str:
    """Why ``reader`` cannot be rolled back alone while ``producers`` stay proxied."""
    one = len(producers) == 1
    task = dag.task(reader)
    if task is not None and not any(p in task.xcom_from for p in producers):
        how, reads_them = "could", f"it may read the XCom of {ticks(producers)} ({_MAY})"
    else:
        how, reads_them = "would", f"it reads the XCom of {ticks(producers)}"
    return (f"rolling back `{reader}` alone {how} hand it None at run time: {reads_them}, which "
            f"{'stays' if one else 'stay'} proxied, and {PUSHES_NONE}; roll {'both' if one else 'them all'} back "
            f"(airlift-lsp rollback {dag.dag_id} {reader} {' '.join(producers)})")


def left_out_note(left_out: dict[str, tuple[str, ...]]) -> str:
    """The note of a DAG's proxy that left producers in Airflow."""
    parts = [f"`{p}` (read by {ticks(r)})" for p, r in left_out.items()]
    return (f"left in Airflow {plural(len(parts), 'task')} whose XCom a task Airflow keeps running reads "
            f"({PUSHES_NONE}): " + ", ".join(parts))
