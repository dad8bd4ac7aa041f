"""How long `netdsl lsp` takes to publish diagnostics after an edit of a 1,000-line spec.

Run: python benchmarks/lsp_diagnostics.py
Starts the server over stdio with pygls's client, opens the spec, then edits it near its
end, middle and start (adding a shape error, then removing it) and prints the time from
each edit to the diagnostics of that version. The goal is under 0.5 s. Also prints the
analysis from scratch (what the first opening of the file costs).
"""

from __future__ import annotations

import asyncio
import sys
import time

from lsprotocol import types as t
from pygls.lsp.client import BaseLanguageClient

from netdsl.lsp.analysis import analyse

URI = "file:///tmp/netdsl-bench/spec.wl"


def spec(lines: int = 1000, error: bool = False) -> str:
    """A spec of ``lines`` lines: nets of four layers, each checked against data."""
    out = []
    i = 0
    while len(out) < lines - 6:
        out += [f"net{i} = NetInitialize[NetChain[{{",
                f"  LinearLayer[{8 + i % 5}], BatchNormalizationLayer[], Ramp,",
                f"  LinearLayer[{3 + i % 4}]}}, \"Input\" -> {4 + i % 3}]];",
                f"y{i} = net{i}[RandomReal[1, {{2, {4 + i % 3}}}]];",
                f"(* net {i}: {4 + i % 3} -> {3 + i % 4} *)"]
        i += 1
    out += ["conv = NetChain[{ConvolutionLayer[4, {3, 3}], Ramp, FlattenLayer[],",
            "  LinearLayer[10], SoftmaxLayer[]}, \"Input\" -> {1, 8, 8}];",
            f"last = NetChain[{{LinearLayer[5], {'ConvolutionLayer[2, 3]' if error else 'Ramp'}}}, "
            f"\"Input\" -> 3];"]
    return "\n".join(out[:lines]) + "\n"


async def main() -> None:
    text, bad = spec(), spec(error=True)
    print(f"spec: {text.count(chr(10))} lines, {len(text):,} characters")
    for label, src in (("clean", text), ("with an error", bad)):
        t0 = time.perf_counter()
        a = analyse(src)
        print(f"analysis alone ({label}): {1000 * (time.perf_counter() - t0):.0f} ms, "
              f"{len(a.diagnostics)} diagnostics")

    client = BaseLanguageClient("bench", "1")
    published: dict[int, tuple[float, int]] = {}
    got = asyncio.Event()

    @client.feature(t.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: t.PublishDiagnosticsParams) -> None:
        published[params.version or 0] = (time.perf_counter(), len(params.diagnostics))
        got.set()

    await client.start_io(sys.executable, "-m", "netdsl", "lsp")
    await client.initialize_async(t.InitializeParams(capabilities=t.ClientCapabilities()))
    client.initialized(t.InitializedParams())

    async def until(version: int) -> None:
        while version not in published:
            got.clear()
            await got.wait()

    client.text_document_did_open(t.DidOpenTextDocumentParams(t.TextDocumentItem(
        uri=URI, language_id="wolfram", version=1, text=text)))
    await until(1)
    lines = text.split("\n")
    version = 1
    def layer_line(near: int) -> int:      # the first "  LinearLayer[...], ..." line from near
        return next(i for i in range(near, len(lines)) if lines[i].startswith("  LinearLayer["))

    for where, line in (("end", layer_line(len(lines) - 30)),
                        ("middle", layer_line(len(lines) // 2)), ("start", layer_line(0))):
        times = []
        for k in range(6):
            edited = list(lines)
            if k % 2 == 0:      # a shape error: a vector into a ConvolutionLayer
                edited[line] = edited[line].replace("LinearLayer[", "ConvolutionLayer[2, ", 1)
            version += 1
            t0 = time.perf_counter()
            client.text_document_did_change(t.DidChangeTextDocumentParams(
                t.VersionedTextDocumentIdentifier(uri=URI, version=version),
                [t.TextDocumentContentChangeWholeDocument(text="\n".join(edited))]))
            await until(version)
            at, n = published[version]
            times.append(at - t0)
            assert n == (1 if k % 2 == 0 else 0), (where, version, n)
        times.sort()
        print(f"edit near the {where} -> diagnostics over stdio, 6 edits: median "
              f"{1000 * times[3]:.0f} ms, worst {1000 * times[-1]:.0f} ms (goal: under 500 ms)")
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()


if __name__ == "__main__":
    asyncio.run(main())
