"""Test-mode convolution + max pooling (+ bias + monotone activation) as one step
(layers/conv.ConvPoolThenBias), on the path for larger inputs: one GEMM per pooling
offset over columns read from the input at that offset (windows.im2col with ``start``),
against naive loops written here, for shapes other than LeNet's."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import netdsl
from netdsl.layers import conv as conv_module
from netdsl.layers import windows
from netdsl.layers.windows import Geometry, geometry, im2col, strided_view
from netdsl.runtime.plan import compile_plan


def naive_conv(x, w, b, stride, dilation, pads):
    """(F, O.., N) = sum over c and kernel offsets of w * zero-padded x, plus b."""
    d = x.ndim - 2
    xp = np.pad(x.astype(np.float64), [(0, 0)] + list(pads) + [(0, 0)])
    kernel = w.shape[2:]
    out = tuple((xp.shape[1 + i] - dilation[i] * (kernel[i] - 1) - 1) // stride[i] + 1
                for i in range(d))
    y = np.zeros((w.shape[0],) + out + (x.shape[-1],))
    for o in itertools.product(*map(range, out)):
        for k in itertools.product(*map(range, kernel)):
            at = tuple(o[i] * stride[i] + k[i] * dilation[i] for i in range(d))
            y[(slice(None),) + o] += np.einsum("fc,cn->fn", w[(slice(None), slice(None)) + k],
                                               xp[(slice(None),) + at])
    if b is not None:
        y += b.reshape((-1,) + (1,) * (d + 1))
    return y


def naive_max_pool(y, kernel, stride):
    d = y.ndim - 2
    out = tuple((y.shape[1 + i] - kernel[i]) // stride[i] + 1 for i in range(d))
    z = np.full((y.shape[0],) + out + (y.shape[-1],), -np.inf)
    for o in itertools.product(*map(range, out)):
        for k in itertools.product(*map(range, kernel)):
            at = tuple(o[i] * stride[i] + k[i] for i in range(d))
            z[(slice(None),) + o] = np.maximum(z[(slice(None),) + o], y[(slice(None),) + at])
    return z


CASES = [
    # input, convolution, pooling (kernel = stride, no padding: the per-offset path)
    ("{3, 14, 12}", 'ConvolutionLayer[5, {3, 3}]', "PoolingLayer[{2, 2}, {2, 2}]"),
    ("{2, 11, 13}", 'ConvolutionLayer[4, {2, 3}, "PaddingSize" -> 1]',
     "PoolingLayer[{3, 2}, {3, 2}]"),
    ("{1, 17, 15}", 'ConvolutionLayer[6, {3, 3}, "Stride" -> 2]', "PoolingLayer[{2, 2}, {2, 2}]"),
    ("{2, 16, 16}", 'ConvolutionLayer[3, {3, 2}, "Dilation" -> 2, "Biases" -> None]',
     "PoolingLayer[{2, 3}, {2, 3}]"),
    ("{2, 19}", 'ConvolutionLayer[4, {4}, "PaddingSize" -> {{2, 1}}]', "PoolingLayer[{3}, {3}]"),
    ("{2, 6, 7, 8}", 'ConvolutionLayer[3, {2, 2, 3}]', "PoolingLayer[{2, 2, 2}, {2, 2, 2}]"),
    ("{4, 9, 9}", 'ConvolutionLayer[2, {1, 1}]', "PoolingLayer[{2, 2}, {2, 2}]"),
]


def _net(shape, conv, activation, pool):
    s = netdsl.Session()
    net = s.evaluate(f'NetInitialize[NetChain[{{{conv}, {activation}, {pool}}}, '
                     f'"Input" -> {shape}], RandomSeeding -> 11]')
    layers = dict(net.leaves())
    c, p = layers[("1",)], layers[("3",)]
    return net, c, p


@pytest.mark.parametrize("one_copy", [True, False])
@pytest.mark.parametrize("activation", ["Ramp", "Tanh"])
@pytest.mark.parametrize("shape, conv, pool", CASES)
def test_per_offset_path_equals_naive_loops(shape, conv, pool, activation, one_copy,
                                            monkeypatch):
    monkeypatch.setattr(conv_module, "_DIRECT_POOL_MIN", 0)    # the path at any size
    if not one_copy:        # columns too large for one strided copy: im2col's slice copies
        monkeypatch.setattr(windows, "_ONE_COPY_MAX", 0)
    taken = []
    original = conv_module.ConvPoolThenBias._pooled_directly

    def spy(self, ctx, arrays, x):
        z = original(self, ctx, arrays, x)
        taken.append(z is not None)
        return z
    monkeypatch.setattr(conv_module.ConvPoolThenBias, "_pooled_directly", spy)
    net, c, p = _net(shape, conv, activation, pool)
    d = len(c.values["KernelSize"])
    dims = tuple(int(v) for v in shape.strip("{}").split(","))
    w = np.asarray(c.arrays["Weights"], np.float64)
    b = c.arrays.get("Biases")
    b = None if b is None or not isinstance(b, np.ndarray) else np.asarray(b, np.float64)
    g = geometry(c.values, dims[1:])
    rng = np.random.default_rng(4)
    for batch in (3, 1):
        x = rng.standard_normal((batch,) + dims).astype(np.float32)
        got = np.asarray(net(x))
        xb = np.moveaxis(x, 0, -1)
        y = naive_conv(xb, w, b, g.stride, g.dilation, g.pads)
        pk = tuple(p.values["KernelSize"]) if isinstance(p.values["KernelSize"], tuple) \
            else (p.values["KernelSize"],) * d
        z = naive_max_pool(y, pk, pk)
        z = np.maximum(z, 0) if activation == "Ramp" else np.tanh(z)
        np.testing.assert_allclose(got, np.moveaxis(z, -1, 0), rtol=1e-5, atol=1e-5)
    steps = [type(st.layer).__name__ for st in compile_plan(net, mode="test").steps]
    assert steps == ["ConvPoolThenBias"]
    assert taken and all(taken)


def naive_columns_from(xp, g, start):
    """Columns of xp cut at spatial offsets ``start``: [c, k.., o.., n] =
    xp[c, start + o * stride + k * dilation, n]."""
    c, n, d = xp.shape[0], xp.shape[-1], xp.ndim - 2
    cols = np.empty((c,) + g.kernel + g.out + (n,), xp.dtype)
    for k in itertools.product(*map(range, g.kernel)):
        for o in itertools.product(*map(range, g.out)):
            at = tuple(start[i] + o[i] * g.stride[i] + k[i] * g.dilation[i] for i in range(d))
            cols[(slice(None),) + k + o] = xp[(slice(None),) + at]
    return cols


@pytest.mark.parametrize("one_copy", [True, False])
@pytest.mark.parametrize("contiguous", [True, False])
@pytest.mark.parametrize("shape, kernel, stride, dilation, start", [
    ((2, 12, 11, 4), (3, 3), (2, 2), (1, 1), (1, 0)),
    ((3, 9, 10, 2), (2, 3), (3, 2), (2, 1), (0, 1)),
    ((2, 15, 3), (4,), (2,), (1,), (3,)),
    ((1, 6, 7, 5, 2), (2, 2, 2), (2, 2, 1), (1, 1, 2), (1, 1, 0)),
    ((2, 8, 8, 3), (1, 1), (2, 2), (1, 1), (1, 1)),
])
def test_im2col_from_an_offset_equals_naive_columns(shape, kernel, stride, dilation, start,
                                                    contiguous, one_copy, monkeypatch):
    if not one_copy:     # the slice copies of large columns
        monkeypatch.setattr(windows, "_ONE_COPY_MAX", 0)
    rng = np.random.default_rng(6)
    big = rng.standard_normal(shape[:-1] + (2 * shape[-1],)).astype(np.float32)
    xp = np.ascontiguousarray(big[..., ::2]) if contiguous else big[..., ::2]
    sizes = tuple(n - b for n, b in zip(shape[1:-1], start))
    out = tuple((n - dl * (k - 1) - 1) // s + 1
                for n, k, s, dl in zip(sizes, kernel, stride, dilation))
    g = Geometry(sizes, kernel, stride, dilation, tuple((0, 0) for _ in kernel), out)
    expected = naive_columns_from(xp, g, start)
    got = im2col(xp, g, None, start)
    np.testing.assert_array_equal(got.reshape(expected.shape), expected)


def test_strided_view_is_read_only_and_matches_as_strided():
    x = np.arange(2 * 5 * 6 * 3, dtype=np.float32).reshape(2, 5, 6, 3)
    st = x.strides
    v = strided_view(x, (2, 2, 3, 3), (st[0], st[1] * 2, st[2] * 2, st[3]), (1, 0))
    assert not v.flags.writeable
    np.testing.assert_array_equal(v, x[:, 1::2, 0::2][:, :2, :3])
    w = strided_view(x[..., ::2], (2, 5), (st[0], st[1]), (0,))        # not contiguous
    np.testing.assert_array_equal(w, x[:, :, 0, 0])
