"""List built-ins on packed arrays: ``python benchmarks/bench_lists.py [--runs N] [--n N]``.

Times Sort, Ordering (all, and the first 10), Union, DeleteDuplicates, Tally, Counts,
Accumulate, Differences, RotateLeft, PadLeft and TakeLargest on a packed vector of n
numbers (10^6 by default), next to the NumPy call each one reduces to, and prints the
median milliseconds of both (CPU time, steadier on a busy machine) and their ratio.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from netdsl import Session  # noqa: E402
from timing import timed  # noqa: E402

CASES = [  # (netdsl expression on r or a, the NumPy equivalent)
    ("Sort[r]", lambda r, a: np.sort(r)),
    ("Ordering[r]", lambda r, a: np.argsort(r, kind="stable") + 1),
    ("Ordering[r, 10]", lambda r, a: np.argpartition(r, 9)[:10]),
    ("Union[a]", lambda r, a: np.unique(a)),
    ("DeleteDuplicates[a]", lambda r, a: a[np.sort(np.unique(a, return_index=True)[1])]),
    ("Tally[a]", lambda r, a: np.unique(a, return_index=True, return_counts=True)),
    ("Counts[a]", lambda r, a: np.unique(a, return_index=True, return_counts=True)),
    ("Accumulate[r]", lambda r, a: np.cumsum(r)),
    ("Differences[r]", lambda r, a: np.diff(r)),
    ("RotateLeft[r, 3]", lambda r, a: np.roll(r, -3)),
    ("PadLeft[r, Length[r] + 5, 0.]", lambda r, a: np.pad(r, (5, 0))),
    ("TakeLargest[r, 5]", lambda r, a: np.sort(r[np.argpartition(r, -5)[-5:]])[::-1]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--n", type=int, default=10 ** 6)
    args = parser.parse_args()
    s = Session(stdout=io.StringIO())
    s.evaluate(f"SeedRandom[1]; r = RandomReal[1, {args.n}]; a = RandomInteger[1000, {args.n}];")
    r, a = s.evaluate("r"), s.evaluate("a")
    print(f"packed vectors of {args.n} numbers; median CPU ms of {args.runs} runs")
    print(f"{'expression':28} {'netdsl':>9} {'numpy':>9} {'ratio':>6}")
    for src, ref in CASES:
        _, ours, _ = timed(lambda src=src: s.evaluate(src + ";"), args.runs)
        _, theirs, _ = timed(lambda ref=ref: ref(r, a), args.runs)
        o, t = statistics.median(ours), statistics.median(theirs)
        print(f"{src:28} {o:9.1f} {t:9.1f} {o / max(t, 1e-3):6.1f}")


if __name__ == "__main__":
    main()
