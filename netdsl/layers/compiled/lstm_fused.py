"""LongShortTermMemoryLayer's per-step elementwise work as one compiled pass (numba).

Why: after its GEMM, a step of the NumPy loop in lstm_kernel.py is about ten ufunc calls
(add, tanh, the sigmoid affine, f c + i m, tanh(c), o tanh(c)); each reads and writes its
(H, N) blocks again and costs 1-5 us of dispatch: for H = 256, N = 32, ~73 us a step
forward and ~74 backward against the 185 us GEMM. One compiled loop over the step's
(H, N) positions takes ~17 us forward and ~6 backward. It releases the GIL, so lanes
(threads) run it side by side. When cblas.py found NumPy's ``cblas_sgemm``, the whole
time loop is one call (``forward_loop``, ``backward_loop``: the GEMMs called from here,
no Python between steps), or a few side by side on their own hidden units
(``forward_part``); the per-step calls are the fallback.

Optional: numba comes with the ``netdsl[speed]`` extra. lstm_kernel.py loads this module
(through this package's ``load``) only for a big enough pass, never at ``import netdsl``;
without numba (or with ``NETDSL_JIT=0``) its NumPy loop runs. Compiled code is cached on disk (``cache=True``,
next to this file), so a process compiles only once per machine.

tanh is a rational approximation (the minimax [13/6] form Eigen and TensorFlow use for
float32): |error| <= 3e-7 against float64 tanh over all of float32, and vectorisable,
unlike the libm call numba would make. NaN stays NaN (no fast-math "no NaN" assumption),
so netdsl's NaN checks still see it. ``error_model="numpy"``: a float division by zero
is IEEE, not a Python exception (whose branch would stop vectorisation). Gates in
lstm_kernel's order: Input, Output, Forget (sigmoid rows, pre-activations already
halved), Memory.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .cblas import NO_TRANS, ROW_MAJOR, SGEMM  # noqa: F401 (SGEMM: for lstm_kernel)
from .meet import post, wait

_FLAGS = {"contract", "arcp", "afn", "reassoc"}   # FMAs and reciprocals; NaN and inf kept
_LIM = np.float32(7.99881172180175781)             # tanh rounds to +-1 in float32 beyond
_A1, _A3 = np.float32(4.89352455891786e-03), np.float32(6.37261928875436e-04)
_A5, _A7 = np.float32(1.48572235717979e-05), np.float32(5.12229709037114e-08)
_A9, _A11 = np.float32(-8.60467152213735e-11), np.float32(2.00018790482477e-13)
_A13 = np.float32(-2.76076847742355e-16)
_B0, _B2 = np.float32(4.89352518554385e-03), np.float32(2.26843463243900e-03)
_B4, _B6 = np.float32(1.18534705686654e-04), np.float32(1.19825839466702e-06)
_HALF, _ONE = np.float32(0.5), np.float32(1.0)


@njit(inline="always", error_model="numpy", fastmath=_FLAGS, cache=True)
def tanh(x):   # pragma: no cover (compiled)
    """float32 tanh, a rational function of x on [-_LIM, _LIM]."""
    x = _LIM if x > _LIM else (-_LIM if x < -_LIM else x)   # a NaN passes through
    x2 = x * x
    p = x2 * _A13 + _A11
    p = x2 * p + _A9
    p = x2 * p + _A7
    p = x2 * p + _A5
    p = x2 * p + _A3
    p = x2 * p + _A1
    q = x2 * _B6 + _B4
    q = x2 * q + _B2
    q = x2 * q + _B0
    return x * p / q


@njit(inline="always", error_model="numpy", fastmath=_FLAGS, cache=True)
def _cell(x_i, x_o, x_f, x_m, c_prev):   # pragma: no cover (compiled)
    """One position's gates from their pre-activations, then c, tanh(c) and s."""
    i = tanh(x_i) * _HALF + _HALF
    o = tanh(x_o) * _HALF + _HALF
    f = tanh(x_f) * _HALF + _HALF
    m = tanh(x_m)
    c = f * c_prev + i * m
    tc = tanh(c)
    return i, o, f, m, c, tc, o * tc


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def forward_step(a, pre, t, c_prev, c, tc, s):   # pragma: no cover (compiled)
    """a (4H, N): Ws.s, becomes [i, o, f, m]; pre (4H, n, N): the input projections;
    writes the cell state c, tanh(c) and the state s = o tanh(c), all (H, N)."""
    h, nb = c.shape
    for r in range(h):
        for j in range(nb):
            (a[r, j], a[h + r, j], a[2 * h + r, j], a[3 * h + r, j],
             c[r, j], tc[r, j], s[r, j]) = _cell(
                a[r, j] + pre[r, t, j], a[h + r, j] + pre[h + r, t, j],
                a[2 * h + r, j] + pre[2 * h + r, t, j],
                a[3 * h + r, j] + pre[3 * h + r, t, j], c_prev[r, j])


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def lookup_step(a, proj, cols, t, c_prev, c, tc, s):   # pragma: no cover (compiled)
    """forward_step with the input projection of example j at step t read from column
    cols[t, j] (uint32: checked in range before, and unsigned indices need no
    wrap-around test: 13 against 17 us a step) of the projected table proj (4H, V). The
    gather is a loop of its own: inside the gate loop it stops vectorisation."""
    h, nb = c.shape
    for r in range(4 * h):
        for j in range(nb):
            a[r, j] += proj[r, cols[t, j]]
    _gates(a, c_prev, c, tc, s, 0, h)


