"""BasicRecurrentLayer[n]: s = tanh(Wx.x + Ws.s + b) per step, the state zero at the start
(or the "State" given; the final one is the "State" output).

Arrays (Wolfram's names): "InputWeights" {n, InputSize}, "StateWeights" {n, n},
"Biases" {n}. The same as PyTorch's nn.RNN (tanh) with b_ih + b_hh as "Biases".
Wolfram's layer has Tanh only (BasicRecurrentLayer[n, opts]: no activation argument).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..expr import is_rule
from ..printer import short
from .base import Layer
from .recurrent_dropout import Masks
from .recurrent_core import RecurrentLayer, batch_last, gate_arrays, one_blas_thread
from .registry import register_layer


@register_layer
class BasicRecurrentLayer(RecurrentLayer):
    name = "BasicRecurrentLayer"
    summary = "simple RNN: s = tanh(Wx.x + Ws.s + b) for each step of a sequence"
    gates = ("",)
    array_specs = gate_arrays(gates)

    @classmethod
    def build(cls, args: tuple, call: Any) -> Layer:
        positional = [a for a in args if not is_rule(a)]
        if len(positional) == 2:     # BasicRecurrentLayer[n, Ramp]: Wolfram has no such form
            raise cls.error("argx", f"{short(call, 100)} has 2 positional arguments; expected "
                                    f"BasicRecurrentLayer[n, options]. Its activation is "
                                    f"always Tanh, as Wolfram's (there is no activation "
                                    f"argument).")
        return super().build(args, call)

    def forward(self, ctx, arrays, x, *given):
        h = arrays["Biases"].shape[0]
        drop = self.masks(ctx, x, h)
        wx, ws, b = self.stacked(arrays, x.dtype, drop)
        xt, pre = self.projections(x, wx, b, drop)
        n, batch, _ = xt.shape
        states = np.empty((n + 1, batch, h), x.dtype)
        states[0], = self.initial_rows(given, batch, h, x.dtype)
        with one_blas_thread():
            for t in range(n):
                a = pre[t]
                a += self.state_product(states[t], ws, _state_mask(drop, t))
                np.tanh(a, out=states[t + 1])
        outs = self.with_final_states(batch_last(states[1:]), {"State": states[n].T})
        return outs, ((xt, states, wx, ws, drop) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy, *dfinal):
        xt, states, wx, ws, drop = cache
        n, batch, _ = xt.shape
        h = ws.shape[0]
        dys = dy.transpose(0, 2, 1)
        da = np.empty((n, batch, h), dy.dtype)
        ds, = self.final_state_rows(dfinal, batch, h, dy.dtype)
        with one_blas_thread():
            for t in range(n - 1, -1, -1):
                s = states[t + 1]
                ds = ds + dys[t]
                np.multiply(ds, 1 - s * s, out=da[t])
                ds = self.state_grad(da[t], ws, _state_mask(drop, t))
        rows = states[:-1]
        if drop is not None and (drop.s is not None or drop.update is not None):
            rows = np.stack([rows[t] * _state_mask(drop, t)[0] for t in range(n)])
        return self.finish(ctx, arrays, xt, da, da, rows, wx, ws, drop,
                           self.initial_state_grads({"State": ds.T}))


def _state_mask(drop: Masks | None, t: int) -> np.ndarray | None:
    """The mask on the previous state at step t, (1, N, n): "VariationalState" (the same
    at every step) times "StateUpdate" (new at every step), as Wolfram's layer drops it."""
    if drop is None or drop.update is None:
        return None if drop is None else drop.s
    update = drop.update[t][None]
    return update if drop.s is None else drop.s * update
