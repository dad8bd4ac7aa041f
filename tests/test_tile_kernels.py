"""The compiled kernels for windows that tile (stride = kernel): the deconvolution's
per-row GEMM and untile (shifted_gemm.untiled) against the scatter-form reference and
the NumPy path, 2x2 max pooling (compiled/pooling.py) and its gradient against a naive
loop and the NumPy path, with ties, NaN and infinities."""

from __future__ import annotations

import numpy as np
import pytest

from layer_harness import build, forward, make_arrays
from netdsl.layers import deconv
from tests.test_conv_pool_paths import naive_max_pool
from tests.test_layers_learned import ref_deconv

pytest.importorskip("numba")
from netdsl.layers.compiled import pooling, shifted_gemm  # noqa: E402  (needs numba)

needs_gemm = pytest.mark.skipif(shifted_gemm.SGEMM is None, reason="no cblas_sgemm found")


@pytest.fixture
def untiled_calls(monkeypatch):
    calls: list[tuple] = []
    real = shifted_gemm.untiled
    monkeypatch.setattr(shifted_gemm, "untiled",
                        lambda gemm, wt, x, *a: calls.append(x.shape) or real(gemm, wt, x, *a))
    return calls


@needs_gemm
@pytest.mark.parametrize("text, stride, xshape", [
    ('DeconvolutionLayer[16, {2, 2}, "Stride" -> 2, "Input" -> {32, 16, 16}]', (2, 2),
     (32, 16, 16)),
    ('DeconvolutionLayer[5, {3, 2}, "Stride" -> {3, 2}, "Input" -> {3, 4, 3}]', (3, 2),
     (3, 4, 3)),
    ('DeconvolutionLayer[2, {2, 2}, "Stride" -> 2, "Biases" -> None, "Input" -> {4, 1, 5}]',
     (2, 2), (4, 1, 5)),
])
@pytest.mark.parametrize("batch", [1, 7])
def test_untiled_deconvolution_equals_the_scatter_form(untiled_calls, text, stride, xshape,
                                                       batch):
    layer = build(text)
    arrays = make_arrays(layer, seed=3)
    x = np.random.default_rng(4).standard_normal((batch,) + xshape)
    (y,) = forward(layer, arrays, x)
    assert untiled_calls == [xshape + (batch,)]
    ref = ref_deconv(x, arrays["Weights"], arrays.get("Biases"), stride, ((0, 0), (0, 0)))
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


@needs_gemm
def test_untiled_deconvolution_equals_the_numpy_path(untiled_calls, monkeypatch):
    """To float32 rounding: a GEMM of one row's columns and one of all rows may order a
    sum's last products differently (an odd batch: OpenBLAS's edge columns)."""
    layer = build('DeconvolutionLayer[16, {2, 2}, "Stride" -> 2, "Input" -> {32, 8, 8}]')
    arrays = make_arrays(layer, seed=5)
    x = np.random.default_rng(6).standard_normal((9, 32, 8, 8))
    (fast,) = forward(layer, arrays, x)
    monkeypatch.setattr(deconv.DeconvolutionLayer, "_untiled", staticmethod(lambda *a: None))
    (numpy_path,) = forward(layer, arrays, x)
    assert len(untiled_calls) == 1
    np.testing.assert_allclose(fast, numpy_path, rtol=1e-6, atol=2e-6)


def test_untiled_is_not_taken_for_overlapping_windows_groups_or_float64(untiled_calls):
    for text in ('DeconvolutionLayer[4, {3, 3}, "Stride" -> 2, "Input" -> {2, 4, 4}]',
                 'DeconvolutionLayer[4, {2, 2}, "Stride" -> 2, "ChannelGroups" -> 2, '
                 '"Input" -> {2, 4, 4}]',
                 'DeconvolutionLayer[4, {2, 2}, "Stride" -> 2, "PaddingSize" -> 1, '
                 '"Input" -> {2, 4, 4}]',
                 'DeconvolutionLayer[4, 2, "Stride" -> 2, "Input" -> {2, 6}]'):
        layer = build(text)
        x = np.random.default_rng(0).standard_normal((3,) + layer.ports["Input"].shape)
        forward(layer, make_arrays(layer), x)
    layer = build('DeconvolutionLayer[4, {2, 2}, "Stride" -> 2, "Input" -> {2, 4, 4}]')
    forward(layer, make_arrays(layer), np.ones((3, 2, 4, 4)), dtype=np.float64)
    assert untiled_calls == []