@njit(inline="always", error_model="numpy", fastmath=_FLAGS, cache=True)
def _gates(a, c_prev, c, tc, s, lo, hi):   # pragma: no cover (compiled)
    """a (4H, N): the gates' pre-activations, becomes [i, o, f, m]; writes c, tanh(c), s;
    for the hidden units lo..hi - 1."""
    h, nb = c.shape
    for r in range(lo, hi):
        for j in range(nb):
            (a[r, j], a[h + r, j], a[2 * h + r, j], a[3 * h + r, j],
             c[r, j], tc[r, j], s[r, j]) = _cell(
                a[r, j], a[h + r, j], a[2 * h + r, j], a[3 * h + r, j], c_prev[r, j])


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def backward_step(a, tc, c_prev, dy, t, ds, dc, da):   # pragma: no cover (compiled)
    """One step back: ds (H, N) arrives from the next step's GEMM and gets dy[t]; dc (H, N)
    is the cell gradient from the next step (already times its forget gate) and leaves
    times this step's; writes the gate gradients da[:, t] (4H, N)."""
    h, nb = ds.shape
    for r in range(h):
        for j in range(nb):
            i, o, f, m = a[r, j], a[h + r, j], a[2 * h + r, j], a[3 * h + r, j]
            tcc = tc[r, j]
            dsv = ds[r, j] + dy[t, r, j]
            dcv = dc[r, j] + dsv * o * (_ONE - tcc * tcc)
            da[r, t, j] = dcv * m * i * (_ONE - i)
            da[h + r, t, j] = dsv * tcc * o * (_ONE - o)
            da[2 * h + r, t, j] = dcv * c_prev[r, j] * f * (_ONE - f)
            da[3 * h + r, t, j] = dcv * i * (_ONE - m * m)
            ds[r, j] = dsv
            dc[r, j] = dcv * f


@njit(nogil=True, cache=True)
def sum_by_column(d, cols, out):   # pragma: no cover (compiled)
    """out[:, cols[k]] += d[:, k] for every column k of d (G, m): the gate gradients summed
    per table row after a lookup, four rows of d at a time (one index load for four).
    cols (uint32) checked in range before. 1.2 ms for (1024, 3200) into 65 columns,
    against 4.3 ms for the same sums as a GEMM with the one-hot matrix."""
    rows, m = d.shape
    r = 0
    while r + 4 <= rows:
        s0, s1, s2, s3 = d[r], d[r + 1], d[r + 2], d[r + 3]
        a0, a1, a2, a3 = out[r], out[r + 1], out[r + 2], out[r + 3]
        for k in range(m):
            c = cols[k]
            a0[c] += s0[k]
            a1[c] += s1[k]
            a2[c] += s2[k]
            a3[c] += s3[k]
        r += 4
    for q in range(r, rows):
        for k in range(m):
            out[q, cols[k]] += d[q, k]


