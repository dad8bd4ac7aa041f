"""Every layer's backward pass against central finite differences in float64.

For each case the harness checks the gradient of Sum[w out] (random w) with respect to
every element of every real input and every learned array (moving statistics excluded).
"""

from __future__ import annotations

import numpy as np
import pytest

from layer_harness import build, check_gradients, ctx, make_arrays


def data(shape, seed=0, n=2, low=None, high=None):
    rng = np.random.default_rng(seed)
    full = tuple(shape) + (n,)                  # batch-last
    if low is not None:
        return rng.uniform(low, high, full)
    return rng.standard_normal(full)


def shape_of(layer, port="Input"):
    return layer.ports[port].shape


# ---------------------------------------------------------------- convolution and pooling
CONV = [
    'ConvolutionLayer[2, {3, 3}, "Stride" -> 2, "PaddingSize" -> 1, "Input" -> {3, 6, 6}]',
    'ConvolutionLayer[3, {2, 3}, "Input" -> {2, 4, 5}]',
    'ConvolutionLayer[2, {4, 3}, "PaddingSize" -> "Same", "Input" -> {2, 5, 4}]',
    'ConvolutionLayer[2, {3, 3}, "PaddingSize" -> {{0, 2}, {1, 0}}, "Dilation" -> {1, 2}, '
    '"Input" -> {2, 5, 6}]',
    'ConvolutionLayer[4, {3, 3}, "ChannelGroups" -> 2, "PaddingSize" -> 1, "Input" -> {4, 4, 4}]',
    'ConvolutionLayer[4, {1, 1}, "ChannelGroups" -> 2, "Input" -> {2, 3, 3}]',
    'ConvolutionLayer[3, {1, 1}, "Stride" -> 2, "Biases" -> None, "Input" -> {2, 5, 5}]',
    'ConvolutionLayer[2, {3}, "Stride" -> 2, "PaddingSize" -> {{2, 1}}, "Dilation" -> 2, '
    '"Input" -> {2, 9}]',
    'ConvolutionLayer[2, {2, 2, 2}, "Stride" -> {1, 2, 1}, "PaddingSize" -> {1, 0, 0}, '
    '"Input" -> {2, 3, 4, 3}]',
]


@pytest.mark.parametrize("text", CONV)
def test_convolution(text):
    layer = build(text)
    check_gradients(layer, make_arrays(layer, seed=1), [data(shape_of(layer), seed=2)])


POOL = [
    'PoolingLayer[2, 2, "Input" -> {2, 4, 4}]',
    'PoolingLayer[{3, 2}, {2, 1}, "PaddingSize" -> 1, "Input" -> {2, 5, 4}]',
    'PoolingLayer[3, "PaddingSize" -> "Same", "Input" -> {1, 4, 5}]',
    'PoolingLayer[{2, 3}, "PaddingSize" -> {{1, 0}, {0, 2}}, "Input" -> {2, 3, 4}]',
    'PoolingLayer[{3}, 2, "Input" -> {2, 7}]',
    'PoolingLayer[{2, 2, 2}, {1, 2, 1}, "Input" -> {1, 3, 4, 3}]',
]


@pytest.mark.parametrize("fn", ["Max", "Mean", "Total"])
@pytest.mark.parametrize("text", POOL)
def test_pooling(text, fn):
    layer = build(text[:-1] + f', "Function" -> {fn}]')
    check_gradients(layer, {}, [data(shape_of(layer), seed=3)])


def test_max_pooling_ties_go_to_the_first_element():
    layer = build('PoolingLayer[2, 1, "Input" -> {1, 2, 3}]')
    x = np.ones((1, 2, 3, 1))                      # every window is a tie
    (y,), cache = layer.forward(ctx(grad=True), {}, x)
    (dx,), _ = layer.backward(ctx(grad=True), {}, cache, np.ones_like(y))
    # windows start at (0,0) and (0,1): each gives its gradient to its first element only
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 1, 0], [0, 0, 0]])
    assert dx.sum() == y.size


