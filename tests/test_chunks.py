"""Chunks (runtime/lanes.py ``chunked``): a large evaluation batch run as a few smaller
ones one after the other when the first passes timed that faster. The outputs equal the
whole batch's (each example's computation does not depend on the others), the choice is
made from timings of 1, 2 and 4 chunks (twice each: the best counts), and a net whose steps couple the examples
(Train-mode BatchNormalization) is never cut."""

from __future__ import annotations

import numpy as np
import pytest

import netdsl
from netdsl.runtime import lanes

CONV = """NetInitialize[NetChain[{ConvolutionLayer[4, {3, 3}, "PaddingSize" -> 1],
  BatchNormalizationLayer[], Ramp, PoolingLayer[{2, 2}, {2, 2}], FlattenLayer[],
  LinearLayer[5], SoftmaxLayer[]}, "Input" -> {2, 8, 8}], RandomSeeding -> 3]"""


def net(scale: float = 1.0):
    """The net, its arrays scaled (equal nets share their kept plan: a different scale
    gives a plan of its own)."""
    s = netdsl.Session()
    s["n"] = s.evaluate(CONV)
    return s.evaluate(f'NetReplacePart[n, {{1, "Weights"}} -> {scale} NetExtract[n, '
                      f'{{1, "Weights"}}]]')


def test_chunked_outputs_equal_the_whole_batch(chunk_calls):
    x = np.random.default_rng(0).standard_normal((24, 2, 8, 8)).astype(np.float32)
    for c in (2, 4):
        whole = net(c)(x)
        n = net(c)
        n(x)                                    # first pass: counted, whole
        key = ("chunks", (("Input", (2, 8, 8, 24)),))
        n.__dict__["_fast_call"].plan.lanes[key] = c   # as if timed faster in c chunks
        np.testing.assert_allclose(n(x), whole, rtol=1e-6, atol=1e-7)
        assert chunk_calls[-1] == c


@pytest.fixture
def chunk_calls(monkeypatch):
    """One lane, any pass large enough to try chunks; the chunk counts of the passes, in
    order."""
    monkeypatch.setattr(lanes, "MIN_WORK", 0)
    seen: list[int] = []
    real = lanes._in_chunks
    monkeypatch.setattr(lanes, "_in_chunks",
                        lambda plan, ctx, inputs, c: seen.append(c) or real(plan, ctx, inputs, c))
    lanes.set_threads(1)
    yield seen
    lanes.set_threads(None)


def test_the_choice_is_made_from_timed_trials(chunk_calls):
    n = net()
    x = np.random.default_rng(1).standard_normal((32, 2, 8, 8)).astype(np.float32)
    for _ in range(10):
        n(x)                                            # the first pass counts its work
    assert chunk_calls[:6] == [1, 1, 2, 2, 4, 4]        # the trials, twice each
    assert len(set(chunk_calls[6:])) == 1 and chunk_calls[6] in lanes.CHUNKS   # one choice


def test_a_slow_first_trial_does_not_decide(chunk_calls):
    """Each count's best time counts: one chunk's first trial paying one-time costs (three
    times its second) does not make two chunks look faster; a count not yet timed twice
    is timed next."""
    x = np.random.default_rng(3).standard_normal((32, 2, 8, 8)).astype(np.float32)
    key = ("chunks", (("Input", (2, 8, 8, 32)),))
    for times, then in (({1: [3.0, 1.0], 2: [2.0, 2.0], 4: [2.0, 2.0]}, 1),
                        ({1: [3.0, 3.0], 2: [2.0, 2.5], 4: [2.0, 1.5]}, 4),
                        ({1: [3.0, 1.0], 2: [2.0, 2.0], 4: [2.0]}, 4)):
        n = net(len(chunk_calls) + 1.0)
        n(x)                                    # first pass: counted, whole
        lanes_of = n.__dict__["_fast_call"].plan.lanes
        lanes_of[key] = {c: list(t) for c, t in times.items()}
        n(x)
        assert chunk_calls[-1] == then
    assert lanes_of[key] == {1: [3.0, 1.0], 2: [2.0, 2.0], 4: [2.0, lanes_of[key][4][1]]}


def test_coupled_steps_are_never_cut(chunk_calls):
    n = net()
    x = np.random.default_rng(2).standard_normal((32, 2, 8, 8)).astype(np.float32)
    for _ in range(5):   # Train mode: BatchNormalization uses the batch's statistics
        n(x, evaluation_mode="Train")
    assert chunk_calls == []