@njit(inline="always", cache=True)
def _gemm_block(gemm, w, s, out, lo, hi, beta):   # pragma: no cover (compiled)
    """out[lo:hi] = w[lo:hi] @ s + beta out[lo:hi] through ``gemm`` (cblas.SGEMM); every
    operand's rows are contiguous, s and out may have a row stride (a step of a
    (4H, n, N) array)."""
    size = w.itemsize
    gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, hi - lo, s.shape[1], w.shape[1], 1.0,
         w.ctypes.data + lo * w.strides[0], w.strides[0] // size,
         s.ctypes.data, s.strides[0] // size, beta,
         out.ctypes.data + lo * out.strides[0], out.strides[0] // size)


@njit(nogil=True, cache=True)
def gemm_rows(gemm, w, s, out, bounds, beta=0.0):   # pragma: no cover (compiled)
    """out = w @ s + beta out by the row blocks ``bounds[k]:bounds[k + 1]`` of w
    (row_blocks.py)."""
    for b in range(bounds.shape[0] - 1):
        _gemm_block(gemm, w, s, out, bounds[b], bounds[b + 1], beta)


@njit(inline="always", error_model="numpy", fastmath=_FLAGS, cache=True)
def _inputs(a, proj, cols, dense, t, lo, hi):   # pragma: no cover (compiled)
    """Rows lo..hi - 1 of a (4H, N) = step t's input projections: columns t N ... t N +
    N - 1 of proj (``dense``), or a gather of its columns cols[t, j], four rows at a time
    (one index load for four: 13.3 -> 11.9 us a step)."""
    nb = a.shape[1]
    if dense:
        for r in range(lo, hi):
            for j in range(nb):
                a[r, j] = proj[r, t * nb + j]
        return
    r = lo
    while r + 4 <= hi:
        for j in range(nb):
            col = cols[t, j]
            a[r, j] = proj[r, col]
            a[r + 1, j] = proj[r + 1, col]
            a[r + 2, j] = proj[r + 2, col]
            a[r + 3, j] = proj[r + 3, col]
        r += 4
    for q in range(r, hi):
        for j in range(nb):
            a[q, j] = proj[q, cols[t, j]]


@njit(inline="always", error_model="numpy", fastmath=_FLAGS, cache=True)
def _finish(a, cells, tanh_c, s, t, keep, lo, hi):   # pragma: no cover (compiled)
    """Step t's gates for the hidden units lo..hi - 1, its state written to s: with
    ``keep`` (for backward) the gate values, c and tanh(c) of every step stored; else
    (Test mode) only c, in a ring of two: 1 ms of stores fewer in 18."""
    if keep:
        _gates(a, cells[t], cells[t + 1], tanh_c[t], s, lo, hi)
        return
    c_prev, c = cells[t % 2], cells[(t + 1) % 2]
    h, nb = c.shape
    for r in range(lo, hi):
        for j in range(nb):
            _, _, _, _, c[r, j], _, s[r, j] = _cell(
                a[r, j], a[h + r, j], a[2 * h + r, j], a[3 * h + r, j], c_prev[r, j])


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def forward_loop(gemm, bounds, ws, proj, cols, dense, zero_first, keep, n,
                 states, cells, acts, tanh_c):   # pragma: no cover (compiled)
    """The whole time loop of lstm_kernel.forward (n steps) in one call, without the
    GIL: per step the input projection written to the gates' buffer (``_inputs``), the
    GEMM ws @ state added to it (beta = 1: the GEMM reads the buffer anyway, one pass
    fewer than adding the projection after), then the gates (``_finish``).
    ``zero_first``: the initial state is zero, so step 0 has no product. The state after
    step t goes to states[(t + 1) % len(states)]: every state (n + 1 of them) or a ring."""
    h, ring = states.shape[1], states.shape[0]
    for t in range(n):
        a = acts[t if keep else 0]
        _inputs(a, proj, cols, dense, t, 0, 4 * h)
        if t > 0 or not zero_first:
            gemm_rows(gemm, ws, states[t % ring], a, bounds, 1.0)
        _finish(a, cells, tanh_c, states[(t + 1) % ring], t, keep, 0, h)


