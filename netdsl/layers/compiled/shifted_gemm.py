"""A stride-1 convolution as shifted GEMMs from one compiled loop (numba), through cblas.

Why: windows.conv_shifted multiplies the padded input once by all offsets' weights,
W'(k F, C) @ X(C, P N), then adds k shifted slices of the result. Called from here
instead, each output row (O_d N columns, ~256-1024) gets its k GEMMs
W_k(F, C) @ X[:, row + shift_k] accumulated in place (beta = 1) and written straight
into the cropped output: every operand stays in L1/L2, OpenBLAS takes its unpacked
small-matrix kernel for these sizes, and there is no k-times intermediate, no shifted
additions and no crop copy. Measured at one thread, batch 16 (float32): 32 -> 16 channels
on 32x32, 3.46 -> 1.68 ms; 16 -> 32 on 16x16, 0.84 -> 0.48; 16 -> 16 on 32x32,
2.31 -> 0.94. The sums are the same products added in the same order: the outputs are
bit-identical to the NumPy path's.

Loaded like lstm_fused.py (compiled/__init__.py): only for float32 passes, never at
``import netdsl``; without numba, with ``NETDSL_JIT=0`` or without a cblas_sgemm
(cblas.py), windows.conv_shifted keeps its NumPy GEMM.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .cblas import NO_TRANS, ROW_MAJOR, SGEMM, TRANS  # noqa: F401 (SGEMM: for windows.py)
from .padded import fill_rows
from .team import started


@njit(nogil=True, cache=True)
def accumulate(gemm, wk, src, shifts, blocks, bias, ramp, out, inputs, geom, lo, hi, flags,
               part, count, relax):   # pragma: no cover (compiled)
    """For blocks lo..hi - 1 (b, c, w) of ``blocks`` (a share of team.run: ``flags`` ...
    ``relax``), the padded rows they read first filled from ``inputs`` (padded.fill_rows;
    ``geom``, whose fourth number is the padded row's length P2 N; none when it is 0):
    out[:, c:c + w] = bias + the sum over k of
    wk[k] (F, C) @ src[:, b + shifts[k] : b + shifts[k] + w], by ``gemm`` (cblas.SGEMM);
    ``bias`` (F,) or empty (none): written into the block first, while it is in cache,
    instead of another pass over the output; with ``ramp``, the block then Max[., 0]
    (NaN kept), also while in cache. src and out have contiguous rows (any row stride);
    wk is C-contiguous."""
    started(flags, part, count, relax)
    nk, f, c = wk.shape
    row = geom[3]
    if row > 0 and hi > lo:
        fill_rows(inputs, src, geom, blocks[lo, 0] // row,
                  (blocks[hi - 1, 0] + shifts[nk - 1] + blocks[hi - 1, 2] - 1) // row + 1)
    size = src.itemsize
    lds, ldo = src.strides[0] // size, out.strides[0] // size
    biased = bias.shape[0] > 0
    for i in range(lo, hi):
        b, col, w = blocks[i, 0], blocks[i, 1], blocks[i, 2]
        if biased:
            for r in range(f):
                out[r, col:col + w] = bias[r]
        for k in range(nk):
            gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, f, w, c, 1.0, wk[k].ctypes.data, c,
                 src.ctypes.data + (b + shifts[k]) * size, lds,
                 1.0 if k > 0 or biased else 0.0, out.ctypes.data + col * size, ldo)
        if ramp:
            _ramp_block(out, col, w)


@njit(inline="always", cache=True)
def _ramp_block(out, col, w):   # pragma: no cover (compiled)
    """Max[., 0] of columns col .. col + w - 1 of every row of out, in place (NaN kept:
    it is not < 0). The row is sliced first and looped from 0: a loop over
    range(col, col + w) of the whole row was not vectorised (53 against 4.5 us for 16
    rows of 8,192; NumPy's ramp_into: 13)."""
    zero = out.dtype.type(0)
    for r in range(out.shape[0]):
        row = out[r, col:col + w]
        for q in range(w):
            v = row[q]
            row[q] = zero if v < zero else v


@njit(nogil=True, cache=True)
def weight_grad(gemm, dy, src, shifts, blocks, dw, lo, hi, flags, part, count,
                relax):   # pragma: no cover (compiled)
    """The weight gradient of ``accumulate``: dw[part, k] (F, C) = the sum over the blocks
    lo..hi - 1 (b, c, w) (a share of team.run: ``flags`` ... ``relax``) of
    dy[:, c:c + w] @ src[:, b + shifts[k] : b + shifts[k] + w]^T, each block's k GEMMs one
    after another (its dy columns stay in cache). Each share sums into its own dw[part];
    the caller adds them."""
    started(flags, part, count, relax)
    nk, f, c = dw.shape[1], dw.shape[2], dw.shape[3]
    size = src.itemsize
    lds, ldy = src.strides[0] // size, dy.strides[0] // size
    for i in range(lo, hi):
        b, col, w = blocks[i, 0], blocks[i, 1], blocks[i, 2]
        for k in range(nk):
            gemm(ROW_MAJOR, NO_TRANS, TRANS, f, c, w, 1.0, dy.ctypes.data + col * size, ldy,
                 src.ctypes.data + (b + shifts[k]) * size, lds, 0.0 if i == lo else 1.0,
                 dw[part, k].ctypes.data, c)


@njit(nogil=True, cache=True)
def columns(gemm, a, b, bias, ramp, out, width, lo, hi, flags, part, count,
            relax):   # pragma: no cover (compiled)
    """out = a @ b + bias, then with ``ramp`` Max[., 0] (NaN kept), in blocks of
    ``width`` columns of b (windows.blocked_matmul): the blocks lo..hi - 1 (a share of
    team.run: ``flags`` ... ``relax``). The bias and the Ramp in one pass over each block
    while it is in cache (16 x 8,192 outputs at one thread: 110 us without them, 151 with
    NumPy's two passes after, 122 so). a (M, K) C-contiguous, b and out with contiguous
    rows, ``bias`` (M,) or empty (none)."""
    started(flags, part, count, relax)
    m, k = a.shape
    size = b.itemsize
    ldb, ldo = b.strides[0] // size, out.strides[0] // size
    p = b.shape[1]
    biased = bias.shape[0] > 0
    zero = out.dtype.type(0)
    for blk in range(lo, hi):
        col = blk * width
        w = min(width, p - col)
        gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, m, w, k, 1.0, a.ctypes.data, k,
             b.ctypes.data + col * size, ldb, 0.0, out.ctypes.data + col * size, ldo)
        if biased or ramp:
            for r in range(m):
                row = out[r, col:col + w]          # sliced, looped from 0: vectorised
                bv = bias[r] if biased else zero
                for q in range(w):
                    v = row[q] + bv
                    row[q] = zero if ramp and v < zero else v


@njit(nogil=True, error_model="numpy", cache=True)
def untiled(gemm, wt, x, bias, y, lo, hi, flags, part, count, relax):   # pragma: no cover
    """y (F, S1 k1, S2 k2, N) = the deconvolution with stride = kernel (k1, k2) of x
    (C, S1, S2, N), C-contiguous, by wt (F k1 k2, C) (rows in (f, a, b) order), plus
    ``bias`` (F,) or empty: per input row i (lo..hi - 1, a share of team.run: ``flags``
    ... ``relax``) one GEMM wt @ x[:, i] into a buffer (F k1 k2, S2 N), then its tiles
    written to output rows i k1 ... i k1 + k1 - 1 with the bias, while the buffer is in
    cache (deconv.py's NumPy path: one GEMM for all rows, then a transposing copy of the
    whole (F k, S N) result)."""
    started(flags, part, count, relax)
    fk, c = wt.shape
    f = y.shape[0]
    s1, s2, n = x.shape[1], x.shape[2], x.shape[3]
    k1, k2 = y.shape[1] // s1, y.shape[2] // s2
    row = s2 * n
    size = x.itemsize
    biased = bias.shape[0] > 0
    buf = np.empty((fk, row), y.dtype)
    for i in range(lo, hi):
        gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, fk, row, c, 1.0, wt.ctypes.data, c,
             x.ctypes.data + i * row * size, x.strides[0] // size, 0.0, buf.ctypes.data, row)
        for ff in range(f):
            bv = bias[ff] if biased else buf.dtype.type(0)
            for a in range(k1):
                out = y[ff, i * k1 + a]
                for b in range(k2):
                    src = buf[(ff * k1 + a) * k2 + b]
                    for j in range(s2):
                        for q in range(n):
                            out[j * k2 + b, q] = src[j * n + q] + bv


@njit(nogil=True, cache=True)
def rows_im2col(gemm, w, xp, shape, bias, ramp, out, lo, hi, flags, part, count,
                relax):   # pragma: no cover (compiled)
    """out (F, O1, O2 N) = the 2-D convolution of the padded input xp (C, P1, P2, N) by
    w (F, C k1 k2) (both C-contiguous; ``shape``: k1, k2, the strides s1, s2 and the
    dilations d1, d2), plus ``bias`` (F,) or empty, then with ``ramp``
    Max[., 0], one output row at a time: the row's columns (C k1 k2, O2 N) are built in
    a buffer that stays in cache and multiplied at once, instead of an im2col of the
    whole input (written to memory and read back) and then the GEMM. The output rows
    lo..hi - 1 (a share of team.run: ``flags`` ... ``relax``)."""
    started(flags, part, count, relax)
    f, kk = w.shape
    c, n = xp.shape[0], xp.shape[3]
    o2n = out.shape[2]
    o2 = o2n // n
    k1, k2 = shape[0], shape[1]
    s1, s2 = shape[2], shape[3]
    d1, d2 = shape[4], shape[5]
    cols = np.empty((kk, o2n), out.dtype)
    size = out.itemsize
    ldo = out.strides[0] // size
    biased = bias.shape[0] > 0
    zero = out.dtype.type(0)
    for i in range(lo, hi):
        r = 0
        for ch in range(c):
            for a in range(k1):
                row = xp[ch, i * s1 + a * d1]
                for b in range(k2):
                    dst = cols[r]
                    if s2 == 1:
                        src = row[b * d2:b * d2 + o2].reshape(o2n)
                        for q in range(o2n):
                            dst[q] = src[q]
                    else:
                        for j in range(o2):
                            src1 = row[j * s2 + b * d2]
                            for q in range(n):
                                dst[j * n + q] = src1[q]
                    r += 1
        gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, f, o2n, kk, 1.0, w.ctypes.data, kk,
             cols.ctypes.data, o2n, 0.0, out.ctypes.data + i * o2n * size, ldo)
        if biased or ramp:
            for ff in range(f):
                y = out[ff, i]
                bv = bias[ff] if biased else zero
                for q in range(o2n):
                    v = y[q] + bv
                    y[q] = zero if ramp and v < zero else v
