"""ContrastiveLossLayer[margin]: Wolfram's ports (a distance, a "Boolean" target) and margin
default 0.5 (the paclet's Tests: [] and [0.9]), the loss (1 - t) x + t Max[margin - x, 0]
against a loop written from that formula, gradients against float64 finite differences
and a torch formula, NetTrain, check, text and net-file round trips, ONNX and torch
conversions."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, ShapeError
from netdsl.check import check_text
from netdsl.layers import LAYER_TYPES
from layer_harness import build, check_gradients, ctx, file_round_trip, onnx_run, round_losses

GRAPH = ('NetGraph[<|"d" -> LinearLayer[{}], "c" -> ContrastiveLossLayer[0.9]|>, '
         '{"d" -> NetPort["c", "Input"]}, "Input" -> 2]')


def ev(text):
    return netdsl.Session().evaluate(text)


def naive(x, t, margin):
    out = []
    for xi, ti in zip(x, t):
        out.append(xi if not ti else max(margin - xi, 0.0))
    return np.array(out)


def test_declaration_and_ports():
    cls = LAYER_TYPES["ContrastiveLossLayer"]
    assert [(p.name, p.default) for p in cls.positional] == [("Margin", 0.5)]
    for text, margin in (("ContrastiveLossLayer[]", 0.5), ("ContrastiveLossLayer[0.9]", 0.9)):
        layer = build(text)
        assert layer.values["Margin"] == margin and layer.is_loss
        assert all(layer.ports[p].shape == () for p in ("Input", "Target", "Loss"))
        assert layer.ports["Target"].coder.kind == "Boolean"


@pytest.mark.parametrize("text,error", [
    ('ContrastiveLossLayer["a"]', EvaluationError),
    ("ContrastiveLossLayer[0.5, 2]", EvaluationError),
    ('ContrastiveLossLayer["Input" -> 3]', ShapeError),
])
def test_errors(text, error):
    with pytest.raises(error, match="ContrastiveLossLayer"):
        ev(text)


@pytest.mark.parametrize("margin", [0.5, 0.9, 2.0])
def test_forward_matches_the_formula(margin):
    layer = build(f"ContrastiveLossLayer[{margin}]")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 2.5, 12)
    t = rng.integers(0, 2, 12).astype(float)
    for train in (False, True):
        (loss,), _ = layer.forward(ctx(train), {}, x.astype(np.float32), t.astype(np.float32))
        np.testing.assert_allclose(loss, naive(x, t, margin), rtol=1e-6, atol=1e-7)


def test_true_and_false_targets_through_the_encoder():
    s = netdsl.Session()
    s.evaluate("l = ContrastiveLossLayer[]")
    got = s.evaluate('l[<|"Input" -> {0.2, 0.7, 0.2, 0.7}, "Target" -> {True, True, False, '
                     'False}|>]')
    np.testing.assert_allclose(got, [0.3, 0.0, 0.2, 0.7], rtol=1e-6)


def test_gradients_match_finite_differences():
    layer = build("ContrastiveLossLayer[0.9]")
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 2, 10)
    x[np.abs(x - 0.9) < 0.05] += 0.2               # away from the kink at the margin
    t = rng.uniform(0, 1, 10)                      # any target, to check its gradient too
    check_gradients(layer, {}, [x, t])


def test_against_torch():
    torch = pytest.importorskip("torch")
    layer = build("ContrastiveLossLayer[]")
    rng = np.random.default_rng(2)
    x, t = rng.uniform(0, 1, 8), rng.integers(0, 2, 8).astype(float)
    (loss,), cache = layer.forward(ctx(grad=True), {}, x, t)
    dloss = rng.normal(size=8)
    (dx, _), _ = layer.backward(ctx(grad=True), {}, cache, dloss)
    xt, tt = torch.tensor(x, requires_grad=True), torch.tensor(t)
    lt = (1 - tt) * xt + tt * torch.nn.functional.relu(0.5 - xt)
    lt.backward(torch.tensor(dloss))
    np.testing.assert_allclose(loss, lt.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12)


def test_torch_conversion_of_a_graph():
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net = ev(f"NetInitialize[{GRAPH}, RandomSeeding -> 3]")
    rng = np.random.default_rng(3)
    x, t = rng.normal(size=(6, 2)).astype(np.float32), rng.integers(0, 2, 6).astype(np.float32)
    y = to_torch(net)(Input=torch.tensor(x), Target=torch.tensor(t)).detach().numpy()
    np.testing.assert_allclose(y, net({"Input": x, "Target": t}), rtol=1e-5, atol=1e-6)


def test_nettrain_separates_near_and_far_pairs():
    """A distance |w.x| learned from pairs: similar pairs (False) near 0, others (True) at
    least the margin 0.9."""
    s = netdsl.Session()
    rng = np.random.default_rng(4)
    x = rng.normal(size=(64, 2)).astype(np.float32)
    t = (x[:, 0] > 0).astype(np.float32)           # far exactly when the first input is > 0
    x[:, 0] = np.abs(x[:, 0]) * np.where(t > 0, 1, 0.05)
    s["xs"], s["ts"] = x, t
    s.evaluate('net = NetGraph[<|"d" -> LinearLayer[{}], "a" -> ElementwiseLayer[Abs], '
               '"c" -> ContrastiveLossLayer[0.9]|>, {"d" -> "a" -> NetPort["c", "Input"]}, '
               '"Input" -> 2]')
    losses = round_losses(s, '<|"Input" -> xs, "Target" -> ts|>', 60, "LearningRate -> 0.05")
    assert losses[-1] < 0.5 * losses[0]


def test_check_text_files_and_onnx(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    src = (f"g = {GRAPH};\n"
           'y = NetInitialize[g][<|"Input" -> RandomReal[1, {5, 2}], "Target" -> {1, 0, 1, 0, 1}|>]\n')
    assert check_text(src, "t.wl", out, err) == 0, err.getvalue()
    assert "t.wl:2: y = output of dimensions {5}" in out.getvalue().splitlines()

    layer = ev("ContrastiveLossLayer[0.9]")
    text = netdsl.input_form(layer)
    assert text == 'ContrastiveLossLayer[0.9, "Input" -> "Real", "Target" -> NetEncoder["Boolean"]]'
    assert ev(text) == layer and ev(text).ports["Target"].coder == layer.ports["Target"].coder

    net = ev(f"NetInitialize[{GRAPH}, RandomSeeding -> 5]")
    back = file_round_trip(net, tmp_path)
    feed = {"Input": np.ones((3, 2), np.float32), "Target": np.array([1, 0, 1], np.float32)}
    np.testing.assert_array_equal(back(feed), net(feed))

    np.testing.assert_allclose(onnx_run(net, feed), net(feed), atol=1e-6)
