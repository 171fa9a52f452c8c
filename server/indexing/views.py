"""The ``dags --json`` object of one file, without its path (which is relative to the current
directory, so it is added when printing): rendered once where the facts are made (a worker,
or this process) and kept in the cache beside them, so a warm ``dags --json`` prints without
rebuilding any facts."""

from __future__ import annotations

import json

from analysis.facts import FileFacts


def dags_view(file: FileFacts) -> dict:
    """Everything of the file's ``dags --json`` object but ``path``, in the contract's order."""
    error = file.error
    if error and file.error_range and not file.skipped:
        start = file.error_range.start
        error = f"line {start.line + 1}, column {start.character + 1}: {error}"
    return {
        "error": error,
        "dags": [
            {
                "dag_id": dag.dag_id,
                "range": dag.range.to_json(),
                "tasks": [
                    {
                        "task_id": task.task_id,
                        "operator": task.operator,
                        "range": task.range.to_json(),
                        "upstream": list(task.upstream),
                        "dynamic": task.dynamic,
                        "conditional": task.conditional,
                    }
                    for task in dag.tasks
                ],
                "dynamic": dag.dynamic,
                "source": dag.source,
            }
            for dag in file.dags
        ],
    }


def view_text(file: FileFacts) -> str:
    """``dags_view`` as ``json.dumps`` (compact separators off, ``ensure_ascii=False``) writes it."""
    return json.dumps(dags_view(file), ensure_ascii=False)


def view_bytes(file: FileFacts) -> bytes | None:
    """The view as UTF-8, or None when it holds text UTF-8 cannot carry (a lone surrogate from a
    ``"\\udc80"`` escape): such a file is rendered when printed, as before."""
    try:
        return view_text(file).encode("utf-8")
    except UnicodeEncodeError:
        return None


def file_json(path: str, view: str) -> str:
    """The file's object, as ``json.dumps({"path": path, **dags_view(file)})`` would write it."""
    return '{"path": ' + json.dumps(path, ensure_ascii=False) + ", " + view[1:]
