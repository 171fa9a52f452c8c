"""``airlift.verify``: the project's own Airflow (and Dagster) load the project in a subprocess;
their disagreements with the static model become diagnostics with source ``airlift-verify``.

Only on request (it runs the project's code, with the interpreter the settings name), in a
thread of its own: the event loop never waits for it, and indexing goes on meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import uuid
from concurrent.futures import Future
from typing import Any

from lsprotocol import types

from analysis.files import read_disk
from analysis.project import Layout, discover
from analysis.verify import SOURCE
from server.app import AirliftServer
from server.convert import Lines, diagnostic
from server.verify.engine import Outcome, Pythons, pythons_for, verify_project
from server.verify.probes import DEFAULT_TIMEOUT, VerifyError

log = logging.getLogger("airlift-lsp")

COMMAND = "airlift.verify"


def run(layout: Layout, pythons: Pythons, timeout: float = DEFAULT_TIMEOUT) -> tuple[Outcome, dict[str, str]]:
    """The disk as Airflow will load it (not the buffers), and the texts the findings' ranges
    refer to."""
    outcome = verify_project(discover(layout), pythons, timeout)
    paths = {f.path for f in outcome.findings} | {r.path for f in outcome.findings for r in f.related}
    return outcome, {p: read_disk(p).text or "" for p in paths}


def headline(outcome: Outcome) -> str:
    tools = f"Airflow {outcome.airflow.airflow_version or '?'}"
    if outcome.dagster is not None:
        tools += f" and Dagster {outcome.dagster.dagster_version or '?'}"
    count = len(outcome.findings)
    if not count:
        return f"{tools} agree with airlift-lsp's reading of the project ({len(outcome.airflow.dags)} DAGs)"
    return f"{count} disagreement{'s' if count != 1 else ''} with {tools} (see Problems)"


def in_thread(function, *args) -> asyncio.Future:
    """Run in a daemon thread: a server that exits does not wait for a probe (the probe itself
    is killed at exit, see ``server.verify.probes``)."""
    future: Future = Future()

    def target() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as error:  # noqa: BLE001 - handed to the awaiting handler
            future.set_exception(error)

    threading.Thread(target=target, name="airlift-verify", daemon=True).start()
    return asyncio.wrap_future(future)


def register(server: AirliftServer) -> None:
    running = [False]

    @server.command(COMMAND)
    async def verify(ls: AirliftServer, *args: Any) -> dict:
        # `{"quiet": true}`: the client shows the answer itself (VS Code's extension does).
        quiet = any(isinstance(a, dict) and a.get("quiet") is True for a in
                    (args[0] if len(args) == 1 and isinstance(args[0], list) else args))

        def show(kind: types.MessageType, text: str) -> None:
            if not quiet:
                ls.window_show_message(types.ShowMessageParams(kind, f"Airlift verify: {text}"))

        if running[0]:
            return {"ok": False, "error": "a verification is already running"}
        root = ls.root or os.getcwd()
        try:
            pythons = pythons_for(root, ls.settings)
        except VerifyError as error:
            show(types.MessageType.Error, str(error))
            return {"ok": False, "error": str(error)}
        # The index's layout (every setting that shapes discovery), else one from the settings.
        layout = ls.index.layout if ls.index is not None else Layout(root, ls.settings.dag_folders,
                                                                      ls.settings.dagster_module,
                                                                      ls.settings.import_roots,
                                                                      ls.settings.environment)
        unsaved = sorted(p for p, b in ls.buffers.items() if b.text != read_disk(p).text)
        running[0] = True
        progress = await _begin(ls)
        try:
            outcome, texts = await in_thread(run, layout, pythons)
        except VerifyError as error:
            ls.set_diagnostic_layer(SOURCE, {})
            show(types.MessageType.Error, str(error))
            return {"ok": False, "error": str(error)}
        except Exception as error:  # noqa: BLE001 - one failing feature leaves the others working
            log.exception("airlift.verify failed")
            ls.set_diagnostic_layer(SOURCE, {})
            return {"ok": False, "error": f"{type(error).__name__}: {error}"}
        finally:
            running[0] = False
            _end(ls, progress)
        codec = ls.workspace.position_codec
        by_path: dict[str, list[types.Diagnostic]] = {}
        for finding in outcome.findings:
            by_path.setdefault(finding.path, []).append(diagnostic(
                finding, Lines(texts.get(finding.path, ""), codec), ls.uri_of,
                lambda p: Lines(texts.get(p, ""), codec), source=SOURCE))
        ls.set_diagnostic_layer(SOURCE, by_path)
        notes = list(outcome.notes)
        if unsaved:
            notes.append(f"{len(unsaved)} unsaved file(s) were verified as saved on disk")
        message = headline(outcome)
        show(types.MessageType.Warning if outcome.findings else types.MessageType.Info,
             message + "".join(f"; {n}" for n in notes))
        data = outcome.to_json(lambda p: os.path.relpath(p, root))
        return {"ok": True, "message": message, "findings": len(outcome.findings), "summary": data["summary"],
                "airflowVersion": data["airflow_version"], "dagsterVersion": data["dagster_version"],
                "notes": notes}


async def _begin(ls: AirliftServer) -> str | None:
    if not ls.supports("window", "work_done_progress"):
        return None
    token = f"airlift-verify-{uuid.uuid4().hex[:8]}"
    try:
        await ls.work_done_progress.create_async(token)
        ls.work_done_progress.begin(token, types.WorkDoneProgressBegin(
            title="Airlift: verifying with Airflow", message="loading the DAGs in the project's Airflow"))
    except Exception:  # noqa: BLE001 - verification does not depend on progress
        log.warning("client refused a progress token", exc_info=True)
        return None
    return token


def _end(ls: AirliftServer, token: str | None) -> None:
    if token is not None:
        ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="done"))
