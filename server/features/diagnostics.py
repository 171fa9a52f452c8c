"""Publish each file's findings when a new snapshot changes them.

Other features add diagnostics of their own as a named layer (``server.set_diagnostic_layer``,
e.g. ``airlift verify``'s): a ``publishDiagnostics`` replaces everything the client holds for a
file, so each file's notification carries the snapshot's findings and every layer's together."""

from __future__ import annotations

from lsprotocol import types

from server.app import AirliftServer
from server.convert import diagnostic
from server.index import Snapshot


def register(server: AirliftServer) -> None:
    published: dict[str, tuple] = {}
    layers: dict[str, dict[str, list[types.Diagnostic]]] = {}

    def send(snapshot: Snapshot | None, path: str) -> None:
        findings = snapshot.findings.get(path, ()) if snapshot is not None else ()
        diagnostics = []
        if findings:
            lines = server.lines_for(snapshot, path)
            diagnostics = [diagnostic(f, lines, server.uri_of, lambda p: server.lines_for(snapshot, p))
                           for f in findings]
        for layer in layers.values():
            diagnostics.extend(layer.get(path, ()))
        server.text_document_publish_diagnostics(types.PublishDiagnosticsParams(
            uri=server.uri_of(path), diagnostics=diagnostics,
            version=snapshot.versions.get(path) if snapshot is not None else None,
        ))
        if findings:
            published[path] = findings
        else:
            published.pop(path, None)

    def publish(snapshot: Snapshot) -> None:
        for path in set(published) | set(snapshot.findings):
            if published.get(path) != snapshot.findings.get(path, ()):
                send(snapshot, path)

    def set_layer(name: str, by_path: dict[str, list[types.Diagnostic]]) -> None:
        """Replace a layer (on the event loop); files it no longer names are cleared."""
        before = layers.pop(name, {})
        if by_path:
            layers[name] = by_path
        snapshot = server.index.snapshot if server.index else None
        for path in set(before) | set(by_path):
            send(snapshot, path)

    server.snapshot_listeners.append(publish)
    server.set_diagnostic_layer = set_layer
