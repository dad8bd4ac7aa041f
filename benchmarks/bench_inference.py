"""Build + shape inference of a long chain: ``python benchmarks/bench_inference.py``.

Times ``NetChain[{LinearLayer[10], Ramp, LinearLayer[10], Ramp, ...}, "Input" -> 10]``
with 5,000 layers, three ways, and prints the median of several runs in milliseconds:

  text     the whole statement from text: parse, build every layer, wire, infer
  parsed   the already-parsed expression: build every layer, wire, infer
  layers   already-built layers (a list of Layer values and bare Ramp symbols), as in
           ``NetChain[layers, "Input" -> 10]``: wire the graph and infer its shapes

``--profile`` prints the cProfile summary of one "layers" run instead. Options:
``--runs N`` (default 7), ``--layers N`` (default 5000).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import netdsl  # noqa: E402
from netdsl.expr import Expr, Symbol  # noqa: E402
from netdsl.graph.build import build_chain  # noqa: E402
from netdsl.graph.container import Container  # noqa: E402
from timing import timed  # noqa: E402


def chain_text(layers: int) -> str:
    items = ["LinearLayer[10]" if i % 2 == 0 else "Ramp" for i in range(layers)]
    return "NetChain[{" + ", ".join(items) + '}, "Input" -> 10]'


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--layers", type=int, default=5000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)

    text = chain_text(args.layers)
    session = netdsl.Session()
    expr = netdsl.parse(text)
    # the layers as values: evaluate the list once, then time only NetChain[layers, ...]
    layer_list = session.evaluator.evaluate(expr.args[0])
    layers = Expr(Symbol("List"), *layer_list.args)

    def from_layers():
        return build_chain(layers, {"Input": 10})

    if args.profile:
        import cProfile
        import pstats
        from_layers()
        prof = cProfile.Profile()
        prof.enable()
        from_layers()
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        return

    cases = [
        ("text  ", lambda: netdsl.evaluate(text)),
        ("parsed", lambda: netdsl.Session().evaluator.evaluate(expr)),
        ("layers", from_layers),
    ]
    print(f"NetChain of {args.layers} layers (LinearLayer[10], Ramp, ...), \"Input\" -> 10; "
          f"build + infer, {args.runs} runs")
    for name, fn in cases:
        wall, cpu, net = timed(fn, args.runs)
        assert isinstance(net, Container) and len(net.order) == args.layers
        assert net.ports["Output"].shape == (10,)
        print(f"  from {name}: median {statistics.median(wall):7.1f} ms  "
              f"(min {min(wall):.1f}, max {max(wall):.1f}; CPU median "
              f"{statistics.median(cpu):.1f})")


if __name__ == "__main__":
    main()
