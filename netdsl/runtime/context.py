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
    """

    train: bool = False
    grad: bool = False
    rng: np.random.Generator = field(default_factory=np.random.default_rng)
    scratch: dict[str, Any] = field(default_factory=dict)  # per-pass buffers a plan may reuse
