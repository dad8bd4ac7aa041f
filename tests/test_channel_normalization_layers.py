"""InstanceNormalizationLayer and LocalResponseNormalizationLayer: Wolfram's options,
defaults, arrays, ports and validation (the paclet's Tests sizes {5, 4, 4}), forward
against naive loops written from Wolfram's formulas, backward against float64 finite
differences, PyTorch (instance_norm, local_response_norm) with the same weights, a NetTrain
smoke test, check, text and net-file round trips."""

from __future__ import annotations

import io

import numpy as np
import pytest

import netdsl
from netdsl import EvaluationError, ShapeError
from netdsl.check import check_text
from netdsl.layers import LAYER_TYPES
from layer_harness import (build, check_gradients, ctx, file_round_trip, forward, make_arrays,
                           round_losses, to_batch_last)


def ev(text):
    return netdsl.Session().evaluate(text)


# ================================================================ InstanceNormalizationLayer
def naive_instance_norm(x, gamma, beta, eps):
    """x (N, C, d..): per example and channel, over the spatial elements."""
    y = np.zeros_like(x, dtype=np.float64)
    for n in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[n, c].ravel().astype(np.float64)
            mean = sum(v) / len(v)
            var = sum((a - mean) ** 2 for a in v) / len(v)
            y[n, c] = (x[n, c] - mean) / np.sqrt(var + eps) * gamma[c] + beta[c]
    return y


def test_instance_declaration_matches_wolfram():
    cls = LAYER_TYPES["InstanceNormalizationLayer"]
    assert cls.positional == ()
    assert {o.name: o.default for o in cls.options}["Epsilon"] == 0.001
    assert [a.name for a in cls.array_specs] == ["Scaling", "Biases"]
    layer = build('InstanceNormalizationLayer["Input" -> {5, 4, 4}]')      # paclet Tests
    assert layer.ports["Output"].shape == (5, 4, 4)
    assert layer.array_shapes() == {"Scaling": (5,), "Biases": (5,)}


def test_instance_shapes_both_ways_and_errors():
    assert build('InstanceNormalizationLayer["Output" -> {3, 6}]').ports["Input"].shape == (3, 6)
    layer = ev('InstanceNormalizationLayer["Scaling" -> {1, 2}, "Input" -> {2, 4}]')
    assert layer.values["StatsDimensions"] == (2,)
    with pytest.raises(ShapeError, match="rank at least 2"):
        ev('InstanceNormalizationLayer["Input" -> {4}]')
    with pytest.raises(ShapeError, match="InstanceNormalizationLayer"):
        ev('InstanceNormalizationLayer["Scaling" -> {1, 2, 3}, "Input" -> {2, 4}]')
    with pytest.raises(EvaluationError, match="argx"):
        ev("InstanceNormalizationLayer[2]")


@pytest.mark.parametrize("dims,eps", [((3, 4, 5), 0.001), ((2, 6), 0.1), ((2, 2, 3, 2), 0.00001)])
def test_instance_forward_matches_the_per_channel_loop(dims, eps):
    layer = build(f'InstanceNormalizationLayer["Epsilon" -> {eps:.6f}, '
                  f'"Input" -> {{{", ".join(map(str, dims))}}}]')
    arrays = make_arrays(layer, seed=1)
    x = np.random.default_rng(2).normal(2.0, 3.0, size=(4, *dims))
    want = naive_instance_norm(x, arrays["Scaling"].astype(np.float32),
                               arrays["Biases"].astype(np.float32), eps)
    for train in (False, True):                 # no batch statistics: the same in both modes
        (y,) = forward(layer, arrays, x, train=train)
        np.testing.assert_allclose(y, want, rtol=2e-4, atol=2e-4)


def test_instance_backward_matches_finite_differences():
    layer = build('InstanceNormalizationLayer["Input" -> {2, 3, 2}]')
    x = np.random.default_rng(4).normal(size=(3, 2, 3, 2))
    check_gradients(layer, make_arrays(layer, seed=5), [to_batch_last(x)])


def test_instance_without_scaling_or_biases():
    layer = build('InstanceNormalizationLayer["Scaling" -> None, "Biases" -> None, '
                  '"Input" -> {2, 5}]')
    x = np.random.default_rng(6).normal(size=(3, 2, 5))
    (y,) = forward(layer, {}, x)
    np.testing.assert_allclose(y, naive_instance_norm(x, [1, 1], [0, 0], 0.001), atol=2e-5)


