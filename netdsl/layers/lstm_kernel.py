"""LongShortTermMemoryLayer's time loop, laid out for small, fast per-step work.

Layout: everything is *state-major* (features first, batch last), as the executor's
batch-last activations already are. One step is one GEMM ``Ws (4H, H) @ s (H, N)``
(OpenBLAS at one thread: 185 us for H = 256, N = 32, against 305 us for the batch-major
``s (N, H) @ Ws^T`` in one call), and each gate is a contiguous (H, N) block of its result.

- Gates, in Wolfram's order: Input, Output, Forget (sigmoids), Memory (tanh). The
  sigmoid rows of the weights and biases are halved once (exact: a power of two), so one
  ``tanh`` covers all four gates and σ(a) = tanh(a/2)/2 + 1/2 is two operations on
  the sigmoid rows.
- The input projection of every step is one GEMM before the loop, with the biases as an
  extra input row of ones (so backward's input-weight and bias gradients are one GEMM too).
  After an EmbeddingLayer (Test mode), it is a column gather from the precomputed table
  ``Wx . Weights^T + b`` instead (``Lookup``).
- All per-step elementwise work writes into buffers made before the loop (``out=``); for a
  big float32 pass with numba installed, the whole loop is one compiled call instead, its
  GEMMs by cblas from inside it (lstm_fused.forward_loop, compiled/cblas.py: H = 256,
  N = 32, 100 steps, 18.3 ms against 20.9 with a compiled call per step, the fallback when
  no cblas_sgemm is found, and 23.7 for the ufuncs). A pass that lanes leave whole (a
  small batch) may run that loop in parts on ``threads`` threads, each on its own hidden
  units (lstm_fused.forward_part, compiled/meet.py).
- The exception: Test mode after an EmbeddingLayer runs *example-major*
  (lstm_fused.lookup_rows). There each example's input projection is a contiguous row of
  the projected table, and ``s (N, H) @ Ws^T`` in 64-column blocks on 64-byte aligned
  buffers is as fast as the state-major GEMM: 100 steps of the benchmark's 256 x 32 in
  16.9 ms against 17.7. It comes before the parts: at the small batches they are for, one
  thread example-major was as fast or faster (batch 4, 400 steps: 9.5 ms against 11).
- Backward through time: per step, the gate gradients by a few fused products and one
  GEMM ``Ws^T (H, 4H) @ da (4H, N)``; the gate gradients are stored (4H, n, N), so the
  weight gradients of all steps are one GEMM each after the loop.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from ..errors import EvaluationError
from . import compiled, row_blocks
from .windows import cached

GATES = ("InputGate", "OutputGate", "ForgetGate", "MemoryGate")

# From this many numbers (steps x H x N) in a float32 pass, the compiled per-step kernels
# of lstm_fused.py run (when numba is installed): below it the NumPy loop takes a few
# milliseconds, less than importing numba and loading its cache (~0.5 s, once).
FUSED_MIN = 1 << 16


def fused_steps(dtype: Any, size: int) -> Any:
    """The lstm_fused module for a pass of ``size`` numbers, or None (NumPy loop): not
    float32, too small, ``NETDSL_JIT=0``, or no numba."""
    if dtype != np.float32 or size < FUSED_MIN:
        return None
    return compiled.load("lstm_fused")


class Weights(NamedTuple):
    """The stacked (4H, ...) matrices, sigmoid rows halved; unhalved ones for backward."""
    wxb_half: np.ndarray  # (4H, d + 1): input weights, the biases as the last column
    ws_half: np.ndarray   # (4H, H)
    wx: np.ndarray        # (4H, d)
    ws: np.ndarray        # (4H, H)


def stacked_weights(arrays: dict[str, Any], dtype: Any, gates: tuple[str, ...] = GATES,
                    sigmoids: int = 3) -> Weights:
    """Wolfram's per-gate arrays ((H, d), (H, H), (H,)) stacked along ``gates``, the first
    ``sigmoids`` of which are sigmoids (their rows halved; GatedRecurrentLayer shares this)."""
    wx = np.concatenate([arrays[f"{g}InputWeights"] for g in gates], 0).astype(dtype, copy=False)
    b = np.concatenate([arrays[f"{g}Biases"] for g in gates]).astype(dtype, copy=False)
    ws = np.concatenate([arrays[f"{g}StateWeights"] for g in gates], 0).astype(dtype, copy=False)
    h = ws.shape[1]
    half = np.ones((len(gates) * h, 1), dtype)
    half[:sigmoids * h] = 0.5
    return Weights(np.concatenate([wx, b[:, None]], 1) * half, ws * half, wx, ws)


def weights(ctx: Any, owner: Any, arrays: dict[str, Any], dtype: Any,
            gates: tuple[str, ...] = GATES, sigmoids: int = 3) -> Weights:
    """The stacked weights, kept with the plan while the net's arrays are unchanged."""
    return cached(ctx, ("stacked", id(owner), np.dtype(dtype).str), arrays,
                  lambda: stacked_weights(arrays, dtype, gates, sigmoids))


