"""The convolution by shifted slices of one GEMM (windows.conv_shifted, used in Test mode
for stride-1 windows with enough channels and positions) against a naive loop over
output positions and kernel offsets, written here."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from layer_harness import build, ctx, forward, make_arrays, to_batch_first, to_batch_last
from netdsl.layers.windows import conv_shifted, geometry, shifted_applies


def naive_conv(x, w, pads):
    """x (N, C, S..), w (F, C, k..), stride and dilation 1, zero padding ``pads``."""
    n, d = x.shape[0], x.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [tuple(p) for p in pads])
    kernel = w.shape[2:]
    out = [xp.shape[2 + i] - kernel[i] + 1 for i in range(d)]
    y = np.zeros((n, w.shape[0], *out))
    for o in itertools.product(*map(range, out)):
        for k in itertools.product(*map(range, kernel)):
            patch = xp[(slice(None), slice(None)) + tuple(o[i] + k[i] for i in range(d))]
            y[(slice(None), slice(None)) + o] += patch @ w[(slice(None), slice(None)) + k].T
    return y


CASES = [
    # (C, spatial sizes), F, kernel, pads
    ((3, 7, 6), 4, (3, 3), ((1, 1), (1, 1))),
    ((2, 6, 5), 3, (4, 3), ((1, 2), (1, 1))),     # even kernel, uneven padding
    ((2, 6, 6), 2, (3, 3), ((0, 2), (1, 0))),
    ((3, 5, 4), 2, (2, 2), ((0, 0), (0, 0))),     # no padding
    ((2, 9), 3, (3,), ((2, 1),)),                 # 1-D
    ((2, 4, 5, 4), 3, (3, 2, 3), ((1, 1), (0, 1), (1, 1))),   # 3-D
    ((1, 5, 5), 2, (1, 3), ((0, 0), (1, 1))),
]


@pytest.mark.parametrize("shape, f, kernel, pads", CASES)
@pytest.mark.parametrize("batch", [1, 3])
def test_conv_shifted_matches_naive_loop(shape, f, kernel, pads, batch):
    rng = np.random.default_rng(len(shape) + f + batch)
    x = rng.standard_normal((batch,) + shape)
    w = rng.standard_normal((f, shape[0]) + kernel)
    values = {"KernelSize": kernel, "Stride": 1, "Dilation": 1,
              "PaddingSize": tuple(tuple(p) for p in pads)}
    g = geometry(values, shape[1:])
    y = conv_shifted(ctx(), to_batch_last(x), w, g)
    assert y.flags.c_contiguous and y.shape == (f,) + g.out + (batch,)
    np.testing.assert_allclose(to_batch_first(y), naive_conv(x, w, pads), rtol=1e-10, atol=1e-10)


def test_conv_shifted_reuses_its_buffer_across_calls():
    """The padded buffer is reused: a second call with other data must not see the first."""
    c = ctx()
    rng = np.random.default_rng(5)
    w = rng.standard_normal((2, 3, 3, 3))
    g = geometry({"KernelSize": (3, 3), "PaddingSize": 1}, (5, 5))
    for seed in (1, 2):
        x = np.random.default_rng(seed).standard_normal((2, 3, 5, 5))
        y = conv_shifted(c, to_batch_last(x), w, g)
        np.testing.assert_allclose(to_batch_first(y), naive_conv(x, w, ((1, 1), (1, 1))),
                                   rtol=1e-10, atol=1e-10)


def test_layer_takes_the_shifted_path_in_test_mode_and_agrees():
    """ConvolutionLayer at a size where the rule picks the shifted path (checked), in
    float32, against the naive loop; and the training path (im2col) agrees too."""
    layer = build('ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1, "Input" -> {16, 12, 12}]')
    arrays = make_arrays(layer, seed=3)
    x = np.random.default_rng(4).standard_normal((32, 16, 12, 12))
    g = geometry(layer.values, (12, 12))
    assert shifted_applies(g, 16, 32)
    expected = naive_conv(x, arrays["Weights"], ((1, 1), (1, 1))) \
        + arrays["Biases"].reshape(1, -1, 1, 1)
    (y,) = forward(layer, arrays, x)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    xs = to_batch_last(x.astype(np.float32))
    (yt,), _ = layer.forward(ctx(grad=True), {k: v.astype(np.float32) for k, v in arrays.items()},
                             xs)
    np.testing.assert_allclose(to_batch_first(yt), expected, rtol=1e-4, atol=1e-4)


def test_rule_keeps_im2col_where_shifting_does_not_pay():
    assert not shifted_applies(geometry({"KernelSize": (3, 3), "Stride": 2}, (32, 32)), 16, 32)
    assert not shifted_applies(geometry({"KernelSize": (3, 3)}, (32, 32)), 1, 32)    # one channel
    assert not shifted_applies(geometry({"KernelSize": (3, 3)}, (8, 8)), 16, 1)      # tiny
    assert not shifted_applies(geometry({"KernelSize": (1, 1)}, (32, 32)), 16, 32)   # 1x1


@pytest.mark.parametrize("batch", [2, 16])
def test_padded_buffers_of_the_same_shape_but_other_padding_are_not_shared(batch):
    """Padding 1 on 32x32 and padding 2 on 30x30 both make 34x34 padded buffers; a shared
    scratch buffer kept the first convolution's data in the second's zero border (found
    this session: the batch-16 output was off by up to 1.8 of 6)."""
    import netdsl
    c = 16
    net = netdsl.evaluate(
        f'NetInitialize[NetChain[{{ConvolutionLayer[{c}, {{3, 3}}, "PaddingSize" -> 1], '
        f'ConvolutionLayer[{c}, {{3, 3}}], ConvolutionLayer[{c}, {{3, 3}}, "PaddingSize" -> 2]}}, '
        f'"Input" -> {{{c}, 32, 32}}], RandomSeeding -> 1]')
    x = np.random.default_rng(0).random((batch, c, 32, 32), dtype=np.float32)
    want = x.astype(np.float64)
    for (_, layer), p in zip(net.leaves(), (1, 0, 2)):
        w, b = (np.array(layer.arrays[k], np.float64) for k in ("Weights", "Biases"))
        want = naive_conv(want, w, ((p, p), (p, p))) + b[:, None, None]
    for _ in range(2):      # the second pass reuses the buffers
        np.testing.assert_allclose(net(x), want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("seed", range(24))
def test_random_convolution_chains_equal_the_naive_loop(seed):
    """Random chains of 2-4 convolutions (kernel 1-3, padding 0-2, stride 1-2, 3-16
    channels) at batch sizes that take every path (small columns, im2col, shifted GEMM,
    chunks), each evaluated three times (buffers reused, chunks chosen), against the
    naive loop layer by layer."""
    import netdsl
    rng = np.random.default_rng(seed)
    c, size = int(rng.choice([3, 8, 16])), int(rng.integers(9, 21))
    same = rng.random() < 0.5          # one channel count throughout: same-shaped buffers
    layers, geometry_of = [], []
    now = size
    for _ in range(rng.integers(2, 5)):
        f = c if same else int(rng.choice([3, 8, 16]))
        k, p = int(rng.choice([1, 2, 3, 3])), int(rng.integers(0, 3))
        s = int(rng.choice([1, 1, 2]))
        if (now + 2 * p - k) // s + 1 < 2:
            break
        layers.append(f'ConvolutionLayer[{f}, {{{k}, {k}}}, "PaddingSize" -> {p}, '
                      f'"Stride" -> {s}]')
        geometry_of.append((p, s))
        now = (now + 2 * p - k) // s + 1
    net = netdsl.evaluate(f'NetInitialize[NetChain[{{{", ".join(layers)}}}, '
                          f'"Input" -> {{{c}, {size}, {size}}}], RandomSeeding -> {seed}]')
    for batch in (1, 5, 16):
        x = rng.random((batch, c, size, size), dtype=np.float32)
        want = x.astype(np.float64)
        for (_, layer), (p, s) in zip(net.leaves(), geometry_of):
            w, b = (np.array(layer.arrays[k], np.float64) for k in ("Weights", "Biases"))
            want = (naive_conv(want, w, ((p, p), (p, p))) + b[:, None, None])[:, :, ::s, ::s]
        for _ in range(3):
            np.testing.assert_allclose(net(x), want, rtol=1e-4, atol=1e-4)
