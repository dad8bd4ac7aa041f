"""GatedRecurrentLayer's time loop, state-major as LongShortTermMemoryLayer's (lstm_kernel.py).

Per step one GEMM ``Ws (3H, H) @ s (H, N)`` (update, reset and memory rows); the update and
reset rows of the weights and biases are halved once so σ is one ``tanh`` and two
operations; elementwise work in buffers made before the loop. Backward: per step a few
products and one GEMM; the gradients reaching the input projection (update, reset, memory)
and the state product (the memory block times r) are stored (·, n, N), so the weight
gradients are a few GEMMs over all steps. Stacking, caching and the input rows are
lstm_kernel's.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from . import compiled, lstm_kernel, row_blocks
from .lstm_kernel import FUSED_MIN, Weights, weights as stacked

GATES = ("InputGate", "ResetGate", "MemoryGate")


def fused_steps(dtype: Any, size: int) -> Any:
    """The gru_fused module (compiled steps) for a float32 pass of at least FUSED_MIN
    numbers, as lstm_kernel's; None: the NumPy loop."""
    if dtype != np.float32 or size < FUSED_MIN:
        return None
    return compiled.load("gru_fused")


def weights(ctx: Any, owner: Any, arrays: dict[str, Any], dtype: Any) -> Weights:
    """The stacked (3H, ...) weights, update and reset rows halved, kept with the plan."""
    return stacked(ctx, owner, arrays, dtype, GATES, sigmoids=2)


class Run(NamedTuple):
    """The states (n + 1, H, N) (states[0] the initial one); for backward also the update
    and reset gate values (n, 2H, N), the memory values (n, H, N) and Wms.s (n, 3H, N)'s
    memory rows (the whole state product is kept: one buffer per step)."""
    states: np.ndarray
    zr: np.ndarray | None
    m: np.ndarray | None
    q: np.ndarray | None


def forward(pre: np.ndarray, ws_half: np.ndarray, keep: bool,
            initial: np.ndarray | None = None, alone: bool = True) -> Run:
    """The time loop. ``pre`` (3H, n, N): every step's input projection plus biases (update
    and reset rows halved); ``keep``: store what ``backward`` needs; ``initial``: the state
    (H, N) to start from (zeros when None); ``alone``: no other lane runs beside this one
    (row_blocks may cut the GEMMs)."""
    g3, n, batch = pre.shape
    h = g3 // 3
    dt = pre.dtype
    states = np.empty((n + 1, h, batch), dt)
    states[0] = initial if initial is not None else 0
    k = n if keep else 1
    zr_all = np.empty((k, 2 * h, batch), dt)
    m_all = np.empty((k, h, batch), dt)
    q_all = np.zeros((k, g3, batch), dt)
    ranges = row_blocks.blocks(ws_half, states[0]) if alone else ((0, g3),)
    fused = fused_steps(dt, n * h * batch)
    if fused is not None and fused.SGEMM is not None:
        bounds = lstm_kernel.compiled_blocks(fused, ws_half, states[0])
        fused.forward_loop(fused.SGEMM, bounds, ws_half, np.ascontiguousarray(pre),
                           initial is None, keep, states, zr_all, m_all, q_all)
        return Run(states, zr_all, m_all, q_all) if keep else Run(states, None, None, None)
    if fused is not None:
        pre = np.ascontiguousarray(pre)
        for t in range(n):
            j = t if keep else 0
            q = q_all[j]
            if t or initial is not None:      # else the state is zero, and so is q
                row_blocks.matmul(ws_half, states[t], q, ranges)
            fused.forward_step(q, pre, t, zr_all[j], m_all[j], states[t], states[t + 1])
        return Run(states, zr_all, m_all, q_all) if keep else Run(states, None, None, None)
    for t in range(n):
        j = t if keep else 0
        q, zr, m = q_all[j], zr_all[j], m_all[j]
        if t or initial is not None:          # else the state is zero, and so is q
            row_blocks.matmul(ws_half, states[t], q, ranges)
        np.add(q[:2 * h], pre[:2 * h, t], out=zr)
        np.tanh(zr, out=zr)
        zr *= 0.5
        zr += 0.5
        z, r = zr[:h], zr[h:]
        np.multiply(r, q[2 * h:], out=m)      # h = tanh(Wmx.x + bm + r (Wms.s))
        m += pre[2 * h:, t]
        np.tanh(m, out=m)
        s, nxt = states[t], states[t + 1]     # s' = s + z (h - s)
        np.subtract(m, s, out=nxt)
        nxt *= z
        nxt += s
    return Run(states, zr_all, m_all, q_all) if keep else Run(states, None, None, None)


class Grads(NamedTuple):
    """Pre-activation gradients: ``das`` (3H, n, N) of the state product (update, reset,
    memory times r), ``dm`` (H, n, N) of the memory gate's input projection (the update and
    reset gates' are ``das[:2H]``); ``ds0`` the initial state's (H, N)."""
    das: np.ndarray
    dm: np.ndarray
    ds0: np.ndarray


