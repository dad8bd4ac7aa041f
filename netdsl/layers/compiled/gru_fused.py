"""GatedRecurrentLayer's per-step elementwise work as one compiled pass (numba).

The same reasons and rules as lstm_fused.py (its ``tanh``, flags and NaN handling): after
each step's GEMM the NumPy loop of gru_kernel.py makes ~10 ufunc calls forward and ~15
backward, one pass each over (H, N) blocks. Gates in gru_kernel's order: Input (update, z),
Reset (r), their pre-activations already halved, then Memory.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .lstm_fused import _FLAGS, SGEMM, gemm_rows, tanh  # noqa: F401 (SGEMM: for gru_kernel)

_HALF, _ONE = np.float32(0.5), np.float32(1.0)


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def forward_step(q, pre, t, zr, m, s, nxt):   # pragma: no cover (compiled)
    """q (3H, N): Ws.s; pre (3H, n, N): the input projections. Writes zr (2H, N) = [z, r],
    m (H, N) = tanh(Wmx.x + bm + r (Wms.s)) and the next state s + z (m - s)."""
    h, nb = s.shape
    for i in range(h):
        for j in range(nb):
            z = tanh(q[i, j] + pre[i, t, j]) * _HALF + _HALF
            r = tanh(q[h + i, j] + pre[h + i, t, j]) * _HALF + _HALF
            mm = tanh(r * q[2 * h + i, j] + pre[2 * h + i, t, j])
            zr[i, j], zr[h + i, j], m[i, j] = z, r, mm
            nxt[i, j] = s[i, j] + z * (mm - s[i, j])


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def backward_step(zr, m, q, s, dy, t, ds, back, dm, das):   # pragma: no cover (compiled)
    """One step back. The state's gradient is ds + back + dy[t] (back: Ws^T das of the
    next step, zeros at the last); writes dm[:, t] (H, N), das[:, t] (3H, N) and leaves
    ds times (1 - z), the part that reaches the previous state directly."""
    h, nb = ds.shape
    for i in range(h):
        for j in range(nb):
            z, r, mm = zr[i, j], zr[h + i, j], m[i, j]
            d = ds[i, j] + back[i, j] + dy[t, i, j]
            g = d * z * (_ONE - mm * mm)
            dm[i, t, j] = g
            das[i, t, j] = d * (mm - s[i, j]) * z * (_ONE - z)
            das[h + i, t, j] = g * q[2 * h + i, j] * r * (_ONE - r)
            das[2 * h + i, t, j] = g * r
            ds[i, j] = d * (_ONE - z)


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def forward_loop(gemm, bounds, ws, pre, zero_first, keep, states, zr_all, m_all,
                 q_all):   # pragma: no cover (compiled)
    """gru_kernel.forward's whole loop in one call, without the GIL: per step
    q = ws @ states[t] (lstm_fused.gemm_rows; none at step 0 when ``zero_first``: the
    state is zero and q stays as it was made, zeros), then ``forward_step``."""
    for t in range(pre.shape[1]):
        k = t if keep else 0
        if t or not zero_first:
            gemm_rows(gemm, ws, states[t], q_all[k], bounds)
        forward_step(q_all[k], pre, t, zr_all[k], m_all[k], states[t], states[t + 1])


@njit(nogil=True, error_model="numpy", fastmath=_FLAGS, cache=True)
def backward_loop(gemm, bounds, ws_t, zr_all, m_all, q_all, states, dy, initial, ds, back,
                  dm, das):   # pragma: no cover (compiled)
    """gru_kernel.backward's whole loop in one call: ``backward_step``, then
    back = ws_t @ das[:, t] (not after step 0 unless ``initial``)."""
    for t in range(m_all.shape[0] - 1, -1, -1):
        backward_step(zr_all[t], m_all[t], q_all[t], states[t], dy, t, ds, back, dm, das)
        if t or initial:
            gemm_rows(gemm, ws_t, das[:, t], back, bounds)
