"""Batches whose examples differ in shape (sequences of different lengths): a port's data is
then a 1-d object array of per-example arrays. Evaluation and NetPortGradient run such a
batch as groups of examples of equal shapes, so no padding can leak into a result."""

from __future__ import annotations

import numpy as np


def equal_shape_groups(inputs: dict[str, np.ndarray], n: int) -> list[list[int]]:
    """The examples' positions by equal shapes across the ports: one group of all unless a
    port holds examples of different shapes."""
    if not any(x.dtype == object for x in inputs.values()):
        return [list(range(n))]
    groups: dict[tuple, list[int]] = {}
    for i in range(n):
        groups.setdefault(tuple(np.shape(x[i]) for x in inputs.values()), []).append(i)
    return list(groups.values())


def stacked(x: np.ndarray, idx: list[int]) -> np.ndarray:
    """The examples ``idx`` of a batch-first array (or of a 1-d object array of them)."""
    if x.dtype != object:
        return x if len(idx) == len(x) else x[idx]
    return np.stack([np.asarray(x[i]) for i in idx])
