"""The compiled shifted-GEMM convolution (netdsl/layers/compiled/shifted_gemm.py: cblas
GEMMs per output row, from numba) for float32: forward, weight and input gradients
against the float64 naive loops of test_conv_shifted.py and test_conv_training_paths.py,
the NumPy path (same products, same order: equal), the blocks it cuts the output into,
and the training rule that takes it when it is there."""

from __future__ import annotations

import time

import numpy as np
import pytest

from layer_harness import build, ctx, make_arrays, to_batch_first, to_batch_last
from netdsl.layers import conv as conv_module
from netdsl.layers import windows
from netdsl.layers.windows import (compiled_shifted, conv_input_grad, conv_shifted, geometry,
                                   shifted_weight_grad)
from test_conv_shifted import CASES, naive_conv
from test_conv_training_paths import CASES as GRAD_CASES
from test_conv_training_paths import naive_grads

pytest.importorskip("numba")
if compiled_shifted(np.float32) is None:
    pytest.skip("no cblas_sgemm found in NumPy's BLAS (or NETDSL_JIT=0)", allow_module_level=True)

F32 = np.float32
WIDE = ((3, 40, 6), 4, (3, 3), ((1, 1), (1, 1)))   # with batch 40: rows of 240, 6 of 1280 ...


def _geometry(shape, kernel, pads):
    return geometry({"KernelSize": kernel, "Stride": 1, "Dilation": 1,
                     "PaddingSize": tuple(tuple(p) for p in pads)}, shape[1:])


def _close(got, ref, tol=2e-5):
    assert np.abs(got - ref).max() <= tol * max(1.0, np.abs(ref).max())


@pytest.fixture
def numpy_path(monkeypatch):
    """Run windows.py's NumPy GEMMs instead of the compiled ones."""
    def use(on: bool):
        monkeypatch.setattr(windows, "compiled_shifted",
                            (lambda dtype: None) if on else compiled_shifted)
    return use


@pytest.mark.parametrize("shape, f, kernel, pads", CASES + [WIDE])
@pytest.mark.parametrize("batch", [1, 3, 40])
def test_forward_equals_the_naive_loop_and_the_numpy_path(shape, f, kernel, pads, batch,
                                                          numpy_path):
    rng = np.random.default_rng(len(shape) + f + batch)
    x = rng.standard_normal((batch,) + shape).astype(F32)
    w = rng.standard_normal((f, shape[0]) + kernel).astype(F32)
    g = _geometry(shape, kernel, pads)
    y = conv_shifted(ctx(), to_batch_last(x), w, g)
    assert y.dtype == F32 and y.flags.c_contiguous and y.shape == (f,) + g.out + (batch,)
    _close(to_batch_first(y), naive_conv(x.astype(float), w.astype(float), pads))
    numpy_path(True)
    np.testing.assert_array_equal(conv_shifted(ctx(), to_batch_last(x), w, g), y)


@pytest.mark.parametrize("shape, f, kernel, pads", GRAD_CASES + [WIDE])
def test_weight_and_input_gradients_equal_the_naive_loops(shape, f, kernel, pads, numpy_path):
    rng = np.random.default_rng(sum(shape) + f)
    n = 5
    x = rng.standard_normal((n,) + shape).astype(F32)
    w = rng.standard_normal((f, shape[0]) + kernel).astype(F32)
    g = _geometry(shape, kernel, pads)
    dy = rng.standard_normal((n, f) + g.out).astype(F32)
    dw_ref, dx_ref = naive_grads(x.astype(float), w.astype(float), dy.astype(float), pads)
    _, buf = conv_shifted(ctx(), to_batch_last(x), w, g, keep=True)
    dw = shifted_weight_grad(buf, to_batch_last(dy), g)
    assert dw.dtype == F32 and dw.shape == w.shape
    _close(dw, dw_ref)
    dx = conv_input_grad(ctx(), to_batch_last(dy), w, g)
    if dx is not None:                  # (the padded dY may be too large: col2im then)
        _close(to_batch_first(dx), dx_ref)
    numpy_path(True)
    _close(shifted_weight_grad(buf, to_batch_last(dy), g), dw_ref)


