"""The recurrent layers equal PyTorch's nn.LSTM / nn.GRU / nn.RNN with mapped weights.

Mappings (PyTorch stacks gate rows; Wolfram has one array per gate):
  LSTM  rows (i, f, g, o) -> InputGate, ForgetGate, MemoryGate, OutputGate; biases b_ih + b_hh.
  GRU   rows (r, z, n): r -> ResetGate; z -> InputGate *negated* (PyTorch's s = (1-z)*h + z*s
        keeps the old state where z is 1, Wolfram's s = (1-z)*s + z*h the new one);
        n -> MemoryGate with b_hn = 0 (Wolfram has no bias inside r*(Wms.s)).
  RNN   tanh; InputWeights, StateWeights, Biases = b_ih + b_hh.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.layer_harness import build, forward

torch = pytest.importorskip("torch")

D, H, T, N = 3, 5, 7, 4


def _x():
    return np.random.default_rng(0).standard_normal((N, T, D)).astype(np.float32)


def _run_torch(mod, x):
    with torch.no_grad():
        y, _ = mod(torch.from_numpy(x))
    return y.numpy()


def _np(t):
    return t.detach().numpy().astype(np.float64)


def test_lstm_equals_torch():
    torch.manual_seed(0)
    mod = torch.nn.LSTM(D, H, batch_first=True)
    wi, wh = _np(mod.weight_ih_l0), _np(mod.weight_hh_l0)
    b = _np(mod.bias_ih_l0) + _np(mod.bias_hh_l0)
    arrays = {}
    for k, gate in enumerate(("InputGate", "ForgetGate", "MemoryGate", "OutputGate")):
        sl = slice(k * H, (k + 1) * H)
        arrays[f"{gate}InputWeights"] = wi[sl]
        arrays[f"{gate}StateWeights"] = wh[sl]
        arrays[f"{gate}Biases"] = b[sl]
    layer = build(f'LongShortTermMemoryLayer[{H}, "Input" -> {{"Varying", {D}}}]')
    x = _x()
    y, = forward(layer, arrays, x)
    np.testing.assert_allclose(y, _run_torch(mod, x), rtol=1e-5, atol=1e-6)


def test_gru_equals_torch_with_the_update_gate_negated():
    torch.manual_seed(1)
    mod = torch.nn.GRU(D, H, batch_first=True)
    with torch.no_grad():
        mod.bias_hh_l0[2 * H:] = 0          # b_hn: Wolfram has no such bias
    wi, wh = _np(mod.weight_ih_l0), _np(mod.weight_hh_l0)
    bi, bh = _np(mod.bias_ih_l0), _np(mod.bias_hh_l0)
    r, z, n = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
    arrays = {"ResetGateInputWeights": wi[r], "ResetGateStateWeights": wh[r],
              "ResetGateBiases": bi[r] + bh[r],
              "InputGateInputWeights": -wi[z], "InputGateStateWeights": -wh[z],
              "InputGateBiases": -(bi[z] + bh[z]),
              "MemoryGateInputWeights": wi[n], "MemoryGateStateWeights": wh[n],
              "MemoryGateBiases": bi[n]}
    layer = build(f'GatedRecurrentLayer[{H}, "Input" -> {{"Varying", {D}}}]')
    x = _x()
    y, = forward(layer, arrays, x)
    np.testing.assert_allclose(y, _run_torch(mod, x), rtol=1e-5, atol=1e-6)


def test_basic_recurrent_equals_torch_rnn():
    torch.manual_seed(2)
    mod = torch.nn.RNN(D, H, batch_first=True, nonlinearity="tanh")
    arrays = {"InputWeights": _np(mod.weight_ih_l0), "StateWeights": _np(mod.weight_hh_l0),
              "Biases": _np(mod.bias_ih_l0) + _np(mod.bias_hh_l0)}
    layer = build(f'BasicRecurrentLayer[{H}, "Input" -> {{"Varying", {D}}}]')
    x = _x()
    y, = forward(layer, arrays, x)
    np.testing.assert_allclose(y, _run_torch(mod, x), rtol=1e-5, atol=1e-6)
