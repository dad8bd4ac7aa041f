"""`netdsl lsp` driven as an editor would, over stdio (pytest-lsp): diagnostics with exact
ranges that clear when the error is edited away, hover with inferred shapes, completion,
go to definition."""

import sys

import pytest

pytest.importorskip("pygls")
pytest_lsp = pytest.importorskip("pytest_lsp")

from lsprotocol import types as t  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient  # noqa: E402

from netdsl.lsp.analysis import analyse, definition, hover  # noqa: E402

URI = "file:///tmp/netdsl-lsp-test/spec.wl"
BAD = ('x = 1\n'
       'net = NetChain[{LinearLayer[3], ConvolutionLayer[2, 3]}, "Input" -> 4]\n')
GOOD = ('x = 1\n'
        'net = NetChain[{LinearLayer[3], LinearLayer[2]}, "Input" -> 4]\n')
GRAPH = ('g = NetGraph[<|"a" -> LinearLayer[5], "b" -> Ramp|>, {"a" -> "b"}, "Input" -> 2]\n'
         'NetChian[{Ramp}]\n'
         'h = NetInitialize[g]\n')


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "netdsl",
                                                              "lsp"]))
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(t.InitializeParams(capabilities=t.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


async def diagnostics_for(client, version):
    """The diagnostics published for ``version`` of the document (older ones are skipped)."""
    while True:
        params = await client.wait_for_notification(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        if params.uri == URI and params.version == version:
            return params.diagnostics


@pytest.mark.asyncio
async def test_shape_error_range_then_cleared(client: LanguageClient):
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        text_document=t.TextDocumentItem(uri=URI, language_id="wolfram", version=1, text=BAD)))
    diags = await diagnostics_for(client, 1)
    (d,) = diags
    start = BAD.split("\n")[1].index("ConvolutionLayer")
    assert (d.range.start.line, d.range.start.character) == (1, start)
    assert (d.range.end.line, d.range.end.character) == (1, start + len("ConvolutionLayer[2, 3]"))
    assert d.severity == t.DiagnosticSeverity.Error and "NetChain::valfail" in d.message
    client.text_document_did_change(t.DidChangeTextDocumentParams(
        text_document=t.VersionedTextDocumentIdentifier(uri=URI, version=2),
        content_changes=[t.TextDocumentContentChangeWholeDocument(text=GOOD)]))
    assert list(await diagnostics_for(client, 2)) == []


@pytest.mark.asyncio
async def test_hover_completion_definition_and_warning(client: LanguageClient):
    client.text_document_did_open(t.DidOpenTextDocumentParams(
        text_document=t.TextDocumentItem(uri=URI, language_id="wolfram", version=1, text=GRAPH)))
    (w,) = await diagnostics_for(client, 1)
    assert w.severity == t.DiagnosticSeverity.Warning and "did you mean NetChain" in w.message
    assert (w.range.start.line, w.range.start.character, w.range.end.character) == (1, 0, 8)
    col = GRAPH.index("LinearLayer")
    h = await client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=URI), position=t.Position(line=0, character=col + 2)))
    text = h.contents.value
    assert 'input "Input": vector of size 2' in text and 'output "Output": vector of size 5' in text
    assert 'array "Weights": {5, 2}' in text and 'array "Biases": {5}' in text
    assert "LinearLayer[[outputdimensions], opts]" in text
    h2 = await client.text_document_hover_async(t.HoverParams(
        text_document=t.TextDocumentIdentifier(uri=URI), position=t.Position(line=2, character=6)))
    assert "NetInitialize[" in h2.contents.value
    result = await client.text_document_completion_async(t.CompletionParams(
        text_document=t.TextDocumentIdentifier(uri=URI), position=t.Position(line=2, character=len("h = NetIn"))))
    assert [i.label for i in result.items] == ["NetInformation", "NetInitialize", "NetInsert",
                                              "NetInsertSharedArrays"]
    assert result.items[0].kind == t.CompletionItemKind.Function
    d = await client.text_document_definition_async(t.DefinitionParams(
        text_document=t.TextDocumentIdentifier(uri=URI), position=t.Position(line=2, character=18)))
    assert (d.range.start.line, d.range.start.character, d.range.end.character) == (0, 0, 1)


def test_option_completion_with_defaults_and_analysis_functions():
    from netdsl.lsp.analysis import complete
    text = "c = ConvolutionLayer[16, {3, 3}, Pad"
    a = analyse(text)
    got = dict(complete(a, 0, len(text)))
    assert got["PaddingSize -> "] == "option of ConvolutionLayer, default 0"
    a = analyse(GRAPH)
    assert hover(a, 1, 20) is None or "NetChian" not in hover(a, 1, 20)
    assert definition(a, 2, 18) == ((0, 0), (0, 1))
    assert definition(a, 2, 5) is None        # NetInitialize is not assigned in the file


def _key(a):
    return sorted((d.start, d.end, d.severity, d.message) for d in a.diagnostics)


def test_incremental_analysis_equals_a_fresh_one():
    """Edits that change a line, add lines, break syntax and add unknown functions: the
    analysis built on the previous one gives exactly the diagnostics of a fresh one."""
    lines = []
    for i in range(12):
        lines += [f"n{i} = NetChain[{{LinearLayer[{3 + i}], Ramp}}, \"Input\" -> 2];",
                  f"m{i} = NetChain[{{n{i}, LinearLayer[2]}}];"]
    edits = [lambda L: L.__setitem__(4, L[4].replace("LinearLayer[", "ConvolutionLayer[2, ")),
             lambda L: L.insert(2, "z = 3"),
             lambda L: L.insert(10, "NetChian[{Ramp}]\nw = n3"),
             lambda L: L.__setitem__(0, L[0].replace("Ramp", "Tanh")),
             lambda L: L.__setitem__(7, L[7][:-4]),                  # a syntax error
             lambda L: L.__setitem__(7, L[7] + "}];"),                # ... mended
             lambda L: L.__setitem__(5, L[5].replace("LinearLayer[2]", "SoftmaxLayer[]")),
             lambda L: L.__delitem__(2)]
    a = analyse("\n".join(lines))
    last_good = a
    for edit in edits:
        edit(lines)
        text = "\n".join(lines)
        inc = analyse(text, previous=last_good)
        assert _key(inc) == _key(analyse(text))
        if inc.reusable:
            last_good = inc
    assert any(d.severity == 1 for d in inc.diagnostics)
