"""Evaluation speed of recursive definitions: ``python benchmarks/bench_fib.py [--runs N]``.

Times, in a fresh session each run:

- plain recursion ``fib[n_] := fib[n - 1] + fib[n - 2]`` (with ``fib[0] = 0; fib[1] = 1``)
  for ``fib[20]``: 21,891 calls, each matched against the definitions;
- memoisation ``fib[n_] := fib[n] = fib[n - 1] + fib[n - 2]`` for ``fib[150]``: each value
  computed once and stored as a new exact definition ``fib[k] = ...``.

The definitions are written in FullForm so the benchmark runs on any netdsl version.
Prints the median of several runs in milliseconds, and the time per call.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from netdsl import Session  # noqa: E402
from timing import timed  # noqa: E402

BASE = "Set[fib[0], 0]; Set[fib[1], 1]; "
PLAIN = BASE + "SetDelayed[fib[Pattern[n, Blank[]]], fib[n - 1] + fib[n - 2]]"
MEMO = BASE + "SetDelayed[fib[Pattern[n, Blank[]]], Set[fib[n], fib[n - 1] + fib[n - 2]]]"


def run(definition: str, n: int) -> int:
    s = Session()
    s.evaluate(definition)
    return s.evaluate(f"fib[{n}]")


def fib(n: int) -> int:
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def calls(n: int) -> int:
    """Calls of fib made by the plain recursion for fib[n]."""
    return 2 * fib(n + 1) - 1


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--plain", type=int, default=20)
    ap.add_argument("--memo", type=int, default=150)
    args = ap.parse_args(argv)
    for name, definition, n, count in [
        ("plain recursive", PLAIN, args.plain, calls(args.plain)),
        ("memoised", MEMO, args.memo, args.memo + 1),
    ]:
        wall, cpu, value = timed(lambda d=definition, k=n: run(d, k), args.runs)
        assert value == fib(n), (value, fib(n))
        med = statistics.median(wall)
        print(f"fib[{n}] {name}: median {med:7.1f} ms  ({1000 * med / count:.1f} us per call, "
              f"{count:,} calls; min {min(wall):.1f}, max {max(wall):.1f}; CPU median "
              f"{statistics.median(cpu):.1f}; {args.runs} runs)")


if __name__ == "__main__":
    main()