@pytest.mark.parametrize("shape, f, kernel, pads", CASES + [WIDE])
@pytest.mark.parametrize("batch", [1, 7, 40])
def test_the_blocks_cover_every_output_column_once(shape, f, kernel, pads, batch):
    g = _geometry(shape, kernel, pads)
    blocks = windows._shifted_blocks(g, batch)
    seen = np.zeros(int(np.prod(g.out)) * batch, int)
    for _, col, width in blocks:
        assert 0 < width <= windows._BLOCK_COLUMNS
        seen[col:col + width] += 1
    assert (seen == 1).all()
    assert not blocks.flags.writeable


def test_float32_training_takes_the_shifted_path_for_few_input_channels():
    """16 -> 32 channels (C < 2F): with the compiled GEMMs the padded input is kept; the
    gradients equal the float64 naive loop's."""
    layer = build('ConvolutionLayer[32, {3, 3}, "PaddingSize" -> 1, "Input" -> {16, 16, 16}]')
    arrays = {k: v.astype(F32) for k, v in make_arrays(layer, seed=1).items()}
    rng = np.random.default_rng(2)
    x = rng.standard_normal((16, 16, 16, 16)).astype(F32)
    dy = rng.standard_normal((16, 32, 16, 16)).astype(F32)
    (y,), cache = layer.forward(ctx(grad=True), arrays, to_batch_last(x))
    assert isinstance(cache[0], conv_module._Shifted)
    (dx,), grads = layer.backward(ctx(grad=True), arrays, cache, to_batch_last(dy))
    w64 = arrays["Weights"].astype(float)
    dw_ref, dx_ref = naive_grads(x.astype(float), w64, dy.astype(float), ((1, 1), (1, 1)))
    _close(grads["Weights"], dw_ref)
    _close(to_batch_first(dx), dx_ref)
    _close(to_batch_first(y), naive_conv(x.astype(float), w64, ((1, 1), (1, 1)))
           + arrays["Biases"].reshape(1, -1, 1, 1))


def test_without_the_compiled_gemms_the_rules_are_as_before(monkeypatch):
    monkeypatch.setenv("NETDSL_JIT", "0")
    assert compiled_shifted(F32) is None
    layer = build('ConvolutionLayer[32, {3, 3}, "PaddingSize" -> 1, "Input" -> {16, 16, 16}]')
    arrays = {k: v.astype(F32) for k, v in make_arrays(layer, seed=1).items()}
    x = np.ones((16, 16, 16, 16), F32)
    _, cache = layer.forward(ctx(grad=True), arrays, to_batch_last(x))
    assert not isinstance(cache[0], conv_module._Shifted)


@pytest.mark.parametrize("m, k, p", [(16, 27, 1000), (64, 32, 4096), (2, 16, 333), (1, 1, 5),
                                     (128, 64, 300)])
def test_blocked_matmul_equals_float64(m, k, p):
    rng = np.random.default_rng(m + k + p)
    a = rng.standard_normal((k, m)).astype(F32).T          # a transposed view, as deconv's
    b_all = rng.standard_normal((k, p + 7)).astype(F32)
    b = b_all[:, 3:3 + p]                                  # rows with a stride
    got = windows.blocked_matmul(a, b)
    assert got.shape == (m, p) and got.dtype == F32
    _close(got, a.astype(float) @ b.astype(float))


@pytest.mark.parametrize("m, k, p", [(16, 27, 1000), (2, 16, 333), (128, 64, 300)])
@pytest.mark.parametrize("ramp", [False, True])
def test_blocked_matmul_adds_the_bias_then_takes_the_ramp(m, k, p, ramp):
    """max(b_r + a b, 0) per row r, written out here in float64; a NaN stays NaN (Ramp's
    Max[NaN, 0]); (128, 64): the np.matmul path, the same result."""
    rng = np.random.default_rng(m + k + p + ramp)
    a = rng.standard_normal((m, k)).astype(F32)
    b = rng.standard_normal((k, p)).astype(F32)
    b[0, 5] = np.nan
    bias = rng.standard_normal(m).astype(F32)
    got = windows.blocked_matmul(a, b, bias, ramp)
    want = a.astype(float) @ b.astype(float) + bias.astype(float).reshape(-1, 1)
    if ramp:
        want = np.where(want < 0, 0.0, want)
    assert np.isnan(got[:, 5]).all() and np.isnan(want[:, 5]).all()
    keep = np.arange(p) != 5
    _close(got[:, keep], want[:, keep])


