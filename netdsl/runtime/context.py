"""What a layer's forward and backward see besides its data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class Ctx:
    """Evaluation settings for one pass through a net.

    train      NetEvaluationMode -> "Train": BatchNormalization uses batch statistics,
               Dropout drops.
    grad       a backward pass will follow: forward must return what backward needs.
    rng        the random source for Dropout (seeded by the caller).
    need_dx    set by the backward pass per step: a layer whose inputs are the net's own
               data may skip computing their gradient (returning None for it).
    """

    train: bool = False
    grad: bool = False
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    need_dx: bool = True            # backward: False when the inputs' gradients are not needed
    keep_input_grads: bool = False  # backward: keep gradients for the net's own inputs
    scratch: dict[str, Any] = field(default_factory=dict)  # per-pass buffers a plan may reuse
