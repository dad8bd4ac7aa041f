"""SequenceMostLayer[]: a sequence without its last element."""

from __future__ import annotations

import numpy as np

from .base import Infer, Layer
from .registry import register_layer
from .sequence_core import check_two_or_more, shorter_by_one


@register_layer
class SequenceMostLayer(Layer):
    name = "SequenceMostLayer"
    moves_numbers = True
    summary = "a sequence without its last element"

    def infer(self, s: Infer) -> None:
        shorter_by_one(s)

    def forward(self, ctx, arrays, x):
        check_two_or_more(self, x)
        return [np.ascontiguousarray(x[:-1])], (x.shape if ctx.grad else None)

    def backward(self, ctx, arrays, shape, dy):
        dx = np.zeros(shape, dy.dtype)
        dx[:-1] = dy
        return [dx], {}
