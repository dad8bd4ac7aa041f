"""Parser speed on long nets: ``python benchmarks/bench_parse.py [--runs N] [--layers N]``.

Times ``netdsl.parse`` on two texts that stand for the large nets users write:
a 5,000-layer ``NetChain[{LinearLayer[10], Ramp, ...}]`` and the same length
with options on every layer (``ConvolutionLayer[16, {3, 3}, "Stride" -> 1, ...]``).
Prints the median of several runs, in milliseconds. ``--profile`` prints the
cProfile summary of one parse of each text instead.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

import netdsl  # noqa: E402
from netdsl.syntax import parse_statements  # noqa: E402
from timing import timed  # noqa: E402


def plain_chain(layers: int) -> str:
    items = ["LinearLayer[10]" if i % 2 == 0 else "Ramp" for i in range(layers)]
    return "NetChain[{" + ", ".join(items) + "}]"


def options_chain(layers: int) -> str:
    layer = 'ConvolutionLayer[16, {3, 3}, "Stride" -> 1, "PaddingSize" -> 1]'
    return "NetChain[{" + ", ".join([layer] * layers) + "}]"


def time_parse(text: str, runs: int) -> tuple[list[float], list[float]]:
    parse_statements(text)  # warm-up: builds the parser once
    wall, cpu, _ = timed(lambda: netdsl.parse(text), runs)
    return wall, cpu


def profile(text: str) -> None:
    import cProfile
    import pstats
    parse_statements(text)
    prof = cProfile.Profile()
    prof.enable()
    netdsl.parse(text)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--layers", type=int, default=5000)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)
    cases = [
        (f"NetChain of {args.layers} layers (LinearLayer[10], Ramp)", plain_chain(args.layers)),
        (f"NetChain of {args.layers} ConvolutionLayer[..] with options",
         options_chain(args.layers)),
    ]
    for name, text in cases:
        if args.profile:
            print(f"== {name}")
            profile(text)
            continue
        wall, cpu = time_parse(text, args.runs)
        print(f"{name}: median {statistics.median(wall):7.1f} ms  "
              f"(min {min(wall):.1f}, max {max(wall):.1f}; CPU median "
              f"{statistics.median(cpu):.1f}; {args.runs} runs, {len(text):,} characters)")


if __name__ == "__main__":
    main()
