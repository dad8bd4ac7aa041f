"""OrderingLayer[spec]: Wolfram's argument (All, n, -n; not 0), ports (a vector in, integer
positions out, their count and classes), Ordering's result (ties in input order) against
a loop written from its definition, no gradient, "Varying" vectors, check, text and
net-file round trips, ONNX (TopK) and torch (stable argsort) conversions."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, ShapeError
from netdsl.check import check_text
from netdsl.layers.shapes import LengthVar
from layer_harness import build, ctx, file_round_trip, forward, onnx_run, round_losses, to_batch_last


def ev(text):
    return netdsl.Session().evaluate(text)


def naive_ordering(v, spec="All"):
    """Ordering[v] (1-based, smallest first, equal values in input order), then Take."""
    positions = list(range(1, len(v) + 1))
    for i in range(len(positions)):               # insertion sort: stable
        j = i
        while j > 0 and v[positions[j - 1] - 1] > v[positions[j] - 1]:
            positions[j - 1], positions[j] = positions[j], positions[j - 1]
            j -= 1
    if spec == "All":
        return positions
    return positions[:spec] if spec > 0 else positions[spec:]


@pytest.mark.parametrize("text,out,classes", [
    ('OrderingLayer["Input" -> 8]', 8, 8),
    ('OrderingLayer[All, "Input" -> 8]', 8, 8),
    ('OrderingLayer[4, "Input" -> 8]', 4, 8),
    ('OrderingLayer[-4, "Input" -> 8]', 4, 8),
])
def test_ports(text, out, classes):
    layer = build(text)
    t = layer.ports["Output"]
    assert t.shape == (out,) and t.integer and t.classes == classes
    assert build("OrderingLayer[]").values["Elements"] == "All"


def test_varying_vectors_and_inference_from_the_output():
    layer = build('OrderingLayer["Input" -> "Varying"]')
    assert isinstance(layer.ports["Output"].shape[0], LengthVar)
    assert layer.ports["Output"].shape == layer.ports["Input"].shape
    assert build('OrderingLayer[3, "Input" -> "Varying"]').ports["Output"].shape == (3,)
    chain = ev('NetChain[{OrderingLayer[-2], EmbeddingLayer[3]}, "Input" -> 6]')
    assert chain.net(chain.order[1]).array_shapes() == {"Weights": (6, 3)}


@pytest.mark.parametrize("text,error,words", [
    ("OrderingLayer[0]", EvaluationError, "non-zero integer"),
    ('OrderingLayer["a"]', EvaluationError, "non-zero integer"),
    ('OrderingLayer[5, "Input" -> 3]', ShapeError, "fewer than the 5 positions"),
    ('OrderingLayer[-5, "Input" -> 3]', ShapeError, "fewer than the 5 positions"),
    ('OrderingLayer["Input" -> {2, 3}]', ShapeError, "must be a vector"),
])
def test_errors(text, error, words):
    with pytest.raises(error, match=words):
        ev(text)


@pytest.mark.parametrize("spec", ["All", 1, 3, -1, -3])
def test_forward_is_ordering(spec):
    arg = "" if spec == "All" else f"{spec}, "
    layer = build(f'OrderingLayer[{arg}"Input" -> 7]')
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, (6, 7)).astype(float)     # many ties
    (y,) = forward(layer, {}, x, dtype=np.float64)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, [naive_ordering(list(v), spec) for v in x])


def test_ragged_varying_vectors():
    net = ev('NetChain[{OrderingLayer[]}, "Input" -> "Varying"]')
    ys = net([np.array([3.0, 1.0, 2.0], np.float32), np.array([5.0, -1.0], np.float32)])
    assert [list(y) for y in ys] == [[2, 3, 1], [2, 1]]
    short = ev('NetChain[{OrderingLayer[3]}, "Input" -> "Varying"]')
    with pytest.raises(EvaluationError, match="fewer than the 3 positions"):
        short([np.array([3.0, 1.0], np.float32)])


def test_no_gradient():
    layer = build('OrderingLayer["Input" -> 4]')
    x = to_batch_last(np.random.default_rng(1).normal(size=(2, 4)))
    (y,), cache = layer.forward(ctx(grad=True), {}, x)
    (dx,), grads = layer.backward(ctx(grad=True), {}, cache, np.ones(y.shape))
    assert dx is None and grads == {}


def test_check_text_files_onnx_and_torch(tmp_path):
    text = 'NetChain[{LinearLayer[6], OrderingLayer[-2]}, "Input" -> 3]'
    out, err = io.StringIO(), io.StringIO()
    src = f"n = NetInitialize@{text};\ny = n[RandomReal[1, {{5, 3}}]]\n"
    assert check_text(src, "t.wl", out, err) == 0, err.getvalue()
    assert "t.wl:2: y = output of dimensions {5, 2}" in out.getvalue().splitlines()

    net = ev(f"NetInitialize[{text}, RandomSeeding -> 1]")
    assert netdsl.input_form(ev("OrderingLayer[-2]")) == "OrderingLayer[-2]"
    assert ev(netdsl.input_form(net)) == net
    x = np.random.default_rng(2).normal(size=(5, 3)).astype(np.float32)
    want = net(x)
    w = net.net("1").arrays
    scores = x @ w["Weights"].T + w["Biases"]
    np.testing.assert_array_equal(want, [naive_ordering(list(v), -2) for v in scores])

    np.testing.assert_array_equal(file_round_trip(net, tmp_path)(x), want)

    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    np.testing.assert_array_equal(to_torch(net)(torch.tensor(x)).numpy(), want)

    ties = np.array([[3, 1, 2, 1, 5, 5], [0, 0, 0, 1, -1, 2]], np.float32)
    for spec in ("", "2", "-3"):
        o = ev(f'NetChain[{{OrderingLayer[{spec}]}}, "Input" -> 6]')
        np.testing.assert_array_equal(onnx_run(o, {"Input": ties}), o(ties))


def test_nettrain_through_positions_into_an_embedding():
    """The positions index an EmbeddingLayer: training moves its weights, and nothing
    flows back through the ordering."""
    s = netdsl.Session()
    rng = np.random.default_rng(3)
    s["xs"] = rng.normal(size=(32, 5)).astype(np.float32)
    s["ys"] = rng.normal(size=(32, 2, 3)).astype(np.float32)
    s.evaluate('net = NetInitialize[NetChain[{OrderingLayer[-2], EmbeddingLayer[3]}, '
               '"Input" -> 5], RandomSeeding -> 1]')
    losses = round_losses(s, "xs -> ys", 20)
    assert losses[-1] < losses[0]
