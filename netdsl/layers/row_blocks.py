"""A recurrent step's GEMM W (M, K) @ s (K, N) as row blocks of W, when that is faster.

Why: OpenBLAS (0.3.x, x86-64) has a separate kernel for small products (about
M N K <= 1e6) that skips packing the operands; an LSTM step's (1024, 256) @ (256, 32)
is 8 times that size. As 12 GEMMs of ~85 rows it took 161 us against 185 us for the
whole; with 16 examples per lane (two lanes), 8 blocks took 83 us against 104. Whether
and where that pays depends on the BLAS library and the machine, so the split is chosen
by timing: the first call for a (shape, dtype) times 1, 8, 12 and 16 blocks (a few ms,
once per process) and keeps the fastest.

The same holds for the example-major product s (N, K) @ w (K, M) cut into column blocks of
w (``axis=1``): there the blocks' edges fall on multiples of 16 numbers (64 bytes), as
the kernel's vectors do. For s (32, 256) @ w (256, 1024): 16.5 ms for 100 products in 16
blocks of 64 columns, 22.6 in 12 blocks of ~85 and 22.6 in 8 of 128 (too big for the
small kernel).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

CANDIDATES = (1, 8, 12, 16)
_CHOSEN: dict[tuple, tuple[tuple[int, int], ...]] = {}
_LOCK = threading.Lock()


def blocks(w: np.ndarray, s: np.ndarray, via: Any = None,
           axis: int = 0) -> tuple[tuple[int, int], ...]:
    """The row ranges of ``w`` to multiply by ``s`` one at a time (one range: no split),
    or with ``axis=1`` its column ranges for s @ w; ``via(w, s, out, ranges)``: how the
    blocks will be multiplied, if not by ``matmul`` (lstm_kernel's compiled loops), timed
    under its own key."""
    key = (w.shape, s.shape, w.dtype.str, via is None, axis)
    chosen = _CHOSEN.get(key)
    if chosen is None:
        with _LOCK:
            chosen = _CHOSEN.get(key)
            if chosen is None:
                chosen = _CHOSEN[key] = _fastest(w, s, via or matmul, axis)
    return chosen


def matmul(w: np.ndarray, s: np.ndarray, out: np.ndarray,
           ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    """``np.matmul(w, s, out=out)`` by the row ``ranges`` of ``blocks``."""
    if len(ranges) == 1:
        return np.matmul(w, s, out=out)
    for lo, hi in ranges:
        np.matmul(w[lo:hi], s, out=out[lo:hi])
    return out


def _split(rows: int, parts: int, align: int = 1) -> tuple[tuple[int, int], ...]:
    bounds = (np.linspace(0, rows / align, parts + 1).round() * align).astype(int)
    bounds[-1] = rows
    return tuple((int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a)


def _fastest(w: np.ndarray, s: np.ndarray, via: Any, axis: int) -> tuple[tuple[int, int], ...]:
    rows, align = w.shape[axis], 16 if axis else 1
    options = [_split(rows, p, align) for p in CANDIDATES if p == 1 or rows >= 4 * p * align]
    n = s.shape[1 - axis]          # the product's other dimension
    if len(options) == 1 or w.size * n < 1 << 20:   # small: never worth timing
        return options[0]
    out = np.empty((rows, n) if axis == 0 else (n, rows), np.result_type(w, s))
    best: dict[int, float] = {}
    for _ in range(3):                  # interleaved rounds: a busy moment hits them all
        for k, ranges in enumerate(options):
            via(w, s, out, ranges)      # warm
            start = time.perf_counter()
            for _ in range(4):
                via(w, s, out, ranges)
            took = time.perf_counter() - start
            best[k] = min(best.get(k, took), took)
    return options[min(best, key=best.__getitem__)]


def chosen() -> dict[tuple, Any]:
    """What was chosen so far, by (W shape, s shape, dtype): for benchmarks and tests."""
    return dict(_CHOSEN)
