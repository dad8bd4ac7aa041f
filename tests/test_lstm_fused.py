"""The compiled LSTM (netdsl/layers/compiled/lstm_fused.py, numba): its tanh against
float64 tanh, the time loop (one compiled call with cblas GEMMs, or one call per step)
against the LSTM formula written out per example (dense input and after an
EmbeddingLayer, with and without initial states; the example-major Test-mode loop after
one, and a NaN row of its table), backward against float64 central
differences of that formula, a whole net and its training gradients against the NumPy
loop, the switches that choose the path, and cblas's GEMM against float64."""

from __future__ import annotations

import numpy as np
import pytest

from netdsl.layers import lstm_kernel as kernel
from tests.recurrent_reference import force_compiled, gate_arrays, lstm_per_example
from tests.test_lstm_kernel import check_central_differences

pytest.importorskip("numba")
from netdsl.layers.compiled import lstm_fused  # noqa: E402  (needs numba)

H, D, N, T = 5, 3, 4, 6


@pytest.fixture(params=["loop", "steps"])
def fused(monkeypatch, request):
    """Every float32 pass compiled, whatever its size: the whole loop in one call (its
    GEMMs by cblas), or, when no cblas_sgemm was found, one compiled call per step."""
    if request.param == "steps":
        monkeypatch.setattr(lstm_fused, "SGEMM", None)
    elif lstm_fused.SGEMM is None:
        pytest.skip("no cblas_sgemm found in NumPy's BLAS")
    return force_compiled(monkeypatch, kernel)


def _arrays(rng, scale=0.7):
    return gate_arrays(rng, kernel.GATES, H, D, scale)


def _pre(a, x, dtype=np.float32):
    w = kernel.stacked_weights(a, dtype)
    n, _, batch = x.shape
    return w, (w.wxb_half @ kernel.input_rows(x.astype(dtype))).reshape(-1, n, batch)


def test_tanh_is_within_3e7_of_float64_tanh_and_keeps_nan_inf_and_signed_zero():
    grid = np.concatenate([np.linspace(-12, 12, 400_001), np.geomspace(1e-30, 12, 20_001),
                           -np.geomspace(1e-30, 12, 20_001)]).astype(np.float32)
    got = np.array([lstm_fused.tanh(v) for v in grid[::97]], np.float64)
    want = np.tanh(grid[::97].astype(np.float64))
    assert np.abs(got - want).max() <= 3e-7
    tiny = np.geomspace(1e-30, 1e-3, 200).astype(np.float32)   # relative near zero
    rel = np.abs(np.array([lstm_fused.tanh(v) for v in tiny]) / np.tanh(tiny.astype(float)) - 1)
    assert rel.max() <= 3e-7
    assert np.isnan(lstm_fused.tanh(np.float32(np.nan)))
    assert lstm_fused.tanh(np.float32(np.inf)) == pytest.approx(1, abs=1e-7)
    assert lstm_fused.tanh(np.float32(-np.inf)) == pytest.approx(-1, abs=1e-7)
    assert np.signbit(lstm_fused.tanh(np.float32(-0.0)))


