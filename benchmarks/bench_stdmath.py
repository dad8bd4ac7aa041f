"""Speed of the everyday numeric built-ins on packed arrays of a million elements:
``python benchmarks/bench_stdmath.py [--runs N] [--size N]``.

Each built-in runs on a packed array already held by the session (Integers in
[-10^6, 10^6], Reals in [-5, 5]), so the time is the built-in's own: one NumPy pass (or
a partial sort for Median and Quantile), never a Python loop over the elements. Prints
the median wall-clock and CPU milliseconds of several runs, and NumPy's time for the
same computation where there is a direct equivalent.
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


def cases(v: np.ndarray, r: np.ndarray) -> list[tuple[str, object]]:
    """(netdsl call, the NumPy equivalent or None)."""
    return [
        ("Mod[v, 7]", lambda: np.mod(v, 7)),
        ("Quotient[v, 7]", lambda: np.floor_divide(v, 7)),
        ("Mod[r, 1.5]", lambda: np.mod(r, 1.5)),
        ("Sign[r]", lambda: np.sign(r).astype(np.int64)),
        ("UnitStep[r]", lambda: (r >= 0).astype(np.int64)),
        ("Clip[r, {-1., 1.}]", lambda: np.clip(r, -1.0, 1.0)),
        ("Rescale[r, {-5, 5}]", lambda: (r + 5) / 10),
        ("Median[r]", lambda: np.median(r)),
        ("Quantile[r, {1/4, 1/2, 3/4}]", None),
        ("Covariance[r, r]", lambda: np.cov(r, r)[0, 1]),
        ("Standardize[r]", lambda: (r - r.mean()) / r.std(ddof=1)),
        ("BinCounts[r, 1/2]", lambda: np.histogram(r, bins=20, range=(-5, 5))[0]),
        ("Norm[r]", lambda: np.linalg.norm(r)),
        ("RandomChoice[{0.2, 0.8} -> {1, 2}, Length[r]]", None),
        ("Outer[Times, Range[1000], Range[1000]]", None),
        ("KroneckerDelta[v, 0]", lambda: (v == 0).astype(np.int64)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--size", type=int, default=10 ** 6)
    args = parser.parse_args()
    s = Session(stdout=io.StringIO())
    s.evaluate(f"SeedRandom[1]; v = RandomInteger[{{-10^6, 10^6}}, {args.size}]; "
               f"r = RandomReal[{{-5, 5}}, {args.size}];")
    v, r = s.evaluate("v"), s.evaluate("r")
    print(f"{'built-in (n = ' + str(args.size) + ')':48s} {'wall ms':>9s} {'cpu ms':>9s} "
          f"{'NumPy ms':>9s}")
    for src, numpy_fn in cases(v, r):
        wall, cpu, _ = timed(lambda text=src + ";": s.evaluate(text), args.runs)
        ref = ""
        if numpy_fn is not None:
            ref_wall, _, _ = timed(numpy_fn, args.runs)
            ref = f"{statistics.median(ref_wall):9.1f}"
        print(f"{src:48s} {statistics.median(wall):9.1f} {statistics.median(cpu):9.1f} {ref}")


if __name__ == "__main__":
    main()
