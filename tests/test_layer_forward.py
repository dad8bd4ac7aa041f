"""Every layer's forward pass against an independent reference.

References are written in the natural batch-first layout: formulas in NumPy, or naive
loops (convolution, pooling, cross-entropy), never the layers' own helpers.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from layer_harness import build, ctx, forward, make_arrays, to_batch_first, to_batch_last

RTOL, ATOL = 1e-5, 1e-5          # float32 against a float64 reference


def close(actual, expected, rtol=RTOL, atol=ATOL):
    np.testing.assert_allclose(np.asarray(actual, np.float64), expected, rtol=rtol, atol=atol)


# ---------------------------------------------------------------- naive references
def ref_conv(x, w, b, stride, dilation, pads, groups):
    """x (N, C, S..), w (F, C/G, k..): a loop over output positions and kernel offsets."""
    n, c = x.shape[:2]
    d = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads])
    f, kernel = w.shape[0], w.shape[2:]
    cg, fg = c // groups, f // groups
    out = [(xp.shape[2 + i] - (dilation[i] * (kernel[i] - 1) + 1)) // stride[i] + 1
           for i in range(d)]
    y = np.zeros((n, f, *out))
    for o in itertools.product(*map(range, out)):
        for k in itertools.product(*map(range, kernel)):
            pos = tuple(o[i] * stride[i] + k[i] * dilation[i] for i in range(d))
            patch = xp[(slice(None), slice(None)) + pos]                     # (N, C)
            for gi in range(groups):
                wk = w[(slice(gi * fg, (gi + 1) * fg), slice(None)) + k]     # (F/G, C/G)
                y[(slice(None), slice(gi * fg, (gi + 1) * fg)) + o] += \
                    patch[:, gi * cg:(gi + 1) * cg] @ wk.T
    if b is not None:
        y += b.reshape((1, f) + (1,) * d)
    return y


def ref_pool(x, kernel, stride, pads, fn):
    n, c = x.shape[:2]
    d = x.ndim - 2
    fill = -np.inf if fn == "Max" else 0.0
    xp = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads], constant_values=fill)
    out = [(xp.shape[2 + i] - kernel[i]) // stride[i] + 1 for i in range(d)]
    y = np.zeros((n, c, *out))
    for o in itertools.product(*map(range, out)):
        window = xp[(slice(None), slice(None)) + tuple(
            slice(o[i] * stride[i], o[i] * stride[i] + kernel[i]) for i in range(d))]
        flat = window.reshape(n, c, -1)
        y[(slice(None), slice(None)) + o] = {"Max": flat.max(-1), "Total": flat.sum(-1),
                                             "Mean": flat.sum(-1) / flat.shape[-1]}[fn]
    return y


# ---------------------------------------------------------------- convolution
CONV_CASES = [
    # text, stride, dilation, pads (per spatial dim), groups, input shape (C, S..)
    ('ConvolutionLayer[4, {3, 3}, "Stride" -> 2, "PaddingSize" -> 1, "Input" -> {3, 9, 9}]',
     (2, 2), (1, 1), ((1, 1), (1, 1)), 1, (3, 9, 9)),
    ('ConvolutionLayer[5, {3, 2}, "Input" -> {2, 6, 7}]', (1, 1), (1, 1), ((0, 0), (0, 0)), 1,
     (2, 6, 7)),
    ('ConvolutionLayer[4, 3, "PaddingSize" -> "Same", "Input" -> {2, 7, 6}]', (1, 1), (1, 1),
     ((1, 1), (1, 1)), 1, (2, 7, 6)),
    ('ConvolutionLayer[3, {4, 3}, "PaddingSize" -> "Same", "Stride" -> 2, "Input" -> {2, 8, 9}]',
     (2, 2), (1, 1), ((1, 1), (1, 1)), 1, (2, 8, 9)),   # 8: out 4, total 2; 9: out 5, total 2
    ('ConvolutionLayer[3, {4, 3}, "PaddingSize" -> "Same", "Input" -> {2, 6, 5}]',
     (1, 1), (1, 1), ((1, 2), (1, 1)), 1, (2, 6, 5)),   # even kernel: the extra one after
    ('ConvolutionLayer[2, {3, 3}, "PaddingSize" -> {{0, 2}, {1, 0}}, "Input" -> {3, 6, 6}]',
     (1, 1), (1, 1), ((0, 2), (1, 0)), 1, (3, 6, 6)),
    ('ConvolutionLayer[3, {3, 3}, "Dilation" -> {2, 1}, "Stride" -> {1, 2}, "Input" -> {2, 9, 8}]',
     (1, 2), (2, 1), ((0, 0), (0, 0)), 1, (2, 9, 8)),
    ('ConvolutionLayer[4, {3, 3}, "ChannelGroups" -> 2, "PaddingSize" -> 1, "Input" -> {6, 5, 5}]',
     (1, 1), (1, 1), ((1, 1), (1, 1)), 2, (6, 5, 5)),
    ('ConvolutionLayer[6, {1, 1}, "ChannelGroups" -> 3, "Input" -> {3, 4, 4}]',
     (1, 1), (1, 1), ((0, 0), (0, 0)), 3, (3, 4, 4)),
    ('ConvolutionLayer[4, {1, 1}, "Input" -> {3, 4, 5}]', (1, 1), (1, 1), ((0, 0), (0, 0)), 1,
     (3, 4, 5)),
    ('ConvolutionLayer[2, {1, 1}, "Stride" -> 2, "Input" -> {3, 5, 5}]', (2, 2), (1, 1),
     ((0, 0), (0, 0)), 1, (3, 5, 5)),
    ('ConvolutionLayer[3, {3}, "Input" -> {2, 10}]', (1,), (1,), ((0, 0),), 1, (2, 10)),
    ('ConvolutionLayer[2, {3}, "PaddingSize" -> {{1, 2}}, "Dilation" -> 2, "Stride" -> 2, '
     '"Input" -> {2, 9}]', (2,), (2,), ((1, 2),), 1, (2, 9)),
    ('ConvolutionLayer[2, {2, 3, 2}, "Stride" -> {1, 2, 1}, "PaddingSize" -> {1, 0, 1}, '
     '"Input" -> {2, 4, 5, 3}]', (1, 2, 1), (1, 1, 1), ((1, 1), (0, 0), (1, 1)), 1, (2, 4, 5, 3)),
    ('ConvolutionLayer[4, {2, 2, 2}, "ChannelGroups" -> 2, "Input" -> {4, 3, 3, 3}]',
     (1, 1, 1), (1, 1, 1), ((0, 0),) * 3, 2, (4, 3, 3, 3)),
]


@pytest.mark.parametrize("text,stride,dilation,pads,groups,shape", CONV_CASES)
def test_convolution(text, stride, dilation, pads, groups, shape):
    layer = build(text)
    arrays = make_arrays(layer, seed=1)
    x = np.random.default_rng(2).standard_normal((3,) + shape)
    (y,) = forward(layer, arrays, x)
    w32 = {k: v.astype(np.float32).astype(np.float64) for k, v in arrays.items()}
    expected = ref_conv(x.astype(np.float32).astype(np.float64), w32["Weights"], w32["Biases"],
                        stride, dilation, pads, groups)
    assert y.shape == expected.shape
    assert y.shape[1:] == layer.ports["Output"].shape
    close(y, expected, rtol=1e-5, atol=1e-4)


def test_convolution_without_biases():
    layer = build('ConvolutionLayer[3, {2, 2}, "Biases" -> None, "Input" -> {2, 4, 4}]')
    arrays = make_arrays(layer)
    assert set(arrays) == {"Weights"}
    x = np.random.default_rng(3).standard_normal((2, 2, 4, 4))
    (y,) = forward(layer, arrays, x)
    close(y, ref_conv(x, arrays["Weights"], None, (1, 1), (1, 1), ((0, 0), (0, 0)), 1),
          atol=1e-4)


def test_convolution_keeps_float64():
    layer = build('ConvolutionLayer[2, {3, 3}, "PaddingSize" -> 1, "Input" -> {2, 4, 4}]')
    arrays = make_arrays(layer)
    x = np.random.default_rng(0).standard_normal((2, 4, 4, 3))
    for grad in (False, True):
        (y,), _ = layer.forward(ctx(grad=grad), arrays, x)
        assert y.dtype == np.float64
        expected = ref_conv(to_batch_first(x), arrays["Weights"], arrays["Biases"], (1, 1),
                            (1, 1), ((1, 1), (1, 1)), 1)
        np.testing.assert_allclose(to_batch_first(y), expected, rtol=1e-12, atol=1e-12)


def test_convolution_scratch_reuse_is_safe():
    """Forward-only passes reuse column and padding buffers through ctx.scratch."""
    layer = build('ConvolutionLayer[2, {3, 3}, "PaddingSize" -> 1, "Input" -> {2, 5, 5}]')
    arrays = {k: v.astype(np.float32) for k, v in make_arrays(layer).items()}
    c = ctx()
    rng = np.random.default_rng(0)
    xs = [rng.standard_normal((2, 5, 5, 3)).astype(np.float32) for _ in range(3)]
    first = [layer.forward(c, arrays, x)[0][0].copy() for x in xs]
    again = [layer.forward(ctx(), arrays, x)[0][0] for x in xs]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------- pooling
POOL_CASES = [
    ('PoolingLayer[2, 2, "Input" -> {3, 8, 8}]', (2, 2), (2, 2), ((0, 0), (0, 0))),
    ('PoolingLayer[{3, 3}, "Input" -> {2, 6, 5}]', (3, 3), (1, 1), ((0, 0), (0, 0))),
    ('PoolingLayer[{3, 2}, {2, 1}, "Input" -> {2, 7, 6}]', (3, 2), (2, 1), ((0, 0), (0, 0))),
    ('PoolingLayer[3, 2, "PaddingSize" -> 1, "Input" -> {2, 7, 7}]', (3, 3), (2, 2),
     ((1, 1), (1, 1))),
    ('PoolingLayer[3, "PaddingSize" -> "Same", "Input" -> {2, 5, 6}]', (3, 3), (1, 1),
     ((1, 1), (1, 1))),
    ('PoolingLayer[2, 2, "PaddingSize" -> "Same", "Input" -> {2, 5, 6}]', (2, 2), (2, 2),
     ((0, 1), (0, 0))),
    ('PoolingLayer[{2, 3}, "PaddingSize" -> {{1, 0}, {0, 2}}, "Input" -> {1, 4, 4}]', (2, 3),
     (1, 1), ((1, 0), (0, 2))),
    ('PoolingLayer[{3}, 2, "Input" -> {3, 9}]', (3,), (2,), ((0, 0),)),
    ('PoolingLayer[{2, 2, 2}, {1, 2, 1}, "Input" -> {2, 3, 4, 3}]', (2, 2, 2), (1, 2, 1),
     ((0, 0),) * 3),
]


@pytest.mark.parametrize("fn", ["Max", "Mean", "Total"])
@pytest.mark.parametrize("text,kernel,stride,pads", POOL_CASES)
def test_pooling(text, kernel, stride, pads, fn):
    layer = build(text[:-1] + f', "Function" -> {fn}]')
    shape = layer.ports["Input"].shape
    x = np.random.default_rng(4).standard_normal((3,) + shape)
    (y,) = forward(layer, {}, x)
    expected = ref_pool(x.astype(np.float32).astype(np.float64), kernel, stride, pads, fn)
    assert y.shape == expected.shape and y.shape[1:] == layer.ports["Output"].shape
    close(y, expected)


def test_mean_pooling_counts_padding():
    layer = build('PoolingLayer[3, 1, "PaddingSize" -> 1, "Function" -> Mean, '
                  '"Input" -> {1, 3, 3}]')
    (y,) = forward(layer, {}, np.ones((1, 1, 3, 3)))
    close(y[0, 0], [[4 / 9, 6 / 9, 4 / 9], [6 / 9, 1, 6 / 9], [4 / 9, 6 / 9, 4 / 9]])


def test_max_pooling_padding_never_wins():
    layer = build('PoolingLayer[2, 1, "PaddingSize" -> 1, "Input" -> {1, 2, 2}]')
    (y,) = forward(layer, {}, -np.ones((1, 1, 2, 2)) * 5)
    assert np.all(y == -5)


# ---------------------------------------------------------------- linear
@pytest.mark.parametrize("text,in_shape,out_shape", [
    ('LinearLayer[5, "Input" -> 3]', (3,), (5,)),
    ('LinearLayer[4, "Input" -> {2, 3}]', (2, 3), (4,)),
    ('LinearLayer[{2, 3}, "Input" -> 4]', (4,), (2, 3)),
    ('LinearLayer[{}, "Input" -> 3]', (3,), ()),
    ('LinearLayer[3, "Input" -> {2, 2, 2}, "Biases" -> None]', (2, 2, 2), (3,)),
])
def test_linear(text, in_shape, out_shape):
    layer = build(text)
    arrays = make_arrays(layer, seed=5)
    x = np.random.default_rng(6).standard_normal((4,) + in_shape)
    (y,) = forward(layer, arrays, x)
    expected = x.reshape(4, -1) @ arrays["Weights"].T
    if "Biases" in arrays:
        expected = expected + arrays["Biases"]
    assert y.shape == (4,) + out_shape
    close(y, expected.reshape((4,) + out_shape))


# ---------------------------------------------------------------- batch normalization
def ref_bn(x, gamma, beta, mean, var, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    return gamma.reshape(shape) * (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps) \
        + beta.reshape(shape)


FRESH = {"Scaling": [1, 1, 1], "Biases": [0, 0, 0], "MovingMean": [0, 0, 0],
         "MovingVariance": [1, 1, 1]}


def test_batchnorm_worked_example():
    """wolfram-semantics.md §3.5: batch {{1,2,3},{3,6,9}}, fresh arrays."""
    layer = build('BatchNormalizationLayer["Input" -> 3]')
    arrays = {k: np.asarray(v, np.float32) for k, v in FRESH.items()}
    x = to_batch_last(np.array([[1, 2, 3], [3, 6, 9]], np.float32))
    (y,), cache = layer.forward(ctx(train=True, grad=True), arrays, x)
    close(to_batch_first(y), [[-0.9995, -0.999875, -0.999944], [0.9995, 0.999875, 0.999944]],
          atol=2e-6)
    upd = layer.moving_updates(arrays, cache)
    assert upd["MovingMean"].dtype == np.float32 and upd["MovingVariance"].dtype == np.float32
    close(upd["MovingMean"], [0.2, 0.4, 0.6], atol=1e-6)
    close(upd["MovingVariance"], [1.0, 1.3, 1.8], atol=1e-6)
    # the same statistics come back without a gradient pass
    (_,), stats = layer.forward(ctx(train=True, grad=False), arrays, x)
    close(layer.moving_updates(arrays, stats)["MovingVariance"], [1.0, 1.3, 1.8], atol=1e-6)


def test_batchnorm_stackexchange_numbers():
    """wolfram-semantics.md §3.3 [SE]: Train and Test outputs as Wolfram printed them."""
    layer = build('BatchNormalizationLayer["Input" -> 3]')
    x = np.array([[0.90044, 0.177369, 0.356773], [0.784026, 0.446095, 0.664769]])
    (train,) = forward(layer, FRESH, x, train=True)
    close(train, [[0.878696, -0.973404, -0.979561], [-0.878696, 0.973404, 0.979561]], atol=2e-6)
    (test,) = forward(layer, FRESH, x, train=False)
    close(test, [[0.89999, 0.177281, 0.356595], [0.783635, 0.445872, 0.664437]], atol=2e-6)
    (one,) = forward(layer, FRESH, x[:1], train=True)          # a batch of one: the Biases
    close(one, [[0, 0, 0]])


@pytest.mark.parametrize("shape", [(3,), (2, 5), (3, 4, 5), (2, 3, 2, 3)])
def test_batchnorm_modes(shape):
    layer = build(f'BatchNormalizationLayer["Input" -> {{{", ".join(map(str, shape))}}}, '
                  f'"Epsilon" -> 0.01, "Momentum" -> 0.8]')
    arrays = make_arrays(layer, seed=7)
    x = np.random.default_rng(8).standard_normal((5,) + shape) * 3 + 2
    (test,) = forward(layer, arrays, x)
    a = {k: v.astype(np.float32).astype(np.float64) for k, v in arrays.items()}
    close(test, ref_bn(x, a["Scaling"], a["Biases"], a["MovingMean"], a["MovingVariance"], 0.01))
    axes = (0,) + tuple(range(2, x.ndim))
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    (train,) = forward(layer, arrays, x, train=True)
    close(train, ref_bn(x, a["Scaling"], a["Biases"], mean, var, 0.01), atol=3e-5)
    _, cache = layer.forward(ctx(train=True, grad=True),
                             {k: v.astype(np.float32) for k, v in arrays.items()},
                             to_batch_last(x.astype(np.float32)))
    upd = layer.moving_updates(arrays, cache)
    close(upd["MovingMean"], 0.8 * arrays["MovingMean"] + 0.2 * mean)
    close(upd["MovingVariance"], 0.8 * arrays["MovingVariance"] + 0.2 * var)


def test_batchnorm_large_batch_statistics_float32():
    """Long channels use the blocked float64 accumulation; an offset mean must not hurt."""
    layer = build('BatchNormalizationLayer["Input" -> {2, 30, 30}]')
    arrays = {k: np.asarray(v[:2], np.float32) for k, v in FRESH.items()}
    x = np.random.default_rng(9).standard_normal((40, 2, 30, 30)) * 0.1 + 100
    x32 = x.astype(np.float32).astype(np.float64)
    (y,) = forward(layer, arrays, x, train=True)
    axes = (0, 2, 3)
    expected = (x32 - x32.mean(axes, keepdims=True)) / np.sqrt(x32.var(axes, keepdims=True)
                                                               + 0.001)
    close(y, expected, atol=2e-4)


# ---------------------------------------------------------------- elementwise
def _erf(x):
    return np.vectorize(math.erf)(x)


ELEMENTWISE = [
    ("Ramp", lambda x: np.where(x > 0, x, 0)),
    ('"ReLU"', lambda x: np.where(x > 0, x, 0)),
    ("Tanh", np.tanh),
    ("LogisticSigmoid", lambda x: 1 / (1 + np.exp(-x))),
    ('"ELU"', lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    ('"SELU"', lambda x: np.where(x > 0, 1.0507009873554805 * x,
                                  1.758099340847161 * (np.exp(x) - 1))),
    ('"GELU"', lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2)))),
    ('"SoftPlus"', lambda x: np.log1p(np.exp(x))),
    ('"HardTanh"', lambda x: np.clip(x, -1, 1)),
    ("Max[#, 0.1 #] &", lambda x: np.where(x > 0, x, 0.1 * x)),
    ("Sin[#]^2 + 3 # &", lambda x: np.sin(x) ** 2 + 3 * x),
    ("(# - 1)/2 &", lambda x: (x - 1) / 2),
    pytest.param("Clip[#, {-0.5, 0.7}] &", lambda x: np.clip(x, -0.5, 0.7), id="Clip"),
    ("2 &", lambda x: np.full_like(x, 2.0)),
]


@pytest.mark.parametrize("f,ref", ELEMENTWISE)
@pytest.mark.parametrize("shape", [(7,), (3, 33, 40)])       # the second one > 1024 elements
def test_elementwise(f, ref, shape):
    layer = build(f'ElementwiseLayer[{f}, "Input" -> {{{", ".join(map(str, shape))}}}]')
    x = np.random.default_rng(10).standard_normal((2,) + shape) * 2
    (y,) = forward(layer, {}, x)
    close(y, ref(x.astype(np.float32).astype(np.float64)))


def test_ramp_primitive_odd_sizes():
    from netdsl.layers.functions import PRIMITIVES
    ramp = PRIMITIVES["Ramp"][0]
    for n in (1, 1023, 1024, 1025, 5000):
        x = np.random.default_rng(n).standard_normal(n).astype(np.float32)
        y = ramp(x)
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y, np.where(x > 0, x, 0))
    assert ramp(np.float64(-2.0)) == 0


# ---------------------------------------------------------------- softmax
@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 6)])
def test_softmax(shape):
    layer = build(f'SoftmaxLayer["Input" -> {{{", ".join(map(str, shape))}}}]')
    x = np.random.default_rng(11).standard_normal((3,) + shape) * 4
    (y,) = forward(layer, {}, x)
    e = np.exp(x)
    close(y, e / e.sum(axis=-1, keepdims=True))


def test_softmax_large_inputs_are_stable():
    layer = build('SoftmaxLayer["Input" -> 3]')
    (y,) = forward(layer, {}, np.array([[1000.0, 1001.0, 1002.0], [-1000.0, -1000.0, -1000.0]]))
    e = np.exp([0.0, 1.0, 2.0])
    close(y, [e / e.sum(), [1 / 3] * 3])


# ---------------------------------------------------------------- flatten, reshape
@pytest.mark.parametrize("text,out_shape", [
    ('FlattenLayer["Input" -> {2, 3, 4}]', (24,)),
    ('FlattenLayer[1, "Input" -> {2, 3, 4}]', (6, 4)),
    ('FlattenLayer[2, "Input" -> {2, 3, 4, 5}]', (24, 5)),
    ('FlattenLayer[-1, "Input" -> {2, 3, 4}]', (2, 12)),
    ('FlattenLayer["Input" -> {3}]', (3,)),
    ('ReshapeLayer[{4, 6}, "Input" -> {2, 3, 4}]', (4, 6)),
    ('ReshapeLayer[{Automatic, 2}, "Input" -> {2, 3, 4}]', (12, 2)),
    ('ReshapeLayer[{2, 2, 3}, "Input" -> 12]', (2, 2, 3)),
])
def test_flatten_reshape(text, out_shape):
    layer = build(text)
    shape = layer.ports["Input"].shape
    x = np.random.default_rng(12).standard_normal((3,) + shape)
    (y,) = forward(layer, {}, x)
    assert y.shape == (3,) + out_shape
    close(y, x.reshape((3,) + out_shape))


# ---------------------------------------------------------------- dropout
def test_dropout_test_mode_is_identity():
    layer = build('DropoutLayer[0.3, "Input" -> {4, 5}]')
    x = np.random.default_rng(13).standard_normal((2, 4, 5))
    (y,) = forward(layer, {}, x)
    close(y, x, atol=1e-7)


@pytest.mark.parametrize("p", [0.5, 0.2, 0.8])
def test_dropout_train(p):
    layer = build(f'DropoutLayer[{p}, "Input" -> {{50, 40}}]')
    x = np.random.default_rng(14).uniform(1, 2, (10, 50, 40))
    (y,) = forward(layer, {}, x, train=True, seed=3)
    x32 = x.astype(np.float32).astype(np.float64)
    dropped = y == 0
    close(y[~dropped], x32[~dropped] / (1 - p), rtol=1e-6)
    assert abs(dropped.mean() - p) < 0.02
    (again,) = forward(layer, {}, x, train=True, seed=3)
    np.testing.assert_array_equal(y, again)
    (other,) = forward(layer, {}, x, train=True, seed=4)
    assert not np.array_equal(y, other)


def test_dropout_zero_probability():
    layer = build('DropoutLayer[0, "Input" -> 3]')
    x = np.arange(6.0).reshape(2, 3)
    (y,) = forward(layer, {}, x, train=True)
    close(y, x)


# ---------------------------------------------------------------- summation, combining
@pytest.mark.parametrize("shape", [(4,), (2, 3), (2, 3, 4)])
def test_summation(shape):
    layer = build(f'SummationLayer["Input" -> {{{", ".join(map(str, shape))}}}]')
    x = np.random.default_rng(15).standard_normal((3,) + shape)
    (y,) = forward(layer, {}, x)
    assert y.shape == (3,)
    close(y, x.reshape(3, -1).sum(axis=1))


def test_catenate():
    layer = build('CatenateLayer["Input1" -> {2, 3}, "Input2" -> {4, 3}]')
    rng = np.random.default_rng(16)
    a, b = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 4, 3))
    (y,) = forward(layer, {}, a, b)
    close(y, np.concatenate([a, b], axis=1))
    three = build('CatenateLayer[]').with_input_count(3)
    c = rng.standard_normal(5 * 1 * 3).reshape(5, 1, 3)
    (y,) = forward(three, {}, a, b, c)
    close(y, np.concatenate([a, b, c], axis=1))
    vec = build('CatenateLayer[]')
    (y,) = forward(vec, {}, a[:, 0], b[:, 0])
    close(y, np.concatenate([a[:, 0], b[:, 0]], axis=1))


def test_total():
    rng = np.random.default_rng(17)
    xs = [rng.standard_normal((3, 2, 4)) for _ in range(3)]
    (y,) = forward(build('TotalLayer[]'), {}, *xs[:2])
    close(y, xs[0] + xs[1])
    (y,) = forward(build('TotalLayer[]').with_input_count(3), {}, *xs)
    close(y, xs[0] + xs[1] + xs[2])


@pytest.mark.parametrize("f,n,ref", [
    ("Times", 2, lambda a, b: a * b),
    ("Plus", 3, lambda a, b, c: a + b + c),
    ("Subtract", 2, lambda a, b: a - b),
    ("#1 - 2 #2 &", 2, lambda a, b: a - 2 * b),
    ("Max", 2, np.maximum),
    ("#1 * Tanh[#2] + #3 &", 3, lambda a, b, c: a * np.tanh(b) + c),
])
def test_threading(f, n, ref):
    layer = build(f"ThreadingLayer[{f}]")
    if layer.input_count != n:
        layer = layer.with_input_count(n)
    rng = np.random.default_rng(18)
    xs = [rng.standard_normal((3, 2, 5)) for _ in range(n)]
    (y,) = forward(layer, {}, *xs)
    close(y, ref(*[x.astype(np.float32).astype(np.float64) for x in xs]))


# ---------------------------------------------------------------- losses
@pytest.mark.parametrize("shape", [(), (4,), (2, 3)])
def test_mean_squared_loss(shape):
    spec = "" if shape == () else f'"Input" -> {{{", ".join(map(str, shape))}}}'
    layer = build(f"MeanSquaredLossLayer[{spec}]")
    rng = np.random.default_rng(19)
    x, t = rng.standard_normal((5,) + shape), rng.standard_normal((5,) + shape)
    (loss,) = forward(layer, {}, x, t)
    assert loss.shape == (5,)
    close(loss, ((x - t) ** 2).reshape(5, -1).mean(axis=1))


def test_cross_entropy_index():
    layer = build('CrossEntropyLossLayer["Index", "Input" -> 4]')
    rng = np.random.default_rng(20)
    p = rng.dirichlet(np.ones(4), 6)
    t = rng.integers(1, 5, 6)
    (loss,) = forward(layer, {}, p, t)
    close(loss, [-math.log(p[i, t[i] - 1]) for i in range(6)])


def test_cross_entropy_index_extra_dims_are_averaged():
    layer = build('CrossEntropyLossLayer["Index", "Input" -> {3, 5}]')
    rng = np.random.default_rng(21)
    p = rng.dirichlet(np.ones(5), (4, 3))
    t = rng.integers(1, 6, (4, 3))
    assert layer.ports["Target"].integer
    (loss,) = forward(layer, {}, p, t)
    expected = [np.mean([-math.log(p[i, j, t[i, j] - 1]) for j in range(3)]) for i in range(4)]
    close(loss, expected)


def test_cross_entropy_index_rejects_bad_classes():
    from netdsl.errors import EvaluationError
    layer = build('CrossEntropyLossLayer["Index", "Input" -> 3]')
    with pytest.raises(EvaluationError, match="between 1 and 3"):
        forward(layer, {}, np.full((2, 3), 1 / 3), np.array([1, 4]))


@pytest.mark.parametrize("shape", [(4,), (3, 4)])
def test_cross_entropy_probabilities(shape):
    layer = build(f'CrossEntropyLossLayer["Probabilities", "Input" -> '
                  f'{{{", ".join(map(str, shape))}}}]')
    rng = np.random.default_rng(22)
    p = rng.dirichlet(np.ones(shape[-1]), (5,) + shape[:-1])
    t = rng.dirichlet(np.ones(shape[-1]), (5,) + shape[:-1])
    (loss,) = forward(layer, {}, p, t)
    close(loss, (-(t * np.log(p)).sum(axis=-1)).reshape(5, -1).mean(axis=1))


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_cross_entropy_binary(shape):
    spec = "" if shape == () else f', "Input" -> {{{", ".join(map(str, shape))}}}'
    layer = build(f'CrossEntropyLossLayer["Binary"{spec}]')
    rng = np.random.default_rng(23)
    p, t = rng.uniform(0.01, 0.99, (4,) + shape), rng.uniform(0, 1, (4,) + shape)
    (loss,) = forward(layer, {}, p, t)
    close(loss, (-(t * np.log(p) + (1 - t) * np.log(1 - p))).reshape(4, -1).mean(axis=1))


def test_cross_entropy_clips_zero_and_one():
    for text, p, t in [
        ('CrossEntropyLossLayer["Index", "Input" -> 2]', [[0.0, 1.0]], [1]),
        ('CrossEntropyLossLayer["Probabilities", "Input" -> 2]', [[0.0, 1.0]], [[1.0, 0.0]]),
        ('CrossEntropyLossLayer["Binary", "Input" -> 2]', [[0.0, 1.0]], [[1.0, 0.0]]),
    ]:
        layer = build(text)
        (loss,) = forward(layer, {}, np.array(p), np.array(t))
        assert np.all(np.isfinite(loss)) and loss[0] > 60, (text, loss)
        xs = [to_batch_last(np.asarray(p, np.float32)),
              to_batch_last(np.asarray(t, np.int64 if "Index" in text else np.float32))]
        outs, cache = layer.forward(ctx(grad=True), {}, *xs)
        dxs, _ = layer.backward(ctx(grad=True), {}, cache, np.ones(1, np.float32))
        assert np.all(np.isfinite(dxs[0])), text
