"""The executor's batch-last layout and the caller's batch-first one.

Callers hand over and get back (batch, ...) arrays, as Wolfram and NumPy users think of
them; the plan runs on (..., batch) arrays, whose contiguous last axis every layer
vectorises over. A split pass (lanes.py) converts each lane's part in that lane.
"""

from __future__ import annotations

import numpy as np


# transpose with an explicit axis order: np.moveaxis's argument checks cost more than
# the copy itself for one example
def to_batch_last(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    return np.ascontiguousarray(x.transpose(tuple(range(1, x.ndim)) + (0,)) if x.ndim else x)


def to_batch_first(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    return np.ascontiguousarray(y.transpose((y.ndim - 1,) + tuple(range(y.ndim - 1)))
                                if y.ndim else y)