@njit(inline="always", cache=True)
def _gemm_cols(gemm, w_t, s, out, lo, hi):   # pragma: no cover (compiled)
    """out[:, lo:hi] += s @ w_t[:, lo:hi] through ``gemm``; rows contiguous."""
    size = w_t.itemsize
    gemm(ROW_MAJOR, NO_TRANS, NO_TRANS, s.shape[0], hi - lo, s.shape[1], 1.0,
         s.ctypes.data, s.strides[0] // size, w_t.ctypes.data + lo * size,
         w_t.strides[0] // size, 1.0, out.ctypes.data + lo * size, out.strides[0] // size)


@njit(nogil=True, cache=True)
def gemm_cols(gemm, w_t, s, out, bounds):   # pragma: no cover (compiled)
    """out += s @ w_t by the column blocks ``bounds[k]:bounds[k + 1]`` of w_t (row_blocks.py,
    ``axis=1``)."""
    for b in range(bounds.shape[0] - 1):
        _gemm_cols(gemm, w_t, s, out, bounds[b], bounds[b + 1])


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def lookup_rows(gemm, bounds, ws_t, table, cols, zero_first, n, states, cells, a, seq,
                each):   # pragma: no cover (compiled)
    """Test mode after an EmbeddingLayer, example-major: ``forward_loop``'s work with a
    row per example. The input projection of example j is then a contiguous row
    table[cols[t, j]] (V, 4H), copied in 0.2 ms for 100 steps of 32 x 1024 against
    0.9 for the state-major gather; the GEMM s (N, H) @ Ws^T (H, 4H), in column blocks,
    takes as long as the state-major one. states, cells (2, N, H): rings, [0] the initial
    ones; a (N, 4H); with ``each``, state t + 1 also goes to seq[t + 1] (H, N)."""
    nb, h = states.shape[1], states.shape[2]
    for t in range(n):
        for j in range(nb):
            src = table[cols[t, j]]
            for r in range(4 * h):      # a loop: numba's slice copy is slower here
                a[j, r] = src[r]
        if t > 0 or not zero_first:
            gemm_cols(gemm, ws_t, states[t % 2], a, bounds)
        c_prev, c, s = cells[t % 2], cells[(t + 1) % 2], states[(t + 1) % 2]
        for j in range(nb):
            for r in range(h):
                _, _, _, _, c[j, r], _, s[j, r] = _cell(
                    a[j, r], a[j, h + r], a[j, 2 * h + r], a[j, 3 * h + r], c_prev[j, r])
        if each:
            out = seq[t + 1]
            for r in range(h):
                for j in range(nb):
                    out[r, j] = s[j, r]


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def forward_part(gemm, relax, give_way, flags, part, units, block, ws, proj, cols, dense,
                 zero_first, keep, n, states, cells, acts, tanh_c):   # pragma: no cover
    """``forward_loop``'s work for the hidden units units[part]..units[part + 1] - 1 (their
    rows of each gate), beside the other parts on their own threads: a step's GEMM
    needs the whole state, so each step first waits until every part has finished the
    step before (meet.py). The GEMM of each gate's rows in blocks of ``block`` rows.
    False when another part failed. A ring of two states is safe: a part writes state
    t + 2 only after every part has finished step t + 1, whose GEMMs read state t."""
    h, ring = states.shape[1], states.shape[0]
    lo, hi = units[part], units[part + 1]
    for t in range(n):
        a = acts[t if keep else 0]
        for g in range(4):
            _inputs(a, proj, cols, dense, t, g * h + lo, g * h + hi)
        if t > 0 or not zero_first:
            if not wait(flags, part, t, relax, give_way):
                return False
            for g in range(4):
                for r0 in range(g * h + lo, g * h + hi, block):
                    _gemm_block(gemm, ws, states[t % ring], a, r0,
                                min(r0 + block, g * h + hi), 1.0)
        _finish(a, cells, tanh_c, states[(t + 1) % ring], t, keep, lo, hi)
        post(flags, part, t + 1, relax)
    return True


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def backward_loop(gemm, bounds, ws_t, acts, tanh_c, cells, dy, initial,
                  ds, dc, da):   # pragma: no cover (compiled)
    """The whole loop of lstm_kernel.backward in one call, without the GIL:
    ``backward_step`` then ds = ws_t @ da[:, t] (not after step 0 unless ``initial``)."""
    for t in range(acts.shape[0] - 1, -1, -1):
        backward_step(acts[t], tanh_c[t], cells[t], dy, t, ds, dc, da)
        if t or initial:
            gemm_rows(gemm, ws_t, da[:, t], ds, bounds)
