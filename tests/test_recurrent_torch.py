"""The recurrent layers equal PyTorch's nn.LSTM / nn.GRU / nn.RNN with mapped weights.

Mappings (PyTorch stacks gate rows; Wolfram has one array per gate):
  LSTM  rows (i, f, g, o) -> InputGate, ForgetGate, MemoryGate, OutputGate; biases b_ih + b_hh.
  GRU   rows (r, z, n): r -> ResetGate; z -> InputGate *negated* (PyTorch's s = (1-z)*h + z*s
        keeps the old state where z is 1, Wolfram's s = (1-z)*s + z*h the new one);
        n -> MemoryGate with b_hn = 0 (Wolfram has no bias inside r*(Wms.s)).
  RNN   tanh; InputWeights, StateWeights, Biases = b_ih + b_hh.
State ports: Wolfram's "State" (and "CellState") are PyTorch's h0 (c0) in and hn (cn) out.
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
    arrays = _lstm_arrays(mod)
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


# ---------------------------------------------------------------- state ports: h0/c0, hn/cn
def _lstm_arrays(mod):
    wi, wh = _np(mod.weight_ih_l0), _np(mod.weight_hh_l0)
    b = _np(mod.bias_ih_l0) + _np(mod.bias_hh_l0)
    arrays = {}
    for k, gate in enumerate(("InputGate", "ForgetGate", "MemoryGate", "OutputGate")):
        sl = slice(k * H, (k + 1) * H)
        arrays[f"{gate}InputWeights"] = wi[sl]
        arrays[f"{gate}StateWeights"] = wh[sl]
        arrays[f"{gate}Biases"] = b[sl]
    return arrays


def _gru_arrays(mod):
    wi, wh = _np(mod.weight_ih_l0), _np(mod.weight_hh_l0)
    bi, bh = _np(mod.bias_ih_l0), _np(mod.bias_hh_l0)
    r, z, n = slice(0, H), slice(H, 2 * H), slice(2 * H, 3 * H)
    return {"ResetGateInputWeights": wi[r], "ResetGateStateWeights": wh[r],
            "ResetGateBiases": bi[r] + bh[r],
            "InputGateInputWeights": -wi[z], "InputGateStateWeights": -wh[z],
            "InputGateBiases": -(bi[z] + bh[z]),
            "MemoryGateInputWeights": wi[n], "MemoryGateStateWeights": wh[n],
            "MemoryGateBiases": bi[n]}


def _rnn_arrays(mod):
    return {"InputWeights": _np(mod.weight_ih_l0), "StateWeights": _np(mod.weight_hh_l0),
            "Biases": _np(mod.bias_ih_l0) + _np(mod.bias_hh_l0)}


def _modules():
    torch.manual_seed(3)
    gru = torch.nn.GRU(D, H, batch_first=True)
    with torch.no_grad():
        gru.bias_hh_l0[2 * H:] = 0
    return [("LongShortTermMemoryLayer", torch.nn.LSTM(D, H, batch_first=True), _lstm_arrays,
             ("State", "CellState")),
            ("GatedRecurrentLayer", gru, _gru_arrays, ("State",)),
            ("BasicRecurrentLayer", torch.nn.RNN(D, H, batch_first=True), _rnn_arrays,
             ("State",))]


@pytest.mark.parametrize("case", range(3))
def test_initial_and_final_states_equal_torch(case):
    """Initial states h0 (c0) in, final states hn (cn) out; the gradients with respect to
    the input and the initial states equal torch's autograd for the same output weights."""
    from tests.layer_harness import ctx, to_batch_first, to_batch_last
    name, mod, mapped, states = _modules()[case]
    layer = build(f'{name}[{H}, "Input" -> {{"Varying", {D}}}]').with_optional_ports(states,
                                                                                   states)
    arrays = mapped(mod)
    rng = np.random.default_rng(4)
    x = rng.standard_normal((N, T, D))
    init = [rng.standard_normal((N, H)) for _ in states]
    outs = forward(layer, arrays, x, *init, dtype=np.float64)
    tx = torch.tensor(x, requires_grad=True)
    tinit = [torch.tensor(s[None], requires_grad=True) for s in init]
    ty, finals = mod.double()(tx, tuple(tinit) if len(tinit) == 2 else tinit[0])
    finals = finals if isinstance(finals, tuple) else (finals,)
    want = [ty] + [f[0] for f in finals]
    for got, w in zip(outs, want):
        np.testing.assert_allclose(got, w.detach().numpy(), rtol=1e-6, atol=1e-7)
    # backward: seeds for every output, the same in both
    seeds = [rng.standard_normal(o.shape) for o in outs]
    loss = sum((w * torch.tensor(s)).sum() for w, s in zip(want, seeds))
    loss.backward()
    a64 = {k: np.asarray(v, np.float64) for k, v in arrays.items()}
    xs = [to_batch_last(x)] + [np.ascontiguousarray(s.T) for s in init]
    ys, cache = layer.forward(ctx(grad=True), a64, *xs)
    dxs, _ = layer.backward(ctx(grad=True), a64, cache,
                            *[to_batch_last(seeds[0])] + [np.ascontiguousarray(s.T)
                                                          for s in seeds[1:]])
    np.testing.assert_allclose(to_batch_first(dxs[0]), tx.grad.numpy(), rtol=1e-6, atol=1e-8)
    for d, t in zip(dxs[1:], tinit):
        np.testing.assert_allclose(d.T, t.grad.numpy()[0], rtol=1e-6, atol=1e-8)
    mod.float()
