"""GatedRecurrentLayer[n]: Wolfram's GRU over a sequence of vectors.

Per step, with x the input and s the state (zero at the start, or the "State" given; the
final one is the "State" output):
  z = σ(Wix.x + Wis.s + bi)            (Wolfram's "InputGate": the update gate)
  r = σ(Wrx.x + Wrs.s + br)            ("ResetGate")
  h = tanh(Wmx.x + bm + r*(Wms.s))     ("MemoryGate": the reset gate scales Wms.s)
  s = (1 - z)*s + z*h
Differences from PyTorch's nn.GRU: PyTorch keeps the *old* state where z is 1
(s = (1-z)*h + z*s), so its update-gate weights and bias are Wolfram's negated; PyTorch's
b_hn sits inside r*(...), Wolfram has no state bias (b_hn = 0 maps exactly).

Two time loops: the fast state-major one of gru_kernel.py, and, for a Train-mode pass with
"Dropout" (masks inside the loop: recurrent_dropout.py), the general batch-major loop below.
"""

from __future__ import annotations

import numpy as np

from . import gru_kernel as kernel
from .lstm_kernel import input_rows
from .recurrent_core import RecurrentLayer, batch_last, gate_arrays, one_blas_thread, sigmoid
from .registry import register_layer


@register_layer
class GatedRecurrentLayer(RecurrentLayer):
    name = "GatedRecurrentLayer"
    summary = "GRU: a sequence of vectors to the sequence of its n-vector states"
    gates = kernel.GATES          # Input (update), Reset, Memory
    array_specs = gate_arrays(gates)

    # the time loop and its layout: gru_kernel.py
    def forward(self, ctx, arrays, x, *given):
        drop = self.masks(ctx, x, arrays["InputGateBiases"].shape[0])
        if drop is not None:
            return self._forward_masked(ctx, arrays, x, given, drop)
        w = kernel.weights(ctx, self, arrays, x.dtype)
        rows = input_rows(x)
        n, _, batch = x.shape
        pre = (w.wxb_half @ rows).reshape(-1, n, batch)
        given_states = self.given_states(given)
        initial = given_states["State"].astype(x.dtype, copy=False) \
            if "State" in given_states else None
        with one_blas_thread():
            run = kernel.forward(pre, w.ws_half, keep=ctx.grad, initial=initial,
                                 alone=ctx.meeting is None)
        outs = self.with_final_states(run.states[1:], {"State": run.states[n]})
        return outs, (("kernel", rows, run, w) if ctx.grad else None)

    def backward(self, ctx, arrays, cache, dy, *dfinal):
        if cache[0] == "masked":
            return self._backward_masked(ctx, arrays, cache[1:], dy, dfinal)
        _, rows, run, w = cache
        final = self.final_state_grads(dfinal).get("State")
        with one_blas_thread():
            g = kernel.backward(run, w.ws, dy, final, initial=len(self.port_names()[0]) > 1,
                                alone=ctx.meeting is None)
        grads = kernel.weight_grads(g, run, rows, arrays)
        extra = self.initial_state_grads({"State": g.ds0})
        if not getattr(ctx, "need_dx", True):
            return [None] + extra, grads
        return [kernel.input_grad(g, w.wx)] + extra, grads

    # ---- with dropout masks: batch-major rows (N, ...) per step ------------------------
    def _forward_masked(self, ctx, arrays, x, given, drop):
        h = arrays["InputGateBiases"].shape[0]
        wx, ws, b = self.stacked(arrays, x.dtype, drop)
        xt, pre = self.projections(x, wx, b, drop)
        n, batch, _ = xt.shape
        smask, update = drop.s, drop.update
        states = np.empty((n + 1, batch, h), x.dtype)
        states[0], = self.initial_rows(given, batch, h, x.dtype)
        cache = []
        with one_blas_thread():
            for t in range(n):
                a = pre[t]
                q = self.state_product(states[t], ws, smask)   # (N, 3h): Wis.s, Wrs.s, Wms.s
                zr = sigmoid(a[:, :2 * h] + q[:, :2 * h])
                z, r = zr[:, :h], zr[:, h:]
                m = np.tanh(a[:, 2 * h:] + r * q[:, 2 * h:])
                mu = m if update is None else m * update[t]   # "StateUpdate" dropout
                s = states[t]
                np.add(s, z * (mu - s), out=states[t + 1])
                if ctx.grad:
                    cache.append((z, r, m, q[:, 2 * h:]))
        y = batch_last(states[1:])
        outs = self.with_final_states(y, {"State": states[n].T})
        return outs, (("masked", xt, states, cache, wx, ws, drop) if ctx.grad else None)

    def _backward_masked(self, ctx, arrays, cache, dy, dfinal):
        xt, states, steps, wx, ws, drop = cache
        n, batch, _ = xt.shape
        h = ws.shape[0]
        smask, update = drop.s, drop.update
        dys = dy.transpose(0, 2, 1)
        dax = np.empty((n, batch, 3 * h), dy.dtype)
        das = np.empty((n, batch, 3 * h), dy.dtype)
        ds, = self.final_state_rows(dfinal, batch, h, dy.dtype)
        with one_blas_thread():
            for t in range(n - 1, -1, -1):
                z, r, m, qm = steps[t]
                u = 1 if update is None else update[t]
                s = states[t]
                ds = ds + dys[t]
                dm = ds * z * u * (1 - m * m)                    # through tanh
                dz = ds * (m * u - s) * z * (1 - z)
                dr = dm * qm * r * (1 - r)
                dax[t, :, :h] = dz
                dax[t, :, h:2 * h] = dr
                dax[t, :, 2 * h:] = dm
                das[t, :, :2 * h] = dax[t, :, :2 * h]
                das[t, :, 2 * h:] = dm * r
                ds = ds * (1 - z) + self.state_grad(das[t], ws, smask)
        return self.finish(ctx, arrays, xt, dax, das, self.state_rows(states, drop), wx, ws,
                           drop, self.initial_state_grads({"State": ds.T}))