# ---------------------------------------------------------------- linear, batch normalization
@pytest.mark.parametrize("text", [
    'LinearLayer[3, "Input" -> 4]',
    'LinearLayer[{2, 2}, "Input" -> {2, 3}]',
    'LinearLayer[{}, "Input" -> 3]',
    'LinearLayer[2, "Input" -> 3, "Biases" -> None]',
])
def test_linear(text):
    layer = build(text)
    check_gradients(layer, make_arrays(layer, seed=4), [data(shape_of(layer), seed=5, n=3)])


@pytest.mark.parametrize("train", [True, False], ids=["Train", "Test"])
@pytest.mark.parametrize("shape,n", [((3,), 4), ((2, 3), 3), ((2, 2, 3), 2), ((3, 20, 30), 2)])
def test_batchnorm(shape, n, train):
    layer = build(f'BatchNormalizationLayer["Input" -> {{{", ".join(map(str, shape))}}}]')
    arrays = make_arrays(layer, seed=6)
    x = data(shape, seed=7, n=n) * 2 + 1
    if np.prod(shape) * n > 200:        # too many elements for a full check: spot-check
        _spot_check_batchnorm(layer, arrays, x, train)
        return
    check_gradients(layer, arrays, [x], train=train)


def _spot_check_batchnorm(layer, arrays, x, train, h=1e-6, count=20):
    arrays = {k: v.astype(np.float64) for k, v in arrays.items()}
    (y,), cache = layer.forward(ctx(train, True), arrays, x)
    w = np.random.default_rng(0).standard_normal(y.shape)
    (dx,), darr = layer.backward(ctx(train, True), arrays, cache, w)

    def loss(xx, aa):
        return float(np.sum(layer.forward(ctx(train, False), aa, xx)[0][0] * w))

    rng = np.random.default_rng(1)
    for _ in range(count):
        i = tuple(rng.integers(0, s) for s in x.shape)
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        num = (loss(up, arrays) - loss(down, arrays)) / (2 * h)
        assert abs(num - dx[i]) < 1e-5 * max(1.0, abs(num)), (i, num, dx[i])
    for name in ("Scaling", "Biases"):
        for c in range(arrays[name].size):
            up, down = dict(arrays), dict(arrays)
            up[name] = arrays[name].copy()
            up[name][c] += h
            down[name] = arrays[name].copy()
            down[name][c] -= h
            num = (loss(x, up) - loss(x, down)) / (2 * h)
            assert abs(num - darr[name][c]) < 1e-5 * max(1.0, abs(num)), (name, c)


def test_batchnorm_float32_blocked_gradients_match_float64():
    """The float32 path (blocked statistics) agrees with the float64 one."""
    layer = build('BatchNormalizationLayer["Input" -> {4, 16, 16}]')
    arrays = make_arrays(layer, seed=8)
    x = data((4, 16, 16), seed=9, n=8) * 3 + 5
    w = np.random.default_rng(2).standard_normal(x.shape)
    results = []
    for dt in (np.float64, np.float32):
        a = {k: v.astype(dt) for k, v in arrays.items()}
        (y,), cache = layer.forward(ctx(True, True), a, x.astype(dt))
        (dx,), darr = layer.backward(ctx(True, True), a, cache, w.astype(dt))
        assert y.dtype == dt and dx.dtype == dt
        results.append((y, dx, darr, layer.moving_updates(a, cache)))
    (y64, dx64, d64, m64), (y32, dx32, d32, m32) = results
    np.testing.assert_allclose(y32, y64, atol=2e-5)
    np.testing.assert_allclose(dx32, dx64, atol=2e-5 * np.abs(dx64).max())
    for k in ("Scaling", "Biases"):
        np.testing.assert_allclose(d32[k], d64[k], rtol=1e-4, atol=1e-3)
    for k in ("MovingMean", "MovingVariance"):
        np.testing.assert_allclose(m32[k], m64[k], rtol=1e-5)


# ---------------------------------------------------------------- elementwise, softmax, shapes
@pytest.mark.parametrize("f", ["Ramp", "Tanh", "LogisticSigmoid", '"ELU"', '"SELU"', '"GELU"',
                               '"Swish"', '"SoftPlus"', "Max[#, 0.1 #] &", "Sin[#]^2 + 3 # &",
                               "Exp[-#^2] / 2 &", "2 &"])