def test_a_test_mode_layer_adds_its_bias_inside_the_compiled_loop():
    layer = build('ConvolutionLayer[8, {3, 3}, "PaddingSize" -> 1, "Input" -> {16, 12, 10}]')
    arrays = {k: v.astype(F32) for k, v in make_arrays(layer, seed=3).items()}
    arrays["Biases"] = np.arange(1, 9, dtype=F32)
    x = np.random.default_rng(4).standard_normal((40, 16, 12, 10)).astype(F32)
    assert windows.shifted_applies(geometry({"KernelSize": (3, 3), "PaddingSize": 1},
                                            (12, 10)), 16, 40)
    (y,), _ = layer.forward(ctx(), arrays, to_batch_last(x))
    ref = naive_conv(x.astype(float), arrays["Weights"].astype(float), ((1, 1), (1, 1)))
    _close(to_batch_first(y), ref + np.arange(1, 9).reshape(1, -1, 1, 1))


WINOGRAD = [
    # (C, spatial sizes), F, pads: every output size even, >= 8 inputs and 16 filters
    ((8, 6, 8), 16, ((1, 1), (1, 1))),
    ((12, 10, 4), 17, ((0, 2), (1, 1))),         # uneven padding
    ((9, 10, 12), 16, ((0, 0), (0, 0))),         # unpadded: 8 x 10
    ((32, 4, 8), 24, ((1, 1), (1, 1))),
]


@pytest.fixture
def winograd(monkeypatch):
    """F(2x2, 3x3) wherever it applies, without measuring whether it pays."""
    monkeypatch.setattr(windows, "FORCE_WINOGRAD", True)


@pytest.mark.parametrize("shape, f, pads", WINOGRAD)
@pytest.mark.parametrize("batch", [8, 13, 160])
def test_winograd_3x3_equals_the_naive_loop(shape, f, pads, batch, winograd):
    """F(2x2, 3x3) for 3x3 kernels with even output sizes (batch 160: more than 512
    columns per tile row, cut into GEMMs of 512), bias included."""
    rng = np.random.default_rng(sum(shape) + f + batch)
    x = rng.standard_normal((batch,) + shape).astype(F32)
    w = rng.standard_normal((f, shape[0], 3, 3)).astype(F32)
    bias = rng.standard_normal(f).astype(F32)
    g = _geometry(shape, (3, 3), pads)
    assert windows._winograd(g, shape[0], f, batch) is not None
    y = conv_shifted(ctx(), to_batch_last(x), w, g, bias=bias)
    ref = naive_conv(x.astype(float), w.astype(float), pads) + bias.reshape(1, -1, 1, 1)
    _close(to_batch_first(y), ref, 2e-6)


def test_winograd_is_tried_only_where_it_can_pay():
    even = _geometry((8, 6, 6), (3, 3), ((1, 1), (1, 1)))
    assert windows._winograd(even, 8, 16, 8) is not None
    assert windows._winograd(_geometry((8, 7, 6), (3, 3), ((1, 1), (1, 1))), 8, 16, 8) is None
    assert windows._winograd(_geometry((8, 6, 6), (5, 5), ((2, 2), (2, 2))), 8, 16, 8) is None
    for c, f, n in ((4, 16, 8), (16, 8, 8), (16, 16, 4), (128, 128, 16)):
        assert windows._winograd(even, c, f, n) is None, (c, f, n)


def test_winograd_training_layer_gradients_equal_the_naive_loop(winograd):
    """32 -> 16 channels (the U-Net's decoder): the forward and the input gradient (a
    16 -> 32 convolution of dY) both run F(2x2, 3x3); dW by the compiled shifted GEMMs."""
    layer = build('ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1, "Input" -> {32, 8, 10}]')
    arrays = {k: v.astype(F32) for k, v in make_arrays(layer, seed=8).items()}
    g = _geometry((32, 8, 10), (3, 3), ((1, 1), (1, 1)))
    assert windows._winograd(g, 32, 16, 8) is not None
    assert windows._winograd(windows.input_grad_geometry(g), 16, 32, 8) is not None
    rng = np.random.default_rng(9)
    x = rng.standard_normal((8, 32, 8, 10)).astype(F32)
    dy = rng.standard_normal((8, 16, 8, 10)).astype(F32)
    (y,), cache = layer.forward(ctx(grad=True), arrays, to_batch_last(x))
    (dx,), grads = layer.backward(ctx(grad=True), arrays, cache, to_batch_last(dy))
    w64 = arrays["Weights"].astype(float)
    dw_ref, dx_ref = naive_grads(x.astype(float), w64, dy.astype(float), ((1, 1), (1, 1)))
    _close(to_batch_first(y), naive_conv(x.astype(float), w64, ((1, 1), (1, 1)))
           + arrays["Biases"].reshape(1, -1, 1, 1), 2e-6)
    _close(to_batch_first(dx), dx_ref, 2e-6)
    _close(grads["Weights"], dw_ref)


