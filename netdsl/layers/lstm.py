"""LongShortTermMemoryLayer[n]: Wolfram's LSTM over a sequence of vectors.

Per step, with x the input and s, c the state and cell state (zero at the start, or the
"State" and "CellState" given; the final ones are the "State" and "CellState" outputs):
  i = σ(Wix.x + Wis.s + bi)   o = σ(Wox.x + Wos.s + bo)   f = σ(Wfx.x + Wfs.s + bf)
  m = tanh(Wmx.x + Wms.s + bm)   c = f*c + i*m   s = o*tanh(c)
Arrays (Wolfram's names): InputGate*, OutputGate*, ForgetGate*, MemoryGate* with
*InputWeights {n, InputSize}, *StateWeights {n, n}, *Biases {n}. The same as PyTorch's
nn.LSTM with its (i, f, g, o) rows mapped to Wolfram's (Input, Forget, Memory, Output)
gates and b_ih + b_hh as the biases. Output is the sequence of states.

Two time loops: the fast one of lstm_kernel.py, and, for a Train-mode pass with
"Dropout" (masks inside the loop: recurrent_dropout.py), the general batch-major loop
below, written with RecurrentLayer's masked products.
"""

from __future__ import annotations

import numpy as np

from . import lstm_kernel as kernel
from .recurrent_core import RecurrentLayer, batch_last, gate_arrays, one_blas_thread
from .recurrent_dropout import Masks
from .registry import register_layer


