"""LongShortTermMemoryLayer[n]: Wolfram's LSTM over a sequence of vectors.

Per step, with x the input and s, c the state and cell state (zero at the start, or the
"State" and "CellState" given; the final ones are the "State" and "CellState" outputs):
  i = σ(Wix.x + Wis.s + bi)   o = σ(Wox.x + Wos.s + bo)   f = σ(Wfx.x + Wfs.s + bf)
  m = tanh(Wmx.x + Wms.s + bm)   c = f*c + i*m   s = o*tanh(c)
Arrays (Wolfram's names): InputGate*, OutputGate*, ForgetGate*, MemoryGate* with
*InputWeights {n, InputSize}, *StateWeights {n, n}, *Biases {n}. The same as PyTorch's
nn.LSTM with its (i, f, g, o) rows mapped to Wolfram's (Input, Forget, Memory, Output)
gates and b_ih + b_hh as the biases. Output is the sequence of states.
"""

from __future__ import annotations

import numpy as np

from .recurrent_core import RecurrentLayer, batch_last, gate_arrays, one_blas_thread, sigmoid
from .registry import register_layer


@register_layer
class LongShortTermMemoryLayer(RecurrentLayer):
    name = "LongShortTermMemoryLayer"
    summary = "LSTM: a sequence of vectors to the sequence of its n-vector states"
    gates = ("InputGate", "OutputGate", "ForgetGate", "MemoryGate")
    array_specs = gate_arrays(gates)

    optional_inputs = ("State", "CellState")
    optional_outputs = ("State", "CellState")

    def forward(self, ctx, arrays, x, *given):
        h = arrays["InputGateBiases"].shape[0]
        drop = self.masks(ctx, x, h)
        wx, ws, b = self.stacked(arrays, x.dtype, drop)
        xt, pre = self.projections(x, wx, b, drop)
        n, batch, _ = xt.shape
        smask = None if drop is None else drop.s
        update = None if drop is None else drop.update
        states = np.empty((n + 1, batch, h), x.dtype)
        cells = np.empty((n + 1, batch, h), x.dtype)
        states[0], cells[0] = self.initial_states(given, batch, h, x.dtype)
        tanh_c = np.empty((n, batch, h), x.dtype)
        gemm = np.empty((batch, 4 * h), x.dtype)
        with one_blas_thread():
            for t in range(n):
                a = pre[t]                 # activated in place: pre keeps every step's gates
                a += self.state_product(states[t], ws, smask, out=gemm)
                a[:, :3 * h] = sigmoid(a[:, :3 * h])
                np.tanh(a[:, 3 * h:], out=a[:, 3 * h:])
                i, o, f, m = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
                if update is not None:     # "StateUpdate" dropout on the memory gate value
                    m = m * update[t]
                c = cells[t + 1]
                np.multiply(f, cells[t], out=c)
                c += i * m
                tc = np.tanh(c, out=tanh_c[t])
                np.multiply(o, tc, out=states[t + 1])
        y = batch_last(states[1:])
        outs = self.with_final_states(y, {"State": states[n], "CellState": cells[n]})
        return outs, ((xt, states, cells, pre, tanh_c, wx, ws, drop) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy, *dfinal):
        xt, states, cells, acts, tanh_c, wx, ws, drop = cache
        n, batch, _ = xt.shape
        h = ws.shape[0]
        smask = None if drop is None else drop.s
        update = None if drop is None else drop.update
        dys = dy.transpose(0, 2, 1)                         # (n, N, h) view
        da = np.empty((n, batch, 4 * h), dy.dtype)
        ds, dc = self.final_state_grads(dfinal, batch, h, dy.dtype)
        with one_blas_thread():
            for t in range(n - 1, -1, -1):
                a = acts[t]
                i, o, f, m = a[:, :h], a[:, h:2 * h], a[:, 2 * h:3 * h], a[:, 3 * h:]
                u = 1 if update is None else update[t]
                tc = tanh_c[t]
                ds += dys[t]
                dc += ds * o * (1 - tc * tc)
                g = da[t]
                g[:, :h] = dc * (m * u) * i * (1 - i)
                g[:, h:2 * h] = ds * tc * o * (1 - o)
                g[:, 2 * h:3 * h] = dc * cells[t] * f * (1 - f)
                g[:, 3 * h:] = dc * i * u * (1 - m * m)
                dc *= f
                ds = self.state_grad(g, ws, smask)
        return self.finish(ctx, arrays, xt, da, da, self.state_rows(states, drop), wx, ws, drop,
                           self.initial_state_grads({"State": ds, "CellState": dc}))