def backward(run: Run, ws: np.ndarray, dy: np.ndarray, final: np.ndarray | None = None,
             initial: bool = False, alone: bool = True) -> Grads:
    """From ``dy`` (n, H, N) and the last state's gradient ``final`` (H, N); with
    ``initial``, the initial state's gradient too (else ``ds0`` is undefined); ``alone``
    as for ``forward``."""
    zr_all, m_all, q_all = run.zr, run.m, run.q
    assert zr_all is not None and m_all is not None and q_all is not None
    n, h, batch = m_all.shape
    dt = dy.dtype
    ws_t = np.ascontiguousarray(ws.T)                    # (H, 3H)
    das = np.empty((3 * h, n, batch), dt)
    dm_all = np.empty((h, n, batch), dt)
    ds = np.zeros((h, batch), dt) if final is None else np.array(final, dt)
    u = np.empty((h, batch), dt)
    v = np.empty((h, batch), dt)
    back = np.empty((h, batch), dt)
    ranges = row_blocks.blocks(ws_t, das[:, 0]) if alone and n else ((0, h),)
    fused = fused_steps(dt, n * h * batch)
    if fused is not None and m_all.dtype == dt and fused.SGEMM is not None and n:
        back.fill(0)
        bounds = lstm_kernel.compiled_blocks(fused, ws_t, back)
        fused.backward_loop(fused.SGEMM, bounds, ws_t, zr_all, m_all, q_all, run.states,
                            np.ascontiguousarray(dy), initial, ds, back, dm_all, das)
        if initial:
            ds += back
        return Grads(das, dm_all, ds)
    if fused is not None and m_all.dtype == dt:
        dy = np.ascontiguousarray(dy)
        back.fill(0)
        for t in range(n - 1, -1, -1):
            fused.backward_step(zr_all[t], m_all[t], q_all[t], run.states[t], dy, t, ds, back,
                                dm_all, das)
            if t or initial:
                row_blocks.matmul(ws_t, das[:, t], back, ranges)
        if initial:
            ds += back
        return Grads(das, dm_all, ds)
    for t in range(n - 1, -1, -1):
        z, r = zr_all[t, :h], zr_all[t, h:]
        m, qm, s = m_all[t], q_all[t, 2 * h:], run.states[t]
        ds += dy[t]
        dm = dm_all[:, t]
        np.multiply(m, m, out=u)                         # dm = ds z (1 - h^2)
        np.subtract(1, u, out=u)
        u *= z
        np.multiply(u, ds, out=dm)
        np.subtract(m, s, out=u)                         # dz = ds (h - s) z (1 - z)
        u *= ds
        np.subtract(1, z, out=v)
        v *= z
        np.multiply(u, v, out=das[:h, t])
        np.subtract(1, r, out=u)                         # dr = dm (Wms.s) r (1 - r)
        u *= r
        u *= qm
        np.multiply(u, dm, out=das[h:2 * h, t])
        np.multiply(dm, r, out=das[2 * h:, t])
        np.subtract(1, z, out=v)                         # ds = ds (1 - z) + Ws^T das
        ds *= v
        if t or initial:
            ds += row_blocks.matmul(ws_t, das[:, t], back, ranges)
    return Grads(das, dm_all, ds)


def weight_grads(g: Grads, run: Run, rows: np.ndarray,
                 arrays: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every array's gradient: a few GEMMs over all steps (``rows``: lstm_kernel.input_rows,
    the biases' row of ones last)."""
    g3, n, batch = g.das.shape
    h = g3 // 3
    das = g.das.reshape(g3, n * batch)
    dm = g.dm.reshape(h, n * batch)
    s = np.ascontiguousarray(run.states[:n].transpose(1, 0, 2)).reshape(h, n * batch)
    dws = das @ s.T
    dwx = np.concatenate([das[:2 * h] @ rows.T, dm @ rows.T], 0)
    out = {}
    for k, gate in enumerate(GATES):
        sl = slice(k * h, (k + 1) * h)
        for name, value in ((f"{gate}StateWeights", dws[sl]),
                            (f"{gate}InputWeights", dwx[sl, :-1]), (f"{gate}Biases", dwx[sl, -1])):
            out[name] = np.ascontiguousarray(value, arrays[name].dtype)
    return out


def input_grad(g: Grads, wx: np.ndarray) -> np.ndarray:
    """The input's gradient (n, d, N) batch-last."""
    g3, n, batch = g.das.shape
    h = g3 // 3
    d = wx.shape[1]
    dx = wx[:2 * h].T @ g.das[:2 * h].reshape(2 * h, n * batch)
    dx += wx[2 * h:].T @ g.dm.reshape(h, n * batch)
    return np.ascontiguousarray(dx.reshape(d, n, batch).transpose(1, 0, 2))
