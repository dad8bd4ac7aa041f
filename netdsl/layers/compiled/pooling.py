"""2x2 max pooling with stride 2 in one compiled pass (numba).

Why: windows.pool_max takes the maximum along one axis at a time over strided views: two
``np.maximum`` calls and their intermediate (16 channels of 32x32, batch 8: 66 us). One
pass over pairs of input rows, vectorised over the batch, takes ~20 us. NaN propagates as
``np.maximum`` does (a NaN anywhere in a window gives NaN); the maximum of equal values is
one of them, so results equal pool_max's (up to the sign of a zero maximum between -0.0
and 0.0).

Loaded like lstm_fused.py (compiled/__init__.py): only for float32 passes, never at
``import netdsl``; without numba or with ``NETDSL_JIT=0``, pool_max's NumPy code runs.
"""

from __future__ import annotations

from numba import njit


@njit(inline="always", error_model="numpy", cache=True)
def _max(a, b):   # pragma: no cover (compiled)
    """max(a, b), NaN if either is NaN."""
    return a if a > b or a != a else b


@njit(nogil=True, error_model="numpy", cache=True)
def max_2x2(x, y):   # pragma: no cover (compiled)
    """y (C, O1, O2, N) = the maximum of each 2x2 tile of x (C, >= 2 O1, >= 2 O2, N),
    x C-contiguous."""
    c, o1, o2, n = y.shape
    for ch in range(c):
        for i in range(o1):
            top, bottom, out = x[ch, 2 * i], x[ch, 2 * i + 1], y[ch, i]
            for j in range(o2):
                t0, t1, b0, b1 = top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]
                o = out[j]
                for q in range(n):
                    o[q] = _max(_max(t0[q], t1[q]), _max(b0[q], b1[q]))
