"""BasicRecurrentLayer[n]: s = tanh(Wx.x + Ws.s + b) per step, the state zero at the start.

Arrays (Wolfram's names): "InputWeights" {n, InputSize}, "StateWeights" {n, n},
"Biases" {n}. The same as PyTorch's nn.RNN (tanh) with b_ih + b_hh as "Biases".
Only Wolfram's default activation, Tanh, is supported.
"""

from __future__ import annotations

import numpy as np

from .recurrent_core import RecurrentLayer, batch_last, gate_arrays, one_blas_thread
from .registry import register_layer


@register_layer
class BasicRecurrentLayer(RecurrentLayer):
    name = "BasicRecurrentLayer"
    summary = "simple RNN: s = tanh(Wx.x + Ws.s + b) for each step of a sequence"
    gates = ("",)
    array_specs = gate_arrays(gates)

    def forward(self, ctx, arrays, x):
        wx, ws, b = self.stacked(arrays, x.dtype)
        xt, pre = self.projections(x, wx, b)
        n, batch, _ = xt.shape
        states = np.zeros((n + 1, batch, ws.shape[0]), x.dtype)
        with one_blas_thread():
            for t in range(n):
                a = pre[t]
                a += states[t] @ ws
                np.tanh(a, out=states[t + 1])
        return [batch_last(states[1:])], ((xt, states, wx, ws) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy):
        xt, states, wx, ws = cache
        n, batch, _ = xt.shape
        dys = dy.transpose(0, 2, 1)
        da = np.empty((n, batch, ws.shape[0]), dy.dtype)
        ds = np.zeros((batch, ws.shape[0]), dy.dtype)
        with one_blas_thread():
            for t in range(n - 1, -1, -1):
                s = states[t + 1]
                ds = ds + dys[t]
                np.multiply(ds, 1 - s * s, out=da[t])
                ds = da[t] @ ws.T
        return self.finish(ctx, arrays, xt, da, da, states, wx, ws)
