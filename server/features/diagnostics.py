"""Publish each file's findings when a new snapshot changes them."""

from __future__ import annotations

from lsprotocol import types

from server.app import AirliftServer
from server.convert import diagnostic
from server.index import Snapshot


def register(server: AirliftServer) -> None:
    published: dict[str, tuple] = {}

    def publish(snapshot: Snapshot) -> None:
        for path in set(published) | set(snapshot.findings):
            findings = snapshot.findings.get(path, ())
            if published.get(path) == findings:
                continue
            lines = server.lines_for(snapshot, path)
            server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
                uri=server.uri_of(path),
                diagnostics=[diagnostic(f, lines, server.uri_of, lambda p: server.lines_for(snapshot, p))
                             for f in findings],
                version=snapshot.versions.get(path),
            ))
            if findings:
                published[path] = findings
            else:
                published.pop(path, None)

    server.snapshot_listeners.append(publish)