class Lookup(NamedTuple):
    """Every step's input projection as columns of a projected table (after an
    EmbeddingLayer): example j at step t reads column ``cols[t, j]`` of ``proj`` (4H, V).
    ``by_rows``: for Test mode, ``example_major``'s (rows, Ws^T); ``proj`` is then a view
    of those rows."""
    proj: np.ndarray
    cols: np.ndarray   # (n, N), 0-based
    by_rows: tuple[np.ndarray, np.ndarray] | None = None

    def dense(self) -> np.ndarray:
        """The gathered projections (4H, n, N)."""
        return self.proj.take(self.cols.reshape(-1), axis=1).reshape(-1, *self.cols.shape)


def lookup_projection(ctx: Any, owner: Any, w: Weights, arrays: dict[str, Any],
                      table: np.ndarray, idx: np.ndarray, by_rows: bool = False) -> Lookup:
    """Every step's input projection when the input is row ``idx - 1`` of ``table`` (V, d):
    columns of the projected table Wx . table^T + b (4H, V), which is kept with the plan
    while the arrays are unchanged; ``by_rows`` (Test mode): with its example-major forms."""
    key, given = ("lstm-lookup", id(owner), np.dtype(table.dtype).str), {**arrays, "": table}
    cols = np.asarray(idx, np.int64) - 1
    fused = fused_steps(table.dtype, idx.size * w.ws_half.shape[1]) if by_rows else None
    if fused is not None and fused.SGEMM is not None:   # the table kept once, as rows
        rows, ws_t = cached(ctx, key + ("rows",), given, lambda: example_major(w, table))
        return Lookup(rows.T, cols, (rows, ws_t))
    proj = cached(ctx, key, given, lambda: np.ascontiguousarray(
        w.wxb_half[:, :-1] @ table.T + w.wxb_half[:, -1:]))
    return Lookup(proj, cols)