@register_layer
class LongShortTermMemoryLayer(RecurrentLayer):
    name = "LongShortTermMemoryLayer"
    summary = "LSTM: a sequence of vectors to the sequence of its n-vector states"
    gates = kernel.GATES          # Input, Output, Forget, Memory
    array_specs = gate_arrays(gates)
    optional_inputs = ("State", "CellState")
    optional_outputs = ("State", "CellState")

    # the time loop and its layout: lstm_kernel.py
    def forward(self, ctx, arrays, x, *given):
        drop = self.masks(ctx, x, arrays["InputGateBiases"].shape[0])
        if drop is not None:
            return self._forward_masked(ctx, arrays, x, given, drop)
        w = kernel.weights(ctx, self, arrays, x.dtype)
        rows = kernel.input_rows(x)
        n, _, batch = x.shape
        pre = (w.wxb_half @ rows).reshape(-1, n, batch)
        with one_blas_thread():
            run = kernel.forward(pre, w.ws_half, keep=ctx.grad,
                                 initial=self._initial(given, w.ws.shape[1], batch, x.dtype),
                                 alone=ctx.meeting is None, threads=ctx.threads)
        outs = self.with_final_states(run.states[1:], {"State": run.states[n],
                                                       "CellState": run.last_cell})
        return outs, (("kernel", rows, run, w) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy, *dfinal):
        if cache[0] == "masked":
            return self._backward_masked(ctx, arrays, cache[1:], dy, dfinal)
        _, rows, run, w = cache
        h, batch = dy.shape[1], dy.shape[2]
        finals = self.final_state_grads(dfinal)
        final = None if not finals else tuple(
            finals.get(p, np.zeros((h, batch), dy.dtype)) for p in self.optional_outputs)
        initial = len(self.port_names()[0]) > 1
        with one_blas_thread():
            da, ds, dc = kernel.backward(run, w.ws, dy, final, initial=initial,
                                         alone=ctx.meeting is None)
        grads = kernel.weight_grads(da, run, rows, arrays)
        extra = self.initial_state_grads({"State": ds, "CellState": dc})
        if not getattr(ctx, "need_dx", True):
            return [None] + extra, grads
        return [kernel.input_grad(da, w.wx)] + extra, grads

    def _initial(self, given: tuple, h: int, batch: int, dtype) -> tuple | None:
        """The kernel's starting (state, cell state) (H, N), or None (zeros) if not given."""
        states = self.given_states(given)
        if not states:
            return None
        return tuple(states.get(p, np.zeros((h, batch), dtype)).astype(dtype, copy=False)
                     for p in self.optional_inputs)

    def forward_last(self, ctx, arrays, x, table=None):
        """Test mode, a SequenceLastLayer after it (fusion rule 8): only the last state,
        the loop keeping two states instead of the sequence. None with a gradient to
        come, state ports, dropout, or no steps."""
        if ctx.grad or (ctx.train and self.has_train_behavior) or x.shape[0] == 0 \
                or len(self.port_names()[0]) > 1 or len(self.port_names()[1]) > 1:
            return None
        if table is not None:
            found = self.forward_from_lookup(ctx, arrays, table, x, last=True)
            return None if found is None else found[0]
        w = kernel.weights(ctx, self, arrays, x.dtype)
        n, _, batch = x.shape
        pre = (w.wxb_half @ kernel.input_rows(x)).reshape(-1, n, batch)
        with one_blas_thread():
            run = kernel.forward(pre, w.ws_half, keep=False, alone=ctx.meeting is None,
                                 threads=ctx.threads, last=True)
        return [np.array(run.last_state)]

    def forward_from_lookup(self, ctx, arrays, table, idx, last=False):
        """After an EmbeddingLayer: each step's input projection is a gather of columns of
        Wx . table^T + b. Taken when the table has no more rows than there are indices (and,
        in training, than twice its columns: backward sums the gate gradients per row), the
        state ports are not used and no dropout mask is drawn."""
        rows, dim = table.shape
        if (idx.ndim != 2 or rows > idx.size or ctx.grad and rows > 2 * dim
                or len(self.port_names()[1]) > 1 or ctx.train and self.has_train_behavior):
            return None
        w = kernel.weights(ctx, self, arrays, table.dtype)
        lookup = kernel.lookup_projection(ctx, self, w, arrays, table, idx,
                                          by_rows=not ctx.grad)
        with one_blas_thread():
            run = kernel.forward(lookup, w.ws_half, keep=ctx.grad, alone=ctx.meeting is None,
                                 threads=ctx.threads, last=last)
        if last:      # forward_last: the last state alone (Test mode)
            return [np.array(run.last_state)], None
        return [run.states[1:]], ((lookup, run, w) if ctx.grad else None)

    def backward_from_lookup(self, ctx, arrays, table, cache, dy):
        lookup, run, w = cache
        with one_blas_thread():
            da, _, _ = kernel.backward(run, w.ws, dy, alone=ctx.meeting is None)
        return kernel.lookup_grads(da, run, w, lookup, table, arrays)

    # ---- with dropout masks: batch-major rows (N, ...) per step ------------------------
    def _forward_masked(self, ctx, arrays, x, given, drop: Masks):
        wx, ws, b = self.stacked(arrays, x.dtype, drop)
        xt, pre = self.projections(x, wx, b, drop)
        n, batch, _ = xt.shape
        h = ws.shape[0]
        states = np.empty((n + 1, batch, h), x.dtype)
        cells = np.empty((n + 1, batch, h), x.dtype)
        states[0], cells[0] = self.initial_rows(given, batch, h, x.dtype)
        tanh_c = np.empty((n, batch, h), x.dtype)
        with one_blas_thread():
            for t in range(n):
                a = pre[t]                 # activated in place: pre keeps every step's gates
                a += self.state_product(states[t], ws, drop.s)
                a[:, :3 * h] = 0.5 * np.tanh(0.5 * a[:, :3 * h]) + 0.5
                np.tanh(a[:, 3 * h:], out=a[:, 3 * h:])
                i, o, f, m = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
                if drop.update is not None:     # "StateUpdate": on the memory gate value
                    m = m * drop.update[t]
                c = cells[t + 1]
                np.multiply(f, cells[t], out=c)
                c += i * m
                tc = np.tanh(c, out=tanh_c[t])
                np.multiply(o, tc, out=states[t + 1])
        outs = self.with_final_states(batch_last(states[1:]), {"State": states[n].T,
                                                               "CellState": cells[n].T})
        return outs, (("masked", xt, states, cells, pre, tanh_c, wx, ws, drop)
                      if ctx.grad else None)

    def _backward_masked(self, ctx, arrays, cache, dy, dfinal):
        xt, states, cells, acts, tanh_c, wx, ws, drop = cache
        n, batch, _ = xt.shape
        h = ws.shape[0]
        dys = dy.transpose(0, 2, 1)                         # (n, N, h) view
        da = np.empty((n, batch, 4 * h), dy.dtype)
        ds, dc = self.final_state_rows(dfinal, batch, h, dy.dtype)
        with one_blas_thread():
            for t in range(n - 1, -1, -1):
                a = acts[t]
                i, o, f, m = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
                u = 1 if drop.update is None else drop.update[t]
                tc = tanh_c[t]
                ds += dys[t]
                dc += ds * o * (1 - tc * tc)
                g = da[t]
                g[:, :h] = dc * (m * u) * i * (1 - i)
                g[:, h:2 * h] = ds * tc * o * (1 - o)
                g[:, 2 * h:3 * h] = dc * cells[t] * f * (1 - f)
                g[:, 3 * h:] = dc * i * u * (1 - m * m)
                dc *= f
                ds = self.state_grad(g, ws, drop.s)
        return self.finish(ctx, arrays, xt, da, da, self.state_rows(states, drop), wx, ws, drop,
                           self.initial_state_grads({"State": ds.T, "CellState": dc.T}))
