"""Naive per-step references for the recurrent layers (one example, float64), written from
Wolfram's formulas: initial states, and the dropout masks of one Train-mode pass.

``masks`` is a ``Masks`` (netdsl.layers.recurrent_dropout) or None and ``i`` the example's
index in the batch the masks were drawn for. Masks are applied where Wolfram's layer
definitions apply them: DropConnect on every weight matrix, "VariationalInput" on the
input of each gate, "VariationalState" on the previous state of each gate, "StateUpdate"
on LSTM's m, GRU's candidate h and BasicRecurrentLayer's previous state.
"""

from __future__ import annotations

import numpy as np

LSTM_GATES = ("InputGate", "OutputGate", "ForgetGate", "MemoryGate")
GRU_GATES = ("InputGate", "ResetGate", "MemoryGate")


def sig(a):
    return 1 / (1 + np.exp(-a))


def _weights(a, gates, masks):
    """gate -> (Wx, Ws, b), DropConnect applied (the masks are stacked transposed)."""
    out = {}
    for k, g in enumerate(gates):
        wx, ws = a[f"{g}InputWeights"], a[f"{g}StateWeights"]
        h = ws.shape[0]
        if masks is not None and masks.wx is not None:
            wx = wx * masks.wx[:, k * h:(k + 1) * h].T
            ws = ws * masks.ws[:, k * h:(k + 1) * h].T
        out[g] = (wx, ws, a[f"{g}Biases"])
    return out


def _inputs(xt, s, k, masks, i):
    """The input and previous state gate k sees (variational masks applied)."""
    if masks is not None and masks.x is not None:
        xt = xt * masks.x[k, i]
    if masks is not None and masks.s is not None:
        s = s * masks.s[k, i]
    return xt, s


def _update(masks, t, i):
    return 1.0 if masks is None or masks.update is None else masks.update[t, i]


def lstm_ref(a, x, s0=None, c0=None, masks=None, i=0):
    """(outputs, final state, final cell state)."""
    w = _weights(a, LSTM_GATES, masks)
    h = a["InputGateBiases"].shape[0]
    s = np.zeros(h) if s0 is None else np.asarray(s0, float)
    c = np.zeros(h) if c0 is None else np.asarray(c0, float)
    out = []
    for t, xt in enumerate(x):
        pre = {}
        for k, g in enumerate(LSTM_GATES):
            xi, si = _inputs(xt, s, k, masks, i)
            pre[g] = w[g][0] @ xi + w[g][1] @ si + w[g][2]
        m = np.tanh(pre["MemoryGate"]) * _update(masks, t, i)
        c = sig(pre["ForgetGate"]) * c + sig(pre["InputGate"]) * m
        s = sig(pre["OutputGate"]) * np.tanh(c)
        out.append(s)
    return np.array(out), s, c


def gru_ref(a, x, s0=None, masks=None, i=0):
    """(outputs, final state)."""
    w = _weights(a, GRU_GATES, masks)
    h = a["InputGateBiases"].shape[0]
    s = np.zeros(h) if s0 is None else np.asarray(s0, float)
    out = []
    for t, xt in enumerate(x):
        (xz, sz), (xr, sr), (xm, sm) = (_inputs(xt, s, k, masks, i) for k in range(3))
        z = sig(w["InputGate"][0] @ xz + w["InputGate"][1] @ sz + w["InputGate"][2])
        r = sig(w["ResetGate"][0] @ xr + w["ResetGate"][1] @ sr + w["ResetGate"][2])
        m = np.tanh(w["MemoryGate"][0] @ xm + w["MemoryGate"][2] + r * (w["MemoryGate"][1] @ sm))
        s = (1 - z) * s + z * (m * _update(masks, t, i))
        out.append(s)
    return np.array(out), s


def rnn_ref(a, x, s0=None, masks=None, i=0):
    """(outputs, final state)."""
    (wx, ws, b), = _weights(a, ("",), masks).values()
    s = np.zeros(b.shape[0]) if s0 is None else np.asarray(s0, float)
    out = []
    for t, xt in enumerate(x):
        xi, si = _inputs(xt, s, 0, masks, i)
        s = np.tanh(wx @ xi + ws @ (si * _update(masks, t, i)) + b)
        out.append(s)
    return np.array(out), s


def gate_arrays(rng, gates, h, d, scale=0.7):
    """Random per-gate arrays in Wolfram's names: weights N(0, scale), biases N(0, 0.5)."""
    out = {}
    for g in gates:
        out[f"{g}InputWeights"] = rng.normal(0, scale, (h, d))
        out[f"{g}StateWeights"] = rng.normal(0, scale, (h, h))
        out[f"{g}Biases"] = rng.normal(0, 0.5, h)
    return out


def central_differences(f, a, eps=1e-6):
    """The float64 central differences of f(a') with respect to every element of a."""
    num = np.zeros(np.shape(a))
    for k in np.ndindex(num.shape):
        e = np.zeros(num.shape)
        e[k] = eps
        num[k] = (f(a + e) - f(a - e)) / (2 * eps)
    return num


def check_array_gradients(loss, arrays, grads, names, rtol, atol):
    """``grads[name]`` against central differences of ``loss(arrays)`` for each name."""
    for name in names:
        def with_(v, name=name):
            return loss({**arrays, name: v})
        np.testing.assert_allclose(grads[name], central_differences(with_, arrays[name]),
                                   rtol=rtol, atol=atol, err_msg=name)


def force_compiled(monkeypatch, kernel) -> list:
    """Every float32 pass of ``kernel`` (lstm_kernel, gru_kernel) on its compiled steps,
    whatever its size; returns the list of what each pass chose (None: the NumPy loop)."""
    monkeypatch.setattr(kernel, "FUSED_MIN", 0)
    monkeypatch.delenv("NETDSL_JIT", raising=False)
    used: list = []
    choose = kernel.fused_steps
    monkeypatch.setattr(kernel, "fused_steps", lambda *a: used.append(choose(*a)) or used[-1])
    return used


def lstm_per_example(a, x, s0=None, c0=None):
    """``lstm_ref`` for each example of x (n, d, N) batch-last: the states (n, H, N) and
    the last cell state (H, N); s0, c0 (H, N) or None."""
    ys, cs = [], []
    for j in range(x.shape[2]):
        y, _, c = lstm_ref(a, x[:, :, j], None if s0 is None else s0[:, j],
                           None if c0 is None else c0[:, j])
        ys.append(y)
        cs.append(c)
    return np.stack(ys, -1), np.stack(cs, -1)