def example_major(w: Weights, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the example-major Test-mode loop reads (lstm_fused.lookup_rows): the projected
    table as rows, table . Wx^T + b (V, 4H), and Ws^T (H, 4H), C-contiguous and aligned."""
    rows = aligned_empty((table.shape[0], w.wxb_half.shape[0]), w.wxb_half.dtype)
    np.matmul(table.astype(rows.dtype, copy=False), w.wxb_half[:, :-1].T, out=rows)
    rows += w.wxb_half[:, -1]
    return rows, aligned_copy(w.ws_half.T)


def aligned_empty(shape: tuple[int, ...], dtype: Any, align: int = 64) -> np.ndarray:
    """np.empty(shape, dtype) starting on a multiple of ``align`` bytes (a cache line).
    Why: BLAS's small-matrix kernel runs on whole vectors; NumPy's big buffers begin 16
    bytes past a page (malloc's header), and there the example-major loop's 100 GEMMs of
    (32, 256) @ (256, 1024) took 16.9 ms against 16.2 aligned."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.empty(size + align, np.uint8)
    start = -raw.ctypes.data % align
    return raw[start:start + size].view(dtype).reshape(shape)


def aligned_copy(x: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``x`` in ``aligned_empty`` memory."""
    out = aligned_empty(x.shape, x.dtype)
    out[...] = x
    return out


def input_rows(x: np.ndarray) -> np.ndarray:
    """x (n, d, N) batch-last -> (d + 1, n N): features by rows, a last row of ones."""
    n, d, batch = x.shape
    rows = np.empty((d + 1, n, batch), x.dtype)
    rows[:d] = x.transpose(1, 0, 2)
    rows[d] = 1
    return rows.reshape(d + 1, n * batch)


class Run(NamedTuple):
    """What the forward loop leaves: the states (n + 1, H, N) (states[0] the initial one;
    with ``last``, a ring of two), the last state and cell state (H, N); for backward
    also the gate values (n, 4H, N), cell states (n + 1, H, N) and their tanh (n, H, N)."""
    states: np.ndarray
    last_state: np.ndarray
    last_cell: np.ndarray
    acts: np.ndarray | None
    cells: np.ndarray | None
    tanh_c: np.ndarray | None


def _run(states: np.ndarray, cells: np.ndarray, acts: np.ndarray, tanh_c: np.ndarray, n: int,
         keep: bool) -> Run:
    last_state, last_cell = states[n % len(states)], cells[n % len(cells)]
    if keep:
        return Run(states, last_state, last_cell, acts, cells, tanh_c)
    return Run(states, last_state, last_cell, None, None, None)


def forward(pre: np.ndarray | Lookup, ws_half: np.ndarray, keep: bool,
            initial: tuple[np.ndarray, np.ndarray] | None = None, alone: bool = True,
            threads: int = 1, last: bool = False) -> Run:
    """The time loop. ``pre`` (4H, n, N): every step's input projection plus biases (sigmoid
    rows halved), or a ``Lookup`` of them; ``keep``: store what ``backward`` needs;
    ``initial``: the state and cell state (H, N) to start from (zeros when None);
    ``alone``: no other lane runs beside this one (row_blocks may split the GEMMs);
    ``threads``: how many threads the loop may use (its hidden units split among them);
    ``last``: only the last state is wanted (Test mode, a SequenceLastLayer after it), so
    the states are kept in a ring of two (for 100 steps of 256 x 32, 3.3 MB fewer
    stores)."""
    g4 = ws_half.shape[0]
    n, batch = pre.cols.shape if isinstance(pre, Lookup) else pre.shape[1:]
    h = g4 // 4
    dt = ws_half.dtype
    ring = 2 if last and not keep else n + 1
    states = np.empty((ring, h, batch), dt)
    acts = np.empty((n if keep else 1, g4, batch), dt)
    cells = np.empty((n + 1 if keep else 2, h, batch), dt)
    states[0], cells[0] = initial if initial is not None else (0, 0)
    tanh_c = np.empty((n if keep else 1, h, batch), dt)
    fused = fused_steps(dt, n * h * batch)
    if fused is not None and isinstance(pre, Lookup) and pre.cols.size and not (
            0 <= pre.cols.min() and pre.cols.max() < pre.proj.shape[1]):
        fused = None   # compiled code does not check bounds: the NumPy gather reports it
    if fused is not None and fused.SGEMM is not None:
        _forward_loop(fused, pre, ws_half, keep, initial is None, threads if alone else 1,
                      n, states, cells, acts, tanh_c)
        return _run(states, cells, acts, tanh_c, n, keep)
    if fused is not None:
        source: tuple[np.ndarray, ...]
        if isinstance(pre, Lookup):
            step, source = fused.lookup_step, (np.ascontiguousarray(pre.proj, dt),
                                               pre.cols.astype(np.uint32))
        else:
            step, source = fused.forward_step, (np.ascontiguousarray(pre, dt),)
        ranges = _ranges(ws_half, states[0], alone)
        for t in range(n):
            a = acts[t if keep else 0]
            if t == 0 and initial is None:   # the state is zero: no product
                a.fill(0)
            else:
                row_blocks.matmul(ws_half, states[t % ring], a, ranges)
            c_prev, c = (cells[t], cells[t + 1]) if keep else (cells[t % 2], cells[(t + 1) % 2])
            step(a, *source, t, c_prev, c, tanh_c[t if keep else 0], states[(t + 1) % ring])
        return _run(states, cells, acts, tanh_c, n, keep)
    if isinstance(pre, Lookup):
        pre = pre.dense()
    tmp = np.empty((h, batch), dt)
    ranges = _ranges(ws_half, states[0], alone)
    for t in range(n):
        a = acts[t if keep else 0]
        if t == 0 and initial is None:   # the state is zero: no product
            np.copyto(a, pre[:, 0])
        else:
            row_blocks.matmul(ws_half, states[t % ring], a, ranges)
            a += pre[:, t]
        np.tanh(a, out=a)
        sig = a[:3 * h]
        sig *= 0.5
        sig += 0.5
        i, o, f, m = a[:h], a[h:2 * h], a[2 * h:3 * h], a[3 * h:]
        c_prev, c = (cells[t], cells[t + 1]) if keep else (cells[t % 2], cells[(t + 1) % 2])
        np.multiply(f, c_prev, out=c)
        np.multiply(i, m, out=tmp)
        c += tmp
        tc = np.tanh(c, out=tanh_c[t if keep else 0])
        np.multiply(o, tc, out=states[(t + 1) % ring])
    return _run(states, cells, acts, tanh_c, n, keep)


def _forward_loop(fused: Any, pre: np.ndarray | Lookup, ws_half: np.ndarray, keep: bool,
                  zero_first: bool, threads: int, n: int, *buffers: np.ndarray) -> None:
    """``forward``'s loop as one compiled call (lstm_fused.forward_loop), its GEMMs by
    cblas from inside it; or as ``parts`` such calls side by side (forward_part)."""
    if isinstance(pre, Lookup):
        cols = pre.cols.astype(np.uint32)
        if pre.by_rows is not None and not keep:
            _lookup_rows(fused, pre.by_rows, cols, zero_first, n, *buffers[:2])
            return
        proj, dense = np.ascontiguousarray(pre.proj), False
    else:
        g4, n, batch = pre.shape
        proj, cols, dense = np.ascontiguousarray(pre).reshape(g4, n * batch), _NO_COLS, True
    h, batch = buffers[0].shape[1:]
    parts = _parts(n * h * batch, h, threads)
    if parts > 1 and _forward_parts(fused, parts, ws_half, proj, cols, dense, zero_first,
                                    keep, n, *buffers):
        return
    bounds = compiled_blocks(fused, ws_half, buffers[0][0])
    fused.forward_loop(fused.SGEMM, bounds, ws_half, proj, cols, dense, zero_first, keep, n,
                       *buffers)


_NO_COLS = np.zeros((1, 1), np.uint32)


def _lookup_rows(fused: Any, by_rows: tuple[np.ndarray, np.ndarray], cols: np.ndarray,
                 zero_first: bool, n: int, states: np.ndarray, cells: np.ndarray) -> None:
    """Test mode after a lookup, as lstm_fused.lookup_rows (example-major); the states and
    cell states it hands back state-major: every state when ``states`` holds them all,
    else the last one, and the last cell state."""
    table, ws_t = by_rows
    h, batch = states.shape[1:]
    rows = aligned_empty((2, 2, batch, h), states.dtype)   # states, cells: rings of two
    rows[0, 0], rows[1, 0] = states[0].T, cells[0].T
    gates = aligned_empty((batch, 4 * h), states.dtype)
    each = len(states) == n + 1
    fused.lookup_rows(fused.SGEMM, compiled_columns(fused, ws_t, rows[0, 0]), ws_t, table,
                      cols, zero_first, n, rows[0], rows[1], gates, states, each)
    if not each:
        states[n % len(states)] = rows[0, n % 2].T
    cells[n % 2] = rows[1, n % 2].T

# Split over threads from this many numbers (steps x H x N) of states, with at least
# PART_UNITS hidden units a part: handing the parts to a thread costs ~50 us a pass.
PARTS_MIN = 1 << 18
PART_UNITS = 32
PART_BLOCK = 96       # a part's GEMM rows of a gate in blocks of at most this many


def _parts(size: int, h: int, threads: int) -> int:
    """How many parts (threads) a loop of ``size`` numbers (steps x H x N) runs in."""
    if threads < 2 or size < PARTS_MIN or h < 2 * PART_UNITS:
        return 1
    meet = compiled.load("meet")
    return min(threads, h // PART_UNITS, meet.MAX_PARTS) if meet is not None and meet.usable() else 1


def _forward_parts(fused: Any, parts: int, ws_half: np.ndarray, proj: np.ndarray,
                   cols: np.ndarray, dense: bool, zero_first: bool, keep: bool, n: int,
                   *buffers: np.ndarray) -> bool:
    """The loop as ``parts`` compiled calls side by side, each on its own hidden units
    (lstm_fused.forward_part); False (nothing done) when the threads are taken."""
    meet = compiled.load("meet")
    h = buffers[0].shape[1]
    units = np.array([h * p // parts for p in range(parts + 1)], np.int64)
    rows = h // parts                      # a part's rows of one gate, in equal blocks
    block = math.ceil(rows / math.ceil(rows / PART_BLOCK))
    flags = np.zeros((parts + 1, 16), np.int64)   # a cache line a part; the last: abort

    def job(part: int) -> bool:
        return fused.forward_part(fused.SGEMM, meet.RELAX, meet.YIELD, flags, part, units,
                                  block, ws_half, proj, cols, dense, zero_first, keep, n,
                                  *buffers)

    def abort() -> None:
        flags[parts, 0] = 1
    done = meet.run_parts(parts, job, abort)
    if done is None:
        return False
    if not done:
        raise EvaluationError("The threads running parts of a recurrent layer's time loop "
                              "did not meet; set NETDSL_THREADS=1 to run it on one thread.",
                              symbol="$ProcessorCount", tag="threads")
    return True


def compiled_blocks(fused: Any, w: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The row bounds (int64) of ``w`` for fused.gemm_rows, chosen by timing as
    row_blocks.blocks does (from a compiled loop there is no per-call dispatch, so the
    best split differs from np.matmul's). Lanes time them too: no GIL to wait for."""
    def run(w: np.ndarray, s: np.ndarray, out: np.ndarray, ranges: Any) -> None:
        fused.gemm_rows(fused.SGEMM, w, s, out, _bounds(ranges))
    return _bounds(row_blocks.blocks(w, s, run))


def compiled_columns(fused: Any, w_t: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The column bounds (int64) of ``w_t`` for s @ w_t in lstm_fused.lookup_rows, chosen
    by timing as ``compiled_blocks``."""
    def run(w_t: np.ndarray, s: np.ndarray, out: np.ndarray, ranges: Any) -> None:
        fused.gemm_cols(fused.SGEMM, w_t, s, out, _bounds(ranges))
    return _bounds(row_blocks.blocks(w_t, s, run, axis=1))


def _bounds(ranges: tuple[tuple[int, int], ...]) -> np.ndarray:
    return np.array([lo for lo, _ in ranges] + [ranges[-1][1]], np.int64)


def _ranges(w: np.ndarray, s: np.ndarray, alone: bool) -> tuple[tuple[int, int], ...]:
    """How a step's GEMM w @ s is cut (row_blocks.py): only in a lone lane. Beside another
    lane, the blocks' extra calls each wait for the GIL (2 lanes, forward: 14.7 ms whole
    against 16.8-20.8 ms in 8 blocks)."""
    return row_blocks.blocks(w, s) if alone else ((0, w.shape[0]),)


def backward(run: Run, ws: np.ndarray, dy: np.ndarray,
             final: tuple[np.ndarray, np.ndarray] | None = None,
             initial: bool = False, alone: bool = True
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients of the gates' pre-activations, (4H, n, N), from ``dy`` (n, H, N) and
    the gradients ``final`` of the last state and cell state (H, N); with ``initial``, then
    those of the initial state and cell state (else the last two values are undefined);
    ``alone`` as for ``forward``."""
    acts, cells, tanh_c = run.acts, run.cells, run.tanh_c
    assert acts is not None and cells is not None and tanh_c is not None
    n, g4, batch = acts.shape
    h = g4 // 4
    dt = dy.dtype
    ws_t = np.ascontiguousarray(ws.T)                     # (H, 4H)
    da = np.empty((g4, n, batch), dt)
    ds = np.zeros((h, batch), dt) if final is None else np.array(final[0], dt)
    dc = np.zeros((h, batch), dt) if final is None else np.array(final[1], dt)
    u = np.empty((h, batch), dt)
    sig_d = np.empty((3 * h, batch), dt)
    factor = np.empty((3 * h, batch), dt)
    ranges = _ranges(ws_t, da[:, 0] if n else np.zeros((g4, batch), dt), alone)
    fused = fused_steps(dt, n * h * batch)
    if fused is not None and acts.dtype == dt and fused.SGEMM is not None:
        bounds = compiled_blocks(fused, ws_t, ds)
        fused.backward_loop(fused.SGEMM, bounds, ws_t, acts, tanh_c, cells,
                            np.ascontiguousarray(dy), initial, ds, dc, da)
        return da, ds, dc
    if fused is not None and acts.dtype == dt:
        step = fused.backward_step
        dy = np.ascontiguousarray(dy)
        for t in range(n - 1, -1, -1):
            step(acts[t], tanh_c[t], cells[t], dy, t, ds, dc, da)
            if t or initial:
                row_blocks.matmul(ws_t, da[:, t], ds, ranges)
        return da, ds, dc
    for t in range(n - 1, -1, -1):
        a = acts[t]
        sig, i, o, f, m = a[:3 * h], a[:h], a[h:2 * h], a[2 * h:3 * h], a[3 * h:]
        tc = tanh_c[t]
        g = da[:, t]
        ds += dy[t]
        np.multiply(tc, tc, out=u)                        # dc += ds o (1 - tanh(c)^2)
        np.subtract(1, u, out=u)
        u *= o
        u *= ds
        dc += u
        np.subtract(1, sig, out=sig_d)                    # σ' = σ (1 - σ), three gates
        sig_d *= sig
        np.multiply(m, dc, out=factor[:h])                # input gate: dc m
        np.multiply(tc, ds, out=factor[h:2 * h])          # output gate: ds tanh(c)
        np.multiply(cells[t], dc, out=factor[2 * h:])     # forget gate: dc c_prev
        np.multiply(sig_d, factor, out=g[:3 * h])
        np.multiply(m, m, out=u)                          # memory gate: dc i (1 - m^2)
        np.subtract(1, u, out=u)
        u *= i
        np.multiply(u, dc, out=g[3 * h:])
        dc *= f
        if t or initial:
            row_blocks.matmul(ws_t, g, ds, ranges)
    return da, ds, dc


def _state_grads(d2: np.ndarray, run: Run, more: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """d2 @ S^T, the stacked state weights' gradient (4H, H), and d2 @ more^T (4H, k), for
    the gate gradients d2 (4H, n N), the states S (H, n N) before each step and ``more``
    (k, n N): one GEMM over the rows [S; more] (alone, a GEMM of k = 65 columns runs ~20%
    slower per flop)."""
    n, h, batch = run.states.shape[0] - 1, run.states.shape[1], run.states.shape[2]
    rows = np.empty((h + len(more), n * batch), d2.dtype)
    rows[:h].reshape(h, n, batch)[...] = run.states[:n].transpose(1, 0, 2)
    rows[h:] = more
    g = d2 @ rows.T
    return g[:, :h], g[:, h:]


def _split(dws: np.ndarray, dwx: np.ndarray, db: np.ndarray,
           arrays: dict[str, Any]) -> dict[str, np.ndarray]:
    """Stacked gradients -> Wolfram's per-gate arrays."""
    h = dws.shape[1]
    grads = {}
    for k, gate in enumerate(GATES):
        sl = slice(k * h, (k + 1) * h)
        grads[f"{gate}StateWeights"] = dws[sl]
        grads[f"{gate}InputWeights"] = dwx[sl]
        grads[f"{gate}Biases"] = db[sl]
    return {k: np.ascontiguousarray(v, arrays[k].dtype) for k, v in grads.items()}


def lookup_grads(da: np.ndarray, run: Run, w: Weights, lookup: Lookup, table: np.ndarray,
                 arrays: dict[str, Any]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """After ``lookup_projection``: the arrays' gradients and the table's. The gate
    gradients are first summed per table row (compiled: lstm_fused.sum_by_column; else a
    GEMM with the one-hot (V, n N) matrix, in the state weights' GEMM); Wx's gradient is
    then (4H, V) @ table, the table's Wx^T @ (4H, V)."""
    g4, n, batch = da.shape
    d2 = da.reshape(g4, n * batch)
    cols, rows = lookup.cols.reshape(-1), table.shape[0]
    fused = fused_steps(da.dtype, d2.size // 4)
    if fused is not None and cols.size and 0 <= cols.min() and cols.max() < rows:
        dws, _ = _state_grads(d2, run, np.empty((0, n * batch), da.dtype))
        per_row = np.zeros((g4, rows), da.dtype)
        fused.sum_by_column(d2, cols.astype(np.uint32), per_row)
    else:
        one_hot = np.zeros((rows, n * batch), da.dtype)
        one_hot[cols, np.arange(n * batch)] = 1
        dws, per_row = _state_grads(d2, run, one_hot)
    grads = _split(dws, per_row @ table, per_row.sum(1), arrays)
    return grads, np.ascontiguousarray((w.wx.T @ per_row).T, table.dtype)


def weight_grads(da: np.ndarray, run: Run, rows: np.ndarray,
                 arrays: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every array's gradient from one GEMM over all steps; ``rows`` (``input_rows``) give
    the input weights' and the biases'."""
    g4, n, batch = da.shape
    dws, dwx = _state_grads(da.reshape(g4, n * batch), run, rows)
    return _split(dws, dwx[:, :-1], dwx[:, -1], arrays)


def input_grad(da: np.ndarray, wx: np.ndarray) -> np.ndarray:
    """The input's gradient (n, d, N) batch-last: Wx^T (d, 4H) @ da for all steps."""
    g4, n, batch = da.shape
    d = wx.shape[1]
    dx = wx.T @ da.reshape(g4, n * batch)
    return np.ascontiguousarray(dx.reshape(d, n, batch).transpose(1, 0, 2))
