"""Start-up, settings and document sync: what keeps the workspace index current."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from lsprotocol import types

from server.app import AirliftServer
from server.index import Buffer

log = logging.getLogger("airlift-lsp")

WATCHED_GLOBS = ("**/*.py", "**/proxied_state/*.y*ml", "**/pyproject.toml", "**/defs.y*ml")


def register(server: AirliftServer) -> None:
    @server.feature(types.INITIALIZE)
    def initialize(ls: AirliftServer, params: types.InitializeParams) -> None:
        ls._loop = asyncio.get_running_loop()
        folders = params.workspace_folders or []
        root_uri = folders[0].uri if folders else params.root_uri
        ls.root = (ls.path_of(root_uri) if root_uri else None) or params.root_path or os.getcwd()
        options = params.initialization_options
        if isinstance(options, dict):
            ls.client_settings = options.get("airlift", options)
            # Custom notifications only to clients that say they handle them.
            ls.status_notifications = bool(options.get("statusNotifications"))

    @server.feature(types.INITIALIZED)
    async def initialized(ls: AirliftServer, params: types.InitializedParams) -> None:
        if ls.supports("workspace", "did_change_watched_files", "dynamic_registration"):
            watchers = [types.FileSystemWatcher(glob_pattern=g) for g in WATCHED_GLOBS]
            try:
                await ls.client_register_capability_async(types.RegistrationParams(registrations=[
                    types.Registration(
                        id="airlift-watchers",
                        method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                        register_options=types.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
                    )
                ]))
            except Exception:  # noqa: BLE001 - the index still works from buffers
                log.warning("client refused file watchers", exc_info=True)
        await _pull_configuration(ls)
        ls.start_index()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(ls: AirliftServer, params: types.DidChangeConfigurationParams) -> None:
        settings = params.settings
        if isinstance(settings, dict) and isinstance(settings.get("airlift"), dict):
            ls.client_settings = settings["airlift"]
        else:
            await _pull_configuration(ls)
        ls.start_index()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: AirliftServer, params: types.DidOpenTextDocumentParams) -> None:
        _buffer_changed(ls, params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: AirliftServer, params: types.DidChangeTextDocumentParams) -> None:
        _buffer_changed(ls, params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: AirliftServer, params: types.DidCloseTextDocumentParams) -> None:
        path = ls.path_of(params.text_document.uri)
        if path:
            ls.buffers.pop(path, None)
            if ls.index is not None:
                ls.schedule_update(path)  # back to the disk's content

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def did_change_watched_files(ls: AirliftServer, params: types.DidChangeWatchedFilesParams) -> None:
        paths = []
        for change in params.changes:
            path = ls.path_of(change.uri)
            if path is None:
                continue
            if os.path.basename(path) == "pyproject.toml" and os.path.dirname(path) == ls.root:
                ls.start_index()
                return
            # An open buffer is the truth: the disk changing behind it changes nothing.
            if path not in ls.buffers:
                paths.append(path)
        if paths:
            ls.update_now(paths)


def _buffer_changed(ls: AirliftServer, uri: str, version: int) -> None:
    path = ls.path_of(uri)
    if path is None:
        return
    text = ls.open_text(uri)
    if text is None:
        return  # a change of a document the client never opened: nothing to follow
    ls.buffers[path] = Buffer(text, version)
    if ls.index is not None:
        ls.schedule_update(path)


async def _pull_configuration(ls: AirliftServer) -> None:
    if not ls.supports("workspace", "configuration"):
        return
    try:
        [section] = await asyncio.wait_for(ls.workspace_configuration_async(types.ConfigurationParams(
            items=[types.ConfigurationItem(section="airlift", scope_uri=ls.uri_of(ls.root or "."))])), 5)
    except Exception:  # noqa: BLE001 - settings fall back to pyproject and the environment
        log.warning("workspace/configuration failed", exc_info=True)
        return
    if isinstance(section, dict):
        merged = {**ls.client_settings, **section}
        # A client answering without the password must not drop the one it passed at start.
        if isinstance(ls.client_settings.get("airflow"), dict) and isinstance(section.get("airflow"), dict):
            merged["airflow"] = {**ls.client_settings["airflow"], **section["airflow"]}
        ls.client_settings = merged


__all__ = ["register", "Any"]
