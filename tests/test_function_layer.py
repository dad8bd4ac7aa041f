"""FunctionLayer[f]: f's body compiled to a NetGraph of layers (Wolfram converts it so
internally). Each form of Wolfram's reference page (# and "Input"; named slots as ports;
Apply[f] with Input1, Input2, ...; an association of outputs; "port" -> shape), values
against f computed in float64 NumPy, gradients against finite differences, training."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from tests.test_gradients_net import Harness, assert_close


def ev(text: str):
    return netdsl.Session().evaluate(text)


X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


@pytest.mark.parametrize("f, want", [
    ("Sin[#] + 1 &", lambda x: np.sin(x) + 1),
    ("Function[x, 2 x + x^2]", lambda x: 2 * x + x ** 2),
    ("Tanh", np.tanh),
    ("Total[#] &", lambda x: x.sum(-1)),
    ("Mean[#] / (1 + Max[#]) &", lambda x: x.mean(-1) / (1 + x.max(-1))),
    ("#[[2]] * Exp[#[[1]]] &", lambda x: x[:, 1] * np.exp(x[:, 0])),
    ("Join[#, Ramp[#]] &", lambda x: np.concatenate([x, np.maximum(x, 0)], -1)),
    ("Reverse[#] - # &", lambda x: x[:, ::-1] - x),
])
def test_one_input(f, want):
    layer = ev(f'FunctionLayer[{f}, "Input" -> 3]')       # X: a batch of two vectors
    assert layer.port_names() == (("Input",), ("Output",))
    np.testing.assert_allclose(layer(X.astype(np.float32)), want(X), rtol=1e-5, atol=1e-6)


def test_named_slots_apply_and_an_association_of_outputs():
    g = ev("FunctionLayer[#x * #y + Exp[#x] &]")
    assert g.port_names() == (("x", "y"), ("Output",))
    a, b = X[0], X[1]
    np.testing.assert_allclose(g({"x": a.astype(np.float32), "y": b.astype(np.float32)}),
                               a * b + np.exp(a), rtol=1e-5)
    h = ev("FunctionLayer[Apply[#1 . #2 &]]")
    m, v = np.arange(6.0).reshape(2, 3), np.array([1.0, -1.0, 2.0])
    np.testing.assert_allclose(h({"Input1": m.astype(np.float32), "Input2": v.astype(np.float32)}),
                               m @ v, rtol=1e-6)
    k = ev('FunctionLayer[<|"a" -> Mean[#], "b" -> Transpose[#] . #|> &, "Input" -> {3, 2}]')
    z = np.arange(6.0).reshape(3, 2)
    out = k(z.astype(np.float32))
    np.testing.assert_allclose(out["a"], z.mean(0), rtol=1e-6)
    np.testing.assert_allclose(out["b"], z.T @ z, rtol=1e-6)
    assert ev("FunctionLayer[2 # &, \"Input\" -> 4]").ports["Output"].shape == (4,)


def test_layers_inside_learn_and_match_finite_differences():
    net = ev('NetInitialize[FunctionLayer[Tanh[LinearLayer[3][#]] + Total[#] &, "Input" -> 2], '
             'RandomSeeding -> 1]')
    lin = next(layer for _, layer in net.layers() if layer.head_name == "LinearLayer")
    x = np.array([1.0, 2.0])
    want = np.tanh(lin.arrays["Weights"] @ x + lin.arrays["Biases"]) + x.sum()
    np.testing.assert_allclose(net(x.astype(np.float32)), want, rtol=1e-5)
    rng = np.random.default_rng(2)
    hz = Harness('FunctionLayer[Tanh[LinearLayer[3][#]] * #[[1]] + Total[#] &, "Input" -> 2]',
                 {"Input": rng.standard_normal((4, 2)), "Output": rng.standard_normal((4, 3))})
    _, grad = hz.loss_and_grad()
    assert_close(grad, hz.numeric_grad())


def test_training_and_text_round_trip():
    s = netdsl.Session()
    rng = np.random.default_rng(0)
    s["xs"] = rng.standard_normal((64, 2)).astype(np.float32)
    s["ys"] = np.sin(s["xs"][:, :1]).astype(np.float32)
    s.evaluate('net = FunctionLayer[LinearLayer[1][Tanh[LinearLayer[8][#]]] &, "Input" -> 2]')
    s.evaluate("r = NetTrain[net, xs -> ys, All, MaxTrainingRounds -> 100, "
               "TrainingProgressReporting -> None]")
    losses = np.asarray(s.evaluate('r["RoundLossList"]'))
    assert losses[-1] < 0.3 * losses[0]
    trained = s.evaluate('r["TrainedNet"]')
    assert ev(netdsl.input_form(trained)) == trained


@pytest.mark.parametrize("f, words", [
    ("1 &", "does not depend on the input"),
    ("#2 &", "Apply[f]"),
    ("Foo[#] &", "cannot be compiled"),
    ("{#, #} &", "Join or Catenate"),
])
def test_errors(f, words):
    with pytest.raises(NetDSLError) as e:
        ev(f"FunctionLayer[{f}]")
    assert words in str(e.value) and e.value.symbol == "FunctionLayer"