def _busy(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


@pytest.mark.parametrize("winograd_ms, shifts_ms, want", [(1, 4, True), (4, 1, False)])
def test_winograd_pays_is_measured_once_per_kind(monkeypatch, winograd_ms, shifts_ms, want):
    """Each candidate runs WINOGRAD_TRIALS times in CPU time, the faster is kept for the
    kind, and later calls run neither (the caller then runs the one chosen)."""
    monkeypatch.setattr(windows, "_WINOGRAD_PAYS", {})
    calls = {"w": 0, "s": 0}

    def by_winograd():
        calls["w"] += 1
        _busy(winograd_ms / 1000)

    def by_shifts():
        calls["s"] += 1
        _busy(shifts_ms / 1000)
    kind = ("geometry", 32, 16, 8)
    assert windows.winograd_pays(kind, by_winograd, by_shifts) is want
    assert calls == {"w": windows.WINOGRAD_TRIALS, "s": windows.WINOGRAD_TRIALS}
    assert windows.winograd_pays(kind, by_winograd, by_shifts) is want
    assert calls == {"w": windows.WINOGRAD_TRIALS, "s": windows.WINOGRAD_TRIALS}
    monkeypatch.setattr(windows, "FORCE_WINOGRAD", not want)
    assert windows.winograd_pays(kind, by_winograd, by_shifts) is (not want)


@pytest.mark.parametrize("pays", [True, False])
def test_a_convolution_gives_the_same_output_from_its_first_call_on(monkeypatch, pays):
    """The trial runs before the first output is computed: every call, the first
    included, is the chosen path's, bit for bit; both paths are within float32 rounding
    of the naive loop."""
    monkeypatch.setattr(windows, "_WINOGRAD_PAYS", {})
    times = iter([0.0, 1.0] if pays else [1.0, 0.0])     # by_winograd's, then by_shifts'
    monkeypatch.setattr(windows, "_best_time", lambda run: (run(), next(times))[1])
    rng = np.random.default_rng(12)
    x = rng.standard_normal((8, 16, 6, 8)).astype(F32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(F32)
    g = _geometry((16, 6, 8), (3, 3), ((1, 1), (1, 1)))
    assert windows._winograd(g, 16, 16, 8) is not None
    first = conv_shifted(ctx(), to_batch_last(x), w, g)
    again = conv_shifted(ctx(), to_batch_last(x), w, g)
    monkeypatch.setattr(windows, "FORCE_WINOGRAD", not pays)
    other = conv_shifted(ctx(), to_batch_last(x), w, g)
    monkeypatch.setattr(windows, "FORCE_WINOGRAD", pays)
    chosen = conv_shifted(ctx(), to_batch_last(x), w, g)
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, chosen)
    assert not np.array_equal(first, other)       # the other path: other roundings
    ref = naive_conv(x.astype(float), w.astype(float), ((1, 1), (1, 1)))
    for y in (first, other):
        _close(to_batch_first(y), ref, 2e-6)


def test_winograd_weights_are_g_w_g_transposed_rounded_once(monkeypatch):
    """The compiled transform against G w G^T in float64 written out here, bit for bit
    after one rounding to float32, and the same as the NumPy path's."""
    from netdsl.layers import compiled
    from netdsl.runtime.context import Ctx
    w = np.random.default_rng(9).standard_normal((5, 7, 3, 3)).astype(np.float32)
    g = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]])
    want = np.einsum("ia,fcab,jb->ijfc", g, w.astype(np.float64), g).reshape(16, 5, 7)
    fast = windows.winograd_weights(Ctx(train=True), w, np.float32)
    np.testing.assert_array_equal(fast, want.astype(np.float32))
    load = compiled.load
    monkeypatch.setattr(windows.compiled, "load",
                        lambda name: None if name == "winograd" else load(name))
    np.testing.assert_array_equal(windows.winograd_weights(Ctx(train=True), w, np.float32),
                                  fast)
