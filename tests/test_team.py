"""Compiled kernels sharing their outer loop with helper threads (layers/compiled/team.py):
every kernel gives, in two shares, exactly what one call gives (bit for bit) and what
the float64 naive loops give; a helper's error reaches the caller; a busy team or a
machine that cannot poll runs the kernel whole; and lanes.measured keeps the faster of
k lanes or one lane whose kernels share their work."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from layer_harness import build, make_arrays, to_batch_first, to_batch_last
from netdsl.layers import windows
from netdsl.runtime import forked, lanes
from netdsl.runtime.context import Ctx
from test_conv_shifted import naive_conv

pytest.importorskip("numba")
team = pytest.importorskip("netdsl.layers.compiled.team")
if not team.usable() or windows.compiled_shifted(np.float32) is None:
    pytest.skip("no polling threads here (x86-64 and libc) or no cblas_sgemm",
                allow_module_level=True)

F32 = np.float32


@pytest.fixture(autouse=True)
def small_kernels_share_too(monkeypatch):
    monkeypatch.setattr(windows, "TEAM_MIN_NUMBERS", 0)


def ctx(threads):
    c = Ctx(scratch={})
    c.threads, c.teamed = threads, threads > 1
    return c


def helper_jobs():
    return int(team._DONE[1, 0])


def _geometry(shape, kernel, pads, stride=(1, 1)):
    return windows.geometry({"KernelSize": kernel, "Stride": stride, "Dilation": 1,
                             "PaddingSize": tuple(tuple(p) for p in pads)}, shape[1:])


@pytest.mark.parametrize("winograd", [True, False])
def test_a_shared_3x3_convolution_equals_one_call_and_the_naive_loop(monkeypatch, winograd):
    """Winograd (rows of output tiles) and the shifted GEMMs (output blocks), with the
    bias and Ramp, 16 -> 16 channels on 10x12, batch 8."""
    monkeypatch.setattr(windows, "FORCE_WINOGRAD", winograd)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 16, 10, 12)).astype(F32)
    w = rng.standard_normal((16, 16, 3, 3)).astype(F32)
    bias = rng.standard_normal(16).astype(F32)
    g = _geometry((16, 10, 12), (3, 3), ((1, 1), (1, 1)))
    before = helper_jobs()
    two = windows.conv_shifted(ctx(2), to_batch_last(x), w, g, bias=bias, ramp=True)
    assert helper_jobs() == before + 1
    one = windows.conv_shifted(ctx(1), to_batch_last(x), w, g, bias=bias, ramp=True)
    np.testing.assert_array_equal(two, one)
    ref = naive_conv(x.astype(float), w.astype(float), ((1, 1), (1, 1)))
    ref = np.maximum(ref + bias.reshape(1, -1, 1, 1), 0)
    assert np.abs(to_batch_first(two) - ref).max() <= 2e-5 * np.abs(ref).max()


@pytest.mark.parametrize("stride, batch", [((1, 1), 16), ((2, 2), 32)])
def test_a_convolution_by_rows_equals_one_call_and_the_naive_loop(stride, batch):
    """shifted_gemm.rows_im2col: each output row's columns in cache (3 -> 8 channels,
    3x3, padding 1), shared by rows."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((batch, 3, 12, 12)).astype(F32)
    w = rng.standard_normal((8, 3, 3, 3)).astype(F32)
    bias = rng.standard_normal(8).astype(F32)
    g = _geometry((3, 12, 12), (3, 3), ((1, 1), (1, 1)), stride)
    two = windows.conv_rows(ctx(2), to_batch_last(x), w, g, bias, False)
    one = windows.conv_rows(ctx(1), to_batch_last(x), w, g, bias, False)
    assert two is not None
    np.testing.assert_array_equal(two, one)
    xp = np.pad(x.astype(float), ((0, 0), (0, 0), (1, 1), (1, 1)))
    s = stride[0]
    ref = np.zeros((batch, 8) + g.out)
    for i in range(g.out[0]):
        for j in range(g.out[1]):
            patch = xp[:, :, i * s:i * s + 3, j * s:j * s + 3]
            ref[:, :, i, j] = np.einsum("nckl,fckl->nf", patch, w.astype(float))
    ref += bias.reshape(1, -1, 1, 1)
    assert np.abs(to_batch_first(two) - ref).max() <= 2e-5 * np.abs(ref).max()


def test_shared_column_blocks_pooling_and_deconvolution_equal_one_call():
    rng = np.random.default_rng(5)
    a = rng.standard_normal((16, 27)).astype(F32)
    b = rng.standard_normal((27, 5000)).astype(F32)
    bias = rng.standard_normal(16).astype(F32)
    np.testing.assert_array_equal(windows.blocked_matmul(a, b, bias, True, parts=2),
                                  windows.blocked_matmul(a, b, bias, True, parts=1))
    xp = rng.standard_normal((4, 10, 12, 8)).astype(F32)
    xp[1, 2, 3, 4] = np.nan
    g = _geometry((4, 10, 12), (2, 2), ((0, 0), (0, 0)), (2, 2))
    np.testing.assert_array_equal(windows.pool_max(xp, g, parts=2),
                                  windows.pool_max(xp, g, parts=1))
    layer = build('DeconvolutionLayer[6, {2, 2}, "Stride" -> 2, "Input" -> {5, 7, 9}]')
    arrays = {k: v.astype(F32) for k, v in make_arrays(layer, seed=6).items()}
    x = to_batch_last(rng.standard_normal((8, 5, 7, 9)).astype(F32))
    (two,), _ = layer.forward(ctx(2), arrays, x)
    (one,), _ = layer.forward(ctx(1), arrays, x)
    np.testing.assert_array_equal(two, one)