def test_elementwise(f):
    layer = build(f'ElementwiseLayer[{f}, "Input" -> {{3, 4}}]')
    check_gradients(layer, {}, [data((3, 4), seed=10)])


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 2, 3)])
def test_softmax(shape):
    layer = build(f'SoftmaxLayer["Input" -> {{{", ".join(map(str, shape))}}}]')
    check_gradients(layer, {}, [data(shape, seed=11, n=3)])


@pytest.mark.parametrize("text", [
    'FlattenLayer["Input" -> {2, 3, 2}]',
    'FlattenLayer[-1, "Input" -> {2, 3, 2}]',
    'ReshapeLayer[{Automatic, 3}, "Input" -> {2, 3, 2}]',
    'SummationLayer["Input" -> {2, 3}]',
])
def test_shape_layers(text):
    layer = build(text)
    check_gradients(layer, {}, [data(shape_of(layer), seed=12)])


@pytest.mark.parametrize("train", [True, False], ids=["Train", "Test"])
@pytest.mark.parametrize("p", [0.5, 0.25])
def test_dropout(p, train):
    layer = build(f'DropoutLayer[{p}, "Input" -> {{4, 5}}]')
    check_gradients(layer, {}, [data((4, 5), seed=13, n=3)], train=train, seed=42)


# ---------------------------------------------------------------- several inputs
def test_catenate():
    layer = build('CatenateLayer["Input1" -> {2, 3}, "Input2" -> {1, 3}]')
    check_gradients(layer, {}, [data((2, 3), seed=14), data((1, 3), seed=15)])
    three = build('CatenateLayer[]').with_input_count(3)
    check_gradients(three, {}, [data((2,), seed=16), data((3,), seed=17), data((1,), seed=18)])


@pytest.mark.parametrize("n", [2, 3])
def test_total(n):
    layer = build('TotalLayer[]')
    if n != 2:
        layer = layer.with_input_count(n)
    check_gradients(layer, {}, [data((2, 3), seed=19 + i) for i in range(n)])


@pytest.mark.parametrize("f,n", [("Times", 2), ("Plus", 3), ("Subtract", 2), ("Divide", 2),
                                 ("#1 * Tanh[#2] - #3^2 &", 3), ("Max", 2)])
def test_threading(f, n):
    layer = build(f"ThreadingLayer[{f}]")
    if layer.input_count != n:
        layer = layer.with_input_count(n)
    xs = [data((3, 2), seed=30 + i) for i in range(n)]
    if f == "Divide":
        xs[1] = np.abs(xs[1]) + 0.5
    check_gradients(layer, {}, xs)


# ---------------------------------------------------------------- losses
@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_mean_squared_loss(shape):
    spec = "" if shape == () else f'"Input" -> {{{", ".join(map(str, shape))}}}'
    layer = build(f"MeanSquaredLossLayer[{spec}]")
    check_gradients(layer, {}, [data(shape, seed=40, n=3), data(shape, seed=41, n=3)])


@pytest.mark.parametrize("shape", [(4,), (2, 3)])
def test_cross_entropy_index(shape):
    layer = build(f'CrossEntropyLossLayer["Index", "Input" -> {{{", ".join(map(str, shape))}}}]')
    p = data(shape, seed=42, n=3, low=0.05, high=0.95)
    t = np.random.default_rng(43).integers(1, shape[-1] + 1, shape[:-1] + (3,)).astype(np.int64)
    check_gradients(layer, {}, [p, t])
    (_,), cache = layer.forward(ctx(grad=True), {}, p, t)
    dxs, _ = layer.backward(ctx(grad=True), {}, cache, np.ones(3))
    assert dxs[1] is None


@pytest.mark.parametrize("shape", [(4,), (2, 3)])
def test_cross_entropy_probabilities(shape):
    layer = build(f'CrossEntropyLossLayer["Probabilities", "Input" -> '
                  f'{{{", ".join(map(str, shape))}}}]')
    check_gradients(layer, {}, [data(shape, seed=44, n=3, low=0.05, high=0.95),
                                data(shape, seed=45, n=3, low=0.0, high=1.0)])


@pytest.mark.parametrize("shape", [(), (3,), (2, 3)])
def test_cross_entropy_binary(shape):
    spec = "" if shape == () else f', "Input" -> {{{", ".join(map(str, shape))}}}'
    layer = build(f'CrossEntropyLossLayer["Binary"{spec}]')
    check_gradients(layer, {}, [data(shape, seed=46, n=3, low=0.05, high=0.95),
                                data(shape, seed=47, n=3, low=0.0, high=1.0)])


