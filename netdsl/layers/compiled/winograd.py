"""3x3 stride-1 convolutions by Winograd's F(2x2, 3x3), compiled (numba), GEMMs by cblas.

Why: a 3x3 convolution makes 9 multiplications per output and input channel; F(2x2, 3x3)
computes each 2x2 output tile from a 4x4 input tile with 16, 2.25 times fewer. The
transforms are additions only. Layout, per row of output tiles (so that everything stays
in L2): the 4x4 input tiles of every tile column and example are transformed to
V (16, C, T) (T = tile columns x batch, the batch innermost and contiguous), then one
GEMM per tile position, M[p] (F, T) = U[p] (F, C) @ V[p] (C, T), with U = G w G^T the
transformed weights, then the output transform A^T m A writes the two output rows, bias
included. Measured at one thread, batch 16, float32, 32 -> 16 channels on 32x32: 1.11 ms
(input transform 0.36, GEMMs 0.63, output transform 0.10) against 1.5 for the compiled
shifted GEMMs; in the U-Net benchmark, forward 3.7 -> 3.2 ms and training step
11.9 -> 11.3. Where it pays and where it does not: windows._winograd.

Error: the transforms add and subtract tile values (no divisions; G's 1/2 is exact), so
the outputs differ from the direct sums by a few float32 roundings: within 2e-6 of the
largest output against float64 in the tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .cblas import NO_TRANS, ROW_MAJOR, SGEMM  # noqa: F401 (SGEMM: for windows.py)
from .padded import fill_rows
from .team import started

# Columns of V per GEMM: OpenBLAS's small-matrix kernel (see shifted_gemm.py).
_MAX_COLUMNS = 512


@njit(nogil=True, cache=True)
def conv3x3(gemm, u, src, wp, bias, ramp, out, inputs, geom, lo, hi, flags, part, count,
            relax):   # pragma: no cover (compiled)
    """out (F, Ho, Wo, N) = the 3x3 convolution of the padded input (C, Ho + 2, wp, N),
    the first (Ho + 2) wp N numbers of each row of ``src`` (windows.conv_shifted's
    buffer), with the transformed weights u (16, F, C), plus bias (F,) (empty: none),
    with ``ramp`` then Max[., 0] (NaN kept); Ho and Wo even; the rows of output tiles
    lo..hi - 1 (a share of team.run: ``flags`` ... ``relax``), the padded rows they read
    first filled from ``inputs`` (padded.fill_rows; ``geom``). Each transform is two
    passes of simple loops over contiguous runs (tile rows, then tile columns: B^T d B
    and A^T m A are separable), which the compiler vectorises."""
    started(flags, part, count, relax)
    fill_rows(inputs, src, geom, 2 * lo, 2 * hi + 2)
    c_in = src.shape[0]
    f_out, ho, wo, nb = out.shape
    tw = wo // 2
    t = tw * nb
    span = wp * nb                                # one padded input row
    v = np.empty((16, c_in, t), np.float32)
    m = np.empty((16, f_out, t), np.float32)
    rows = np.empty((4, span), np.float32)
    half = np.empty((2, 4, t), np.float32)
    size = v.itemsize
    biased = bias.shape[0] > 0
    for tr in range(lo, hi):
        r0 = 2 * tr * span
        for c in range(c_in):                     # V = B^T d B
            _bt_rows(src[c, r0:r0 + span], src[c, r0 + span:r0 + 2 * span],
                     src[c, r0 + 2 * span:r0 + 3 * span], src[c, r0 + 3 * span:r0 + 4 * span],
                     rows)
            for i in range(4):
                _bt_columns(rows[i], nb, tw, v[4 * i, c], v[4 * i + 1, c], v[4 * i + 2, c],
                            v[4 * i + 3, c])
        for p in range(16):                       # M[p] = U[p] @ V[p]
            for lo in range(0, t, _MAX_COLUMNS):
                w = min(_MAX_COLUMNS, t - lo)
                gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, f_out, w, c_in, 1.0, u[p].ctypes.data,
                     c_in, v[p].ctypes.data + lo * size, t, 0.0,
                     m[p].ctypes.data + lo * size, t)
        for f in range(f_out):                    # Y = A^T m A, plus the bias
            b = bias[f] if biased else np.float32(0.0)
            for j in range(4):                    # A^T m: two rows of four columns
                _at_rows(m[j, f], m[4 + j, f], m[8 + j, f], m[12 + j, f], half[0, j],
                         half[1, j])
            for i in range(2):
                y = out[f, 2 * tr + i].reshape(wo * nb)
                _at_columns(half[i], nb, tw, b, y)
                if ramp:
                    _ramp(y)


@njit(inline="always", cache=True)
def _bt_rows(x0, x1, x2, x3, rows):   # pragma: no cover (compiled)
    """B^T over four input rows: rows = (x0 - x2, x1 + x2, x2 - x1, x1 - x3)."""
    r0, r1, r2, r3 = rows[0], rows[1], rows[2], rows[3]
    for k in range(x0.shape[0]):
        a1, a2 = x1[k], x2[k]
        r0[k] = x0[k] - a2
        r1[k] = a1 + a2
        r2[k] = a2 - a1
        r3[k] = a1 - x3[k]


@njit(inline="always", cache=True)
def _bt_columns(row, nb, tw, v0, v1, v2, v3):   # pragma: no cover (compiled)
    """B^T over the four columns of each tile of ``row`` (padded width x N): tile tc
    reads columns 2 tc .. 2 tc + 3, each a run of nb numbers. One loop per output (two
    arrays each, so that the compiler vectorises them)."""
    _combine(row, 0, 2, -1, nb, tw, v0)       # a0 - a2
    _combine(row, 1, 2, 1, nb, tw, v1)        # a1 + a2
    _combine(row, 2, 1, -1, nb, tw, v2)       # a2 - a1
    _combine(row, 1, 3, -1, nb, tw, v3)       # a1 - a3


@njit(inline="always", cache=True)
def _combine(row, i, j, sign, nb, tw, v):   # pragma: no cover (compiled)
    """v[tc, n] = row[2 tc + i, n] + sign row[2 tc + j, n] (sign +-1)."""
    for tc in range(tw):
        a = (2 * tc + i) * nb
        b = (2 * tc + j) * nb
        d = tc * nb
        if sign > 0:
            for n in range(nb):
                v[d + n] = row[a + n] + row[b + n]
        else:
            for n in range(nb):
                v[d + n] = row[a + n] - row[b + n]


@njit(inline="always", cache=True)
def _at_rows(m0, m1, m2, m3, s, e):   # pragma: no cover (compiled)
    """A^T over four tile rows: s = m0 + m1 + m2, e = m1 - m2 - m3."""
    for k in range(m0.shape[0]):
        a1, a2 = m1[k], m2[k]
        s[k] = m0[k] + a1 + a2
        e[k] = a1 - a2 - m3[k]


@njit(inline="always", cache=True)
def _at_columns(h, nb, tw, b, y):   # pragma: no cover (compiled)
    """A^T over the four columns of each tile, plus b: h (4, T) -> the output row y
    (Wo N): tile tc writes columns 2 tc and 2 tc + 1."""
    h0, h1, h2, h3 = h[0], h[1], h[2], h[3]
    for tc in range(tw):
        src = tc * nb
        dst = 2 * tc * nb
        for n in range(nb):
            a1, a2 = h1[src + n], h2[src + n]
            y[dst + n] = h0[src + n] + a1 + a2 + b
            y[dst + nb + n] = a1 - a2 - h3[src + n] + b


@njit(inline="always", cache=True)
def _ramp(y):   # pragma: no cover (compiled)
    """y = Max[y, 0] in place, a NaN kept (it is not < 0), while y is in cache."""
    zero = y.dtype.type(0)
    for k in range(y.shape[0]):
        v = y[k]
        y[k] = zero if v < zero else v


@njit(nogil=True, cache=True)
def weights(w, u):   # pragma: no cover (compiled)
    """u (16, F, C) = G w G^T of each filter and channel of w (F, C, 3, 3), in float64
    (exact for float32 weights: G's entries are 0, +-1/2 and 1), rounded once into u's
    type; tile position p = 4 i + j. NumPy's two float64 GEMMs and transposes took ~50 us
    for 16 x 32 filters, every training pass; this ~5 us."""
    f_out, c_in = w.shape[0], w.shape[1]
    t = np.empty((4, 3), np.float64)
    for f in range(f_out):
        for c in range(c_in):
            k = w[f, c]
            for b in range(3):                     # t = G w: rows 0, 1, 2, 3
                w0, w1, w2 = np.float64(k[0, b]), np.float64(k[1, b]), np.float64(k[2, b])
                t[0, b] = w0
                t[1, b] = (w0 + w1 + w2) * 0.5
                t[2, b] = (w0 - w1 + w2) * 0.5
                t[3, b] = w2
            for i in range(4):                     # (G w) G^T
                a0, a1, a2 = t[i, 0], t[i, 1], t[i, 2]
                u[4 * i, f, c] = a0
                u[4 * i + 1, f, c] = (a0 + a1 + a2) * 0.5
                u[4 * i + 2, f, c] = (a0 - a1 + a2) * 0.5
                u[4 * i + 3, f, c] = a2
