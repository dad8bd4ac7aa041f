"""2x2 max pooling with stride 2 and its gradient, each in one compiled pass (numba).

Why: windows.pool_max takes the maximum along one axis at a time over strided views: two
``np.maximum`` calls and their intermediate (16 channels of 32x32, batch 8: 66 us). One
pass over pairs of input rows, vectorised over the batch, takes ~20 us. NaN propagates as
``np.maximum`` does (a NaN anywhere in a window gives NaN); the maximum of equal values is
one of them, so results equal pool_max's (up to the sign of a zero maximum between -0.0
and 0.0). The gradient follows pool_max_backward exactly (227 -> 100 us for the layer's
backward at the same size).

Loaded like lstm_fused.py (compiled/__init__.py): only for float32 passes, never at
``import netdsl``; without numba or with ``NETDSL_JIT=0``, pool_max's NumPy code runs.
"""

from __future__ import annotations

from numba import njit

from .team import started


@njit(inline="always", error_model="numpy", cache=True)
def _max(a, b):   # pragma: no cover (compiled)
    """max(a, b), NaN if either is NaN."""
    return a if a > b or a != a else b


@njit(nogil=True, error_model="numpy", cache=True)
def max_2x2(x, y, lo, hi, flags, part, count, relax):   # pragma: no cover (compiled)
    """y (C, O1, O2, N) = the maximum of each 2x2 tile of x (C, >= 2 O1, >= 2 O2, N),
    x C-contiguous: the output rows lo..hi - 1, counted as c O1 + i (a share of
    team.run: ``flags`` ... ``relax``)."""
    started(flags, part, count, relax)
    o1, o2, n = y.shape[1], y.shape[2], y.shape[3]
    for item in range(lo, hi):
        ch, i = item // o1, item % o1
        top, bottom, out = x[ch, 2 * i], x[ch, 2 * i + 1], y[ch, i]
        for j in range(o2):
            t0, t1, b0, b1 = top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]
            o = out[j]
            for q in range(n):
                o[q] = _max(_max(t0[q], t1[q]), _max(b0[q], b1[q]))


@njit(nogil=True, error_model="numpy", cache=True)
def max_2x2_backward(x, y, dy, dx):   # pragma: no cover (compiled)
    """dx (C, P1, P2, N), x's shape: each 2x2 tile's dy at its first maximal element in C
    order ((0, 0), (0, 1), (1, 0), (1, 1)), zero elsewhere, as windows.pool_max_backward
    (a NaN window, equal to none of its elements, passes nothing); rows and columns no
    tile covers are zero. x C-contiguous."""
    c, o1, o2, n = y.shape
    zero = dx.dtype.type(0)
    for ch in range(c):
        for i in range(o1):
            top, bottom = x[ch, 2 * i], x[ch, 2 * i + 1]
            dtop, dbottom, ys, gs = dx[ch, 2 * i], dx[ch, 2 * i + 1], y[ch, i], dy[ch, i]
            for j in range(o2):
                t0, t1, b0, b1 = top[2 * j], top[2 * j + 1], bottom[2 * j], bottom[2 * j + 1]
                dt0, dt1 = dtop[2 * j], dtop[2 * j + 1]
                db0, db1 = dbottom[2 * j], dbottom[2 * j + 1]
                m, g = ys[j], gs[j]
                for q in range(n):     # selects only (no branches): vectorised
                    mq, left = m[q], g[q]
                    hit = t0[q] == mq
                    dt0[q] = left if hit else zero
                    left = zero if hit else left
                    hit = t1[q] == mq
                    dt1[q] = left if hit else zero
                    left = zero if hit else left
                    hit = b0[q] == mq
                    db0[q] = left if hit else zero
                    left = zero if hit else left
                    db1[q] = left if b1[q] == mq else zero
        for r in range(2 * o1, dx.shape[1]):
            dx[ch, r] = zero
        for r in range(2 * o1):
            dx[ch, r, 2 * o2:] = zero
