"""The compiled GRU (netdsl/layers/compiled/gru_fused.py, numba): the time loop (one
compiled call with cblas GEMMs, or one call per step) against the GRU formula written out per example, with and without an initial state;
backward against float64 central differences of that formula; a net's outputs and
training gradients against the NumPy loop."""

from __future__ import annotations

import numpy as np
import pytest

from netdsl.layers import gru_kernel as kernel
from netdsl.layers import lstm_kernel
from tests.recurrent_reference import (central_differences, check_array_gradients,
                                       force_compiled, gate_arrays, gru_ref)

pytest.importorskip("numba")

H, D, N, T = 5, 3, 4, 6


@pytest.fixture(params=["loop", "steps"])
def fused(monkeypatch, request):
    """Compiled passes: the whole loop in one call (cblas GEMMs), or one call per step."""
    from netdsl.layers.compiled import gru_fused
    if request.param == "steps":
        monkeypatch.setattr(gru_fused, "SGEMM", None)
    elif gru_fused.SGEMM is None:
        pytest.skip("no cblas_sgemm found in NumPy's BLAS")
    used = force_compiled(monkeypatch, kernel)
    yield used
    assert used and all(m is not None for m in used), "the compiled steps did not run"


def _arrays(rng, scale=0.7):
    return gate_arrays(rng, kernel.GATES, H, D, scale)


def _per_example(a, x, s0=None):
    ys = [gru_ref(a, x[:, :, j], None if s0 is None else s0[:, j])[0] for j in range(x.shape[2])]
    return np.stack(ys, -1)


def _run(a, x, s0, keep=True):
    w = kernel.weights(None, None, a, np.float32)
    n, _, batch = x.shape
    pre = (w.wxb_half @ lstm_kernel.input_rows(x.astype(np.float32))).reshape(-1, n, batch)
    return w, kernel.forward(pre, w.ws_half, keep, None if s0 is None else s0.astype(np.float32))


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("initial", [True, False])
def test_forward_equals_the_formula(fused, keep, initial):
    rng = np.random.default_rng(0)
    a, x = _arrays(rng), rng.normal(size=(T, D, N))
    s0 = rng.normal(size=(H, N)) if initial else None
    _, run = _run(a, x, s0, keep)
    np.testing.assert_allclose(run.states[1:], _per_example(a, x, s0), rtol=2e-6, atol=2e-6)


def test_backward_equals_float64_central_differences(fused):
    rng = np.random.default_rng(2)
    a, x = _arrays(rng, 0.5), rng.normal(size=(T, D, N))
    s0, dy, ds_n = rng.normal(size=(H, N)), rng.normal(size=(T, H, N)), rng.normal(size=(H, N))

    def loss(a, s0):
        ys = _per_example(a, x, s0)
        return (ys * dy).sum() + (ys[-1] * ds_n).sum()

    w, run = _run(a, x, s0)
    g = kernel.backward(run, w.ws, dy.astype(np.float32), ds_n.astype(np.float32), initial=True)
    grads = kernel.weight_grads(g, run, lstm_kernel.input_rows(x.astype(np.float32)), a)
    check_array_gradients(lambda arrays: loss(arrays, s0), a, grads,
                          ("ResetGateStateWeights", "MemoryGateInputWeights", "InputGateBiases",
                           "MemoryGateStateWeights"), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(g.ds0, central_differences(lambda v: loss(a, v), s0),
                               rtol=1e-4, atol=1e-4)


def test_a_net_and_its_training_gradient_equal_the_numpy_loop(monkeypatch):
    from tests.test_lanes import Trainer, fresh
    monkeypatch.setattr(kernel, "FUSED_MIN", 0)
    code = ('NetChain[{EmbeddingLayer[8, 12, "Input" -> "Varying"], GatedRecurrentLayer[16], '
            'SequenceLastLayer[], LinearLayer[12], SoftmaxLayer[]}]')
    rng = np.random.default_rng(4)
    seqs = np.empty(12, dtype=object)
    for k in range(12):
        seqs[k] = rng.integers(1, 13, 9 if k % 3 else 7)
    labels = rng.integers(1, 13, 12)
    got = {}
    for jit in ("1", "0"):
        monkeypatch.setenv("NETDSL_JIT", jit)
        t = Trainer(code, seqs, labels)
        got[jit] = (fresh(f"NetInitialize[{code}, RandomSeeding -> 3]")(list(seqs)),
                    t.grad(1), t.grad(2))
    np.testing.assert_allclose(got["1"][0], got["0"][0], rtol=1e-5, atol=1e-7)
    for lanes in (1, 2):
        (loss_jit, g_jit), (loss_np, g_np) = got["1"][lanes], got["0"][lanes]
        assert loss_jit == pytest.approx(loss_np, rel=1e-5)
        np.testing.assert_allclose(g_jit, g_np, rtol=1e-4, atol=1e-6)
