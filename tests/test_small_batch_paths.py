"""Test-mode paths for small inputs (issue 14, batch 1): the convolution's columns built
through buffers and a strided view prepared once per plan and shape
(windows.small_columns), and max pooling one spatial axis at a time (windows.pool_max),
against naive loops written here, at batch 1 and batch > 1."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from netdsl.layers.windows import geometry, pool_max, small_columns
from netdsl.runtime.context import Ctx


def naive_columns(x, g):
    """(C, k.., O.., N): column [c, k, o, n] = zero-padded x at o * stride + k * dilation."""
    c, n, d = x.shape[0], x.shape[-1], x.ndim - 2
    xp = np.pad(x, [(0, 0)] + [tuple(p) for p in g.pads] + [(0, 0)])
    cols = np.empty((c,) + g.kernel + g.out + (n,), x.dtype)
    for k in itertools.product(*map(range, g.kernel)):
        for o in itertools.product(*map(range, g.out)):
            at = tuple(o[i] * g.stride[i] + k[i] * g.dilation[i] for i in range(d))
            cols[(slice(None),) + k + o] = xp[(slice(None),) + at]
    return cols


def naive_max_pool(x, g):
    """(C, O.., N): the maximum over each window, padding read as -inf."""
    d = x.ndim - 2
    xp = np.pad(x, [(0, 0)] + [tuple(p) for p in g.pads] + [(0, 0)], constant_values=-np.inf)
    y = np.full((x.shape[0],) + g.out + (x.shape[-1],), -np.inf, x.dtype)
    for o in itertools.product(*map(range, g.out)):
        for k in itertools.product(*map(range, g.kernel)):
            at = tuple(o[i] * g.stride[i] + k[i] * g.dilation[i] for i in range(d))
            y[(slice(None),) + o] = np.maximum(y[(slice(None),) + o], xp[(slice(None),) + at])
    return y


WINDOWS = [
    # (C, spatial sizes), options
    ((1, 28, 28), {"KernelSize": (3, 3)}),
    ((16, 13, 13), {"KernelSize": (3, 3)}),
    ((2, 7, 6), {"KernelSize": (3, 2), "PaddingSize": 1}),
    ((3, 9, 8), {"KernelSize": (3, 3), "Stride": 2, "PaddingSize": ((1, 0), (0, 2))}),
    ((2, 10, 9), {"KernelSize": (2, 3), "Dilation": 2}),
    ((2, 11), {"KernelSize": (4,), "Stride": 3}),                     # 1-D
    ((2, 5, 4, 6), {"KernelSize": (2, 3, 2), "PaddingSize": 1}),     # 3-D
    ((3, 6, 5), {"KernelSize": (1, 3)}),
]


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("shape, options", WINDOWS)
def test_small_columns_equal_naive_columns(shape, options, batch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape + (batch,)).astype(np.float32)
    g = geometry(options, shape[1:])
    ctx = Ctx()
    for _ in range(2):          # the second call reuses the prepared buffers with new data
        cols = small_columns(ctx, x, g)
        assert cols is not None
        expected = naive_columns(x, g)
        np.testing.assert_array_equal(cols, expected.reshape(x.shape[0] * np.prod(g.kernel), -1))
        x = rng.standard_normal(x.shape).astype(np.float32)


def test_small_columns_decline_large_and_one_by_one():
    ctx = Ctx()
    big = np.zeros((16, 30, 30, 64), np.float32)
    assert small_columns(ctx, big, geometry({"KernelSize": (3, 3)}, (30, 30))) is None
    one = np.zeros((4, 5, 5, 1), np.float32)
    assert small_columns(ctx, one, geometry({"KernelSize": (1, 1)}, (5, 5))) is None


@pytest.mark.parametrize("batch", [1, 4])
@pytest.mark.parametrize("shape, options", WINDOWS + [
    ((16, 26, 26), {"KernelSize": (2, 2), "Stride": 2}),
    ((32, 11, 11), {"KernelSize": (2, 2), "Stride": 2}),
    ((2, 6, 6), {"KernelSize": (1, 1)}),
    ((2, 7, 7), {"KernelSize": (1, 3), "Stride": (2, 1)}),
])
def test_pool_max_equals_naive_maximum(shape, options, batch):
    x = np.random.default_rng(1).standard_normal(shape + (batch,)).astype(np.float32)
    g = geometry(options, shape[1:])
    xp = np.pad(x, [(0, 0)] + [tuple(p) for p in g.pads] + [(0, 0)], constant_values=-np.inf)
    y = pool_max(xp, g)
    assert y.flags.c_contiguous and not np.shares_memory(y, xp)
    np.testing.assert_array_equal(y, naive_max_pool(x, g))


FUSED = [
    # input, convolution, pooling
    ("{1, 28, 28}", "ConvolutionLayer[16, {3, 3}]", "PoolingLayer[{2, 2}, {2, 2}]"),
    ("{16, 13, 13}", "ConvolutionLayer[32, {3, 3}]", "PoolingLayer[{2, 2}, {2, 2}]"),
    ("{3, 12, 11}", 'ConvolutionLayer[5, {3, 2}, "PaddingSize" -> 1, "Stride" -> 2]',
     "PoolingLayer[{3, 2}, {2, 1}]"),
    ("{2, 14, 9}", 'ConvolutionLayer[4, {2, 2}, "Dilation" -> 2]',
     "PoolingLayer[{2, 3}, {3, 2}]"),
    ("{2, 9, 9}", "ConvolutionLayer[3, {3, 3}]", 'PoolingLayer[{2, 2}, "PaddingSize" -> 1]'),
    ("{2, 10}", "ConvolutionLayer[3, {3}]", "PoolingLayer[{3}, {2}]"),       # 1-D
]


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("shape, conv, pool", FUSED)
def test_fused_convolution_pooling_equals_the_layers_in_order(shape, conv, pool, batch,
                                                             monkeypatch):
    """Test mode (the fused step, with the cut small path where it applies) against the
    plain plan, one step per layer: equal up to float32 rounding."""
    import netdsl
    from netdsl.layers.conv import ConvPoolThenBias
    from netdsl.runtime.plan import compile_plan

    s = netdsl.Session()
    s.evaluate(f'n = NetInitialize[NetChain[{{{conv}, Ramp, {pool}}}, "Input" -> {shape}], '
               f"RandomSeeding -> 7]")
    net = s["n"]
    small = []
    original = ConvPoolThenBias._pooled_small

    def spy(self, ctx, arrays, x):
        z = original(self, ctx, arrays, x)
        small.append(z is not None)
        return z
    monkeypatch.setattr(ConvPoolThenBias, "_pooled_small", spy)
    dims = tuple(int(v) for v in shape.strip("{}").split(","))
    rng = np.random.default_rng(2)
    fused, plain = compile_plan(net, mode="test"), compile_plan(net, mode="plain")
    assert any(isinstance(st.layer, ConvPoolThenBias) for st in fused.steps)
    for _ in range(2):
        x = rng.standard_normal(dims + (batch,)).astype(np.float32)
        ctx, lock = fused.context()
        try:
            y, _, _ = fused.run(ctx, {"Input": x})
        finally:
            if lock is not None:
                lock.release()
        expected, _, _ = plain.run(Ctx(), {"Input": x})
        np.testing.assert_allclose(y["Output"], expected["Output"], rtol=1e-5, atol=1e-5)
    assert small and all(small) == ("PaddingSize" not in pool)
