"""Folding a per-channel affine map into the layer before it (Test-mode fusion)."""

from __future__ import annotations

from typing import Any

import numpy as np


def fold_output_affine(arrays: dict[str, Any], scale: np.ndarray,
                       shift: np.ndarray) -> dict[str, Any] | None:
    """The "Weights" (output axis first) and "Biases" of a layer computing W x + b, changed
    so that its output is followed by y -> scale y + shift along the output axis; with
    fewer scales than outputs, each scale covers a block of consecutive outputs (a
    LinearLayer with output {3, 4} before a 3-channel BatchNormalization). None when the
    sizes do not divide."""
    w = np.asarray(arrays["Weights"], np.float64)
    c = scale.size
    if c == 0 or w.shape[0] % c:
        return None
    b = arrays.get("Biases")
    b = np.zeros(w.shape[0]) if b is None else np.asarray(b, np.float64)
    w2 = (w.reshape(c, -1) * scale[:, None]).reshape(w.shape)
    b2 = (b.reshape(c, -1) * scale[:, None] + shift[:, None]).reshape(b.shape)
    return {"Weights": w2.astype(np.float32), "Biases": b2.astype(np.float32)}