@pytest.mark.parametrize("size, pads", [((8, 8), 0), ((5, 7), 0), ((6, 6), 1)])
@pytest.mark.parametrize("batch", [1, 5, 16])
def test_2x2_max_pooling_equals_a_naive_loop_with_nan_and_inf(size, pads, batch, monkeypatch):
    calls = []
    real = pooling.max_2x2
    monkeypatch.setattr(pooling, "max_2x2", lambda x, y, *share: calls.append(1) or real(x, y, *share))
    layer = build(f'PoolingLayer[{{2, 2}}, {{2, 2}}, "PaddingSize" -> {pads}, '
                  f'"Input" -> {{3, {size[0]}, {size[1]}}}]')
    x = np.random.default_rng(7).standard_normal((batch, 3) + size).astype(np.float32)
    x[0, 1, 0, 0] = np.nan
    x[-1, 2, 1, 1] = -np.inf
    x[0, 0, 1, 1] = np.inf
    (y,) = forward(layer, {}, x)
    assert calls == [1]
    xp = np.pad(x, ((0, 0), (0, 0), (pads, pads), (pads, pads)), constant_values=-np.inf)
    want = np.moveaxis(naive_max_pool(np.moveaxis(xp, 0, -1), (2, 2), (2, 2)), -1, 0)
    np.testing.assert_array_equal(y, want)
    assert np.isnan(y).sum() == 1 and np.isposinf(y).sum() == 1


def test_other_pools_keep_the_numpy_path(monkeypatch):
    monkeypatch.setattr(pooling, "max_2x2", lambda x, y, *share: pytest.fail("compiled path taken"))
    for text in ('PoolingLayer[{3, 3}, {3, 3}, "Input" -> {2, 6, 6}]',
                 'PoolingLayer[{2, 2}, {1, 1}, "Input" -> {2, 6, 6}]',
                 'PoolingLayer[2, 2, "Input" -> {2, 6}]'):
        layer = build(text)
        forward(layer, {}, np.ones((2,) + layer.ports["Input"].shape))
    layer = build('PoolingLayer[{2, 2}, {2, 2}, "Input" -> {2, 6, 6}]')
    forward(layer, {}, np.ones((2, 2, 6, 6)), dtype=np.float64)


@pytest.mark.parametrize("size, pads", [((8, 8), 0), ((5, 7), 0), ((7, 6), 1)])
@pytest.mark.parametrize("batch", [1, 6])
def test_2x2_max_pooling_gradient_equals_the_numpy_path_with_ties_and_nan(size, pads, batch,
                                                                         monkeypatch):
    """The first maximal element of each tile in C order gets its dy (ties not split), a
    NaN tile passes nothing, rows and columns no tile covers get zero."""
    from netdsl.layers import compiled, windows
    from layer_harness import ctx as make_ctx
    layer = build(f'PoolingLayer[{{2, 2}}, {{2, 2}}, "PaddingSize" -> {pads}, '
                  f'"Input" -> {{3, {size[0]}, {size[1]}}}]')
    rng = np.random.default_rng(8)
    x = rng.standard_normal((3,) + size + (batch,)).astype(np.float32)
    x[:, :2, :2, 0] = 1.5                      # a tile of four equal maxima
    x[1, 2, 3, -1] = x[1, 3, 3, -1] = 9.0      # two equal maxima, not the first offset
    x[2, 0, 0, 0] = np.nan
    (y,), cache = layer.forward(make_ctx(True, True), {}, x)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    calls = []
    real = pooling.max_2x2_backward
    monkeypatch.setattr(pooling, "max_2x2_backward", lambda *a: calls.append(1) or real(*a))
    (fast,), _ = layer.backward(make_ctx(True, True), {}, cache, dy)
    assert calls == [1]
    load = compiled.load
    monkeypatch.setattr(windows.compiled, "load",
                        lambda name: None if name == "pooling" else load(name))
    (numpy_path,), _ = layer.backward(make_ctx(True, True), {}, cache, dy)
    np.testing.assert_array_equal(fast, numpy_path)
    if pads == 0:      # the tile of four equal maxima: all to its first element
        assert fast[0, 0, 0, 0] == dy[0, 0, 0, 0] and not fast[0, :2, :2, 0].ravel()[1:].any()
