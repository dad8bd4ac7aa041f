"""The LSTM time loop in parts on several threads (lstm_fused.forward_part, compiled/meet.py):
each part's hidden units against the LSTM formula written out per example, the parts
against one thread, the meeting's failure paths (an error in one part releases the
others; workers taken by another loop: one thread), workers after a fork, and the
executor's choice (a pass lanes do not split gives its LSTM the threads)."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

import netdsl
from netdsl.layers import lstm_kernel as kernel
from netdsl.runtime import lanes
from tests.recurrent_reference import force_compiled, gate_arrays, lstm_per_example

pytest.importorskip("numba")
from netdsl.layers.compiled import lstm_fused, meet  # noqa: E402  (needs numba)

H, D, N, T = 5, 3, 4, 6

pytestmark = pytest.mark.skipif(not meet.usable() or lstm_fused.SGEMM is None,
                                reason="parts need x86-64, libc and cblas_sgemm")


@pytest.fixture
def parts(monkeypatch):
    """Every float32 pass compiled and split, down to one hidden unit a part; the list of
    the part counts used."""
    force_compiled(monkeypatch, kernel)
    monkeypatch.setattr(kernel, "PARTS_MIN", 0)
    monkeypatch.setattr(kernel, "PART_UNITS", 1)
    used: list[int] = []
    split = kernel._forward_parts
    monkeypatch.setattr(kernel, "_forward_parts",
                        lambda fused, k, *a: used.append(k) or split(fused, k, *a))
    return used


@pytest.mark.parametrize("threads", [2, 3, 5])
@pytest.mark.parametrize("keep, last", [(True, False), (False, False), (False, True)])
@pytest.mark.parametrize("initial", [True, False])
def test_parts_equal_the_formula(parts, threads, keep, last, initial):
    rng = np.random.default_rng(threads)
    a, x = gate_arrays(rng, kernel.GATES, H, D, 0.7), rng.normal(size=(T, D, N))
    s0, c0 = (rng.normal(size=(H, N)), rng.normal(size=(H, N))) if initial else (None, None)
    want, c_last = lstm_per_example(a, x, s0, c0)
    w = kernel.stacked_weights(a, np.float32)
    pre = (w.wxb_half @ kernel.input_rows(x.astype(np.float32))).reshape(-1, T, N)
    start = None if s0 is None else (s0.astype(np.float32), c0.astype(np.float32))
    run = kernel.forward(pre, w.ws_half, keep, start, threads=threads, last=last)
    assert parts == [threads]
    if last:          # a ring of two states: each part writes a state two steps on
        assert run.states.shape[0] == 2
        np.testing.assert_allclose(run.last_state, want[-1], rtol=2e-6, atol=2e-6)
    else:
        np.testing.assert_allclose(run.states[1:], want, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(run.last_cell, c_last, rtol=2e-6, atol=2e-6)
    if keep:      # what backward reads: the gate values and cell states of every step
        one = kernel.forward(pre, w.ws_half, keep, start, threads=1)
        np.testing.assert_allclose(run.acts, one.acts, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(run.cells, one.cells, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(run.tanh_c, one.tanh_c, rtol=1e-6, atol=1e-7)


def test_lookup_parts_equal_the_formula_on_the_embedded_rows(parts):
    rng = np.random.default_rng(1)
    a = gate_arrays(rng, kernel.GATES, H, D, 0.7)
    table = rng.normal(size=(9, D)).astype(np.float32)
    idx = rng.integers(1, 10, (T, N))
    w = kernel.stacked_weights(a, np.float32)
    proj = w.wxb_half[:, :-1] @ table.T + w.wxb_half[:, -1:]
    run = kernel.forward(kernel.Lookup(proj, idx - 1), w.ws_half, keep=False, threads=2)
    assert parts == [2]
    want, _ = lstm_per_example(a, table[idx - 1].transpose(0, 2, 1).astype(np.float64))
    np.testing.assert_allclose(run.states[1:], want, rtol=2e-6, atol=2e-6)


def test_a_big_loop_in_two_parts_equals_one_thread(monkeypatch):
    """Hidden 96 (odd gate blocks for the four-row gather), 40 steps: the parts and one
    compiled thread agree to float32 rounding."""
    force_compiled(monkeypatch, kernel)
    monkeypatch.setattr(kernel, "PARTS_MIN", 0)
    rng = np.random.default_rng(3)
    h, d, n, batch = 96, 7, 40, 24
    a = gate_arrays(rng, kernel.GATES, h, d, 0.3)
    w = kernel.stacked_weights(a, np.float32)
    table = rng.normal(size=(11, d)).astype(np.float32)
    lookup = kernel.Lookup(w.wxb_half[:, :-1] @ table.T + w.wxb_half[:, -1:],
                           rng.integers(0, 11, (n, batch)))
    assert kernel._parts(n * h * batch, h, 2) == 2
    one = kernel.forward(lookup, w.ws_half, keep=False, threads=1)
    two = kernel.forward(lookup, w.ws_half, keep=False, threads=2)
    np.testing.assert_allclose(two.states, one.states, rtol=1e-5, atol=1e-6)


def test_how_many_parts():
    assert kernel._parts(100 * 256 * 32, 256, 1) == 1
    assert kernel._parts(100 * 256 * 32, 256, 2) == 2
    assert kernel._parts(100 * 256 * 32, 256, 16) == 256 // kernel.PART_UNITS
    assert kernel._parts(100 * 32 * 32, 32, 2) == 1              # too few units
    assert kernel._parts(2 * 256 * 32, 256, 2) == 1              # too little work


def test_an_error_in_one_part_releases_the_others_and_is_raised():
    flags = np.zeros((3, 16), np.int64)
    reached = []

    def job(part: int) -> bool:
        if part == 1:
            raise ValueError("part 1 failed")
        reached.append(meet.wait(flags, 0, 1, meet.RELAX, meet.YIELD))   # waits for part 1
        return reached[-1]

    def abort() -> None:
        flags[-1, 0] = 1
    with pytest.raises(ValueError, match="part 1 failed"):
        meet.run_parts(2, job, abort)
    assert reached == [False]
    assert meet.run_parts(2, lambda part: True, lambda: None) is True   # workers still serve


def test_workers_taken_by_another_loop_leave_it_to_one_thread(parts):
    rng = np.random.default_rng(4)
    a, x = gate_arrays(rng, kernel.GATES, H, D, 0.7), rng.normal(size=(T, D, N))
    w = kernel.stacked_weights(a, np.float32)
    pre = (w.wxb_half @ kernel.input_rows(x.astype(np.float32))).reshape(-1, T, N)
    with meet._BUSY:
        assert meet.run_parts(2, lambda part: True, lambda: None) is None
        run = kernel.forward(pre, w.ws_half, keep=False, threads=2)
    assert parts == [2]              # asked, found the workers taken, ran on one thread
    np.testing.assert_allclose(run.states[1:], lstm_per_example(a, x)[0], rtol=2e-6, atol=2e-6)


def test_a_part_that_gives_up_is_a_netdsl_error(parts, monkeypatch):
    monkeypatch.setattr(meet, "run_parts", lambda k, job, abort: False)
    rng = np.random.default_rng(5)
    a, x = gate_arrays(rng, kernel.GATES, H, D, 0.7), rng.normal(size=(T, D, N))
    w = kernel.stacked_weights(a, np.float32)
    pre = (w.wxb_half @ kernel.input_rows(x.astype(np.float32))).reshape(-1, T, N)
    with pytest.raises(netdsl.EvaluationError, match="NETDSL_THREADS=1"):
        kernel.forward(pre, w.ws_half, keep=False, threads=2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork here")
def test_a_forked_child_makes_its_own_workers():
    assert meet.run_parts(2, lambda part: True, lambda: None)      # the parent's worker
    pid = os.fork()
    if pid == 0:      # the child: no worker thread came with it
        ok = False
        try:
            seen: list[int] = []
            ok = meet.run_parts(2, lambda part: seen.append(part) or True, lambda: None) \
                and sorted(seen) == [0, 1]
        finally:
            os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_run_parts_runs_each_part_on_its_own_thread():
    names: dict[int, str] = {}

    def job(part: int) -> bool:
        names[part] = threading.current_thread().name
        return True
    assert meet.run_parts(3, job, lambda: None)
    assert names[0] == threading.current_thread().name
    assert len(set(names.values())) == 3


NET = ('NetInitialize[NetChain[{LongShortTermMemoryLayer[64], SequenceLastLayer[], '
       'LinearLayer[5]}, "Input" -> {"Varying", 8}], RandomSeeding -> 1]')


@pytest.mark.parametrize("batch, split", [(6, True), (16, False)])
def test_a_pass_lanes_leave_whole_gives_the_lstm_the_threads(monkeypatch, batch, split):
    """Lanes come first (at two threads they are as fast, and need no meeting a step); a
    batch too small for them (under 2 x MIN_EXAMPLES) runs its LSTM in parts. (After an
    EmbeddingLayer, Test mode runs example-major on one thread instead: faster than parts
    at the batch sizes they are for.)"""
    force_compiled(monkeypatch, kernel)
    monkeypatch.setattr(kernel, "PARTS_MIN", 0)
    monkeypatch.setattr(lanes, "lane_count", lambda: 2)
    monkeypatch.setattr(lanes, "MIN_WORK", 0)          # lanes for any batch they can split
    net = netdsl.evaluate(NET)
    x = np.random.default_rng(6).normal(size=(batch, 30, 8)).astype(np.float32)
    seen: list[tuple[int, int]] = []
    parts = kernel._forward_parts
    monkeypatch.setattr(kernel, "_forward_parts", lambda fused, k, *a:
                        seen.append((k, a[7].shape[-1])) or parts(fused, k, *a))
    got = [net(x) for _ in range(3)]          # the first pass counts work in one lane
    assert all(s == (2, batch) for s in seen)
    assert len(seen) == (3 if split else 1)
    monkeypatch.setattr(lanes, "lane_count", lambda: 1)
    one = netdsl.evaluate(NET)(x)
    for g in got:
        np.testing.assert_allclose(g, one, rtol=1e-5, atol=1e-6)
