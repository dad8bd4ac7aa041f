"""The training paths of ConvolutionLayer that avoid column matrices (windows.py):

- forward by ``conv_shifted`` keeping the padded input, and the weight gradient from it by
  shifted GEMMs (``shifted_weight_grad``), used when there are at least twice as many
  input channels as filters;
- the input gradient as a convolution of the output gradient (``conv_input_grad``): the
  shifted GEMM when C <= F, im2col of dY when C > F.

Each is checked against float64 central differences (the size thresholds are lowered so
small layers take the new paths; that they are taken is asserted), against naive loops
written here, and against the plain im2col path."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from layer_harness import build, check_gradients, ctx, make_arrays, to_batch_first, to_batch_last
from netdsl.layers import conv as conv_module
from netdsl.layers import windows
from netdsl.layers.windows import (conv_input_grad, conv_shifted, geometry,
                                   input_grad_geometry, shifted_weight_grad)


def naive_grads(x, w, dy, pads):
    """dW and dX of a stride-1 convolution by a loop over kernel offsets and output
    positions: x (N, C, S..), w (F, C, k..), dy (N, F, O..)."""
    d = x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads])
    dxp = np.zeros_like(xp)
    dw = np.zeros_like(w)
    out = dy.shape[2:]
    for k in itertools.product(*map(range, w.shape[2:])):
        for o in itertools.product(*map(range, out)):
            at = (slice(None), slice(None)) + tuple(o[i] + k[i] for i in range(d))
            g = dy[(slice(None), slice(None)) + o]                  # (N, F)
            dw[(slice(None), slice(None)) + k] += g.T @ xp[at]
            dxp[at] += g @ w[(slice(None), slice(None)) + k]
    inner = (slice(None), slice(None)) + tuple(slice(b, b + n) for (b, _), n
                                                 in zip(pads, x.shape[2:]))
    return dw, dxp[inner]


CASES = [
    # (C, spatial sizes), F, kernel, pads
    ((6, 5, 7), 3, (3, 3), ((1, 1), (1, 1))),        # C >= 2F: shifted forward, im2col dX
    ((3, 5, 6), 4, (3, 3), ((1, 1), (1, 1))),        # C <= F: shifted dX
    ((4, 6, 5), 2, (3, 2), ((0, 2), (1, 0))),        # uneven padding, even kernel
    ((4, 7, 7), 2, (3, 3), ((0, 0), (0, 0))),        # no padding (the dX padding is k - 1)
    ((2, 9), 3, (3,), ((2, 1),)),                    # 1-D
    ((4, 4, 5, 3), 2, (3, 2, 3), ((1, 1), (0, 1), (1, 1))),   # 3-D
    ((2, 1, 1), 3, (3, 3), ((1, 1), (1, 1))),        # 1x1 images
]


@pytest.fixture
def small_shifted(monkeypatch):
    """Let the shifted paths apply to layers of any size (the tests are small)."""
    monkeypatch.setattr(windows, "_SHIFTED_MIN_POSITIONS", 1)
    monkeypatch.setattr(windows, "_SHIFTED_MIN_CHANNELS", 1)
    monkeypatch.setattr(windows, "_SHIFTED_MAX_WASTE", 1e9)
    monkeypatch.setattr(windows, "_SHIFTED_DX_MAX_AREA", 1e9)


@pytest.mark.parametrize("shape, f, kernel, pads", CASES)
def test_shifted_weight_and_input_gradients_match_naive_loops(shape, f, kernel, pads):
    rng = np.random.default_rng(sum(shape) + f)
    n = 3
    x = rng.standard_normal((n,) + shape)
    w = rng.standard_normal((f, shape[0]) + kernel)
    values = {"KernelSize": kernel, "Stride": 1, "Dilation": 1,
              "PaddingSize": tuple(tuple(p) for p in pads)}
    g = geometry(values, shape[1:])
    dy = rng.standard_normal((n, f) + g.out)
    dw_ref, dx_ref = naive_grads(x, w, dy, pads)
    _, buf = conv_shifted(ctx(), to_batch_last(x), w, g, keep=True)
    np.testing.assert_allclose(shifted_weight_grad(buf, to_batch_last(dy), g), dw_ref,
                               rtol=1e-10, atol=1e-10)
    gd = input_grad_geometry(g)
    assert gd is not None and gd.out == g.sizes
    wf = np.swapaxes(w[(slice(None), slice(None)) + (slice(None, None, -1),) * len(kernel)], 0, 1)
    dx = conv_shifted(ctx(), to_batch_last(dy), np.ascontiguousarray(wf), gd)
    np.testing.assert_allclose(to_batch_first(dx), dx_ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape, f, kernel, pads", CASES)
def test_conv_input_grad_both_branches_match_naive_loop(shape, f, kernel, pads, small_shifted):
    rng = np.random.default_rng(7 + sum(shape))
    x = rng.standard_normal((2,) + shape)
    w = rng.standard_normal((f, shape[0]) + kernel)
    g = geometry({"KernelSize": kernel, "PaddingSize": tuple(tuple(p) for p in pads)},
                 shape[1:])
    dy = rng.standard_normal((2, f) + g.out)
    _, dx_ref = naive_grads(x, w, dy, pads)
    dx = conv_input_grad(ctx(), to_batch_last(dy), w, g)
    assert dx is not None
    np.testing.assert_allclose(to_batch_first(dx), dx_ref, rtol=1e-10, atol=1e-10)


def test_input_grad_geometry_declines_what_it_cannot_express():
    assert input_grad_geometry(geometry({"KernelSize": (3, 3), "Stride": 2}, (8, 8))) is None
    assert input_grad_geometry(geometry({"KernelSize": (3, 3), "Dilation": 2}, (8, 8))) is None
    # padding 3 on a 3-wide kernel: the gradient would need a negative padding (a crop)
    assert input_grad_geometry(geometry({"KernelSize": (3, 3), "PaddingSize": 3}, (4, 4))) is None


def test_input_gradient_keeps_col2im_where_the_padded_gradient_is_much_larger():
    """16 -> 32 channels, 3x3 without padding on 13x13 (LeNet's second convolution):
    the padded dY (15x15) is 1.86x the 11x11 dY, so the shifted GEMM would do more work
    than W^T dY; 32x32 with padding 1 (ResNet) takes it."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal((32, 16, 3, 3))
    lenet = geometry({"KernelSize": (3, 3)}, (13, 13))
    assert conv_input_grad(ctx(), rng.standard_normal((32, 11, 11, 64)), w, lenet) is None
    resnet = geometry({"KernelSize": (3, 3), "PaddingSize": 1}, (32, 32))
    assert conv_input_grad(ctx(), rng.standard_normal((32, 32, 32, 8)), w, resnet) is not None


LAYERS = [
    ('ConvolutionLayer[3, {3, 3}, "PaddingSize" -> 1, "Input" -> {6, 5, 7}]', True),
    ('ConvolutionLayer[4, {3, 3}, "PaddingSize" -> 1, "Input" -> {3, 5, 6}]', False),
    ('ConvolutionLayer[2, {3, 2}, "PaddingSize" -> {{0, 2}, {1, 0}}, "Input" -> {5, 6, 5}]', True),
    ('ConvolutionLayer[2, {3, 3}, "Input" -> {4, 7, 7}]', True),
    ('ConvolutionLayer[3, 3, "PaddingSize" -> {{2, 1}}, "Input" -> {6, 9}]', True),
    ('ConvolutionLayer[2, {3, 2, 3}, "PaddingSize" -> {{1, 1}, {0, 1}, {1, 1}}, '
     '"Input" -> {4, 4, 5, 3}]', True),
    ('ConvolutionLayer[2, {3, 3}, "PaddingSize" -> 1, "Input" -> {4, 1, 1}]', True),
    ('ConvolutionLayer[2, {2, 2}, "Input" -> {4, 1, 1}, "PaddingSize" -> 1]', True),
]


@pytest.mark.parametrize("text, shifted_forward", LAYERS)
def test_layer_training_paths_against_finite_differences(text, shifted_forward, small_shifted):
    layer = build(text)
    arrays = make_arrays(layer, seed=2)
    shape = layer.ports["Input"].shape
    x = to_batch_last(np.random.default_rng(3).standard_normal((2,) + tuple(shape)))
    _, cache = layer.forward(ctx(grad=True), arrays, x)
    assert isinstance(cache[0], conv_module._Shifted) == shifted_forward
    check_gradients(layer, arrays, [x])


def test_layer_paths_agree_with_im2col_at_real_size():
    """At a size where the thresholds pick the new paths (32 -> 16 channels, 20x20,
    batch 16; no threshold lowered), float32 forward and gradients equal the im2col
    path's (with the rules switched off) and the float64 naive loop."""
    layer = build('ConvolutionLayer[16, {3, 3}, "Input" -> {32, 20, 20}]')
    arrays = {k: v.astype(np.float32) for k, v in make_arrays(layer, seed=5).items()}
    rng = np.random.default_rng(6)
    x = rng.standard_normal((16, 32, 20, 20)).astype(np.float32)
    dy = rng.standard_normal((16, 16, 18, 18)).astype(np.float32)

    def run():
        (y,), cache = layer.forward(ctx(grad=True), arrays, to_batch_last(x))
        (dx,), grads = layer.backward(ctx(grad=True), arrays, cache, to_batch_last(dy))
        return cache, to_batch_first(y), to_batch_first(dx), grads["Weights"], grads["Biases"]

    cache, y, dx, dw, db = run()
    assert isinstance(cache[0], conv_module._Shifted)
    dw_ref, dx_ref = naive_grads(x.astype(np.float64), arrays["Weights"].astype(np.float64),
                                 dy.astype(np.float64), ((0, 0), (0, 0)))
    for got, ref in ((dw, dw_ref), (dx, dx_ref)):
        assert np.abs(got - ref).max() / np.abs(ref).max() < 1e-6
    np.testing.assert_allclose(db, dy.astype(np.float64).sum(axis=(0, 2, 3)), rtol=1e-5)
    old = pytest.MonkeyPatch()
    old.setattr(windows, "_SHIFTED_MIN_POSITIONS", 10 ** 12)
    old.setattr(windows, "_COMPILED_MIN_POSITIONS", 10 ** 12)
    try:
        cache0, y0, dx0, dw0, db0 = run()
    finally:
        old.undo()
    assert not isinstance(cache0[0], conv_module._Shifted)
    for got, ref in ((y, y0), (dx, dx0), (dw, dw0), (db, db0)):
        assert np.abs(got - ref).max() / np.abs(ref).max() < 1e-6
