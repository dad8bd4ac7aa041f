"""netdsl/layers/lstm_kernel.py on its own: the state-major time loop with halved sigmoid
rows against the LSTM formula written out per step, and its backward (gate gradients,
initial-state gradients, final-state gradients fed in) against float64 central differences.
"""

from __future__ import annotations

import numpy as np

from netdsl.layers import lstm_kernel as kernel
from tests.recurrent_reference import (central_differences, check_array_gradients,
                                       gate_arrays)

H, D, N, T = 3, 2, 2, 4


def _arrays(rng):
    return gate_arrays(rng, kernel.GATES, H, D)


def _reference(a, x, s, c):
    """Per example, per step: Wolfram's formulas (x (n, d, N), states (H, N))."""
    def sig(z):
        return 1 / (1 + np.exp(-z))
    outs = []
    for xt in x:
        g = {k: a[f"{k}InputWeights"] @ xt + a[f"{k}StateWeights"] @ s + a[f"{k}Biases"][:, None]
             for k in kernel.GATES}
        c = sig(g["ForgetGate"]) * c + sig(g["InputGate"]) * np.tanh(g["MemoryGate"])
        s = sig(g["OutputGate"]) * np.tanh(c)
        outs.append(s)
    return np.array(outs), c


def _run(a, x, s0, c0, keep=True):
    w = kernel.stacked_weights(a, np.float64)
    n, _, batch = x.shape
    pre = (w.wxb_half @ kernel.input_rows(x)).reshape(-1, n, batch)
    return w, kernel.forward(pre, w.ws_half, keep, None if s0 is None else (s0, c0))


def test_forward_with_and_without_an_initial_state_equals_the_formula():
    rng = np.random.default_rng(0)
    a, x = _arrays(rng), rng.normal(size=(T, D, N))
    s0, c0 = rng.normal(size=(H, N)), rng.normal(size=(H, N))
    for init in ((s0, c0), (None, None)):
        ys, c_last = _reference(a, x, *(v if v is not None else np.zeros((H, N)) for v in init))
        for keep in (True, False):
            _, run = _run(a, x, *init, keep=keep)
            np.testing.assert_allclose(run.states[1:], ys, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(run.last_cell, c_last, rtol=1e-12, atol=1e-12)


def check_central_differences(loss, a, s0, c0, grads, ds0, dc0, rtol, atol):
    """Four arrays' gradients and the initial state's and cell state's against float64
    central differences of ``loss(arrays, s0, c0)``."""
    check_array_gradients(lambda arrays: loss(arrays, s0, c0), a, grads,
                          ("ForgetGateStateWeights", "MemoryGateInputWeights",
                           "OutputGateBiases", "InputGateStateWeights"), rtol, atol)
    np.testing.assert_allclose(ds0, central_differences(lambda v: loss(a, v, c0), s0),
                               rtol=rtol, atol=atol)
    np.testing.assert_allclose(dc0, central_differences(lambda v: loss(a, s0, v), c0),
                               rtol=rtol, atol=atol)


def test_backward_equals_central_differences():
    rng = np.random.default_rng(1)
    a, x = _arrays(rng), rng.normal(size=(T, D, N))
    s0, c0 = rng.normal(size=(H, N)), rng.normal(size=(H, N))
    dy, ds_n, dc_n = rng.normal(size=(T, H, N)), rng.normal(size=(H, N)), rng.normal(size=(H, N))

    def loss(a, s0, c0, x=x):
        ys, c_last = _reference(a, x, s0, c0)
        return (ys * dy).sum() + (ys[-1] * ds_n).sum() + (c_last * dc_n).sum()

    w, run = _run(a, x, s0, c0)
    da, ds0, dc0 = kernel.backward(run, w.ws, dy, (ds_n, dc_n), initial=True)
    grads = kernel.weight_grads(da, run, kernel.input_rows(x), a)
    check_central_differences(loss, a, s0, c0, grads, ds0, dc0, rtol=1e-6, atol=1e-8)
    eps = 1e-6
    dx = kernel.input_grad(da, w.wx)
    num = np.zeros_like(x)
    for k in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[k] += eps
        xm[k] -= eps
        num[k] = (loss(a, s0, c0, xp) - loss(a, s0, c0, xm)) / (2 * eps)
    np.testing.assert_allclose(dx, num, rtol=1e-6, atol=1e-8)