def test_instance_against_torch():
    torch = pytest.importorskip("torch")
    layer = build('InstanceNormalizationLayer["Input" -> {3, 4, 5}]')
    arrays = make_arrays(layer, seed=7)
    x = np.random.default_rng(8).normal(size=(2, 3, 4, 5))
    (y,), cache = layer.forward(ctx(grad=True), arrays, to_batch_last(x))
    dy = np.random.default_rng(9).normal(size=y.shape)
    (dx,), grads = layer.backward(ctx(grad=True), arrays, cache, dy)
    xt = torch.tensor(x, requires_grad=True)
    g = torch.tensor(arrays["Scaling"], requires_grad=True)
    b = torch.tensor(arrays["Biases"], requires_grad=True)
    yt = torch.nn.functional.instance_norm(xt, weight=g, bias=b, eps=0.001)
    yt.backward(torch.tensor(np.moveaxis(dy, -1, 0)))
    np.testing.assert_allclose(np.moveaxis(y, -1, 0), yt.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(np.moveaxis(dx, -1, 0), xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(grads["Scaling"], g.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(grads["Biases"], b.grad.numpy(), atol=1e-10)


# ================================================================ LocalResponseNormalizationLayer
def naive_lrn(x, c=2, alpha=1.0, beta=0.5, bias=1.0):
    """Wolfram's formula: T_ijk / (alpha/(2c+1) Sum[T_xjk^2, {x, max(1, i-c), min(N, i+c)}]
    + bias)^beta, channels i = 1..N, on x (batch, N, h, w)."""
    y = np.zeros_like(x, dtype=np.float64)
    n_ch = x.shape[1]
    for i in range(n_ch):
        s = sum(x[:, j] ** 2 for j in range(max(0, i - c), min(n_ch - 1, i + c) + 1))
        y[:, i] = x[:, i] / (alpha / (2 * c + 1) * s + bias) ** beta
    return y


def test_lrn_declaration_matches_wolfram():
    defaults = {o.name: o.default for o in LAYER_TYPES["LocalResponseNormalizationLayer"].options}
    assert defaults == {"ChannelWindowSize": 2, "Alpha": 1.0, "Beta": 0.5, "Bias": 1.0}
    layer = build('LocalResponseNormalizationLayer["Input" -> {5, 4, 4}]')   # paclet Tests
    assert layer.ports["Output"].shape == (5, 4, 4) and not layer.array_specs
    assert build('LocalResponseNormalizationLayer["Output" -> {6, 2, 3}]').ports["Input"].shape \
        == (6, 2, 3)


@pytest.mark.parametrize("text,message", [
    ('LocalResponseNormalizationLayer["Input" -> {4, 4, 4}]',
     r"2 \* channel window size \+ 1 cannot be larger than the number of channels"),
    ('LocalResponseNormalizationLayer["ChannelWindowSize" -> 1, "Input" -> {2, 3, 3}]',
     "cannot be larger"),
    ('LocalResponseNormalizationLayer["Input" -> {5, 4}]', "rank-3 array"),
])
def test_lrn_validation(text, message):
    with pytest.raises(ShapeError, match=message):
        ev(text)


@pytest.mark.parametrize("option", ['"ChannelWindowSize" -> 0', '"ChannelWindowSize" -> 1.5',
                                    '"Alpha" -> "a"', '"Beta" -> x'])
def test_lrn_bad_options(option):
    with pytest.raises(EvaluationError, match="invopt"):
        ev(f"LocalResponseNormalizationLayer[{option}]")


@pytest.mark.parametrize("opts,kw,dims", [
    ("", {}, (5, 4, 4)),
    ('"ChannelWindowSize" -> 1, "Alpha" -> 0.0001, "Beta" -> 0.75, "Bias" -> 2',
     dict(c=1, alpha=0.0001, beta=0.75, bias=2.0), (7, 3, 2)),
    ('"ChannelWindowSize" -> 3, "Alpha" -> 2.5, "Beta" -> 1.3, "Bias" -> 0.5',
     dict(c=3, alpha=2.5, beta=1.3, bias=0.5), (7, 2, 2)),
])
def test_lrn_forward_matches_wolfram_formula(opts, kw, dims):
    layer = build(f'LocalResponseNormalizationLayer[{opts + ", " if opts else ""}'
                  f'"Input" -> {{{", ".join(map(str, dims))}}}]')
    x = np.random.default_rng(1).normal(size=(3, *dims))
    for train in (False, True):
        (y,) = forward(layer, {}, x, train=train)
        np.testing.assert_allclose(y, naive_lrn(x, **kw), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("opts", ["", '"ChannelWindowSize" -> 1, "Alpha" -> 3, "Beta" -> 0.75',
                                  '"ChannelWindowSize" -> 3, "Bias" -> 2, "Beta" -> 1.5'])
def test_lrn_backward_matches_finite_differences(opts):
    layer = build(f'LocalResponseNormalizationLayer[{opts + ", " if opts else ""}'
                  f'"Input" -> {{7, 2, 2}}]')
    x = np.random.default_rng(2).normal(size=(2, 7, 2, 2))
    check_gradients(layer, {}, [to_batch_last(x)])


@pytest.mark.parametrize("c,alpha,beta,bias", [(2, 1.0, 0.5, 1.0), (1, 1e-4, 0.75, 2.0)])
def test_lrn_against_torch(c, alpha, beta, bias):
    torch = pytest.importorskip("torch")
    layer = build(f'LocalResponseNormalizationLayer["ChannelWindowSize" -> {c}, "Alpha" -> {alpha},'
                  f' "Beta" -> {beta}, "Bias" -> {bias}, "Input" -> {{6, 3, 4}}]')
    x = np.random.default_rng(3).normal(size=(2, 6, 3, 4))
    (y,), cache = layer.forward(ctx(grad=True), {}, to_batch_last(x))
    dy = np.random.default_rng(4).normal(size=y.shape)
    (dx,), _ = layer.backward(ctx(grad=True), {}, cache, dy)
    xt = torch.tensor(x, requires_grad=True)
    yt = torch.nn.functional.local_response_norm(xt, 2 * c + 1, alpha=alpha, beta=beta, k=bias)
    yt.backward(torch.tensor(np.moveaxis(dy, -1, 0)))
    np.testing.assert_allclose(np.moveaxis(y, -1, 0), yt.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(np.moveaxis(dx, -1, 0), xt.grad.numpy(), rtol=1e-9, atol=1e-12)


# ================================================================ both, in nets
NET = ('NetChain[{ConvolutionLayer[6, 3, "PaddingSize" -> 1], LocalResponseNormalizationLayer['
       '"ChannelWindowSize" -> 1, "Alpha" -> 0.5, "Beta" -> 0.75], InstanceNormalizationLayer[], '
       'Ramp, FlattenLayer[], LinearLayer[2]}, "Input" -> {2, 5, 5}]')


def test_a_net_with_both_trains():
    s = netdsl.Session()
    s.evaluate(f"net = NetInitialize[{NET}, RandomSeeding -> 3]")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 2, 5, 5)).astype(np.float32)
    t = np.stack([x[:, 0].mean(axis=(1, 2)), x[:, 1].std(axis=(1, 2))], axis=1)
    s["xs"] = x
    s["ts"] = t.astype(np.float32)
    losses = round_losses(s, "xs -> ts", 30)
    assert np.all(np.isfinite(losses)) and losses[-1] < losses[0]


def test_check_text_and_net_file_round_trips(tmp_path):
    out, err = io.StringIO(), io.StringIO()
    src = (f"net = NetInitialize@{NET};\n"
           "y = net[RandomReal[1, {3, 2, 5, 5}]]\n"
           'bad = LocalResponseNormalizationLayer["Input" -> {3, 2, 2}]\n')
    assert check_text(src, "t.wl", out, err) == 1
    assert ('t.wl:1: net = NetChain: "Input" 3-tensor of dimensions {2, 5, 5} -> "Output" vector '
            'of size 2') in out.getvalue().splitlines()
    assert "t.wl:2: y = output of dimensions {3, 2}" in out.getvalue().splitlines()
    assert "t.wl:3:7: error: LocalResponseNormalizationLayer::valfail" in err.getvalue()

    net = ev(f"NetInitialize[{NET}, RandomSeeding -> 2]")
    text = netdsl.input_form(net)
    assert ('LocalResponseNormalizationLayer["ChannelWindowSize" -> 1, "Alpha" -> 0.5, '
            '"Beta" -> 0.75') in text
    assert ev(text) == net

    back = file_round_trip(net, tmp_path)
    x = np.random.default_rng(1).normal(size=(3, 2, 5, 5)).astype(np.float32)
    np.testing.assert_array_equal(back(x), net(x))


def test_torch_conversion_of_the_net():
    torch = pytest.importorskip("torch")
    from netdsl.torch import to_torch
    net = ev(f"NetInitialize[{NET}, RandomSeeding -> 4]")
    m = to_torch(net)
    x = np.random.default_rng(5).normal(size=(4, 2, 5, 5)).astype(np.float32)
    y = m(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(y, net(x), rtol=1e-4, atol=1e-5)
