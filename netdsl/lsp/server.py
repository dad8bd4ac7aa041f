"""``netdsl lsp``: the language server over stdio, on pygls (``pip install 'netdsl[lsp]'``).

Diagnostics are ``netdsl check``'s analysis (analysis.py), published when a document is
opened or changed. Each analysis runs in a worker thread; a newer edit of the same
document sets the older one's cancel flag (it stops at the next statement) and its
results, if any, are dropped, so only the newest text's diagnostics are published.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer

from ..version import __version__
from .analysis import Analysis, Cancelled, analyse, complete, definition, hover

DEBOUNCE_SECONDS = 0.05   # typing bursts: wait this long for the next edit before analysing


class NetdslServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("netdsl", __version__)
        self.analyses: dict[str, Analysis] = {}
        self.reusable: dict[str, Analysis] = {}     # the last one the next edit can build on
        self.pending: dict[str, tuple[threading.Event, asyncio.Task]] = {}

    def schedule(self, uri: str) -> None:
        """Analyse the document's current text, superseding an analysis still running."""
        old = self.pending.pop(uri, None)
        if old is not None:
            old[0].set()
            old[1].cancel()
        cancel = threading.Event()
        task = asyncio.get_running_loop().create_task(self._run(uri, cancel))
        self.pending[uri] = (cancel, task)

    async def _run(self, uri: str, cancel: threading.Event) -> None:
        await asyncio.sleep(DEBOUNCE_SECONDS)
        doc = self.workspace.get_text_document(uri)
        text, version = doc.source, doc.version
        path = doc.path or "untitled.wl"
        try:
            result = await asyncio.get_running_loop().run_in_executor(
                None, analyse, text, path, cancel, self.reusable.get(uri))
        except Cancelled:
            return
        if cancel.is_set():
            return
        self.analyses[uri] = result
        if result.reusable:
            self.reusable[uri] = result
        if self.pending.get(uri, (None,))[0] is cancel:
            del self.pending[uri]
        self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(
            uri=uri, version=version, diagnostics=[_lsp_diagnostic(d) for d in result.diagnostics]))

    def analysis(self, uri: str) -> Analysis:
        """The newest analysis, or one made now when the document's text changed since."""
        doc = self.workspace.get_text_document(uri)
        a = self.analyses.get(uri)
        if a is None or a.text != doc.source:
            a = analyse(doc.source, doc.path or "untitled.wl")
            self.analyses[uri] = a
        return a


def _pos(p: tuple[int, int]) -> t.Position:
    return t.Position(line=p[0], character=p[1])


def _lsp_diagnostic(d: Any) -> t.Diagnostic:
    return t.Diagnostic(range=t.Range(start=_pos(d.start), end=_pos(d.end)), message=d.message,
                        severity=t.DiagnosticSeverity(d.severity), source="netdsl",
                        code=d.code or None)


server = NetdslServer()


@server.feature(t.TEXT_DOCUMENT_DID_OPEN)
async def did_open(ls: NetdslServer, params: t.DidOpenTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(t.TEXT_DOCUMENT_DID_CHANGE)
async def did_change(ls: NetdslServer, params: t.DidChangeTextDocumentParams) -> None:
    ls.schedule(params.text_document.uri)


@server.feature(t.TEXT_DOCUMENT_DID_CLOSE)
async def did_close(ls: NetdslServer, params: t.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    old = ls.pending.pop(uri, None)
    if old is not None:
        old[0].set()
        old[1].cancel()
    ls.analyses.pop(uri, None)
    ls.reusable.pop(uri, None)
    ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


@server.feature(t.TEXT_DOCUMENT_HOVER)
def on_hover(ls: NetdslServer, params: t.HoverParams) -> t.Hover | None:
    a = ls.analysis(params.text_document.uri)
    text = hover(a, params.position.line, params.position.character)
    if text is None:
        return None
    return t.Hover(contents=t.MarkupContent(kind=t.MarkupKind.Markdown, value=text))


@server.feature(t.TEXT_DOCUMENT_COMPLETION,
                t.CompletionOptions(trigger_characters=["[", ",", " "]))
def on_completion(ls: NetdslServer, params: t.CompletionParams) -> t.CompletionList:
    a = ls.analysis(params.text_document.uri)
    items = []
    for label, detail in complete(a, params.position.line, params.position.character):
        kind = t.CompletionItemKind.Property if label.endswith("-> ") else (
            t.CompletionItemKind.Variable if detail == "symbol of this session"
            else t.CompletionItemKind.Function)
        items.append(t.CompletionItem(label=label.rstrip(), insert_text=label, detail=detail,
                                      kind=kind))
    return t.CompletionList(is_incomplete=False, items=items)


@server.feature(t.TEXT_DOCUMENT_DEFINITION)
def on_definition(ls: NetdslServer, params: t.DefinitionParams) -> t.Location | None:
    a = ls.analysis(params.text_document.uri)
    found = definition(a, params.position.line, params.position.character)
    if found is None:
        return None
    return t.Location(uri=params.text_document.uri,
                      range=t.Range(start=_pos(found[0]), end=_pos(found[1])))


def main() -> int:
    server.start_io()
    return 0