@pytest.mark.parametrize("keep", [True, False])
@pytest.mark.parametrize("initial", [True, False])
def test_forward_equals_the_formula(fused, keep, initial):
    rng = np.random.default_rng(0)
    a, x = _arrays(rng), rng.normal(size=(T, D, N))
    s0, c0 = (rng.normal(size=(H, N)), rng.normal(size=(H, N))) if initial else (None, None)
    want, c_last = lstm_per_example(a, x, s0, c0)
    w, pre = _pre(a, x)
    start = None if s0 is None else (s0.astype(np.float32), c0.astype(np.float32))
    run = kernel.forward(pre, w.ws_half, keep, start)
    np.testing.assert_allclose(run.states[1:], want, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(run.last_cell, c_last, rtol=2e-6, atol=2e-6)


def test_lookup_forward_equals_the_formula_on_the_embedded_rows(fused):
    rng = np.random.default_rng(1)
    a = _arrays(rng)
    table = rng.normal(size=(9, D)).astype(np.float32)
    idx = rng.integers(1, 10, (T, N))
    w = kernel.stacked_weights(a, np.float32)
    proj = w.wxb_half[:, :-1] @ table.T + w.wxb_half[:, -1:]
    run = kernel.forward(kernel.Lookup(proj, idx - 1), w.ws_half, keep=True)
    x = table[idx - 1].transpose(0, 2, 1).astype(np.float64)        # (n, d, N)
    want, _ = lstm_per_example(a, x)
    np.testing.assert_allclose(run.states[1:], want, rtol=2e-6, atol=2e-6)


def test_backward_equals_float64_central_differences(fused):
    rng = np.random.default_rng(2)
    a, x = _arrays(rng, 0.5), rng.normal(size=(T, D, N))
    s0, c0 = rng.normal(size=(H, N)), rng.normal(size=(H, N))
    dy, ds_n, dc_n = rng.normal(size=(T, H, N)), rng.normal(size=(H, N)), rng.normal(size=(H, N))

    def loss(a, s0, c0):
        ys, c_last = lstm_per_example(a, x, s0, c0)
        return (ys * dy).sum() + (ys[-1] * ds_n).sum() + (c_last * dc_n).sum()

    f32 = np.float32
    w, pre = _pre(a, x)
    run = kernel.forward(pre, w.ws_half, True, (s0.astype(f32), c0.astype(f32)))
    da, ds0, dc0 = kernel.backward(run, w.ws, dy.astype(f32),
                                   (ds_n.astype(f32), dc_n.astype(f32)), initial=True)
    assert da.dtype == np.float32
    grads = kernel.weight_grads(da, run, kernel.input_rows(x.astype(f32)), a)
    check_central_differences(loss, a, s0, c0, grads, ds0, dc0, rtol=1e-4, atol=1e-4)


def test_a_nan_in_the_input_stays_nan(fused):
    rng = np.random.default_rng(3)
    a, x = _arrays(rng), rng.normal(size=(T, D, N))
    x[2, 0, 1] = np.nan
    w, pre = _pre(a, x)
    run = kernel.forward(pre, w.ws_half, keep=False)
    assert np.isnan(run.states[3:, :, 1]).all()
    assert np.isfinite(run.states[:, :, 0]).all()


@pytest.fixture
def rows_loop(monkeypatch):
    """Every float32 pass compiled; the calls of the example-major loop (lookup_rows)."""
    if lstm_fused.SGEMM is None:
        pytest.skip("no cblas_sgemm found in NumPy's BLAS")
    force_compiled(monkeypatch, kernel)
    calls: list = []
    real = lstm_fused.lookup_rows
    monkeypatch.setattr(lstm_fused, "lookup_rows", lambda *a: calls.append(a) or real(*a))
    return calls


def _lookup(rng, a, v=9, shape=(T, N)):
    """A table (v, D), indices 1..v of ``shape`` and the example-major Lookup of them."""
    table = rng.normal(size=(v, D)).astype(np.float32)
    idx = rng.integers(1, v + 1, shape)
    w = kernel.stacked_weights(a, np.float32)
    rows, ws_t = kernel.example_major(w, table)
    return w, table, idx, kernel.Lookup(rows.T, idx - 1, (rows, ws_t))


def test_test_mode_keeps_the_projected_table_once_as_rows(rows_loop):
    from netdsl.runtime.context import Ctx
    rng = np.random.default_rng(12)
    a = _arrays(rng)
    w = kernel.stacked_weights(a, np.float32)
    table = rng.normal(size=(9, D)).astype(np.float32)
    idx = rng.integers(1, 10, (T, N))
    want = w.wxb_half[:, :-1].astype(np.float64) @ table.T + w.wxb_half[:, -1:]
    test = kernel.lookup_projection(Ctx(), "owner", w, a, table, idx, by_rows=True)
    rows, ws_t = test.by_rows
    assert np.shares_memory(test.proj, rows) and rows.ctypes.data % 64 == 0
    np.testing.assert_allclose(test.proj, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(ws_t, w.ws_half.T)
    train = kernel.lookup_projection(Ctx(), "owner", w, a, table, idx)
    assert train.by_rows is None and train.proj.flags.c_contiguous
    np.testing.assert_allclose(train.proj, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(test.cols, idx - 1)


@pytest.mark.parametrize("last", [True, False])
@pytest.mark.parametrize("initial", [True, False])
def test_the_example_major_lookup_loop_equals_the_formula(rows_loop, last, initial):
    rng = np.random.default_rng(7)
    a = _arrays(rng)
    w, table, idx, lookup = _lookup(rng, a)
    s0, c0 = (rng.normal(size=(H, N)), rng.normal(size=(H, N))) if initial else (None, None)
    start = None if s0 is None else (s0.astype(np.float32), c0.astype(np.float32))
    run = kernel.forward(lookup, w.ws_half, keep=False, initial=start, last=last)
    assert len(rows_loop) == 1
    want, c_last = lstm_per_example(a, table[idx - 1].transpose(0, 2, 1).astype(np.float64),
                                    s0, c0)
    if last:
        assert run.states.shape[0] == 2
        np.testing.assert_allclose(run.last_state, want[-1], rtol=2e-6, atol=2e-6)
    else:
        np.testing.assert_allclose(run.states[1:], want, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(run.last_cell, c_last, rtol=2e-6, atol=2e-6)
    with_keep = kernel.forward(lookup, w.ws_half, keep=True, initial=start)
    assert len(rows_loop) == 1          # training keeps the state-major loop
    np.testing.assert_allclose(with_keep.states[1:], want, rtol=2e-6, atol=2e-6)


def test_a_nan_row_of_the_table_reaches_only_its_examples(rows_loop):
    rng = np.random.default_rng(8)
    a = _arrays(rng)
    w, _, idx, lookup = _lookup(rng, a)
    idx[:, 1], idx[2, 3] = 1, 2
    idx[idx == 9] = 8
    idx[3, 3] = 9
    lookup.by_rows[0][8] = np.nan                      # row 9 of the projected table
    run = kernel.forward(lookup._replace(cols=idx - 1), w.ws_half, keep=False)
    assert np.isnan(run.states[4:, :, 3]).all() and np.isfinite(run.states[:4]).all()
    assert np.isfinite(run.states[:, :, :3]).all()


def test_cblas_gemm_cols_add_the_product_on_strided_blocks():
    from netdsl.layers.compiled import cblas
    if cblas.SGEMM is None:
        pytest.skip("no cblas_sgemm found in NumPy's BLAS")
    rng = np.random.default_rng(9)
    w_t = rng.normal(size=(11, 96)).astype(np.float32)
    s = rng.normal(size=(5, 11)).astype(np.float32)
    out_all = rng.normal(size=(5, 2, 96)).astype(np.float32)   # row stride 192
    before = out_all.copy()
    lstm_fused.gemm_cols(cblas.SGEMM, w_t, s, out_all[:, 0], np.array([0, 16, 64, 96]))
    np.testing.assert_allclose(out_all[:, 0], before[:, 0] + s.astype(np.float64) @ w_t,
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(out_all[:, 1], before[:, 1])


@pytest.mark.parametrize("path", ["compiled", "numpy"])
def test_lookup_gradients_sum_the_gate_gradients_per_table_row(monkeypatch, path):
    """The arrays' and the table's gradients after a lookup against the per-row sums
    written out in float64 (each column of the gate gradients added to its row's)."""
    if path == "numpy":
        monkeypatch.setenv("NETDSL_JIT", "0")
        calls = None
    else:
        calls = []
        force_compiled(monkeypatch, kernel)
        real = lstm_fused.sum_by_column
        monkeypatch.setattr(lstm_fused, "sum_by_column",
                            lambda *a: calls.append(a) or real(*a))
    rng = np.random.default_rng(11)
    a = _arrays(rng)
    table = rng.normal(size=(9, D)).astype(np.float32)
    idx = rng.integers(1, 10, (T, N))
    w = kernel.stacked_weights(a, np.float32)
    lookup = kernel.Lookup(w.wxb_half[:, :-1] @ table.T + w.wxb_half[:, -1:], idx - 1)
    run = kernel.forward(lookup, w.ws_half, keep=True)
    da = rng.normal(size=(4 * H, T, N)).astype(np.float32)
    grads, dtable = kernel.lookup_grads(da, run, w, lookup, table, a)
    assert calls is None or len(calls) == 1
    d2 = da.reshape(4 * H, -1).astype(np.float64)
    per_row = np.zeros((4 * H, 9))
    for k, col in enumerate((idx - 1).reshape(-1)):
        per_row[:, col] += d2[:, k]
    states = run.states[:T].transpose(1, 0, 2).reshape(H, -1).astype(np.float64)
    dws, dwx, db = d2 @ states.T, per_row @ table, per_row.sum(1)
    for g, gate in enumerate(kernel.GATES):
        sl = slice(g * H, (g + 1) * H)
        for name, want in (("StateWeights", dws), ("InputWeights", dwx), ("Biases", db)):
            np.testing.assert_allclose(grads[gate + name], want[sl], rtol=1e-5, atol=1e-5,
                                       err_msg=gate + name)
    np.testing.assert_allclose(dtable, (w.wx.astype(np.float64).T @ per_row).T,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape, dtype", [((3, 5), np.float32), ((7,), np.float64),
                                          ((2, 2, 32, 256), np.float32), ((0, 4), np.float32)])
def test_aligned_buffers_start_on_a_cache_line(shape, dtype):
    x = kernel.aligned_empty(shape, dtype)
    assert x.shape == shape and x.dtype == dtype and x.flags.c_contiguous
    assert x.ctypes.data % 64 == 0 or x.size == 0
    y = kernel.aligned_copy(np.arange(np.prod(shape), dtype=dtype).reshape(shape).T)
    np.testing.assert_array_equal(y, np.arange(np.prod(shape), dtype=dtype).reshape(shape).T)


CHAR_NET = ('NetChain[{EmbeddingLayer[8, 12, "Input" -> "Varying"], LongShortTermMemoryLayer[16], '
            'SequenceLastLayer[], LinearLayer[12], SoftmaxLayer[]}]')


def test_a_net_and_its_training_gradient_equal_the_numpy_loop(fused, monkeypatch):
    from tests.test_lanes import Trainer, fresh
    rng = np.random.default_rng(4)
    seqs = np.empty(12, dtype=object)
    for k in range(12):
        seqs[k] = rng.integers(1, 13, 9 if k % 3 else 7)
    labels = rng.integers(1, 13, 12)
    code = f"NetInitialize[{CHAR_NET}, RandomSeeding -> 3]"
    used = []
    choose = kernel.fused_steps
    monkeypatch.setattr(kernel, "fused_steps", lambda *a: used.append(choose(*a)) or used[-1])
    got = {}
    for jit in ("1", "0"):
        monkeypatch.setenv("NETDSL_JIT", jit)
        t = Trainer(CHAR_NET, seqs, labels)
        got[jit] = fresh(code)(list(seqs)), t.grad(1), t.grad(2)   # one lane, two lanes
        assert used and all((m is lstm_fused) == (jit == "1") for m in used)
        used.clear()
    np.testing.assert_allclose(got["1"][0], got["0"][0], rtol=1e-5, atol=1e-7)
    for lanes in (1, 2):
        (loss_jit, g_jit), (loss_np, g_np) = got["1"][lanes], got["0"][lanes]
        assert loss_jit == pytest.approx(loss_np, rel=1e-5)
        np.testing.assert_allclose(g_jit, g_np, rtol=1e-4, atol=1e-6)


def test_a_char_net_in_test_mode_runs_example_major_with_the_numpy_loops_numbers(
        rows_loop, monkeypatch):
    import netdsl
    x = np.random.default_rng(10).integers(1, 13, (6, 9))
    code = f"NetInitialize[{CHAR_NET}, RandomSeeding -> 3]"
    got = netdsl.evaluate(code)(x)
    assert rows_loop
    monkeypatch.setenv("NETDSL_JIT", "0")
    np.testing.assert_allclose(got, netdsl.evaluate(code)(x), rtol=1e-5, atol=1e-7)


def test_the_switches(monkeypatch):
    monkeypatch.delenv("NETDSL_JIT", raising=False)
    big = kernel.FUSED_MIN
    assert kernel.fused_steps(np.float32, big) is lstm_fused
    assert kernel.fused_steps(np.float32, big - 1) is None      # small: the NumPy loop
    assert kernel.fused_steps(np.float64, big) is None          # float64: the NumPy loop
    monkeypatch.setenv("NETDSL_JIT", "0")
    assert kernel.fused_steps(np.float32, big) is None


def test_an_index_outside_the_table_is_not_read_by_compiled_code(fused):
    rng = np.random.default_rng(5)
    w = kernel.stacked_weights(_arrays(rng), np.float32)
    proj = np.ones((4 * H, 9), np.float32)
    for bad in (9, -1):
        cols = np.zeros((T, N), np.int64)
        cols[1, 2] = bad
        if bad < 0:   # NumPy's gather reads -1 as the last column, as the NumPy loop always did
            run = kernel.forward(kernel.Lookup(proj, cols), w.ws_half, keep=False)
            assert np.isfinite(run.states).all()
        else:
            with pytest.raises(IndexError):
                kernel.forward(kernel.Lookup(proj, cols), w.ws_half, keep=False)


def test_without_numba_every_layer_lists_and_a_big_lstm_runs_its_numpy_loop():
    """numba is an optional extra: a process that cannot import it lists every layer
    (which imports every module of netdsl.layers) and runs a pass big enough for the
    compiled steps on the NumPy loop."""
    import subprocess
    import sys
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np, netdsl\n"
        "from netdsl.layers import LAYER_TYPES, lstm_kernel\n"
        "assert 'LongShortTermMemoryLayer' in list(LAYER_TYPES)\n"
        "net = netdsl.evaluate('NetInitialize[NetChain[{LongShortTermMemoryLayer[64]}, "
        "\"Input\" -> {40, 8}], RandomSeeding -> 1]')\n"
        "x = np.ones((32, 40, 8), np.float32)\n"
        "assert lstm_kernel.fused_steps(np.float32, 40 * 64 * 32) is None\n"
        "print(net(x).shape)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "(32, 40, 64)"


def test_an_unusable_numba_warns_once_and_the_numpy_loop_runs(monkeypatch):
    from netdsl.layers import compiled
    monkeypatch.setattr(compiled, "_LOADED", {})
    monkeypatch.delenv("NETDSL_JIT", raising=False)

    def broken(name):
        raise RuntimeError("cannot cache function: no locator available")
    monkeypatch.setattr(compiled.importlib, "import_module", broken)
    with pytest.warns(RuntimeWarning, match="NumPy code runs instead"):
        assert compiled.load("lstm_fused") is None
    assert compiled.load("lstm_fused") is None          # said once


def test_cblas_gemm_rows_equal_float64_on_strided_operands_and_a_wrong_blas_is_refused():
    from netdsl.layers.compiled import cblas
    if cblas.SGEMM is None:
        pytest.skip("no cblas_sgemm found in NumPy's BLAS")
    rng = np.random.default_rng(6)
    w = rng.normal(size=(37, 11)).astype(np.float32)
    s_all = rng.normal(size=(11, 3, 5)).astype(np.float32)      # step 1: (11, 5), stride 15
    out_all = np.full((37, 2, 5), np.nan, np.float32)
    bounds = np.array([0, 9, 30, 37], np.int64)
    lstm_fused.gemm_rows(cblas.SGEMM, w, s_all[:, 1], out_all[:, 0], bounds)
    np.testing.assert_allclose(out_all[:, 0], w.astype(np.float64) @ s_all[:, 1],
                               rtol=1e-5, atol=1e-5)
    assert np.isnan(out_all[:, 1]).all()                        # the other step untouched
    noop = type(cblas.SGEMM)(lambda *args: None)               # the prototype, doing nothing
    assert not cblas._agrees(noop)
    assert not cblas._agrees(lambda *args: None)                # not a C function at all
    assert cblas._agrees(cblas.SGEMM)