def test_a_helpers_error_reaches_the_caller_and_the_team_goes_on():
    shares = []

    def kernel(out, lo, hi, flags, part, count, relax):
        if part > 0:
            raise ValueError("share 1 failed")
        shares.append((lo, hi))
    with pytest.raises(ValueError, match="share 1 failed"):
        team.run(kernel, (None,), 10, 2)
    assert shares == [(0, 5)]
    out = np.zeros(10)

    def fill(out, lo, hi, flags, part, count, relax):
        team.started(flags, part, count, relax)
        out[lo:hi] = part + 1
    team.run(fill, (out,), 10, 2)
    np.testing.assert_array_equal(out, [1] * 5 + [2] * 5)


def test_a_busy_team_or_one_part_runs_the_kernel_whole_here():
    seen = []

    def kernel(lo, hi, flags, part, count, relax):
        seen.append((lo, hi, part, threading.get_ident()))
    team.run(kernel, (), 10, 1)
    with team._BUSY:                     # another kernel has the helpers
        team.run(kernel, (), 10, 2)
    team.run(kernel, (), 1, 4)           # fewer items than parts
    me = threading.get_ident()
    assert seen == [(0, 10, 0, me), (0, 10, 0, me), (0, 1, 0, me)]


def test_measured_keeps_the_faster_choice_after_its_trials():
    plan = type("P", (), {"lanes": {}})()
    clock = iter(range(100))
    cost = {2: 5, 1: 2}
    ran = []

    def run(choice):
        ran.append(choice)
        for _ in range(cost[choice] - 1):
            next(clock)
        return choice

    for _ in range(6):
        lanes.measured(plan, ("lanes",), (2, 1), run, lambda: next(clock))
    assert ran == [2, 2, 1, 1, 1, 1]          # two trials each, then the faster
    assert plan.lanes[("lanes",)] == 1


def test_an_evaluation_split_or_shared_gives_the_same_outputs(monkeypatch):
    """A net evaluated at two threads tries two lanes and one lane with shared kernels;
    every pass, trial or not, equals the one-thread output to float32 rounding."""
    pytest.importorskip("threadpoolctl")
    import netdsl
    net = netdsl.evaluate('NetInitialize[NetChain[{ConvolutionLayer[16, {3, 3}, '
                          '"PaddingSize" -> 1], Ramp, PoolingLayer[2, 2], '
                          'ConvolutionLayer[16, {3, 3}, "PaddingSize" -> 1]}, '
                          '"Input" -> {8, 16, 16}], RandomSeeding -> 3]')
    x = np.random.default_rng(7).standard_normal((16, 8, 16, 16)).astype(F32)
    monkeypatch.setattr(lanes, "MIN_WORK", 0)
    monkeypatch.setattr(forked, "ENABLED", False)      # lanes on threads, not processes
    netdsl.set_threads(1)
    try:
        want = net(x)
        netdsl.set_threads(2)
        if lanes.lane_count() < 2:
            pytest.skip("BLAS limited to one thread here")
        for _ in range(6):
            np.testing.assert_allclose(net(x), want, rtol=1e-5, atol=1e-5)
        plan = net.__dict__["_fast_call"].plan
        assert plan.lanes[("lanes", (("Input", (8, 16, 16, 16)),))] in (1, 2)
    finally:
        netdsl.set_threads(None)


def test_shared_weight_gradients_add_up_each_shares_sums():
    """shifted_gemm.weight_grad in two shares: each sums its blocks into its own dW, added
    after (float32 rounding apart from one call, against float64 too); with the team busy
    one call does all of it and the other share's zeros add nothing."""
    from test_conv_training_paths import naive_grads
    rng = np.random.default_rng(9)
    x = rng.standard_normal((8, 16, 10, 12)).astype(F32)
    w = rng.standard_normal((8, 16, 3, 3)).astype(F32)
    dy = rng.standard_normal((8, 8, 10, 12)).astype(F32)
    g = _geometry((16, 10, 12), (3, 3), ((1, 1), (1, 1)))
    _, buf = windows.conv_shifted(ctx(1), to_batch_last(x), w, g, keep=True)
    one = windows.shifted_weight_grad(buf, to_batch_last(dy), g, 1)
    two = windows.shifted_weight_grad(buf, to_batch_last(dy), g, 2)
    np.testing.assert_allclose(two, one, rtol=1e-5, atol=1e-4)
    dw_ref, _ = naive_grads(x.astype(float), w.astype(float), dy.astype(float), ((1, 1), (1, 1)))
    np.testing.assert_allclose(two, dw_ref, rtol=1e-4, atol=1e-3)
    with team._BUSY:
        np.testing.assert_array_equal(windows.shifted_weight_grad(buf, to_batch_last(dy), g, 2),
                                      one)
