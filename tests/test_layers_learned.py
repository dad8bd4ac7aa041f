"""DeconvolutionLayer, NormalizationLayer, EmbeddingLayer, DotLayer, ParametricRampLayer and
ResizeLayer: forward against naive references written here, backward against float64
central differences, shapes both ways (sizes from Wolfram's formulas and layer tests)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

import netdsl
from netdsl.errors import NetDSLError
from netdsl import EvaluationError, ShapeError
from layer_harness import build, check_gradients, ctx, forward, make_arrays


def data(shape, seed=0, n=2):
    return np.random.default_rng(seed).standard_normal((n,) + tuple(shape))


def batch_last(x):
    return np.ascontiguousarray(np.moveaxis(x, 0, -1))


def grad_check(text, seed=0, **kw):
    layer = build(text)
    xs = [batch_last(data(layer.ports[p].shape, seed + i))
          for i, p in enumerate(layer.port_names()[0])]
    check_gradients(layer, make_arrays(layer, seed=5), xs, **kw)


def shape(text, port="Output"):
    return netdsl.evaluate(text).ports[port].shape


# ---------------------------------------------------------------- DeconvolutionLayer
def ref_deconv(x, w, b, stride, pads, groups=1):
    """Scatter form: input (n, c, i..) adds w[c, f, k..] * x into output position
    i*stride + k - before; positions outside the cropped output are dropped."""
    n, c = x.shape[:2]
    fg, kernel = w.shape[1], w.shape[2:]
    f = fg * groups
    d = len(kernel)
    out = [stride[i] * (x.shape[2 + i] - 1) + kernel[i] - sum(pads[i]) for i in range(d)]
    y = np.zeros((n, f, *out))
    cg = c // groups
    for i in itertools.product(*map(range, x.shape[2:])):
        for k in itertools.product(*map(range, kernel)):
            o = tuple(i[a] * stride[a] + k[a] - pads[a][0] for a in range(d))
            if not all(0 <= o[a] < out[a] for a in range(d)):
                continue
            for ci in range(c):
                gi = ci // cg
                y[(slice(None), slice(gi * fg, (gi + 1) * fg)) + o] += \
                    x[(slice(None), ci) + i][:, None] * w[(ci, slice(None)) + k][None, :]
    if b is not None:
        y += b.reshape((1, f) + (1,) * d)
    return y


DECONV = [
    # text, stride, pads, groups, input shape
    ('DeconvolutionLayer[3, 2, "Stride" -> 2, "Input" -> {2, 3, 4}]', (2, 2), ((0, 0), (0, 0)),
     1, (2, 3, 4)),
    ('DeconvolutionLayer[2, {3, 3}, "PaddingSize" -> 1, "Input" -> {3, 4, 4}]', (1, 1),
     ((1, 1), (1, 1)), 1, (3, 4, 4)),
    ('DeconvolutionLayer[2, {3, 2}, "Stride" -> {2, 1}, "PaddingSize" -> {{1, 0}, {0, 1}}, '
     '"Input" -> {2, 3, 3}]', (2, 1), ((1, 0), (0, 1)), 1, (2, 3, 3)),
    ('DeconvolutionLayer[4, {3}, "Stride" -> 3, "ChannelGroups" -> 2, "Input" -> {2, 4}]', (3,),
     ((0, 0),), 2, (2, 4)),
    ('DeconvolutionLayer[2, {2, 2, 2}, "Stride" -> 2, "Biases" -> None, "Input" -> {1, 2, 2, 2}]',
     (2, 2, 2), ((0, 0),) * 3, 1, (1, 2, 2, 2)),
    # stride = kernel without padding (the untiling path): odd sizes, unequal kernels, 1x1
    ('DeconvolutionLayer[3, {2, 3}, "Stride" -> {2, 3}, "Input" -> {2, 5, 3}]', (2, 3),
     ((0, 0), (0, 0)), 1, (2, 5, 3)),
    ('DeconvolutionLayer[2, {2, 2}, "Stride" -> 2, "Input" -> {3, 1, 1}]', (2, 2),
     ((0, 0), (0, 0)), 1, (3, 1, 1)),
    ('DeconvolutionLayer[2, {2, 2}, "Stride" -> 2, "PaddingSize" -> {{1, 0}, {0, 1}}, '
     '"Input" -> {3, 3, 2}]', (2, 2), ((1, 0), (0, 1)), 1, (3, 3, 2)),
]


@pytest.mark.parametrize("text,stride,pads,groups,xshape", DECONV)
def test_deconvolution_forward(text, stride, pads, groups, xshape):
    layer = build(text)
    arrays = make_arrays(layer, seed=1)
    x = data(xshape, seed=2)
    (y,) = forward(layer, arrays, x)
    ref = ref_deconv(x, arrays["Weights"], arrays.get("Biases"), stride, pads, groups)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case", DECONV)
def test_deconvolution_backward(case):
    grad_check(case[0])


def test_deconvolution_shapes_and_arrays():
    # Wolfram: Stride (n - 1) + k - padding; weights {in, out/groups, k..}
    layer = netdsl.evaluate('DeconvolutionLayer[16, {4, 4}, "Stride" -> 2, "PaddingSize" -> 1, '
                            '"Input" -> {8, 7, 7}]')
    assert layer.ports["Output"].shape == (16, 2 * 6 + 4 - 2, 2 * 6 + 4 - 2)
    assert layer.array_shapes() == {"Weights": (8, 16, 4, 4), "Biases": (16,)}
    layer = netdsl.evaluate('DeconvolutionLayer[6, 3, "ChannelGroups" -> 3, "Input" -> {3, 5}]')
    assert layer.array_shapes()["Weights"] == (3, 2, 3)
    assert shape('DeconvolutionLayer[4, 3, "Stride" -> 2, "Output" -> {4, 9, 9}]', "Input") \
        == (None, 4, 4)
    with pytest.raises(ShapeError, match="smaller than 1"):
        netdsl.evaluate('DeconvolutionLayer[2, 2, "PaddingSize" -> 2, "Input" -> {1, 1}]')
    with pytest.raises(ShapeError, match="divisible"):
        netdsl.evaluate('DeconvolutionLayer[3, 2, "ChannelGroups" -> 2, "Input" -> {2, 3}]')


# ---------------------------------------------------------------- NormalizationLayer
def ref_norm(x, agg_axes, scale, bias, eps, bshape):
    y = np.empty_like(x)
    for i in range(x.shape[0]):
        xi = x[i]
        m = xi.mean(axis=agg_axes, keepdims=True)
        v = ((xi - m) ** 2).mean(axis=agg_axes, keepdims=True)
        yi = (xi - m) / np.sqrt(v + eps)
        if scale is not None:
            yi = yi * scale.reshape(bshape)
        if bias is not None:
            yi = yi + bias.reshape(bshape)
        y[i] = yi
    return y


@pytest.mark.parametrize("text,xshape,agg,bshape", [
    ('NormalizationLayer["Input" -> {3, 4, 5}]', (3, 4, 5), (1, 2), (3, 1, 1)),   # instance
    ('NormalizationLayer[All, "Input" -> {6}]', (6,), (0,), ()),                   # layer norm
    ('NormalizationLayer[2 ;; All, "Same", "Input" -> {3, 5}]', (3, 5), (1,), (1, 5)),
    ('NormalizationLayer[-1, "Same", "Epsilon" -> 0.1, "Input" -> {2, 4}]', (2, 4), (1,),
     (1, 4)),
    ('NormalizationLayer[{1, 3}, "Input" -> {2, 3, 4}]', (2, 3, 4), (0, 2), (1, 3, 1)),
])
def test_normalization_forward(text, xshape, agg, bshape):
    layer = build(text)
    arrays = make_arrays(layer, seed=3)
    x = data(xshape, seed=4)
    (y,) = forward(layer, arrays, x)
    eps = layer.values["Epsilon"]
    ref = ref_norm(x, agg, arrays["Scaling"], arrays["Biases"], eps, bshape)
    np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("text", [
    'NormalizationLayer["Input" -> {2, 3, 2}]',
    'NormalizationLayer[All, "Input" -> {5}]',
    'NormalizationLayer[-1, "Same", "Input" -> {2, 4}]',
    'NormalizationLayer[1, "Scaling" -> None, "Biases" -> None, "Input" -> {3, 2}]',
])
def test_normalization_backward(text):
    grad_check(text, tol=1e-4)


def test_normalization_shapes():
    layer = netdsl.evaluate('NormalizationLayer["Input" -> {3, 5, 5}]')
    assert layer.array_shapes() == {"Scaling": (3,), "Biases": (3,)}
    layer = netdsl.evaluate('NormalizationLayer[2 ;; All, "Same", "Input" -> {3, 50}]')
    assert layer.array_shapes() == {"Scaling": (50,), "Biases": (50,)}
    with pytest.raises(ShapeError, match="exceeds rank"):
        netdsl.evaluate('NormalizationLayer["Input" -> {3}]')
    with pytest.raises(EvaluationError):
        netdsl.evaluate("NormalizationLayer[0]")


# ---------------------------------------------------------------- EmbeddingLayer
def test_embedding_forward_backward_and_shapes():
    layer = build('EmbeddingLayer[3, 5, "Input" -> 4]')
    assert layer.ports["Input"].integer and layer.ports["Input"].classes == 5
    assert layer.ports["Output"].shape == (4, 3)
    w = np.arange(15.0).reshape(5, 3)
    idx = np.array([[1, 5, 2, 2], [3, 3, 4, 1]])
    (y,) = forward(layer, {"Weights": w}, idx)
    np.testing.assert_allclose(y, w[idx - 1])
    # backward: each row's gradient is the sum of dy over the positions holding its index
    c = ctx(grad=True)
    x = batch_last(idx)
    (y,), cache = layer.forward(c, {"Weights": w}, x)
    dy = np.random.default_rng(0).standard_normal(y.shape)
    (dx,), grads = layer.backward(c, {"Weights": w}, cache, dy)
    expected = np.zeros((5, 3))
    dyf = np.moveaxis(dy, -1, 0)                       # (N, 4, 3)
    for n in range(2):
        for p in range(4):
            expected[idx[n, p] - 1] += dyf[n, p]
    assert dx is None
    np.testing.assert_allclose(grads["Weights"], expected)
    assert netdsl.evaluate('EmbeddingLayer[3, "Input" -> Restricted["Integer", 7]]') \
        .array_shapes() == {"Weights": (7, 3)}


def test_embedding_in_a_net():
    net = netdsl.evaluate('NetInitialize[NetChain[{EmbeddingLayer[2, 4, "Input" -> 3], FlattenLayer[], '
                          'LinearLayer[1]}]]')
    y = net(np.array([[1, 2, 4], [4, 4, 4]]))
    assert np.asarray(y).shape == (2, 1)
    with pytest.raises(EvaluationError, match="between 1 and 4"):
        net(np.array([[1, 2, 5]]))


# ---------------------------------------------------------------- DotLayer
@pytest.mark.parametrize("a,b", [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (3, 4)),
                                 ((2, 2, 3), (3, 2))])
def test_dot_forward_and_backward(a, b):
    text = (f'DotLayer["Input1" -> {{{", ".join(map(str, a))}}}, '
            f'"Input2" -> {{{", ".join(map(str, b))}}}]')
    layer = build(text)
    xa, xb = data(a, 1), data(b, 2)
    (y,) = forward(layer, {}, xa, xb)
    ref = np.stack([np.tensordot(xa[i], xb[i], axes=1) for i in range(2)])
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    grad_check(text)


def test_dot_shapes():
    assert shape('DotLayer["Input1" -> {2, 3}, "Input2" -> {3, 4}]') == (2, 4)
    assert shape('DotLayer["Input1" -> 3, "Input2" -> 3]') == ()
    with pytest.raises(ShapeError, match="cannot take dot product"):
        netdsl.evaluate('DotLayer["Input1" -> {2, 3}, "Input2" -> {4}]')


# ---------------------------------------------------------------- ParametricRampLayer
def test_parametric_ramp():
    layer = build('ParametricRampLayer["Input" -> {4}]')
    assert layer.array_shapes() == {"Slope": (4,)}
    slope = np.array([0.1, 0.2, 0.3, 0.4])
    x = data((4,))
    (y,) = forward(layer, {"Slope": slope}, x)
    ref = np.array([[v if v >= 0 else s * v for v, s in zip(row, slope)] for row in x])
    np.testing.assert_allclose(y, ref, rtol=1e-6)
    grad_check('ParametricRampLayer["Input" -> {2, 3}]')


def test_parametric_ramp_levels_and_default_slope():
    """Wolfram's page: one slope per position of the levels given ({1} by default: per
    channel, shared over the rest), {} one slope, "Slope" -> 0.25; it starts at 0.1."""
    layer = build('ParametricRampLayer["Input" -> {2, 3}]')
    assert layer.array_shapes() == {"Slope": (2,)}
    slope = np.array([0.5, 2.0])
    x = data((2, 3))
    (y,) = forward(layer, {"Slope": slope}, x)
    ref = np.array([[[v if v >= 0 else slope[c] * v for v in row] for c, row in enumerate(ex)]
                    for ex in x])
    np.testing.assert_allclose(y, ref, rtol=1e-6)
    grad_check('ParametricRampLayer["Input" -> {2, 3, 2}]')
    grad_check('ParametricRampLayer[{2, 3}, "Input" -> {2, 3, 2}]')
    grad_check('ParametricRampLayer[{}, "Input" -> {2, 3}]')
    grad_check('ParametricRampLayer["Input" -> "Real"]')     # a number per example
    assert build('ParametricRampLayer[{2}, "Input" -> {"Varying", 3}]').array_shapes() == \
        {"Slope": (3,)}
    one = netdsl.evaluate('ParametricRampLayer[{}, "Slope" -> 0.25]')
    np.testing.assert_allclose(one(np.float32([-1.0, 2.0])), [-0.25, 2.0])
    init = netdsl.evaluate('NetInitialize@ParametricRampLayer["Input" -> 3]')
    np.testing.assert_allclose(init(np.float32([-1, -2, 3])), [-0.1, -0.2, 3.0], rtol=1e-6)
    with pytest.raises(NetDSLError, match='"Varying" level'):
        netdsl.evaluate('ParametricRampLayer["Input" -> {"Varying", 3}]')
    scalar = netdsl.evaluate('NetInitialize@NetArrayLayer["Output" -> "Real"]')
    assert np.shape(scalar.arrays["Array"]) == ()        # a rank-0 array initialises


# ---------------------------------------------------------------- ResizeLayer
def ref_linear_1d(v, m):
    """Corner-aligned linear interpolation, written per output position."""
    n = len(v)
    out = np.empty(m)
    for o in range(m):
        p = o * (n - 1) / (m - 1)
        lo = min(int(math.floor(p)), n - 1)
        hi = min(lo + 1, n - 1)
        out[o] = v[lo] * (1 - (p - lo)) + v[hi] * (p - lo)
    return out


def test_resize_linear_forward():
    layer = build('ResizeLayer[{5, 7}, "Input" -> {2, 3, 4}]')
    x = data((2, 3, 4))
    (y,) = forward(layer, {}, x)
    ref = np.empty((2, 2, 5, 7))
    for n in range(2):
        for c in range(2):
            rows = np.stack([ref_linear_1d(x[n, c, i], 7) for i in range(3)])     # (3, 7)
            ref[n, c] = np.stack([ref_linear_1d(rows[:, j], 5) for j in range(7)], axis=1)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)


def test_resize_nearest_forward():
    layer = build('ResizeLayer[{Scaled[2], Scaled[3]}, "Resampling" -> "Nearest", '
                  '"Input" -> {2, 3, 2}]')
    x = data((2, 3, 2))
    (y,) = forward(layer, {}, x)
    np.testing.assert_allclose(y, np.repeat(np.repeat(x, 2, axis=2), 3, axis=3), rtol=1e-6)


@pytest.mark.parametrize("text", [
    'ResizeLayer[{5, 3}, "Input" -> {2, 3, 4}]',
    'ResizeLayer[{Scaled[2]}, "Resampling" -> "Nearest", "Input" -> {2, 3}]',
    'ResizeLayer[{All, Scaled[1.5]}, "Input" -> {1, 2, 4}]',
])
def test_resize_backward(text):
    grad_check(text)


def test_resize_shapes():
    assert shape('ResizeLayer[{Scaled[2], Scaled[2]}, "Input" -> {3, 4, 5}]') == (3, 8, 10)
    assert shape('ResizeLayer[{All, Scaled[0.5]}, "Input" -> {3, 4, 5}]') == (3, 4, 3)
    assert shape('ResizeLayer[{10, 12}, "Input" -> {3, 4, 5}]') == (3, 10, 12)
    with pytest.raises(ShapeError, match="not supported"):
        netdsl.evaluate('ResizeLayer[{1, 5}, "Input" -> {3, 4, 5}]')
    with pytest.raises(EvaluationError, match="Nearest"):
        netdsl.evaluate('ResizeLayer[{10, 12}, "Resampling" -> "Nearest"]')


def test_reference_page_forms_of_embedding_and_attention():
    """EmbeddingLayer[3, 10] initialises alone (its array is known) and keeps an encoder on
    its input; AttentionLayer's bilinear weights are at Wolfram's path {"ScoringNet",
    "Linear", "Weights"}."""
    e = netdsl.evaluate("NetInitialize@EmbeddingLayer[3, 10]")
    w = e.arrays["Weights"]
    np.testing.assert_array_equal(e(np.array([1, 10])), w[[0, 9]])
    u = netdsl.evaluate('NetInitialize@EmbeddingLayer[2, "Input" -> NetEncoder[{"Class", '
                        '{"a", "b"}}]]')
    np.testing.assert_array_equal(u(["b"]), u.arrays["Weights"][[1]])
    s = netdsl.Session()
    s.evaluate('a = NetInitialize@AttentionLayer["Key" -> {4, 3}, "Value" -> {4, 2}, '
               '"Query" -> {5, 6}]')
    np.testing.assert_array_equal(
        s.evaluate('NetExtract[a, {"ScoringNet", "Linear", "Weights"}]'),
        s.evaluate('NetExtract[a, "Weights"]'))


def test_options_of_a_layer_type():
    rules = netdsl.evaluate("Options[LinearLayer]")
    names = [r.args[0] for r in rules.args]
    assert "Weights" in names and "Biases" in names and "LearningRateMultipliers" in names
    # a type that needs arguments: its declared options with their defaults (Wolfram's)
    assert netdsl.printer.input_form(netdsl.evaluate("Options[PartLayer]")) == \
        '{"Input" -> Automatic, "Output" -> Automatic}'
    conv = {netdsl.printer.input_form(r.args[0]): netdsl.printer.input_form(r.args[1])
            for r in netdsl.evaluate("Options[ConvolutionLayer]").args}
    assert conv == {'"Biases"': "Automatic", '"ChannelGroups"': "1", '"Dilation"': "1",
                    '"Dimensionality"': "Automatic", '"Input"': "Automatic",
                    '"Interleaving"': "False", '"LearningRateMultipliers"': "Automatic",
                    '"Output"': "Automatic", '"PaddingSize"': "0", '"Stride"': "1",
                    '"Weights"': "Automatic"}


def test_net_array_forms():
    """NetArray[] names a shared array itself (a UUID, from the session's generator);
    NetExtract[net, NetArray[All]] gives every shared array."""
    s = netdsl.Session()
    s.evaluate('SeedRandom[1]; a = NetArray[]; net = NetInitialize@NetChain[{LinearLayer[2, '
               '"Weights" -> a], LinearLayer[2, "Weights" -> a]}, "Input" -> 2]')
    name = s.evaluate("First[a]")
    assert len(name) == 36 and name.count("-") == 4
    shared = s.evaluate("NetExtract[net, NetArray[All]]")
    assert len(shared) == 1
    np.testing.assert_array_equal(shared.values()[0], s.evaluate("net").shared[name])
