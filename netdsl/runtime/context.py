"""What a layer's forward and backward see besides its data."""

from __future__ import annotations

from typing import Any

import numpy as np


class Ctx:
    """Evaluation settings for one pass through a net.

    train      NetEvaluationMode -> "Train": BatchNormalization uses batch statistics,
               Dropout drops.
    grad       a backward pass will follow: forward must return what backward needs.
    rng        the random source for Dropout: made from ``seed`` on first use only, since
               creating a generator costs more than a small net's whole forward pass.
    batch      the number of examples: what a layer without inputs (ConstantArrayLayer)
               repeats its array for.
    need_dx    set by the backward pass per step: a layer whose inputs are the net's own
               data may skip computing their gradient (returning None for it).
    threads    how many threads a step may spread its own work over (a recurrent layer's
               time loop, by hidden units): set by lanes.py for a pass it does not split.
    teamed     a compiled kernel may share its loop with that many threads (lanes.teamed:
               BLAS is held at one thread meanwhile).
    """

    def __init__(self, train: bool = False, grad: bool = False,
                 rng: np.random.Generator | None = None, seed: Any = None,
                 scratch: dict[Any, Any] | None = None):
        self.train = train
        self.grad = grad
        self._rng = rng
        self.seed = seed
        self.need_dx = True             # backward: False when inputs' gradients are not needed
        self.keep_input_grads = False   # backward: keep gradients for the net's own inputs
        self.scratch: dict[Any, Any] = {} if scratch is None else scratch  # reused buffers
        self.batch = 1                  # examples in this pass (for layers with no input)
        self.lanes: list[Ctx] = []      # training: the other lanes' contexts (lanes.py)
        self.meeting: Any = None        # while lanes run: where they add up their sums
        self.lane = 0                   # ... and which lane this is
        self.threads = 1                # a pass in one lane: threads a step may use itself
        self.teamed = False             # ... and its compiled kernels may share (lanes.teamed)

    def across(self, x: np.ndarray) -> np.ndarray:
        """The sum of ``x`` over the lanes running this pass together (lanes.py), the same
        in every lane; ``x`` itself in one lane. A layer whose batch enters only through
        such sums (Train-mode BatchNormalization: ``example_coupling`` "sums") may then
        be split across lanes."""
        return x if self.meeting is None else self.meeting.total(self.lane, x)

    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None:
            self._rng = np.random.default_rng(self.seed)
        return self._rng