# ---------------------------------------------------------------- dtypes
@pytest.mark.parametrize("text,train", [
    ('ConvolutionLayer[4, {3, 3}, "ChannelGroups" -> 2, "PaddingSize" -> 1, "Input" -> {2, 5, 5}]',
     False),
    ('PoolingLayer[2, 1, "PaddingSize" -> 1, "Input" -> {2, 4, 4}]', False),
    ('PoolingLayer[2, 1, "Function" -> Mean, "Input" -> {2, 4, 4}]', False),
    ('LinearLayer[3, "Input" -> {2, 2}]', False),
    ('BatchNormalizationLayer["Input" -> {2, 40, 40}]', True),
    ('BatchNormalizationLayer["Input" -> {2, 3}]', False),
    ('ElementwiseLayer["HardSigmoid", "Input" -> {40, 40}]', False),
    ('ElementwiseLayer[Max[#, 0.1 #] &, "Input" -> 4]', False),
    ('SoftmaxLayer["Input" -> {2, 3}]', False),
    ('DropoutLayer["Input" -> 5]', True),
    ('SummationLayer["Input" -> {2, 3}]', False),
    ('FlattenLayer["Input" -> {2, 3}]', False),
])
def test_float32_stays_float32(text, train):
    layer = build(text)
    arrays = make_arrays(layer, dtype=np.float32)
    x = data(shape_of(layer), n=4).astype(np.float32)
    (y,), cache = layer.forward(ctx(train, True), arrays, x)
    assert y.dtype == np.float32 and y.flags.c_contiguous
    (dx,), darr = layer.backward(ctx(train, True), arrays, cache, np.ones_like(y))
    assert dx.dtype == np.float32 and dx.shape == x.shape and dx.flags.c_contiguous
    for name, g in darr.items():
        assert g.dtype == np.float32 and g.shape == arrays[name].shape, name


def test_losses_float32_stay_float32():
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.9, (3, 4)).astype(np.float32)
    cases = [('MeanSquaredLossLayer["Input" -> 3]', p),
             ('CrossEntropyLossLayer["Index", "Input" -> 3]', np.array([1, 3, 2, 2], np.int64)),
             ('CrossEntropyLossLayer["Probabilities", "Input" -> 3]', p),
             ('CrossEntropyLossLayer["Binary", "Input" -> 3]', p)]
    for text, t in cases:
        layer = build(text)
        (loss,), cache = layer.forward(ctx(grad=True), {}, p, t)
        assert loss.dtype == np.float32 and loss.shape == (4,), text
        dxs, _ = layer.backward(ctx(grad=True), {}, cache, np.ones(4, np.float32))
        assert dxs[0].dtype == np.float32 and dxs[0].shape == p.shape, text


@pytest.mark.parametrize("text,train", [
    ('ConvolutionLayer[3, {3, 3}, "PaddingSize" -> 1, "Input" -> {2, 4, 4}]', False),
    ('LinearLayer[3, "Input" -> 4]', False),
    ('BatchNormalizationLayer["Input" -> {2, 3}]', True),
    ('BatchNormalizationLayer["Input" -> {2, 3}]', False),
    ('PoolingLayer[2, "Input" -> {2, 3, 3}]', False),
    ('ElementwiseLayer[Tanh, "Input" -> 3]', False),
])
def test_input_gradient_can_be_skipped(text, train):
    """ctx.need_dx False (the net's own inputs): no input gradient, the same array gradients."""
    layer = build(text)
    arrays = make_arrays(layer)
    x = data(shape_of(layer), n=3)
    (y,), cache = layer.forward(ctx(train, True), arrays, x)
    dy = np.random.default_rng(5).standard_normal(y.shape)
    (dx,), full = layer.backward(ctx(train, True), arrays, cache, dy)
    c = ctx(train, True)
    c.need_dx = False
    (none,), part = layer.backward(c, arrays, cache, dy)
    assert dx is not None and none is None
    assert full.keys() == part.keys()
    for k in full:
        np.testing.assert_array_equal(full[k], part[k])
