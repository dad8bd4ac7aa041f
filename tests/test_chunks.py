"""Chunks (runtime/lanes.py ``chunked``): a large evaluation batch run as a few smaller
ones one after the other when the first passes timed that faster. The outputs equal the
whole batch's (each example's computation does not depend on the others), the choice is
made from timings of 1, 2 and 4 chunks, and a net whose steps couple the examples
(Train-mode BatchNormalization) is never cut."""

from __future__ import annotations

import numpy as np

import netdsl
from netdsl.runtime import lanes
from netdsl.runtime.plan import compile_plan

CONV = """NetInitialize[NetChain[{ConvolutionLayer[4, {3, 3}, "PaddingSize" -> 1],
  BatchNormalizationLayer[], Ramp, PoolingLayer[{2, 2}, {2, 2}], FlattenLayer[],
  LinearLayer[5], SoftmaxLayer[]}, "Input" -> {2, 8, 8}], RandomSeeding -> 3]"""


def net():
    return netdsl.Session().evaluate(CONV)


def test_chunked_outputs_equal_the_whole_batch(monkeypatch):
    lanes.set_threads(1)
    try:
        x = np.random.default_rng(0).standard_normal((24, 2, 8, 8)).astype(np.float32)
        whole = net()(x)
        n = net()
        plan = compile_plan(n, "t")   # the kept Test-mode plan the calls use
        for c in (2, 4):
            n = net()
            n(x)                                # first pass: counted, whole
            key = ("chunks", (("Input", (2, 8, 8, 24)),))
            for p in (compile_plan(n, "t"),):
                p.lanes[key] = c                # as if timed faster in c chunks
            np.testing.assert_allclose(n(x), whole, rtol=1e-6, atol=1e-7)
        assert plan is not None
    finally:
        lanes.set_threads(None)


def test_the_choice_is_made_from_timed_trials(monkeypatch):
    lanes.set_threads(1)
    try:
        n = net()
        x = np.random.default_rng(1).standard_normal((32, 2, 8, 8)).astype(np.float32)
        seen = []
        real = lanes._in_chunks

        def spy(plan, ctx, inputs, c):
            seen.append(c)
            return real(plan, ctx, inputs, c)
        monkeypatch.setattr(lanes, "_in_chunks", spy)
        for _ in range(6):
            n(x)
        assert seen[:3] == [1, 2, 4]            # the trials, in order
        assert len(set(seen[3:])) == 1 and seen[3] in lanes.CHUNKS   # then one choice
    finally:
        lanes.set_threads(None)


def test_coupled_steps_are_never_cut(monkeypatch):
    lanes.set_threads(1)
    try:
        n = net()
        x = np.random.default_rng(2).standard_normal((32, 2, 8, 8)).astype(np.float32)
        cuts = []
        real = lanes._in_chunks
        monkeypatch.setattr(lanes, "_in_chunks",
                            lambda p, c, i, k: cuts.append(k) or real(p, c, i, k))
        for _ in range(5):   # Train mode: BatchNormalization uses the batch's statistics
            n(x, evaluation_mode="Train")
        assert cuts == []
    finally:
        lanes.set_threads(None)
