"""A minimal editor on top of pytest-lsp's client: open buffers, and workspace/applyEdit
applied the way VS Code does it (versions checked, files created or deleted, didChange sent)."""

from __future__ import annotations

from pathlib import Path

from lsprotocol import types
from pygls.workspace import TextDocument
from pytest_lsp import LanguageClient, client_capabilities


class Editor:
    def __init__(self, client: LanguageClient) -> None:
        self.client = client
        self.documents: dict[str, TextDocument] = {}
        self.versions: dict[str, int] = {}
        self.applied: list[types.ApplyWorkspaceEditParams] = []

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            self.applied.append(params)
            return self.apply(params.edit)

    def open(self, path: Path, language: str = "python") -> str:
        uri = path.as_uri()
        text = path.read_text(encoding="utf-8")
        self.documents[uri] = TextDocument(uri, text)
        self.versions[uri] = 1
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, language, 1, text)))
        return uri

    def text(self, uri: str) -> str:
        if uri in self.documents:
            return self.documents[uri].source
        return Path(types_uri_to_path(uri)).read_text(encoding="utf-8")

    def type(self, uri: str, text: str) -> None:
        """Replace the buffer's content, as typing would."""
        self.documents[uri] = TextDocument(uri, text)
        self._changed(uri, [types.TextDocumentContentChangeWholeDocument(text)])

    def apply(self, edit: types.WorkspaceEdit) -> types.ApplyWorkspaceEditResult:
        operations = list(edit.document_changes or [])
        for uri, edits in (edit.changes or {}).items():
            operations.append(types.TextDocumentEdit(
                types.OptionalVersionedTextDocumentIdentifier(uri=uri, version=None), edits))
        for operation in operations:  # check every version before touching anything
            if isinstance(operation, types.TextDocumentEdit):
                version = operation.text_document.version
                if version is not None and self.versions.get(operation.text_document.uri) != version:
                    return types.ApplyWorkspaceEditResult(applied=False, failure_reason="version mismatch")
        for operation in operations:
            if isinstance(operation, types.DeleteFile):
                path = Path(types_uri_to_path(operation.uri))
                if path.exists():
                    path.unlink()
                self.documents.pop(operation.uri, None)
                self.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
                    [types.FileEvent(operation.uri, types.FileChangeType.Deleted)]))
                continue
            if isinstance(operation, types.CreateFile):
                path = Path(types_uri_to_path(operation.uri))
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    path.write_text("", encoding="utf-8")
                continue
            uri = operation.text_document.uri
            path = Path(types_uri_to_path(uri))
            if uri in self.documents:
                document = self.documents[uri]
                for text_edit in operation.edits:
                    document.apply_change(types.TextDocumentContentChangePartial(
                        range=text_edit.range, text=text_edit.new_text))
                self._changed(uri, [types.TextDocumentContentChangeWholeDocument(document.source)])
                path.write_text(document.source, encoding="utf-8")  # and saved
            else:
                document = TextDocument(uri, path.read_text(encoding="utf-8") if path.exists() else "")
                for text_edit in operation.edits:
                    document.apply_change(types.TextDocumentContentChangePartial(
                        range=text_edit.range, text=text_edit.new_text))
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(document.source, encoding="utf-8")
                self.client.workspace_did_change_watched_files(types.DidChangeWatchedFilesParams(
                    [types.FileEvent(uri, types.FileChangeType.Changed)]))
        return types.ApplyWorkspaceEditResult(applied=True)

    def _changed(self, uri: str, changes: list) -> None:
        self.versions[uri] += 1
        self.client.text_document_did_change(types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=self.versions[uri]), changes))


def types_uri_to_path(uri: str) -> str:
    from pygls.uris import to_fs_path

    return to_fs_path(uri)


async def start_session(client: LanguageClient, root: Path, profile: str, *, name: str = "tutorial",
                        initialization_options: dict | None = None) -> None:
    """Initialize ``client`` on the workspace ``root`` with an editor's capabilities
    (``pytest_lsp.client_capabilities(profile)``), answering the two requests the server sends
    to an editor (codeLens refresh, capability registration) as an editor does."""

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def refresh(params):
        return None

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register(params):
        return None

    await client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities(profile), root_uri=root.as_uri(),
        workspace_folders=[types.WorkspaceFolder(root.as_uri(), name)],
        initialization_options=initialization_options))


async def action_titles_at(client: LanguageClient, path: Path, needle: str) -> list[str]:
    """The titles of the code actions the server lists at the first ``needle`` of the open buffer
    of ``path`` (its first character but one)."""
    uri = path.as_uri()
    lines = client.editor.text(uri).splitlines()
    line = next(i for i, text in enumerate(lines) if needle in text)
    position = types.Position(line, lines[line].index(needle) + 1)
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        types.TextDocumentIdentifier(uri), types.Range(position, position), types.CodeActionContext(diagnostics=[])))
    return [a.title for a in actions]


async def until_offered(client: LanguageClient, path: Path, needle: str, title: str) -> None:
    """Wait until the action ``title`` is listed at ``needle`` (the index is then ready)."""
    import asyncio

    titles: list[str] = []
    for _ in range(300):
        titles = await action_titles_at(client, path, needle)
        if title in titles:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(titles)


async def lens_tooltips(client: LanguageClient, path: Path) -> str:
    """Every tooltip of the code lenses of ``path``, joined by spaces."""
    lenses = await client.text_document_code_lens_async(types.CodeLensParams(types.TextDocumentIdentifier(path.as_uri())))
    return " ".join(lens.command.tooltip for lens in lenses if lens.command and lens.command.tooltip)
